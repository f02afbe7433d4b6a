/** Unit tests of the codec: frame decoding, its errors, ids, base64, close codes. */
import { describe, expect, test } from "bun:test";
import { createHub, decodeFrame, fromBase64, ProtocolError, toBase64 } from "../src/mod.ts";
import { newId } from "../src/ids.ts";
import { wireCloseCode, wireCloseReason } from "../src/session.ts";
import { MemoryHost, parsed } from "./memory-host.ts";

describe("codec", () => {
  test("decodes every frame type and rejects bad ones with a ProtocolError", () => {
    expect(decodeFrame('{"t":"evt","e":"a","d":1}')).toEqual({ t: "evt", e: "a", d: 1 });
    expect(decodeFrame('{"t":"req","id":"x","m":"m"}')).toEqual({ t: "req", id: "x", m: "m" });
    for (const bad of ["", "nul", "1", "[]", "null", '{"t":1}', '{"t":"evt","e":""}', '{"t":"req","id":1.5,"m":"a"}', '{"t":"ack","s":"1"}', `{"t":"req","id":"${"x".repeat(65)}","m":"a"}`]) {
      expect(() => decodeFrame(bad)).toThrow(ProtocolError);
    }
    try {
      decodeFrame('{"t":"zzz"}');
    } catch (e) {
      expect((e as ProtocolError).code).toBe("unknown_type");
    }
  });

  test("the error for a malformed request names its id, so the sender can match it; never for an answer", async () => {
    const hub = createHub({ limits: { nameLength: 8 } });
    const host = new MemoryHost(hub);
    const c = await host.connect("http://h/", "wirehub.v1");
    const errs = () => parsed(c).filter((f) => f.t === "err");
    host.send(c, { t: "req", id: 9, m: 123 });
    host.send(c, { t: "set", id: "s1", available: "no" });
    host.send(c, { t: "join", id: 2, g: "x".repeat(9) });
    host.send(c, { t: "evt", e: "y".repeat(9) });
    host.send(c, { t: "nope", id: 3 });
    host.send(c, { t: "res", id: 4, b: 5 }); // an answer: id 4 is the server's own request, not the client's
    host.send(c, { t: "err", id: 5, c: 1, m: "x" });
    host.send(c, { t: "req", id: 1.5, m: "a" }); // no valid id to name
    expect(errs()).toEqual([
      { t: "err", id: 9, c: "bad_frame", m: '"req" needs a method name "m"' },
      { t: "err", id: "s1", c: "bad_frame", m: '"available" must be a boolean' },
      { t: "err", id: 2, c: "bad_frame", m: "a name is longer than 8 characters" },
      { t: "err", c: "bad_frame", m: "a name is longer than 8 characters" },
      { t: "err", id: 3, c: "unknown_type", m: 'unknown frame type "nope"' },
      { t: "err", c: "bad_frame", m: '"b" must be a base64 string' },
      { t: "err", c: "bad_frame", m: '"err" needs string "c" and "m"' },
      { t: "err", c: "bad_frame", m: '"id" must be an integer or a string of 1-64 characters' },
    ]);
  });

  test("drops __proto__ / constructor keys at any depth", () => {
    const f = decodeFrame('{"t":"evt","e":"x","d":{"__proto__":{"polluted":true},"a":{"constructor":{"prototype":{"p":1}}},"ok":1}}') as { d: Record<string, unknown> };
    expect(Object.keys(f.d)).toEqual(["a", "ok"]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(f.d)).toBe(Object.prototype);
  });

  test("ids: 22 base64url characters for 128 random bits, all distinct across refills of the random pool", () => {
    const ids = Array.from({ length: 1000 }, () => newId()); // the pool holds 256 ids' worth
    expect(new Set(ids).size).toBe(1000);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{21}[AQgw]$/); // the last character carries 2 bits
    // every 6-bit value turns up in the first character over 1 000 ids (a stuck pool would not)
    expect(new Set(ids.map((id) => id[0])).size).toBeGreaterThan(50);
  });

  test("base64 round-trips every byte and large buffers", () => {
    const all = new Uint8Array(256).map((_, i) => i);
    expect(fromBase64(toBase64(all))).toEqual(all);
    const big = new Uint8Array(200_000).map((_, i) => (i * 7) & 255);
    expect(fromBase64(toBase64(big))).toEqual(big);
  });

  test("close codes and reasons are made safe for the wire", () => {
    expect(wireCloseCode(1005)).toBe(1000);
    expect(wireCloseCode(1006)).toBe(1000);
    expect(wireCloseCode(4001)).toBe(4001);
    expect(wireCloseCode(2999)).toBe(1000);
    expect(wireCloseReason(new Uint8Array([1, 2, 3]) as unknown as string)).toBe(""); // catalogue 8
    const long = "é".repeat(100);
    const r = wireCloseReason(long);
    expect(new TextEncoder().encode(r).length).toBeLessThanOrEqual(123);
    expect(long.startsWith(r)).toBe(true);
  });
});
