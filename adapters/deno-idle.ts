/**
 * The `idleTimeout` the Deno adapter (`./deno.ts`) gives each socket. Deno has no ping API, so
 * its own idle pinging is the only liveness check for a raw session without `rawPing`; every
 * other session is checked by the hub's `send` or `expect` policy already, and Deno's idle timer
 * (reset on every frame) would only cost throughput there.
 * @module
 */
import type { HubOptions } from "../src/mod.ts";

/** Deno's `idleTimeout` when none is given (seconds). */
export const DENO_IDLE_DEFAULT = 30;

/**
 * The `idleTimeout` for `Deno.upgradeWebSocket`: the adapter option when set; otherwise
 * `undefined` (Deno's default, 30 s) for sessions the hub cannot check itself (raw without
 * `rawPing`, or any session under the `auto` policy), and `0` (off) for the others.
 */
export function denoIdleTimeout(options: HubOptions<any>, mode: "raw" | "envelope", explicit: number | undefined): number | undefined {
  if (explicit !== undefined) return explicit;
  const hubChecks = (options.ping?.policy ?? "send") !== "auto" && (mode === "envelope" || options.rawPing !== undefined);
  return hubChecks ? 0 : undefined;
}

/** Arms Deno's idle timer of an open server socket for `seconds`. */
export type IdleArmer = (ws: WebSocket, seconds: number) => void;

let armer: IdleArmer | null | undefined; // undefined: not looked for yet; null: this Deno has none

/**
 * Deno's idle pinging without the `Request` it retains, where this Deno allows it.
 *
 * For a socket upgraded with a non-zero `idleTimeout`, `Deno.upgradeWebSocket` (Deno 2.x) adds a
 * close listener whose closure keeps the whole upgrade scope alive, the served `Request` with
 * its headers, URL and aborted signal among it: about 3.2 KB of live heap per idle session, for
 * the session's whole life (bench/notes.md, "Deno's idle timer without the retained
 * `Request`"). The listener only clears the timer, which Deno's read loop also does when the
 * close handshake ends. The timer itself is Deno's method `[[serverHandleIdleTimeout]]`,
 * armed when the socket opens and re-armed on every frame from the peer; it reads the
 * duration from the socket's `[[idleTimeout]]` slot, which `Deno.upgradeWebSocket` fills.
 * So the adapter upgrades with `idleTimeout: 0` (no timer, no listener) and, once the socket is
 * open, fills the slot and arms the timer through this function: the same pings, the same
 * close of a peer that does not answer, nothing retained.
 *
 * Returns `undefined` when this runtime has no such method and slot (another Deno, or not
 * Deno): the adapter then passes `idleTimeout` to `Deno.upgradeWebSocket` as documented. The
 * Deno tests fail if the Deno in use stops having them, so a Deno upgrade cannot silently
 * bring the retention back. One difference remains: a socket that ends through an error
 * rather than a close handshake keeps its pending timer (and itself) until the timer fires
 * and finds the socket closed, at most `seconds / 2` later.
 */
export function idleArmer(): IdleArmer | undefined {
  if (armer === undefined) armer = findArmer() ?? null;
  return armer ?? undefined;
}

function findArmer(): IdleArmer | undefined {
  if (typeof WebSocket !== "function") return undefined;
  const arm = Object.getOwnPropertySymbols(WebSocket.prototype).find((s) => s.description === "[[serverHandleIdleTimeout]]");
  if (!arm || typeof (WebSocket.prototype as unknown as Record<symbol, unknown>)[arm] !== "function") return undefined;
  let slot: symbol | undefined; // an own field of each server socket: found on the first one
  return (ws, seconds) => {
    const w = ws as unknown as Record<symbol, unknown>;
    slot ??= Object.getOwnPropertySymbols(ws).find((s) => s.description === "[[idleTimeout]]");
    if (!slot || ws.readyState !== 1) return;
    w[slot] = seconds;
    (w[arm] as () => void)();
  };
}
