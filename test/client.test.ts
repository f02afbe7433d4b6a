/** `wirehub/client` against a real wirehub server on Bun: events, requests both ways, groups. */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { Client, ClosedError, connect, RemoteError, TimeoutError, type ClientOptions } from "../src/client.ts";
import { collect, startServer, type TestServer } from "./client-helpers.ts";

let server: TestServer;
let open: Client<any>[] = [];
const FAST: ClientOptions = { heartbeat: { interval: 50, timeout: 200 }, reconnect: { minDelay: 10, maxDelay: 40 } };
async function client<A = unknown>(options: ClientOptions = {}): Promise<Client<A>> {
  const c = await connect<A>(server.url, { ...FAST, ...options });
  open.push(c);
  return c;
}

beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.stop());
afterEach(async () => {
  await Promise.all(open.map((c) => c.close()));
  open = [];
});

describe("wirehub/client", () => {
  test("connect resolves after hello with a session id", async () => {
    const c = await client();
    expect(c.connected).toBe(true);
    expect(c.sid).toHaveLength(22);
    expect(await c.request("whoami")).toMatchObject({ sid: c.sid, protocol: "wirehub.v1" });
  });

  test("connect rejects when nothing listens", async () => {
    const other = await startServer();
    const url = other.url;
    await other.stop();
    await expect(connect(url, FAST)).rejects.toBeInstanceOf(ClosedError);
  });

  test("events round trip, JSON and binary", async () => {
    const c = await client();
    const got = collect<unknown>(c, "chat", 2);
    c.emit("chat", { text: "hi" });
    c.emit("chat", new Uint8Array([0, 1, 2, 255]));
    const [a, b] = await got;
    expect(a).toEqual({ text: "hi" });
    expect(b).toBeInstanceOf(Uint8Array);
    expect([...(b as Uint8Array)]).toEqual([0, 1, 2, 255]);
  });

  test("once, off by name or altogether, and onAny (after the named listeners, for every event)", async () => {
    const c = await client();
    const seen: string[] = [];
    const log = (tag: string) => (d: unknown) => void seen.push(`${tag} ${JSON.stringify(d)}`);
    const next = () => new Promise<void>((resolve) => {
      const remove = c.onAny(() => (remove(), resolve()));
    });
    c.once("chat", log("once"));
    c.on("chat", log("on"));
    const stopAny = c.onAny((e, d) => void seen.push(`any ${e} ${JSON.stringify(d)}`));
    for (const n of [1, 2]) {
      const got = next();
      c.emit("chat", n);
      await got;
    }
    expect(seen.splice(0)).toEqual(["once 1", "on 1", "any chat 1", "on 2", "any chat 2"]);
    const errors: unknown[] = [];
    c.onLifecycle("error", (e) => void errors.push(e.error));
    c.on("chat", () => {
      throw new Error("a listener's bug");
    });
    c.off("chat", log("on")); // another function: nothing removed
    let got = next();
    c.emit("chat", 3);
    await got;
    expect(seen.splice(0)).toEqual(["on 3", "any chat 3"]); // the throwing listener stopped nobody
    expect(errors).toHaveLength(1);
    c.off("chat"); // every listener of "chat"
    got = next();
    c.emit("chat", 4);
    await got;
    expect(seen.splice(0)).toEqual(["any chat 4"]);
    stopAny();
    c.on("chat", log("on"));
    c.off(); // every event listener
    c.emit("chat", 5);
    await c.request("whoami"); // the echo comes before the answer
    expect(seen).toEqual([]);
  });

  test("requests: success, remote error with code and data, timeout", async () => {
    const c = await client();
    expect(await c.request("test/slow", { ms: 1, value: 42 })).toBe(42);
    const nf = await c.request("does/not/exist").catch((e) => e);
    expect(nf).toBeInstanceOf(RemoteError);
    expect(nf.code).toBe("not_found");
    const refused = await c.request("test/refuse").catch((e) => e);
    expect(refused).toMatchObject({ code: "forbidden", message: "not allowed", data: { need: "admin" } });
    const boom = await c.request("test/throw").catch((e) => e);
    expect(boom).toMatchObject({ code: "handler_error", message: "internal error" });
    const slow = await c.request("test/slow", { ms: 500, value: 1 }, { timeout: 30 }).catch((e) => e);
    expect(slow).toBeInstanceOf(TimeoutError);
    expect(slow.code).toBe("timeout");
  });

  test("a request the server cannot decode (a name over its limit) fails at once with bad_frame, not after the timeout", async () => {
    const c = await client({ requestTimeout: 60_000 });
    const error = await c.request("m".repeat(200)).catch((e) => e);
    expect(error).toBeInstanceOf(RemoteError);
    expect(error.code).toBe("bad_frame");
    expect(error.message).toBe("a name is longer than 128 characters");
    expect(await c.request("whoami")).toMatchObject({ sid: c.sid });
  });

  test("the server asks, the client answers with handle()", async () => {
    const c = await client();
    c.handle("add", (d) => (d as number[]).reduce((a, b) => a + b, 0));
    c.handle("refuse", () => {
      throw new RemoteError("bad_input", "no");
    });
    c.handle("later", async (d) => ({ echoed: d }));
    expect(await c.request("test/ask", { sid: c.sid, method: "add", data: [2, 3] })).toEqual({ ok: true, value: 5 });
    expect(await c.request("test/ask", { sid: c.sid, method: "refuse" })).toEqual({ ok: false, code: "bad_input" });
    expect(await c.request("test/ask", { sid: c.sid, method: "later", data: "x" })).toEqual({ ok: true, value: { echoed: "x" } });
    expect(await c.request("test/ask", { sid: c.sid, method: "nobody" })).toEqual({ ok: false, code: "not_found" });
  });

  test("join, publish to a group, leave", async () => {
    const [a, b] = [await client(), await client()];
    await a.join("room-1");
    await b.join("room-1");
    const got = collect<unknown>(b, "chat", 1);
    await a.publish("room-1", "chat", { text: "to the room" });
    expect(await got).toEqual([{ text: "to the room" }]);
    expect(await a.join("forbidden-room").catch((e) => e)).toMatchObject({ code: "forbidden" });
    await a.leave("room-1");
    expect(await a.request("test/members", { group: "room-1" })).toEqual([b.sid]);
  });

  test("ping measures a round trip", async () => {
    const c = await client();
    const rtt = await c.ping();
    expect(rtt).toBeGreaterThanOrEqual(0);
    expect(rtt).toBeLessThan(5000);
  });

  test("after close(), calls reject with ClosedError and emit throws", async () => {
    const c = await client();
    await c.close();
    expect(c.connected).toBe(false);
    await expect(c.request("whoami")).rejects.toBeInstanceOf(ClosedError);
    expect(() => c.emit("chat", 1)).toThrow(ClosedError);
  });
});
