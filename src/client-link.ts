/**
 * The transport half of `wirehub/client`: one WebSocket at a time, the reconnect loop with
 * backoff, the heartbeat, online/offline awareness, and the resume bookkeeping (token, last
 * sequence number, acks, duplicate drop). It knows frames only as far as PROTOCOL.md §2, §7 and
 * §8 need; everything else is handed to the client.
 * @module
 */
import { backoffDelay, shouldReconnect } from "./client-backoff.ts";
import { resolveAttempt, type UrlFunction } from "./client-attempt.ts";
import type { ClientEvents, ClientOptions, QueryParams } from "./client-types.ts";
import { ClosedError, TimeoutError, WirehubError } from "./errors.ts";
import { SUBPROTOCOL } from "./protocol.ts";

/** A decoded server frame. */
export type Frame = Record<string, unknown> & { t: string };

/** The `hello` frame (PROTOCOL.md §2). */
export interface Hello {
  readonly sid: string;
  readonly auth?: boolean;
  readonly rt?: string;
  readonly resumed?: boolean;
  readonly hb?: { readonly i?: number; readonly to?: number };
}

/** What the link tells its client. */
export interface LinkHooks {
  /** A `hello` arrived; `fresh` is true for a new session (not resumed). */
  hello(hello: Hello, fresh: boolean): void;
  /** Any other frame (ping, pong and duplicates already handled). */
  frame(frame: Frame): void;
  /** The socket is gone. `retry`: a reconnect is planned. */
  down(code: number, reason: string, retry: boolean, error?: unknown): void;
  /** Emit a lifecycle event. */
  emit<K extends keyof ClientEvents>(name: K, detail: ClientEvents[K]): void;
}

const ACK_EVERY = 100;
const ACK_INTERVAL = 1000;
/** The close code for connections the client gives up on locally (liveness, as PROTOCOL.md §10). */
const LOCAL_DEAD = 4000;

type State = "connecting" | "open" | "waiting" | "stopped";

/** One logical connection across many sockets. @internal */
export class Link {
  sid = "";
  /** A checked URL, or the function that names one per attempt. */
  #url: string | UrlFunction;
  #opts: ClientOptions;
  #hooks: LinkHooks;
  #Ctor: new (url: string, protocols?: string | string[]) => WebSocket;
  #ws: WebSocket | undefined;
  #state: State = "connecting";
  #everOpened = false;
  #attempt = 0;
  /** When the current session became ready, or -1 while none is. */
  #readyAt = -1;
  /** Counts every call of {@link #open}: a `query` answer for an older one is ignored. */
  #opens = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #helloTimer: ReturnType<typeof setTimeout> | undefined;
  #beatTimer: ReturnType<typeof setInterval> | undefined;
  #deadTimer: ReturnType<typeof setTimeout> | undefined;
  #ackTimer: ReturnType<typeof setTimeout> | undefined;
  #rt: string | undefined;
  #seq = 0;
  #unacked = 0;
  #pings = new Map<number, Array<(rtt: number) => void>>();
  #online = (): void => this.#onOnline();
  #offline = (): void => this.#beat();
  #watching = false;

  constructor(url: string | UrlFunction, opts: ClientOptions, hooks: LinkHooks) {
    this.#url = url;
    this.#opts = opts;
    this.#hooks = hooks;
    const Ctor = opts.WebSocket ?? (globalThis as { WebSocket?: unknown }).WebSocket;
    if (typeof Ctor !== "function") {
      throw new WirehubError("unavailable", "no global WebSocket on this host: pass the `WebSocket` option (on Node 20, the `ws` package's)");
    }
    this.#Ctor = Ctor as new (url: string, protocols?: string | string[]) => WebSocket;
    this.#watchNetwork(true);
    this.#open();
  }

  /** Whether a socket is open and its `hello` has arrived. */
  get open(): boolean {
    return this.#state === "open";
  }

  /** Whether the link has stopped for good (until {@link restart}). */
  get stopped(): boolean {
    return this.#state === "stopped";
  }

  /** Write a frame if a session is open; `false` otherwise. */
  send(frame: string): boolean {
    const ws = this.#ws;
    if (this.#state !== "open" || !ws || ws.readyState !== 1) return false;
    ws.send(frame);
    return true;
  }

  /** A session is fully ready (authenticated): once it has stayed up `minUptime`, reconnect attempts start again from 1. */
  settled(): void {
    this.#readyAt = Date.now();
  }

  /** Measure a round trip with an app-level ping. */
  ping(timeout: number): Promise<number> {
    const ts = Date.now();
    if (!this.send(`{"t":"ping","ts":${ts}}`)) return Promise.reject(new ClosedError("not connected"));
    if (this.#opts.heartbeat !== false) this.#armDead();
    return new Promise<number>((resolve, reject) => {
      const list = this.#pings.get(ts) ?? [];
      const timer = setTimeout(() => {
        list.splice(list.indexOf(done), 1);
        reject(new TimeoutError(timeout, "ping"));
      }, timeout);
      const done = (rtt: number): void => {
        clearTimeout(timer);
        if (rtt < 0) reject(new ClosedError());
        else resolve(rtt);
      };
      list.push(done);
      this.#pings.set(ts, list);
    });
  }

  /** Drop the current socket (if any) and connect again now, whatever the state. */
  restart(): void {
    clearTimeout(this.#timer);
    this.#watchNetwork(true);
    if (this.#ws) {
      // 4000, not 1000: a clean close would end the session on the server; this one may be resumed.
      this.#detach(LOCAL_DEAD, "reconnect");
      this.#hooks.down(LOCAL_DEAD, "reconnect", true);
      this.#hooks.emit("close", { code: LOCAL_DEAD, reason: "reconnect", reconnect: true });
    }
    this.#attempt = 0;
    this.#readyAt = -1;
    this.#open();
  }

  /** Stop for good: close the socket, cancel every timer, forget the network listeners. */
  stop(code: number, reason: string): Promise<void> {
    clearTimeout(this.#timer);
    clearTimeout(this.#helloTimer); // set while a `query` function is awaited, before any socket
    this.#watchNetwork(false);
    const ws = this.#ws;
    this.#state = "stopped";
    if (!ws) return Promise.resolve();
    const closed = new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 2000);
      ws.onclose = () => (clearTimeout(t), resolve());
    });
    this.#detach(code, reason);
    return closed;
  }

  #open(): void {
    this.#state = "connecting";
    const current = ++this.#opens;
    const ms = this.#opts.connectTimeout ?? 10_000;
    clearTimeout(this.#helloTimer);
    this.#helloTimer = setTimeout(() => {
      if (current !== this.#opens || this.#state !== "connecting") return;
      this.#detach(LOCAL_DEAD, "no hello");
      this.#lost(LOCAL_DEAD, `no hello within ${ms} ms`);
    }, ms);
    // Only the latest attempt goes on, and only while it is still connecting (not stopped, not restarted).
    const still = (): boolean => current === this.#opens && this.#state === "connecting";
    resolveAttempt(this.#url, this.#opts.query, still, (t, p) => this.#dial(t, p), (reason, error) => this.#attemptFailed(reason, error));
  }

  /** A URL or `query` function failed this attempt: it counts as a failed connection. */
  #attemptFailed(reason: string, error: unknown): void {
    clearTimeout(this.#helloTimer);
    this.#lost(1006, reason, error);
  }

  /** Open a socket to `target` with `params`, the resume parameters and the subprotocols. */
  #dial(target: string | URL, params: QueryParams | undefined): void {
    let url: URL;
    try {
      url = new URL(String(target));
    } catch (error) {
      return this.#attemptFailed("the url function gave an invalid URL", error);
    }
    if (params) {
      for (const [name, value] of Object.entries(params)) if (value !== undefined && value !== null) url.searchParams.set(name, String(value));
    }
    if (this.#opts.resume !== false) {
      // Opt in to acknowledged delivery (PROTOCOL.md §8): only then does the server keep a replay buffer.
      url.searchParams.set("wh_ack", "1");
      if (this.#rt !== undefined) {
        url.searchParams.set("wh_resume", this.#rt);
        url.searchParams.set("wh_seq", String(this.#seq));
      }
    }
    let ws: WebSocket;
    try {
      ws = new this.#Ctor(url.href, [SUBPROTOCOL, ...(this.#opts.protocols ?? []).filter((p) => p !== SUBPROTOCOL)]);
    } catch (error) {
      this.#lost(1006, "could not open a socket", error);
      return;
    }
    this.#ws = ws;
    ws.binaryType = "arraybuffer";
    ws.onopen = () => {
      if (ws.protocol !== SUBPROTOCOL) {
        this.#detach(1000, "");
        this.#stopWith(1002, "the server does not speak wirehub.v1", new WirehubError("bad_frame", `the server chose subprotocol "${ws.protocol}", not ${SUBPROTOCOL}`));
      }
    };
    ws.onmessage = (e: MessageEvent) => ws === this.#ws && this.#message(e.data);
    ws.onclose = (e: CloseEvent) => ws === this.#ws && this.#lost(e.code, e.reason);
    // Errors are always followed by a close event; a listener must exist (the `ws` package throws otherwise).
    ws.onerror = () => {};
  }

  #message(data: unknown): void {
    clearTimeout(this.#deadTimer); // any traffic proves the connection alive
    this.#deadTimer = undefined;
    if (typeof data !== "string") return; // binary frames are not part of wirehub.v1
    let f: Frame;
    try {
      f = JSON.parse(data) as Frame;
    } catch {
      return;
    }
    if (typeof f !== "object" || f === null || typeof f.t !== "string") return;
    switch (f.t) {
      case "hello":
        return this.#hello(f as unknown as Hello);
      case "ping":
        this.send(typeof f.ts === "number" ? `{"t":"pong","ts":${f.ts}}` : '{"t":"pong"}');
        return;
      case "pong":
        if (typeof f.ts === "number") {
          const list = this.#pings.get(f.ts);
          this.#pings.delete(f.ts);
          for (const done of list ?? []) done(Math.max(0, Date.now() - f.ts));
        }
        return;
      case "bye":
        return;
    }
    if (typeof f.s === "number") {
      if (f.s <= this.#seq) return; // a duplicate: already delivered (defence in depth, §8)
      this.#seq = f.s;
      if (++this.#unacked >= ACK_EVERY) this.#ack();
      else this.#ackTimer ??= setTimeout(() => this.#ack(), ACK_INTERVAL);
    }
    this.#hooks.frame(f);
  }

  #hello(h: Hello): void {
    clearTimeout(this.#helloTimer);
    const previous = this.sid;
    const fresh = h.resumed !== true;
    if (fresh) {
      this.#seq = 0;
      this.#unacked = 0;
      clearTimeout(this.#ackTimer);
      this.#ackTimer = undefined;
    }
    this.#rt = typeof h.rt === "string" ? h.rt : undefined;
    this.sid = typeof h.sid === "string" ? h.sid : "";
    this.#state = "open";
    this.#everOpened = true;
    this.#startBeat(h.hb);
    if (h.resumed === true) this.#hooks.emit("resumed", { sid: this.sid });
    else if (h.resumed === false) this.#hooks.emit("resume_failed", { sid: this.sid, previous });
    this.#hooks.hello(h, fresh);
  }

  #ack(): void {
    clearTimeout(this.#ackTimer);
    this.#ackTimer = undefined;
    this.#unacked = 0;
    this.send(`{"t":"ack","s":${this.#seq}}`);
  }

  #startBeat(hb: Hello["hb"]): void {
    clearInterval(this.#beatTimer);
    const opts = this.#opts.heartbeat;
    if (opts === false) return;
    let every = opts?.interval ?? 25_000;
    if (typeof hb?.to === "number" && hb.to > 0) every = Math.min(every, hb.to / 2);
    this.#beatTimer = setInterval(() => this.#beat(), every);
  }

  #beat(): void {
    // The bare frame, no `ts`: any answer re-arms the dead timer, and a Durable Object's runtime
    // answers exactly this text itself, without waking the object (PROTOCOL.md §7).
    if (this.send('{"t":"ping"}')) this.#armDead();
  }

  #armDead(): void {
    const opts = this.#opts.heartbeat;
    const ms = (opts === false ? undefined : opts?.timeout) ?? 10_000;
    this.#deadTimer ??= setTimeout(() => {
      this.#deadTimer = undefined;
      if (!this.#ws) return;
      this.#detach(LOCAL_DEAD, "heartbeat timeout");
      this.#lost(LOCAL_DEAD, `nothing received within ${ms} ms of a ping`);
    }, ms);
  }

  /** Let go of the current socket: no more events from it, and close it without waiting. */
  #detach(code: number, reason: string): void {
    const ws = this.#ws;
    this.#ws = undefined;
    this.#quiet();
    if (!ws) return;
    ws.onmessage = null;
    if (this.#state !== "stopped") ws.onclose = null;
    try {
      ws.close(code, reason);
    } catch {
      // already closed, or a code the host refuses: the socket is dropped either way
    }
  }

  /** Stop every per-socket timer and fail pending pings. */
  #quiet(): void {
    clearTimeout(this.#helloTimer);
    clearInterval(this.#beatTimer);
    clearTimeout(this.#deadTimer);
    this.#deadTimer = undefined;
    clearTimeout(this.#ackTimer);
    this.#ackTimer = undefined;
    for (const list of this.#pings.values()) for (const done of list) done(-1);
    this.#pings.clear();
  }

  /** The socket is gone (closed by either side, or detached): reconnect or stop. */
  #lost(code: number, reason: string, error?: unknown): void {
    this.#ws = undefined;
    this.#quiet();
    if (this.#state === "stopped") return;
    const r = this.#opts.reconnect;
    if (this.#readyAt >= 0 && Date.now() - this.#readyAt >= ((r || undefined)?.minUptime ?? 5000)) this.#attempt = 0;
    this.#readyAt = -1;
    const wanted = r !== false && this.#everOpened && (r?.shouldReconnect ?? shouldReconnect)(code, reason);
    if (!wanted || this.#attempt >= (r?.maxRetries ?? Infinity)) {
      this.#stopWith(code, reason, error);
      return;
    }
    this.#state = "waiting";
    this.#hooks.down(code, reason, true, error);
    this.#hooks.emit("close", { code, reason, reconnect: true });
    this.#schedule();
  }

  #stopWith(code: number, reason: string, error?: unknown): void {
    this.#state = "stopped";
    clearTimeout(this.#timer);
    this.#watchNetwork(false);
    this.#hooks.down(code, reason, false, error);
    this.#hooks.emit("close", error === undefined ? { code, reason, reconnect: false } : { code, reason, reconnect: false, error });
  }

  #schedule(): void {
    const r = this.#opts.reconnect || {};
    const attempt = ++this.#attempt;
    const delay = backoffDelay(attempt, r);
    this.#hooks.emit("reconnecting", { attempt, delay });
    clearTimeout(this.#timer);
    // While the host says it is offline, wait for its `online` event instead of burning attempts.
    if (offline() && this.#watching) return;
    this.#timer = setTimeout(() => this.#state === "waiting" && this.#open(), delay);
  }

  #onOnline(): void {
    if (this.#state !== "waiting") return;
    clearTimeout(this.#timer);
    this.#open();
  }

  #watchNetwork(on: boolean): void {
    const g = globalThis as { addEventListener?: unknown; removeEventListener?: unknown };
    if (on === this.#watching || typeof g.addEventListener !== "function" || typeof g.removeEventListener !== "function" || offline() === undefined) return;
    this.#watching = on;
    const method = (on ? g.addEventListener : g.removeEventListener) as (type: string, fn: () => void) => void;
    method.call(globalThis, "online", this.#online);
    method.call(globalThis, "offline", this.#offline);
  }
}

/** `true`/`false` where the host reports `navigator.onLine`, `undefined` where it does not. */
function offline(): boolean | undefined {
  const nav = (globalThis as { navigator?: { onLine?: unknown } }).navigator;
  return typeof nav?.onLine === "boolean" ? !nav.onLine : undefined;
}
