/** The inspector's HTTP side on the in-memory host: routing, tokens, actions, the feed, Prometheus text. */
import { describe, expect, test } from "bun:test";
import { createHub, MemoryBroker, WirehubError } from "../src/mod.ts";
import { createInspector, prometheus, type InspectorSnapshot } from "../src/inspector.ts";
import { parsePrometheus, sample, sseReader } from "./inspector-helpers.ts";
import { MemoryHost, parsed } from "./memory-host.ts";

const TOKEN = "t0ken-with-some-length";
const at = (path: string, init: RequestInit = {}): Request => new Request("http://hub.test" + path, init);
const bearer = (token = TOKEN): Record<string, string> => ({ authorization: `Bearer ${token}` });
const post = (body: unknown, headers: Record<string, string> = {}): Request =>
  at("/_wirehub", { method: "POST", headers: { "content-type": "application/json", ...bearer(), ...headers }, body: JSON.stringify(body) });

async function setup(options: Partial<Parameters<typeof createInspector>[1]> = {}) {
  const hub = createHub({ authorize: () => true });
  const host = new MemoryHost(hub);
  const inspector = createInspector(hub, { token: TOKEN, ...options });
  return { hub, host, inspector };
}

describe("inspector: routing and access", () => {
  test("needs a token or an authorize hook; paths start with /", () => {
    const hub = createHub();
    expect(() => createInspector(hub, {})).toThrow(WirehubError);
    expect(() => createInspector(hub, { token: "" })).toThrow(/empty/);
    expect(() => createInspector(hub, { token: TOKEN, path: "x" })).toThrow(/start with/);
    expect(() => createInspector(hub, { token: TOKEN, metricsPath: "/_wirehub" })).toThrow(/differ/);
    expect(() => createInspector(hub, { token: TOKEN, labels: { "bad-name": "x" } })).toThrow(/label name/);
    expect(createInspector(hub, { authorize: () => true }).path).toBe("/_wirehub");
  });

  test("other paths are not answered, at once (so `?? app(req)` passes them on)", async () => {
    const { inspector } = await setup({ metricsPath: "/metrics" });
    for (const p of ["/", "/_wirehub/", "/_wirehubx", "/metrics/x", "/other?token=" + TOKEN]) expect(inspector.fetch(at(p))).toBeUndefined();
    expect(inspector.fetch(at("/_wirehub"))).toBeInstanceOf(Promise);
    expect(inspector.fetch(at("/metrics"))).toBeInstanceOf(Promise);
  });

  test("no credentials: 401 with a Bearer challenge; a wrong token: 403; the right one: the page", async () => {
    const { inspector } = await setup({ metricsPath: "/metrics" });
    const none = (await inspector.fetch(at("/_wirehub")))!;
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toContain("Bearer");
    for (const wrong of ["?token=nope", "?token=" + TOKEN + "x", "?token=" + TOKEN.slice(0, -1), "?token="]) {
      expect((await inspector.fetch(at("/_wirehub" + wrong)))!.status).toBe(403);
    }
    expect((await inspector.fetch(at("/_wirehub?feed", { headers: bearer("nope") })))!.status).toBe(403);
    expect((await inspector.fetch(at("/metrics", { headers: bearer("nope") })))!.status).toBe(403);
    expect((await inspector.fetch(post({ action: "drop", id: "x" }, bearer("nope"))))!.status).toBe(403);

    const ok = (await inspector.fetch(at("/_wirehub?token=" + TOKEN)))!;
    expect(ok.status).toBe(200);
    expect(ok.headers.get("content-type")).toStartWith("text/html");
    expect(ok.headers.get("cache-control")).toBe("no-store");
    expect(ok.headers.get("referrer-policy")).toBe("no-referrer");
    const html = await ok.text();
    const nonce = /script-src 'nonce-([^']+)'/.exec(ok.headers.get("content-security-policy")!)![1]!;
    expect(html).toContain(`<script nonce="${nonce}">`);
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+stylesheet|https?:\/\/(?!www\.w3\.org)/); // self-contained: nothing fetched
    expect((await inspector.fetch(at("/_wirehub", { headers: bearer() })))!.status).toBe(200);
    expect((await inspector.fetch(at("/_wirehub?token=" + TOKEN, { method: "PUT" })))!.status).toBe(405);
  });

  test("authorize decides alone, or together with the token", async () => {
    const hub = createHub();
    const byCookie = createInspector(hub, { authorize: (r) => r.headers.get("cookie") === "admin=1" });
    expect((await byCookie.fetch(at("/_wirehub")))!.status).toBe(403);
    expect((await byCookie.fetch(at("/_wirehub", { headers: { cookie: "admin=1" } })))!.status).toBe(200);
    const both = createInspector(hub, { path: "/i", token: TOKEN, authorize: async (r) => r.headers.get("cookie") === "admin=1" });
    expect((await both.fetch(at("/i?token=" + TOKEN)))!.status).toBe(403);
    expect((await both.fetch(at("/i", { headers: { cookie: "admin=1" } })))!.status).toBe(401);
    expect((await both.fetch(at("/i?token=" + TOKEN, { headers: { cookie: "admin=1" } })))!.status).toBe(200);
  });
});

describe("inspector: actions", () => {
  test("off by default: POST gets 403 and nothing happens", async () => {
    const { hub, host, inspector } = await setup();
    const c = await host.connect();
    const r = (await inspector.fetch(post({ action: "drop", id: c.session.id })))!;
    expect(r.status).toBe(403);
    expect(c.closed).toBeUndefined();
    expect(hub.sessions.size).toBe(1);
  });

  test("drop with a code and reason; emit to a group; bad input is refused", async () => {
    const { host, inspector } = await setup({ actions: true });
    const [a, b, c] = [await host.connect("http://hub.test/", "wirehub.v1"), await host.connect("http://hub.test/", "wirehub.v1"), await host.connect()];
    a.session.join("room");
    c.session.join("room");

    expect((await inspector.fetch(post({ action: "drop", id: b.session.id }, { "content-type": "text/plain" })))!.status).toBe(415);
    expect((await inspector.fetch(post({ action: "drop", id: b.session.id }, { origin: "https://evil.example" })))!.status).toBe(403);
    expect((await inspector.fetch(post({ action: "drop", id: b.session.id, code: 1006 })))!.status).toBe(400);
    expect((await inspector.fetch(post({ action: "drop", id: b.session.id, reason: "é".repeat(62) })))!.status).toBe(400);
    expect((await inspector.fetch(post({ action: "emit", event: "", group: "room" })))!.status).toBe(400);
    expect((await inspector.fetch(post({ action: "nope" })))!.status).toBe(400);
    expect((await inspector.fetch(at("/_wirehub", { method: "POST", headers: { "content-type": "application/json", ...bearer() }, body: "{" })))!.status).toBe(400);
    expect(b.closed).toBeUndefined();

    const dropped = (await inspector.fetch(post({ action: "drop", id: b.session.id, code: 4321, reason: "bye from the inspector" }, { origin: "http://hub.test" })))!;
    expect(await dropped.json()).toEqual({ ok: true, local: true });
    expect(b.closed).toEqual({ code: 4321, reason: "bye from the inspector" });

    const emitted = (await inspector.fetch(post({ action: "emit", group: "room", event: "ping-test", data: { n: 1 } })))!;
    expect(await emitted.json()).toEqual({ ok: true, local: 2 });
    expect(parsed(a).at(-1)).toMatchObject({ t: "evt", e: "ping-test", d: { n: 1 } });
    expect(c.frames.at(-1)).toBe('{"n":1}'); // the raw member gets the payload as is
  });
});

describe("inspector: the feed", () => {
  test("snapshots list sessions and groups; the inspector itself is no session", async () => {
    const { hub, host, inspector } = await setup({ interval: 50 });
    const a = await host.connect("http://hub.test/", "wirehub.v1");
    const r = await host.connect();
    a.session.set({ alias: "ada" });
    a.session.join("room");
    r.session.join("room");
    r.session.join("raw-only");

    const res = (await inspector.fetch(at("/_wirehub?feed&token=" + TOKEN)))!;
    expect(res.headers.get("content-type")).toStartWith("text/event-stream");
    const feed = sseReader(res.body!);
    const first = await feed.next();
    expect(first.event).toBe("snapshot");
    const s = JSON.parse(first.data) as InspectorSnapshot;
    expect(s.sessions.total).toBe(2);
    expect(s.sessions.list.map((x) => [x.id, x.mode, x.alias, [...x.groups].sort()])).toEqual([
      [a.session.id, "envelope", "ada", ["room"]],
      [r.session.id, "raw", null, ["raw-only", "room"]],
    ]);
    expect(s.sessions.list[0]).toMatchObject({ state: "open", visible: true, remoteAddress: "127.0.0.1", path: "/", rtt: -1, bufferedAmount: 0 });
    expect(s.groups.list).toEqual([{ name: "room", members: 2, present: ["ada"] }, { name: "raw-only", members: 1, present: [] }]);
    expect(s.present).toBe(1);
    expect(s.instance).toEqual({ id: hub.id, broker: "own" });
    expect(hub.sessions.size).toBe(2);
    expect(hub.metrics.sessions).toBe(2);

    host.send(a, { t: "evt", e: "x", d: 1 });
    const second = JSON.parse((await feed.next()).data) as InspectorSnapshot;
    expect(second.metrics.messagesIn).toBe(s.metrics.messagesIn + 1);
    expect(second.t).toBeGreaterThan(s.t); // a later snapshot (timers may fire a millisecond early: no exact spacing)
    await feed.cancel();
  });

  test("a search filters sessions and groups before the limit cuts", async () => {
    const { host, inspector } = await setup({ limit: 2 });
    const socks = [];
    for (let i = 0; i < 5; i++) socks.push(await host.connect());
    socks[3]!.session.join("needle");
    const all = inspector.snapshot();
    expect(all.sessions).toMatchObject({ total: 5, matched: 5 });
    expect(all.sessions.list).toHaveLength(2);
    const found = inspector.snapshot("NEEDLE");
    expect(found.sessions.matched).toBe(1);
    expect(found.sessions.list[0]!.id).toBe(socks[3]!.session.id);
    expect(found.groups.list.map((g) => g.name)).toEqual(["needle"]);
    expect(inspector.snapshot(socks[1]!.session.id.slice(3, 12)).sessions.list.map((x) => x.id)).toEqual([socks[1]!.session.id]);
  });

  test("a shared MemoryBroker tells how many hubs it joins; the feed lists their instance entries", async () => {
    const broker = new MemoryBroker();
    const hubs = [createHub({ broker }), createHub({ broker }), createHub({ broker })];
    const inspector = createInspector(hubs[0]!, { token: TOKEN });
    expect(inspector.snapshot().instance).toMatchObject({ id: hubs[0]!.id, broker: "memory", hubs: 3 });
    // each hub wrote its instance entry when it started; the feed reads the store before each snapshot
    const feed = sseReader((await inspector.fetch(at("/_wirehub?feed", { headers: bearer() })))!.body!);
    const s = JSON.parse((await feed.next()).data) as InspectorSnapshot;
    await feed.cancel();
    expect(s.instance.instances!.map((i) => i.id)).toEqual([hubs[0]!.id, ...[hubs[1]!.id, hubs[2]!.id].sort()]);
    expect(inspector.snapshot().instance.instances).toHaveLength(3); // the list as last read
  });

  test("the feed says bye and ends when the hub shuts down; new feeds get 503", async () => {
    const { hub, inspector } = await setup({ interval: 50 });
    const feed = sseReader((await inspector.fetch(at("/_wirehub?feed", { headers: bearer() })))!.body!);
    expect((await feed.next()).event).toBe("snapshot");
    await hub.close();
    expect((await feed.next()).event).toBe("bye");
    await expect(feed.next()).rejects.toThrow("ended");
    expect((await inspector.fetch(at("/_wirehub?feed", { headers: bearer() })))!.status).toBe(503);
  });
});

describe("inspector: Prometheus text", () => {
  test("every metric with HELP and TYPE, closes by code, escaped constant labels", async () => {
    const { hub, host, inspector } = await setup({ metricsPath: "/metrics" });
    const [a, b] = [await host.connect("http://hub.test/", "wirehub.v1"), await host.connect()];
    a.session.join("g");
    host.send(b, "hello");
    b.session.close(4001, "x");
    a.session.close();
    await Promise.resolve();
    const res = (await inspector.fetch(at("/metrics", { headers: bearer() })))!;
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const { samples, types } = parsePrometheus(await res.text());
    expect(types).toMatchObject({ wirehub_sessions: "gauge", wirehub_groups: "gauge", wirehub_messages_in_total: "counter", wirehub_closes_total: "counter" });
    expect(sample(samples, "wirehub_sessions")).toBe(0);
    expect(sample(samples, "wirehub_sessions_opened_total")).toBe(2);
    expect(sample(samples, "wirehub_messages_in_total")).toBe(1);
    expect(sample(samples, "wirehub_bytes_in_total")).toBe(5);
    expect(sample(samples, "wirehub_closes_total", { code: "1000" })).toBe(1);
    expect(sample(samples, "wirehub_closes_total", { code: "4001" })).toBe(1);
    for (const name of ["wirehub_messages_out_total", "wirehub_bytes_out_total", "wirehub_dropped_total", "wirehub_errors_total", "wirehub_groups"]) {
      expect(sample(samples, name), name).toBeNumber();
    }

    const labelled = parsePrometheus(prometheus(hub, { labels: { hub: 'eu "1"\\\nx' } }));
    expect(sample(labelled.samples, "wirehub_closes_total", { code: "4001", hub: 'eu "1"\\\nx' })).toBe(1);
    expect(() => parsePrometheus('wirehub_x{a="b"} 1\n')).toThrow(); // the checker itself refuses a sample without HELP/TYPE
    expect(() => parsePrometheus('# HELP a b\n# TYPE a gauge\na{a="b\\q"} 1\n')).toThrow(/labels/);
  });
});

describe("inspector: across instances (two hubs on one MemoryBroker)", () => {
  async function pair() {
    const broker = new MemoryBroker({ ttl: 300 }); // a heartbeat every 100 ms
    const a = createHub({ broker, authorize: () => true });
    const b = createHub({ broker, authorize: () => true });
    const [hostA, hostB] = [new MemoryHost(a), new MemoryHost(b)];
    const inspector = createInspector(a, { token: TOKEN, actions: true, interval: 50, metricsPath: "/metrics" });
    return { a, b, hostA, hostB, inspector };
  }

  test("the snapshot lists both instances with their session counts; Prometheus too", async () => {
    const { a, b, hostA, hostB, inspector } = await pair();
    await hostA.connect();
    await hostA.connect();
    await hostB.connect();
    const feed = sseReader((await inspector.fetch(at("/_wirehub?feed", { headers: bearer() })))!.body!);
    let s: InspectorSnapshot | undefined;
    // b rewrites its entry at its next heartbeat: read snapshots until its count shows
    for (let i = 0; i < 40; i++) {
      s = JSON.parse((await feed.next()).data) as InspectorSnapshot;
      if (s.instance.instances?.find((x) => x.id === b.id)?.sessions === 1) break;
    }
    await feed.cancel();
    expect(s!.instance.instances!.map(({ id, sessions, self }) => ({ id, sessions, self }))).toEqual([
      { id: a.id, sessions: 2, self: true },
      { id: b.id, sessions: 1, self: false },
    ]);
    for (const x of s!.instance.instances!) expect(x.heartbeatAge).toBeWithin(0, 300);
    expect(s!.sessions.total).toBe(2); // the session list stays this hub's

    const { samples, types } = parsePrometheus(await (await inspector.fetch(at("/metrics", { headers: bearer() })))!.text());
    expect(types).toMatchObject({ wirehub_instances: "gauge", wirehub_instance_sessions: "gauge" });
    expect(sample(samples, "wirehub_instances")).toBe(2);
    expect(sample(samples, "wirehub_instance_sessions", { instance_id: a.id })).toBe(2);
    expect(sample(samples, "wirehub_instance_sessions", { instance_id: b.id })).toBe(1);

    await b.close({ timeout: 50 }); // a clean close takes b's entry out at once
    await a.cluster!.instances();
    expect(inspector.snapshot().instance.instances!.map((x) => x.id)).toEqual([a.id]);
    await a.close({ timeout: 50 });
  });

  test("a drop issued through hub A's inspector closes a session held by hub B, with the chosen code", async () => {
    const { a, b, hostB, inspector } = await pair();
    const far = await hostB.connect("http://hub.test/", "wirehub.v1");
    const r = (await inspector.fetch(post({ action: "drop", id: far.session.id, code: 4321, reason: "from A's inspector" })))!;
    expect(await r.json()).toEqual({ ok: true, local: false });
    for (let i = 0; i < 50 && !far.closed; i++) await new Promise((r) => setTimeout(r, 5));
    expect(far.closed).toEqual({ code: 4321, reason: "from A's inspector" });
    expect(b.sessions.size).toBe(0);
    await Promise.all([a.close({ timeout: 50 }), b.close({ timeout: 50 })]);
  });

  test("a hub without a cluster has no instance list and no instance metrics", async () => {
    const { hub, inspector } = await setup();
    expect(inspector.snapshot().instance).toEqual({ id: hub.id, broker: "own" });
    const { samples } = parsePrometheus(prometheus(hub));
    expect(samples.some((x) => x.name.startsWith("wirehub_instance"))).toBe(false);
    expect(() => prometheus(hub, { labels: { instance_id: "x" } })).toThrow(WirehubError);
  });
});
