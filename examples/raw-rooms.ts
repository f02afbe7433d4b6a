/**
 * Raw-mode rooms for plain JSON clients that know nothing of wirehub: the room protocol the
 * Espruino `ws` module speaks (see its "Node.js server" example).
 *
 *   {"join": "kitchen"}                  join a room
 *   {"room": "kitchen", "msg": "hello"}  send "hello" to everyone in "kitchen"
 *   {"room": "all", "msg": "hello"}      send "hello" to everyone
 *
 * Every new connection is greeted with "User Joined". Run: `bun run examples/raw-rooms.ts`
 * (PORT, default 8081). Try: `bunx wscat -c ws://localhost:8081/` (or any bare WebSocket).
 */
import { createHub } from "wirehub";
import { serve } from "wirehub/bun";

type RoomFrame = { join?: unknown; room?: unknown; msg?: unknown };

const hub = createHub({
  mode: "raw",
  ping: { policy: "send", interval: 30_000, timeout: 10_000 },
  open(session) {
    session.send("User Joined");
  },
  message(session, { data }) {
    if (typeof data !== "string") return; // the protocol is JSON text only
    let frame: RoomFrame;
    try {
      frame = JSON.parse(data) as RoomFrame;
    } catch {
      return void session.send(JSON.stringify({ error: "expected JSON" }));
    }
    if (typeof frame.join === "string" && frame.join.length > 0 && frame.join.length <= 64) session.join(frame.join);
    if (typeof frame.room === "string" && frame.msg !== undefined) {
      const text = typeof frame.msg === "string" ? frame.msg : JSON.stringify(frame.msg);
      hub.send(text, frame.room === "all" ? {} : { group: frame.room });
    }
  },
});

const server = await serve(hub, { port: Number(process.env.PORT ?? 8081) });
console.log(`raw rooms listening on ${server.url}`);
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => void server.stop().then(() => process.exit(0)));
