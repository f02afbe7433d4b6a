import { capabilities } from "../adapters/bun.ts";
import { conformance } from "./conformance.ts";
import { startBun } from "./servers/bun.ts";

conformance("bun", startBun, capabilities);
