/**
 * A server for the graceful-shutdown test: it records every `record` request it handles on
 * stdout ("got N") before answering, and on SIGTERM stops the way the examples do.
 */
import { createHub } from "../../src/mod.ts";
import { serve } from "../../adapters/bun.ts";

const hub = createHub({ rateLimit: false });
hub.handle("record", (n: number) => {
  process.stdout.write(`got ${n}\n`);
  return n;
});
const server = await serve(hub, { port: 0, hostname: "127.0.0.1" });
process.stdout.write(`listening ${server.url}\n`);
process.on("SIGTERM", () => {
  void server.stop().then(() => {
    process.stdout.write("stopped\n");
    process.exit(0);
  });
});
