/**
 * Bench target: crossws on Node (its Node adapter, on node:http). The same work as the wirehub
 * target: per-peer data, two groups, echo, "B…" published to "bench".
 * SIGUSR2 runs a full GC and prints `collected` (the memory scenario, before each reading).
 */
import { createServer } from "node:http";
import crossws from "crossws/adapters/node";
import { benchHooks } from "./crossws-hooks.ts";

const ws = crossws({ idleTimeout: 0, hooks: benchHooks() } as Parameters<typeof crossws>[0]);

const gc = (globalThis as { gc?: () => void }).gc;
const http = createServer((_req, res) => void res.writeHead(426).end("expected a WebSocket upgrade"));
http.on("upgrade", (req, socket, head) => ws.handleUpgrade(req, socket, head));
// Before listening: a runner may signal as soon as it reads "listening".
process.on("SIGUSR2", () => {
  gc?.();
  console.log("collected");
});
http.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => console.log(`listening ${(http.address() as { port: number }).port}`));
