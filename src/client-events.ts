/**
 * What `wirehub/client` does with the events the server sends: listeners by name (`on`, `once`,
 * `off`), listeners of every event (`onAny`), and the payload of a frame.
 * @module
 */
import type { Frame } from "./client-link.ts";
import { fromBase64 } from "./protocol.ts";

/** A listener of one event. */
type Listener = (data: never) => void;
/** A listener of every event. */
export type AnyListener = (event: string, data: unknown) => void;

/** The event listeners of one client. @internal */
export class EventListeners {
  /** Each event's listeners, each with whether it is removed before its first call (`once`). */
  readonly #byName = new Map<string, Map<Listener, boolean>>();
  readonly #any = new Set<AnyListener>();

  /** Add `fn` for `event`; with `once`, it is removed before its first call. Adding it again only changes `once`. */
  on(event: string, fn: Listener, once = false): void {
    let map = this.#byName.get(event);
    if (!map) this.#byName.set(event, (map = new Map()));
    map.set(fn, once);
  }

  /** Remove `fn` from `event`; without `fn`, every listener of `event`; without either, every listener. */
  off(event?: string, fn?: Listener): void {
    if (event === undefined) return void (this.#byName.clear(), this.#any.clear());
    if (fn === undefined) this.#byName.delete(event);
    else this.#byName.get(event)?.delete(fn);
  }

  /** Add a listener of every event; returns its remover. */
  onAny(fn: AnyListener): () => void {
    this.#any.add(fn);
    return () => void this.#any.delete(fn);
  }

  /** Hand an event to its listeners, then to the listeners of every event, each through `guard`. */
  dispatch(event: string, data: unknown, guard: (call: () => unknown) => void): void {
    const map = this.#byName.get(event);
    if (map) {
      for (const [fn, once] of map) {
        if (once) map.delete(fn);
        guard(() => fn(data as never));
      }
    }
    for (const fn of this.#any) guard(() => fn(event, data));
  }
}

/** The payload of a server frame: `b` decoded to bytes (`undefined` if it is not base64), else `d`. */
export function payload(f: Frame): unknown {
  if (typeof f.b === "string") {
    try {
      return fromBase64(f.b);
    } catch {
      return undefined;
    }
  }
  return f.d;
}
