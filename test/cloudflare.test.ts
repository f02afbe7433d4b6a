import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { capabilities } from "../adapters/cloudflare.ts";
import { TestClient } from "./client.ts";
import { conformance } from "./conformance.ts";
import { CLASS, SCRIPT, startCloudflare, type CloudflareServer } from "./servers/cloudflare/start.ts";

conformance("cloudflare", startCloudflare, capabilities);

describe("cloudflare: hibernation", () => {
  const ROOM = "hib";
  let srv: CloudflareServer;
  let open: TestClient[] = [];
  const url = (q = ""): string => `${srv.url}?room=${ROOM}${q ? "&" + q : ""}`;
  const env = async (q = ""): Promise<TestClient> => (open.push(await TestClient.envelope(url(q))), open.at(-1)!);
  // A real eviction: workerd drops the object's instance (hub, sessions, groups) and keeps the sockets.
  const evict = (): Promise<void> => srv.mf.unsafeEvictDurableObject(SCRIPT, CLASS, { name: ROOM, webSockets: "hibernate" });
  const instances = async (): Promise<number> => (await fetch(srv.url.replace(/^ws/, "http") + "__instances")).json() as Promise<number>;

  beforeAll(async () => {
    srv = await startCloudflare();
  });
  afterAll(async () => {
    for (const c of open) if (c.ws.readyState <= 1) await c.close();
    await srv?.stop();
  });

  test("sessions, data and groups come back from the attachments; sends and drops work after each wake", async () => {
    const obs = await env("tag=obs");
    obs.send({ t: "join", g: "observers", id: "obs" });
    await obs.frame((f) => f.id === "obs");
    const [a, b, c] = [await env("tag=a"), await env("tag=b"), await env("tag=c")];
    const r = await TestClient.connect(url("tag=raw"));
    open.push(r);
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
});
