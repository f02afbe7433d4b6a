/**
 * The frame clock (src/clock.ts): frames that arrive together share one reading of the system
 * clock, and the reading moves on after a millisecond timer or after 1 024 reads.
 * `Date.now` is wrapped to count the reads and, in the third test, to stand still while timers
 * do not run; the clock itself is the real one.
 */
import { afterEach, expect, test } from "bun:test";
import { frameTime } from "../src/clock.ts";

const realNow = Date.now;
afterEach(() => {
  Date.now = realNow;
});

/** Wait until the clock's drop timer (1 ms) has surely run. */
const nextTimerTurn = () => new Promise((r) => setTimeout(r, 10));

function countReads(): { reads: number } {
  const c = { reads: 0 };
  Date.now = () => {
    c.reads++;
    return realNow();
  };
  return c;
}

test("frames read in one burst share a single reading of the system clock", async () => {
  await nextTimerTurn();
  const c = countReads();
  const times = Array.from({ length: 100 }, () => frameTime());
  expect(c.reads).toBe(1);
  expect(new Set(times).size).toBe(1);
});

test("after the timer turn the clock is read again and has moved on", async () => {
  await nextTimerTurn();
  const first = frameTime();
  await new Promise((r) => setTimeout(r, 25));
  const c = countReads();
  const later = frameTime();
  expect(c.reads).toBe(1);
  expect(later).toBeGreaterThanOrEqual(first + 20);
  expect(Math.abs(later - realNow())).toBeLessThanOrEqual(1);
});

test("a reading serves at most 1 024 frames, even when timers never run", async () => {
  await nextTimerTurn();
  let fake = 1_000_000;
  let reads = 0;
  // A clock that only moves when read, and a synchronous loop: the drop timer cannot run.
  Date.now = () => {
    reads++;
    return (fake += 1000);
  };
  const seen = new Set<number>();
  for (let i = 0; i < 5000; i++) seen.add(frameTime());
  expect(reads).toBe(5); // reads at frames 0, 1024, 2048, 3072 and 4096
  expect(seen.size).toBe(5);
});

test("the drop timer is re-armed on every turn: each later burst reads the clock once, and afresh", async () => {
  for (let turn = 0; turn < 5; turn++) {
    await nextTimerTurn();
    const c = countReads();
    const a = frameTime();
    const b = frameTime();
    expect(c.reads).toBe(1);
    expect(a).toBe(b);
    expect(Math.abs(a - realNow())).toBeLessThanOrEqual(1);
    Date.now = realNow;
  }
});
