/** Conformance cases: private messages, presence, validation, ordering. */
import { expect, test } from "bun:test";
import type { Ctx } from "./conformance.ts";

type Who = { sid: string; alias: string; available: boolean };

export function messagingCases(ctx: Ctx): void {
  const { env, login, observer } = ctx;

  test("private messages: by alias and by id, the hook sees each and can veto", async () => {
    const obs = await observer();
    const [ada, grace] = [await login("ada"), await login("grace")];
    ada.send({ t: "dm", to: "grace", d: { text: "hello" }, id: 1 });
    expect(await ada.frame((f) => f.id === 1)).toEqual({ t: "res", id: 1, d: { n: 1 } });
    expect(await grace.frame((f) => f.t === "dm")).toEqual({ t: "dm", from: { sid: ada.sid, alias: "ada" }, d: { text: "hello" } });
    expect((await obs.frame((f) => f.e === "pm")).d).toEqual({ from: "ada", to: "grace" });
    grace.send({ t: "dm", to: ada.sid, b: "AQI=", id: 2 });
    expect(await grace.frame((f) => f.id === 2)).toMatchObject({ t: "res", d: { n: 1 } });
    expect(await ada.frame((f) => f.t === "dm")).toEqual({ t: "dm", from: { sid: grace.sid, alias: "grace" }, b: "AQI=" });
    ada.send({ t: "dm", to: "grace", d: { veto: true }, id: 3 });
    expect(await ada.frame((f) => f.id === 3)).toMatchObject({ t: "err", c: "forbidden" });
    await grace.nothing((f) => f.t === "dm");
  });

  test("private messages are refused by the seed's rules", async () => {
    const [ada, alan, ghost] = [await login("ada"), await login("alan"), await login("ghost")];
    const anon = await env();
    ada.send({ t: "dm", to: "alan", d: 1, id: 1 }); // recipient unavailable
    expect(await ada.frame((f) => f.id === 1)).toMatchObject({ t: "err", c: "not_found" });
    ada.send({ t: "dm", to: ghost.sid, d: 1, id: 2 }); // recipient has no alias
    expect(await ada.frame((f) => f.id === 2)).toMatchObject({ t: "err", c: "not_found" });
    ada.send({ t: "dm", to: "nobody", d: 1, id: 3 });
    expect(await ada.frame((f) => f.id === 3)).toMatchObject({ t: "err", c: "not_found" });
    ghost.send({ t: "dm", to: "ada", d: 1, id: 4 }); // sender has no alias
    expect(await ghost.frame((f) => f.id === 4)).toMatchObject({ t: "err", c: "forbidden" });
    alan.send({ t: "dm", to: "ada", d: 1, id: 5 }); // sender unavailable
    expect(await alan.frame((f) => f.id === 5)).toMatchObject({ t: "err", c: "forbidden" });
    anon.send({ t: "dm", to: "ada", d: 1, id: 6 }); // sender has no alias (authenticated at upgrade without one)
    expect(await anon.frame((f) => f.id === 6)).toMatchObject({ t: "err", c: "forbidden" });
    await ada.nothing((f) => f.t === "dm");
  });

  test("presence: join, availability, alias change and leave reach available members; lists", async () => {
    const grace = await login("grace");
    const alan = await login("alan"); // unavailable: sees no presence
    const ghost = await login("ghost"); // no alias: sees presence, never appears
    const ada = await login("ada");
    const isAda = (op: string) => (f: Record<string, unknown>) => f.t === "presence" && f.op === op && (f.who as Who).sid === ada.sid;
    expect((await grace.frame(isAda("join"))).g).toBe("staff");
    await ghost.frame(isAda("join"));
    grace.send({ t: "who", id: 1, g: "staff" });
    expect(((await grace.frame((f) => f.id === 1)).d as Who[]).map((w) => w.alias).sort()).toEqual(["ada", "grace"]);
    grace.send({ t: "who", id: 2 });
    expect(((await grace.frame((f) => f.id === 2)).d as Who[]).map((w) => w.alias).sort()).toEqual(["ada", "grace"]);
    grace.send({ t: "who", id: 3, g: "not-my-group" });
    expect(await grace.frame((f) => f.id === 3)).toMatchObject({ t: "err", c: "forbidden" });
    alan.send({ t: "who", id: 4, g: "staff" });
    expect(await alan.frame((f) => f.id === 4)).toMatchObject({ t: "err", c: "unavailable" });

    ada.send({ t: "set", id: 5, available: false });
    await ada.frame((f) => f.id === 5);
    await grace.frame(isAda("leave"));
    ada.send({ t: "set", id: 6, available: true });
    await ada.frame((f) => f.id === 6);
    await grace.frame(isAda("join"));
    ada.send({ t: "set", id: 7, alias: "lovelace" });
    await ada.frame((f) => f.id === 7);
    expect(((await grace.frame(isAda("update"))).who as Who).alias).toBe("lovelace");
    await ada.close();
    expect(((await grace.frame(isAda("leave"))).who as Who).alias).toBe("lovelace");
    expect(alan.all.filter((m) => typeof m === "string" && m.includes('"presence"'))).toEqual([]);
  });

  test("validation: invalid input gets a validation error with issues and the handler never runs", async () => {
    const c = await env();
    const before = await c.call<number>("test/validated-runs");
    for (const bad of [{}, { n: "1" }, { n: -1 }, null]) {
      const r = await c.request("test/validated", bad);
      expect(r).toMatchObject({ t: "err", c: "validation" });
      expect(((r.d as { issues: { message: string; path: string[] }[] }).issues[0]!).path).toEqual(["n"]);
    }
    expect(await c.call<number>("test/validated-runs")).toBe(before);
    expect(await c.call("test/validated", { n: 21 })).toEqual({ doubled: 42, runs: before + 1 });
  });

  test("ordering: 1,000 messages from one session to another arrive in order", async () => {
    const [ada, grace] = [await login("ada"), await login("grace")];
    for (let i = 0; i < 1000; i++) ada.send({ t: "dm", to: "grace", d: i });
    const got: number[] = [];
    while (got.length < 1000) got.push((await grace.frame((f) => f.t === "dm")).d as number);
    expect(got).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });
}
