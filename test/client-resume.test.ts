/**
 * `wirehub/client` resume (PROTOCOL.md §8): against the real wirehub server on Bun (its lossless
 * resume), with the network cut by a TCP proxy; and against a scripted server that checks the
 * client's side of the protocol to the letter (opt-in, acks, resume parameters, duplicates).
 */
import { afterEach, describe, expect, test } from "bun:test";
import { Client, connect, type ClientOptions } from "../src/client.ts";
import type { HubOptions } from "../src/mod.ts";
import type { FixtureData } from "./fixture.ts";
import { next, startProxy, startServer, type TestServer } from "./client-helpers.ts";

const FAST: ClientOptions = { heartbeat: { interval: 1000, timeout: 1000 }, reconnect: { minDelay: 5, maxDelay: 20 } };
let cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});
async function server(extra: Partial<HubOptions<FixtureData>>): Promise<TestServer> {
  const s = await startServer(extra);
  cleanup.push(() => s.stop());
  return s;
}
async function client(url: string, options: ClientOptions = {}): Promise<Client<any>> {
  const c = await connect(url, { ...FAST, ...options });
  cleanup.push(() => c.close());
  return c;
}
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe("resume against the wirehub server", () => {
  const kills: Array<[string, (c: Client<any>, cut: () => void) => void]> = [
    ["the network cuts the connection (1006 on both sides)", (_c, cut) => cut()],
    ["the client drops it itself with reconnect() (4000)", (c) => void c.reconnect()],
  ];
  for (const [how, kill] of kills) {
    test(`10 000 numbered events, ${how} mid-stream: every number exactly once, in order`, async () => {
      const s = await server({ resume: { window: 5000, maxFrames: 20_000 } });
      const proxy = await startProxy(s);
      cleanup.push(() => proxy.close());
      const c = await client(proxy.url);
      const sid = c.sid;
      const got: number[] = [];
      let cutAt = -1;
      let resumedAt = -1;
      c.onLifecycle("resumed", () => (resumedAt = got.length));
      const failed: unknown[] = [];
      c.onLifecycle("resume_failed", (e) => failed.push(e));
      const done = new Promise<void>((resolve) =>
        c.on("n", (n: number) => {
          got.push(n);
          if (got.length === 3000) (cutAt = n), kill(c, () => proxy.cut());
          if (n === 9999) resolve();
        }));
      await c.request("test/trickle", { count: 10_000, chunk: 100, to: sid });
      await done;
      await c.request("whoami"); // a round trip: anything still on its way has arrived
      expect(cutAt).toBe(2999);
      expect(resumedAt).toBeGreaterThanOrEqual(3000);
      expect(failed).toEqual([]);
      expect(c.sid).toBe(sid);
      expect(proxy.accepted).toBe(2);
      expect(got.length).toBe(10_000);
      expect(got).toEqual(range(10_000));
    }, 20_000);
  }

  test("past the window the resume fails: resume_failed, a new session, auth and groups again", async () => {
    const s = await server({ resume: { window: 100, maxFrames: 1000 } });
    const proxy = await startProxy(s, "/?auth=frame&tag=late");
    cleanup.push(() => proxy.close());
    let authCalls = 0;
    const c = await client(proxy.url, { auth: async () => (authCalls++, { user: "ada", password: "pw-ada" }) });
    expect(c.session).toMatchObject({ sid: c.sid, alias: "ada" });
    await c.join("room-r");
    const old = c.sid;
    const obs = await client(s.url);
    await obs.request("test/join", { sid: obs.sid, group: "observers" });
    const ended = new Promise((resolve) => obs.on("closed", (d: { sid: string }) => d.sid === old && resolve(d)));
    const failed = next(c, "resume_failed");
    proxy.refusing = true; // the client cannot come back …
    proxy.cut();
    expect(await ended).toMatchObject({ sid: old, code: 1006 }); // … until the window has run out
    proxy.refusing = false;
    const f = await failed;
    expect(f.previous).toBe(old);
    expect(f.sid).not.toBe(old);
    await c.ready();
    expect(authCalls).toBe(2);
    expect(c.session).toMatchObject({ sid: c.sid, alias: "ada" });
    expect(await c.request("whoami")).toMatchObject({ sid: c.sid, tag: "late" });
    expect(await c.request("test/members", { group: "room-r" })).toEqual([c.sid]);
  });
});

describe("resume: the client's side of the protocol, against a scripted server", () => {
  test("opts in, acks every 100 frames and after a second, resumes with wh_resume/wh_seq, drops duplicates", async () => {
    const urls: URL[] = [];
    const fromClient: Array<Record<string, unknown>> = [];
    const waiters: Array<[(f: Record<string, unknown>) => boolean, () => void]> = [];
    const evt = (s: number): string => JSON.stringify({ t: "evt", e: "n", d: s, s });
    const scripted = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: (req, srv) => (srv.upgrade(req, { data: { url: new URL(req.url) }, headers: { "Sec-WebSocket-Protocol": "wirehub.v1" } }) ? undefined : new Response("no", { status: 400 })),
      websocket: {
        open(ws) {
          const url = (ws.data as { url: URL }).url;
          urls.push(url);
          if (urls.length === 1) {
            ws.send(JSON.stringify({ t: "hello", v: 1, sid: "S1", rt: "tok-1" }));
            for (let s = 1; s <= 250; s++) ws.send(evt(s));
            ws.send(evt(100)); // duplicates: already delivered
            ws.send(evt(250));
            ws.send(evt(251));
          } else {
            ws.send(JSON.stringify({ t: "hello", v: 1, sid: "S1", rt: "tok-2", resumed: true }));
            for (const s of [250, 251, 252]) ws.send(evt(s)); // the server replays a little too much
          }
        },
        message(_ws, data) {
          const f = JSON.parse(String(data)) as Record<string, unknown>;
          fromClient.push(f);
          for (const w of [...waiters]) if (w[0](f)) (waiters.splice(waiters.indexOf(w), 1), w[1]());
        },
      },
    });
    cleanup.push(() => scripted.stop(true));
    const frame = (pred: (f: Record<string, unknown>) => boolean): Promise<void> =>
      fromClient.some(pred) ? Promise.resolve() : new Promise((resolve) => waiters.push([pred, resolve]));

    const c = await client(`ws://127.0.0.1:${scripted.port}/ws?room=1`);
    const got: number[] = [];
    c.on("n", (n: number) => got.push(n));
    await frame((f) => f.t === "ack" && f.s === 251); // the timer ack, about a second after frame 201
    expect(fromClient.filter((f) => f.t === "ack").map((f) => f.s)).toEqual([100, 200, 251]);
    expect(urls[0]!.searchParams.get("wh_ack")).toBe("1");
    expect(urls[0]!.searchParams.get("wh_resume")).toBeNull();
    expect(urls[0]!.searchParams.get("room")).toBe("1");

    const resumed = next(c, "resumed");
    await c.reconnect();
    expect(await resumed).toEqual({ sid: "S1" });
    expect(urls[1]!.searchParams.get("wh_resume")).toBe("tok-1");
    expect(urls[1]!.searchParams.get("wh_seq")).toBe("251");
    expect(urls[1]!.searchParams.get("wh_ack")).toBe("1");
    await frame((f) => f.t === "ack" && f.s === 252);
    expect(got).toEqual(Array.from({ length: 252 }, (_, i) => i + 1));
  }, 10_000);
});
