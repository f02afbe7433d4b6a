/**
 * Bench target: the envelope work done by hand on the bare host, with no library. It answers
 * the generator's wirehub.v1 echo, RPC and fan-out exactly as wirehub does (`hello` on open,
 * `evt` echoed as `evt`, `req` answered with `res`, event `bcast` sent as event `b` to every
 * other connection, all of which are in one group "bench"), parsing every frame with
 * `JSON.parse` and writing every answer with `JSON.stringify`, a broadcast encoded once: no
 * validation, limits, auth, liveness or error frames. It is the floor for any JSON envelope on
 * that host, so "wirehub envelope ÷ this" is wirehub's own overhead, and "this ÷ the raw host"
 * is what JSON framing costs there (for fan-out: the longer frame each member gets).
 *
 * Runs on Bun (`Bun.serve`), Deno (`Deno.serve`) and Node (`node:http` + `ws`, as an esbuild bundle).
 */
import { answer, broadcast, BROADCAST, HELLO } from "./json-answer.ts";

declare const Bun: any, Deno: any;

const PROTOCOL = "wirehub.v1";
const port = Number((globalThis as any).process?.env?.PORT ?? (globalThis as any).Deno?.env.get("PORT") ?? 0);

if ("Bun" in globalThis) {
  const server = Bun.serve({
    port,
    hostname: "127.0.0.1",
    fetch(req: Request, srv: any) {
      if (srv.upgrade(req, { headers: { "Sec-WebSocket-Protocol": PROTOCOL }, data: {} })) return;
      return new Response("expected a WebSocket upgrade", { status: 426 });
    },
    websocket: {
      idleTimeout: 0,
      sendPings: false,
      open(ws: any) {
        ws.subscribe("bench");
        ws.send(HELLO);
      },
      message(ws: any, m: string) {
        const a = answer(m);
        if (a === BROADCAST) ws.publish("bench", broadcast);
        else if (a !== undefined) ws.send(a);
      },
    },
  });
  console.log(`listening ${server.port}`);
} else if ("Deno" in globalThis) {
  const bench = new Set<WebSocket>();
  Deno.serve({ port, hostname: "127.0.0.1", onListen: ({ port }: { port: number }) => console.log(`listening ${port}`) }, (req: Request) => {
    const { socket, response } = Deno.upgradeWebSocket(req, { protocol: PROTOCOL, idleTimeout: 0 });
    socket.onopen = () => {
      bench.add(socket);
      socket.send(HELLO);
    };
    socket.onmessage = (e: MessageEvent) => {
      const a = answer(e.data as string);
      if (a === BROADCAST) {
        for (const o of bench) if (o !== socket && o.readyState === 1) o.send(broadcast);
      } else if (a !== undefined) socket.send(a);
    };
    socket.onclose = () => bench.delete(socket);
    return response;
  });
} else {
  const { createServer } = await import("node:http");
  const { WebSocketServer } = await import("ws");
  const http = createServer((_req, res) => void res.writeHead(426).end("expected a WebSocket upgrade"));
  const wss = new WebSocketServer({ server: http, handleProtocols: () => PROTOCOL });
  wss.on("connection", (ws) => {
    ws.send(HELLO);
    ws.on("message", (m: Buffer) => {
      const a = answer(m.toString());
      if (a === BROADCAST) {
        for (const o of wss.clients) if (o !== ws && o.readyState === 1) o.send(broadcast);
      } else if (a !== undefined) ws.send(a);
    });
  });
  http.listen(port, "127.0.0.1", () => console.log(`listening ${(http.address() as { port: number }).port}`));
}
