/**
 * Echo server on whichever runtime runs it. Listens on $PORT (default 8080).
 *
 *   bun run examples/echo.ts           (or: npm run echo)
 *   npx deno run -A examples/echo.ts   (or: npm run echo:deno)
 *   npm run echo:node                  (Node 20 cannot strip types: esbuild bundles it first)
 *
 * One URL serves both kinds of client with the hub's default options:
 * - a bare WebSocket that offers no subprotocol gets each text or binary frame back unchanged;
 * - a client that offers `wirehub.v1` gets each event back as an envelope `evt` frame, and a
 *   malformed frame gets an `err` frame while the session stays open.
 */
import { createHub } from "wirehub";
import { serve } from "wirehub/server"; // Bun.serve, Deno.serve or node:http + ws: whichever runtime runs this

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
