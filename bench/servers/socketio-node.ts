/**
 * Bench target: Socket.IO on Node, WebSocket transport only (the generator speaks Engine.IO v4 /
 * Socket.IO v4 over WebSocket). The same work: per-socket data, two rooms, "echo" echoed,
 * "bcast" to the "bench" room (sender excluded), "rpc" answered through its ack.
 * SIGUSR2 runs a full GC and prints `collected` (the memory scenario, before each reading).
 */
import { createServer } from "node:http";
import { Server } from "socket.io";

const gc = (globalThis as { gc?: () => void }).gc;
const http = createServer();
const io = new Server(http, { transports: ["websocket"], serveClient: false, perMessageDeflate: false, httpCompression: false });
let n = 0;
io.on("connection", (socket) => {
  const i = n++;
  socket.data.user = "u" + i;
  socket.join("bench");
  socket.join("g" + (i % 100));
  socket.on("echo", (d: unknown) => socket.emit("echo", d));
  socket.on("bcast", (d: unknown) => socket.to("bench").emit("b", d));
  socket.on("rpc", (d: unknown, ack: (r: unknown) => void) => ack(d));
});
// Before listening: a runner may signal as soon as it reads "listening".
process.on("SIGUSR2", () => {
  gc?.();
  console.log("collected");
});
http.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => console.log(`listening ${(http.address() as { port: number }).port}`));
