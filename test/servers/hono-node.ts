/**
 * The Hono fixture on Node (bundled by test/spawn.ts). `mount` (default): the way Hono users
 * run on Node, `@hono/node-server`'s `serve` with the hub attached; `serve`: wirehub/hono's own.
 */
import { serve as nodeServe } from "@hono/node-server";
import type { AddressInfo } from "node:net";
import { createHandler } from "../../adapters/hono.ts";
import { createFixtureHub } from "../fixture.ts";
import { createFixtureApp, startHono } from "./hono.ts";
import { readFileSync } from "node:fs";

if ("Bun" in globalThis || "Deno" in globalThis) throw new Error("this entry must run under Node itself");
const { WIREHUB_FIXTURE: overrides = "{}", WIREHUB_TLS_CERT: certFile, WIREHUB_TLS_KEY: keyFile } = process.env;
let stop: () => Promise<void>;
if (process.argv[2] === "serve") {
  const cert = certFile && keyFile ? { cert: readFileSync(certFile, "utf8"), key: readFileSync(keyFile, "utf8") } : undefined;
  const server = await startHono(JSON.parse(overrides), cert);
  console.log(server.url);
  stop = server.stop;
} else {
  const hub = createFixtureHub(JSON.parse(overrides));
  const app = createFixtureApp(hub);
  const server = await new Promise<ReturnType<typeof nodeServe>>((ok) => {
    const s = nodeServe({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => ok(s));
  });
  createHandler(hub).attach(server, app);
  console.log(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  stop = async () => {
    await hub.close();
    await new Promise((ok) => server.close(ok));
  };
}
process.once("SIGTERM", () => void stop().then(() => process.exit(0)));
