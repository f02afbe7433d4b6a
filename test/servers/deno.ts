/** Start the conformance fixture on Deno (run by `deno run`): prints its URL, stops on SIGTERM. */
import { serve } from "../../adapters/deno.ts";
import { createFixtureHub } from "../fixture.ts";

declare const Deno: {
  env: { get(name: string): string | undefined };
  readTextFileSync(path: string): string;
  addSignalListener(signal: "SIGTERM", fn: () => void): void;
  exit(code: number): never;
};

const cert = Deno.env.get("WIREHUB_TLS_CERT");
const key = Deno.env.get("WIREHUB_TLS_KEY");
const tls = cert && key ? { cert: Deno.readTextFileSync(cert), key: Deno.readTextFileSync(key) } : undefined;
const overrides = JSON.parse(Deno.env.get("WIREHUB_FIXTURE") ?? "{}");
// The adapter's own `idleTimeout` (seconds), when a test sets one.
const idle = Deno.env.get("WIREHUB_DENO_IDLE");
const server = await serve(createFixtureHub(overrides), { port: 0, hostname: "127.0.0.1", tls, idleTimeout: idle ? Number(idle) : undefined });
console.log(server.url);
Deno.addSignalListener("SIGTERM", () => void server.stop().then(() => Deno.exit(0)));
