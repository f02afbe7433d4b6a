/**
 * The cluster code (src/cluster.ts) on the in-process MemoryBroker: the same paths the Redis and
 * NATS brokers take, without a network. Cross-process tests are test/redis.test.ts and
 * test/nats.test.ts.
 */
import { describe, expect, test } from "bun:test";
import { createHub, MemoryBroker, type Broker, type Hub } from "../src/mod.ts";
import { waitFor } from "./cluster-harness.ts";
import { MemoryHost, parsed, until, type MemSocket } from "./memory-host.ts";

type Who = { sid: string; alias: string };

function node(broker: MemoryBroker, extra: Parameters<typeof createHub>[0] = {}): { hub: Hub; host: MemoryHost } {
  const hub = createHub({
    broker,
    // ?alias=…&g=… authenticates at upgrade with that alias and group
    upgrade(req) {
      const q = new URL(req.url).searchParams;
      return { auth: { alias: q.get("alias"), groups: q.getAll("g") } };
    },
    ...extra,
  });
  return { hub, host: new MemoryHost(hub) };
}

const env = (h: MemoryHost, query = ""): Promise<MemSocket & { session: { id: string } }> => h.connect(`http://h/?${query}`, "wirehub.v1");

/**
 * A MemoryBroker whose links can hold back their hub's heartbeats, as a stalled instance's never
 * reach the store: while `stalled` is set, a link's `beat()` is not passed on (it resolves with
 * nothing found). With `legacy`, `beat()` resolves with a plain array of the reaped entries, as
 * a store written before `BeatResult` does. Everything else is the MemoryBroker's own link.
 */
function gated(broker: MemoryBroker, legacy = false): Broker & { stalled: boolean } {
  return {
    stalled: false,
    connect(node) {
      const link = broker.connect(node);
      const store = link.store!;
      const beat = async () => {
        if (this.stalled) return { reaped: [], revived: false };
        const got = await store.beat();
        return legacy && !Array.isArray(got) ? got.reaped : got;
      };
      return { ...link, store: { ...store, beat } };
    },
  };
}

describe("cluster on a MemoryBroker", () => {
  test("presence events and who span hubs; a private message reaches an alias on another hub", async () => {
    const broker = new MemoryBroker();
    const [a, b] = [node(broker), node(broker)];
    const ada = await env(a.host, "alias=ada&g=room");
    const grace = await env(b.host, "alias=grace&g=room");
    const join = await until(ada, (f) => f.t === "presence" && f.op === "join");
    expect(join.who).toMatchObject({ alias: "grace", sid: grace.session.id });
    a.host.send(ada, { t: "who", id: 1, g: "room" });
    const who = await until(ada, (f) => f.id === 1);
    expect((who.d as Who[]).map((w) => w.alias).sort()).toEqual(["ada", "grace"]);
    a.host.send(ada, { t: "dm", id: 2, to: "grace", d: "hi" });
    expect(await until(ada, (f) => f.id === 2)).toEqual({ t: "res", id: 2, d: { n: 1 } });
    expect(await until(grace, (f) => f.t === "dm")).toEqual({ t: "dm", from: { sid: ada.session.id, alias: "ada" }, d: "hi" });
    a.host.send(ada, { t: "dm", id: 3, to: "nobody", d: "hi" });
    // Found nowhere: the store is read again for up to 700 ms before the answer.
    expect(await until(ada, (f) => f.id === 3, 5000)).toMatchObject({ t: "err", c: "not_found" });
    b.hub.get(grace.session.id)!.close(1000);
    expect((await until(ada, (f) => f.t === "presence" && f.op === "leave")).who).toMatchObject({ alias: "grace" });
    expect(broker.subscribers("a:grace")).toBe(0);
  });

  test("join and leave by id reach a session held by another hub; a hub without a broker publishes nothing", async () => {
    const broker = new MemoryBroker();
    const [a, b] = [node(broker), node(broker)];
    const grace = await env(b.host, "alias=grace");
    a.hub.join(grace.session.id, "team"); // held by b: b joins it, as if b had been asked
    expect([...grace.session.groups]).toEqual(["team"]);
    expect(b.hub.members("team").size).toBe(1);
    expect(a.hub.members("team").size).toBe(0);
    a.hub.emit("news", 1, { group: "team" });
    expect(parsed(grace).filter((f) => f.e === "news").map((f) => f.d)).toEqual([1]);
    a.hub.leave(grace.session.id, "team");
    expect([...grace.session.groups]).toEqual([]);
    a.hub.emit("news", 2, { group: "team" });
    expect(parsed(grace).filter((f) => f.e === "news").map((f) => f.d)).toEqual([1]);
    a.hub.join("no-such-session", "team"); // nobody holds it: nothing happens anywhere
    expect([...b.hub.groups()]).toEqual([]);

    const alone = createHub();
    const published: string[] = [];
    const publish = alone.link.publish;
    alone.link.publish = (t, p) => (published.push(t), publish(t, p));
    alone.join("no-such-session", "team");
    alone.leave("no-such-session", "team");
    expect(published).toEqual([]);
  });

  test("a dead hub's sessions leave presence once its time runs out", async () => {
    const broker = new MemoryBroker({ ttl: 150 });
    const [a, b] = [node(broker), node(broker)];
    const ada = await env(a.host, "alias=ada&g=room");
    await env(b.host, "alias=grace&g=room");
    await until(ada, (f) => f.t === "presence" && f.op === "join");
    // b dies without a word: its heartbeat stops, nothing else happens
    b.hub.cluster!.stop();
    const leave = await until(ada, (f) => f.t === "presence" && f.op === "leave", 400);
    expect(leave.who).toMatchObject({ alias: "grace" });
    a.host.send(ada, { t: "who", id: 1, g: "room" });
    expect(((await until(ada, (f) => f.id === 1)).d as Who[]).map((w) => w.alias)).toEqual(["ada"]);
  });

  test("a store that answers a beat with a plain array (before BeatResult) still has dead hubs reaped", async () => {
    const broker = new MemoryBroker({ ttl: 150 });
    const [a, b] = [node(gated(broker, true)), node(gated(broker, true))];
    const ada = await env(a.host, "alias=ada&g=room");
    await env(b.host, "alias=grace&g=room");
    await until(ada, (f) => f.t === "presence" && f.op === "join");
    b.hub.cluster!.stop();
    await waitFor("grace's leave", () => parsed(ada).some((f) => f.t === "presence" && f.op === "leave" && f.who.alias === "grace"), 5000);
    expect(a.hub.metrics.brokerRevived).toBe(0);
  });

  test("a hub reaped while alive (its beats stalled past the TTL) comes back: entries, joins, private messages", async () => {
    const broker = new MemoryBroker({ ttl: 300 });
    const gate = gated(broker);
    const [a, b] = [node(broker, { presence: "hub" }), node(gate, { presence: "hub" })];
    const ada = await env(a.host, "alias=ada&g=room");
    const grace = await env(b.host, "alias=grace&g=room");
    const hidden = await env(b.host, "g=room"); // no alias: never visible, never announced; it hears room's presence
    const isGrace = (op: string) => (f: Record<string, any>) => f.t === "presence" && f.op === op && f.who.sid === grace.session.id;
    await until(ada, isGrace("join"));
    let id = 0;
    const who = async (g?: string): Promise<string[]> => {
      const n = ++id;
      a.host.send(ada, g === undefined ? { t: "who", id: n } : { t: "who", id: n, g });
      return ((await until(ada, (f) => f.id === n)).d as Who[]).map((w) => w.alias).sort();
    };
    expect(await who("room")).toEqual(["ada", "grace"]);

    gate.stalled = true; // b's heartbeat stops reaching the store; b itself is fine
    const stalledAt = parsed(ada).length;
    const since = (op: string): Record<string, any>[] => parsed(ada).slice(stalledAt).filter(isGrace(op));
    await waitFor("a to reap b and tell grace left", () => since("leave").length >= 2, 5000); // hub-wide and in "room"
    expect(since("leave").map((f) => f.g ?? "hub").sort()).toEqual(["hub", "room"]);
    expect(await who("room")).toEqual(["ada"]);
    expect(await who()).toEqual(["ada"]);
    a.host.send(ada, { t: "dm", id: "dm1", to: "grace", d: "lost?" });
    expect(await until(ada, (f) => f.id === "dm1", 5000)).toMatchObject({ t: "err", c: "not_found" });

    const resumedAt = parsed(ada).length;
    gate.stalled = false; // b's next beat finds it was reaped
    await waitFor("grace's join again", () => parsed(ada).slice(resumedAt).filter(isGrace("join")).length >= 2, 5000);
    expect(parsed(ada).slice(resumedAt).filter(isGrace("join")).map((f) => f.g ?? "hub").sort()).toEqual(["hub", "room"]);
    expect(b.hub.metrics.brokerRevived).toBeGreaterThanOrEqual(1);
    expect(await who("room")).toEqual(["ada", "grace"]);
    expect(await who()).toEqual(["ada", "grace"]);
    a.host.send(ada, { t: "dm", id: "dm2", to: "grace", d: "back" });
    expect(await until(ada, (f) => f.id === "dm2", 5000)).toEqual({ t: "res", id: "dm2", d: { n: 1 } });
    expect(await until(grace, (f) => f.t === "dm")).toMatchObject({ from: { alias: "ada" }, d: "back" });
    // b's own members were told nothing (they never saw a leave), and the session without an alias was never announced
    expect(parsed(hidden).filter((f) => f.t === "presence" && f.who.sid === grace.session.id)).toEqual([]);
    expect(parsed(ada).filter((f) => f.t === "presence" && f.who.sid === hidden.session.id)).toEqual([]);
    expect((await a.hub.cluster!.instances()).map((i) => i.id)).toEqual([a.hub.id, b.hub.id]); // b's instance entry is back
  }, 20_000);

  test("resume on another hub: same session, every frame once and in order, while sends go on", async () => {
    const broker = new MemoryBroker();
    const closes: string[] = [];
    const [a, b] = [node(broker, { close: (s) => void closes.push(s.id) }), node(broker, { close: (s) => void closes.push(s.id) })];
    const c = await env(a.host, "wh_ack=1&alias=ada&g=room");
    const hello = parsed(c)[0]!;
    let n = 0;
    const send = (k: number, from: Hub): void => {
      for (let i = 0; i < k; i++) from.emit("n", n++, { group: "room" });
    };
    send(50, b.hub);
    send(50, a.hub);
    const seen = parsed(c).filter((f) => f.e === "n");
    const last = seen[29]!.s as number; // the client got 30 before its connection died
    a.host.seam.close(c.session, 1006, "");
    send(50, b.hub);
    const upgrading = b.host.connect(`http://h/?wh_resume=${hello.rt}&wh_seq=${last}`, "wirehub.v1");
    send(50, a.hub); // sent while the hand-over is under way
    const c2 = await upgrading;
    send(50, b.hub);
    expect(c2.session.id).toBe(c.session.id);
    const h2 = parsed(c2)[0]!;
    expect(h2).toMatchObject({ t: "hello", sid: c.session.id, resumed: true });
    const got = [...seen.slice(0, 30), ...parsed(c2).filter((f) => f.e === "n")];
    expect(got.map((f) => f.d)).toEqual(Array.from({ length: 250 }, (_, i) => i));
    expect(got.every((f, i) => i === 0 || (f.s as number) > (got[i - 1]!.s as number))).toBe(true);
    expect(a.hub.get(c.session.id)).toBeUndefined();
    expect([...b.hub.get(c.session.id)!.groups]).toEqual(["room"]);
    expect(closes).toEqual([]); // the session never ended
  });

  test("resume on another hub takes over a session whose old socket still looks alive; a bad token starts afresh", async () => {
    const broker = new MemoryBroker();
    const [a, b] = [node(broker), node(broker)];
    const c = await env(a.host, "wh_ack=1&alias=ada&g=room");
    const rt = parsed(c)[0]!.rt as string;
    a.hub.emit("n", 1, { to: c.session.id });
    const c2 = await b.host.connect(`http://h/?wh_resume=${rt}&wh_seq=0`, "wirehub.v1");
    expect(c.closed).toEqual({ code: 4000, reason: "resumed elsewhere" });
    expect(parsed(c2)[0]).toMatchObject({ t: "hello", sid: c.session.id, resumed: true });
    expect(parsed(c2).find((f) => f.e === "n")?.d).toBe(1);
    a.hub.emit("n", 2, { to: c.session.id }); // now held by b: it crosses
    expect(parsed(c2).filter((f) => f.e === "n").map((f) => f.d)).toEqual([1, 2]);
    const c3 = await a.host.connect(`http://h/?wh_resume=${rt}&wh_seq=0`, "wirehub.v1"); // used up
    expect(parsed(c3)[0]).toMatchObject({ resumed: false });
    expect(c3.session.id).not.toBe(c.session.id);
  });
});
