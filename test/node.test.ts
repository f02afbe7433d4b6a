import { capabilities } from "../adapters/node.ts";
import { conformance } from "./conformance.ts";
import { nodeCommand, spawnServer } from "./spawn.ts";

conformance("node", async () => spawnServer(await nodeCommand("test/servers/node.ts")), capabilities);
