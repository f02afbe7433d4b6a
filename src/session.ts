/**
 * A session: one connected client, as the hub sees it.
 * @module
 */
import { ClosedError, RemoteError } from "./errors.ts";
import { encodeEvent, encodeFrame, type FrameId } from "./protocol.ts";
import type { BroadcastTarget, Mode, SendStatus } from "./types.ts";
import type { Hub } from "./hub.ts";
import type { Ring } from "./resume.ts";
import type { Bucket } from "./limits.ts";
import { awaitAnswer, failAll, Rare, settlePending, type Pending } from "./session-rare.ts";
import { smallAdd, smallDelete, smallHas, smallList, smallSize, type SmallSet } from "./small-set.ts";
import { packHeaders, rawFrame, unpackHeaders, wireCloseCode, wireCloseReason } from "./wire.ts";

export { packHeaders, rawFrame, unpackHeaders, wireCloseCode, wireCloseReason } from "./wire.ts";

/** The fields every session's server-side data may have; your own type replaces it. */
export type SessionData = Record<string, unknown>;

/** A session's public face, as other clients see it in presence lists and private messages. */
export interface PublicInfo {
  /** Session id. */
  readonly sid: string;
  /** Public alias. */
  readonly alias: string;
  /** Whether the session accepts private messages and sees presence. */
  readonly available: boolean;
  /** Public immutable data set at authentication (never the server-side data). */
  readonly pub?: unknown;
}

/** Options of {@link Session.request}. */
export interface SessionRequestOptions {
  /** Milliseconds to wait for the client's answer. Default: the hub's `requestTimeout` (10 000). */
  readonly timeout?: number;
}

/** @internal session lifecycle states; DETACHED waits for its client to resume */
export const OPEN = 0, CLOSING = 1, CLOSED = 2, DETACHED = 3;

/**
 * One connected client. `data` is server-side only; nothing in it is ever sent to a client
 * unless your code sends it.
 */
export class Session<D = SessionData> {
  /** Unguessable session id (128 random bits, base64url). */
  readonly id: string;
  /** The upgrade request's URL. */
  readonly url: string;
  /** @internal the upgrade headers, packed (see {@link packHeaders}) until {@link headers} first builds them */
  hdrs: Headers | string;
  /** The peer address the host reported, or `""`. */
  readonly remoteAddress: string;
  /** The negotiated subprotocol, or `""`. */
  readonly protocol: string;
  /** `raw` (frames pass untouched) or `envelope` (wirehub.v1). */
  readonly mode: Mode;
  /** Server-side data: from the upgrade hook, then the authenticate hook. Never sent to anyone. */
  data: D;
  /** When the session opened (ms since the epoch). */
  readonly openedAt: number;
  /** When the session last sent anything, ping or pong included (ms since the epoch; frames that arrive within about 1 ms share one clock reading). */
  lastSeen: number;
  /** Last measured round-trip time in ms, or -1 before the first measurement. */
  rtt: number = -1;
  /** When the client last pinged (ms since the epoch; the open time until it does). */
  lastPing: number;
  /** @internal when the oldest unanswered server ping went out, 0 when none */
  pingSentAt = 0;
  /** Public alias once set by authentication or {@link set}; `undefined` means invisible. Change it with {@link set}. */
  alias: string | undefined = undefined;
  /** Whether the session is available (sees presence, can be messaged privately). Change it with {@link set}. */
  available: boolean = true;
  /** Whether the session has authenticated (always `true` when the hub requires no auth). */
  authenticated: boolean;
  /** @internal host socket (replaced when a new connection resumes the session) */
  socket: unknown;
  /** @internal */
  readonly hub: Hub<D, any>;
  /**
   * @internal group names: none, one (the name), an array of up to {@link FEW_GROUPS} (built anew
   * on each change, so it never carries spare capacity), or a `Set` past that or once {@link groups} was read
   */
  gs: SmallSet = undefined;
  /** @internal */ state: 0 | 1 | 2 | 3 = OPEN;
  /** @internal async request handlers still running */
  inflight = 0;
  /** @internal rate-limit bucket */
  bucket: Bucket | undefined = undefined;
  /** @internal an over-limit error frame was sent since the bucket last allowed a message */
  limited = false;
  /** @internal the last send was queued by the host (check the buffer before the next) */
  congested = false;
  /** @internal what few sessions ever need (resume, auth, requests to the client, cluster hand-over), made on first write */
  rare: Rare | undefined = undefined;

  /** Public immutable data visible to other clients, set at authentication. */
  get publicData(): unknown {
    return this.rare?.publicData;
  }
  set publicData(v: unknown) {
    if (v !== undefined || this.rare) this.#rare().publicData = v;
  }
  /** @internal `lastSeen` as in the last snapshot a hibernating host stored */
  get savedSeen(): number {
    return this.rare?.savedSeen ?? 0;
  }
  set savedSeen(v: number) {
    if (v !== 0 || this.rare) this.#rare().savedSeen = v;
  }
  /** @internal `lastPing` as in the last snapshot a hibernating host stored */
  get savedPing(): number {
    return this.rare?.savedPing ?? 0;
  }
  set savedPing(v: number) {
    if (v !== 0 || this.rare) this.#rare().savedPing = v;
  }
  /** @internal replay buffer, when the client acknowledges (resume) */
  get ring(): Ring | undefined {
    return this.rare?.ring;
  }
  set ring(v: Ring | undefined) {
    if (v !== undefined || this.rare) this.#rare().ring = v;
  }
  /** @internal current resume token */
  get resumeToken(): string | undefined {
    return this.rare?.resumeToken;
  }
  set resumeToken(v: string | undefined) {
    if (v !== undefined || this.rare) this.#rare().resumeToken = v;
  }
  /** @internal end of the resume window of a detached session */
  get detachTimer(): ReturnType<typeof setTimeout> | undefined {
    return this.rare?.detachTimer;
  }
  set detachTimer(v: ReturnType<typeof setTimeout> | undefined) {
    if (v !== undefined || this.rare) this.#rare().detachTimer = v;
  }
  /** @internal server→client requests awaiting an answer */
  get pending(): Map<FrameId, Pending> | undefined {
    return this.rare?.pending;
  }
  set pending(v: Map<FrameId, Pending> | undefined) {
    if (v !== undefined || this.rare) this.#rare().pending = v;
  }
  /** @internal id of the last server→client request */
  get nextId(): number {
    return this.rare?.nextId ?? 0;
  }
  set nextId(v: number) {
    if (v !== 0 || this.rare) this.#rare().nextId = v;
  }
  /** @internal authentication deadline */
  get authTimer(): ReturnType<typeof setTimeout> | undefined {
    return this.rare?.authTimer;
  }
  set authTimer(v: ReturnType<typeof setTimeout> | undefined) {
    if (v !== undefined || this.rare) this.#rare().authTimer = v;
  }
  /** @internal failed auth frames so far */
  get authFailures(): number {
    return this.rare?.authFailures ?? 0;
  }
  set authFailures(v: number) {
    if (v !== 0 || this.rare) this.#rare().authFailures = v;
  }
  /** @internal client joins waiting for the authorize hook */
  get joining(): number {
    return this.rare?.joining ?? 0;
  }
  set joining(v: number) {
    if (v !== 0 || this.rare) this.#rare().joining = v;
  }
  /** @internal resolves a graceful shutdown's wait */
  get onClosed(): (() => void) | undefined {
    return this.rare?.onClosed;
  }
  set onClosed(v: (() => void) | undefined) {
    if (v !== undefined || this.rare) this.#rare().onClosed = v;
  }
  /** @internal being handed between instances of a cluster: its presence changes are not announced, its end runs no hook */
  get quiet(): boolean {
    return this.rare?.quiet ?? false;
  }
  set quiet(v: boolean) {
    if (v || this.rare) this.#rare().quiet = v;
  }
  /** @internal the resume token another instance claimed this session with (cluster hand-over) */
  get claimedBy(): string | undefined {
    return this.rare?.claimedBy;
  }
  set claimedBy(v: string | undefined) {
    if (v !== undefined || this.rare) this.#rare().claimedBy = v;
  }
  #rare(): Rare {
    return (this.rare ??= new Rare());
  }

  /** @internal sessions are made by the hub */
  constructor(hub: Hub<D, any>, socket: unknown, id: string, init: {
    url: string; headers: Headers; packedHeaders?: string; remoteAddress: string; protocol: string; mode: Mode; data: D; authenticated?: boolean; openedAt?: number;
  }) {
    this.hub = hub;
    this.socket = socket;
    this.id = id;
    this.url = init.url;
    this.hdrs = init.packedHeaders ?? packHeaders(init.headers);
    this.remoteAddress = init.remoteAddress;
    this.protocol = init.protocol;
    this.mode = init.mode;
    this.data = init.data;
    this.authenticated = init.authenticated ?? false;
    this.lastSeen = this.lastPing = Date.now();
    this.openedAt = init.openedAt ?? this.lastSeen;
  }

  /**
   * The upgrade request's headers but the handshake's own (`connection`, `upgrade`,
   * `sec-websocket-key`, `-version`, `-extensions`), packed in one string until the first read
   * builds this `Headers` object (a `Headers` per idle session costs hundreds of bytes).
   */
  get headers(): Headers {
    const h = this.hdrs;
    return typeof h === "string" ? (this.hdrs = unpackHeaders(h)) : h;
  }

  /** @internal the upgrade headers as name/value pairs, without building a `Headers` object */
  headerPairs(): [string, string][] {
    const h = this.hdrs;
    if (typeof h !== "string") return [...h];
    const p = h === "" ? [] : h.split("\n");
    const out: [string, string][] = [];
    for (let i = 0; i + 1 < p.length; i += 2) out.push([p[i]!, p[i + 1]!]);
    return out;
  }

  /** The upgrade URL's path. */
  get path(): string {
    return new URL(this.url).pathname;
  }

  /** Whether the session is open (not closing or closed). */
  get open(): boolean {
    return this.state === OPEN;
  }

  /** Whether the session still exists: open, or detached and waiting for its client to resume. */
  get live(): boolean {
    return this.state === OPEN || this.state === DETACHED;
  }

  /** The groups this session is in. */
  get groups(): ReadonlySet<string> {
    const g = this.gs;
    if (g === undefined) return EMPTY;
    // A live view: from now on the names are kept in this Set, which later joins and leaves update.
    return g instanceof Set ? g : (this.gs = new Set(typeof g === "string" ? [g] : g));
  }

  /** @internal whether the session is in `group` */
  inGroup(group: string): boolean {
    return smallHas(this.gs, group);
  }

  /** @internal how many groups the session is in */
  get groupCount(): number {
    return smallSize(this.gs);
  }

  /** @internal a copy of the session's group names */
  groupNames(): string[] {
    return smallList(this.gs);
  }

  /** @internal add a group name; `false` when the session was in it already */
  addGroup(group: string): boolean {
    if (smallHas(this.gs, group)) return false;
    this.gs = smallAdd(this.gs, group, FEW_GROUPS);
    return true;
  }

  /** @internal remove a group name; `false` when the session was not in it */
  removeGroup(group: string): boolean {
    if (!smallHas(this.gs, group)) return false;
    this.gs = smallDelete(this.gs, group);
    return true;
  }

  /** Bytes the host has buffered for this session, or 0 where the host cannot tell. */
  get bufferedAmount(): number {
    return this.hub.driverOf().bufferedAmount?.(this.socket) ?? 0;
  }

  /** The session as other clients see it, or `undefined` while it has no alias. */
  get publicInfo(): PublicInfo | undefined {
    if (this.alias === undefined) return undefined;
    return this.publicData === undefined
      ? { sid: this.id, alias: this.alias, available: this.available }
      : { sid: this.id, alias: this.alias, available: this.available, pub: this.publicData };
  }

  /**
   * Send a payload. Raw sessions get it as is (text, bytes, or JSON text for other values);
   * envelope sessions get an `evt` frame named `event` (default `"message"`).
   */
  send(data: unknown, event: string = "message"): SendStatus {
    return this.emit(event, data);
  }

  /** Send a named event to this session; with `volatile`, as a hub send with `volatile` (dropped rather than kept or queued). */
  emit(event: string, data?: unknown, options?: { readonly volatile?: boolean }): SendStatus {
    if (!this.live) return "dropped";
    if (options?.volatile && (this.congested || this.state === DETACHED)) return (this.hub.metrics.dropped++, "dropped");
    if (this.mode === "raw") return this.hub.writeFrame(this, rawFrame(data));
    const seq = options?.volatile ? undefined : this.hub.nextSeq();
    // The cluster-wide key only matters to a replay buffer: build it only for a session that keeps one.
    const key = seq !== undefined && this.ring ? this.hub.id + "." + this.hub.nextKey() : undefined;
    return this.hub.writeFrame(this, encodeEvent(event, data, seq), seq, key);
  }

  /** Send an already encoded frame, untouched (text or binary). */
  sendRaw(frame: string | Uint8Array): SendStatus {
    if (this.state !== OPEN) return "dropped";
    return this.hub.writeFrame(this, frame);
  }

  /**
   * Ask this client a question and await its answer (envelope sessions only).
   * Rejects with `TimeoutError`, {@link RemoteError} or {@link ClosedError}.
   */
  request<R = unknown>(method: string, data?: unknown, options?: SessionRequestOptions): Promise<R> {
    if (this.mode !== "envelope") return Promise.reject(new RemoteError("not_found", "raw sessions cannot answer requests"));
    if (this.state !== OPEN) return Promise.reject(new ClosedError());
    const id = ++this.nextId;
    const ms = options?.timeout ?? this.hub.requestTimeout;
    const answer = awaitAnswer<R>((this.pending ??= new Map()), id, ms, `request "${method}"`);
    this.hub.writeFrame(this, encodeFrame("req", { id, m: method }, data));
    return answer;
  }

  /** Change the public alias and/or availability; the session's groups get presence events. */
  set(change: { alias?: string | null; available?: boolean }): void {
    this.hub.presence.update(this, change);
  }

  /** Join a group (server side: no authorize hook is asked). */
  join(group: string): void {
    this.hub.join(this, group);
  }

  /** Leave a group. */
  leave(group: string): void {
    this.hub.leave(this, group);
  }

  /** Send an event to a group, or everyone, excluding this session unless `includeSelf`. */
  broadcast(event: string, data: unknown, target: BroadcastTarget = {}): void {
    const except = target.except === undefined ? [] : typeof target.except === "string" ? [target.except] : [...target.except];
    if (!target.includeSelf) except.push(this.id);
    this.hub.emit(event, data, { to: target.to, group: target.group, except, volatile: target.volatile });
  }

  /**
   * Store this session's state (data, groups, alias, …) where a hibernating host keeps it with the
   * socket, so it survives the process being evicted. The hub saves on open, join and leave; call
   * this after changing `data` yourself outside the open hook. A no-op on hosts that never evict.
   */
  save(): void {
    this.hub.persist(this);
  }

  /** Close the session with a code (default 1000) and a reason. The close hook runs once. */
  close(code?: number, reason?: string): void {
    if (this.state === DETACHED) return this.hub.finish(this, wireCloseCode(code), wireCloseReason(reason));
    if (this.state !== OPEN) return;
    this.state = CLOSING;
    try {
      this.hub.driverOf().close(this.socket, wireCloseCode(code), wireCloseReason(reason));
    } catch (error) {
      this.hub.report(error, this);
    }
  }

  /** @internal settle a pending server→client request */
  settle(id: FrameId, ok: boolean, value: unknown): void {
    settlePending(this.pending, id, ok, value);
  }

  /** @internal reject everything pending; the session is gone */
  failPending(): void {
    if (this.pending) failAll(this.pending);
    this.pending = undefined;
  }
}

const EMPTY: ReadonlySet<string> = new Set();

/** Group names a session keeps in a plain array before it switches to a `Set`. */
const FEW_GROUPS = 8;

