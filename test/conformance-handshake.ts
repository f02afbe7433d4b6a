/**
 * Conformance cases from the reliability catalogue (test/catalogue.md): malformed handshakes,
 * look-alike origins, fail-closed resume, the in-flight request cap.
 */
import { expect, test } from "bun:test";
import { TestClient, upgradeResponse, upgradeStatus } from "./client.ts";
import type { Ctx } from "./conformance.ts";

type F = Record<string, unknown>;

export function handshakeCases(ctx: Ctx): void {
  const { base, env, track } = ctx;

  test("catalogue 1-2: wrong method, missing or odd Upgrade, bad key or version are refused before any session", async () => {
    // workerd (Durable Objects) refuses a non-GET upgrade itself with 500 before any Worker code
    // runs; every other host lets it reach the hub, which answers 405.
    expect([405, 500]).toContain(await upgradeStatus(base(), {}, "POST"));
    expect(await upgradeStatus(base(), { Upgrade: null, Connection: null })).toBe(426);
    expect(await upgradeStatus(base(), { Upgrade: "foo" })).toBe(400);
    expect(await upgradeStatus(base(), { "Sec-WebSocket-Key": "P5l8BJcZwRc=" })).toBe(400);
    expect(await upgradeStatus(base(), { "Sec-WebSocket-Key": null })).toBe(400);
    expect(await upgradeStatus(base(), { "Sec-WebSocket-Version": "12" })).toBe(426);
    expect(await upgradeStatus(base(), { "Sec-WebSocket-Version": null })).toBe(426);
    // catalogue 3/4: a huge protocol header is refused (the host's HTTP layer may answer 431 first)
    expect([400, 431]).toContain(await upgradeStatus(base(), { "Sec-WebSocket-Protocol": "b" + " ".repeat(32_000) + "x" }));
    expect(await upgradeStatus(base(), { "Sec-WebSocket-Protocol": Array.from({ length: 2000 }, (_, i) => `p${i}`).join(",") })).toBe(400);
    expect(await upgradeStatus(base())).toBe(101); // and the server still serves
  });

  test("catalogue 27: only an exact origin passes, after canonicalising case and default ports", async () => {
    const v = await ctx.variant({ origins: ["https://app.example.com"] });
    const at = v.url.replace(/\/?$/, "/");
    expect(await upgradeStatus(at, { Origin: "https://app.example.com" })).toBe(101);
    expect(await upgradeStatus(at, { Origin: "HTTPS://APP.EXAMPLE.COM:443" })).toBe(101);
    for (const o of ["https://app.example.com.evil.io", "https://evilapp.example.com", "null", "https://app.example.com.", "http://app.example.com", "https://app.example.com:8443"]) {
      expect(`${o} → ${await upgradeStatus(at, { Origin: o })}`).toBe(`${o} → 403`);
    }
  });

  test("the upgrade hook's headers go out with the 101, beside the negotiated subprotocol", async () => {
    for (const q of ["headers=cookies", "headers=cookies&later=1", "headers=cookies&auth=frame"]) {
      for (const protocol of [null, "wirehub.v1"]) {
        const r = await upgradeResponse(base(`?${q}`), { "Sec-WebSocket-Protocol": protocol });
        expect(`${q} ${protocol}: ${r.status}`).toBe(`${q} ${protocol}: 101`);
        expect(r.headers.getSetCookie()).toEqual(["a=1; Path=/; HttpOnly", "b=2; Path=/"]);
        expect(r.headers.get("x-wirehub-test")).toBe("yes");
        expect(r.headers.get("sec-websocket-protocol")).toBe(protocol);
        expect(r.headers.get("sec-websocket-accept")).toBe("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="); // RFC 6455's example key
      }
    }
    // a session opened this way works as any other
    const c = await env("?headers=cookies");
    expect(await c.call("whoami")).toMatchObject({ sid: c.sid });
  });

  test("upgrade hook headers that would rewrite the handshake, or that HTTP cannot carry, fail the upgrade with 500", async () => {
    const o = await ctx.observer();
    for (const which of ["handshake", "connection", "crlf"]) {
      const r = await upgradeResponse(base(`?headers=${which}`));
      expect(`${which}: ${r.status}`).toBe(`${which}: 500`);
      expect(r.headers.get("x-injected")).toBeNull();
      expect(r.headers.get("sec-websocket-accept")).toBeNull();
    }
    expect(await upgradeStatus(base())).toBe(101); // and the server still serves
    expect(await o.call("whoami")).toMatchObject({ sid: o.sid });
  });

  test("catalogue 51: a malformed offset or a forged token fails closed with a fresh session", async () => {
    const c = await env("?wh_ack=1");
    const rt = (JSON.parse(c.all[0] as string) as F).rt as string;
    const bad = track(await TestClient.envelope(base(`?wh_resume=${rt}&wh_seq=abc`)));
    expect((JSON.parse(bad.all[0] as string) as F).resumed).toBe(false);
    expect(bad.sid).not.toBe(c.sid);
    const forged = track(await TestClient.envelope(base(`?wh_resume=${"A".repeat(22)}&wh_seq=0`)));
    expect((JSON.parse(forged.all[0] as string) as F).resumed).toBe(false);
    expect(await c.call("whoami")).toMatchObject({ sid: c.sid }); // the real session is untouched
  });

  test("catalogue 22: async requests beyond the in-flight cap are answered 'unavailable'", async () => {
    const v = await ctx.variant({ limits: { inflight: 2 } });
    const [c, target] = [track(await TestClient.envelope(v.url)), track(await TestClient.envelope(v.url))];
    // test/ask waits for `target` to answer, so each one stays in flight until we let it go
    for (let i = 1; i <= 3; i++) c.send({ t: "req", id: `a${i}`, m: "test/ask", d: { sid: target.sid, method: "hold", data: i } });
    expect(await c.frame((f) => f.id === "a3")).toMatchObject({ t: "err", c: "unavailable" });
    for (let i = 0; i < 2; i++) {
      const q = await target.frame((f) => f.t === "req");
      target.send({ t: "res", id: q.id as number, d: q.d });
    }
    expect(await c.frame((f) => f.id === "a1")).toMatchObject({ t: "res", d: { ok: true, value: 1 } });
    expect(await c.frame((f) => f.id === "a2")).toMatchObject({ t: "res", d: { ok: true, value: 2 } });
    expect(await c.call("whoami")).toMatchObject({ sid: c.sid }); // a sync handler is never held back
  });
}
