import { capabilities } from "../adapters/cloudflare.ts";
import { conformance } from "./conformance.ts";
import { startCloudflare } from "./servers/cloudflare/start.ts";

conformance("cloudflare", startCloudflare, capabilities);
