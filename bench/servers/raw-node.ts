/**
 * Bench target: Node http + the `ws` package by hand. Groups are Sets of sockets; a text frame
 * starting with "B" goes to every other member of "bench", anything else is echoed.
 * SIGUSR2 runs a full GC and prints `collected` (the memory scenario, before each reading).
 */
import { writeHeapStats } from "./heap-stats.ts";
import { createServer } from "node:http";
import { WebSocketServer, type WebSocket } from "ws";

const groups = new Map<string, Set<WebSocket>>();
const join = (g: string, ws: WebSocket) => {
  let s = groups.get(g);
  if (!s) groups.set(g, (s = new Set()));
  s.add(ws);
};
const leave = (g: string, ws: WebSocket) => {
  const s = groups.get(g);
  if (s && s.delete(ws) && s.size === 0) groups.delete(g);
};
const gc = (globalThis as { gc?: () => void }).gc;
const http = createServer((_req, res) => void res.writeHead(426).end("expected a WebSocket upgrade"));
const wss = new WebSocketServer({ server: http });
let n = 0;
wss.on("connection", (ws) => {
  const i = n++;
  const data = { user: "u" + i, g: "g" + (i % 100) };
  (ws as unknown as { data: unknown }).data = data;
  join("bench", ws);
  join(data.g, ws);
  ws.on("message", (m: Buffer, isBinary: boolean) => {
    if (!isBinary && m[0] === 66) {
      for (const o of groups.get("bench")!) if (o !== ws && o.readyState === 1) o.send(m, { binary: false });
    } else ws.send(m, { binary: isBinary });
  });
  ws.on("close", () => {
    leave("bench", ws);
    leave(data.g, ws);
  });
});
// Before listening: a runner may signal as soon as it reads "listening".
process.on("SIGUSR2", () => {
  gc?.();
  writeHeapStats();
  console.log("collected");
});
http.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => console.log(`listening ${(http.address() as { port: number }).port}`));
