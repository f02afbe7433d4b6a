import { capabilities } from "../adapters/bun.ts";
import { conformance } from "./conformance.ts";
import { lifecycle } from "./lifecycle.ts";
import { startBun } from "./servers/bun.ts";

conformance("bun", startBun, capabilities);
lifecycle("bun", startBun);
