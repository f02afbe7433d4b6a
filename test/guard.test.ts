/**
 * The `guard` hook: every envelope event and request passes it before anything of the app runs.
 * Through the in-memory host (the hook is core logic; every host hands frames to the same seam).
 */
import { expect, test } from "bun:test";
import { createHub, WirehubError, type GuardedCall, type StandardSchemaV1 } from "../src/mod.ts";
import { MemoryHost, parsed, until } from "./memory-host.ts";

const env = "wirehub.v1";
/** A Standard Schema that accepts numbers only. */
const numberOnly: StandardSchemaV1<unknown, number> = {
  "~standard": { version: 1, vendor: "test", validate: (v) => (typeof v === "number" ? { value: v } : { issues: [{ message: "a number" }] }) },
};

test("a guard decides each event and request by session and name; refused ones never reach the app", async () => {
  const seen: GuardedCall[] = [];
  const ran: string[] = [];
  const hub = createHub<{ role: string }>({
    upgrade: (req) => ({ data: { role: new URL(req.url).searchParams.get("role") ?? "guest" } }),
    guard(session, call) {
      seen.push(call);
      if (call.name.startsWith("admin/")) return session.data.role === "admin";
      // undefined (and true) let the call run
    },
    message: (_s, m) => void ran.push(`message ${m.event}`),
  });
  hub.handle("admin/wipe", () => (ran.push("wipe"), "wiped"));
  hub.handle("double", (n: number) => (ran.push("double"), n * 2), { schema: numberOnly });
  hub.on("admin/shout", () => void ran.push("shout"));
  const host = new MemoryHost(hub);
  const guest = await host.connect("http://host/?role=guest", env);
  const admin = await host.connect("http://host/?role=admin", env);

  host.send(guest, { t: "req", id: 1, m: "admin/wipe" });
  host.send(guest, { t: "evt", e: "admin/shout", d: 1 });
  host.send(guest, { t: "evt", e: "chat", d: "hi" }); // no listener: the message hook, once allowed
  host.send(guest, { t: "req", id: 2, m: "double", d: "x" }); // the guard sees it before validation
  host.send(guest, { t: "req", id: 3, m: "double", d: 21 });
  host.send(admin, { t: "req", id: 4, m: "admin/wipe" });
  host.send(admin, { t: "evt", e: "admin/shout", d: 2 });
  expect(await until(guest, (f) => f.id === 1)).toEqual({ t: "err", id: 1, c: "forbidden", m: 'not allowed to call "admin/wipe"' });
  expect(await until(guest, (f) => f.t === "err" && f.e === "admin/shout")).toEqual({ t: "err", c: "forbidden", m: 'not allowed to send event "admin/shout"', e: "admin/shout" });
  expect(await until(guest, (f) => f.id === 2)).toMatchObject({ t: "err", c: "validation" });
  expect(await until(guest, (f) => f.id === 3)).toEqual({ t: "res", id: 3, d: 42 });
  expect(await until(admin, (f) => f.id === 4)).toEqual({ t: "res", id: 4, d: "wiped" });
  expect(ran.sort()).toEqual(["double", "message chat", "shout", "wipe"]); // validation is async: order apart
  expect(seen).toEqual([
    { type: "request", name: "admin/wipe", data: undefined },
    { type: "event", name: "admin/shout", data: 1 },
    { type: "event", name: "chat", data: "hi" },
    { type: "request", name: "double", data: "x" },
    { type: "request", name: "double", data: 21 },
    { type: "request", name: "admin/wipe", data: undefined },
    { type: "event", name: "admin/shout", data: 2 },
  ]);
  // Unknown methods are answered before the guard runs; a refusal leaves the session open.
  host.send(guest, { t: "req", id: 5, m: "nope" });
  expect(await until(guest, (f) => f.id === 5)).toMatchObject({ c: "not_found" });
  expect(seen.length).toBe(7);
  expect(guest.closed).toBeUndefined();
});

test("an async guard: the call waits for it; a rejection or a throw answers with its code, other errors are reported", async () => {
  const errors: unknown[] = [];
  let release!: (ok: boolean) => void;
  const hub = createHub({
    error: (e) => void errors.push(e),
    guard(_s, call) {
      if (call.name === "later") return new Promise<boolean>((r) => (release = r));
      if (call.name === "locked") throw new WirehubError("unavailable", "maintenance");
      if (call.name === "buggy") return Promise.reject(new Error("guard bug"));
      return Promise.resolve(call.name !== "denied");
    },
    limits: { inflight: 2 },
  });
  for (const m of ["later", "locked", "buggy", "denied", "fine"]) hub.handle(m, () => m);
  const host = new MemoryHost(hub);
  const c = await host.connect(undefined, env);
  host.send(c, { t: "req", id: 1, m: "later" });
  host.send(c, { t: "req", id: 2, m: "fine" });
  host.send(c, { t: "req", id: 3, m: "fine" }); // two wait for their guard already: over the in-flight limit
  expect(await until(c, (f) => f.id === 3)).toMatchObject({ t: "err", c: "unavailable" });
  expect(await until(c, (f) => f.id === 2)).toEqual({ t: "res", id: 2, d: "fine" });
  expect(parsed(c).some((f) => f.id === 1)).toBe(false); // still waiting for its guard
  release(true);
  expect(await until(c, (f) => f.id === 1)).toEqual({ t: "res", id: 1, d: "later" });
  host.send(c, { t: "req", id: 4, m: "locked" });
  host.send(c, { t: "req", id: 5, m: "buggy" });
  host.send(c, { t: "req", id: 6, m: "denied" });
  host.send(c, { t: "evt", e: "buggy" });
  expect(await until(c, (f) => f.id === 4)).toEqual({ t: "err", id: 4, c: "unavailable", m: "maintenance" });
  expect(await until(c, (f) => f.id === 5)).toMatchObject({ t: "err", id: 5, c: "handler_error" });
  expect(await until(c, (f) => f.id === 6)).toMatchObject({ t: "err", id: 6, c: "forbidden" });
  expect(await until(c, (f) => f.t === "err" && f.e === "buggy")).toMatchObject({ c: "handler_error" });
  expect(JSON.stringify(parsed(c))).not.toContain("guard bug"); // the error's text stays on the server
  expect(errors.map((e) => (e as Error).message)).toEqual(["guard bug", "guard bug"]);
  // every slot is free again: two more requests in flight at once are fine
  host.send(c, { t: "req", id: 7, m: "fine" });
  host.send(c, { t: "req", id: 8, m: "fine" });
  expect(await until(c, (f) => f.id === 8)).toMatchObject({ t: "res" });
  expect(await until(c, (f) => f.id === 7)).toMatchObject({ t: "res" });
});

test("a session that closes while its guard is pending: nothing runs, nothing is sent", async () => {
  const releases: Array<(ok: boolean) => void> = [];
  const ran: string[] = [];
  const hub = createHub({ guard: () => new Promise<boolean>((r) => void releases.push(r)) });
  hub.handle("work", () => void ran.push("work"));
  hub.on("note", () => void ran.push("note"));
  const host = new MemoryHost(hub);
  const c = await host.connect(undefined, env);
  host.send(c, { t: "req", id: 1, m: "work" });
  host.send(c, { t: "evt", e: "note" });
  expect(releases.length).toBe(2);
  expect(c.session.inflight).toBe(1);
  const session = c.session;
  session.close(1000, "bye");
  await new Promise((r) => setTimeout(r, 0));
  const frames = c.frames.length;
  for (const r of releases) r(true);
  await new Promise((r) => setTimeout(r, 0));
  expect(ran).toEqual([]);
  expect(c.frames.length).toBe(frames);
  expect(session.inflight).toBe(0);
});
