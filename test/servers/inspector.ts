/**
 * The conformance fixture with an inspector mounted through the adapter's `fetch` option, on
 * Node (bundled by test/spawn.ts) or Deno: prints its URL, stops on SIGTERM.
 */
import { createInspector } from "../../src/inspector.ts";
import { createFixtureHub } from "../fixture.ts";

declare const Deno: { addSignalListener(signal: "SIGTERM", fn: () => void): void; exit(code: number): never } | undefined;
declare const process: { once(signal: "SIGTERM", fn: () => void): void; exit(code: number): never };

const TOKEN = "host-inspector-token"; // test/inspector-hosts.test.ts presents it
const hub = createFixtureHub();
const inspector = createInspector(hub, { token: TOKEN, actions: true, interval: 100, metricsPath: "/metrics" });
const fetch = (req: Request): Promise<Response> | Response => inspector.fetch(req) ?? new Response("not found", { status: 404 });
const options = { port: 0, hostname: "127.0.0.1", path: "/ws", fetch };
const server = "Deno" in globalThis
  ? await (await import("../../adapters/deno.ts")).serve(hub, options)
  : await (await import("../../adapters/node.ts")).serve(hub, options);
console.log(server.url);
const stop = (exit: (code: number) => never) => () => void server.stop().then(() => exit(0));
if (typeof Deno !== "undefined") Deno.addSignalListener("SIGTERM", stop(Deno.exit));
else process.once("SIGTERM", stop(process.exit));
