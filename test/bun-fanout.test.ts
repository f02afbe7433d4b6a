/**
 * Fan-out on Bun takes the host's native topics, also for a broadcast that arrives from another
 * instance: such a broadcast excludes its sender, who is open on the other hub, not this one.
 * Two hubs share a MemoryBroker and each is served by `Bun.serve`; real WebSocket clients.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { serve } from "../adapters/bun.ts";
import { createHub, MemoryBroker, type ServerHandle } from "../src/mod.ts";

interface Client {
  ws: WebSocket;
  frames: Array<{ t: string; e?: string; d?: unknown }>;
  next(pred: (f: { t: string; e?: string; d?: unknown }) => boolean): Promise<void>;
}

async function client(url: string, group: string): Promise<Client> {
  const ws = new WebSocket(url + "?group=" + group, "wirehub.v1");
  const frames: Client["frames"] = [];
  const waiters: Array<() => void> = [];
  ws.onmessage = (ev) => {
    frames.push(JSON.parse(String(ev.data)));
    for (const w of waiters.splice(0)) w();
  };
  const next = (pred: (f: Client["frames"][number]) => boolean) =>
    new Promise<void>((resolve) => {
      const check = () => (frames.some(pred) ? resolve() : waiters.push(check));
      check();
    });
  await next((f) => f.t === "hello");
  return { ws, frames, next };
}

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of stops.splice(0)) await s();
});

describe("Bun native fan-out", () => {
  test("a broadcast from another instance, excluding its sender there, goes out through Bun's topics here", async () => {
    const broker = new MemoryBroker();
    const one = createHub({ broker, upgrade: (req) => ({ auth: { groups: [new URL(req.url).searchParams.get("group")!] } }) });
    const two = createHub({ broker, upgrade: (req) => ({ auth: { groups: [new URL(req.url).searchParams.get("group")!] } }) });
    one.on("shout", (d, s) => s.broadcast("heard", d, { group: "room" }));
    const s1: ServerHandle = await serve(one, { port: 0, hostname: "127.0.0.1" });
    const s2: ServerHandle = await serve(two, { port: 0, hostname: "127.0.0.1" });
    stops.push(() => s1.stop(), () => s2.stop());

    // Count the host publishes on the second instance.
    let published = 0;
    const d = two.driver!;
    const publish = d.publish!.bind(d);
    d.publish = (topic, data) => {
      published++;
      return publish(topic, data);
    };

    const sender = await client(s1.url, "room");
    const near = await client(s1.url, "room");
    const far = [await client(s2.url, "room"), await client(s2.url, "room")];
    const outside = await client(s2.url, "lobby");
    stops.push(async () => {
      for (const c of [sender, near, ...far, outside]) c.ws.close();
    });

    sender.ws.send(JSON.stringify({ t: "evt", e: "shout", d: "hello" }));
    await Promise.all([near, ...far].map((c) => c.next((f) => f.e === "heard")));
    for (const c of [near, ...far]) expect(c.frames.filter((f) => f.e === "heard").map((f) => f.d)).toEqual(["hello"]);
    expect(published).toBeGreaterThan(0); // the host's topics, not one send per session

    // The sender is excluded, and the group's outsider gets nothing: a later event shows that
    // their frames were read up to this point.
    one.emit("mark", 1);
    await Promise.all([sender, outside].map((c) => c.next((f) => f.e === "mark")));
    expect(sender.frames.some((f) => f.e === "heard")).toBe(false);
    expect(outside.frames.some((f) => f.e === "heard")).toBe(false);
  });

  test("sends to everyone: sessions take the host's everyone topic at the first such send, and later sessions at authentication", async () => {
    const hub = createHub({ upgrade: (req) => (new URL(req.url).searchParams.get("group") === "later-auth" ? undefined : { auth: {} }), authenticate: () => ({}) });
    hub.on("shout", (d, s) => s.broadcast("heard", d));
    const server = await serve(hub, { port: 0, hostname: "127.0.0.1" });
    stops.push(() => server.stop());
    const topics: string[] = [];
    const d = hub.driver!;
    const subscribe = d.subscribe!.bind(d);
    d.subscribe = (ws, topic) => {
      topics.push(topic);
      subscribe(ws, topic);
    };
    const raw = () =>
      new Promise<{ ws: WebSocket; got: string[]; upTo(text: string): Promise<void> }>((resolve) => {
        const ws = new WebSocket(server.url);
        const got: string[] = [];
        let wake = () => {};
        ws.onmessage = (ev) => (got.push(String(ev.data)), wake());
        const upTo = async (text: string) => {
          while (!got.includes(text)) await new Promise<void>((r) => (wake = r));
        };
        ws.onopen = () => resolve({ ws, got, upTo });
      });
    const first = await client(server.url, "x");
    const firstRaw = await raw();
    const waiting = await client(server.url, "later-auth"); // not authenticated yet: gets no sends to everyone
    stops.push(async () => {
      for (const c of [first, waiting]) c.ws.close();
      firstRaw.ws.close();
    });
    expect(topics.filter((t) => t.endsWith("*"))).toEqual([]); // nothing sent to everyone yet: no such topic
    // The first send to everyone subscribes the authenticated open sessions, then goes out natively.
    let published = 0;
    const publish = d.publish!.bind(d);
    d.publish = (topic, data) => (published++, publish(topic, data));
    hub.emit("news", 1);
    await first.next((f) => f.e === "news");
    expect(topics.filter((t) => t.endsWith("*")).sort()).toEqual(["e*", "r*"]);
    expect(published).toBe(2); // one native publish per mode
    // A session opened later, and one that authenticates later, take the topic when authenticated.
    const second = await client(server.url, "y");
    stops.push(async () => second.ws.close());
    waiting.ws.send(JSON.stringify({ t: "auth", id: 1, d: {} }));
    await waiting.next((f) => f.t === "res");
    expect(topics.filter((t) => t === "e*").length).toBe(3);
    // From a session too (native, excluding the sender).
    first.ws.send(JSON.stringify({ t: "evt", e: "shout", d: "hi" }));
    await Promise.all([second, waiting].map((c) => c.next((f) => f.e === "heard")));
    hub.emit("news", 2);
    await Promise.all([first, second, waiting].map((c) => c.next((f) => f.e === "news" && f.d === 2)));
    expect(first.frames.some((f) => f.e === "heard")).toBe(false);
    expect(waiting.frames.filter((f) => f.e === "news").map((f) => f.d)).toEqual([2]); // not authenticated at the first
    await firstRaw.upTo("2");
    expect(firstRaw.got).toEqual(["1", "hi", "2"]);
  });

  test("groups joined before authentication take their topics at authentication: one group and several", async () => {
    // The session keeps one group name as the string itself and several as an array: both reach Bun's topics.
    const hub = createHub({
      authenticate: () => ({}),
      open: (s) => {
        for (const g of new URL(s.url).searchParams.get("group")!.split(",")) hub.join(s, g);
      },
    });
    const server = await serve(hub, { port: 0, hostname: "127.0.0.1" });
    stops.push(() => server.stop());
    const topics: string[] = [];
    const d = hub.driver!;
    const subscribe = d.subscribe!.bind(d);
    d.subscribe = (ws, topic) => (topics.push(topic), subscribe(ws, topic));
    const one = await client(server.url, "solo");
    const many = await client(server.url, "a,b,c");
    stops.push(async () => [one, many].forEach((c) => c.ws.close()));
    expect(topics).toEqual([]); // not authenticated: no topic yet
    for (const c of [one, many]) {
      c.ws.send(JSON.stringify({ t: "auth", id: 1, d: {} }));
      await c.next((f) => f.t === "res");
    }
    expect(topics).toEqual(["e:solo", "e:a", "e:b", "e:c"]);
    for (const g of ["solo", "a", "b", "c"]) hub.emit("to", g, { group: g });
    await one.next((f) => f.e === "to" && f.d === "solo");
    await many.next((f) => f.e === "to" && f.d === "c");
    expect(one.frames.filter((f) => f.e === "to").map((f) => f.d)).toEqual(["solo"]);
    expect(many.frames.filter((f) => f.e === "to").map((f) => f.d)).toEqual(["a", "b", "c"]);
  });

  test("a session excluded on this instance is still skipped when the rest goes out natively", async () => {
    const broker = new MemoryBroker();
    const one = createHub({ broker, upgrade: () => ({ auth: { groups: ["room"] } }) });
    const two = createHub({ broker, upgrade: () => ({ auth: { groups: ["room"] } }) });
    const s1 = await serve(one, { port: 0, hostname: "127.0.0.1" });
    const s2 = await serve(two, { port: 0, hostname: "127.0.0.1" });
    stops.push(() => s1.stop(), () => s2.stop());
    const a = await client(s1.url, "room");
    const b = await client(s2.url, "room");
    const c = await client(s2.url, "room");
    stops.push(async () => {
      for (const x of [a, b, c]) x.ws.close();
    });
    const bId = [...two.sessions.keys()][0]!;
    // From instance one: exclude a session that lives on instance two, and one unknown id.
    one.emit("news", 7, { group: "room", except: [bId, "nobody"] });
    await Promise.all([a, c].map((x) => x.next((f) => f.e === "news")));
    two.emit("mark", 1);
    await b.next((f) => f.e === "mark");
    expect(b.frames.some((f) => f.e === "news")).toBe(false);
  });
});
