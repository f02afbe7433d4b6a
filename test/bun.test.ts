import { capabilities } from "../adapters/bun.ts";
import { conformance } from "./conformance.ts";
import { lifecycle } from "./lifecycle.ts";
import { count, firstAnswers } from "./reuse-port.ts";
import { startBun } from "./servers/bun.ts";

conformance("bun", startBun, capabilities);
lifecycle("bun", startBun);

test("reusePort: two hubs listen on one port, the kernel spreads the connections, a taken port rejects", async () => {
  const { createHub } = await import("../src/mod.ts");
  const { serve } = await import("../adapters/bun.ts");
  // Each hub answers any frame with its own name, so a client can tell which one it reached.
  const hubs = ["a", "b"].map((name) => createHub({ rateLimit: false, message: (s) => void s.send(name) }));
  const first = await serve(hubs[0]!, { port: 0, hostname: "127.0.0.1", reusePort: true });
  const second = await serve(hubs[1]!, { port: first.port, hostname: "127.0.0.1", reusePort: true });
  let clients: { answers: string[]; close(): void } | undefined;
  try {
    expect(second.port).toBe(first.port);
    // Without reusePort the port is taken: serve rejects, as it does on Node.
    await expect(serve(createHub(), { port: first.port, hostname: "127.0.0.1" })).rejects.toThrow();
    clients = await firstAnswers(first.url, 40);
    const a = count(clients.answers, "a"), b = count(clients.answers, "b");
    expect(a + b).toBe(40);
    expect(hubs[0]!.sessions.size).toBe(a);
    expect(hubs[1]!.sessions.size).toBe(b);
    // SO_REUSEPORT hashes each connection's address pair: with 40 connections, both hubs get some
    // (the chance that one gets all 40 is 2 in 2^40).
    expect(a).toBeGreaterThan(0);
    expect(b).toBeGreaterThan(0);
  } finally {
    clients?.close();
    await Promise.all([first.stop(), second.stop()]);
  }
});

test("createHandler: the upgrade is decided in the same turn unless the upgrade hook returns a promise", async () => {
  const { createHub } = await import("../src/mod.ts");
  const { createHandler } = await import("../adapters/bun.ts");
  // Bun upgrades fastest when `fetch` returns at once; a promise costs it a turn per connection.
  const hub = createHub({ upgrade: (req) => (new URL(req.url).searchParams.has("later") ? Promise.resolve(true) : undefined) });
  const h = createHandler(hub);
  const kinds: string[] = [];
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    websocket: h.websocket as never,
    fetch(req, srv) {
      const r = h.upgrade(req, srv as never);
      kinds.push(r instanceof Promise ? "promise" : "now");
      return r;
    },
  });
  try {
    for (const q of ["", "?later"]) {
      const ws = new WebSocket(`ws://127.0.0.1:${server.port}/${q}`);
      await new Promise((resolve, reject) => ((ws.onopen = resolve), (ws.onerror = reject)));
      ws.close();
    }
    expect(kinds).toEqual(["now", "promise"]);
    expect(hub.metrics.opened).toBe(2);
  } finally {
    await hub.close();
    server.stop(true);
  }
});

test("createHandler turns on flat frames: evt and res frames are written with one JSON.stringify, the same text", async () => {
  const { createHub } = await import("../src/mod.ts");
  const { createHandler } = await import("../adapters/bun.ts");
  const { encodeEvent, encodeResult, useFlatFrames } = await import("../src/protocol.ts");
  const was = useFlatFrames(false);
  try {
    const rope = [encodeEvent("e\n", { a: [1, "x"] }, 3), encodeEvent("e", "plain"), encodeResult(7, "\u2028"), encodeResult("r", undefined)];
    createHandler(createHub());
    expect(useFlatFrames(true)).toBe(true); // createHandler set it
    expect([encodeEvent("e\n", { a: [1, "x"] }, 3), encodeEvent("e", "plain"), encodeResult(7, "\u2028"), encodeResult("r", undefined)]).toEqual(rope);
    expect(rope[0]).toBe('{"t":"evt","e":"e\\n","d":{"a":[1,"x"]},"s":3}');
  } finally {
    useFlatFrames(was);
  }
});

test("two hubs on one Bun.serve (one route each): every socket reaches its own hub, and groups, broadcasts and sends to everyone stay apart", async () => {
  const { createHandler } = await import("../adapters/bun.ts");
  const { makeHub } = await import("./servers/two-hubs.ts");
  const { expectHubsApart } = await import("./two-hubs.ts");
  const closed: string[] = [];
  const [hubA, hubB] = [makeHub("A", (n) => closed.push(n)), makeHub("B", (n) => closed.push(n))];
  const [ha, hb] = [createHandler(hubA), createHandler(hubB)];
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: (req, srv) => (new URL(req.url).pathname === "/b" ? hb.upgrade(req, srv as never) : ha.upgrade(req, srv as never)),
    websocket: ha.websocket as never, // any one handler's: each socket is handed to the hub that admitted it
  });
  let clients: Awaited<ReturnType<typeof expectHubsApart>> = [];
  try {
    clients = await expectHubsApart(`ws://127.0.0.1:${server.port}/`);
    const [a1, , b1, b2] = clients;
    expect(hubA.sessions.size).toBe(3);
    expect(hubB.sessions.size).toBe(3);
    expect([...hubB.sessions.keys()]).toContain(b1!.sid);
    b2!.close();
    await b2!.closed;
    await a1!.call("name"); // a round trip later, the close has been handled
    expect(closed).toEqual(["B"]);
    expect(hubB.sessions.size).toBe(2);
    expect(hubA.sessions.size).toBe(3);
  } finally {
    for (const c of clients) c.close();
    await Promise.all([hubA.close(), hubB.close()]);
    server.stop(true);
  }
});
