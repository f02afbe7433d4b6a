/**
 * examples/cluster as its README command runs it (`npm run cluster -- --once`): three instances
 * on Redis, a client on each; a chat message, a cluster-wide `who`, a private message and a poll
 * (askAll) cross instances, then everything stops by itself.
 */
import { expect, test } from "bun:test";
import { spawn } from "bun";

/** Three consecutive free ports on 127.0.0.1 (bind each, then release). */
function freeBase(): number {
  for (let tries = 0; tries < 50; tries++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    const held: { stop(force?: boolean): void }[] = [];
    try {
      for (let i = 0; i < 3; i++) held.push(Bun.listen({ hostname: "127.0.0.1", port: base + i, socket: { data() {} } }));
      return base;
    } catch {
      // taken: try another base
    } finally {
      for (const h of held) h.stop(true);
    }
  }
  throw new Error("no three consecutive free ports");
}

test("npm run cluster -- --once: chat, who, a private message and a poll cross three instances over Redis", async () => {
  const proc = spawn([process.execPath, "run", "examples/cluster/start.ts", "--once"], {
    env: { ...process.env, BASE_PORT: String(freeBase()) },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [code, out] = await Promise.all([proc.exited, new Response(proc.stdout).text()]);
  expect(code).toBe(0);
  expect(out).toContain("carol asks who is in the lobby: alice, bob, carol");
  expect(out).toMatch(/bob @\d+ ← alice \(via a\): hello from alice/); // alice's instance a → bob on b
  expect(out).toContain("private message from bob: psst, bob here");
  expect(out).toContain("carol polls the lobby on every instance: alice yes, bob no, carol yes"); // askAll across instances
  expect(out.trim().endsWith("done.")).toBe(true);
}, 30_000);
