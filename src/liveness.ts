/**
 * Liveness: the three ping policies of the seeds (auto, send, expect) and an idle timeout,
 * enforced by one sweep per hub rather than a timer per session.
 * @module
 */
import type { Hub } from "./hub.ts";
import type { Session } from "./session.ts";

/** Close code for every liveness timeout (documented in PROTOCOL.md; clients reconnect). */
export const LIVENESS_CLOSE = 4000;

/**
 * The ping policy.
 * - `auto`: answer the client's pings (protocol and app-level), send none.
 * - `send`: ping every session every `interval` ms; one that shows no pong or other traffic for
 *   `interval + timeout` ms is closed with 4000.
 * - `expect`: the client must ping; a session whose last ping (or open) is older than `timeout`
 *   ms is closed with 4000.
 */
export type PingOptions =
  | { readonly policy: "auto" }
  | { readonly policy: "send"; readonly interval?: number; readonly timeout?: number }
  | { readonly policy: "expect"; readonly timeout?: number };

/** A text ping/pong pair for raw-mode clients (`{ ping: "ping", pong: "pong" }`). */
export interface RawPing {
  /** The text a raw client sends as a ping, or the server sends under `send`. */
  readonly ping: string;
  /** The answer to `ping`. */
  readonly pong: string;
}

/** Resolved liveness settings. */
interface Settings {
  policy: "auto" | "send" | "expect";
  interval: number;
  timeout: number;
  idle: number;
}

function settings(o: PingOptions | undefined, idle: number | undefined): Settings {
  const p = o ?? { policy: "send" };
  const interval = p.policy === "send" ? p.interval ?? 30_000 : 0;
  const timeout = p.policy === "auto" ? 0 : p.timeout ?? (p.policy === "send" ? 10_000 : 60_000);
  return { policy: p.policy, interval, timeout, idle: idle ?? 0 };
}

/** One hub's liveness enforcement. */
export class Liveness<D> {
  readonly #hub: Hub<D, any>;
  readonly #s: Settings;
  #timer: ReturnType<typeof setInterval> | undefined;
  #lastRound = 0;

  /** The liveness of `hub`'s sessions, by its `ping` and `idleTimeout` options. The hub makes its own. */
  constructor(hub: Hub<D, any>) {
    this.#hub = hub;
    this.#s = settings(hub.options.ping, hub.options.idleTimeout);
  }

  /** The policy in force. */
  get policy(): "auto" | "send" | "expect" {
    return this.#s.policy;
  }

  /** What `hello` tells clients: `{ i: interval, to: timeout }`, or undefined under `auto` without idle timeout. */
  get advertised(): { i: number; to: number } | undefined {
    const s = this.#s;
    if (s.policy === "auto" && !s.idle) return undefined;
    return { i: s.interval, to: s.policy === "send" ? s.interval + s.timeout : s.timeout || s.idle };
  }

  /** Milliseconds between sweeps; 0 when nothing is enforced. */
  get tick(): number {
    const s = this.#s;
    const spans = [s.interval, s.timeout, s.idle].filter((x) => x > 0);
    return spans.length === 0 ? 0 : Math.max(5, Math.min(...spans) / 4);
  }

  /**
   * Start the sweep timer (hosts that can keep a timer). Hibernating hosts call {@link sweep}
   * from an alarm instead, every {@link tick} ms.
   */
  start(): void {
    if (this.#timer !== undefined || this.tick === 0) return;
    this.#timer = setInterval(() => this.sweep(Date.now()), this.tick);
    // don't keep a process alive just to ping (duck-typed: Node, Bun and Deno timers have unref)
    (this.#timer as { unref?: () => void }).unref?.();
  }

  /** Stop the sweep timer. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** A ping arrived from the client (any level). */
  pinged(s: Session<D>): void {
    s.lastPing = s.lastSeen = Date.now();
    const hook = this.#hub.options.pinged;
    if (hook) this.#hub.guard(s, () => hook(s));
  }

  /** A pong arrived for one of our pings. */
  ponged(s: Session<D>, now: number = Date.now()): void {
    s.lastSeen = now;
    if (s.pingSentAt > 0) {
      s.rtt = now - s.pingSentAt;
      s.pingSentAt = 0;
    }
  }

  /** Check every session's deadlines and, under `send`, ping when a round is due. */
  sweep(now: number): void {
    const s = this.#s;
    const round = s.policy === "send" && now - this.#lastRound >= s.interval;
    if (round) this.#lastRound = now;
    const driver = this.#hub.driver;
    for (const session of this.#hub.sessions.values()) {
      if (!session.open) continue;
      const hostPing = driver?.lastPing?.(session.socket);
      if (hostPing !== undefined && hostPing > session.lastPing) session.lastPing = session.lastSeen = Math.max(session.lastSeen, hostPing);
      if (s.idle > 0 && now - session.lastSeen > s.idle) {
        session.close(LIVENESS_CLOSE, "idle timeout");
      } else if (s.policy === "send" && this.#checkable(session) && now - session.lastSeen > s.interval + s.timeout) {
        session.close(LIVENESS_CLOSE, "ping timeout");
      } else if (s.policy === "expect" && now - session.lastPing > s.timeout) {
        session.close(LIVENESS_CLOSE, "ping timeout");
      } else if (round) {
        this.#ping(session, now);
      }
    }
  }

  /** Can we make this session answer? Raw sessions on hosts without protocol pings need a text pair. */
  #checkable(session: Session<D>): boolean {
    return session.mode === "envelope" || !!this.#hub.driver?.ping || !!this.#hub.options.rawPing;
  }

  #ping(session: Session<D>, now: number): void {
    const d = this.#hub.driver;
    if (session.pingSentAt === 0) session.pingSentAt = now;
    if (d?.ping) {
      try {
        d.ping(session.socket);
      } catch (error) {
        this.#hub.report(error, session);
      }
    } else if (session.mode === "envelope") session.sendRaw(`{"t":"ping","ts":${now}}`);
    else if (this.#hub.options.rawPing) session.sendRaw(this.#hub.options.rawPing.ping);
  }
}
