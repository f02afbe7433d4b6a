/**
 * Bench target: crossws on Bun (its Bun adapter uses Bun's native topics for publish). The same
 * work as the wirehub target: per-peer data, two groups, echo, "B…" published to "bench".
 * REUSE_PORT=1 listens with reusePort (several processes on PORT); SIGUSR2 runs a full GC
 * and prints `collected` (the memory scenarios, before each reading).
 */
import crossws from "crossws/adapters/bun";
import { benchHooks } from "./crossws-hooks.ts";
declare const Bun: any;

const ws = crossws({ idleTimeout: 0, hooks: benchHooks() } as Parameters<typeof crossws>[0]);

// Before listening: a runner may signal as soon as it reads "listening".
process.on("SIGUSR2", () => {
  Bun.gc(true);
  console.log("collected");
});
const server = Bun.serve({
  port: Number(process.env.PORT ?? 0),
  hostname: "127.0.0.1",
  reusePort: process.env.REUSE_PORT === "1",
  websocket: ws.websocket,
  fetch(req: Request, srv: unknown) {
    if (req.headers.get("upgrade") === "websocket") return ws.handleUpgrade(req, srv as never);
    return new Response("expected a WebSocket upgrade", { status: 426 });
  },
});
console.log(`listening ${server.port}`);
