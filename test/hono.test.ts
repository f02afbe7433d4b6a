/** The hub mounted on a Hono route (with header-touching middleware) on Bun, Node and Deno. */
import { capabilities as bunCaps } from "../adapters/bun.ts";
import { capabilities as denoCaps } from "../adapters/deno.ts";
import { capabilities as nodeCaps } from "../adapters/node.ts";
import { conformance } from "./conformance.ts";
import { lifecycle } from "./lifecycle.ts";
import { startHono } from "./servers/hono.ts";
import { denoCommand, nodeCommand, serverEnv, spawnServer } from "./spawn.ts";
import type { Cert } from "./tls.ts";

conformance("hono on bun", startHono, bunCaps);
lifecycle("hono on bun", startHono);

// Node: the suite against @hono/node-server's serve + attach; the handle against wirehub/hono's serve.
const onNode = (mode: "mount" | "serve") => async (overrides?: object, cert?: Cert) => {
  const { cmd, cleanup } = await nodeCommand("test/servers/hono-node.ts");
  return spawnServer({ cmd: [...cmd, mode], cleanup }, serverEnv(overrides, cert));
};
conformance("hono on node (@hono/node-server)", onNode("mount"), nodeCaps);
lifecycle("hono on node", onNode("serve"));

const onDeno = (overrides?: object, cert?: Cert) => spawnServer(denoCommand("test/servers/hono-deno.ts"), serverEnv(overrides, cert));
conformance("hono on deno", onDeno, denoCaps);
lifecycle("hono on deno", onDeno);
