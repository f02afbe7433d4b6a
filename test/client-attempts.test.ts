/**
 * `wirehub/client`: what each connection attempt dials. The `query` option and the URL as a
 * function, each run before every attempt (the first and each reconnect), against real servers
 * on Bun.
 */
import { describe, expect, test } from "bun:test";
import { Client, ClosedError, connect } from "../src/client.ts";
import { FAST, next, scoped } from "./client-helpers.ts";

const { server, client, cleanup } = scoped();

describe("query parameters per attempt", () => {
  test("a query object joins the URL's own; a query function runs before every attempt and may answer later", async () => {
    const s = await server();
    const fixed = await client(`${s.url}?keep=1`, { query: { tag: "fixed", skipped: undefined, none: null } });
    expect(await fixed.request("whoami")).toMatchObject({ sid: fixed.sid, tag: "fixed" });
    const session = s.hub.get(fixed.sid)!;
    expect(new URL(session.url).searchParams.get("keep")).toBe("1");
    expect(new URL(session.url).searchParams.has("skipped")).toBe(false);
    expect(new URL(session.url).searchParams.has("none")).toBe(false);

    let calls = 0;
    // answered in a later macrotask, as a token fetched over the network would be
    const c = await client(s.url, { query: () => new Promise((yes) => setTimeout(() => yes({ tag: `t${++calls}` }), 1)) });
    expect(await c.request("whoami")).toMatchObject({ sid: c.sid, tag: "t1" });
    const opened = next(c, "open");
    await fixed.request("test/drop", { sid: c.sid, code: 1012, reason: "restart" });
    expect((await opened).resumed).toBe(false);
    expect(await c.request("whoami")).toMatchObject({ sid: c.sid, tag: "t2" });
    expect(calls).toBe(2);
  });

  test("an upgrade token that must be fresh: a query function that fails on a reconnect counts as a failed attempt and backs off", async () => {
    const s = await server();
    let calls = 0;
    const c = await client(s.url, {
      query: () => {
        if (++calls === 2) throw new Error("token service down");
        return { token: "good-token" }; // the fixture's upgrade hook answers 401 to any other token
      },
    });
    expect(await c.request("whoami")).toMatchObject({ alias: "token-user" });
    const ctl = await client(s.url);
    const closes: unknown[] = [];
    const attempts: number[] = [];
    c.onLifecycle("close", (e) => closes.push(e));
    c.onLifecycle("reconnecting", (e) => attempts.push(e.attempt));
    const opened = next(c, "open");
    await ctl.request("test/drop", { sid: c.sid, code: 1012, reason: "restart" });
    await opened;
    expect(attempts).toEqual([1, 2]);
    expect(closes).toEqual([
      { code: 1012, reason: "restart", reconnect: true },
      { code: 1006, reason: "the query function failed", reconnect: true },
    ]);
    expect(calls).toBe(3);
    expect(await c.request("whoami")).toMatchObject({ sid: c.sid, alias: "token-user" });
  });

  test("a query function that fails on the first attempt rejects connect with its error", async () => {
    const s = await server();
    const thrown = new Error("no token yet");
    expect(await connect(s.url, { ...FAST, query: () => Promise.reject(thrown) }).catch((e) => e)).toBe(thrown);
    expect(await connect(s.url, { ...FAST, query: () => { throw thrown; } }).catch((e) => e)).toBe(thrown);
    // one that never answers runs into connectTimeout, as a socket without hello would
    const late = await connect(s.url, { ...FAST, connectTimeout: 50, query: () => new Promise(() => {}) }).catch((e) => e);
    expect(late).toBeInstanceOf(ClosedError);
    expect(String(late.message)).toContain("no hello within 50 ms");
    expect(s.hub.sessions.size).toBe(0);
  });

  test("close() while a query function is pending: no socket is opened, and nothing keeps the client alive", async () => {
    const s = await server();
    let answer!: (q: { tag: string }) => void;
    const c = new Client(s.url, { ...FAST, connectTimeout: 60_000, query: () => new Promise((yes) => (answer = yes)) });
    const ready = c.ready().catch((e) => e);
    await c.close();
    expect(await ready).toBeInstanceOf(ClosedError);
    answer({ tag: "late" });
    // a session opened now would be on the server before a round trip of another client ends
    const other = await client(s.url);
    expect(await other.request("whoami")).toMatchObject({ sid: other.sid });
    expect([...s.hub.sessions.keys()]).toEqual([other.sid]);
    // In a process of its own: once closed, no timer of the client (its 60 s connect deadline
    // among them) may keep the process running.
    const script = `import { Client } from ${JSON.stringify(new URL("../src/client.ts", import.meta.url).pathname)};
      const c = new Client(${JSON.stringify(s.url)}, { connectTimeout: 60000, query: () => new Promise(() => {}) });
      c.ready().catch(() => {});
      await c.close();
      console.log("closed");`;
    const proc = Bun.spawn([process.execPath, "-e", script], { stdout: "pipe", stderr: "inherit" });
    const exited = await Promise.race([proc.exited, new Promise<string>((r) => setTimeout(() => r("still running after 15 s"), 15_000))]);
    if (exited !== 0) proc.kill();
    expect(exited).toBe(0);
    expect(await new Response(proc.stdout).text()).toBe("closed\n");
  }, 30_000);
});

describe("the URL per attempt", () => {
  test("a URL function names the server before every attempt: a reconnect moves to the next one", async () => {
    const [a, b] = [await server(), await server()];
    const tried: string[] = [];
    const servers = [a, b];
    // async, as a look-up of the nearest region would be, and beside an async query function
    const moving = await connect(async () => {
      const s = servers[tried.length % 2]!;
      tried.push(s.url);
      return s.url;
    }, { ...FAST, query: async () => ({ tag: `try${tried.length}` }) });
    cleanup.push(() => moving.close());
    expect(a.hub.get(moving.sid)).toBeDefined();
    expect(await moving.request("whoami")).toMatchObject({ sid: moving.sid, tag: "try1" });
    const first = moving.sid;
    const opened = next(moving, "open");
    const failed = next(moving, "resume_failed");
    expect(a.hub.drop(first, 1012, "restart")).toBe(true);
    expect((await opened).resumed).toBe(false); // b does not know a's session: a new one there
    await failed;
    expect(tried).toEqual([a.url, b.url]);
    expect(b.hub.get(moving.sid)).toBeDefined();
    expect(a.hub.sessions.size).toBe(0);
    expect(await moving.request("whoami")).toMatchObject({ sid: moving.sid, tag: "try2" });
  });

  test("a URL function that fails or names no URL fails that attempt: connect rejects; a reconnect backs off", async () => {
    const s = await server();
    const thrown = new Error("no server list yet");
    expect(await connect(() => Promise.reject(thrown), FAST).catch((e) => e)).toBe(thrown);
    expect(await connect(() => { throw thrown; }, FAST).catch((e) => e)).toBe(thrown);
    expect(await connect(() => "not a url", FAST).catch((e) => e)).toBeInstanceOf(TypeError);
    // the URL failing wins over a query that would fail later, and the other way round
    expect(await connect(() => Promise.reject(thrown), { ...FAST, query: () => new Promise((_, no) => setTimeout(() => no(new Error("later")), 20)) }).catch((e) => e)).toBe(thrown);
    expect(await connect(() => new Promise((yes) => setTimeout(() => yes(s.url), 20)), { ...FAST, query: () => Promise.reject(thrown) }).catch((e) => e)).toBe(thrown);
    expect(s.hub.sessions.size).toBe(0);
    expect(await connect("not a url", FAST).catch((e) => e)).toBeInstanceOf(TypeError); // a static one is checked up front
    let calls = 0;
    const flaky = await connect(() => {
      if (++calls === 2) return Promise.reject(new Error("directory down"));
      return calls === 3 ? "::not a url::" : s.url;
    }, FAST);
    cleanup.push(() => flaky.close());
    const closes: unknown[] = [];
    flaky.onLifecycle("close", (e) => closes.push({ code: e.code, reason: e.reason, reconnect: e.reconnect }));
    const opened = next(flaky, "open");
    s.hub.drop(flaky.sid, 1012, "restart");
    await opened;
    expect(closes).toEqual([
      { code: 1012, reason: "restart", reconnect: true },
      { code: 1006, reason: "the url function failed", reconnect: true },
      { code: 1006, reason: "the url function gave an invalid URL", reconnect: true },
    ]);
    expect(calls).toBe(4);
    expect(await flaky.request("whoami")).toMatchObject({ sid: flaky.sid });
  });
});
