/**
 * Conformance cases: the three ping policies and the idle timeout. Each case starts its own
 * fixture server with short intervals and waits for events (close hooks seen by an observer),
 * never for time: a healthy client must still be open when the silent one has been closed.
 */
import { expect, test } from "bun:test";
import { silentSocket, TestClient } from "./client.ts";
import type { Ctx } from "./conformance.ts";

type F = Record<string, unknown>;

export function livenessCases(ctx: Ctx): void {
  const { track } = ctx;
  const on = (url: string, q = ""): string => url.replace(/\/?$/, "/") + q;
  const observe = async (url: string): Promise<TestClient> => {
    const o = track(await TestClient.envelope(on(url)));
    o.send({ t: "join", g: "observers", id: "obs" });
    await o.frame((f) => f.id === "obs");
    return o;
  };
  const closedHook = (o: TestClient, tag: string): Promise<F> => o.frame((f) => f.e === "closed" && (f.d as F).tag === tag, 10_000);

  test("ping send: silent sessions are closed with 4000, answering ones stay, the close hook fires once", async () => {
    const v = await ctx.variant({ ping: { policy: "send", interval: 40, timeout: 80 } });
    const obs = await observe(v.url); // answers app-level pings; protocol pings are answered by the client itself
    const healthy = track(await TestClient.envelope(on(v.url, "?tag=healthy")));
    const hello = JSON.parse(healthy.all[0] as string) as F;
    expect(hello.hb).toEqual({ i: 40, to: 120 });
    // Where the host has protocol pings even a raw session can be checked; elsewhere only envelope
    // sessions (app-level pings) or raw ones with the rawPing pair can: the silent one is envelope there.
    const silent = await silentSocket(on(v.url, "?tag=silent"), ctx.caps.protocolPing ? undefined : "wirehub.v1");
    try {
      const hook = await closedHook(obs, "silent");
      expect(hook.d).toMatchObject({ code: 4000, reason: "ping timeout" });
      expect(healthy.ws.readyState).toBe(WebSocket.OPEN);
      expect((await healthy.call<{ sid: string }>("whoami")).sid).toBe(healthy.sid);
      await obs.nothing((f) => f.e === "closed" && (f.d as F).tag === "healthy");
      const sid = (hook.d as F).sid;
      await obs.nothing((f) => f.e === "closed" && (f.d as F).sid === sid && f !== hook); // once
    } finally {
      silent.destroy();
    }
  });

  test("ping expect: clients that ping (app-level or the raw text pair) stay; a silent one is closed with 4000", async () => {
    const v = await ctx.variant({ ping: { policy: "expect", timeout: 120 }, rawPing: { ping: "ping", pong: "pong" } });
    const obs = await observe(v.url);
    const env = track(await TestClient.envelope(on(v.url, "?tag=pinger")));
    const raw = track(await TestClient.connect(on(v.url, "?tag=raw-pinger")));
    // quiet never pings, which is all `expect` asks. It still answers the server's pings, as the
    // protocol requires: under `expect` a hub sends none, but before closing a client it never
    // heard from, the Durable Object adapter asks for one frame (a workerd quirk, see there).
    const quiet = track(await TestClient.envelope(on(v.url, "?tag=quiet")));
    let n = 0;
    const timer = setInterval(() => {
      env.send({ t: "ping", ts: ++n });
      raw.send("ping");
      obs.send({ t: "ping" });
    }, 30);
    try {
      expect(await env.frame((f) => f.t === "pong" && f.ts === 1)).toEqual({ t: "pong", ts: 1 });
      expect(await raw.next((m) => m === "pong")).toBe("pong");
      const hook = await closedHook(obs, "quiet");
      expect(hook.d).toMatchObject({ code: 4000, reason: "ping timeout" });
      expect(await quiet.closed).toMatchObject({ code: 4000 });
      for (const c of [env, raw]) expect(c.ws.readyState).toBe(WebSocket.OPEN);
      raw.send("not a ping");
      expect(await raw.next((m) => m === "not a ping")).toBe("not a ping"); // other frames still reach the hook
    } finally {
      clearInterval(timer);
    }
  });

  test("ping auto + idleTimeout: pings are answered, none are sent; a session with no traffic is closed with 4000", async () => {
    const v = await ctx.variant({ ping: { policy: "auto" }, idleTimeout: 150 });
    const obs = await observe(v.url);
    const c = track(await TestClient.envelope(on(v.url, "?tag=idle")));
    c.answerPings = false;
    c.send({ t: "ping", ts: 7 });
    expect(await c.frame((f) => f.t === "pong")).toEqual({ t: "pong", ts: 7 });
    const timer = setInterval(() => obs.send({ t: "ping" }), 30);
    try {
      const hook = await closedHook(obs, "idle");
      expect(hook.d).toMatchObject({ code: 4000, reason: "idle timeout" });
      expect(c.all.some((m) => typeof m === "string" && m.startsWith('{"t":"ping"'))).toBe(false);
      expect(obs.ws.readyState).toBe(WebSocket.OPEN);
    } finally {
      clearInterval(timer);
    }
  });
}
