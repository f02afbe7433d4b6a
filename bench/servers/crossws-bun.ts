/**
 * Bench target: crossws on Bun (its Bun adapter uses Bun's native topics for publish). The same
 * work as the wirehub target: per-peer data, two groups, echo, "B…" published to "bench".
 * REUSE_PORT=1 listens with reusePort (several processes on PORT); SIGUSR2 runs a full GC
 * and prints `collected` (the memory scenarios, before each reading).
 */
import crossws from "crossws/adapters/bun";
declare const Bun: any;

let n = 0;
const ws = crossws({
  idleTimeout: 0,
  hooks: {
    open(peer) {
      const i = n++;
      (peer.context as Record<string, unknown>).user = "u" + i;
      peer.subscribe("bench");
      peer.subscribe("g" + (i % 100));
    },
    message(peer, message) {
      const t = message.text();
      if (t.charCodeAt(0) === 66) peer.publish("bench", t);
      else peer.send(t);
    },
  },
} as Parameters<typeof crossws>[0]);

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
