/** The hub mounted on a Hono route (with header-touching middleware) on Bun, Node and Deno. */
import { capabilities as bunCaps } from "../adapters/bun.ts";
import { capabilities as denoCaps } from "../adapters/deno.ts";
import { capabilities as nodeCaps } from "../adapters/node.ts";
import { conformance } from "./conformance.ts";
import { lifecycle } from "./lifecycle.ts";
import { startHono } from "./servers/hono.ts";
import { denoCommand, nodeCommand, serverEnv, spawnServer } from "./spawn.ts";
import type { Cert } from "./tls.ts";
import type { TestClient } from "./client.ts";
import { expectHubsApart } from "./two-hubs.ts";
import { join } from "node:path";

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

test("wirehub/hono loads on Deno without `ws` (the Node adapter and its optional peer load on Node only)", async () => {
  // src/ and adapters/ alone, no node_modules and no deno.json: nothing can resolve "ws" there.
  const { cpSync, mkdtempSync, rmSync, writeFileSync } = await import("node:fs");
  const { join } = await import("node:path");
  const { tmpdir } = await import("node:os");
  const dir = mkdtempSync(join(tmpdir(), "wirehub-hono-"));
  try {
    for (const d of ["src", "adapters"]) cpSync(join(import.meta.dir, "..", d), join(dir, d), { recursive: true });
    writeFileSync(join(dir, "main.ts"), 'const h = await import("./adapters/hono.ts");\nconsole.log(JSON.stringify(h.capabilities));\n');
    const p = Bun.spawn([join(import.meta.dir, "..", "node_modules", ".bin", "deno"), "run", "--no-config", "--no-remote", "--no-npm", "--allow-read", "main.ts"], { cwd: dir, stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    expect(code, err).toBe(0);
    expect(JSON.parse(out)).toEqual(denoCaps);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// Two hubs on two routes of one app, one server: every socket reaches the hub of its route, and
// the hubs' groups and sends to everyone stay apart (Bun's native topics are per server).
for (const runtime of ["bun", "node", "deno"] as const) {
  test(`two hubs on two routes of one Hono app on ${runtime}: each socket reaches its route's hub, and their sends stay apart`, async () => {
    const entry = "test/servers/hono-two.ts";
    const cmd = runtime === "bun" ? { cmd: [process.execPath, join(import.meta.dir, "..", entry)] } : runtime === "node" ? await nodeCommand(entry) : denoCommand(entry);
    const server = await spawnServer(cmd);
    let clients: TestClient[] = [];
    try {
      clients = await expectHubsApart(server.url);
    } finally {
      for (const c of clients) c.close();
      await server.stop();
    }
  }, 30_000);
}
