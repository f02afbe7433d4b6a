/**
 * The session state few sessions ever need (resume, pending server requests, auth timers,
 * cluster hand-over), kept out of the `Session` object and made on first write.
 * @module
 */
import { ClosedError, TimeoutError } from "./errors.ts";
import type { FrameId } from "./protocol.ts";
import type { Ring } from "./resume.ts";

/** A server→client request waiting for its answer. */
export interface Pending {
  resolve(v: unknown): void;
  reject(e: unknown): void;
  timer: ReturnType<typeof setTimeout>;
}

/** The session state few sessions ever need, kept out of the `Session` object itself. @internal */
export class Rare {
  publicData: unknown = undefined;
  savedSeen = 0;
  savedPing = 0;
  ring: Ring | undefined = undefined;
  resumeToken: string | undefined = undefined;
  detachTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  pending: Map<FrameId, Pending> | undefined = undefined;
  nextId = 0;
  authTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  authFailures = 0;
  joining = 0;
  onClosed: (() => void) | undefined = undefined;
  quiet = false;
  claimedBy: string | undefined = undefined;
}


/** Wait for the answer to server→client request `id`, registered in `pending`; rejects with {@link TimeoutError} after `ms`. */
export function awaitAnswer<R>(pending: Map<FrameId, Pending>, id: FrameId, ms: number, what: string): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    const timer = setTimeout(() => {
      pending.delete(id);
      reject(new TimeoutError(ms, what));
    }, ms);
    pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
  });
}

/** Settle and forget request `id` of `pending` (nothing when it is not there). */
export function settlePending(pending: Map<FrameId, Pending> | undefined, id: FrameId, ok: boolean, value: unknown): void {
  const p = pending?.get(id);
  if (!p) return;
  pending!.delete(id);
  clearTimeout(p.timer);
  if (ok) p.resolve(value);
  else p.reject(value);
}

/** Reject every request of `pending` with {@link ClosedError}: the session is gone. */
export function failAll(pending: Map<FrameId, Pending>): void {
  for (const p of pending.values()) {
    clearTimeout(p.timer);
    p.reject(new ClosedError());
  }
}
