/**
 * The time of an incoming frame, shared by the frames that arrive together.
 *
 * Every frame records when its session was last seen, and the rate limit reads the time too.
 * On the bench machine a read of the system clock cost 40–60 ns under each server runtime,
 * about 5 % of a raw echo round trip on the fastest one. So the first read is kept and shared
 * until a 1 ms timer drops it; the timer is armed only when the clock is read. The reading is
 * also dropped after {@link MAX_USES} frames, so the time still moves on if the timer never fires
 * (fake timers in a test). A reading is dropped by whichever comes first: the timer (1 ms plus
 * the host's timer lateness) or 1 024 frames.
 * @module
 */

/** Readings shared before the clock is read again, whatever the timer does. */
const MAX_USES = 1024;

let cached = 0;
let uses = 0;
let armed = false;
/** The host's timer object, re-armed with `refresh()` where it has one (Bun, Node); else `undefined`. */
let timer: { refresh(): unknown } | undefined;

function drop(): void {
  cached = 0;
  armed = false;
}

/**
 * Arm the timer that drops the reading. Where `setTimeout` returns an object with `refresh()`
 * (Bun, Node), one timer is made, unref'd so it never holds the process open, and re-armed
 * from then on: under load it fires every millisecond, and making a new timer each time cost
 * about 1 % of a raw echo round trip's server CPU on Bun (bench/notes.md). Where it returns a
 * number (Deno, browsers), a new one is set each time; it holds the process open for at most 1 ms.
 */
function arm(): void {
  armed = true;
  if (timer !== undefined) {
    timer.refresh();
    return;
  }
  const t: unknown = setTimeout(drop, 1);
  if (typeof t === "object" && t !== null && typeof (t as { refresh?: unknown }).refresh === "function") {
    if (typeof (t as { unref?: unknown }).unref === "function") (t as { unref(): void }).unref();
    timer = t as { refresh(): unknown };
  }
}

/** `Date.now()`, read once for the frames that arrive within about a millisecond. */
export function frameTime(): number {
  if (cached !== 0 && ++uses < MAX_USES) return cached;
  cached = Date.now();
  uses = 0;
  if (!armed) arm();
  return cached;
}
