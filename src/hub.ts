/**
 * The hub: sessions, groups, sending, and the seam adapters plug into.
 * @module
 */
import { applyAuth, clearAuthTimer, startAuthTimer, type AuthResult } from "./auth.ts";
import { MemoryBroker, type Broker, type BrokerLink, type Packet } from "./broker.ts";
import { dispatch, type EventListener, type HandlerOptions, type RequestHandler } from "./dispatch.ts";
import { ProtocolError, WirehubError } from "./errors.ts";
import { deliver, eventPacket, hostTopic, receive } from "./fanout.ts";
import { Liveness, type PingOptions, type RawPing } from "./liveness.ts";
import { Presence } from "./presence.ts";
import { adopt, detach, resumeParams, resumeSettings, ringAck, ringPush, type ResumeOptions } from "./resume.ts";
import { decodeFrame, encodeError, encodeFrame, toBase64 } from "./protocol.ts";
import { CLOSED, CLOSING, DETACHED, OPEN, Session, type SessionData } from "./session.ts";
import { admit, type Admission, type OriginPolicy, type UpgradeResult } from "./upgrade.ts";
import type { Driver, Message, Mode, SendStatus, Target, UpgradeInfo, WireData } from "./types.ts";

/** An action a client asks for; the `authorize` hook decides. */
export type GroupAction =
  | { readonly type: "join" | "leave"; readonly group: string }
  /** Publish an event to a group (`group` is `""` for everyone). */
  | { readonly type: "publish"; readonly group: string; readonly event: string }
  /** Change the session's own public alias. */
  | { readonly type: "alias"; readonly group: ""; readonly alias: string | null };

/** Options of {@link createHub}. Every option has a default; none is required. */
export interface HubOptions<D = SessionData> {
  /**
   * `auto` (default): a client that offers the `wirehub.v1` subprotocol speaks the envelope
   * protocol, one that offers none gets raw frames. `raw` or `envelope` fixes every session to one.
   */
  readonly mode?: "auto" | Mode;
  /**
   * Extra subprotocols the hub accepts for raw sessions (echoed back when a client offers one).
   * A client that offers only protocols the hub does not know is refused with 400. Default `[]`.
   */
  readonly protocols?: readonly string[];
  /**
   * Browser origins allowed to connect (cross-site WebSocket hijacking defence), checked
   * before the upgrade hook; others get 403. Requests without an `Origin` header (non-browser
   * clients) always pass. Default `"same-origin"`: the Origin's host must equal the Host header.
   * `"*"` allows every origin; a list allows exactly those origins (`"https://app.example"`).
   */
  readonly origins?: OriginPolicy;
  /**
   * Decide an upgrade from the web-standard `Request` (headers, URL, cookies): return nothing
   * or `true` to accept, `{ data }` to accept with server-side data, `{ data, auth }` to accept
   * an already authenticated session (token at upgrade), `false` (403) or a `Response` to
   * refuse (the client sees its status). Throwing refuses with 500 and reports to `error`.
   */
  upgrade?(request: Request, info: UpgradeInfo): UpgradeResult<D> | Promise<UpgradeResult<D>>;
  /** A session opened (after the envelope `hello` is sent). */
  open?(session: Session<D>): void | Promise<void>;
  /**
   * A message arrived: every raw frame (event `"message"`), and every envelope `evt` frame that
   * no {@link Hub.on} listener took. Without this hook such events get a `not_found` error frame.
   */
  message?(session: Session<D>, message: Message): void | Promise<void>;
  /** A session closed, with the code and reason; `session.data` is still there (revoke tokens). Runs once. */
  close?(session: Session<D>, code: number, reason: string): void | Promise<void>;
  /** Any error thrown by a hook or handler, or a host fault. Never throws back into the host. */
  error?(error: unknown, session?: Session<D>): void;
  /**
   * May a client join, leave or publish to a group, or change its alias? Without this hook
   * clients may leave any group but not join, publish or change their alias.
   */
  authorize?(session: Session<D>, action: GroupAction): boolean | Promise<boolean>;
  /**
   * Check the credentials of an envelope client's `auth` frame. Return an {@link AuthResult}
   * (data, groups, alias, availability, public data, client object) or throw to refuse
   * (`auth_failed`). When set, envelope sessions must authenticate before anything but
   * ping/pong; raw sessions count as authenticated by the upgrade. Default: none (no auth).
   */
  authenticate?(session: Session<D>, credentials: unknown): AuthResult<D> | void | Promise<AuthResult<D> | void>;
  /** Milliseconds an envelope session has to authenticate before it is closed with 1008. Default 10 000. */
  readonly authTimeout?: number;
  /** Failed `auth` frames before the session is closed with 1008. Default 3. */
  readonly maxAuthAttempts?: number;
  /** Sees every private message; return `false` to refuse it (the sender gets `forbidden`). Default: allow. */
  privateMessage?(from: Session<D>, to: Session<D>, data: unknown): boolean | void | Promise<boolean | void>;
  /**
   * Presence events: `"groups"` (default) tells the members of each group; `"hub"` also tells
   * every available session hub-wide; `"off"` sends none (lists still work).
   */
  readonly presence?: "groups" | "hub" | "off";
  /**
   * Ping policy (see README's table): `{ policy: "send", interval, timeout }` (default, 30 000 /
   * 10 000 ms), `{ policy: "expect", timeout }` (default timeout 60 000 ms) or `{ policy: "auto" }`.
   * Timed-out sessions are closed with 4000.
   */
  readonly ping?: PingOptions;
  /** Close a session with 4000 after this many ms without any traffic, pings included. Default 0 (off). */
  readonly idleTimeout?: number;
  /**
   * A text ping/pong pair for raw clients (`{ ping: "ping", pong: "pong" }`): a raw frame equal
   * to `ping` is answered with `pong` and counts as a ping; it never reaches `message`. Under
   * `send`, raw sessions on hosts without protocol pings are pinged with it. Default: none.
   */
  readonly rawPing?: RawPing;
  /** A client pinged (protocol, app-level or the raw text pair). */
  pinged?(session: Session<D>): void;
  /** Broker for scale-out. Default: an in-process {@link MemoryBroker} of its own. */
  readonly broker?: Broker;
  /** Largest incoming message in bytes; bigger ones close the session with 1009. Default 1 MiB. */
  readonly maxMessageSize?: number;
  /** Milliseconds a server→client request waits for its answer. Default 10 000. */
  readonly requestTimeout?: number;
  /**
   * Lossless resume for envelope clients that acknowledge (`wh_ack=1`, as `wirehub/client`
   * does): unacknowledged frames are kept, and a session dropped abnormally waits `window` ms
   * for its client. `false` turns it off. Default `{ window: 30_000, maxFrames: 1_000 }`.
   */
  readonly resume?: false | ResumeOptions;
}

/** The adapter-facing side of a hub. Adapters call these and nothing else. */
export interface Seam<D = SessionData, S = unknown> {
  /** Decide an upgrade: an {@link Admission} to accept, or a `Response` to send instead. */
  upgrade(request: Request, info?: UpgradeInfo): Promise<Admission<D> | Response>;
  /** The host opened the socket for an admission. */
  open(socket: S, admission: Admission<D>): Session<D>;
  /** A frame arrived. Never throws. Pass `socket` so frames of a retired socket are ignored. */
  message(session: Session<D>, data: WireData, socket?: S): void;
  /** The socket closed (either side). Never throws; runs the close hook once. Pass `socket` (see above). */
  close(session: Session<D>, code: number, reason: string, socket?: S): void;
  /** A protocol-level pong arrived. */
  pong(session: Session<D>): void;
  /** A protocol-level ping arrived (the host answers it; this only records it). */
  ping(session: Session<D>): void;
  /** The host reported a socket error. */
  error(session: Session<D> | undefined, error: unknown): void;
}

/*
 * `message` and `close` take the host socket as an optional last argument. Adapters should pass
 * it: when a resumed connection takes a session over, late events of the retired socket are
 * then recognised and ignored.
 */

/** Options of {@link Hub.close}. */
export interface HubCloseOptions {
  /** Close code sent to every session. Default 1001 (going away). */
  readonly code?: number;
  /** Close reason. Default `"server shutting down"`. */
  readonly reason?: string;
  /** Milliseconds to wait for sessions to finish closing before giving up. Default 5 000. */
  readonly timeout?: number;
}

/** A new unguessable id: 128 random bits, base64url. */
export function newId(): string {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return toBase64(b).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function asList(v: string | readonly string[] | undefined): readonly string[] {
  return v === undefined ? [] : typeof v === "string" ? [v] : v;
}

/** A hub owns sessions and groups. Create one with {@link createHub}, then give it to an adapter. */
export class Hub<D = SessionData> {
  /** This hub's instance id (used by brokers). */
  readonly id: string = newId();
  /** Open sessions by id. */
  readonly sessions: Map<string, Session<D>> = new Map();
  /** Presence lists and private messages. */
  readonly presence: Presence<D>;
  /** Ping policies and idle timeout. Hibernating hosts call `liveness.sweep(Date.now())` from an alarm. */
  readonly liveness: Liveness<D>;
  /** @internal */ readonly options: HubOptions<D>;
  /** @internal */ readonly requestTimeout: number;
  /** @internal */ readonly handlers: Map<string, { fn: RequestHandler<D>; opts: HandlerOptions }> = new Map();
  /** @internal */ readonly listeners: Map<string, { fn: EventListener<D>; opts: HandlerOptions }> = new Map();
  /** @internal */ readonly groupMap: Map<string, Set<Session<D>>> = new Map();
  /** @internal */ driver: Driver | undefined;
  /** @internal resume settings, undefined when off */ readonly resume: Required<ResumeOptions> | undefined;
  /** @internal resume token → session */ readonly tokens: Map<string, Session<D>> = new Map();
  /** @internal sessions that keep a replay buffer */ rings = 0;
  #seq = 0;
  readonly #link: BrokerLink;
  readonly #sharedBroker: boolean;
  #closing = false;

  constructor(options: HubOptions<D> = {}) {
    this.options = options;
    this.requestTimeout = options.requestTimeout ?? 10_000;
    this.resume = resumeSettings(options.resume);
    this.presence = new Presence(this);
    this.liveness = new Liveness(this);
    this.#sharedBroker = options.broker !== undefined;
    const node = { id: this.id, receive: (topic: string, p: Packet) => receive(this, topic, p) };
    this.#link = (options.broker ?? new MemoryBroker()).connect(node);
    if (this.#sharedBroker) this.#link.subscribe("all");
  }

  /** Register a request handler by name (`create/user`). Replaces an earlier one. */
  handle(name: string, fn: RequestHandler<D>, opts: HandlerOptions = {}): this {
    this.handlers.set(name, { fn, opts });
    return this;
  }

  /** Register a listener for an envelope event the clients send. Replaces an earlier one. */
  on(event: string, fn: EventListener<D>, opts: HandlerOptions = {}): this {
    this.listeners.set(event, { fn, opts });
    return this;
  }

  /** Send an event to a target (everyone by default), encoded once for all recipients. */
  emit(event: string, data: unknown, target: Target = {}): void {
    const to = target.to === undefined ? undefined : asList(target.to);
    const except = asList(target.except);
    deliver(this, event, data, to, target.group, except);
    if (to) {
      for (const id of to) {
        if (!this.sessions.has(id)) this.#link.publish("s:" + id, eventPacket(this.id, event, data, target.group, except));
      }
    } else {
      this.#link.publish(target.group === undefined ? "all" : "g:" + target.group, eventPacket(this.id, event, data, target.group, except));
    }
  }

  /** Send a payload with the event name `"message"` (raw sessions get the payload as is). */
  send(data: unknown, target: Target = {}): void {
    this.emit("message", data, target);
  }

  /** The session with this id, if it is open on this hub. */
  get(id: string): Session<D> | undefined {
    return this.sessions.get(id);
  }

  /** Members of a group on this hub (empty when the group does not exist). */
  members(group: string): ReadonlySet<Session<D>> {
    return this.groupMap.get(group) ?? EMPTY_SET;
  }

  /** Names of the groups that have members on this hub. */
  groups(): IterableIterator<string> {
    return this.groupMap.keys();
  }

  /** Put a session (or a session id) in a group. O(1). Tells the group's presence. */
  join(session: Session<D> | string, group: string): void {
    const s = typeof session === "string" ? this.sessions.get(session) : session;
    if (!s || s.state === CLOSED) return;
    const set = (s.groupSet ??= new Set());
    if (set.has(group)) return;
    set.add(group);
    let members = this.groupMap.get(group);
    if (!members) {
      this.groupMap.set(group, (members = new Set()));
      this.#link.subscribe("g:" + group);
    }
    members.add(s);
    if (s.authenticated) this.driver?.subscribe?.(s.socket, hostTopic(s.mode, group));
    this.presence.joined(s, group);
  }

  /** Take a session (or session id) out of a group; an empty group disappears. O(1). */
  leave(session: Session<D> | string, group: string): void {
    const s = typeof session === "string" ? this.sessions.get(session) : session;
    if (!s?.groupSet?.delete(group)) return;
    const members = this.groupMap.get(group);
    members?.delete(s);
    if (members && members.size === 0) {
      this.groupMap.delete(group);
      this.#link.unsubscribe("g:" + group);
    }
    if (s.state === OPEN) this.driver?.unsubscribe?.(s.socket, hostTopic(s.mode, group));
    this.presence.left(s, group, s.publicInfo);
  }

  /** Close a session by id with a code and reason. Returns whether it was found on this hub. */
  drop(id: string, code: number = 1000, reason: string = ""): boolean {
    const s = this.sessions.get(id);
    if (s) {
      s.close(code, reason);
      return true;
    }
    this.#link.publish("s:" + id, { o: this.id, k: "close", e: reason, f: code });
    return false;
  }

  /** Whether {@link close} has been called. */
  get closing(): boolean {
    return this.#closing;
  }

  /**
   * Graceful shutdown: refuse new upgrades (503), send envelope sessions a `bye` frame, close
   * every session with 1001, wait (bounded) for them to close, then release the broker.
   */
  async close(options: HubCloseOptions = {}): Promise<void> {
    this.#closing = true;
    this.liveness.stop();
    const code = options.code ?? 1001;
    const reason = options.reason ?? "server shutting down";
    const waits: Promise<void>[] = [];
    for (const s of [...this.sessions.values()]) {
      if (s.state === DETACHED) {
        this.finish(s, code, reason);
        continue;
      }
      if (s.mode === "envelope") s.sendRaw(encodeFrame("bye", { c: code, r: reason }));
      waits.push(new Promise<void>((r) => (s.onClosed = r)));
      s.close(code, reason);
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([Promise.all(waits), new Promise<void>((r) => (timer = setTimeout(r, options.timeout ?? 5000)))]);
    clearTimeout(timer);
    // Sessions whose host never reported the close are finished here, so hooks run once each.
    for (const s of [...this.sessions.values()]) this.finish(s, 1006, "");
    await this.#link.close();
  }

  /** Connect an adapter's driver and get the seam it calls. One driver per hub. */
  attach<S>(driver: Driver<S>): Seam<D, S> {
    if (this.driver && this.driver !== driver) throw new WirehubError("unavailable", "this hub is already attached to a host");
    this.driver = driver as Driver;
    if (!driver.capabilities.hibernation) this.liveness.start();
    return {
      upgrade: (req, info) => admit(this, req, info ?? {}),
      open: (socket, adm) => this.#open(socket, adm),
      message: (s, data, socket) => {
        if (socket === undefined || socket === s.socket) this.#message(s, data);
      },
      close: (s, code, reason, socket) => {
        if (socket === undefined || socket === s.socket) this.#closed(s, code, reason);
      },
      pong: (s) => this.liveness.ponged(s),
      ping: (s) => this.liveness.pinged(s),
      error: (s, e) => this.report(e, s),
    };
  }

  /** @internal the attached driver; throws before attach */
  driverOf(): Driver {
    if (!this.driver) throw new WirehubError("unavailable", "hub is not attached to a host");
    return this.driver;
  }

  /** @internal write one frame to one session; `seq` marks a replayable frame */
  writeFrame(s: Session<D>, frame: string | Uint8Array, seq?: number): SendStatus {
    if (seq !== undefined && s.ring) ringPush(s, seq, frame as string, this.resume!.maxFrames);
    if (s.state === DETACHED) return "queued";
    try {
      return this.driver!.send(s.socket, frame);
    } catch (error) {
      this.report(error, s);
      return "dropped";
    }
  }

  /** @internal the sequence number of the next replayable frame; none while no session keeps a buffer */
  nextSeq(): number | undefined {
    return this.rings > 0 ? ++this.#seq : undefined;
  }

  /** @internal a new resume token for `s` (the old one stops working) */
  issueToken(s: Session<D>): string {
    if (s.resumeToken) this.tokens.delete(s.resumeToken);
    const t = newId();
    this.tokens.set(t, s);
    s.resumeToken = t;
    return t;
  }

  /** @internal the client acknowledged frames up to `seq` */
  ack(s: Session<D>, seq: number): void {
    ringAck(s, seq);
  }

  /** @internal a session became authenticated: it now receives everyone and group sends */
  authenticated(s: Session<D>): void {
    this.authenticatedSubscriptions(s);
  }

  /** @internal (re)subscribe an authenticated session's socket to its host topics */
  authenticatedSubscriptions(s: Session<D>): void {
    const d = this.driver;
    if (!d?.subscribe) return;
    d.subscribe(s.socket, hostTopic(s.mode));
    for (const g of s.groups) d.subscribe(s.socket, hostTopic(s.mode, g));
  }

  /** @internal report an error to the error hook; never throws */
  report(error: unknown, session?: Session<D>): void {
    try {
      this.options.error?.(error, session);
    } catch {
      // the error hook itself failed: nothing sensible is left to tell
    }
  }

  /** @internal run a user hook, sending sync throws and rejections to the error hook */
  guard(session: Session<D> | undefined, fn: () => unknown): void {
    try {
      const r = fn();
      if (r instanceof Promise) r.catch((e) => this.report(e, session));
    } catch (error) {
      this.report(error, session);
    }
  }

  #open(socket: unknown, a: Admission<D>): Session<D> {
    const rp = this.resume && a.mode === "envelope" ? resumeParams(a.url) : undefined;
    if (rp?.token) {
      const resumed = adopt(this, socket, a);
      if (resumed) return resumed;
    }
    const needsAuth = this.options.authenticate !== undefined && a.mode === "envelope" && !a.auth;
    const s = new Session<D>(this, socket, newId(), { ...a, authenticated: false });
    this.sessions.set(s.id, s);
    if (this.#sharedBroker) this.#link.subscribe("s:" + s.id);
    let rt: string | undefined;
    if (rp?.acks) {
      s.ring = { seq: [], frames: [], lost: false };
      this.rings++;
      rt = this.issueToken(s);
    }
    if (s.mode === "envelope") {
      const hb = this.liveness.advertised;
      s.sendRaw(encodeFrame("hello", { v: 1, sid: s.id, auth: needsAuth || undefined, rt, resumed: rp?.token ? false : undefined, hb }));
    }
    if (needsAuth) startAuthTimer(this, s);
    else applyAuth(this, s, a.auth ?? {});
    if (this.options.open) this.guard(s, () => this.options.open!(s));
    return s;
  }

  #message(s: Session<D>, data: WireData): void {
    if (s.state !== OPEN) return;
    s.lastSeen = Date.now();
    const max = this.options.maxMessageSize ?? 1024 * 1024;
    const size = typeof data === "string" ? data.length : data.byteLength;
    // A string's UTF-16 length never exceeds its UTF-8 byte count, and the byte count is at
    // most 3x the length: only texts in between need encoding to be measured exactly.
    if (size > max || (typeof data === "string" && size * 3 > max && new TextEncoder().encode(data).length > max)) {
      s.close(1009, "message too big");
      return;
    }
    if (s.mode === "raw") {
      const rp = this.options.rawPing;
      if (rp && typeof data === "string") {
        if (data === rp.ping) {
          this.liveness.pinged(s);
          s.sendRaw(rp.pong);
          return;
        }
        if (data === rp.pong) return this.liveness.ponged(s);
      }
      const payload = typeof data === "string" ? data : data instanceof Uint8Array ? data : new Uint8Array(data);
      if (this.options.message) this.guard(s, () => this.options.message!(s, { event: "message", data: payload, mode: "raw" }));
      return;
    }
    if (typeof data !== "string") {
      s.sendRaw(encodeError(undefined, "bad_frame", 'binary frames are not part of wirehub.v1; send base64 in "b"'));
      return;
    }
    try {
      dispatch(this, s, decodeFrame(data));
    } catch (error) {
      if (error instanceof ProtocolError) s.sendRaw(encodeError(undefined, error.code, error.message));
      else this.report(error, s); // dispatch answers its own faults; anything here is a bug, reported not thrown
    }
  }

  #closed(s: Session<D>, code: number, reason: string): void {
    if (s.state === CLOSED || s.state === DETACHED) return;
    if (detach(this, s, code, reason, s.state === CLOSING)) return;
    this.finish(s, code, reason);
  }

  /** @internal end a session for good: groups, presence, pending requests, the close hook */
  finish(s: Session<D>, code: number, reason: string): void {
    if (s.state === CLOSED) return;
    const info = s.publicInfo;
    s.state = CLOSED;
    clearTimeout(s.detachTimer);
    if (s.resumeToken) this.tokens.delete(s.resumeToken);
    if (s.ring) {
      s.ring = undefined;
      this.rings--;
    }
    clearAuthTimer(s);
    this.sessions.delete(s.id);
    if (s.groupSet) for (const g of [...s.groupSet]) this.leave(s, g);
    this.presence.closed(s, info);
    if (this.#sharedBroker) this.#link.unsubscribe("s:" + s.id);
    s.failPending();
    if (this.options.close) this.guard(s, () => this.options.close!(s, code, reason));
    s.onClosed?.();
  }
}

const EMPTY_SET: ReadonlySet<never> = new Set();

/** Create a hub. Give it to an adapter (`serve(hub)` from `wirehub/bun`, …) to accept connections. */
export function createHub<D = SessionData>(options: HubOptions<D> = {}): Hub<D> {
  return new Hub<D>(options);
}

export type { Admission, UpgradeResult } from "./upgrade.ts";
