/**
 * The hub: sessions, groups, sending, and the seam adapters plug into.
 * @module
 */
import { MemoryBroker, type Broker, type BrokerLink, type Packet } from "./broker.ts";
import { WirehubError } from "./errors.ts";
import { dispatch, type EventListener, type RequestHandler, type HandlerOptions } from "./dispatch.ts";
import { decodeFrame, encodeError, encodeEvent, encodeFrame, framePayload, payloadMember, SUBPROTOCOL, toBase64 } from "./protocol.ts";
import { CLOSED, CLOSING, OPEN, rawFrame, Session, type SessionData } from "./session.ts";
import { isSnapshot, sessionFromSnapshot, takeSnapshot } from "./snapshot.ts";
import type { Driver, Message, Mode, SendStatus, Target, UpgradeInfo, WireData } from "./types.ts";
import { ProtocolError } from "./errors.ts";

/** What the upgrade hook may return: accept (optionally with data), or a `Response` to reject. */
export type UpgradeResult<D> = void | undefined | true | false | { readonly data?: D } | Response;

/** A group action a client asks for; the `authorize` hook decides. */
export interface GroupAction {
  /** `join` or `leave` a group, or `publish` an event to it (`group` is `""` for everyone). */
  readonly type: "join" | "leave" | "publish";
  /** The group name. */
  readonly group: string;
  /** For `publish`: the event name. */
  readonly event?: string;
}

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
   * Decide an upgrade from the web-standard `Request`: return nothing or `true` to accept,
   * `{ data }` to accept with initial server-side data, `false` (403) or a `Response` to refuse
   * (the client sees its status). Throwing refuses with 500 and reports to `error`.
   */
  upgrade?(request: Request, info: UpgradeInfo): UpgradeResult<D> | Promise<UpgradeResult<D>>;
  /** A session opened (after the envelope `hello` is sent). */
  open?(session: Session<D>): void | Promise<void>;
  /**
   * A message arrived: every raw frame (event `"message"`), and every envelope `evt` frame that
   * no {@link Hub.on} listener took. Without this hook such events get a `not_found` error frame.
   */
  message?(session: Session<D>, message: Message): void | Promise<void>;
  /** A session closed, with the code and reason the peer (or the server) gave. Runs once. */
  close?(session: Session<D>, code: number, reason: string): void | Promise<void>;
  /** Any error thrown by a hook or handler, or a host fault. Never throws back into the host. */
  error?(error: unknown, session?: Session<D>): void;
  /**
   * May a client join, leave or publish to a group? Without this hook clients may leave any
   * group but not join or publish: groups are the server's to give.
   */
  authorize?(session: Session<D>, action: GroupAction): boolean | Promise<boolean>;
  /** Broker for scale-out. Default: an in-process {@link MemoryBroker} of its own. */
  readonly broker?: Broker;
  /** Largest incoming message in bytes; bigger ones close the session with 1009. Default 1 MiB. */
  readonly maxMessageSize?: number;
  /** Milliseconds a server→client request waits for its answer. Default 10 000. */
  readonly requestTimeout?: number;
}

/** An accepted upgrade, handed from `seam.upgrade` to `seam.open` through the host. */
export interface Admission<D = SessionData> {
  /** The id the session will have (known before the socket opens, so a host can tag the socket). */
  readonly id: string;
  /** The session's mode. */
  readonly mode: Mode;
  /** The subprotocol to echo in `Sec-WebSocket-Protocol`, or `""`. */
  readonly protocol: string;
  /** Initial server-side data. */
  readonly data: D;
  /** Upgrade URL. */
  readonly url: string;
  /** Upgrade headers. */
  readonly headers: Headers;
  /** Peer address or `""`. */
  readonly remoteAddress: string;
}

/** The adapter-facing side of a hub. Adapters call these and nothing else. */
export interface Seam<D = SessionData, S = unknown> {
  /** Decide an upgrade: an {@link Admission} to accept, or a `Response` to send instead. */
  upgrade(request: Request, info?: UpgradeInfo): Promise<Admission<D> | Response>;
  /** The host opened the socket for an admission. */
  open(socket: S, admission: Admission<D>): Session<D>;
  /**
   * Rebuild a session from the snapshot a hibernating host kept with its socket (see
   * `Driver.persist`): same id, data and groups; no open hook, no hello frame. Returns
   * `undefined` when `snapshot` is not one this version can read.
   */
  restore(socket: S, snapshot: unknown): Session<D> | undefined;
  /** A frame arrived. Never throws. */
  message(session: Session<D>, data: WireData): void;
  /** The socket closed (either side). Never throws; runs the close hook once. */
  close(session: Session<D>, code: number, reason: string): void;
  /** A protocol-level pong arrived. */
  pong(session: Session<D>): void;
  /** The host reported a socket error. */
  error(session: Session<D> | undefined, error: unknown): void;
}

/** Options of {@link Hub.close}. */
export interface HubCloseOptions {
  /** Close code sent to every session. Default 1001 (going away). */
  readonly code?: number;
  /** Close reason. Default `"server shutting down"`. */
  readonly reason?: string;
  /** Milliseconds to wait for sessions to finish closing before giving up. Default 5 000. */
  readonly timeout?: number;
}

const ID_BYTES = 16;
function newId(): string {
  const b = new Uint8Array(ID_BYTES);
  crypto.getRandomValues(b);
  return toBase64(b).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function hostTopic(mode: Mode, group?: string): string {
  return (mode === "raw" ? "r" : "e") + (group === undefined ? "*" : ":" + group);
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
  /** @internal */ readonly options: HubOptions<D>;
  /** @internal */ readonly requestTimeout: number;
  /** @internal */ readonly handlers: Map<string, { fn: RequestHandler<D>; opts: HandlerOptions }> = new Map();
  /** @internal */ readonly listeners: Map<string, { fn: EventListener<D>; opts: HandlerOptions }> = new Map();
  readonly #groups = new Map<string, Set<Session<D>>>();
  readonly #mode: "auto" | Mode;
  readonly #maxMessage: number;
  readonly #link: BrokerLink;
  readonly #sharedBroker: boolean;
  #driver: Driver | undefined;
  #closing = false;
  #restoring: Session<D> | undefined;

  constructor(options: HubOptions<D> = {}) {
    this.options = options;
    this.#mode = options.mode ?? "auto";
    this.#maxMessage = options.maxMessageSize ?? 1024 * 1024;
    this.requestTimeout = options.requestTimeout ?? 10_000;
    this.#sharedBroker = options.broker !== undefined;
    const node = { id: this.id, receive: (topic: string, p: Packet) => this.#receive(topic, p) };
    this.#link = (options.broker ?? new MemoryBroker()).connect(node);
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
    this.#deliver(event, data, to, target.group, except);
    if (to) {
      for (const id of to) {
        if (!this.sessions.has(id)) this.#link.publish("s:" + id, this.#packet(event, data, target.group, except));
      }
    } else {
      this.#link.publish(target.group === undefined ? "all" : "g:" + target.group, this.#packet(event, data, target.group, except));
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
    return this.#groups.get(group) ?? EMPTY_SET;
  }

  /** Names of the groups that have members on this hub. */
  groups(): IterableIterator<string> {
    return this.#groups.keys();
  }

  /** Put a session (or a session id) in a group. O(1). */
  join(session: Session<D> | string, group: string): void {
    const s = typeof session === "string" ? this.sessions.get(session) : session;
    if (!s || s.state === CLOSED) return;
    const set = (s.groupSet ??= new Set());
    if (set.has(group)) return;
    set.add(group);
    let members = this.#groups.get(group);
    if (!members) {
      this.#groups.set(group, (members = new Set()));
      this.#link.subscribe("g:" + group);
    }
    members.add(s);
    this.#driver?.subscribe?.(s.socket, hostTopic(s.mode, group));
    this.persist(s);
  }

  /** Take a session (or session id) out of a group; an empty group disappears. O(1). */
  leave(session: Session<D> | string, group: string): void {
    const s = typeof session === "string" ? this.sessions.get(session) : session;
    if (!s?.groupSet?.delete(group)) return;
    const members = this.#groups.get(group);
    members?.delete(s);
    if (members && members.size === 0) {
      this.#groups.delete(group);
      this.#link.unsubscribe("g:" + group);
    }
    if (s.state === OPEN) this.#driver?.unsubscribe?.(s.socket, hostTopic(s.mode, group));
    this.persist(s);
  }

  /** Close a session by id with a code and reason. Returns whether it was found here. */
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
    const code = options.code ?? 1001;
    const reason = options.reason ?? "server shutting down";
    const waits: Promise<void>[] = [];
    for (const s of [...this.sessions.values()]) {
      if (s.mode === "envelope") s.sendRaw(encodeFrame("bye", { c: code, r: reason }));
      waits.push(new Promise<void>((r) => (s.onClosed = r)));
      s.close(code, reason);
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all(waits),
      new Promise<void>((r) => (timer = setTimeout(r, options.timeout ?? 5000))),
    ]);
    clearTimeout(timer);
    // Sessions whose host never reported the close are finished here, so hooks run once each.
    for (const s of [...this.sessions.values()]) this.#closed(s, 1006, "");
    await this.#link.close();
  }

  /** Connect an adapter's driver and get the seam it calls. One driver per hub. */
  attach<S>(driver: Driver<S>): Seam<D, S> {
    if (this.#driver && this.#driver !== driver) throw new WirehubError("unavailable", "this hub is already attached to a host");
    this.#driver = driver as Driver;
    return {
      upgrade: (req, info) => this.#upgrade(req, info ?? {}),
      open: (socket, adm) => this.#open(socket, adm),
      restore: (socket, snap) => this.#restore(socket, snap),
      message: (s, data) => this.#message(s, data),
      close: (s, code, reason) => this.#closed(s, code, reason),
      pong: (s) => {
        s.lastSeen = Date.now();
      },
      error: (s, e) => this.report(e, s),
    };
  }

  /** @internal */
  driverOf(): Driver {
    if (!this.#driver) throw new WirehubError("unavailable", "hub is not attached to a host");
    return this.#driver;
  }

  /** @internal write one frame to one session */
  writeFrame(s: Session<D>, frame: string | Uint8Array): SendStatus {
    try {
      return this.#driver!.send(s.socket, frame);
    } catch (error) {
      this.report(error, s);
      return "dropped";
    }
  }

  /** @internal hand an open session's snapshot to a host that keeps it (hibernation); never throws */
  persist(s: Session<D>): void {
    const d = this.#driver;
    if (!d?.persist || s.state !== OPEN || s === this.#restoring) return;
    try {
      d.persist(s.socket, takeSnapshot(s));
    } catch (error) {
      this.report(error, s);
    }
  }

  /** @internal next resume sequence number for a frame to `s` (resume is off: none) */
  nextSeq(_s: Session<D>): number | undefined {
    return undefined;
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

  async #upgrade(request: Request, info: UpgradeInfo): Promise<Admission<D> | Response> {
    if (this.#closing) return new Response("server is shutting down", { status: 503 });
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response("expected a WebSocket upgrade", { status: 426, headers: { upgrade: "websocket" } });
    }
    const offered = (request.headers.get("sec-websocket-protocol") ?? "").split(",").map((p) => p.trim()).filter(Boolean);
    let mode: Mode = this.#mode === "envelope" ? "envelope" : "raw";
    let protocol = "";
    if (offered.length > 0) {
      if (this.#mode !== "raw" && offered.includes(SUBPROTOCOL)) {
        mode = "envelope";
        protocol = SUBPROTOCOL;
      } else {
        protocol = offered.find((p) => this.options.protocols?.includes(p)) ?? "";
        if (!protocol) return new Response(`unsupported subprotocol; this hub speaks: ${this.#known().join(", ")}`, { status: 400 });
      }
    }
    let data = {} as D;
    if (this.options.upgrade) {
      let r: UpgradeResult<D>;
      try {
        r = await this.options.upgrade(request, info);
      } catch (error) {
        this.report(error);
        return new Response("upgrade hook failed", { status: 500 });
      }
      if (r instanceof Response) return r;
      if (r === false) return new Response("forbidden", { status: 403 });
      if (r && r !== true && r.data !== undefined) data = r.data;
    }
    return { id: newId(), mode, protocol, data, url: request.url, headers: request.headers, remoteAddress: info.remoteAddress ?? "" };
  }

  #known(): string[] {
    const list = [...(this.options.protocols ?? [])];
    if (this.#mode !== "raw") list.unshift(SUBPROTOCOL);
    return list;
  }

  #open(socket: unknown, a: Admission<D>): Session<D> {
    const s = new Session<D>(this, socket, a.id, { ...a, authenticated: true });
    this.#register(s);
    if (s.mode === "envelope") s.sendRaw(encodeFrame("hello", { v: 1, sid: s.id }));
    if (this.options.open) this.guard(s, () => this.options.open!(s));
    this.persist(s);
    return s;
  }

  #register(s: Session<D>): void {
    this.sessions.set(s.id, s);
    this.#driver?.subscribe?.(s.socket, hostTopic(s.mode));
    if (this.#sharedBroker) this.#link.subscribe("s:" + s.id);
  }

  #restore(socket: unknown, snap: unknown): Session<D> | undefined {
    if (!isSnapshot(snap)) return undefined;
    const known = this.sessions.get(snap.id);
    if (known) return known;
    const s = sessionFromSnapshot(this, socket, snap as typeof snap & { data: D });
    this.#register(s);
    // the snapshot already holds these groups: joining them again must not write it back
    this.#restoring = s;
    for (const g of snap.groups) this.join(s, g);
    this.#restoring = undefined;
    return s;
  }

  #message(s: Session<D>, data: WireData): void {
    if (s.state !== OPEN) return;
    s.lastSeen = Date.now();
    const size = typeof data === "string" ? data.length : data.byteLength;
    // A string's length is at most its UTF-8 byte count, so this check never lets a too-big text through
    // when the byte count is above the limit by more than 3x; exact check for texts near the limit.
    if (size > this.#maxMessage || (typeof data === "string" && size * 3 > this.#maxMessage && new TextEncoder().encode(data).length > this.#maxMessage)) {
      s.close(1009, "message too big");
      return;
    }
    if (s.mode === "raw") {
      const payload = typeof data === "string" ? data : data instanceof Uint8Array ? data : new Uint8Array(data);
      if (this.options.message) this.guard(s, () => this.options.message!(s, { event: "message", data: payload, mode: "raw" }));
      return;
    }
    if (typeof data !== "string") {
      s.sendRaw(encodeError(undefined, "bad_frame", "binary frames are not part of wirehub.v1; send base64 in \"b\""));
      return;
    }
    let frame;
    try {
      frame = decodeFrame(data);
    } catch (error) {
      const e = error instanceof ProtocolError ? error : new ProtocolError("bad frame");
      s.sendRaw(encodeError(undefined, e.code, e.message));
      return;
    }
    try {
      dispatch(this, s, frame);
    } catch (error) {
      // dispatch answers its own faults; anything reaching here is a bug, reported not thrown
      if (error instanceof ProtocolError) s.sendRaw(encodeError(undefined, error.code, error.message));
      else this.report(error, s);
    }
  }

  #closed(s: Session<D>, code: number, reason: string): void {
    if (s.state === CLOSED) return;
    s.state = CLOSED;
    this.sessions.delete(s.id);
    if (s.groupSet) for (const g of [...s.groupSet]) this.leave(s, g);
    if (this.#sharedBroker) this.#link.unsubscribe("s:" + s.id);
    s.failPending();
    if (this.options.close) this.guard(s, () => this.options.close!(s, code, reason));
    s.onClosed?.();
  }

  #packet(event: string, data: unknown, group: string | undefined, except: readonly string[]): Packet {
    const bin = data instanceof Uint8Array || data instanceof ArrayBuffer || ArrayBuffer.isView(data);
    const p: { o: string; k: "evt"; e: string; d?: unknown; b?: string; g?: string; x?: readonly string[] } = { o: this.id, k: "evt", e: event };
    if (bin) p.b = payloadMember(data).slice(6, -1);
    else if (data !== undefined) p.d = data;
    if (group !== undefined) p.g = group;
    if (except.length > 0) p.x = except;
    return p;
  }

  #receive(topic: string, p: Packet): void {
    if (p.k === "close") {
      if (topic.startsWith("s:")) this.sessions.get(topic.slice(2))?.close(p.f as number, p.e);
      return;
    }
    if (p.k !== "evt") return;
    const data = framePayload(p);
    if (topic === "all") this.#deliver(p.e!, data, undefined, undefined, p.x ?? []);
    else if (topic.startsWith("g:")) this.#deliver(p.e!, data, undefined, topic.slice(2), p.x ?? []);
    else if (topic.startsWith("s:")) this.#deliver(p.e!, data, [topic.slice(2)], p.g, p.x ?? []);
  }

  /** Local fan-out: encode once per mode, hand the same string/bytes to every recipient. */
  #deliver(event: string, data: unknown, to: readonly string[] | undefined, group: string | undefined, except: readonly string[]): void {
    let raw: string | Uint8Array | undefined;
    let env: string | undefined;
    const frameFor = (s: Session<D>): string | Uint8Array =>
      s.mode === "raw" ? (raw ??= rawFrame(data)) : (env ??= encodeEvent(event, data, this.nextSeq(s)));
    if (to) {
      for (const id of to) {
        const s = this.sessions.get(id);
        if (!s || s.state !== OPEN || !s.authenticated || except.includes(id)) continue;
        if (group !== undefined && !s.groupSet?.has(group)) continue;
        this.writeFrame(s, frameFor(s));
      }
      return;
    }
    const members: Iterable<Session<D>> | undefined = group === undefined ? this.sessions.values() : this.#groups.get(group);
    if (!members) return;
    const d = this.#driver;
    if (d?.publish && except.length === 0) {
      // Native fan-out: one call per mode; the host copies nothing per recipient.
      d.publish(hostTopic("raw", group), (raw ??= rawFrame(data)));
      d.publish(hostTopic("envelope", group), (env ??= encodeEvent(event, data)));
      return;
    }
    if (d?.publishExcept && except.length === 1) {
      const self = this.sessions.get(except[0]!);
      if (self && (group === undefined || self.groupSet?.has(group))) {
        d.publishExcept(self.socket, hostTopic("raw", group), (raw ??= rawFrame(data)));
        d.publishExcept(self.socket, hostTopic("envelope", group), (env ??= encodeEvent(event, data)));
        return;
      }
    }
    const skip = except.length > 8 ? new Set(except) : undefined;
    for (const s of members) {
      if (s.state !== OPEN || !s.authenticated) continue;
      if (skip ? skip.has(s.id) : except.length > 0 && except.includes(s.id)) continue;
      this.writeFrame(s, frameFor(s));
    }
  }
}

const EMPTY_SET: ReadonlySet<never> = new Set();

/** Create a hub. Give it to an adapter (`serve(hub)` from `wirehub/bun`, …) to accept connections. */
export function createHub<D = SessionData>(options: HubOptions<D> = {}): Hub<D> {
  return new Hub<D>(options);
}
