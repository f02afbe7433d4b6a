/**
 * Start the conformance fixture on Node (bundled by test/spawn.ts): prints its URL, stops on
 * SIGTERM. With WIREHUB_EXIT=natural it does not call `process.exit` after `stop()`: the process
 * must then end by itself, with no timer, interval or socket left (catalogue 56).
 */
import { readFileSync } from "node:fs";
import { serve } from "../../adapters/node.ts";
import { createFixtureHub } from "../fixture.ts";

if ("Bun" in globalThis || "Deno" in globalThis) throw new Error("this entry must run under Node itself");
const { WIREHUB_FIXTURE: overrides = "{}", WIREHUB_TLS_CERT: cert, WIREHUB_TLS_KEY: key, WIREHUB_EXIT: exit } = process.env;
const tls = cert && key ? { cert: readFileSync(cert), key: readFileSync(key) } : undefined;
const server = await serve(createFixtureHub(JSON.parse(overrides)), { port: 0, hostname: "127.0.0.1", tls });
console.log(server.url);
process.once("SIGTERM", () => void server.stop().then(() => (exit === "natural" ? console.log("stopped") : process.exit(0))));
