/**
 * `wirehub/client`: the wirehub.v1 client for browsers, Bun, Deno and Node ≥ 20, on web
 * standards only (the `WebSocket` global, timers). Events, requests both ways, groups,
 * presence, private messages, auth, a heartbeat, reconnection with backoff, an offline queue
 * and session resume (PROTOCOL.md).
 *
 * ```ts
 * import { connect } from "wirehub/client";
 *
 * interface Api {
 *   events: { chat: { text: string } };
 *   requests: { "create/user": { input: { name: string }; output: { id: string } } };
 * }
 * const client = await connect<Api>("wss://example.com/ws");
 * client.on("chat", (msg) => console.log(msg.text));
 * client.emit("chat", { text: "hi" });
 * const { id } = await client.request("create/user", { name: "ada" });
 * ```
 * On Node 20, which has no global WebSocket, pass one: `connect(url, { WebSocket })` with the
 * `WebSocket` class of the `ws` package.
 * @module
 */
import { Link, type Frame, type Hello } from "./client-link.ts";
import type {
  AuthResult, ClientEventName, ClientEvents, ClientOptions, EmitArgs, EventData, EventName, MethodName, PeerInfo,
  PresenceEvent, RequestArgs, RequestInput, RequestOptions, RequestOutput, ServerInput, ServerMethodName, ServerOutput, UrlSource,
} from "./client-types.ts";
import { Outbox } from "./client-outbox.ts";
import { ClosedError, RemoteError, WirehubError, toWireError } from "./errors.ts";
import { encodeFrame, encodeResult } from "./protocol.ts";
import { EventListeners, payload } from "./client-events.ts";

export { backoffDelay, DEFAULT_MAX_DELAY, DEFAULT_MIN_DELAY, shouldReconnect } from "./client-backoff.ts";
export type { BackoffOptions } from "./client-backoff.ts";
export type {
  AuthResult, ClientEventName, ClientEvents, ClientOptions, EmitArgs, EventData, EventMap, EventName, HeartbeatOptions, Loose,
  MethodName, PeerInfo, PresenceEvent, QueryParams, QueueOptions, ReconnectOptions, RequestArgs, RequestInput, RequestMap, RequestOptions,
  RequestOutput, ServerInput, ServerMethodName, ServerOutput, ServerRequestMap, UrlSource, WebSocketConstructor,
} from "./client-types.ts";
export { QueueFullError } from "./client-outbox.ts";
export { ClosedError, RemoteError, TimeoutError, WirehubError } from "./errors.ts";
export type { ErrorCode } from "./errors.ts";

type Fn = (...args: never[]) => unknown;

/**
 * A wirehub client: one logical connection that survives drops. Create it with {@link connect}.
 * `A` is an optional API description that types `emit`, `on`, `request`, `handle` and `publish`.
 */
export class Client<A = unknown> {
  #opts: ClientOptions;
  #link: Link;
  #box: Outbox;
  #events = new EventListeners();
  #handlers = new Map<string, (input: never) => unknown>();
  #life = new Map<string, Set<Fn>>();
  #presence = new Set<(e: PresenceEvent) => void>();
  #dms = new Set<(data: unknown, from: PeerInfo) => void>();
  #groups = new Set<string>();
  #waiters: Array<{ resolve(): void; reject(e: unknown): void }> = [];
  #credentials: unknown;
  #session: AuthResult | undefined;
  #ready = false;
  #hadSession = false;
  #stopError: unknown;

  /** Prefer {@link connect}, which waits for the first `hello`. The socket opens right away. */
  constructor(url: UrlSource, options: ClientOptions = {}) {
    this.#opts = options;
    this.#credentials = options.auth;
    this.#box = new Outbox(options, (frame) => this.#link.send(frame));
    this.#link = new Link(typeof url === "function" ? url : new URL(String(url)).href, options, {
      hello: (h, fresh) => this.#hello(h, fresh),
      frame: (f) => this.#frame(f),
      down: (code, reason, retry, error) => this.#down(code, reason, retry, error),
      emit: (name, detail) => this.#emit(name, detail),
    });
  }

  /** The current session id (`""` before the first `hello`). */
  get sid(): string {
    return this.#link.sid;
  }

  /** Whether a session is open and ready (hello received, authenticated when asked). */
  get connected(): boolean {
    return this.#ready;
  }

  /** The server's answer to the last successful authentication, if any. */
  get session(): AuthResult | undefined {
    return this.#session;
  }

  /** Frames waiting in the offline queue. */
  get queued(): number {
    return this.#box.size;
  }

  /** Resolves when a session is ready (at once if it is); rejects if the client stops first. */
  ready(): Promise<void> {
    if (this.#ready) return Promise.resolve();
    if (this.#link.stopped) return Promise.reject(this.#stopError ?? new ClosedError());
    return new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** Send an event. Queued while disconnected; throws `ClosedError` once the client has stopped. */
  emit<E extends EventName<A>>(event: E, ...args: EmitArgs<EventData<A, E>>): void {
    if (this.#link.stopped) throw new ClosedError("the client is closed");
    this.#box.send(encodeFrame("evt", { e: event }, args[0]), this.#ready);
  }

  /**
   * Send an event only if a session is ready right now, else nothing (not queued, not re-sent):
   * for frequent updates where a late one is worthless (positions, cursors), as Socket.IO's
   * `socket.volatile.emit`. Returns whether it was written to the socket.
   */
  emitVolatile<E extends EventName<A>>(event: E, ...args: EmitArgs<EventData<A, E>>): boolean {
    return this.#ready && this.#link.send(encodeFrame("evt", { e: event }, args[0]));
  }

  /** Listen to an event the server sends. */
  on<E extends EventName<A>>(event: E, fn: (data: EventData<A, E>) => void): this {
    this.#events.on(event, fn as (data: never) => void);
    return this;
  }

  /** Listen to the next one of an event the server sends, once. */
  once<E extends EventName<A>>(event: E, fn: (data: EventData<A, E>) => void): this {
    this.#events.on(event, fn as (data: never) => void, true);
    return this;
  }

  /** Stop listening: `fn` for `event`; without `fn`, every listener of `event`; without arguments, every event listener (`onAny` ones too). */
  off<E extends EventName<A>>(event?: E, fn?: (data: EventData<A, E>) => void): this {
    this.#events.off(event, fn as ((data: never) => void) | undefined);
    return this;
  }

  /** Listen to every event the server sends, after the listeners of its name (Socket.IO's `onAny`): logging, generic routing. Returns a remover. */
  onAny(fn: (event: string, data: unknown) => void): () => void {
    return this.#events.onAny(fn);
  }

  /**
   * Ask the server and await its answer. Rejects with `TimeoutError` (after `timeout`, default
   * the client's `requestTimeout`, 10 000 ms), `RemoteError` (the server's `err`, its `code` and
   * `data`), `QueueFullError` or `ClosedError`. Never hangs: the timeout runs across reconnects.
   */
  request<M extends MethodName<A>>(method: M, ...args: RequestArgs<RequestInput<A, M>>): Promise<RequestOutput<A, M>> {
    return this.#call("req", { m: method }, args[0], args[1]) as Promise<RequestOutput<A, M>>;
  }

  /** Answer the server's requests for `method`. Throw a `WirehubError` to answer with its code. */
  handle<M extends ServerMethodName<A>>(method: M, fn: (input: ServerInput<A, M>) => ServerOutput<A, M> | Promise<ServerOutput<A, M>>): this {
    this.#handlers.set(method, fn as (input: never) => unknown);
    return this;
  }

  /** Join a group (the server's `authorize` hook decides). Re-joined after a new session. */
  async join(group: string, options?: RequestOptions): Promise<void> {
    await this.#call("join", { g: group }, undefined, options);
    this.#groups.add(group);
  }

  /** Leave a group. */
  async leave(group: string, options?: RequestOptions): Promise<void> {
    this.#groups.delete(group);
    await this.#call("leave", { g: group }, undefined, options);
  }

  /** Publish an event to a group's other members, or to everyone with `group` `null`. */
  async publish<E extends EventName<A>>(group: string | null, event: E, ...args: EmitArgs<EventData<A, E>>): Promise<void> {
    await this.#call("pub", { g: group ?? undefined, e: event }, args[0]);
  }

  /** Send a private message to an alias or a session id; resolves with the number of recipients. */
  async dm(to: string, data: unknown, options?: RequestOptions): Promise<number> {
    const r = (await this.#call("dm", { to }, data, options)) as { n?: number } | undefined;
    return typeof r?.n === "number" ? r.n : 0;
  }

  /** Listen to private messages. Returns a function that removes the listener. */
  onDm(fn: (data: unknown, from: PeerInfo) => void): () => void {
    this.#dms.add(fn);
    return () => void this.#dms.delete(fn);
  }

  /** Who is present in a group (or the whole hub without one). */
  who(group?: string, options?: RequestOptions): Promise<PeerInfo[]> {
    return this.#call("who", { g: group }, undefined, options) as Promise<PeerInfo[]>;
  }

  /** Listen to presence changes. Returns a function that removes the listener. */
  onPresence(fn: (event: PresenceEvent) => void): () => void {
    this.#presence.add(fn);
    return () => void this.#presence.delete(fn);
  }

  /** Change this session's availability and/or alias (`null` removes it). */
  set(changes: { readonly available?: boolean; readonly alias?: string | null }, options?: RequestOptions): Promise<{ alias?: string; available: boolean }> {
    return this.#call("set", { available: changes.available, alias: changes.alias }, undefined, options) as Promise<{ alias?: string; available: boolean }>;
  }

  /**
   * Authenticate now with new credentials (which then replace the `auth` option for later
   * sessions). Rejects with `ClosedError` while disconnected, `RemoteError` (`auth_failed`).
   */
  async authenticate(credentials: unknown): Promise<AuthResult> {
    const r = await this.#auth(credentials);
    this.#credentials = credentials;
    return r;
  }

  /** Measure the round trip to the server in ms with an app-level ping. Default timeout: the heartbeat's (10 000). */
  ping(timeout?: number): Promise<number> {
    const hb = this.#opts.heartbeat;
    return this.#link.ping(timeout ?? (hb === false ? undefined : hb?.timeout) ?? 10_000);
  }

  /** Listen to a lifecycle event (`open`, `close`, `reconnecting`, `resumed`, `resume_failed`, `error`). Returns a remover. */
  onLifecycle<K extends ClientEventName>(name: K, fn: (event: ClientEvents[K]) => void): () => void {
    let set = this.#life.get(name);
    if (!set) this.#life.set(name, (set = new Set()));
    set.add(fn as Fn);
    return () => void set.delete(fn as Fn);
  }

  /**
   * Drop the current socket, if any, and connect again at once, in any state: connected,
   * waiting between attempts, given up, or closed. The old socket is closed with 4000, so the
   * server can hand the session over (resume). Resolves when the next session is ready.
   */
  reconnect(): Promise<void> {
    this.#ready = false;
    this.#stopError = undefined;
    const next = new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    this.#link.restart();
    return next;
  }

  /**
   * Close for good (code 1000 by default): no automatic reconnect after this. Queued and pending
   * calls reject with `ClosedError`. Resolves once the socket has closed.
   */
  close(code: number = 1000, reason: string = ""): Promise<void> {
    const wasStopped = this.#link.stopped;
    const done = this.#link.stop(code, reason);
    if (!wasStopped) {
      this.#shutdown(new ClosedError("client closed"));
      this.#emit("close", { code, reason, reconnect: false });
    }
    return done;
  }

  // ---- internals -------------------------------------------------------------------------

  #call(t: string, fields: Record<string, unknown>, data: unknown, options?: RequestOptions): Promise<unknown> {
    if (this.#link.stopped) return Promise.reject(new ClosedError("the client is closed"));
    const what = t === "req" ? `request "${String(fields.m)}"` : `"${t}"`;
    return this.#box.call((id) => encodeFrame(t, { id, ...fields }, data), what, options?.timeout, this.#ready);
  }

  async #auth(credentials: unknown): Promise<AuthResult> {
    const d = typeof credentials === "function" ? await (credentials as () => unknown)() : credentials;
    const r = await this.#box.call((id) => encodeFrame("auth", { id, d }), "auth", undefined, false, true);
    this.#session = (r ?? {}) as AuthResult;
    return this.#session;
  }

  #hello(h: Hello, fresh: boolean): void {
    this.#ready = false;
    if (h.auth !== true || this.#credentials === undefined) return this.#onReady(fresh);
    const sid = this.#link.sid;
    this.#auth(this.#credentials).then(
      () => this.#link.sid === sid && this.#onReady(fresh),
      (error: unknown) => {
        // A socket lost during auth is retried with the next hello; a refusal is final.
        if (error instanceof ClosedError || this.#link.sid !== sid) return;
        this.#link.stop(1000, "authentication failed");
        this.#shutdown(error);
        this.#emit("close", { code: 1000, reason: "authentication failed", reconnect: false, error });
      },
    );
  }

  #onReady(fresh: boolean): void {
    this.#ready = true;
    this.#link.settled();
    if (fresh && this.#hadSession && this.#opts.rejoin !== false) {
      for (const g of this.#groups) this.#link.send(encodeFrame("join", { g }));
    }
    this.#hadSession = true;
    this.#box.flush();
    this.#emit("open", { sid: this.#link.sid, resumed: !fresh });
    for (const w of this.#waiters.splice(0)) w.resolve();
  }

  #down(code: number, reason: string, retry: boolean, error?: unknown): void {
    this.#ready = false;
    if (retry) this.#box.dropped(code);
    else this.#shutdown(error ?? new ClosedError(`${this.#hadSession ? "connection closed" : "could not connect"} (${code}${reason ? `: ${reason}` : ""})`));
  }

  /** The client stopped: nothing may hang. */
  #shutdown(error: unknown): void {
    this.#ready = false;
    this.#stopError = error;
    this.#box.shutdown(error);
    for (const w of this.#waiters.splice(0)) w.reject(error);
  }

  #frame(f: Frame): void {
    switch (f.t) {
      case "evt":
        this.#events.dispatch(String(f.e), payload(f), (call) => this.#guard(call));
        return;
      case "res":
        return this.#box.settle(f.id as number, true, payload(f));
      case "err": {
        const error = new RemoteError(String(f.c), String(f.m), { data: f.d });
        if (this.#box.has(f.id)) this.#box.settle(f.id as number, false, error);
        else this.#emit("error", { error });
        return;
      }
      case "req":
        return this.#answer(f);
      case "presence": {
        const event: PresenceEvent = { op: f.op as PresenceEvent["op"], group: typeof f.g === "string" ? f.g : undefined, who: f.who as PeerInfo };
        for (const fn of this.#presence) this.#guard(() => fn(event));
        return;
      }
      case "dm":
        for (const fn of this.#dms) this.#guard(() => fn(payload(f), f.from as PeerInfo));
        return;
    }
  }

  #answer(f: Frame): void {
    const { id, m } = f;
    if ((typeof id !== "number" && typeof id !== "string") || typeof m !== "string") return;
    // An answer only makes sense to the session that asked; a new session may reuse the id.
    const sid = this.#link.sid;
    const reply = (frame: string): void => void (this.#link.sid === sid && this.#link.send(frame));
    const fail = (error: unknown): void => {
      if (!(error instanceof WirehubError)) this.#emit("error", { error });
      const w = toWireError(error);
      reply(encodeFrame("err", { id, c: w.code, m: w.message, d: w.data }));
    };
    const fn = this.#handlers.get(m);
    if (!fn) return reply(encodeFrame("err", { id, c: "not_found", m: `no handler for "${m}"` }));
    try {
      Promise.resolve(fn(payload(f) as never)).then((v) => reply(encodeResult(id, v)), fail);
    } catch (error) {
      fail(error);
    }
  }

  #guard(fn: () => unknown): void {
    try {
      fn();
    } catch (error) {
      this.#emit("error", { error });
    }
  }

  #emit<K extends ClientEventName>(name: K, detail: ClientEvents[K]): void {
    for (const fn of this.#life.get(name) ?? []) {
      try {
        (fn as (e: ClientEvents[K]) => void)(detail);
      } catch {
        // a lifecycle listener's own failure has nowhere better to go
      }
    }
  }
}

/**
 * Connect to a wirehub server. Resolves once the first `hello` has arrived (and, when the
 * server asks, authentication succeeded); rejects with `ClosedError` if that first connection
 * fails, `RemoteError` (`auth_failed`) if the credentials are refused. After that the client
 * reconnects on its own. Rejects with `TypeError` for an invalid URL. `url` may be a function
 * that names the server before each attempt ({@link UrlSource}).
 */
export function connect<A = unknown>(url: UrlSource, options: ClientOptions = {}): Promise<Client<A>> {
  let client: Client<A>;
  try {
    client = new Client<A>(url, options);
  } catch (error) {
    return Promise.reject(error);
  }
  return client.ready().then(() => client);
}
