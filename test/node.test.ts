import { capabilities } from "../adapters/node.ts";
import { conformance } from "./conformance.ts";
import { lifecycle } from "./lifecycle.ts";
import { nodeCommand, serverEnv, spawnServer } from "./spawn.ts";
import type { Cert } from "./tls.ts";

const start = async (overrides?: object, cert?: Cert) => spawnServer(await nodeCommand("test/servers/node.ts"), serverEnv(overrides, cert));
conformance("node", start, capabilities);
lifecycle("node", start);
