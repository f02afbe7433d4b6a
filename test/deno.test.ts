import { capabilities } from "../adapters/deno.ts";
import { conformance } from "./conformance.ts";
import { denoCommand, spawnServer } from "./spawn.ts";

conformance("deno", () => spawnServer(denoCommand("test/servers/deno.ts")), capabilities);
