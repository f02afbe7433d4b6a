/**
 * The conformance suite: one set of assertions every host must pass unchanged. A host file
 * (test/<host>.test.ts) calls `conformance()` with a function that starts the fixture hub
 * (test/fixture.ts) on that host and the adapter's declared capabilities. The cases live in
 * conformance-*.ts files, grouped by feature, and all run against the same server.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import type { Capabilities } from "../src/mod.ts";
import { TestClient, upgradeStatus } from "./client.ts";
import { authCases } from "./conformance-auth.ts";
import { messagingCases } from "./conformance-messaging.ts";
import { resumeCases } from "./conformance-resume.ts";
import { livenessCases } from "./conformance-liveness.ts";
import { limitCases } from "./conformance-limits.ts";
import { handshakeCases } from "./conformance-handshake.ts";
import { frameCases } from "./conformance-frames.ts";
import type { FixtureOverrides } from "./fixture.ts";

export interface Started {
  url: string;
  stop(): Promise<void>;
}

/** What every case file gets: the server URL and client factories that clean up after each test. */
export interface Ctx {
  readonly caps: Capabilities;
  /** Start another fixture server on this host with overrides (stopped after the test). */
  variant(overrides: FixtureOverrides): Promise<Started>;
  base(query?: string): string;
  env(query?: string): Promise<TestClient>;
  raw(query?: string): Promise<TestClient>;
  track(c: TestClient): TestClient;
  /** An envelope client in the "observers" group, which the fixture tells about close and private-message hooks. */
  observer(): Promise<TestClient>;
  /** An envelope client that authenticated with an auth frame as `user` (password "pw-<user>"). */
  login(user: string, query?: string): Promise<TestClient>;
}

/**
 * Run the suite. `start(overrides)` starts the fixture hub on the host; overrides are plain
 * JSON (child-process hosts get them as the WIREHUB_FIXTURE environment variable).
 */
export function conformance(host: string, start: (overrides?: FixtureOverrides) => Promise<Started>, caps: Capabilities): void {
  describe(`conformance: ${host}`, () => {
    let server: Started;
    let open: TestClient[] = [];
    let extra: Started[] = [];
    const ctx: Ctx = {
      caps,
      async variant(o) {
        const v = await start(o);
        extra.push(v);
        return v;
      },
      base: (q = "") => server.url.replace(/\/?$/, "/") + q,
      env: async (q = "") => ctx.track(await TestClient.envelope(ctx.base(q))),
      raw: async (q = "") => ctx.track(await TestClient.connect(ctx.base(q))),
      track: (c) => (open.push(c), c),
      async observer() {
        const o = await ctx.env();
        o.send({ t: "join", g: "observers", id: "obs" });
        await o.frame((f) => f.id === "obs");
        return o;
      },
      async login(user, q = "") {
        const c = await ctx.env(`?auth=frame${q ? "&" + q : ""}`);
        c.send({ t: "auth", id: "login", d: { user, password: `pw-${user}` } });
        const r = await c.frame((f) => f.id === "login");
        if (r.t !== "res") throw new Error(`login ${user} failed: ${JSON.stringify(r)}`);
        return c;
      },
    };

    beforeAll(async () => {
      server = await start();
    });
    afterAll(async () => {
      await server?.stop();
    });
    afterEach(async () => {
      for (const c of open) if (c.ws.readyState <= 1) await c.close();
      open = [];
      for (const v of extra) await v.stop();
      extra = [];
    });

    coreCases(ctx);
    authCases(ctx);
    messagingCases(ctx);
    resumeCases(ctx);
    livenessCases(ctx);
    limitCases(ctx);
    handshakeCases(ctx);
    frameCases(ctx);
  });
}

function coreCases(ctx: Ctx): void {
  const { base, env, raw, track, observer } = ctx;
  const caps = ctx.caps;
  test("declares its capabilities", () => {
    for (const k of ["protocolPing", "nativePubSub", "bufferedAmount", "hibernation", "validatesUtf8", "compression"] as const) expect(typeof caps[k]).toBe("boolean");
  });

  test("raw mode echoes text and binary frames unchanged", async () => {
    const c = await raw();
    expect(c.ws.protocol).toBe("");
    c.send("hello raw");
    expect(await c.next()).toBe("hello raw");
    c.send(new Uint8Array([0, 1, 2, 255]));
    const b = await c.next();
    expect(b).toBeInstanceOf(ArrayBuffer);
    expect([...new Uint8Array(b as ArrayBuffer)]).toEqual([0, 1, 2, 255]);
    c.send('{"t":"not-an-envelope"}');
    expect(await c.next()).toBe('{"t":"not-an-envelope"}');
  });

  test("envelope mode echoes events, JSON and base64 binary", async () => {
    const c = await env();
    expect(c.ws.protocol).toBe("wirehub.v1");
    expect(c.sid.length).toBeGreaterThanOrEqual(22);
    c.send({ t: "evt", e: "chat", d: { text: "hi", n: [1, 2] } });
    expect(await c.frame((f) => f.t === "evt")).toEqual({ t: "evt", e: "chat", d: { text: "hi", n: [1, 2] } });
    c.send({ t: "evt", e: "bytes", b: "AAEC/w==" });
    expect(await c.frame((f) => f.t === "evt")).toEqual({ t: "evt", e: "bytes", b: "AAEC/w==" });
  });

  test("malformed envelope frames get an error frame and the session stays open", async () => {
    const c = await env();
    for (const bad of ["not json", "[1,2]", '{"no":"type"}', '{"t":"evt"}', '{"t":"req","m":"x"}', '{"t":"join","g":5}']) {
      c.send(bad);
      const f = await c.frame((f) => f.t === "err");
      expect(f.c).toBe("bad_frame");
      expect(typeof f.m).toBe("string");
    }
    c.send({ t: "nope" });
    expect((await c.frame((f) => f.t === "err")).c).toBe("unknown_type");
    c.send(new Uint8Array([1, 2, 3]));
    expect((await c.frame((f) => f.t === "err")).c).toBe("bad_frame");
    expect((await c.call<{ sid: string }>("whoami")).sid).toBe(c.sid);
  });

  test("requests: success, unknown name, a throwing handler answers and the session stays", async () => {
    const c = await env("?tag=rpc");
    const who = await c.call<{ sid: string; tag: string; path: string; protocol: string }>("whoami");
    expect(who).toMatchObject({ sid: c.sid, tag: "rpc", path: "/", protocol: "wirehub.v1" });
    const nf = await c.request("does/not/exist");
    expect(nf).toMatchObject({ t: "err", c: "not_found" });
    const boom = await c.request("test/throw");
    expect(boom).toMatchObject({ t: "err", c: "handler_error", m: "internal error" });
    expect(JSON.stringify(boom)).not.toContain("boom");
    expect((await c.call<{ sid: string }>("whoami")).sid).toBe(c.sid);
  });

  test("the server can ask a client and await its answer", async () => {
    const [asker, target] = [await env(), await env()];
    const pending = asker.request("test/ask", { sid: target.sid, method: "add", data: [2, 3] });
    const q = await target.frame((f) => f.t === "req");
    expect(q).toMatchObject({ m: "add", d: [2, 3] });
    target.send({ t: "res", id: q.id as number, d: 5 });
    expect((await pending).d).toEqual({ ok: true, value: 5 });
    const refused = asker.request("test/ask", { sid: target.sid, method: "div", data: 0 });
    const q2 = await target.frame((f) => f.t === "req");
    target.send({ t: "err", id: q2.id as number, c: "bad_input", m: "no" });
    expect((await refused).d).toEqual({ ok: false, code: "bad_input" });
    const silent = await asker.request("test/ask", { sid: target.sid, method: "slow", timeout: 50 });
    expect(silent.d).toEqual({ ok: false, code: "timeout" });
  });

  test("the server can ask a whole group at once: one answer per member, an error for each that fails", async () => {
    const [asker, yes, no, silent, leaving, skipped] = [await env(), await env(), await env(), await env(), await env(), await env()];
    for (const c of [yes, no, silent, leaving, skipped]) await c.call("test/join", { sid: c.sid, group: "poll" });
    const all = asker.call<Record<string, unknown>>("test/ask-all", { method: "vote", data: { q: 1 }, target: { group: "poll", except: [skipped.sid], timeout: 1000 } });
    const asked = async (c: typeof yes) => {
      const q = await c.frame((f) => f.t === "req");
      expect(q).toMatchObject({ m: "vote", d: { q: 1 } });
      return q.id as number;
    };
    yes.send({ t: "res", id: await asked(yes), d: "pizza" });
    no.send({ t: "err", id: await asked(no), c: "busy", m: "no" });
    await asked(silent);
    await asked(leaving);
    leaving.close(1000);
    expect(await all).toEqual({
      [yes.sid]: { value: "pizza" },
      [no.sid]: { error: "RemoteError", code: "busy" },
      [silent.sid]: { error: "TimeoutError", code: "timeout" },
      [leaving.sid]: { error: "ClosedError", code: "closed" },
    });
    await skipped.nothing((f) => f.t === "req");
    await asker.nothing((f) => f.t === "req");
  });

  test("join and leave from the client, with authorization; empty groups disappear", async () => {
    const c = await env();
    c.send({ t: "join", g: "room-a", id: 1 });
    expect(await c.frame((f) => f.id === 1)).toMatchObject({ t: "res", d: { g: "room-a" } });
    expect(await c.call("test/members", { group: "room-a" })).toEqual([c.sid]);
    c.send({ t: "join", g: "forbidden-room", id: 2 });
    expect(await c.frame((f) => f.id === 2)).toMatchObject({ t: "err", c: "forbidden" });
    expect(await c.call("test/members", { group: "forbidden-room" })).toEqual([]);
    c.send({ t: "leave", g: "room-a", id: 3 });
    expect(await c.frame((f) => f.id === 3)).toMatchObject({ t: "res" });
    expect(await c.call<string[]>("test/groups")).not.toContain("room-a");
  });

  test("a group send reaches members only, raw and envelope alike", async () => {
    const [a, b, outsider, ctl] = [await env(), await env(), await env(), await env()];
    const r = await raw();
    r.send("__sid");
    const rawSid = (await r.next()) as string;
    const rOut = await raw();
    for (const s of [a.sid, b.sid, rawSid]) await ctl.call("test/join", { sid: s, group: "g1" });
    expect(await ctl.call("test/members", { group: "g1" })).toEqual([a.sid, b.sid, rawSid].sort());
    await ctl.call("test/emit", { event: "news", data: { n: 1 }, target: { group: "g1" } });
    for (const c of [a, b]) expect(await c.frame((f) => f.e === "news")).toEqual({ t: "evt", e: "news", d: { n: 1 } });
    expect(await r.next()).toBe('{"n":1}');
    await outsider.nothing((f) => f.e === "news");
    await ctl.nothing((f) => f.e === "news");
    rOut.send("after");
    expect(await rOut.next()).toBe("after"); // the first thing the raw outsider sees is its own echo
  });

  test("an everyone-send reaches every session; raw clients get the bare payload", async () => {
    const [a, b] = [await env(), await env()];
    const r = await raw();
    await a.call("test/emit", { event: "all", data: { hello: "everyone" } });
    for (const c of [a, b]) expect(await c.frame((f) => f.e === "all")).toEqual({ t: "evt", e: "all", d: { hello: "everyone" } });
    expect(await r.next()).toBe('{"hello":"everyone"}');
    await a.call("test/emit", { event: "all", data: "plain text" });
    expect(await r.next()).toBe("plain text");
  });

  test("send to a list of ids, with except", async () => {
    const [a, b, c, ctl] = [await env(), await env(), await env(), await env()];
    await ctl.call("test/emit", { event: "dm", data: 1, target: { to: [a.sid, b.sid] } });
    for (const x of [a, b]) expect((await x.frame((f) => f.e === "dm")).d).toBe(1);
    await c.nothing((f) => f.e === "dm");
    await ctl.call("test/emit", { event: "dm2", data: 2, target: { to: [a.sid, b.sid, c.sid], except: [b.sid] } });
    for (const x of [a, c]) expect((await x.frame((f) => f.e === "dm2")).d).toBe(2);
    await b.nothing((f) => f.e === "dm2");
  });

  test("except excludes from group and everyone sends; includeSelf includes the sender", async () => {
    const [a, b, c] = [await env(), await env(), await env()];
    for (const x of [a, b, c]) await a.call("test/join", { sid: x.sid, group: "g2" });
    await a.call("test/emit", { event: "x1", data: 1, target: { group: "g2", except: [b.sid] } });
    for (const x of [a, c]) await x.frame((f) => f.e === "x1");
    await b.nothing((f) => f.e === "x1");
    await a.call("test/emit", { event: "x2", data: 2, target: { except: [a.sid, c.sid] } });
    await b.frame((f) => f.e === "x2");
    await a.nothing((f) => f.e === "x2");
    await c.nothing((f) => f.e === "x2");
    // a session broadcast leaves the sender out by default ...
    await a.call("test/broadcast", { event: "x3", data: 3, group: "g2" });
    for (const x of [b, c]) await x.frame((f) => f.e === "x3");
    await a.nothing((f) => f.e === "x3");
    // ... and includes it when asked
    await a.call("test/broadcast", { event: "x4", data: 4, group: "g2", includeSelf: true });
    for (const x of [a, b, c]) await x.frame((f) => f.e === "x4");
  });

  test("drop by id delivers the code and reason to the client and to the close hook", async () => {
    const obs = await observer();
    const victim = await env("?tag=victim"); // it never speaks: the close must reach it anyway
    expect(await obs.call("test/drop", { sid: victim.sid, code: 4001, reason: "kicked" })).toBe(true);
    expect(await victim.closed).toEqual({ code: 4001, reason: "kicked" });
    const hook = await obs.frame((f) => f.e === "closed" && (f.d as { sid: string }).sid === victim.sid);
    expect(hook.d).toEqual({ sid: victim.sid, code: 4001, reason: "kicked", tag: "victim", user: null });
    expect(await obs.call("test/drop", { sid: "no-such-session", code: 4000, reason: "" })).toBe(false);
  });

  test("the close hook gets the client's code and reason", async () => {
    const obs = await observer();
    const c = await env("?tag=leaver");
    await c.close(4321, "see you");
    const hook = await obs.frame((f) => f.e === "closed" && (f.d as { tag: string }).tag === "leaver");
    expect(hook.d).toMatchObject({ sid: c.sid, code: 4321, reason: "see you" });
    const r = await raw("?tag=raw-leaver");
    await r.close(1000, "done");
    const hook2 = await obs.frame((f) => f.e === "closed" && (f.d as { tag: string }).tag === "raw-leaver");
    expect(hook2.d).toMatchObject({ code: 1000, reason: "done" });
  });

  test("a session the open hook closes ends like any other: the client gets the code, the close hook runs, the hub forgets it", async () => {
    const obs = await observer();
    for (const [mode, connect] of [["raw", raw], ["envelope", env]] as const) {
      const tag = `closed-at-open-${mode}`;
      const c = await connect(`?tag=${tag}&close-on-open=4002`);
      const hook = await obs.frame((f) => f.e === "closed" && (f.d as { tag: string }).tag === tag);
      expect(hook.d).toMatchObject({ code: 4002, reason: "closed by the open hook" });
      expect(await obs.call<string[]>("test/all-sessions")).not.toContain((hook.d as { sid: string }).sid);
      // workerd: a client that never sent a frame gets the close frame, but its close event waits
      // for the object's eviction (the `nudge` in adapters/cloudflare.ts); a raw one cannot be nudged
      // without `rawPing`.
      if (mode === "raw" && caps.hibernation) continue;
      expect(await c.closed).toEqual({ code: 4002, reason: "closed by the open hook" });
    }
  });

  test("a rejected upgrade returns the status the hook chose", async () => {
    for (const status of [401, 403, 429]) expect(await upgradeStatus(base(`?reject=${status}`))).toBe(status);
    expect(await upgradeStatus(base())).toBe(101);
  });

  test("subprotocols: known ones are echoed, unknown ones refused with 400", async () => {
    const c = track(await TestClient.connect(base(), ["protocolOne"]));
    expect(c.ws.protocol).toBe("protocolOne");
    c.send("raw under protocolOne");
    expect(await c.next()).toBe("raw under protocolOne");
    const both = track(await TestClient.connect(base(), ["protocolOne", "wirehub.v1"]));
    expect(both.ws.protocol).toBe("wirehub.v1");
    expect(await upgradeStatus(base(), { "Sec-WebSocket-Protocol": "mqtt" })).toBe(400);
  });
}
