/**
 * Limits and metrics: rate limiting, backpressure, size and shape limits, counters.
 * @module
 */

/** Per-session message rate limit (a token bucket). */
export interface RateLimit {
  /** Messages per second a session may send on average. Default 1 000. */
  readonly rate?: number;
  /** Messages a session may send in a burst. Default `rate`. */
  readonly burst?: number;
  /**
   * What happens to a session over the limit: `close` (default) sends a `rate_limited` error
   * frame, then closes with 1008; `drop` sends one `rate_limited` error frame and drops
   * messages until the bucket refills.
   */
  readonly action?: "close" | "drop";
}

/** Per-session send buffer bound. */
export interface Backpressure {
  /** Bytes the host may buffer for one session before the policy applies. Default 1 MiB. */
  readonly maxBuffered?: number;
  /**
   * `close` (default): close the session with 1013, so a slow reader never grows the server's
   * memory; `drop`: drop frames for that session (counted in metrics, reported to `dropped`).
   */
  readonly policy?: "close" | "drop";
}

/** Shape limits. Frames over them get a `bad_frame`/`forbidden` error; the session stays. */
export interface Limits {
  /** Groups one session may be in through its own `join` frames. Default 64. */
  readonly groupsPerSession?: number;
  /** Longest event, method or group name. Default 128. */
  readonly nameLength?: number;
  /** Longest public alias. Default 64. */
  readonly aliasLength?: number;
  /** Deepest nesting of arrays/objects in an envelope frame. Default 32. */
  readonly jsonDepth?: number;
  /** Async request handlers one session may have running; more are answered `unavailable`. Default 64. */
  readonly inflight?: number;
}

/** Counters of one hub, a plain object you can read or export. */
export interface Metrics {
  /** Sessions open now (detached ones included). */
  sessions: number;
  /** Sessions opened since start. */
  opened: number;
  /** Frames received. */
  messagesIn: number;
  /** Frames handed to the host (one per recipient). */
  messagesOut: number;
  /** Bytes received (UTF-16 code units for text frames). */
  bytesIn: number;
  /** Bytes handed to the host, one count per recipient (UTF-16 code units for text frames). */
  bytesOut: number;
  /** Frames dropped by backpressure, rate limiting or a host that refused them. */
  dropped: number;
  /** Errors reported to the error hook. */
  errors: number;
  /** Closes by code. */
  closes: Record<number, number>;
  /** Sends (and presence writes) that never reached the broker: each was also reported to the `error` hook as a `BrokerError`. */
  brokerFailed: number;
  /** Times the broker connection was lost. */
  brokerOutages: number;
  /**
   * Times a heartbeat found that another instance of the cluster had reaped this one although
   * it was alive (it stalled past the store's `ttl`; see `BeatResult.revived`). Each time, this
   * instance wrote its presence entries again and announced its visible sessions' join to the
   * other instances.
   */
  brokerRevived: number;
}

/** A fresh metrics object. */
export function newMetrics(): Metrics {
  return { sessions: 0, opened: 0, messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0, dropped: 0, errors: 0, closes: {}, brokerFailed: 0, brokerOutages: 0, brokerRevived: 0 };
}

/** Token bucket state kept on the session: tokens and the time they were counted. */
export interface Bucket {
  tokens: number;
  at: number;
}

/** Take one token; `false` when the bucket is empty. */
export function take(b: Bucket, rate: number, burst: number, now: number): boolean {
  b.tokens = Math.min(burst, b.tokens + ((now - b.at) * rate) / 1000);
  b.at = now;
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

