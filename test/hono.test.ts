/** The hub mounted on a Hono route (with header-touching middleware) on Bun, Node and Deno. */
import { capabilities as bunCaps } from "../adapters/bun.ts";
import { capabilities as denoCaps } from "../adapters/deno.ts";
import { capabilities as nodeCaps } from "../adapters/node.ts";
import { conformance } from "./conformance.ts";
import { lifecycle } from "./lifecycle.ts";
import { startHono } from "./servers/hono.ts";
import { denoCommand, nodeCommand, serverEnv, spawnServer } from "./spawn.ts";
import type { Cert } from "./tls.ts";
import { TestClient } from "./client.ts";
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
    const clients: TestClient[] = [];
    try {
      const base = server.url.replace(/\/$/, "");
      const [a1, a2, b1, b2] = await Promise.all(["/a", "/a", "/b", "/b"].map((p) => TestClient.envelope(base + p)));
      const [rawA, rawB] = await Promise.all(["/a", "/b"].map((p) => TestClient.connect(base + p)));
      clients.push(a1!, a2!, b1!, b2!, rawA!, rawB!);
      expect(await Promise.all([a1!, a2!, b1!, b2!].map((c) => c.call("name")))).toEqual(["A", "A", "B", "B"]);
      rawB!.send("hi");
      expect(await rawB!.next()).toBe("B:hi");
      rawA!.send("hi");
      expect(await rawA!.next()).toBe("A:hi");
      // hub B's group send, send to everyone and a member's broadcast reach B's sessions
      expect(await b1!.call("announce")).toBe(true);
      for (const c of [b1!, b2!]) {
        expect(await c.frame((f) => f.e === "news")).toMatchObject({ d: "B's lobby" });
        expect(await c.frame((f) => f.e === "all")).toMatchObject({ d: "everyone on B" });
      }
      b1!.send({ t: "evt", e: "shout", d: "hey" });
      expect(await b2!.frame((f) => f.e === "shout")).toMatchObject({ d: "B:hey" });
      // then hub A's: had any of B's leaked, A's clients would hold them by now
      expect(await a1!.call("announce")).toBe(true);
      for (const c of [a1!, a2!]) {
        expect(await c.frame((f) => f.e === "news")).toMatchObject({ d: "A's lobby" });
        expect(await c.frame((f) => f.e === "all")).toMatchObject({ d: "everyone on A" });
      }
      expect(await rawA!.next()).toBe("A's lobby");
      expect(await rawA!.next()).toBe("everyone on A");
      for (const c of [a1!, a2!, rawA!]) for (const mark of ["B's", "on B", "B:"]) expect(JSON.stringify(c.all)).not.toContain(mark);
    } finally {
      for (const c of clients) c.close();
      await server.stop();
    }
  }, 30_000);
}
