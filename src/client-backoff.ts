/**
 * Reconnection policy of `wirehub/client`, as pure functions so they can be tested without
 * a socket: the jittered exponential delay, and which close codes are worth a reconnect.
 * @module
 */

/** Default {@link BackoffOptions.minDelay}: 250 ms. */
export const DEFAULT_MIN_DELAY = 250;
/** Default {@link BackoffOptions.maxDelay}: 10 000 ms. */
export const DEFAULT_MAX_DELAY = 10_000;

/** The two bounds of the reconnect delay. */
export interface BackoffOptions {
  /** The shortest delay before a reconnect attempt, in ms. Default 250. */
  readonly minDelay?: number;
  /** The longest delay before a reconnect attempt, in ms. Default 10 000. */
  readonly maxDelay?: number;
}

/**
 * The delay before reconnect attempt number `attempt` (1 for the first attempt after a drop):
 * exponential backoff with full jitter above a floor. The ceiling doubles with each attempt,
 * `min(maxDelay, minDelay · 2^attempt)`, and the delay is uniformly random between `minDelay`
 * and that ceiling. So with the defaults, attempt 1 waits 250–500 ms, attempt 2 250–1 000 ms,
 * attempt 3 250–2 000 ms, …, and from attempt 6 on 250–10 000 ms. The randomness spreads a
 * crowd of clients that lost the same server over the whole window instead of waves.
 *
 * `random` defaults to `Math.random`; tests pass their own.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const min = Math.max(0, options.minDelay ?? DEFAULT_MIN_DELAY);
  const max = Math.max(min, options.maxDelay ?? DEFAULT_MAX_DELAY);
  const ceiling = Math.min(max, min * 2 ** Math.max(1, attempt));
  return Math.round(min + random() * (ceiling - min));
}

/**
 * Whether a close code is worth a reconnect (PROTOCOL.md §10):
 * - yes: 1001 (server going away), 1005 (no code given), 1006 (connection lost), 1011
 *   (server error), 1012 (service restart), 1013 (try again later, send buffer overflow), 1014
 *   (bad gateway), 4000 (liveness timeout, also used by the client's own heartbeat);
 * - no: 1000 (normal close), 1008 (policy: auth, rate limit), 1009 (message too big), the
 *   protocol errors 1002/1003/1007/1010, 1015 (TLS), and application codes 3000–3999 and
 *   4001–4999, whose meaning only the application knows (override with `reconnect.shouldReconnect`).
 */
export function shouldReconnect(code: number): boolean {
  switch (code) {
    case 1001:
    case 1005:
    case 1006:
    case 1011:
    case 1012:
    case 1013:
    case 1014:
    case 4000:
      return true;
    default:
      return false;
  }
}
