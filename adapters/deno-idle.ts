/**
 * The `idleTimeout` the Deno adapter (`./deno.ts`) gives each socket. Deno has no ping API, so
 * its own idle pinging is the only liveness check for a raw session without `rawPing`; every
 * other session is checked by the hub's `send` or `expect` policy already, and Deno's idle timer
 * (reset on every frame) would only cost throughput there.
 * @module
 */
import type { HubOptions } from "../src/mod.ts";

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
