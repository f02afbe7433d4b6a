/**
 * The time of an incoming frame, shared by the frames that arrive together.
 *
 * Every frame records when its session was last seen, and the rate limit reads the time too.
 * Reading the system clock costs 40–60 ns per call on the machines we measured (Bun, Deno and
 * Node alike). That is about 5 % of a raw echo round trip on Bun. So the first read is kept
 * and shared until a 1 ms timer drops it; the timer is armed only when the clock is read. It is
 * also dropped after {@link MAX_USES} reads, so the time still moves on if the timer never
 * fires (fake timers in a test). A reading is never older than the host's timer lateness plus
 * 1 ms, and never older than that many frames.
 * @module
 */

/** Readings shared before the clock is read again, whatever the timer does. */
const MAX_USES = 1024;

let cached = 0;
let uses = 0;
let armed = false;

function drop(): void {
  cached = 0;
  armed = false;
}

/**
 * Keep the timer from holding the process open where timers have `unref()`. Where they are
 * plain numbers, it holds it for at most 1 ms.
 */
function unref(t: unknown): void {
  if (typeof t === "object" && t !== null && typeof (t as { unref?: unknown }).unref === "function") (t as { unref(): void }).unref();
}

/** `Date.now()`, read once for the frames that arrive within about a millisecond. */
export function frameTime(): number {
  if (cached !== 0 && ++uses < MAX_USES) return cached;
  cached = Date.now();
  uses = 0;
  if (!armed) {
    armed = true;
    unref(setTimeout(drop, 1));
  }
  return cached;
}
