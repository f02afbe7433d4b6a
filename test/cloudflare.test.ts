import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { capabilities } from "../adapters/cloudflare.ts";
import { TestClient } from "./client.ts";
import { conformance } from "./conformance.ts";
import type { FixtureOverrides } from "./fixture.ts";
import { CLASS, SCRIPT, startCloudflare, type CloudflareServer } from "./servers/cloudflare/start.ts";

conformance("cloudflare", startCloudflare, capabilities);

type F = Record<string, unknown>;
const closedHook = (obs: TestClient, tag: string, ms?: number): Promise<F> => obs.frame((f) => f.e === "closed" && (f.d as F).tag === tag, ms);

/** A fixture server in workerd, and helpers for one room (one Durable Object) on it. */
function server(overrides: FixtureOverrides = {}) {
  let srv: CloudflareServer;
  const open: TestClient[] = [];
  const track = (c: TestClient): TestClient => (open.push(c), c);
  beforeAll(async () => {
    srv = await startCloudflare(overrides);
  });
  afterAll(async () => {
    for (const c of open) if (c.ws.readyState <= 1) await c.close();
    await srv?.stop();
  });
  return (name: string) => {
    const url = (q = ""): string => `${srv.url}?room=${name}${q ? "&" + q : ""}`;
    const env = async (q = ""): Promise<TestClient> => track(await TestClient.envelope(url(q)));
    return {
      env,
      raw: async (q = ""): Promise<TestClient> => track(await TestClient.connect(url(q))),
      // A real eviction: workerd drops the object's instance (hub, sessions, groups) and keeps the sockets.
      evict: (): Promise<void> => srv.mf.unsafeEvictDurableObject(SCRIPT, CLASS, { name, webSockets: "hibernate" }),
      /** How many instances of this room's object have been made (module scope outlives evictions). */
      instances: async (): Promise<number> => (await fetch(`${srv.url.replace(/^ws/, "http")}__instances?room=${name}`)).json() as Promise<number>,
      async observer(): Promise<TestClient> {
        const o = await env("tag=obs");
        o.send({ t: "join", g: "observers", id: "obs" });
        await o.frame((f) => f.id === "obs");
        return o;
      },
      async login(user: string): Promise<TestClient> {
        const c = await env(`auth=frame&tag=${user}`);
        c.send({ t: "auth", id: "login", d: { user, password: `pw-${user}` } });
        expect(await c.frame((f) => f.id === "login")).toMatchObject({ t: "res" });
        return c;
      },
    };
  };
}

describe("cloudflare: hibernation", () => {
  // An auth deadline long enough that an eviction under load still comes before it.
  const room = server({ authTimeout: 1500 });

  test("sessions, data and groups come back from the attachments; sends and drops work after each wake", async () => {
    const { env, raw, evict, instances, observer } = room("hib");
    const obs = await observer();
    const [a, b, c] = [await env("tag=a"), await env("tag=b"), await env("tag=c")];
    const r = await raw("tag=raw");
    r.send("__sid");
    const rawSid = (await r.next()) as string;
    for (const x of [a, b]) await obs.call("test/join", { sid: x.sid, group: "g" });
    expect(await a.call("hib/remember", { note: "kept across a wake" })).toBe(true);
    const dataBefore = await a.call<Record<string, unknown>>("hib/data");
    const hubBefore = await a.call<string>("hib/instance");

    await evict();
    const asleep = await instances();
    // the runtime answers the envelope ping itself: no instance is made for it
    a.send('{"t":"ping"}');
    expect(await a.frame((f) => f.t === "pong")).toEqual({ t: "pong" });
    expect(await instances()).toBe(asleep);

    // the next event wakes a new instance, which rebuilds every session before handling it
    expect(await a.call<string>("hib/instance")).not.toBe(hubBefore);
    expect(await instances()).toBe(asleep + 1);
    expect(await a.call("hib/data")).toEqual({ ...dataBefore, note: "kept across a wake" });
    // remote is the CF-Connecting-IP header miniflare sets; it too comes back from the attachment
    expect(await a.call("whoami")).toMatchObject({ sid: a.sid, tag: "a", groups: ["g"], path: "/", protocol: "wirehub.v1", remote: "127.0.0.1" });
    expect(await a.call("hib/sessions")).toEqual([obs.sid, a.sid, b.sid, c.sid, rawSid].sort());
    expect(await a.call("test/members", { group: "g" })).toEqual([a.sid, b.sid].sort());
    expect(await a.call("test/members", { group: "observers" })).toEqual([obs.sid]);

    // a group send after the wake reaches the members only
    await c.call("test/emit", { event: "to-g", data: 1, target: { group: "g" } });
    for (const x of [a, b]) expect((await x.frame((f) => f.e === "to-g")).d).toBe(1);
    await c.nothing((f) => f.e === "to-g");

    await evict();
    // a targeted send is the first event after this wake
    await b.call("test/emit", { event: "to-c", data: 2, target: { to: c.sid } });
    expect((await c.frame((f) => f.e === "to-c")).d).toBe(2);
    await a.nothing((f) => f.e === "to-c");

    await evict();
    await b.call("test/emit", { event: "all-but-a", data: 3, target: { except: [a.sid] } });
    for (const x of [b, c, obs]) expect((await x.frame((f) => f.e === "all-but-a")).d).toBe(3);
    expect(await r.next()).toBe("3");
    await a.nothing((f) => f.e === "all-but-a");

    await evict();
    expect(await a.call("test/drop", { sid: b.sid, code: 4001, reason: "kicked" })).toBe(true);
    expect(await b.closed).toEqual({ code: 4001, reason: "kicked" });
    expect((await obs.frame((f) => f.e === "closed" && (f.d as { tag: string }).tag === "b")).d).toEqual({ sid: b.sid, code: 4001, reason: "kicked", tag: "b", user: null });
    expect(await a.call("test/members", { group: "g" })).toEqual([a.sid]);

    await evict();
    // a client's close is itself the first event after this wake: the hook still runs, with the restored data
    await c.close(4321, "see you");
    expect((await obs.frame((f) => f.e === "closed" && (f.d as { tag: string }).tag === "c")).d).toEqual({ sid: c.sid, code: 4321, reason: "see you", tag: "c", user: null });

    await evict();
    r.send("raw after a wake");
    expect(await r.next()).toBe("raw after a wake");
  });

  test("a logged-in session keeps its alias and presence after a wake; private messages reach it", async () => {
    const { evict, login } = room("hib-auth");
    const grace = await login("grace");
    const ada = await login("ada");
    const isAda = (op: string) => (f: F) => f.t === "presence" && f.op === op && (f.who as F).sid === ada.sid;
    await grace.frame(isAda("join"));

    await evict();
    grace.send({ t: "who", id: "w", g: "staff" });
    const list = (await grace.frame((f) => f.id === "w")).d as F[];
    expect(list.find((w) => w.alias === "ada")).toEqual({ sid: ada.sid, alias: "ada", available: true, pub: { title: "countess" } });
    expect(list.map((w) => w.alias).sort()).toEqual(["ada", "grace"]);

    await evict();
    // a private message by alias is the first event after this wake
    grace.send({ t: "dm", to: "ada", d: { text: "still there?" }, id: "dm1" });
    expect(await grace.frame((f) => f.id === "dm1")).toEqual({ t: "res", id: "dm1", d: { n: 1 } });
    expect(await ada.frame((f) => f.t === "dm")).toEqual({ t: "dm", from: { sid: grace.sid, alias: "grace" }, d: { text: "still there?" } });

    await evict();
    ada.send({ t: "set", id: "off", available: false });
    expect(await ada.frame((f) => f.id === "off")).toEqual({ t: "res", id: "off", d: { alias: "ada", available: false } });
    await grace.frame(isAda("leave"));

    await evict();
    // the availability change was stored: after another wake ada is still unavailable
    grace.send({ t: "dm", to: ada.sid, d: 1, id: "dm2" });
    expect(await grace.frame((f) => f.id === "dm2")).toMatchObject({ t: "err", c: "not_found" });
    expect(await ada.call("whoami")).toMatchObject({ sid: ada.sid, alias: "ada", groups: ["staff"] });
  });

  test("the auth deadline survives an eviction: the alarm wakes the object and closes 1008", async () => {
    const { env, evict, instances, observer } = room("hib-deadline");
    const obs = await observer();
    const u = await env("auth=frame&tag=late"); // never authenticates, never speaks
    await evict();
    const asleep = await instances();
    expect(await u.closed).toEqual({ code: 1008, reason: "authentication timeout" });
    expect((await closedHook(obs, "late")).d).toMatchObject({ sid: u.sid, code: 1008, reason: "authentication timeout" });
    expect(await instances()).toBe(asleep + 1); // woken once, by the alarm
  });

  test("replay buffers live in memory: after a wake a resume fails cleanly with resumed:false", async () => {
    const { env, evict, observer } = room("hib-resume");
    const obs = await observer();
    const c = await env("wh_ack=1&tag=resumer");
    const rt = (JSON.parse(c.all[0] as string) as F).rt as string;
    expect(typeof rt).toBe("string");

    await evict();
    const c2 = await env(`wh_resume=${rt}&wh_seq=0&tag=second`);
    const hello = JSON.parse(c2.all[0] as string) as F;
    expect(hello.resumed).toBe(false);
    expect(c2.sid).not.toBe(c.sid);
    // the old session lives on (its snapshot has everything but the buffer) and ends normally
    expect(await c.call("whoami")).toMatchObject({ sid: c.sid, tag: "resumer" });
    await c.close(4000, "gone");
    expect((await closedHook(obs, "resumer")).d).toMatchObject({ sid: c.sid, code: 4000, reason: "gone" });
  });
});

describe("cloudflare: liveness while the object sleeps", () => {
  const room = server({ ping: { policy: "expect", timeout: 1000 } });

  test("pings the runtime answers keep a client alive without waking the object; a silent one is closed by an alarm after a wake", async () => {
    const { env, evict, instances, observer } = room("sleepy");
    const obs = await observer();
    const pinger = await env("tag=pinger");
    const silent = await env("tag=silent"); // never pings
    await evict();
    const asleep = await instances();
    // a heartbeat of bare `{"t":"ping"}` frames: the runtime's auto-response answers them
    const beat = setInterval(() => {
      for (const c of [obs, pinger]) c.send('{"t":"ping"}');
    }, 100);
    try {
      expect(await pinger.frame((f) => f.t === "pong")).toEqual({ t: "pong" });
      expect(await instances()).toBe(asleep);
      const hook = await closedHook(obs, "silent", 5000);
      expect(hook.d).toMatchObject({ sid: silent.sid, code: 4000, reason: "ping timeout" });
      expect(await silent.closed).toMatchObject({ code: 4000, reason: "ping timeout" });
      expect(await instances()).toBe(asleep + 1); // the alarm's wake, and nothing else
      expect(pinger.ws.readyState).toBe(WebSocket.OPEN);
      expect(await pinger.call("whoami")).toMatchObject({ sid: pinger.sid });
      await obs.nothing((f) => f.e === "closed" && (f.d as F).tag === "pinger");
    } finally {
      clearInterval(beat);
    }
  });
});
