/** Conformance cases: lossless resume (PROTOCOL.md §8). */
import { expect, test } from "bun:test";
import { TestClient } from "./client.ts";
import type { Ctx } from "./conformance.ts";

type F = Record<string, unknown>;

export function resumeCases(ctx: Ctx): void {
  const { base, env, track, observer } = ctx;
  const numbers = (c: TestClient): number[] =>
    c.all.filter((m): m is string => typeof m === "string").map((m) => JSON.parse(m) as F).filter((f) => f.e === "n").map((f) => f.d as number);

  test("resume: a dropped session comes back with its id, data and groups, and every missed frame once, in order", async () => {
    const c = await env("?wh_ack=1&tag=resumer");
    const hello = JSON.parse(c.all[0] as string) as F;
    expect(typeof hello.rt).toBe("string");
    const ctl = await env();
    await ctl.call("test/join", { sid: c.sid, group: "rg" });
    await ctl.call("test/stream", { from: 0, count: 100, to: c.sid });
    await c.frame((f) => f.d === 99);
    const seen = c.all.filter((m): m is string => typeof m === "string").map((m) => JSON.parse(m) as F).filter((f) => f.e === "n");
    expect(seen.every((f, i) => i === 0 || (f.s as number) > (seen[i - 1]!.s as number))).toBe(true);
    c.send({ t: "ack", s: seen[49]!.s as number });
    const last = seen.at(-1)!.s as number;
    await c.close(4000, "network went away"); // a retryable code: the session waits for its client
    await ctl.call("test/stream", { from: 100, count: 100, group: "rg" }); // buffered while detached
    const c2 = track(await TestClient.envelope(base(`?wh_resume=${hello.rt}&wh_seq=${last}`)));
    expect(c2.sid).toBe(c.sid);
    const h2 = JSON.parse(c2.all[0] as string) as F;
    expect(h2.resumed).toBe(true);
    expect(h2.rt).not.toBe(hello.rt);
    await c2.frame((f) => f.d === 199);
    await ctl.call("test/stream", { from: 200, count: 10, group: "rg" }); // live again
    await c2.frame((f) => f.d === 209);
    const all = [...numbers(c), ...numbers(c2)];
    expect(all).toEqual(Array.from({ length: 210 }, (_, i) => i));
    expect(await c2.call("whoami")).toMatchObject({ sid: c.sid, tag: "resumer", groups: ["rg"] });
  });

  test("volatile sends carry no sequence number and are not replayed after a resume", async () => {
    const c = await env("?wh_ack=1&tag=volatile");
    const hello = JSON.parse(c.all[0] as string) as F;
    const ctl = await env();
    await ctl.call("test/join", { sid: c.sid, group: "vg" });
    // a group send (Bun's native topics), a send to one id, each volatile and not
    await ctl.call("test/emit", { event: "v", data: 1, target: { group: "vg", volatile: true } });
    await ctl.call("test/emit", { event: "n", data: 2, target: { group: "vg" } });
    await ctl.call("test/emit", { event: "v", data: 3, target: { to: [c.sid], volatile: true } });
    await c.frame((f) => f.d === 3);
    const got = () => c.all.filter((m): m is string => typeof m === "string").map((m) => JSON.parse(m) as F).filter((f) => f.t === "evt");
    expect(got().map((f) => [f.d, typeof f.s])).toEqual([[1, "undefined"], [2, "number"], [3, "undefined"]]);
    await c.close(4000, "network went away"); // detached: waits for its client
    await ctl.call("test/emit", { event: "v", data: 4, target: { group: "vg", volatile: true } });
    await ctl.call("test/emit", { event: "n", data: 5, target: { group: "vg" } });
    const c2 = track(await TestClient.envelope(base(`?wh_resume=${hello.rt}&wh_seq=0`)));
    expect((JSON.parse(c2.all[0] as string) as F).resumed).toBe(true);
    await c2.frame((f) => f.d === 5);
    expect(await c2.call("whoami")).toMatchObject({ sid: c.sid }); // a round trip: nothing else is on its way
    const replayed = c2.all.filter((m): m is string => typeof m === "string").map((m) => JSON.parse(m) as F).filter((f) => f.t === "evt");
    expect(replayed.map((f) => f.d)).toEqual([2, 5]); // the numbered ones, the volatile ones never
  });

  test("resume: the token is single-use, a clean close ends the session at once, and past the window resume fails", async () => {
    const obs = await observer();
    const a = await env("?wh_ack=1&tag=clean");
    const rtA = (JSON.parse(a.all[0] as string) as F).rt as string;
    await a.close(1000, "done");
    await obs.frame((f) => f.e === "closed" && (f.d as F).tag === "clean"); // no waiting for a resume
    const a2 = track(await TestClient.envelope(base(`?wh_resume=${rtA}&wh_seq=0`)));
    expect((JSON.parse(a2.all[0] as string) as F).resumed).toBe(false);
    expect(a2.sid).not.toBe(a.sid);

    const b = await env("?wh_ack=1&tag=late");
    const rtB = (JSON.parse(b.all[0] as string) as F).rt as string;
    await b.close(4000, "gone");
    const closed = await obs.frame((f) => f.e === "closed" && (f.d as F).tag === "late"); // the window ran out
    expect(closed.d).toMatchObject({ code: 4000, reason: "gone" });
    const b2 = track(await TestClient.envelope(base(`?wh_resume=${rtB}&wh_seq=0`)));
    expect((JSON.parse(b2.all[0] as string) as F).resumed).toBe(false);
    expect(b2.sid).not.toBe(b.sid);
  });

  test("catalogue 37: 20 drop/reconnect cycles leave one session, one membership, one presence entry, every frame once", async () => {
    const watcher = await ctx.login("grace"); // in "staff" with the flapper: sees its presence
    const ctl = await env();
    const before = new Set(await ctl.call<string[]>("test/all-sessions"));
    let c = await ctx.login("ada", "wh_ack=1&tag=flapper");
    const sid = c.sid;
    c.send({ t: "join", g: "flap", id: "j" });
    await c.frame((f) => f.id === "j");
    const sockets = [c];
    let rt = (JSON.parse(c.all[0] as string) as F).rt as string;
    let seq = 0;
    const track = (x: TestClient): void => {
      for (const m of x.all) if (typeof m === "string") seq = Math.max(seq, ((JSON.parse(m) as F).s as number | undefined) ?? 0);
    };
    for (let i = 0; i < 20; i++) {
      await ctl.call("test/stream", { from: i, count: 1, group: "flap" });
      await c.frame((f) => f.d === i);
      if (i % 2 === 0) {
        await c.close(4000, "network went away"); // detached: frames sent now wait for the resume
        await ctl.call("test/stream", { from: 100 + i, count: 1, group: "flap" });
      }
      track(c);
      const next = ctx.track(await TestClient.envelope(base(`?wh_resume=${rt}&wh_seq=${seq}`)));
      const hello = JSON.parse(next.all[0] as string) as F;
      expect(`cycle ${i}: ${hello.resumed} ${next.sid === sid}`).toBe(`cycle ${i}: true true`);
      if (i % 2 === 1) expect((await c.closed).code).toBe(4000); // taken over while it still looked alive
      if (i % 2 === 0) await next.frame((f) => f.d === 100 + i); // replayed
      rt = hello.rt as string;
      c = next;
      sockets.push(c);
    }
    // exactly one live session for that sid, and no other session was made along the way
    const after = (await ctl.call<string[]>("test/all-sessions")).filter((s) => !before.has(s));
    expect(after).toEqual([sid]);
    expect(await ctl.call("test/members", { group: "flap" })).toEqual([sid]);
    expect(await c.call("whoami")).toMatchObject({ sid, tag: "flapper", alias: "ada", groups: ["staff", "flap"] });
    watcher.send({ t: "who", id: "w", g: "staff" });
    const list = (await watcher.frame((f) => f.id === "w")).d as { alias: string }[];
    expect(list.filter((x) => x.alias === "ada")).toHaveLength(1);
    // other members saw one join and nothing else: a resume is no presence change
    const seen = watcher.all.filter((m): m is string => typeof m === "string").map((m) => JSON.parse(m) as F)
      .filter((f) => f.t === "presence" && (f.who as F).sid === sid).map((f) => f.op);
    expect(seen).toEqual(["join"]);
    // every frame arrived once, across all 21 sockets
    const got = sockets.flatMap(numbers).sort((x, y) => x - y);
    const want = [...Array.from({ length: 20 }, (_, i) => i), ...Array.from({ length: 10 }, (_, i) => 100 + 2 * i)];
    expect(got).toEqual(want);
  });

  test("resume: a new connection can take over a session whose old socket still looks alive", async () => {
    const c = await env("?wh_ack=1");
    const rt = (JSON.parse(c.all[0] as string) as F).rt as string;
    const c2 = track(await TestClient.envelope(base(`?wh_resume=${rt}&wh_seq=0`)));
    expect(c2.sid).toBe(c.sid);
    expect(await c.closed).toMatchObject({ code: 4000 });
    expect(await c2.call("whoami")).toMatchObject({ sid: c.sid });
    const ctl = await env();
    await ctl.call("test/stream", { from: 0, count: 3, to: c.sid });
    await c2.frame((f) => f.d === 2);
  });
}
