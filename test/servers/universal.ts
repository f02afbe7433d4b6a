/**
 * `wirehub/server` on whichever runtime runs this file (Bun, Deno, or Node from an esbuild bundle):
 * a hub served by the universal `serve` at path `/ws`, with a `fetch` for everything else, over
 * TLS when WIREHUB_TLS_CERT/KEY name PEM files. Raw frames are echoed; the request `host` answers
 * the runtime `serve` saw and the capabilities of the adapter it chose. WIREHUB_REUSE=1 asks for
 * `reusePort`. Prints its URL, or `refused: <message>` when `serve` rejects; stops on SIGTERM.
 */
import { readFileSync } from "node:fs";
import process from "node:process";
import { createHub } from "../../src/mod.ts";
import { detectRuntime, serve } from "../../adapters/server.ts";

const cert = process.env.WIREHUB_TLS_CERT;
const key = process.env.WIREHUB_TLS_KEY;
const hub = createHub({ message: (s, m) => s.send(m.data) });
hub.handle("host", () => ({ runtime: detectRuntime(), capabilities: hub.driver?.capabilities }));
try {
  const server = await serve(hub, {
    port: 0,
    hostname: "127.0.0.1",
    path: "/ws",
    fetch: (req) => new Response(`${detectRuntime()} ${new URL(req.url).pathname}`),
    tls: cert && key ? { cert: readFileSync(cert, "utf8"), key: readFileSync(key, "utf8") } : undefined,
    reusePort: process.env.WIREHUB_REUSE === "1",
  });
  console.log(server.url);
  process.once("SIGTERM", () => void server.stop().then(() => process.exit(0)));
} catch (e) {
  console.log(`refused: ${(e as Error).message}`);
  process.exit(0);
}
