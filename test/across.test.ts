/**
 * `hub.askAll` (one server→client request to many sessions, one answer each: Socket.IO's
 * `emitWithAck` to a room) and `hub.fetchSessions` (Socket.IO's `fetchSockets`). Through the
 * in-memory host, and across hubs on a MemoryBroker (the cluster path the Redis and NATS brokers
 * take; test/scale.ts runs both across processes).
 */
import { expect, test } from "bun:test";
import { ClosedError, createHub, MemoryBroker, RemoteError, TimeoutError, WirehubError, type AskAllAnswer, type Broker, type Packet } from "../src/mod.ts";
import { MemoryHost, parsed, until, type MemSocket } from "./memory-host.ts";

const env = "wirehub.v1";
type Sock = MemSocket & { session: { id: string } };

/** Answer the request for `method` that `s` receives (`res` with `d` or `b`, or `err`), once it arrives; returns the request frame. */
async function answer(host: MemoryHost, s: Sock, method: string, reply: Record<string, unknown>): Promise<Record<string, any>> {
  const q = await until(s, (f) => f.t === "req" && f.m === method);
  host.send(s, { ...reply, id: q.id });
  return q;
}
const requests = (s: MemSocket) => parsed(s).filter((f) => f.t === "req");
const byId = (a: AskAllAnswer, b: AskAllAnswer) => (a.id < b.id ? -1 : 1);

test("askAll asks every open envelope session of a group once and gives one answer each", async () => {
  const hub = createHub({ requestTimeout: 150 });
  const host = new MemoryHost(hub);
  const [yes, no, silent, gone, skipped, outsider] = await Promise.all([1, 2, 3, 4, 5, 6].map(() => host.connect("http://h/", env)));
  const raw = await host.connect("http://h/");
  for (const s of [yes, no, silent, gone, skipped, raw]) hub.join(s.session, "poll");
  const all = hub.askAll("vote", { q: "lunch?" }, { group: "poll", except: skipped.session.id });
  const [q] = await Promise.all([
    until(yes, (f) => f.t === "req").then((f) => (host.send(yes, { t: "res", id: f.id, d: "pizza" }), f)),
    until(no, (f) => f.t === "req").then((f) => host.send(no, { t: "err", id: f.id, c: "busy", m: "in a meeting", d: { until: 14 } })),
    until(gone, (f) => f.t === "req").then(() => gone.session.close(1000)),
  ]);
  expect(q).toMatchObject({ t: "req", m: "vote", d: { q: "lunch?" } });
  const got = (await all).sort(byId);
  const want = [
    { id: yes.session.id, ok: true, value: "pizza" },
    { id: no.session.id, ok: false, code: "busy", type: RemoteError, data: { until: 14 } },
    { id: silent.session.id, ok: false, code: "timeout", type: TimeoutError }, // the hub's requestTimeout
    { id: gone.session.id, ok: false, code: "closed", type: ClosedError },
  ].sort((a, b) => (a.id < b.id ? -1 : 1));
  expect(got.map((a) => a.id)).toEqual(want.map((w) => w.id));
  for (const [i, a] of got.entries()) {
    const w = want[i]!;
    if (w.ok) expect(a).toEqual({ id: w.id, ok: true, value: w.value });
    else {
      expect(a.ok).toBe(false);
      if (a.ok) continue;
      expect(a.error).toBeInstanceOf(w.type!);
      expect(a.error.code).toBe(w.code!);
      if (w.data) expect(a.error.data).toEqual(w.data);
    }
  }
  // neither the excluded member, nor a non-member, nor a raw session (it cannot answer) was asked
  for (const s of [skipped, outsider]) expect(requests(s)).toEqual([]);
  expect(raw.frames).toEqual([]);
  expect(await hub.askAll("vote", null, { group: "nobody-here" })).toEqual([]);
});

test("askAll: ids, ids within a group, everyone; bytes both ways; sessions not yet authenticated are not asked", async () => {
  const hub = createHub({ authenticate: (_s, c) => (c === "ok" ? {} : undefined) });
  const host = new MemoryHost(hub);
  const [a, b, c] = await Promise.all([1, 2, 3].map(() => host.connect("http://h/", env)));
  const stranger = await host.connect("http://h/", env); // never authenticates
  for (const s of [a, b, c]) {
    host.send(s, { t: "auth", id: "x", d: "ok" });
    await until(s, (f) => f.id === "x");
  }
  hub.join(a.session, "g");
  const reply = (s: Sock, value: number) => until(s, (f) => f.t === "req" && f.d === value).then((f) => host.send(s, { t: "res", id: f.id, d: f.d * 10 }));

  let all = hub.askAll("x", 1, { to: [a.session.id, b.session.id, "no-such-id"] });
  await Promise.all([reply(a, 1), reply(b, 1)]);
  expect((await all).map((r) => r.ok && r.value)).toEqual([10, 10]);

  all = hub.askAll("x", 2, { to: [a.session.id, b.session.id], group: "g" }); // only ids that are members
  await reply(a, 2);
  expect(await all).toEqual([{ id: a.session.id, ok: true, value: 20 }]);

  all = hub.askAll("x", 3, { timeout: 1000 }); // everyone
  await Promise.all([reply(a, 3), reply(b, 3), reply(c, 3)]);
  expect((await all).length).toBe(3);
  expect(requests(stranger)).toEqual([]);

  const bytes = hub.askAll("blob", new Uint8Array([1, 2, 3]), { to: c.session.id });
  const q = await until(c, (f) => f.m === "blob");
  expect(q.b).toBe("AQID");
  host.send(c, { t: "res", id: q.id, b: "BAU=" });
  const [r] = await bytes;
  expect(r).toEqual({ id: c.session.id, ok: true, value: new Uint8Array([4, 5]) });
});

/** A MemoryBroker whose links report the packets their hub publishes, and can hide `ask` and `list` packets from their hub. */
function watched(broker: MemoryBroker): Broker & { published: Packet[]; deaf: Set<string> } {
  const published: Packet[] = [];
  const deaf = new Set<string>();
  return {
    published,
    deaf,
    connect(node) {
      const link = broker.connect({ ...node, id: node.id, receive: (t, p) => void (deaf.has(node.id) && (p.k === "ask" || p.k === "list") ? 0 : node.receive(t, p)) });
      return { ...link, publish: (t: string, p: Packet) => (published.push(p), link.publish(t, p)) };
    },
  };
}

test("askAll across hubs on one broker: remote answers arrive with their kind of error; ids held here ask nobody else", async () => {
  const broker = watched(new MemoryBroker());
  const [A, B, C] = [createHub({ broker }), createHub({ broker }), createHub({ broker })];
  const [hostA, hostB, hostC] = [new MemoryHost(A), new MemoryHost(B), new MemoryHost(C)];
  const a = await hostA.connect("http://h/", env);
  const [b1, b2, b3] = await Promise.all([1, 2, 3].map(() => hostB.connect("http://h/", env)));
  const c = await hostC.connect("http://h/", env);
  for (const [hub, s] of [[A, a], [B, b1], [B, b2], [B, b3], [C, c]] as const) hub.join(s.session, "room");
  await Promise.all([A, B, C].map((h) => h.brokerReady()));

  const all = A.askAll("blob", new Uint8Array([9]), { group: "room", except: c.session.id, timeout: 300 });
  await Promise.all([
    answer(hostA, a, "blob", { t: "res", d: "here" }).then((q) => expect(q.b).toBe("CQ==")),
    answer(hostB, b1, "blob", { t: "res", b: "AQI=" }).then((q) => expect(q.b).toBe("CQ==")), // bytes cross instances both ways
    answer(hostB, b2, "blob", { t: "err", c: "nope", m: "not now", d: { later: true } }),
    until(b3, (f) => f.t === "req").then(() => b3.session.close(1000)),
  ]);
  const got = new Map((await all).map((r) => [r.id, r]));
  expect(got.size).toBe(4); // a, b1, b2, b3; c was excluded
  expect(got.get(a.session.id)).toEqual({ id: a.session.id, ok: true, value: "here" });
  expect(got.get(b1.session.id)).toEqual({ id: b1.session.id, ok: true, value: new Uint8Array([1, 2]) });
  const refused = got.get(b2.session.id)!;
  expect(refused.ok || refused.error).toBeInstanceOf(RemoteError);
  expect(refused.ok || [refused.error.code, refused.error.message, refused.error.data]).toEqual(["nope", "not now", { later: true }]);
  const closed = got.get(b3.session.id)!;
  expect(closed.ok || closed.error).toBeInstanceOf(ClosedError);
  expect(requests(c)).toEqual([]);

  // a silent client on another instance times out there, and the error says so here
  const late = A.askAll("ping", null, { to: b1.session.id, timeout: 100 });
  const [r] = await late;
  expect(r!.ok || r!.error).toBeInstanceOf(TimeoutError);
  expect(r!.ok || r!.error.message).toBe('request "ping" timed out after 100 ms');

  // ids all held here: no packet to the other instances
  const before = broker.published.filter((p) => p.k === "ask").length;
  const mine = A.askAll("x", 1, { to: a.session.id });
  await answer(hostA, a, "x", { t: "res", d: 1 });
  expect(await mine).toEqual([{ id: a.session.id, ok: true, value: 1 }]);
  expect(broker.published.filter((p) => p.k === "ask").length).toBe(before);
});

test("askAll: an instance that never replies adds nothing, once the timeout and a grace period have passed", async () => {
  const broker = watched(new MemoryBroker());
  const [A, B] = [createHub({ broker }), createHub({ broker })];
  const [hostA, hostB] = [new MemoryHost(A), new MemoryHost(B)];
  const a = await hostA.connect("http://h/", env);
  const b = await hostB.connect("http://h/", env);
  broker.deaf.add(B.id); // B stays listed as alive but never hears the question (a stalled process)
  const all = A.askAll("x", 1, { timeout: 50 });
  await answer(hostA, a, "x", { t: "res", d: "a" });
  expect(await all).toEqual([{ id: a.session.id, ok: true, value: "a" }]);
  expect(requests(b)).toEqual([]);
});

test("fetchSessions describes the sessions a query names, open or detached; data is the session's own object here", async () => {
  const hub = createHub<{ role: string }>({ upgrade: (req) => ({ data: { role: new URL(req.url).searchParams.get("role") ?? "guest" } }) });
  const host = new MemoryHost(hub);
  const admin = await host.connect("http://h/?role=admin", env);
  const raw = await host.connect("http://h/?wh_ack=1");
  const away = await host.connect("http://h/?wh_ack=1", env); // keeps a replay buffer: detaches on 4000
  hub.join(admin.session, "ops");
  hub.join(away.session, "ops");
  away.session.close(4000, "gone");
  await Promise.resolve();
  admin.session.set({ alias: "root" });
  const all = await hub.fetchSessions();
  expect(all.map((i) => i.id).sort()).toEqual([admin, raw, away].map((s) => s.session.id).sort());
  const info = all.find((i) => i.id === admin.session.id)!;
  expect(info).toEqual({
    id: admin.session.id, instance: hub.id, mode: "envelope", state: "open", authenticated: true, alias: "root", available: true,
    groups: ["ops"], data: { role: "admin" }, url: "http://h/?role=admin", remoteAddress: "127.0.0.1", openedAt: admin.session.openedAt,
  });
  expect(info.data).toBe(admin.session.data);
  expect(all.find((i) => i.id === raw.session.id)).toMatchObject({ mode: "raw", groups: [], alias: undefined });
  expect((await hub.fetchSessions({ group: "ops" })).map((i) => [i.id, i.state])).toEqual([[admin.session.id, "open"], [away.session.id, "detached"]]);
  expect((await hub.fetchSessions({ group: "ops", except: away.session.id })).map((i) => i.id)).toEqual([admin.session.id]);
  expect((await hub.fetchSessions({ to: [raw.session.id, "no-such-id"] })).map((i) => i.id)).toEqual([raw.session.id]);
  expect(await hub.fetchSessions({ to: raw.session.id, group: "ops" })).toEqual([]);
});

test("fetchSessions across hubs: every instance's sessions; acting on one by id reaches it", async () => {
  const broker = watched(new MemoryBroker());
  const [A, B] = [createHub({ broker }), createHub<{ n: number }>({ broker, upgrade: () => ({ data: { n: 7 } }) })];
  const [hostA, hostB] = [new MemoryHost(A), new MemoryHost(B)];
  const a = await hostA.connect("http://h/", env);
  const b = await hostB.connect("http://h/", env);
  for (const [hub, s] of [[A, a], [B, b]] as const) hub.join(s.session, "room");
  const infos = await A.fetchSessions({ group: "room" });
  expect(infos.map((i) => [i.id, i.instance])).toEqual([[a.session.id, A.id], [b.session.id, B.id]]);
  const remote = infos[1]!;
  expect(remote).toMatchObject({ mode: "envelope", state: "open", groups: ["room"], data: { n: 7 }, alias: undefined });
  A.join(remote.id, "picked"); // held by B: B does it
  expect([...b.session.groups]).toEqual(["room", "picked"]);
  const before = broker.published.filter((p) => p.k === "list").length;
  expect((await A.fetchSessions({ to: a.session.id })).map((i) => i.id)).toEqual([a.session.id]); // held here: nobody else asked
  expect(broker.published.filter((p) => p.k === "list").length).toBe(before);
  broker.deaf.add(B.id); // a stalled instance: its part is missing once the grace period is over
  expect((await A.fetchSessions()).map((i) => i.id)).toEqual([a.session.id]);
});

test("a long reply between instances travels in parts under the broker's message limit, and arrives whole", async () => {
  const broker = watched(new MemoryBroker());
  const [A, B] = [createHub({ broker }), createHub<{ pad: string }>({ broker, upgrade: () => ({ data: { pad: "x".repeat(200_000) } }) })];
  const [hostA, hostB] = [new MemoryHost(A), new MemoryHost(B)];
  await hostA.connect("http://h/", env);
  const far = await Promise.all([1, 2, 3, 4].map(() => hostB.connect("http://h/", env)));
  const infos = await A.fetchSessions();
  expect(infos.length).toBe(5);
  expect(infos.slice(1).map((i) => i.id).sort()).toEqual(far.map((s) => s.session.id).sort());
  expect(infos.slice(1).every((i) => (i.data as { pad: string }).pad.length === 200_000)).toBe(true);
  const parts = broker.published.filter((p) => p.k === "rep" && p.o === B.id);
  expect(parts.length).toBeGreaterThan(1); // 800 KB of descriptions: several messages
  expect(parts.every((p) => JSON.stringify(p).length < 512 * 1024)).toBe(true);
  expect(parts.map((p) => p.f)).toEqual([...parts.slice(1).map(() => 1), undefined]); // all but the last say more follow
});

test("toInstances hands an event to every other instance's listener and brings back each answer or error", async () => {
  const broker = watched(new MemoryBroker());
  const reported: unknown[] = [];
  const [A, B, C, D, E] = [
    createHub({ broker }),
    createHub({ broker }),
    createHub({ broker }),
    createHub({ broker, error: (e) => void reported.push(e) }),
    createHub({ broker }),
  ];
  B.onInstance("count", (d, from) => ({ from, d, sessions: B.sessions.size }));
  C.onInstance("count", async () => {
    throw new WirehubError("busy", "try later", { data: { in: 5 } });
  });
  D.onInstance("count", () => {
    throw new Error("a listener's bug, not for other instances to read");
  });
  // E has no listener of "count"
  A.onInstance("count", () => "A never asks itself");
  const answers = new Map((await A.toInstances("count", new Uint8Array([7]))).map((a) => [a.instance, a]));
  expect([...answers.keys()].sort()).toEqual([B.id, C.id, D.id, E.id].sort());
  expect(answers.get(B.id)).toEqual({ instance: B.id, ok: true, value: { from: A.id, d: new Uint8Array([7]), sessions: 0 } });
  const busy = answers.get(C.id)!;
  expect(busy.ok || [busy.error.code, busy.error.message, busy.error.data]).toEqual(["busy", "try later", { in: 5 }]);
  const bug = answers.get(D.id)!;
  expect(bug.ok || [bug.error.code, bug.error.message]).toEqual(["handler_error", "internal error"]);
  expect(String(reported[0])).toContain("a listener's bug"); // reported where it happened
  const none = answers.get(E.id)!;
  expect(none.ok || [none.error.code]).toEqual(["not_found"]);
  expect(none.ok || none.error).toBeInstanceOf(RemoteError);

  // an instance whose listener never answers is left out once the timeout has passed
  B.onInstance("slow", () => new Promise(() => {}));
  for (const h of [C, D, E]) h.onInstance("slow", () => "quick");
  const slow = await A.toInstances("slow", null, { timeout: 100 });
  expect(slow.map((a) => a.instance).sort()).toEqual([C.id, D.id, E.id].sort());
  expect(await createHub().toInstances("count")).toEqual([]); // no cluster, nobody to ask
});
