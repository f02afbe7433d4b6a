/** Conformance cases: origins, upgrade tokens, the auth frame, access control, no leaks. */
import { expect, test } from "bun:test";
import { upgradeStatus } from "./client.ts";
import type { Ctx } from "./conformance.ts";
import { SECRET_MARK } from "./fixture.ts";

export function authCases(ctx: Ctx): void {
  const { base, env, login, observer } = ctx;

  test("origins: same-origin and allowed origins pass, others get 403, no Origin passes", async () => {
    const host = new URL(base()).host;
    expect(await upgradeStatus(base(), { Origin: `http://${host}` })).toBe(101);
    expect(await upgradeStatus(base(), { Origin: "http://allowed.example" })).toBe(101);
    expect(await upgradeStatus(base(), { Origin: "http://evil.example" })).toBe(403);
    expect(await upgradeStatus(base(), { Origin: "null" })).toBe(403);
    expect(await upgradeStatus(base())).toBe(101);
  });

  test("a token checked at upgrade: good token authenticates, bad token gets 401", async () => {
    expect(await upgradeStatus(base("?token=wrong"))).toBe(401);
    const c = await env("?token=good-token");
    expect(await c.call("whoami")).toMatchObject({ alias: "token-user" });
  });

  test("an upgrade hook that answers later (a promise) accepts and refuses alike; one that throws or rejects gets 500", async () => {
    // The hub upgrades in the same turn when the hook answers at once (the other tests here),
    // and waits for a promise: both paths must decide the same way on every host.
    expect(await upgradeStatus(base("?later=1"))).toBe(101);
    expect(await upgradeStatus(base("?later=1&reject=418"))).toBe(418);
    expect(await upgradeStatus(base("?later=1&token=wrong"))).toBe(401);
    const c = await env("?later=1&token=good-token&tag=later");
    expect(await c.call("whoami")).toMatchObject({ alias: "token-user", tag: "later" });
    expect(await upgradeStatus(base("?fail=throw"))).toBe(500);
    expect(await upgradeStatus(base("?fail=reject"))).toBe(500);
    // and the hub still upgrades after the failures
    expect(await upgradeStatus(base())).toBe(101);
  });

  test("auth frame: every field of the session model, seen from both sides", async () => {
    const grace = await login("grace");
    const c = await env("?auth=frame");
    const hello = c.all.map((m) => JSON.parse(m as string)).find((f) => f.t === "hello");
    expect(hello.auth).toBe(true);
    c.send({ t: "auth", id: 1, d: { user: "ada", password: "pw-ada" } });
    const res = await c.frame((f) => f.id === 1);
    expect(res).toEqual({ t: "res", id: 1, d: { sid: c.sid, alias: "ada", available: true, session: { user: "ada", token: "tok-ada" } } });
    expect(await c.call("whoami")).toMatchObject({ alias: "ada", groups: ["staff"] });
    // grace sees ada's public face: alias, availability, public data — and nothing server-side
    const p = await grace.frame((f) => f.t === "presence" && (f.who as { alias: string }).alias === "ada");
    expect(p).toEqual({ t: "presence", op: "join", g: "staff", who: { sid: c.sid, alias: "ada", available: true, pub: { title: "countess" } } });
    grace.send({ t: "who", id: 9, g: "staff" });
    const list = (await grace.frame((f) => f.id === 9)).d as { alias: string }[];
    expect(list.map((w) => w.alias).sort()).toEqual(["ada", "grace"]);
    expect(list.find((w) => w.alias === "ada")).toEqual({ sid: c.sid, alias: "ada", available: true, pub: { title: "countess" } });
  });

  test("wrong credentials get auth_failed; the session may retry; too many failures close 1008", async () => {
    const c = await env("?auth=frame");
    c.send({ t: "auth", id: 1, d: { user: "ada", password: "nope" } });
    expect(await c.frame((f) => f.id === 1)).toMatchObject({ t: "err", c: "auth_failed", m: "invalid credentials" });
    c.send({ t: "auth", id: 2, d: { user: "ada", password: "pw-ada" } });
    expect(await c.frame((f) => f.id === 2)).toMatchObject({ t: "res" });
    const d = await env("?auth=frame");
    for (const id of [1, 2, 3]) d.send({ t: "auth", id, d: { user: "x", password: "y" } });
    expect(await d.closed).toEqual({ code: 1008, reason: "too many failed authentication attempts" });
  });

  test("no auth within authTimeout closes 1008, seen by the client and the close hook", async () => {
    const obs = await observer();
    const c = await env("?auth=frame&tag=no-auth"); // it never speaks
    expect(await c.closed).toEqual({ code: 1008, reason: "authentication timeout" });
    const hook = await obs.frame((f) => f.e === "closed" && (f.d as { tag: string }).tag === "no-auth");
    expect(hook.d).toMatchObject({ sid: c.sid, code: 1008, reason: "authentication timeout" });
  });

  test("before auth only auth, ping and pong are accepted", async () => {
    const c = await env("?auth=frame");
    c.send({ t: "req", id: 1, m: "whoami" });
    expect(await c.frame((f) => f.id === 1)).toMatchObject({ t: "err", c: "auth_required" });
    c.send({ t: "join", g: "room", id: 2 });
    expect(await c.frame((f) => f.id === 2)).toMatchObject({ t: "err", c: "auth_required" });
    c.send({ t: "evt", e: "chat", d: 1 });
    expect(await c.frame((f) => f.t === "err" && f.id === undefined)).toMatchObject({ c: "auth_required" });
    c.send({ t: "ping", ts: 42 });
    expect(await c.frame((f) => f.t === "pong")).toEqual({ t: "pong", ts: 42 });
    // and an unauthenticated session receives no broadcasts
    const other = await env();
    await other.call("test/emit", { event: "to-all", data: 1 });
    await other.frame((f) => f.e === "to-all");
    c.send({ t: "ping", ts: 43 });
    await c.frame((f) => f.t === "pong" && f.ts === 43);
    expect(c.all.some((m) => typeof m === "string" && m.includes("to-all"))).toBe(false);
  });

  test("a client cannot join or publish to a group it is not allowed to; allowed publish reaches the others", async () => {
    const [a, b] = [await env(), await env()];
    for (const c of [a, b]) await a.call("test/join", { sid: c.sid, group: "pubroom" });
    a.send({ t: "pub", g: "forbidden-x", e: "chat", d: 1, id: 1 });
    expect(await a.frame((f) => f.id === 1)).toMatchObject({ t: "err", c: "forbidden" });
    a.send({ t: "pub", g: "pubroom", e: "chat", d: "hello room", id: 2 });
    expect(await a.frame((f) => f.id === 2)).toMatchObject({ t: "res" });
    expect(await b.frame((f) => f.e === "chat")).toEqual({ t: "evt", e: "chat", d: "hello room" });
    await a.nothing((f) => f.e === "chat");
  });

  test("alias changes are authorized; the close hook sees the server-side data", async () => {
    const obs = await observer();
    const ada = await login("ada");
    ada.send({ t: "set", id: 1, alias: "admin" });
    expect(await ada.frame((f) => f.id === 1)).toMatchObject({ t: "err", c: "forbidden" });
    ada.send({ t: "set", id: 2, alias: "ada2" });
    expect(await ada.frame((f) => f.id === 2)).toEqual({ t: "res", id: 2, d: { alias: "ada2", available: true } });
    await ada.close(4000, "bye");
    const closed = await obs.frame((f) => f.e === "closed" && (f.d as { sid: string }).sid === ada.sid);
    expect(closed.d).toMatchObject({ user: "ada", code: 4000, reason: "bye" });
  });

  test("server-side data never appears in any frame any client receives", async () => {
    const obs = await observer();
    const [ada, grace] = [await login("ada"), await login("grace")];
    const plain = await env();
    ada.send({ t: "dm", to: "grace", d: "hi", id: 1 });
    await ada.frame((f) => f.id === 1);
    await grace.frame((f) => f.t === "dm");
    ada.send({ t: "who", id: 2, g: "staff" });
    await ada.frame((f) => f.id === 2);
    await ada.call("test/emit", { event: "x", data: 1 });
    await ada.close();
    await obs.frame((f) => f.e === "closed" && (f.d as { sid: string }).sid === ada.sid);
    for (const c of [obs, ada, grace, plain]) {
      expect(c.all.filter((m) => typeof m === "string" && m.includes(SECRET_MARK))).toEqual([]);
    }
  });
}
