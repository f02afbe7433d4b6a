/** Unit tests of the core through the in-memory host: groups, fan-out, broker, limits (the codec: codec.test.ts). */
import { describe, expect, test } from "bun:test";
import { createHub, MemoryBroker } from "../src/mod.ts";
import type { Session } from "../src/session.ts";
import { MemoryHost, parsed, until } from "./memory-host.ts";

/** The request headers of a valid WebSocket handshake. */
const HANDSHAKE = { upgrade: "websocket", connection: "Upgrade", "sec-websocket-version": "13", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==" };

describe("hub", () => {
  test("a hub takes one host: a second handler is refused with an error that says what to do", () => {
    const hub = createHub();
    const host = new MemoryHost(hub);
    expect(hub.attach(host.driver)).toBeDefined(); // the same driver again is fine
    expect(() => new MemoryHost(hub)).toThrow("make its handler (createHandler, serve) once and reuse it");
  });

  test("groups: O(1) membership, empty groups disappear, closed sessions leave", async () => {
    const hub = createHub();
    const host = new MemoryHost(hub);
    const a = await host.connect();
    const b = await host.connect();
    hub.join(a.session, "g");
    hub.join(b.session.id, "g");
    hub.join(a.session, "g"); // idempotent
    expect([...hub.members("g")].length).toBe(2);
    expect([...a.session.groups]).toEqual(["g"]);
    hub.leave(a.session, "g");
    expect([...hub.groups()]).toEqual(["g"]);
    b.session.close(4000, "bye");
    await Promise.resolve();
    await Promise.resolve();
    expect([...hub.groups()]).toEqual([]);
    expect(hub.get(b.session.id)).toBeUndefined();
    expect(hub.groupKeys.size).toBe(0); // a group's shared name goes with its last member
  });

  test("a session's groups through none, one, a few and many names, and back", async () => {
    const hub = createHub();
    const host = new MemoryHost(hub);
    const { session: s } = await host.connect();
    const names = (): string[] => [...s.groups].sort();
    const check = (expected: string[]) => {
      expect(s.groupCount).toBe(expected.length);
      expect(s.groupNames().sort()).toEqual(expected);
      for (const g of ["g0", "g1", "g5", "g9"]) expect(s.inGroup(g)).toBe(expected.includes(g));
      for (const g of expected) expect(hub.members(g).has(s)).toBe(true);
    };
    check([]);
    hub.join(s, "g0"); // one name
    check(["g0"]);
    hub.join(s, "g0"); // already in it
    check(["g0"]);
    hub.join(s, "g1"); // two
    check(["g0", "g1"]);
    hub.leave(s, "g0"); // back to one: the other name stays
    check(["g1"]);
    hub.join(s, "g0");
    hub.leave(s, "g0");
    check(["g1"]);
    hub.leave(s, "g1");
    check([]);
    expect([...hub.groups()]).toEqual([]);
    const all = Array.from({ length: 10 }, (_, i) => "g" + i); // past the few kept in an array
    for (const g of all) hub.join(s, g);
    check(all);
    for (const g of all.slice(1)) hub.leave(s, g);
    check(["g0"]);
    // Read while in one group: a live view that later joins and leaves update.
    const { session: t } = await host.connect();
    hub.join(t, "room-x");
    const view = t.groups;
    expect([...view]).toEqual(["room-x"]);
    hub.join(t, "room-y");
    hub.leave(t, "room-x");
    expect([...view]).toEqual(["room-y"]);
    expect(names()).toEqual(["g0"]);
    expect(s.groupNames()).not.toBe(s.groupNames()); // a copy each time
  });

  test("the close hook reads the groups the session was in; it has left them, and a later leave tells nobody", async () => {
    const seen: unknown[] = [];
    const hub = createHub({
      presence: "groups",
      upgrade: () => ({ auth: { alias: "user" } }),
      close(s) {
        seen.push({ groups: [...s.groups].sort(), stillMember: hub.members("a").has(s) });
        for (const g of s.groups) hub.emit("left", s.id, { group: g }); // the usual reason to read them
      },
    });
    const host = new MemoryHost(hub);
    const [x, y] = [await host.connect(undefined, "wirehub.v1"), await host.connect(undefined, "wirehub.v1")];
    for (const g of ["a", "b"]) hub.join(x.session, g);
    hub.join(y.session, "a");
    x.session.close(1000, "done");
    expect(await until(y, (f) => f.e === "left")).toMatchObject({ t: "evt", d: x.session.id });
    expect(seen).toEqual([{ groups: ["a", "b"], stillMember: false }]);
    expect(parsed(x).some((f) => f.e === "left")).toBe(false); // it had left before the hook's sends
    const frames = y.frames.length;
    hub.leave(x.session, "a"); // a record, not a membership: no presence event, no change
    hub.join(x.session, "c"); // a closed session joins nothing
    expect(y.frames.length).toBe(frames);
    expect([...hub.members("a")]).toEqual([y.session]);
    expect([...hub.groups()]).toEqual(["a"]);
  });

  test("a session keeps the upgrade headers but the handshake's own", async () => {
    const hub = createHub();
    const host = new MemoryHost(hub);
    const headers = {
      upgrade: "websocket", connection: "Upgrade", "sec-websocket-version": "13", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      "sec-websocket-extensions": "permessage-deflate", "sec-websocket-protocol": "wirehub.v1", cookie: "a=1", "user-agent": "test/1",
    };
    const adm = await host.seam.upgrade(new Request("http://host/", { headers }), { remoteAddress: "127.0.0.1" });
    if (adm instanceof Response) throw new Error(`refused: ${adm.status}`);
    const s = host.seam.open({ frames: [] }, adm);
    expect([...s.headers.keys()].sort()).toEqual(["cookie", "sec-websocket-protocol", "user-agent"]);
    expect(s.headers.get("cookie")).toBe("a=1");
  });

  test("sessions that share their URL, headers or address each still read their own", async () => {
    // The upgrade keeps one copy of strings that repeat between sessions, in a bounded table:
    // 1 200 upgrades cycle through more distinct values than it holds, and repeat some.
    const hub = createHub({ maxSessions: 2000 });
    const host = new MemoryHost(hub);
    const opened: Array<{ s: Session; url: string; ua: string; addr: string }> = [];
    for (let i = 0; i < 1200; i++) {
      const k = i % 3 === 0 ? 0 : i; // every third upgrade repeats the first values
      const url = `http://host/room/${k}?x=${k}`, ua = `agent ${k}`, addr = `10.0.${k >> 8}.${k & 255}`;
      const adm = await host.seam.upgrade(new Request(url, { headers: { ...HANDSHAKE, "user-agent": ua } }), { remoteAddress: addr });
      if (adm instanceof Response) throw new Error(`refused: ${adm.status}`);
      opened.push({ s: host.seam.open({ frames: [] }, adm), url, ua, addr });
    }
    for (const { s, url, ua, addr } of opened) {
      expect(s.url).toBe(url);
      expect(s.headers.get("user-agent")).toBe(ua);
      expect(s.remoteAddress).toBe(addr);
    }
    // A long value (a large cookie, say) skips the table and still reads back whole.
    const cookie = "c=" + "y".repeat(5000);
    const adm = await host.seam.upgrade(new Request("http://host/", { headers: { ...HANDSHAKE, cookie } }), { remoteAddress: "10.9.9.9" });
    if (adm instanceof Response) throw new Error(`refused: ${adm.status}`);
    expect(host.seam.open({ frames: [] }, adm).headers.get("cookie")).toBe(cookie);
  });

  test("an upgrade given as an UpgradeRequest builds its Request only for the hooks that receive one", async () => {
    // A host may hand the hub a cheaper view of the request (the Node adapter does); the hub's
    // own checks read its url, method and headers, and only user code gets a `Request`.
    const lines: [string, string][] = [...Object.entries(HANDSHAKE), ["origin", "http://host"], ["x-dup", "a"], ["X-Dup", "b"], ["sec-websocket-protocol", "wirehub.v1"]];
    let built = 0;
    const view = (url: string) => {
      let request: Request | undefined;
      return {
        url, method: "GET",
        headers: {
          get: (name: string) => lines.filter(([k]) => k.toLowerCase() === name.toLowerCase()).map(([, v]) => v).join(", ") || null,
          forEach: (cb: (v: string, k: string) => void) => lines.forEach(([k, v]) => cb(v, k.toLowerCase())),
        },
        toRequest: () => (request ??= (built++, new Request(url, { headers: lines }))),
      };
    };
    // No upgrade hook, origins by list: no Request at all.
    const plain = new MemoryHost(createHub({ origins: ["http://host"] }));
    const a = await plain.seam.upgrade(view("http://host/room?x=1"), { remoteAddress: "10.1.1.1" });
    if (a instanceof Response) throw new Error(`refused: ${a.status}`);
    expect(built).toBe(0);
    expect(a.mode).toBe("envelope");
    expect(a.headers.get("x-dup")).toBe("a, b"); // the admission's Headers, built from the view when read
    expect(a.headers.get("sec-websocket-key")).toBe(HANDSHAKE["sec-websocket-key"]);
    const s = plain.seam.open({ frames: [] }, a);
    expect(s.url).toBe("http://host/room?x=1");
    expect(s.headers.get("x-dup")).toBe("a, b");
    expect(s.headers.has("sec-websocket-key")).toBe(false);
    expect(built).toBe(0);
    // A view is still checked like a Request: a foreign origin, a bad key.
    const foreign = await plain.seam.upgrade({ ...view("http://host/"), headers: { ...view("").headers, get: (n: string) => (n === "origin" ? "http://evil.example" : view("").headers.get(n)) } });
    expect((foreign as Response).status).toBe(403);
    // An origin function and an upgrade hook both receive the one Request, built once.
    const seen: Request[] = [];
    const hooked = new MemoryHost(createHub({
      origins: (_o, req) => (seen.push(req), true),
      upgrade: (req) => (seen.push(req), { data: { path: new URL(req.url).pathname, dup: req.headers.get("x-dup") } }),
    }));
    const b = await hooked.seam.upgrade(view("http://host/hooked"));
    if (b instanceof Response) throw new Error(`refused: ${b.status}`);
    expect(built).toBe(1);
    expect(seen.length).toBe(2);
    expect(seen[0]).toBeInstanceOf(Request);
    expect(seen[1]).toBe(seen[0]!);
    expect(b.data).toEqual({ path: "/hooked", dup: "a, b" });
  });

  test("a broadcast is encoded once: every recipient gets the same string", async () => {
    const hub = createHub();
    const host = new MemoryHost(hub);
    const socks = await Promise.all([1, 2, 3].map(() => host.connect("http://h/", "wirehub.v1")));
    const raws = await Promise.all([1, 2].map(() => host.connect()));
    for (const s of socks) s.frames.length = 0;
    hub.emit("news", { big: "x".repeat(1000) });
    const env = socks.map((s) => s.frames[0]);
    expect(env[0]).toBe(env[1]!);
    expect(env[1]).toBe(env[2]!);
    expect(raws[0]!.frames[0]).toBe(raws[1]!.frames[0]!);
    expect(raws[0]!.frames[0]).toBe(JSON.stringify({ big: "x".repeat(1000) }));
  });

  test("two hubs sharing a MemoryBroker act as one: everyone, group, id and drop cross over", async () => {
    const broker = new MemoryBroker();
    const [h1, h2] = [createHub({ broker }), createHub({ broker })];
    const [m1, m2] = [new MemoryHost(h1), new MemoryHost(h2)];
    const a = await m1.connect("http://h/", "wirehub.v1");
    const b = await m2.connect("http://h/", "wirehub.v1");
    h2.join(b.session, "room");
    expect(broker.subscribers("g:room")).toBe(1);
    h1.emit("all", 1);
    h1.emit("room", 2, { group: "room" });
    h1.emit("direct", 3, { to: b.session.id });
    h1.emit("skip", 4, { group: "room", except: [b.session.id] });
    expect(parsed(b).filter((f) => f.t === "evt").map((f) => f.e)).toEqual(["all", "room", "direct"]);
    expect(parsed(a).filter((f) => f.t === "evt").map((f) => f.e)).toEqual(["all"]);
    h1.drop(b.session.id, 4003, "remote kick");
    expect(b.closed).toEqual({ code: 4003, reason: "remote kick" });
    await until(b, () => true);
    h2.leave(b.session, "room");
    expect(broker.subscribers("g:room")).toBe(0);
  });

  test("an oversized message closes 1009 and touches no other session", async () => {
    const hub = createHub({ maxMessageSize: 100 });
    const host = new MemoryHost(hub);
    const [a, b] = [await host.connect(), await host.connect()];
    host.send(a, "x".repeat(101));
    expect(a.closed).toEqual({ code: 1009, reason: "message too big" });
    host.send(a, "é".repeat(40)); // 80 bytes but only after close: ignored
    expect(b.closed).toBeUndefined();
  });

  test("text near the limit is measured in UTF-8 bytes", async () => {
    const hub = createHub({ maxMessageSize: 100, message: (s, m) => s.send(m.data) });
    const host = new MemoryHost(hub);
    const a = await host.connect();
    host.send(a, "é".repeat(50)); // 50 chars, 100 bytes: allowed
    expect(a.closed).toBeUndefined();
    host.send(a, "é".repeat(51)); // 102 bytes
    expect(a.closed?.code).toBe(1009);
  });

  test("hooks that throw or reject are reported and never escape to the host", async () => {
    const errors: unknown[] = [];
    const hub = createHub({
      open() {
        throw new Error("open failed");
      },
      message(_s, msg) {
        if (msg.event === "sync") throw new Error("sync message failed");
        return Promise.reject(new Error(`${msg.mode} message failed`));
      },
      async close() {
        throw new Error("close failed");
      },
      error: (e) => void errors.push(e),
    });
    const host = new MemoryHost(hub);
    const a = await host.connect();
    host.send(a, "hi");
    // envelope events no listener takes go to the message hook too
    const e = await host.connect("http://h/", "wirehub.v1");
    host.send(e, JSON.stringify({ t: "evt", e: "sync", d: 1 }));
    host.send(e, JSON.stringify({ t: "evt", e: "later", d: 1 }));
    host.seam.close(e.session, 1000, "");
    await new Promise((r) => setTimeout(r, 0));
    expect(errors.map((e) => (e as Error).message)).toEqual([
      "open failed", "raw message failed", "open failed", "sync message failed", "envelope message failed", "close failed",
    ]);
    expect(a.closed).toBeUndefined(); // the other session is untouched
    host.send(a, "still here");
    await new Promise((r) => setTimeout(r, 0));
    expect(errors).toHaveLength(7);
  });

  test("graceful close: bye frame, 1001 to everyone, new upgrades refused with 503", async () => {
    const closes: number[] = [];
    const hub = createHub({ close: (_s, code) => void closes.push(code) });
    const host = new MemoryHost(hub);
    const e = await host.connect("http://h/", "wirehub.v1");
    const r = await host.connect();
    await hub.close();
    expect(parsed(e).at(-1)).toEqual({ t: "bye", c: 1001, r: "server shutting down" });
    expect(e.closed?.code).toBe(1001);
    expect(r.closed?.code).toBe(1001);
    expect(closes).toEqual([1001, 1001]);
    const refused = await host.seam.upgrade(new Request("http://h/", { headers: { upgrade: "websocket" } }));
    expect((refused as Response).status).toBe(503);
  });

  test("canResume binds a resume to the caller (catalogue 31): refused → a fresh session", async () => {
    const hub = createHub<{ user: string }>({
      upgrade: (req) => ({ data: { user: new URL(req.url).searchParams.get("user") ?? "" } }),
      canResume: (s, a) => s.data.user === a.data.user,
    });
    const host = new MemoryHost(hub);
    const a = await host.connect("http://h/?user=ada&wh_ack=1", "wirehub.v1");
    const rt = parsed(a)[0]!.rt as string;
    a.session.close(4000, "gone"); // server-caused 4000: detached, waiting for its client
    await Promise.resolve();
    const thief = await host.connect(`http://h/?user=eve&wh_resume=${rt}&wh_seq=0`, "wirehub.v1");
    expect(parsed(thief)[0]).toMatchObject({ t: "hello", resumed: false });
    expect(thief.session.id).not.toBe(a.session.id);
  });

  test("catalogue 46/57/11/55: send after close, close twice, an answer to an unknown request, no reply after close", async () => {
    let release!: () => void;
    const hub = createHub({ resume: false });
    hub.handle("slow", () => new Promise<string>((r) => (release = () => r("late"))));
    const host = new MemoryHost(hub);
    const a = await host.connect("http://h/", "wirehub.v1");
    host.send(a, { t: "res", id: 999, d: "nobody asked" }); // ignored, no error, session stays
    host.send(a, { t: "req", id: 1, m: "slow" });
    const frames = a.frames.length;
    a.session.close(1000, "bye");
    await Promise.resolve();
    release();
    await new Promise((r) => setTimeout(r, 0));
    expect(a.frames.length).toBe(frames); // the answer to "slow" was never sent
    expect(a.session.send("after")).toBe("dropped");
    expect(a.session.emit("x", 1)).toBe("dropped");
    await hub.close();
    await hub.close(); // idempotent
    expect(hub.metrics.closes[1000]).toBe(1);
  });

  test("catalogue 44: frames the host drops are counted", async () => {
    const hub = createHub();
    const host = new MemoryHost(hub);
    const a = await host.connect();
    host.driver.send = () => "dropped";
    a.session.send("x");
    hub.emit("y", 1);
    expect(hub.metrics.dropped).toBe(2);
  });
});
