import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { capabilities } from "../adapters/node.ts";
import { TestClient, upgradeStatus } from "./client.ts";
import { RawFrames, text } from "./frames.ts";
import { conformance } from "./conformance.ts";
import { lifecycle } from "./lifecycle.ts";
import { nodeCommand, serverEnv, spawnServer, type Spawned } from "./spawn.ts";
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

// With no upgrade hook and no origin-policy function the adapter decides on Node's own request,
// without an undici `Request`: the hub's checks, and what a session keeps, must be the same.
describe("node without upgrade hooks", () => {
  let server: Spawned;
  beforeAll(async () => void (server = await spawnServer(await nodeCommand("test/servers/node-plain.ts"))));
  afterAll(() => server?.stop());

  test("a session keeps its URL, address and headers, repeated lines joined, handshake lines left out", async () => {
    const url = server.url.replace(/\/?$/, "/room?x=1");
    const c = await RawFrames.open(url, undefined, 5000, ["X-Dup: a", "x-dup: b", "Cookie: k=v", "X-Mixed-Case: M", "Origin: " + new URL(url).origin.replace("ws:", "http:")]);
    const kept = JSON.parse(text(await c.next())) as { url: string; path: string; mode: string; remote: string; headers: [string, string][] };
    expect(kept).toMatchObject({ url: url.replace("ws:", "http:"), path: "/room", mode: "raw", remote: "127.0.0.1" });
    const h = new Headers(kept.headers);
    expect(h.get("x-dup")).toBe("a, b");
    expect(h.get("cookie")).toBe("k=v");
    expect(h.get("x-mixed-case")).toBe("M");
    for (const gone of ["connection", "upgrade", "sec-websocket-key", "sec-websocket-version"]) expect(h.has(gone)).toBe(false);
    c.sock.destroy();
  });

  test("malformed handshakes, a foreign origin, an unknown subprotocol and a Host that makes no URL are refused", async () => {
    const at = server.url.replace(/\/?$/, "/");
    expect(await upgradeStatus(at, {}, "POST")).toBe(405);
    expect(await upgradeStatus(at, { Upgrade: null, Connection: null })).toBe(426);
    expect(await upgradeStatus(at, { Upgrade: "foo" })).toBe(400);
    expect(await upgradeStatus(at, { "Sec-WebSocket-Key": "P5l8BJcZwRc=" })).toBe(400);
    expect(await upgradeStatus(at, { "Sec-WebSocket-Version": "12" })).toBe(426);
    expect(await upgradeStatus(at, { Origin: "http://evil.example" })).toBe(403);
    expect(await upgradeStatus(at, { Origin: new URL(at).origin.replace("ws:", "http:") })).toBe(101);
    expect(await upgradeStatus(at, { "Sec-WebSocket-Protocol": "nope" })).toBe(400);
    expect(await upgradeStatus(at, { Host: "bad host" })).toBe(400);
    expect(await upgradeStatus(at)).toBe(101); // and the server still serves
  });

  test("subprotocols are negotiated: wirehub.v1 is an envelope session, a listed one stays raw", async () => {
    const env = await TestClient.envelope(server.url);
    expect(await env.call("whoami")).toMatchObject({ mode: "envelope", protocol: "wirehub.v1", remote: "127.0.0.1" });
    await env.close();
    const c = await RawFrames.open(server.url, "protocolOne");
    expect(JSON.parse(text(await c.next()))).toMatchObject({ mode: "raw", protocol: "protocolOne" });
    c.sock.destroy();
  });
});
