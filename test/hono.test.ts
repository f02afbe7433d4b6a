/** The hub mounted on a Hono route (with header-touching middleware) on Bun, Node and Deno. */
import { capabilities as bunCaps } from "../adapters/bun.ts";
import { capabilities as denoCaps } from "../adapters/deno.ts";
import { capabilities as nodeCaps } from "../adapters/node.ts";
import { conformance } from "./conformance.ts";
import { lifecycle } from "./lifecycle.ts";
import { startHono } from "./servers/hono.ts";
import { denoCommand, nodeCommand, spawnServer, tlsEnv } from "./spawn.ts";

conformance("hono on bun", () => startHono(), bunCaps);
lifecycle("hono on bun", startHono);

conformance("hono on node (@hono/node-server)", async () => spawnServer(await nodeCommand("test/servers/hono-node.ts")), nodeCaps);
lifecycle("hono on node", async (cert) => {
  const { cmd, cleanup } = await nodeCommand("test/servers/hono-node.ts");
  return spawnServer({ cmd: [...cmd, "serve"], cleanup }, tlsEnv(cert));
});

const deno = (cert?: Parameters<typeof tlsEnv>[0]) => spawnServer(denoCommand("test/servers/hono-deno.ts"), tlsEnv(cert));
conformance("hono on deno", deno, denoCaps);
lifecycle("hono on deno", deno);
