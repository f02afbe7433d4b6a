import { expect, test } from "bun:test";
import { capabilities } from "../adapters/node.ts";
import { TestClient } from "./client.ts";
import { conformance } from "./conformance.ts";
import { lifecycle } from "./lifecycle.ts";
import { nodeCommand, serverEnv, spawnServer } from "./spawn.ts";
import type { Cert } from "./tls.ts";

const start = async (overrides?: object, cert?: Cert) => spawnServer(await nodeCommand("test/servers/node.ts"), serverEnv(overrides, cert));
conformance("node", start, capabilities);
lifecycle("node", start);

test("node: a frame above ws's own ceiling still closes 1009, and the close hook sees 1009", async () => {
  const server = await start({ maxMessageSize: 1000 });
  try {
    const obs = await TestClient.envelope(server.url);
    obs.send({ t: "join", g: "observers", id: "obs" });
    await obs.frame((f) => f.id === "obs");
    const c = await TestClient.connect(server.url + "?tag=huge");
    c.send("x".repeat(100_000)); // above max(2 × 1000, 64 KiB): ws refuses it before the core sees it
    expect((await c.closed).code).toBe(1009);
    const hook = await obs.frame((f) => f.e === "closed" && (f.d as { tag: string }).tag === "huge");
    expect(hook.d).toMatchObject({ code: 1009 });
    await obs.close();
  } finally {
    await server.stop();
  }
});

// The Node adapter holds the frames a tick sends to a socket and writes them together (past
// 16 KiB for one socket, or 1 MiB for all, it writes at once): nothing may be lost or reordered.
test("node: frames sent in one tick, past both write thresholds, all arrive in order, to one session and to a group", async () => {
  const server = await start();
  try {
    const clients = await Promise.all(Array.from({ length: 80 }, () => TestClient.envelope(server.url)));
    const first = clients[0]!;
    await Promise.all(clients.map(async (c, i) => {
      c.send({ t: "join", g: "burst", id: 100 + i });
      await c.frame((f) => f.id === 100 + i);
    }));
    const inOrder = async (c: TestClient, count: number) => {
      const got: number[] = [];
      while (got.length < count) got.push((await c.frame((f) => f.e === "n")).d as number);
      expect(got).toEqual(Array.from({ length: count }, (_, i) => i));
    };
    // ~28 KB to one socket: past its own threshold
    const alone = inOrder(first, 1000);
    await first.call("test/stream", { from: 0, count: 1000, to: first.sid });
    await alone;
    // ~14 KB to each of 80 sockets, ~1.1 MB in all: past the threshold of all held sockets
    const all = clients.map((c) => inOrder(c, 500));
    await first.call("test/stream", { from: 0, count: 500, group: "burst" });
    await Promise.all(all);
    expect((await first.call<{ dropped: number }>("test/metrics")).dropped).toBe(0);
    await Promise.all(clients.map((c) => c.close()));
  } finally {
    await server.stop();
  }
}, 30_000);
