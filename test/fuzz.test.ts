/**
 * Property-based fuzzing of the envelope decoder and of the hub's inbound path: at least
 * 100,000 generated frames, none of which may throw anything but a ProtocolError from the
 * decoder, throw anything at all out of the hub, or go unanswered when invalid.
 */
import { expect, test } from "bun:test";
import fc from "fast-check";
import { createHub, decodeFrame, ProtocolError } from "../src/mod.ts";
import { encodeEvent, encodeFrame, encodeResult, quote, toBase64, useFlatFrames, withSeq } from "../src/protocol.ts";
import { MemoryHost, parsed } from "./memory-host.ts";

const TYPES = ["evt", "req", "res", "err", "join", "leave", "pub", "dm", "auth", "set", "who", "ping", "pong", "ack", "hello", "bye", "zzz", ""];

/** Frames close to valid ones: known types with fields of random (often wrong) types. */
const nearFrame = fc
  .record(
    {
      t: fc.constantFrom(...TYPES),
      id: fc.oneof(fc.integer(), fc.string({ maxLength: 80 }), fc.double(), fc.constant(null), fc.boolean()),
      e: fc.oneof(fc.string({ maxLength: 300 }), fc.integer(), fc.constant(null)),
      m: fc.oneof(fc.string({ maxLength: 20 }), fc.integer()),
      g: fc.oneof(fc.string({ maxLength: 300 }), fc.integer(), fc.array(fc.string())),
      to: fc.oneof(fc.string({ maxLength: 30 }), fc.integer()),
      d: fc.jsonValue({ maxDepth: 4 }),
      b: fc.oneof(fc.base64String({ maxLength: 40 }), fc.string({ maxLength: 20 }), fc.integer()),
      s: fc.oneof(fc.integer(), fc.double(), fc.string()),
      ts: fc.oneof(fc.integer(), fc.string()),
      c: fc.oneof(fc.string({ maxLength: 10 }), fc.integer()),
      alias: fc.oneof(fc.string({ maxLength: 10 }), fc.constant(null), fc.integer()),
      available: fc.oneof(fc.boolean(), fc.string()),
      __proto__: fc.jsonValue({ maxDepth: 2 }),
    },
    { requiredKeys: ["t"] },
  )
  .map((o) => JSON.stringify(o));

/** Anything: arbitrary JSON, arbitrary text, truncated or mangled JSON. */
const anyText = fc.oneof(
  nearFrame,
  fc.jsonValue({ maxDepth: 5 }).map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 200 }),
  fc.string({ unit: "binary", maxLength: 100 }),
  nearFrame.chain((s) => fc.nat({ max: Math.max(0, s.length - 1) }).map((n) => s.slice(0, n))),
);

test("decodeFrame: 60,000 generated frames; only ProtocolError is ever thrown", () => {
  let invalid = 0;
  fc.assert(
    fc.property(anyText, (text) => {
      try {
        const f = decodeFrame(text);
        expect(typeof f.t).toBe("string");
      } catch (e) {
        invalid++;
        if (!(e instanceof ProtocolError)) throw e;
        expect(["bad_frame", "unknown_type"]).toContain(e.code);
      }
    }),
    { numRuns: 60_000, seed: 42 },
  );
  expect(invalid).toBeGreaterThan(10_000); // the generator really produces bad frames
});

/** Text pieces that stress the decoder's fast path: quotes, escapes, controls, surrogates, brackets. */
const tricky = fc.string({ unit: fc.constantFrom("a", "é", '"', "\\", "\u0001", "\n", "\ud800", "\udc00", "}", "{", ",", ":", "[", "proto", " "), maxLength: 12 });
/** Frames shaped like the fast path's `evt`/`req` frames, valid or subtly not. */
const fastShaped = fc
  .tuple(
    fc.constantFrom('{"t":"evt","e":', '{"t":"req","id":7,"m":', '{"t":"req","id":', '{"t":"evt","e" :'),
    fc.oneof(fc.string({ maxLength: 20 }).map((n) => JSON.stringify(n)), tricky.map((n) => `"${n}"`), fc.constant('"e"')),
    fc.oneof(
      fc.constant(""),
      fc.jsonValue({ maxDepth: 3 }).map((d) => `,"d":${JSON.stringify(d)}`),
      fc.string({ unit: "binary", maxLength: 30 }).map((d) => `,"d":${JSON.stringify(d)}`),
      tricky.map((d) => `,"d":"${d}"`),
      tricky.map((d) => `,"d":${d}`),
      fc.constant(',"d":"a","d":"b"'),
      fc.constant(',"d":1,"b":"AAAA"'),
      fc.constant(',"b":"AAAA"'),
    ),
    fc.constantFrom("}", "", " }", "}}", ',"id":1}', ',"m":"x"}'),
    fc.constantFrom("12", "0", "007", "-1", "1e3", "1.5", "123456789012345", "1234567890123456", "", " 7", "9007199254740993"),
  )
  .map(([head, name, rest, end, id]) => head + (head.endsWith("id\":") ? id + ',"m":' : "") + name + rest + end);

test("decodeFrame: the fast path decodes 30,000 frames exactly as the general path does", () => {
  // A leading space is valid JSON whitespace that the fast path never takes: the reference.
  const outcome = (text: string, depth?: number) => {
    try {
      return { ok: decodeFrame(text, 256, depth) };
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      return { error: e.message };
    }
  };
  let fastValid = 0;
  fc.assert(
    fc.property(fastShaped, (text) => {
      const got = outcome(text, 4);
      expect(got).toStrictEqual(outcome(" " + text, 4));
      if ("ok" in got) fastValid++;
    }),
    { numRuns: 30_000, seed: 11 },
  );
  expect(fastValid).toBeGreaterThan(3_000); // the generator really reaches the fast path
  // Nesting past the limit inside a fast-path payload is refused like anywhere else.
  const deep = '{"t":"evt","e":"x","d":' + "[".repeat(40) + "]".repeat(40) + "}";
  expect(outcome(deep, 32)).toStrictEqual({ error: "frame nests deeper than 32 levels" });
  expect(decodeFrame('{"t":"req","id":12,"m":"echo","d":"hi"}')).toStrictEqual({ t: "req", id: 12, m: "echo", d: "hi" });
});

test("quote and encodeResult write exactly what JSON.stringify writes", () => {
  fc.assert(
    fc.property(fc.oneof(fc.string({ unit: "binary", maxLength: 40 }), tricky), fc.oneof(fc.nat(), fc.string({ maxLength: 64 })), (text, id) => {
      expect(quote(text)).toBe(JSON.stringify(text));
      expect(JSON.parse(encodeResult(id, text))).toStrictEqual({ t: "res", id, d: text });
    }),
    { numRuns: 20_000, seed: 3 },
  );
});

test("frames: both builders (concatenation, one JSON.stringify) write the same text, the frame JSON.stringify would", () => {
  const bytes = fc.uint8Array({ maxLength: 20 });
  const payload = fc.oneof(
    fc.string({ unit: "binary", maxLength: 40 }),
    tricky,
    fc.jsonValue({ maxDepth: 3 }),
    fc.constant(undefined),
    fc.constant(() => 1), // no JSON: no "d"
    bytes,
    bytes.map((b) => b.buffer),
    bytes.map((b) => new DataView(b.buffer)),
    bytes.map((b) => new Int8Array(b.buffer, Math.min(1, b.length))), // a view that starts inside its buffer
  );
  const value = fc.oneof(fc.jsonValue({ maxDepth: 2 }), tricky, fc.constant(undefined), fc.constant(() => 1));
  const fields = fc.record({ id: value, c: value, from: value, d: value }, { requiredKeys: [] });
  const was = useFlatFrames(false);
  try {
    fc.assert(
      fc.property(payload, fc.oneof(fc.string({ maxLength: 20 }), tricky), fc.option(fc.nat(), { nil: undefined }), fc.oneof(fc.nat(), fc.string({ maxLength: 64 })), fields, (d, e, seq, id, f) => {
        const bin = d instanceof ArrayBuffer || ArrayBuffer.isView(d);
        const b = bin ? toBase64(ArrayBuffer.isView(d) ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength) : new Uint8Array(d)) : undefined;
        const member = bin ? { b } : typeof d === "function" ? {} : { d };
        const { d: _, ...plain } = f; // a frame with its own "d" field (an err frame's) has no payload argument
        const expected = {
          evt: JSON.stringify({ t: "evt", e, ...member, s: seq }),
          res: JSON.stringify({ t: "res", id, ...member }),
          frame: JSON.stringify({ t: "dm", ...plain, ...member }),
          err: JSON.stringify({ t: "err", ...f }),
        };
        const texts = new Set<string>();
        for (const flat of [false, true]) {
          useFlatFrames(flat);
          expect(encodeEvent(e, d, seq)).toBe(expected.evt);
          expect(encodeResult(id, d)).toBe(expected.res);
          expect(encodeFrame("dm", plain, d)).toBe(expected.frame);
          expect(encodeFrame("err", f)).toBe(expected.err);
          texts.add(withSeq(expected.frame, seq));
        }
        expect([...texts]).toEqual([seq === undefined ? expected.frame : expected.frame.slice(0, -1) + `,"s":${seq}}`]);
      }),
      { numRuns: 20_000, seed: 5 },
    );
  } finally {
    useFlatFrames(was);
  }
});

test("the hub's inbound path: 40,000 generated frames on one session; nothing escapes, every invalid frame gets an err", async () => {
  const errors: unknown[] = [];
  const hub = createHub({ rateLimit: false, resume: false, ping: { policy: "auto" }, error: (e) => void errors.push(e) });
  hub.handle("echo", (d) => d);
  const host = new MemoryHost(hub);
  const sock = await host.connect("http://h/", "wirehub.v1");
  let invalid = 0;
  fc.assert(
    fc.property(anyText, (text) => {
      let bad = false;
      try {
        decodeFrame(text);
      } catch {
        bad = true;
      }
      const before = sock.frames.length;
      host.send(sock, text); // throws only if the hub lets an exception escape
      if (bad) {
        invalid++;
        const answer = JSON.parse(sock.frames[before] as string);
        expect(answer.t).toBe("err");
        expect(["bad_frame", "unknown_type"]).toContain(answer.c);
      }
    }),
    { numRuns: 40_000, seed: 7 },
  );
  await new Promise((r) => setTimeout(r, 10)); // let async handlers settle
  expect(invalid).toBeGreaterThan(5_000);
  expect(sock.closed).toBeUndefined();
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(errors).toEqual([]);
  expect(parsed(sock).length).toBeGreaterThan(invalid);
});
