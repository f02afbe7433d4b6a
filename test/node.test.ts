import { capabilities } from "../adapters/node.ts";
import { conformance } from "./conformance.ts";
import { lifecycle } from "./lifecycle.ts";
import { nodeCommand, spawnServer, tlsEnv } from "./spawn.ts";

const start = async (cert?: Parameters<typeof tlsEnv>[0]) => spawnServer(await nodeCommand("test/servers/node.ts"), tlsEnv(cert));
conformance("node", start, capabilities);
lifecycle("node", start);
