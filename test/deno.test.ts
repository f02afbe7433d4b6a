import { capabilities } from "../adapters/deno.ts";
import { conformance } from "./conformance.ts";
import { lifecycle } from "./lifecycle.ts";
import { denoCommand, spawnServer, tlsEnv } from "./spawn.ts";

const start = (cert?: Parameters<typeof tlsEnv>[0]) => spawnServer(denoCommand("test/servers/deno.ts"), tlsEnv(cert));
conformance("deno", start, capabilities);
lifecycle("deno", start);
