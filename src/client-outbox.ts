/**
 * What `wirehub/client` has to send and what it awaits: the offline queue (bounded, flushed in
 * order) and the requests waiting for an answer (each with its own timeout, re-sent or rejected
 * after a drop, never left hanging).
 * @module
 */
import type { ClientOptions } from "./client-types.ts";
import { ClosedError, TimeoutError, WirehubError } from "./errors.ts";

/** The offline queue was full (see `queue.overflow`). Code `queue_full`. */
export class QueueFullError extends WirehubError {
  /** Always `"QueueFullError"`. */
  override name = "QueueFullError";
  /** The queue's limit. */
  readonly max: number;
  /** The queue of `max` frames is full; code `queue_full`. */
  constructor(max: number) {
    super("queue_full", `the offline queue is full (${max} frames)`);
    this.max = max;
  }
}

/** A frame that awaits an answer. @internal */
export interface Pending {
  readonly id: number;
  readonly frame: string;
  resolve(value: unknown): void;
  reject(error: unknown): void;
  timer: ReturnType<typeof setTimeout>;
  /** Written to a socket (as opposed to waiting in the queue). */
  sent: boolean;
  /** Sent outside the queue and never re-sent (auth). */
  direct: boolean;
}

interface Queued {
  readonly frame: string;
  readonly p?: Pending;
}

/** The queue and the pending calls of one client. @internal */
export class Outbox {
  #opts: ClientOptions;
  #write: (frame: string) => boolean;
  #pending = new Map<number, Pending>();
  #queue: Queued[] = [];
  #nextId = 0;

  /** `write` sends a frame on the open session, or returns `false` when there is none. */
  constructor(opts: ClientOptions, write: (frame: string) => boolean) {
    this.#opts = opts;
    this.#write = write;
  }

  /** Frames waiting in the queue. */
  get size(): number {
    return this.#queue.length;
  }

  /** Send `frame` now if `ready`, else queue it (by the overflow policy; may throw `QueueFullError`). */
  send(frame: string, ready: boolean, p?: Pending): void {
    if (ready && this.#queue.length === 0 && this.#write(frame)) {
      if (p) p.sent = true;
      return;
    }
    const max = this.#opts.queue?.max ?? 1000;
    if (this.#queue.length >= max) {
      if (this.#opts.queue?.overflow === "reject" || max < 1) throw new QueueFullError(max);
      const old = this.#queue.shift();
      if (old?.p) this.settle(old.p.id, false, new QueueFullError(max));
    }
    this.#queue.push(p ? { frame, p } : { frame });
  }

  /**
   * A call: `build(id)` makes the frame. Resolves with the answer's payload; rejects on `err`,
   * timeout, overflow or shutdown. `direct` calls skip the queue (auth) and fail when offline.
   */
  call(build: (id: number) => string, what: string, timeout: number | undefined, ready: boolean, direct = false): Promise<unknown> {
    const id = ++this.#nextId;
    const ms = timeout ?? this.#opts.requestTimeout ?? 10_000;
    return new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => this.settle(id, false, new TimeoutError(ms, what)), ms);
      const p: Pending = { id, frame: build(id), resolve, reject, timer, sent: direct, direct };
      this.#pending.set(id, p);
      try {
        if (!direct) this.send(p.frame, ready, p);
        else if (!this.#write(p.frame)) throw new ClosedError("not connected");
      } catch (error) {
        this.settle(id, false, error);
      }
    });
  }

  /** Whether `id` is a call still waiting for its answer. */
  has(id: unknown): boolean {
    return typeof id === "number" && this.#pending.has(id);
  }

  /** Settle a call with its answer (`ok`) or an error. Unknown ids are ignored (late answers). */
  settle(id: number, ok: boolean, value: unknown): void {
    const p = this.#pending.get(id);
    if (!p) return;
    this.#pending.delete(id);
    clearTimeout(p.timer);
    if (!p.sent) {
      const i = this.#queue.findIndex((q) => q.p === p);
      if (i >= 0) this.#queue.splice(i, 1);
    }
    if (ok) p.resolve(value);
    else p.reject(value);
  }

  /** A session is ready: re-send in-flight calls (they came first), then flush the queue in order. */
  flush(): void {
    for (const p of this.#pending.values()) if (p.sent && !p.direct) this.#write(p.frame);
    while (this.#queue.length > 0) {
      const item = this.#queue[0]!;
      if (!this.#write(item.frame)) return;
      this.#queue.shift();
      if (item.p) item.p.sent = true;
    }
  }

  /** The socket dropped and a reconnect is planned: reject what will not be re-sent. */
  dropped(code: number): void {
    const all = this.#opts.retryRequests === false;
    for (const p of [...this.#pending.values()]) {
      if (p.sent && (all || p.direct)) this.settle(p.id, false, new ClosedError(`connection lost (${code})`));
    }
  }

  /** The client stopped: reject every call and forget the queue. */
  shutdown(error: unknown): void {
    for (const p of [...this.#pending.values()]) this.settle(p.id, false, error);
    this.#queue = [];
  }
}
