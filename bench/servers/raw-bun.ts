/**
 * Bench target: Bun.serve by hand, with Bun's native topics. The same work as the wirehub
 * target: two groups per connection ("bench" and one of 100), per-connection data, echo, and a
 * text frame starting with "B" published to "bench" (ws.publish leaves the sender out).
 * REUSE_PORT=1 listens with reusePort (several processes on PORT); SIGUSR2 runs a full GC
 * and prints `collected` (the memory scenarios, before each reading).
 */
import { writeHeapStats } from "./heap-stats.ts";
declare const Bun: any;
let n = 0;
// Before listening: a runner may signal as soon as it reads "listening".
process.on("SIGUSR2", () => {
  Bun.gc(true);
  writeHeapStats();
  console.log("collected");
});
const server = Bun.serve({
  port: Number(process.env.PORT ?? 0),
  hostname: "127.0.0.1",
  reusePort: process.env.REUSE_PORT === "1",
  fetch(req: Request, srv: any) {
    if (req.headers.get("upgrade")) {
      const i = n++;
      if (srv.upgrade(req, { data: { user: "u" + i, g: "g" + (i % 100) } })) return;
      return new Response("upgrade failed", { status: 400 });
    }
    return new Response("expected a WebSocket upgrade", { status: 426 });
  },
  websocket: {
    idleTimeout: 0,
    sendPings: false,
    open(ws: any) {
      ws.subscribe("bench");
      ws.subscribe(ws.data.g);
    },
    message(ws: any, m: string | Uint8Array) {
      if (typeof m === "string" && m.charCodeAt(0) === 66) ws.publish("bench", m);
      else ws.send(m);
    },
  },
});
console.log(`listening ${server.port}`);
