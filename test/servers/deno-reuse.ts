/**
 * A hub on Deno that answers every frame with its NAME, on PORT, with `reusePort` when REUSE=1
 * (run with `--unstable-net`). Prints its URL, or `refused <error name>` when it cannot listen.
 */
import { createHub } from "../../src/mod.ts";
import { serve, type ServerHandle } from "../../adapters/deno.ts";

declare const Deno: {
  env: { get(name: string): string | undefined };
  addSignalListener(signal: "SIGTERM", fn: () => void): void;
  exit(code: number): never;
};

const name = Deno.env.get("NAME") ?? "";
const hub = createHub({ rateLimit: false, message: (s) => void s.send(name) });
let server: ServerHandle;
try {
  server = await serve(hub, { port: Number(Deno.env.get("PORT") ?? 0), hostname: "127.0.0.1", reusePort: Deno.env.get("REUSE") === "1" });
} catch (error) {
  console.log(`refused ${(error as Error).name}`);
  Deno.exit(3);
}
console.log(server.url);
Deno.addSignalListener("SIGTERM", () => void server.stop().then(() => Deno.exit(0)));
