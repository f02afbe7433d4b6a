/**
 * The `idleTimeout` the Deno adapter (`./deno.ts`) gives each socket. Deno has no ping API, so
 * its own idle pinging is the only liveness check for a raw session without `rawPing`; every
 * other session is checked by the hub's `send` or `expect` policy already, and Deno's idle timer
 * (reset on every frame) would only cost throughput there.
 * @module
 */
import type { HubOptions } from "../src/mod.ts";

/** Deno's `idleTimeout` when none is given (seconds). */
export const DENO_IDLE_DEFAULT = 30;

/**
 * The `idleTimeout` for `Deno.upgradeWebSocket`: the adapter option when set; otherwise
 * `undefined` (Deno's default, 30 s) for sessions the hub cannot check itself (raw without
 * `rawPing`, or any session under the `auto` policy), and `0` (off) for the others.
 */
export function denoIdleTimeout(options: HubOptions<any>, mode: "raw" | "envelope", explicit: number | undefined): number | undefined {
  if (explicit !== undefined) return explicit;
  const hubChecks = (options.ping?.policy ?? "send") !== "auto" && (mode === "envelope" || options.rawPing !== undefined);
  return hubChecks ? 0 : undefined;
}

/** Deno's idle pinging for one handler's open sockets (see {@link idlePinger}). */
export interface IdlePinger {
  /**
   * Watch an open socket: Deno pings it after about `seconds / 2` without a frame from the peer
   * (between half and three quarters of `seconds`), and closes it with 1001 when neither a frame
   * nor a pong comes in the `seconds / 2` after that ping.
   */
  watch(ws: WebSocket, seconds: number): void;
  /** Stop watching a socket that closed. */
  forget(ws: WebSocket): void;
}

/** Deno's own per-frame timer method and the socket field it reads, where this Deno has them. */
let internals: { method: symbol; original: () => void } | null | undefined; // null: this Deno has none

/**
 * Deno's idle pinging, armed by a sweep rather than on every frame, where this Deno allows it.
 *
 * Deno's timer is its socket method `[[serverHandleIdleTimeout]]`: it reads the duration from the
 * socket's `[[idleTimeout]]` field and sets a timer that pings after half of it and closes the
 * socket with 1001 half of it after the ping. Deno's read loop calls it on every frame and pong
 * from the peer, to start over, and cancels the timer when the close handshake ends. Starting
 * over is two timer calls into the runtime per frame: about 5 % of a raw echo round trip on Deno
 * (bench/notes.md, "Deno's idle timer, swept").
 *
 * So the adapter upgrades with `idleTimeout: 0`, which also keeps Deno from retaining the served
 * `Request` for the socket's life (a close listener it adds otherwise; same notes, "Deno's idle
 * timer without the retained `Request`"), and then, per watched socket, gives the method an own
 * replacement that only marks the socket as heard from. One sweep every `seconds / 4` per
 * handler (and duration) arms Deno's method for a socket that was quiet since the last sweep,
 * starts it over for one that was heard from while armed, and notes when its ping is due; a
 * frame or pong after that ping starts it over at once, as Deno does. The same pings and the same
 * close, from Deno's own code, but timed by the sweep: the ping comes after half to three
 * quarters of `seconds` of silence instead of exactly half.
 *
 * Returns `undefined` where this runtime has no such method (another Deno, or not Deno): the
 * adapter then passes `idleTimeout` to `Deno.upgradeWebSocket` as documented. The Deno tests fail
 * if the Deno in use stops having it, so a Deno upgrade cannot silently undo this. One
 * difference remains: a socket that ends through an error rather than a close handshake keeps its
 * pending timer (and itself) until the timer fires and finds the socket closed, at most
 * `seconds / 2` later.
 */
export function idlePinger(): IdlePinger | undefined {
  if (internals === undefined) internals = findInternals() ?? null;
  if (!internals) return undefined;
  const { method, original } = internals;
  const sweeps = new Map<number, Sweep>();
  return {
    watch(ws, seconds) {
      if (ws.readyState !== 1 || !(seconds > 0)) return;
      let sweep = sweeps.get(seconds);
      if (!sweep) sweeps.set(seconds, (sweep = new Sweep(seconds, original, () => sweeps.delete(seconds))));
      const w = ws as Watched;
      w[HEARD] = QUIET;
      w[DUE] = 0;
      w[method] = sweep.heard;
      sweep.sockets.add(w);
      sweep.start();
    },
    forget(ws) {
      for (const sweep of sweeps.values()) if (sweep.sockets.delete(ws as Watched)) return sweep.stopIfIdle();
    },
  };
}

function findInternals(): { method: symbol; original: () => void } | undefined {
  if (typeof WebSocket !== "function") return undefined;
  const proto = WebSocket.prototype as unknown as Record<symbol, unknown>;
  const method = Object.getOwnPropertySymbols(proto).find((s) => s.description === "[[serverHandleIdleTimeout]]");
  const original = method && proto[method];
  return typeof original === "function" ? { method: method!, original: original as () => void } : undefined;
}

/** Whether a watched socket was heard from since the last sweep. */
const HEARD = Symbol("wirehub.heard");
/** When Deno's armed timer pings the socket (ms since the epoch); 0 while it is not armed. */
const DUE = Symbol("wirehub.pingDue");
const QUIET = 0; // nothing since the last sweep
const FRAME = 1; // a frame or pong since the last sweep
const PINGED = 2; // quiet, and Deno's ping is due or sent: the next frame or pong starts over at once
type Watched = WebSocket & { [HEARD]: number; [DUE]: number } & Record<symbol, unknown>;

/** The `[[idleTimeout]]` field: an own field of each server socket, found on the first one. */
let slot: symbol | undefined;

/** The sockets watched with one duration, and the timer that sweeps them. */
class Sweep {
  readonly sockets = new Set<Watched>();
  #timer: ReturnType<typeof setInterval> | undefined;
  /** The replacement of Deno's per-frame method on each watched socket (called with it as `this`). */
  readonly heard: (this: Watched) => void;

  constructor(readonly seconds: number, readonly original: () => void, readonly drop: () => void) {
    this.heard = heardFor(this);
  }

  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.run(Date.now()), (this.seconds * 1000) / 4);
    // Never hold the process open for it: Deno's timers are numbers, unref'd through Deno.
    const deno = (globalThis as { Deno?: { unrefTimer?(id: unknown): void } }).Deno;
    if (typeof this.#timer === "number") deno?.unrefTimer?.(this.#timer);
    else (this.#timer as { unref?(): void }).unref?.();
  }

  stopIfIdle(): void {
    if (this.sockets.size > 0) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.drop();
  }

  /** Arm Deno's timer: the ping after `wait` seconds, the close `seconds / 2` after the ping. */
  arm(w: Watched, wait: number, now: number): void {
    slot ??= Object.getOwnPropertySymbols(w).find((s) => s.description === "[[idleTimeout]]");
    if (!slot || w.readyState !== 1) return;
    // Deno's method waits half the field, then pings and reads the field again for the close.
    w[slot] = 2 * wait;
    this.original.call(w);
    w[slot] = this.seconds;
    w[DUE] = now + wait * 1000;
  }

  run(now: number): void {
    for (const w of this.sockets) {
      // Closing or closed (a dead peer never answers a close, so Deno may never fire `close`).
      if (w.readyState !== 1) {
        this.sockets.delete(w);
        continue;
      }
      const h = w[HEARD];
      if (h === FRAME) {
        w[HEARD] = QUIET;
        if (w[DUE] !== 0) this.arm(w, this.seconds / 2, now); // armed: start over
      } else if (h === QUIET) {
        if (w[DUE] === 0) this.arm(w, this.seconds / 4, now); // quiet for a whole tick: ping soon
        else if (now >= w[DUE]) w[HEARD] = PINGED;
      }
    }
    this.stopIfIdle();
  }
}

/**
 * Deno's read loop calls this on every frame and pong instead of its own method: one read of a
 * field while the socket keeps talking, a write on the first frame after a sweep, and Deno's
 * timer started over only when the ping is due or sent.
 */
function heardFor(sweep: Sweep): (this: Watched) => void {
  return function (this: Watched): void {
    const h = this[HEARD];
    if (h === FRAME) return;
    this[HEARD] = FRAME;
    if (h === PINGED) sweep.arm(this, sweep.seconds / 2, Date.now());
  };
}
