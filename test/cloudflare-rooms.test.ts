/**
 * `broadcastToRoom` in workerd (miniflare): an event sent from one room's object, or from the
 * Worker, reaches the sessions of another room (its object), also when that object hibernates;
 * outside clients cannot send room events.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ROOM_EVENT_HEADER } from "../adapters/cloudflare.ts";
import { TestClient } from "./client.ts";
import { CLASS, SCRIPT, startCloudflare, type CloudflareServer } from "./servers/cloudflare/start.ts";

type F = Record<string, unknown>;

function server(bindings: Record<string, string> = {}) {
  const s = { srv: undefined as unknown as CloudflareServer, open: [] as TestClient[] };
  beforeAll(async () => {
    s.srv = await startCloudflare({}, bindings);
  });
  afterAll(async () => {
    for (const c of s.open) if (c.ws.readyState <= 1) await c.close();
    await s.srv?.stop();
  });
  const http = (path: string): string => s.srv.url.replace(/^ws/, "http") + path;
  return {
    http,
    async client(room: string, group?: string): Promise<TestClient> {
      const c = await TestClient.envelope(`${s.srv.url}?room=${room}`);
      s.open.push(c);
      if (group) {
        c.send({ t: "join", g: group, id: "j" });
        await c.frame((f) => f.id === "j");
      }
      return c;
    },
    evict: (name: string): Promise<void> => s.srv.mf.unsafeEvictDurableObject(SCRIPT, CLASS, { name, webSockets: "hibernate" }),
    instances: async (room: string): Promise<number> => (await fetch(http(`__instances?room=${room}`))).json() as Promise<number>,
    /** POST a room event's JSON to `path`, with extra headers; the status. */
    async post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<number> {
      const r = await fetch(http(path), { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
      await r.body?.cancel();
      return r.status;
    },
  };
}

describe("cloudflare: broadcastToRoom", () => {
  const { client, evict, instances, post } = server();

  test("from a client in room A to everyone in room B, to a group of B, minus except; not to A", async () => {
    const a1 = await client("ra");
    const a2 = await client("ra");
    const [b1, b2, b3] = [await client("rb", "team"), await client("rb", "team"), await client("rb")];

    expect(await a1.call("rooms/broadcast", { room: "rb", event: "news", data: { n: 1 } })).toBe(true);
    for (const b of [b1, b2, b3]) expect((await b.frame((f) => f.e === "news")).d).toEqual({ n: 1 });
    for (const a of [a1, a2]) await a.nothing((f) => f.e === "news");

    await a1.call("rooms/broadcast", { room: "rb", event: "team", data: 2, group: "team" });
    for (const b of [b1, b2]) expect((await b.frame((f) => f.e === "team")).d).toBe(2);
    await b3.nothing((f) => f.e === "team");

    await a1.call("rooms/broadcast", { room: "rb", event: "most", data: 3, except: [b1.sid] });
    for (const b of [b2, b3]) expect((await b.frame((f) => f.e === "most")).d).toBe(3);
    await b1.nothing((f) => f.e === "most");
    for (const a of [a1, a2]) await a.nothing((f) => f.e === "team" || f.e === "most");
  });

  test("wakes a hibernating room: its sessions and groups are rebuilt before the event is delivered", async () => {
    const a = await client("wa");
    const [b1, b2] = [await client("wb", "team"), await client("wb")];
    await evict("wb");
    const asleep = await instances("wb");

    await a.call("rooms/broadcast", { room: "wb", event: "wake", data: "all" });
    for (const b of [b1, b2]) expect((await b.frame((f) => f.e === "wake")).d).toBe("all");
    expect(await instances("wb")).toBe(asleep + 1);

    await evict("wb");
    await a.call("rooms/broadcast", { room: "wb", event: "wake-team", data: "team", group: "team" });
    expect((await b1.frame((f) => f.e === "wake-team")).d).toBe("team");
    await b2.nothing((f) => f.e === "wake-team");
  });

  test("from the Worker itself", async () => {
    const b = await client("worker-b");
    expect(await post("__broadcast", { room: "worker-b", event: "from-worker", data: 7 })).toBe(204);
    expect((await b.frame((f) => f.e === "from-worker")).d).toBe(7);
  });

  test("an outside request with the room-event header is refused by routeToRoom; without it the object sees an upgrade request", async () => {
    const b = await client("ob");
    const body = { event: "forged", data: "x" };
    expect(await post("?room=ob", body, { [ROOM_EVENT_HEADER]: "1" })).toBe(403);
    expect(await post("?room=ob", body, { [ROOM_EVENT_HEADER.toUpperCase()]: "anything" })).toBe(403);
    expect(await post("?room=ob", body)).toBe(426);
    await b.nothing((f) => f.e === "forged");
  });

  test("without a room secret, a Worker that forwards requests as they come (not through routeToRoom) lets them through", async () => {
    // the documented hole: such a Worker must drop the header itself, or set roomSecret
    const b = await client("fb");
    expect(await post("__forward?room=fb", { event: "through", data: 1 }, { [ROOM_EVENT_HEADER]: "1" })).toBe(204);
    expect((await b.frame((f) => f.e === "through")).d).toBe(1);
  });
});

describe("cloudflare: broadcastToRoom with a room secret", () => {
  const { client, post } = server({ ROOM_SECRET: "s3cret" });

  test("room events carry the secret; a Worker forwarding without routeToRoom is covered by it", async () => {
    const a = await client("sa");
    const b = await client("sb");
    await a.call("rooms/broadcast", { room: "sb", event: "ok", data: 1 });
    expect((await b.frame((f: F) => f.e === "ok")).d).toBe(1);

    // /__forward hands the request to the object as is, header and all: the secret stops it
    const forged = { event: "forged", data: "x" };
    expect(await post("__forward?room=sb", forged, { [ROOM_EVENT_HEADER]: "1" })).toBe(403);
    expect(await post("__forward?room=sb", forged, { [ROOM_EVENT_HEADER]: "wrong" })).toBe(403);
    await b.nothing((f) => f.e === "forged");
  });
});

describe("cloudflare: plain HTTP requests to a room (the request option)", () => {
  const { client, evict, http } = server();

  test("the room answers from its hub, rebuilt after a wake; other requests still get the hub's 426", async () => {
    const count = async (room: string): Promise<unknown> => (await fetch(http(`__count?room=${room}`))).json();
    expect(await count("http-a")).toEqual({ sessions: 0, groups: [] });
    await client("http-a", "staff");
    await client("http-b");
    expect(await count("http-a")).toEqual({ sessions: 1, groups: ["staff"] });
    await evict("http-a"); // hibernate: the answer must come from the sessions rebuilt from the sockets
    expect(await count("http-a")).toEqual({ sessions: 1, groups: ["staff"] });
    const plain = await fetch(http("?room=http-a"));
    await plain.body?.cancel();
    expect(plain.status).toBe(426);
  });
});
