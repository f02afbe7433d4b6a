/**
 * Echo server: `bun run examples/echo.ts` (or `npm run echo`). Listens on $PORT (default 8080).
 *
 * One URL serves both kinds of client with the hub's default options:
 * - a bare WebSocket that offers no subprotocol gets each text or binary frame back unchanged;
 * - a client that offers `wirehub.v1` gets each event back as an envelope `evt` frame, and a
 *   malformed frame gets an `err` frame while the session stays open.
 */
import { createHub } from "wirehub";
import { serve } from "wirehub/bun";

const hub = createHub({
  message(session, msg) {
    session.send(msg.data, msg.event);
  },
});

const server = await serve(hub, { port: Number(process.env.PORT ?? 8080) });
console.log(`echo server listening on ${server.url}`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    server.stop().then(() => process.exit(0));
  });
}
