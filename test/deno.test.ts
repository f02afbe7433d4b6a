import { capabilities } from "../adapters/deno.ts";
import { conformance } from "./conformance.ts";
import { lifecycle } from "./lifecycle.ts";
import { denoCommand, serverEnv, spawnServer } from "./spawn.ts";
import type { Cert } from "./tls.ts";

const start = (overrides?: object, cert?: Cert) => spawnServer(denoCommand("test/servers/deno.ts"), serverEnv(overrides, cert));
conformance("deno", start, capabilities);
lifecycle("deno", start);
