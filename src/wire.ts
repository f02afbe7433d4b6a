/**
 * What a session puts on the wire besides frames: close codes and reasons a close frame may
 * carry, the raw-mode form of a payload, and the compact form of upgrade headers a session keeps.
 * @module
 */

/** Make a close code safe to put on the wire: 1000, 1001-1014 that may be sent, or 3000-4999. */
export function wireCloseCode(code: number | undefined): number {
  if (code === undefined || !Number.isInteger(code)) return 1000;
  if (code === 1000 || code === 1001 || (code >= 1007 && code <= 1014 && code !== 1010) || code === 1002 || code === 1003) return code;
  if (code >= 3000 && code <= 4999) return code;
  return 1000;
}

/** Trim a close reason to the 123 bytes of UTF-8 a close frame can carry, on a character boundary. */
export function wireCloseReason(reason: string | undefined): string {
  if (typeof reason !== "string" || !reason) return ""; // never bytes or objects: nothing else goes on the wire
  const enc = new TextEncoder();
  if (enc.encode(reason).length <= 123) return reason;
  let out = "";
  let n = 0;
  for (const ch of reason) {
    const len = enc.encode(ch).length;
    if (n + len > 123) break;
    out += ch;
    n += len;
  }
  return out;
}

/** What the hub reads of a request's headers: a `Headers` object, or a host's cheaper view of them. */
export interface HeaderReader {
  /** The value of `name` (any case), duplicates joined with `", "`, or `null`. */
  get(name: string): string | null;
  /** Each header with its name in lowercase (a `Headers` object gives duplicates joined). */
  forEach(callback: (value: string, name: string) => void): void;
}

/**
 * Headers that only carry the WebSocket handshake itself: the hop-by-hop `connection` and
 * `upgrade`, the one-time `sec-websocket-key` nonce, the version (always 13 once accepted) and
 * the extension offers (none is ever negotiated). A session does not keep them.
 */
const HANDSHAKE_ONLY = new Set(["connection", "upgrade", "sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions"]);

/**
 * Pack the headers a session keeps into one flat string, `name\nvalue\nname\nvalue`: a header
 * name or value can never hold a line feed, and one string costs far less than a `Headers`
 * object (or an array of pairs) kept per session. `join` gives a flat string, never a rope of
 * the pieces. The handshake's own headers ({@link HANDSHAKE_ONLY}) are left out.
 */
export function packHeaders(h: HeaderReader): string {
  // One scratch array and one callback for every call: no closure, scope or array per upgrade,
  // and no [name, value] array per header (unlike for-of).
  const parts = PARTS;
  parts.length = 0;
  h.forEach(keepHeader);
  const packed = parts.join("\n");
  parts.length = 0;
  return packed;
}
const PARTS: string[] = [];
function keepHeader(v: string, k: string): void {
  if (!HANDSHAKE_ONLY.has(k)) PARTS.push(k, v);
}

/**
 * One copy of a string that repeats from session to session: the upgrade URL, the packed
 * headers, the peer address. Each upgrade brings a fresh copy of each from the host, and an idle
 * session would keep its own for its whole life; the same client software on the same path sends
 * the same URL and headers, so most sessions can share the first copy. Bounded: strings longer
 * than 2 048 characters stay as they are (a large cookie is seldom shared), and the table is
 * emptied once it holds {@link SHARED_MAX} strings.
 */
export function shared(s: string): string {
  if (s.length > 2048) return s;
  const known = SHARED.get(s);
  if (known !== undefined) return known;
  if (SHARED.size >= SHARED_MAX) SHARED.clear();
  SHARED.set(s, s);
  return s;
}
const SHARED = new Map<string, string>();
const SHARED_MAX = 512;

/** The `Headers` of a string from {@link packHeaders}. */
export function unpackHeaders(packed: string): Headers {
  const h = new Headers();
  if (packed === "") return h;
  const p = packed.split("\n");
  for (let i = 0; i + 1 < p.length; i += 2) h.append(p[i]!, p[i + 1]!);
  return h;
}

/** Whether a payload is bytes (an `ArrayBuffer` or any view of one): sent as is in raw mode, as base64 `b` in an envelope. */
export function isBinary(data: unknown): data is ArrayBuffer | ArrayBufferView {
  return typeof data === "object" && data !== null && (data instanceof ArrayBuffer || ArrayBuffer.isView(data));
}

/** The bytes of a binary payload (see {@link isBinary}) as a `Uint8Array` over the same memory; `undefined` for anything else. */
export function bytesOf(data: unknown): Uint8Array | undefined {
  if (!isBinary(data)) return undefined;
  if (data instanceof Uint8Array) return data;
  return data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** The raw-mode form of a payload: strings and bytes untouched, anything else as JSON text. */
export function rawFrame(data: unknown): string | Uint8Array {
  if (typeof data === "string") return data;
  return bytesOf(data) ?? (data === undefined ? "" : JSON.stringify(data));
}

/** One id or a list of ids (a send target's `to` or `except`) as a list. */
export function asList(v: string | readonly string[] | undefined): readonly string[] {
  return v === undefined ? [] : typeof v === "string" ? [v] : v;
}
