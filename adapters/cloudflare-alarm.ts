/**
 * The Durable Object side of the hub's deadlines, used by `./cloudflare.ts`: the ping policies
 * (`send`, `expect`), `idleTimeout` and the authentication deadline. On a hibernating host the
 * core starts no timer (it would live in the instance's memory and be lost when the object is
 * evicted). Instead one alarm per object rings at the earliest time a sweep has
 * something to do; the sweep then reports the next such time. An object with no session to check
 * has no alarm, so nothing wakes it but its clients.
 * Host documentation: https://developers.cloudflare.com/durable-objects/api/alarms/
 * @module
 */
import type { Hub, Session } from "../src/mod.ts";

/** The part of a Durable Object's `ctx.storage` the alarm uses. */
export interface AlarmStorageLike {
  /** When the object's alarm rings next (ms since the epoch), or `null` when none is set. */
  getAlarm(): Promise<number | null>;
  /** Set the object's one alarm (ms since the epoch), replacing any earlier one. */
  setAlarm(scheduledTime: number): Promise<void>;
}

/** The object's alarm, driven by the hub's deadlines. */
export interface Deadlines {
  /** A session opened: make sure the alarm rings by its first deadline. */
  opened(session: Session<unknown>): Promise<void>;
  /** The alarm rang: check every session now and set the alarm to the next due time. */
  ring(): Promise<void>;
}

/** Drive `hub`'s deadlines from the alarm of the object whose storage is `storage`. */
export function deadlines(hub: Hub<any>, storage: AlarmStorageLike): Deadlines {
  // The alarm time as this instance knows it: undefined until read (a fresh instance after a
  // wake), null when none is set. Deadlines only move later as clients talk, so the alarm needs
  // setting only when a session opens with an earlier one, and after it rang.
  let at: number | null | undefined;
  const set = async (t: number): Promise<void> => {
    at = t;
    await storage.setAlarm(t);
  };
  return {
    async opened(session) {
      const due = hub.liveness.dueFor(session as Session<any>);
      if (due === undefined) return;
      if (at === undefined) at = await storage.getAlarm();
      if (at === null || due < at) await set(due);
    },
    async ring() {
      at = null; // an alarm that rang is no longer set
      const next = hub.liveness.sweep(Date.now());
      if (next !== undefined) await set(next);
    },
  };
}
