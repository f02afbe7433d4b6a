/** The Hono fixture on Deno (run by `deno run`), served by wirehub/hono: prints its URL, stops on SIGTERM. */
import { startHono } from "./hono.ts";

declare const Deno: {
  env: { get(name: string): string | undefined };
  readTextFileSync(path: string): string;
  addSignalListener(signal: "SIGTERM", fn: () => void): void;
  exit(code: number): never;
};

const cert = Deno.env.get("WIREHUB_TLS_CERT");
const key = Deno.env.get("WIREHUB_TLS_KEY");
const overrides = JSON.parse(Deno.env.get("WIREHUB_FIXTURE") ?? "{}");
const server = await startHono(overrides, cert && key ? { cert: Deno.readTextFileSync(cert), key: Deno.readTextFileSync(key) } : undefined);
console.log(server.url);
Deno.addSignalListener("SIGTERM", () => void server.stop().then(() => Deno.exit(0)));
