/**
 * Bench target: wirehub on whichever runtime runs this file (Bun, Deno, or Node via an esbuild
 * bundle). One URL serves both modes: the load generator picks raw (no subprotocol) or
 * envelope (`wirehub.v1`). The hub and what it answers: ./wirehub-hub.ts.
 *
 * Env: PORT (default 0), BROKER ("redis" | "nats" | unset), BROKER_URL, REUSE_PORT=1 (listen
 * with reusePort, so several processes share PORT; Bun only, Deno would need --unstable-net).
 * SIGUSR2 runs a full garbage collection where the runtime exposes one and prints `collected`
 * (the memory scenarios, before each RSS reading, for every target alike; a signal reaches the
 * one process meant even when several share a port).
 */
import { writeHeapStats } from "./heap-stats.ts";
import { createHub, type Broker } from "wirehub";
import { benchHub } from "./wirehub-hub.ts";

const { serve } = "Bun" in globalThis
  ? await import("wirehub/bun")
  : "Deno" in globalThis
    ? await import("wirehub/deno")
    : await import("wirehub/node");

let broker: Broker | undefined;
if (process.env.BROKER === "redis") broker = (await import("wirehub/redis")).createBroker({ url: process.env.BROKER_URL });
else if (process.env.BROKER === "nats") broker = (await import("wirehub/nats")).createBroker({ servers: process.env.BROKER_URL });

const hub = benchHub(createHub, broker);

const gc = (globalThis as { gc?: () => void }).gc;
// Before listening: a runner may signal as soon as it reads "listening".
process.on("SIGUSR2", () => {
  if ("Bun" in globalThis) (globalThis as unknown as { Bun: { gc(full: boolean): void } }).Bun.gc(true);
  else gc?.();
  writeHeapStats();
  console.log("collected");
});
const server = await serve(hub, {
  port: Number(process.env.PORT ?? 0),
  hostname: "127.0.0.1",
  ...(process.env.REUSE_PORT === "1" && { reusePort: true }),
});
console.log(`listening ${server.port}`);
// Exit cleanly on SIGINT so `node --cpu-prof` (and Bun's profiler) can write the profile.
process.on("SIGINT", () => process.exit(0));
