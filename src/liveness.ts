/**
 * Liveness: the three ping policies of the seeds (auto, send, expect) and an idle timeout,
 * enforced by one sweep per hub rather than a timer per session.
 * @module
 */
import { authDeadline } from "./auth.ts";
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
  readonly #tick: number;
  #timer: ReturnType<typeof setInterval> | undefined;
  #lastRound = 0;

  /** The liveness of `hub`'s sessions, by its `ping` and `idleTimeout` options. The hub makes its own. */
  constructor(hub: Hub<D, any>) {
    this.#hub = hub;
    const s = (this.#s = settings(hub.options.ping, hub.options.idleTimeout));
    const spans = [s.interval, s.timeout, s.idle].filter((x) => x > 0);
    this.#tick = spans.length === 0 ? 0 : Math.max(5, Math.min(...spans) / 4);
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
    return this.#tick;
  }

  /**
   * Start the sweep timer (hosts that can keep a timer). Hibernating hosts call {@link sweep}
   * from an alarm instead, at the time it returns.
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
    this.keep(s);
    const hook = this.#hub.options.pinged;
    if (hook) this.#hub.safely(s, () => hook(s));
  }

  /** A pong arrived for one of our pings. */
  ponged(s: Session<D>, now: number = Date.now()): void {
    s.lastSeen = now;
    this.keep(s);
    if (s.pingSentAt > 0) {
      s.rtt = now - s.pingSentAt;
      s.pingSentAt = 0;
    }
  }

  /**
   * The earliest time a {@link sweep} has something to do for `s`: a deadline (liveness, or
   * authentication on hibernating hosts) or, under `send`, the next ping round. `undefined` when
   * nothing is enforced for it. A sweep at or after that time acts; an earlier one is harmless.
   */
  dueFor(s: Session<D>): number | undefined {
    const p = this.#s;
    let due = authDeadline(this.#hub, s);
    const at = (t: number): void => void (due = due === undefined ? t : Math.min(due, t));
    // Deadlines are strict (`now - lastSeen > idle`), hence the + 1.
    if (p.idle > 0) at(s.lastSeen + p.idle + 1);
    if (p.policy === "send" && this.#checkable(s)) {
      at(s.lastSeen + p.interval + p.timeout + 1);
      at(this.#lastRound + p.interval);
    } else if (p.policy === "expect") at(s.lastPing + p.timeout + 1);
    return due;
  }

  /**
   * Check every session's deadlines and, under `send`, ping when a round is due. Returns when
   * the next sweep is due (ms since the epoch), or `undefined` when no open session needs one:
   * a hibernating host sets its alarm to that time.
   */
  sweep(now: number): number | undefined {
    const s = this.#s;
    const round = s.policy === "send" && now - this.#lastRound >= s.interval;
    if (round) this.#lastRound = now;
    const driver = this.#hub.driver;
    let next: number | undefined;
    for (const session of this.#hub.sessions.values()) {
      if (!session.open) continue;
      const hostPing = driver?.lastPing?.(session.socket);
      if (hostPing !== undefined && hostPing > session.lastPing) session.lastPing = session.lastSeen = Math.max(session.lastSeen, hostPing);
      const auth = authDeadline(this.#hub, session);
      if (auth !== undefined && now >= auth) {
        session.close(1008, "authentication timeout");
      } else if (s.idle > 0 && now - session.lastSeen > s.idle) {
        session.close(LIVENESS_CLOSE, "idle timeout");
      } else if (s.policy === "send" && this.#checkable(session) && now - session.lastSeen > s.interval + s.timeout) {
        session.close(LIVENESS_CLOSE, "ping timeout");
      } else if (s.policy === "expect" && now - session.lastPing > s.timeout) {
        session.close(LIVENESS_CLOSE, "ping timeout");
      } else if (round) {
        this.#ping(session, now);
      }
      if (!session.open) continue;
      const due = this.dueFor(session);
      if (due !== undefined && (next === undefined || due < next)) next = due;
    }
    return next;
  }

  /**
   * @internal Hosts that keep snapshots (hibernation) get the liveness times stored again once
   * they are a tick ahead of the stored ones: at most one store per session per tick, and a
   * session rebuilt after an eviction is never judged earlier than its true times allow (see
   * `sessionFromSnapshot`).
   */
  keep(s: Session<D>): void {
    const t = this.tick;
    if (t === 0 || !this.#hub.driver?.persist) return;
    if (s.lastSeen - s.savedSeen >= t || s.lastPing - s.savedPing >= t) this.#hub.persist(s);
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
