/**
 * The wirehub.v1 envelope codec: JSON text frames with a short `t` type field.
 * PROTOCOL.md is the normative description; this file is its implementation.
 * @module
 */
import { ProtocolError } from "./errors.ts";
import { bytesOf, isBinary } from "./wire.ts";

/** The subprotocol a client offers to speak the envelope protocol. */
export const SUBPROTOCOL = "wirehub.v1";

/** A request id: a number, or a string of at most 64 characters. */
export type FrameId = number | string;

/** Client → server frames (and the answer frames both sides send). */
export type ClientFrame =
  | { t: "evt"; e: string; d?: unknown; b?: string }
  | { t: "req"; id: FrameId; m: string; d?: unknown; b?: string }
  | { t: "res"; id: FrameId; d?: unknown; b?: string }
  | { t: "err"; id: FrameId; c: string; m: string; d?: unknown }
  | { t: "join"; g: string; id?: FrameId }
  | { t: "leave"; g: string; id?: FrameId }
  | { t: "pub"; e: string; g?: string; d?: unknown; b?: string; id?: FrameId }
  | { t: "dm"; to: string; d?: unknown; b?: string; id?: FrameId }
  | { t: "auth"; id: FrameId; d?: unknown }
  | { t: "set"; id?: FrameId; alias?: string | null; available?: boolean }
  | { t: "who"; id: FrameId; g?: string }
  | { t: "ping"; ts?: number }
  | { t: "pong"; ts?: number }
  | { t: "ack"; s: number };

const MAX_ID = 64;
const MAX_NAME = 256;

function isId(v: unknown): v is FrameId {
  return (typeof v === "number" && Number.isSafeInteger(v)) || (typeof v === "string" && v.length > 0 && v.length <= MAX_ID);
}
let maxName = MAX_NAME;
function isName(v: unknown): v is string {
  return typeof v === "string" && v.length > 0 && v.length <= maxName;
}
/** Fail unless `v` is a name: `need` says what was missing, or the message says it is too long. */
function needName(v: unknown, need: string): void {
  if (!isName(v)) fail(typeof v === "string" && v.length > maxName ? `a name is longer than ${maxName} characters` : need);
}

// JSON.parse never sets a prototype, but a later Object.assign of a "__proto__" key would.
// Dropping such keys only when the text mentions them keeps the common path a plain JSON.parse.
function safeParse(text: string): unknown {
  if (text.includes("proto") || text.includes("constructor")) { // "proto": "__proto__" and "prototype"
    return JSON.parse(text, (k, v) => (k === "__proto__" || k === "constructor" || k === "prototype" ? undefined : v));
  }
  return JSON.parse(text);
}

function fail(message: string, code = "bad_frame"): never {
  throw new ProtocolError(message, code);
}

// Characters a JSON string holds only escaped (or that would end it): a name or payload
// without any of them reads the same as text and as JSON. With `g`, so that `lastIndex` starts
// the search inside a frame.
// deno-lint-ignore no-control-regex -- control characters are exactly what JSON escapes
const FIRST_ESCAPED = /["\\\u0000-\u001f]/g;
const EVT_HEAD = '{"t":"evt","e":"';
const REQ_HEAD = '{"t":"req","id":';

/** A JSON string member's value starting at `from` (just past its opening quote) when it holds no escapes; its end quote's index in `end[0]`. */
function plainString(text: string, from: number, end: number[]): string | undefined {
  // One scan of the frame itself for the first quote, backslash or control character: plain
  // when it is a quote. Testing the substring instead made JavaScriptCore build its text.
  FIRST_ESCAPED.lastIndex = from;
  if (!FIRST_ESCAPED.test(text)) return undefined;
  const q = FIRST_ESCAPED.lastIndex - 1;
  if (text.charCodeAt(q) !== 34 /* " */) return undefined;
  end[0] = q;
  return text.slice(from, q);
}
const at: number[] = [0];

// The last name read, reused when the next frame names the same event or method (the common
// case): the same string object again, already validated, with no new substring to build,
// check and hash for the listener lookup.
let lastName = "";
function nameAt(text: string, from: number, end: number[]): string | undefined {
  const n = lastName;
  // `n` holds no quote or backslash, so a quote right after it is the name's closing quote.
  if (n.length > 0 && text.charCodeAt(from + n.length) === 34 && text.startsWith(n, from)) {
    end[0] = from + n.length;
    return n;
  }
  const v = plainString(text, from, end);
  if (v !== undefined) lastName = v;
  return v;
}

/** A JSON integer of 1-15 digits (always safe) starting at `from` and ending right before a comma, or -1; the comma's index in `end[0]`. */
function plainInt(text: string, from: number, end: number[]): number {
  let v = 0;
  let i = from;
  for (; i < from + 16; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) break;
    v = v * 10 + (c - 48);
  }
  const digits = i - from;
  if (digits === 0 || digits > 15 || (digits > 1 && text.charCodeAt(from) === 48) || text.charCodeAt(i) !== 44) return -1;
  end[0] = i;
  return v;
}

/**
 * The fast path of {@link decodeFrame}: `evt` and `req` frames in wirehub's own member order,
 * `d` last or absent. `undefined` for anything else (the general path decides, errors included).
 */
function fastFrame(text: string, depth: number | undefined): ClientFrame | undefined {
  let f: { t: "evt"; e: string; d?: unknown } | { t: "req"; id: number; m: string; d?: unknown };
  if (text.startsWith(EVT_HEAD)) {
    const e = nameAt(text, EVT_HEAD.length, at);
    if (e === undefined || !isName(e)) return undefined;
    f = { t: "evt", e };
  } else if (text.startsWith(REQ_HEAD)) {
    const id = plainInt(text, REQ_HEAD.length, at);
    const c = at[0]!;
    if (id < 0 || !text.startsWith('"m":"', c + 1)) return undefined;
    const m = nameAt(text, c + 6, at);
    if (m === undefined || !isName(m)) return undefined;
    f = { t: "req", id, m };
  } else return undefined;
  const i = at[0]! + 1; // just past the name's closing quote
  const last = text.length - 1;
  if (text.charCodeAt(last) !== 125 /* } */) return undefined;
  if (i === last) return f;
  if (!text.startsWith(',"d":', i)) return undefined;
  const v = i + 5;
  if (text.charCodeAt(v) === 34 /* " */) {
    // A string payload: the frame must end right after its closing quote.
    const d = plainString(text, v + 1, at);
    if (d === undefined || at[0] !== last - 1) return undefined;
    f.d = d;
    return f;
  }
  // Any other payload: parse only its text. JSON.parse takes exactly one value, so this fails
  // (and the general path answers) unless `d` really is the frame's last member.
  const dText = text.slice(v, last);
  if (depth !== undefined && tooDeep(dText, depth - 1)) return undefined;
  try {
    f.d = safeParse(dText);
  } catch {
    return undefined;
  }
  return f;
}

/**
 * Whether JSON text nests deeper than `max`, by scanning brackets outside strings: cheaper
 * than parsing, and it runs before JSON.parse so deep input never reaches the parser's stack.
 */
export function tooDeep(text: string, max: number): boolean {
  if (text.length <= max * 2) return false; // not enough characters to nest that deep
  // Nesting deeper than `max` needs more than `max` opening brackets: count them with indexOf
  // (native) and scan character by character only when there are that many.
  let open = 0;
  for (let i = text.indexOf("{"); i !== -1 && open <= max; i = text.indexOf("{", i + 1)) open++;
  for (let i = text.indexOf("["); i !== -1 && open <= max; i = text.indexOf("[", i + 1)) open++;
  if (open <= max) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > max) return true;
    } else if (c === 125 /* } */ || c === 93 /* ] */) depth--;
  }
  return false;
}

/**
 * Decode one text frame. Names (events, methods, groups, aliases) longer than `nameLength`
 * (default 256) are rejected; with `depth`, so is JSON nesting deeper than that (checked before
 * anything is parsed). Throws {@link ProtocolError} (code `bad_frame` or `unknown_type`) for
 * anything that is not a well-formed frame; never throws anything else.
 *
 * Events and requests in the member order wirehub's client writes them
 * (`{"t":"evt","e":…,"d":…}`, `{"t":"req","id":N,"m":…,"d":…}`) take a fast path that reads
 * the envelope without `JSON.parse` and a plain string payload without any parse at all; it
 * returns exactly what the general path would, and hands anything else to it.
 */
export function decodeFrame(text: string, nameLength: number = MAX_NAME, depth?: number): ClientFrame {
  maxName = nameLength;
  const fast = fastFrame(text, depth);
  if (fast !== undefined) return fast;
  if (depth !== undefined && tooDeep(text, depth)) fail(`frame nests deeper than ${depth} levels`);
  let v: unknown;
  try {
    v = safeParse(text);
  } catch {
    fail("frame is not valid JSON");
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) fail("frame must be a JSON object");
  const f = v as Record<string, unknown>;
  const t = f.t;
  if (typeof t !== "string") fail('frame has no string "t" field');
  if (f.id !== undefined && !isId(f.id)) fail('"id" must be an integer or a string of 1-64 characters');
  try {
    checkFields(t, f);
  } catch (error) {
    // The error names the frame's id, so the sender can match it to its request (never for an
    // answer: its id is in the other direction's id space).
    if (f.id === undefined || t === "res" || t === "err") throw error;
    throw new ProtocolError((error as ProtocolError).message, (error as ProtocolError).code, { id: f.id as FrameId });
  }
  return f as ClientFrame;
}

/** The checks of each frame type's own fields (`fail`s on the first one missing or mistyped). */
function checkFields(t: string, f: Record<string, unknown>): void {
  if (f.b !== undefined && typeof f.b !== "string") fail('"b" must be a base64 string');
  switch (t) {
    case "evt":
      needName(f.e, '"evt" needs an event name "e"');
      break;
    case "req":
      if (f.id === undefined) fail('"req" needs an "id"');
      needName(f.m, '"req" needs a method name "m"');
      break;
    case "res":
      if (f.id === undefined) fail('"res" needs an "id"');
      break;
    case "err":
      if (f.id === undefined) fail('"err" needs an "id"');
      if (typeof f.c !== "string" || typeof f.m !== "string") fail('"err" needs string "c" and "m"');
      break;
    case "join":
    case "leave":
      needName(f.g, `"${t}" needs a group name "g"`);
      break;
    case "pub":
      needName(f.e, '"pub" needs an event name "e"');
      if (f.g !== undefined) needName(f.g, '"g" must be a group name');
      break;
    case "dm":
      needName(f.to, '"dm" needs a recipient "to"');
      break;
    case "auth":
      if (f.id === undefined) fail('"auth" needs an "id"');
      break;
    case "set":
      if (f.alias !== undefined && f.alias !== null) needName(f.alias, '"alias" must be a string or null');
      if (f.available !== undefined && typeof f.available !== "boolean") fail('"available" must be a boolean');
      break;
    case "who":
      if (f.id === undefined) fail('"who" needs an "id"');
      if (f.g !== undefined) needName(f.g, '"g" must be a group name');
      break;
    case "ping":
    case "pong":
      if (f.ts !== undefined && typeof f.ts !== "number") fail('"ts" must be a number');
      break;
    case "ack":
      if (typeof f.s !== "number" || !Number.isSafeInteger(f.s)) fail('"ack" needs an integer "s"');
      break;
    default:
      fail(`unknown frame type "${t.slice(0, 32)}"`, "unknown_type");
  }
}

/** The payload of a frame: `b` (base64 bytes) wins over `d`. */
export function framePayload(f: { d?: unknown; b?: string }): unknown {
  if (f.b !== undefined) {
    try {
      return fromBase64(f.b);
    } catch {
      fail('"b" is not valid base64');
    }
  }
  return f.d;
}

/** Serialise a payload into `"d":…` or `"b":"…"` JSON members (without braces). */
export function payloadMember(data: unknown): string {
  if (typeof data === "string") return `,"d":${quote(data)}`; // the common case first
  if (data === undefined) return "";
  const bytes = bytesOf(data);
  if (bytes) return `,"b":"${toBase64(bytes)}"`;
  const json = JSON.stringify(data);
  return json === undefined ? "" : `,"d":${json}`; // a function or symbol has no JSON: no "d", as in an object
}

// How frames are written (`encodeEvent`, `encodeResult`, `encodeFrame`, `withSeq`). Both ways
// write the same text.
// - Concatenation (the default, best on V8): the frame's pieces joined; a payload string that
//   needs no escaping is copied in without `JSON.stringify`.
// - Flat strings: one `JSON.stringify` of the frame object (`withSeq`: `Array.prototype.join`),
//   which the Bun adapter turns on. A string made by concatenation is a rope in JavaScriptCore,
//   and Bun's native `send` has to flatten it: measured paired on Bun (bench/notes.md, "Ropes on
//   Bun's send path"), concatenated frames cost envelope echo 18 % more server CPU per round trip
//   than flat ones, and RPC 30 % more. On V8 it is the other way round (the flat way costs 3 %
//   more on Deno, 8 % on Node).
let flatFrames = false;

/** @internal Write frames with one `JSON.stringify` (`true`, for JavaScriptCore) or by concatenation; returns the previous choice. */
export function useFlatFrames(on: boolean): boolean {
  const was = flatFrames;
  flatFrames = on;
  return was;
}

// What JSON.stringify escapes in a string: quotes, backslashes, control characters and lone
// surrogates. Any surrogate sends a string the slow way (pairs too: rare, and still correct).
// deno-lint-ignore no-control-regex -- control characters are exactly what JSON escapes
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** A string as JSON text: exactly `JSON.stringify(s)`, without its cost for strings that need no escapes. */
export function quote(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`;
}

/** Encode a `res` frame answering request `id`. */
export function encodeResult(id: FrameId, data: unknown): string {
  if (flatFrames && !isBinary(data)) return JSON.stringify({ t: "res", id, d: data });
  return `{"t":"res","id":${typeof id === "number" ? id : quote(id)}${payloadMember(data)}}`;
}

/** Encode an event frame. `seq` is added when resume is on. */
export function encodeEvent(event: string, data: unknown, seq?: number): string {
  if (flatFrames && !isBinary(data)) return JSON.stringify({ t: "evt", e: event, d: data, s: seq });
  const s = seq === undefined ? "" : `,"s":${seq}`;
  return `${eventHead(event)}${payloadMember(data)}${s}}`;
}

// `{"t":"evt","e":"name"` per event name: an application uses a handful of names, and encoding
// one costs a JSON.stringify per send. Bounded, so names made from client input cannot grow it.
const heads = new Map<string, string>();
function eventHead(event: string): string {
  let h = heads.get(event);
  if (h === undefined) {
    h = `{"t":"evt","e":${JSON.stringify(event)}`;
    if (heads.size >= 1024) heads.clear();
    heads.set(event, h);
  }
  return h;
}

/** Add the sequence number `s` as the last member of an encoded frame (nothing when `seq` is undefined). */
export function withSeq(frame: string, seq: number | undefined): string {
  if (seq === undefined) return frame;
  return flatFrames ? [frame.slice(0, -1), ',"s":', seq, "}"].join("") : `${frame.slice(0, -1)},"s":${seq}}`;
}

/** Give a replayable frame (its `s` is always the last member) a new sequence number. */
export function reseq(frame: string, seq: number): string {
  return frame.replace(/,"s":\d+\}$/, `,"s":${seq}}`);
}

/** Encode any frame from a plain object (payload under `d`/`b` is handled for you). */
export function encodeFrame(t: string, fields: Record<string, unknown>, data?: unknown): string {
  if (flatFrames && !isBinary(data)) {
    const frame: Record<string, unknown> = { t };
    for (const k in fields) frame[k] = fields[k]; // JSON.stringify leaves out what is undefined
    if (data !== undefined) frame.d = data;
    return JSON.stringify(frame);
  }
  let out = `{"t":"${t}"`;
  for (const k in fields) {
    const json = JSON.stringify(fields[k]);
    if (json !== undefined) out += `,${JSON.stringify(k)}:${json}`; // undefined, a function: no member
  }
  return out + payloadMember(data) + "}";
}

/** Encode an error frame. `id` is absent for errors about a frame that had none. */
export function encodeError(id: FrameId | undefined, code: string, message: string, data?: unknown): string {
  return encodeFrame("err", { id, c: code, m: message, d: data });
}

/** Standard base64 (RFC 4648 §4) of bytes, with padding. Web-standard only. */
export function toBase64(bytes: Uint8Array): string {
  let s = "";
  // btoa over a binary string in 32 KiB chunks: fast everywhere and no stack blow-up.
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000) as unknown as number[]);
  }
  return btoa(s);
}

/** Decode standard base64 into bytes; throws on invalid input. */
export function fromBase64(text: string): Uint8Array {
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
