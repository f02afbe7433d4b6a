/**
 * `wirehub/client` across failures, against real servers on Bun: backoff, reconnects after a
 * drop and after a server restart on the same port, close codes that end the client, the
 * heartbeat against a server that stops answering, the offline queue, and requests that never hang.
 */
import { describe, expect, test } from "bun:test";
import {
  backoffDelay, ClosedError, connect, QueueFullError, shouldReconnect, TimeoutError, type Client, type ClientOptions,
} from "../src/client.ts";
import { collect, next, scoped, startServer } from "./client-helpers.ts";

const { server, client, cleanup } = scoped();

describe("backoff (pure)", () => {
  test("the ceiling doubles per attempt up to maxDelay; the floor is minDelay", () => {
    const o = { minDelay: 100, maxDelay: 1000 };
    expect([1, 2, 3, 4, 5, 10, 1000].map((n) => backoffDelay(n, o, () => 1))).toEqual([200, 400, 800, 1000, 1000, 1000, 1000]);
    expect([1, 2, 3, 10].map((n) => backoffDelay(n, o, () => 0))).toEqual([100, 100, 100, 100]);
    expect(backoffDelay(3, o, () => 0.5)).toBe(450);
    expect(backoffDelay(1, {}, () => 1)).toBe(500); // defaults: 250 ms floor, …
    expect(backoffDelay(99, {}, () => 1)).toBe(10_000); // … 10 s cap
  });

  test("with Math.random the delays are jittered across the whole window", () => {
    const samples = Array.from({ length: 200 }, () => backoffDelay(6, { minDelay: 10, maxDelay: 10_000 }));
    for (const d of samples) expect(d >= 10 && d <= 640).toBe(true);
    expect(new Set(samples).size).toBeGreaterThan(50);
    expect(Math.min(...samples)).toBeLessThan(200);
    expect(Math.max(...samples)).toBeGreaterThan(450);
  });

  test("which close codes reconnect", () => {
    for (const code of [1001, 1005, 1006, 1011, 1012, 1013, 4000]) expect(shouldReconnect(code)).toBe(true);
    for (const code of [1000, 1002, 1008, 1009, 3000, 4001, 4500, 4999]) expect(shouldReconnect(code)).toBe(false);
  });
});

describe("reconnection", () => {
  test("a server-side drop with a retryable code reconnects to a new session", async () => {
    const s = await server();
    const [c, ctl] = [await client(s.url), await client(s.url)];
    const first = c.sid;
    const closed = next(c, "close");
    const reconnecting = next(c, "reconnecting");
    const opened = next(c, "open");
    await ctl.request("test/drop", { sid: first, code: 1012, reason: "restart" });
    expect(await closed).toEqual({ code: 1012, reason: "restart", reconnect: true });
    const r = await reconnecting;
    expect(r.attempt).toBe(1);
    expect(r.delay).toBeGreaterThanOrEqual(10);
    expect(r.delay).toBeLessThanOrEqual(20);
    expect((await opened).resumed).toBe(false);
    expect(c.sid).not.toBe(first);
    expect(await c.request("whoami")).toMatchObject({ sid: c.sid });
  });

  for (const code of [1000, 1008, 4001]) {
    test(`a close with ${code} ends the client and rejects what is pending`, async () => {
      const s = await server();
      const [c, ctl] = [await client(s.url), await client(s.url)];
      const pending = c.request("test/slow", { ms: 2000, value: 1 });
      await c.request("whoami"); // the slow request has reached the server
      const closed = next(c, "close");
      await ctl.request("test/drop", { sid: c.sid, code, reason: "bye" });
      expect(await closed).toMatchObject({ code, reconnect: false });
      expect(await pending.catch((e) => e)).toBeInstanceOf(ClosedError);
      expect(() => c.emit("x", 1)).toThrow(ClosedError);
      // reconnect() always works, even now
      await c.reconnect();
      expect(c.connected).toBe(true);
      expect(await c.request("whoami")).toMatchObject({ sid: c.sid });
    });
  }

  test("a server restart on the same port: backoff grows while it is down, then the client is back", async () => {
    const s = await server();
    const c = await client(s.url, { reconnect: { minDelay: 5, maxDelay: 60, minUptime: 0 } });
    const seen: Array<{ attempt: number; delay: number }> = [];
    c.onLifecycle("reconnecting", (e) => seen.push(e));
    const fifth = next(c, "reconnecting", (e) => e.attempt === 5);
    const bye = next(c, "close");
    await s.stop();
    expect((await bye).code).toBe(1001);
    await fifth;
    const opened = next(c, "open");
    await s.restart();
    await opened;
    expect(seen.slice(0, 5).map((e) => e.attempt)).toEqual([1, 2, 3, 4, 5]);
    for (const { attempt, delay } of seen) {
      expect(delay).toBeGreaterThanOrEqual(5);
      expect(delay).toBeLessThanOrEqual(Math.min(60, 5 * 2 ** attempt));
    }
    expect(await c.request("whoami")).toMatchObject({ sid: c.sid });
    // a later drop starts counting from attempt 1 again
    const again = next(c, "reconnecting");
    await (await client(s.url)).request("test/drop", { sid: c.sid, code: 1011 });
    expect((await again).attempt).toBe(1);
  });

  test("minUptime: a server that drops every session at once meets growing delays; one that stayed up starts over", async () => {
    let flap = false;
    const s = await startServer({ open: (session) => void (flap && session.close(1012, "crash loop")) });
    cleanup.push(() => s.stop());
    const c = await client(s.url, { reconnect: { minDelay: 5, maxDelay: 40, minUptime: 300 } });
    const attempts: number[] = [];
    c.onLifecycle("reconnecting", (e) => attempts.push(e.attempt));
    flap = true;
    const fourth = next(c, "reconnecting", (e) => e.attempt === 4);
    s.hub.drop(c.sid, 1012, "restart");
    await fourth; // each session is ready, then dropped at once: the count goes on, the delays grow
    expect(attempts.slice(0, 4)).toEqual([1, 2, 3, 4]);
    flap = false;
    await next(c, "open");
    expect(await c.request("whoami")).toMatchObject({ sid: c.sid });
    await new Promise((r) => setTimeout(r, 350)); // up longer than minUptime
    const again = next(c, "reconnecting");
    s.hub.drop(c.sid, 1012, "restart");
    expect((await again).attempt).toBe(1);
    // minUptime 0: every ready session starts over, even one dropped at once
    const zero = await client(s.url, { reconnect: { minDelay: 5, maxDelay: 40, minUptime: 0 } });
    const zeroAttempts: number[] = [];
    zero.onLifecycle("reconnecting", (e) => zeroAttempts.push(e.attempt));
    flap = true;
    const third = new Promise<void>((r) => zero.onLifecycle("reconnecting", () => zeroAttempts.length === 3 && r()));
    s.hub.drop(zero.sid, 1012, "restart");
    await third;
    expect(zeroAttempts).toEqual([1, 1, 1]);
    flap = false;
    await next(zero, "open", undefined, 5000);
  });

  test("maxRetries: the client gives up and says so", async () => {
    const s = await server();
    const c = await client(s.url, { reconnect: { minDelay: 1, maxDelay: 5, maxRetries: 3 } });
    const attempts: number[] = [];
    c.onLifecycle("reconnecting", (e) => attempts.push(e.attempt));
    const final = next(c, "close", (e) => !e.reconnect);
    await s.stop();
    expect((await final).reconnect).toBe(false);
    expect(attempts).toEqual([1, 2, 3]);
    await expect(c.ready()).rejects.toBeInstanceOf(ClosedError);
  });

  test("reconnect() on a healthy connection reconnects at once and resumes the session", async () => {
    const s = await server();
    const c = await client(s.url);
    const first = c.sid;
    const opened = next(c, "open");
    await c.reconnect();
    expect(await opened).toEqual({ sid: first, resumed: true });
    expect(await c.request("whoami")).toMatchObject({ sid: first });
    const fresh = await client(s.url, { resume: false });
    const firstFresh = fresh.sid;
    await fresh.reconnect();
    expect(fresh.sid).not.toBe(firstFresh);
  });
});

describe("heartbeat", () => {
  test("a server that accepts, says hello, then ignores everything is detected and left", async () => {
    let connections = 0;
    const silent = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: (req, srv) => (srv.upgrade(req, { headers: { "Sec-WebSocket-Protocol": "wirehub.v1" } }) ? undefined : new Response("no", { status: 400 })),
      websocket: {
        open: (ws) => void ws.send(JSON.stringify({ t: "hello", v: 1, sid: `silent-${++connections}` })),
        message() {},
      },
    });
    cleanup.push(() => silent.stop(true));
    const c = await client(`ws://127.0.0.1:${silent.port}/`, { heartbeat: { interval: 20, timeout: 40 } });
    expect(c.sid).toBe("silent-1");
    const closed = next(c, "close");
    const reopened = next(c, "open");
    expect(await closed).toMatchObject({ code: 4000, reconnect: true });
    await reopened;
    expect(c.sid).toBe("silent-2");
    await expect(c.ping(30)).rejects.toBeInstanceOf(TimeoutError);
  });
});

describe("heartbeat frames", () => {
  test("the heartbeat sends the bare {\"t\":\"ping\"} text (what a Durable Object's runtime answers without waking it); ping() adds a ts", async () => {
    const seen: string[] = [];
    let pinged = (): void => {};
    const server = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: (req, srv) => (srv.upgrade(req, { headers: { "Sec-WebSocket-Protocol": "wirehub.v1" } }) ? undefined : new Response("no", { status: 400 })),
      websocket: {
        open: (ws) => void ws.send(JSON.stringify({ t: "hello", v: 1, sid: "bare" })),
        message(ws, m) {
          const text = String(m);
          seen.push(text);
          const f = JSON.parse(text);
          if (f.t === "ping") {
            ws.send(f.ts === undefined ? '{"t":"pong"}' : JSON.stringify({ t: "pong", ts: f.ts }));
            if (seen.filter((x) => x === '{"t":"ping"}').length === 3) pinged();
          }
        },
      },
    });
    cleanup.push(() => server.stop(true));
    const beats = new Promise<void>((resolve) => (pinged = resolve));
    const c = await client(`ws://127.0.0.1:${server.port}/`, { heartbeat: { interval: 20, timeout: 500 } });
    await beats; // three heartbeats, each answered: the connection stays
    expect(c.sid).toBe("bare");
    expect(await c.ping(1000)).toBeGreaterThanOrEqual(0);
    const pings = seen.filter((x) => JSON.parse(x).t === "ping");
    expect(pings.filter((x) => x === '{"t":"ping"}').length).toBeGreaterThanOrEqual(3);
    expect(pings.filter((x) => x !== '{"t":"ping"}').every((x) => typeof JSON.parse(x).ts === "number")).toBe(true);
    expect(pings.some((x) => x !== '{"t":"ping"}')).toBe(true); // the explicit ping() carried its ts
  });
});

describe("heartbeat follows the server's policy", () => {
  test("under an `expect` policy shorter than the client's interval, the client pings often enough to stay", async () => {
    let notify = (): void => {};
    const s = await startServer({ ping: { policy: "expect", timeout: 120 }, pinged: () => notify() });
    cleanup.push(() => s.stop());
    const c = await connect(s.url, { reconnect: { minDelay: 5, maxDelay: 20 } }); // default heartbeat: 25 s
    cleanup.push(() => c.close());
    const closes: unknown[] = [];
    c.onLifecycle("close", (e) => closes.push(e));
    const sid = c.sid;
    let pings = 0;
    await new Promise<void>((resolve) => (notify = () => ++pings === 5 && resolve())); // 5 pings ≈ 300 ms > 120 ms
    expect(closes).toEqual([]);
    expect(c.sid).toBe(sid);
    expect(await c.request("whoami")).toMatchObject({ sid });
  });
});

describe("offline queue", () => {
  async function offline(options: ClientOptions): Promise<{ s: TestServer; c: Client<any> }> {
    const s = await server();
    const c = await client(s.url, { ...options, reconnect: { minDelay: 5, maxDelay: 20 } });
    const waiting = next(c, "reconnecting");
    await s.stop();
    await waiting;
    return { s, c };
  }

  test("sends while disconnected are kept in order, oldest dropped past the bound, flushed after reconnect", async () => {
    const { s, c } = await offline({ queue: { max: 3 } });
    const echoed = collect<number>(c, "n", 3);
    const dropped = c.request("whoami");
    for (let i = 1; i <= 5; i++) c.emit("n", i);
    expect(c.queued).toBe(3);
    expect(await dropped.catch((e) => e)).toBeInstanceOf(QueueFullError);
    await s.restart();
    expect(await echoed).toEqual([3, 4, 5]);
    expect(c.queued).toBe(0);
  });

  test("overflow 'reject' refuses new sends and keeps the old ones", async () => {
    const { s, c } = await offline({ queue: { max: 2, overflow: "reject" } });
    const echoed = collect<number>(c, "n", 2);
    c.emit("n", 1);
    c.emit("n", 2);
    expect(() => c.emit("n", 3)).toThrow(QueueFullError);
    expect(await c.request("whoami").catch((e) => e)).toBeInstanceOf(QueueFullError);
    await s.restart();
    expect(await echoed).toEqual([1, 2]);
  });

  test("a request queued while offline runs after the reconnect; one that times out first leaves the queue", async () => {
    const { s, c } = await offline({});
    const late = c.request("test/slow", { ms: 1, value: "late" });
    const expired = await c.request("whoami", undefined, { timeout: 20 }).catch((e) => e);
    expect(expired).toBeInstanceOf(TimeoutError);
    expect(c.queued).toBe(1);
    await s.restart();
    expect(await late).toBe("late");
  });
});

describe("volatile events", () => {
  test("emitVolatile goes out only while a session is ready: never queued, never re-sent", async () => {
    const s = await server();
    const c = await client(s.url);
    const got: unknown[] = [];
    let arrived = (): void => {};
    c.on("pos", (d) => (got.push(d), arrived())); // the fixture sends unhandled events back
    const echoed = (n: number) => new Promise<void>((r) => (arrived = () => got.includes(n) && r()));
    const first = echoed(1);
    expect(c.emitVolatile("pos", 1)).toBe(true);
    await first;
    const down = next(c, "close");
    const opened = next(c, "open");
    s.hub.drop(c.sid, 1012, "restart");
    await down;
    expect(c.emitVolatile("pos", 2)).toBe(false); // between connections: dropped on the spot
    const third = echoed(3);
    c.emit("pos", 3); // a plain emit waits in the queue instead
    await opened;
    await third;
    expect(await c.request("whoami")).toMatchObject({ sid: c.sid }); // a round trip: anything sent earlier is in
    expect(got).toEqual([1, 3]);
  });
});

describe("requests across a disconnect never hang", () => {
  async function inFlight(options: ClientOptions): Promise<{ c: Client<any>; pending: Promise<unknown> }> {
    const s = await server();
    const [c, ctl] = [await client(s.url, options), await client(s.url)];
    const pending = c.request("test/slow", { ms: 60, value: "answered" });
    await c.request("whoami"); // the slow request has reached the server
    await ctl.request("test/drop", { sid: c.sid, code: 1012 });
    return { c, pending };
  }

  test("retryRequests (default): re-sent after the reconnect and answered", async () => {
    const { pending } = await inFlight({});
    expect(await pending).toBe("answered");
  });

  test("retryRequests: false: rejected with ClosedError at the drop", async () => {
    const { c, pending } = await inFlight({ retryRequests: false });
    expect(await pending.catch((e) => e)).toBeInstanceOf(ClosedError);
    await c.ready();
    expect(await c.request("whoami")).toMatchObject({ sid: c.sid });
  });
});
