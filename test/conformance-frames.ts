/**
 * Conformance cases from the reliability catalogue (test/catalogue.md) that the host's frame
 * parser owns: extension offers (5), frame-level protocol errors (6), invalid UTF-8 (7) and
 * ping/pong (9). Hosts answer these differently (a close frame, or TCP alone); the assertions
 * are the properties every host must keep: nothing reaches the app, the other sessions carry
 * on, the bad connection ends, the process lives.
 */
import { expect, test } from "bun:test";
import { TestClient, upgradeResponse } from "./client.ts";
import type { Ctx } from "./conformance.ts";
import { closePayload, frame, RawFrames, text, type Ending } from "./frames.ts";

const TEXT = 1;
const CONT = 0;
const CLOSE = 8;
const PING = 9;
const PONG = 10;

export function frameCases(ctx: Ctx): void {
  const { base, env } = ctx;
  let n = 0;
  /** A raw-mode connection with its own tag, so `test/received` counts what reached the app from it. */
  const open = async (name: string): Promise<{ c: RawFrames; tag: string }> => {
    const tag = `frames-${name.replace(/\W+/g, "-")}-${++n}`;
    return { c: await RawFrames.open(base(`?tag=${tag}`)), tag };
  };

  test("catalogue 5: abusive Sec-WebSocket-Extensions offers are answered fast and nothing is negotiated", async () => {
    const offers = [
      "permessage-deflate; client_max_window_bits=abc; server_max_window_bits=99; ; =; server_no_context_takeover=yes",
      "permessage-deflate; client_max_window_bits; client_max_window_bits, permessage-deflate;;;",
      `permessage-deflate; foo="${"\\c".repeat(3000)}`, // an unclosed quoted string of \c pairs (the websocket-extensions ReDoS)
      `x-webkit-deflate-frame, ${Array.from({ length: 500 }, (_, i) => `ext${i}; a="b"`).join(", ")}`,
    ];
    for (const offer of offers) {
      const t0 = performance.now();
      const r = await upgradeResponse(base(), { "Sec-WebSocket-Extensions": offer });
      const took = performance.now() - t0;
      expect(`${offer.slice(0, 40)} → ${r.status}`).toMatch(/ → (101|400)$/);
      expect(r.headers.get("sec-websocket-extensions")).toBeNull();
      expect(took).toBeLessThan(2000); // linear parsing: milliseconds; a ReDoS would take far longer
    }
    expect((await upgradeResponse(base())).status).toBe(101); // the server still serves
  });

  test("compression: where the hub decides, off by default and negotiated with `compression` on; messages round-trip either way", async () => {
    const offer = { "Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits" };
    const byDefault = (await upgradeResponse(base(), offer)).headers.get("sec-websocket-extensions");
    const v = await ctx.variant({ compression: true, maxMessageSize: 64 * 1024 });
    const at = v.url.replace(/\/?$/, "/");
    const negotiated = (await upgradeResponse(at, offer)).headers.get("sec-websocket-extensions");
    if (ctx.caps.compression) {
      expect(byDefault).toBeNull();
      expect(negotiated).toStartWith("permessage-deflate");
    } else {
      // the host decides, whatever the option says (Deno: never; workerd: its own settings)
      expect(negotiated).toBe(byDefault);
    }
    // Bun's WebSocket client offers it: a large, repetitive payload both ways, and a small one
    const c = await TestClient.envelope(at);
    try {
      if (ctx.caps.compression) expect(c.ws.extensions).toStartWith("permessage-deflate");
      const big = JSON.stringify(Array.from({ length: 600 }, (_, i) => ({ id: i, name: "player", score: i * 7 })));
      for (const d of [big, "small"]) {
        c.send({ t: "evt", e: "echo", d });
        expect(await c.frame((f) => f.e === "echo" && f.d === d)).toMatchObject({ t: "evt", d });
      }
      // the size limit reads the inflated message: 64 KiB of zeros deflate to a few hundred bytes
      c.send({ t: "evt", e: "echo", d: "0".repeat(70 * 1024) });
      expect((await c.closed).code).toBe(1009);
    } finally {
      c.close();
    }
  });

  /** The portable property of a refused frame: the connection ends (1002/1007 or TCP), nothing reached the app. */
  const refused = async (name: string, frames: Uint8Array[], codes: number[]): Promise<Ending> => {
    const { c, tag } = await open(name);
    try {
      await c.send(...frames);
      const end = await c.endedWithin(5000).catch((e: Error) => {
        throw new Error(`${name}: ${e.message}`);
      });
      if (end.how === "close") expect(`${name} → ${end.code}`).toBe(`${name} → ${codes.find((x) => x === end.code) ?? codes.join("/")}`);
      return end;
    } finally {
      c.destroy();
      const ctl = await env();
      expect(`${name} reached the app ${await ctl.call("test/received", { tag })} times`).toBe(`${name} reached the app 0 times`);
    }
  };

  test("catalogue 6: frame-level protocol errors end that connection, reach no handler, and leave others alone", async () => {
    const bystander = await env();
    const cases: [string, Uint8Array[]][] = [
      ["RSV1 set, no extension", [frame(TEXT, "x", { rsv: 4 })]],
      ["RSV2 set", [frame(TEXT, "x", { rsv: 2 })]],
      ["RSV3 set", [frame(TEXT, "x", { rsv: 1 })]],
      ["opcode 3", [frame(3, "x")]],
      ["opcode 0xB", [frame(0xb, "x")]],
      ["fragmented ping", [frame(PING, "a", { fin: false }), frame(CONT, "b")]],
      ["continuation with no message started", [frame(CONT, "x")]],
      ["new data frame inside a fragmented message", [frame(TEXT, "a", { fin: false }), frame(TEXT, "b")]],
    ];
    for (const [name, frames] of cases) await refused(name, frames, [1002]);
    // the other session carries on, and the server still accepts connections
    expect(await bystander.call("whoami")).toMatchObject({ sid: bystander.sid });
    const after = await open("after");
    await after.c.send(frame(TEXT, "still here"));
    expect(text(await after.c.next((f) => f.opcode === TEXT))).toBe("still here");
    after.c.destroy();
  });

  test("catalogue 7: invalid UTF-8 ends the connection where the host validates it, and never crashes the server", async () => {
    const bystander = await env();
    // U+D800 (a surrogate), and U+110000 split across two fragments
    const inputs: [string, Uint8Array[]][] = [
      ["a surrogate in a text frame", [frame(TEXT, new Uint8Array([0x61, 0xed, 0xa0, 0x80]))]],
      ["U+110000 across fragments", [frame(TEXT, new Uint8Array([0x61, 0xf4]), { fin: false }), frame(CONT, new Uint8Array([0x90, 0x80, 0x80]))]],
    ];
    for (const [name, frames] of inputs) {
      if (ctx.caps.validatesUtf8) {
        await refused(name, frames, [1007]);
        continue;
      }
      // The host hands the app lossy text (U+FFFD for each bad sequence) and the session stays.
      const { c, tag } = await open(name);
      await c.send(...frames);
      const echo = text(await c.next((f) => f.opcode === TEXT));
      expect(echo.startsWith("a")).toBe(true);
      expect(echo).toContain("\uFFFD");
      expect(await bystander.call("test/received", { tag })).toBe(1);
      c.destroy();
    }
    // an invalid close reason: every host ends the connection; validating hosts answer 1007 (or drop TCP)
    const { c } = await open("bad close reason");
    await c.send(frame(CLOSE, closePayload(1000, new Uint8Array([0xff, 0xfe]))));
    const end = await c.endedWithin(5000);
    if (ctx.caps.validatesUtf8 && end.how === "close") expect(end.code).toBe(1007);
    c.destroy();
    expect(await bystander.call("whoami")).toMatchObject({ sid: bystander.sid });
  });

  test("catalogue 9: a 125-byte ping written byte by byte gets its exact pong; a ping between fragments; an unsolicited pong is ignored", async () => {
    const { c, tag } = await open("ping");
    try {
      const payload = Uint8Array.from({ length: 125 }, (_, i) => (i * 7 + 3) & 255);
      for (const byte of frame(PING, payload)) await c.write(new Uint8Array([byte]));
      const pong = await c.next((f) => f.opcode === PONG);
      expect([...pong.payload]).toEqual([...payload]);
      // a ping between the fragments of a text message: answered, and the message arrives whole
      await c.send(frame(TEXT, "Hello, ", { fin: false }), frame(PING, "mid"), frame(CONT, "world"));
      const mid = await c.next((f) => f.opcode === PONG);
      expect(text(mid)).toBe("mid");
      const whole = await c.next((f) => f.opcode === TEXT);
      expect(text(whole)).toBe("Hello, world");
      expect(c.frames.indexOf(mid)).toBeLessThan(c.frames.indexOf(whole)); // the pong did not wait for the message
      // an unsolicited pong is ignored: the next thing echoed is the next message
      await c.send(frame(PONG, "unsolicited"), frame(TEXT, "after"));
      expect(text(await c.next((f) => f.opcode === TEXT))).toBe("after");
      const ctl = await env();
      expect(await ctl.call("test/received", { tag })).toBe(2);
      expect(c.frames.filter((f) => f.opcode === CLOSE)).toEqual([]);
    } finally {
      c.destroy();
    }
  });
}
