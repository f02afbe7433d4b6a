/**
 * Bench target: Deno.serve + Deno.upgradeWebSocket by hand. Groups are Sets of sockets; a text
 * frame starting with "B" goes to every other member of "bench", anything else is echoed.
 * SIGUSR2 runs a full GC and prints `collected` (the memory scenario, before each reading).
 */
import { writeHeapStats } from "./heap-stats.ts";
declare const Deno: any;
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
let n = 0;
// Before listening: a runner may signal as soon as it reads "listening".
Deno.addSignalListener("SIGUSR2", () => {
  gc?.();
  writeHeapStats();
  console.log("collected");
});
Deno.serve({
  port: Number(Deno.env.get("PORT") ?? 0),
  hostname: "127.0.0.1",
  onListen: ({ port }: { port: number }) => console.log(`listening ${port}`),
}, (req: Request) => {
  if (req.headers.get("upgrade") !== "websocket") return new Response("expected a WebSocket upgrade", { status: 426 });
  const { socket, response } = Deno.upgradeWebSocket(req, { idleTimeout: 0 });
  const i = n++;
  const data = { user: "u" + i, g: "g" + (i % 100) };
  (socket as unknown as { data: unknown }).data = data;
  socket.onopen = () => {
    join("bench", socket);
    join(data.g, socket);
  };
  socket.onmessage = (e: MessageEvent) => {
    const m = e.data;
    if (typeof m === "string" && m.charCodeAt(0) === 66) {
      for (const o of groups.get("bench") ?? []) if (o !== socket && o.readyState === 1) o.send(m);
    } else socket.send(m);
  };
  socket.onclose = () => {
    leave("bench", socket);
    leave(data.g, socket);
  };
  return response;
});
