/**
 * Session and hub ids: 128 random bits as base64url, made without per-id buffers.
 * @module
 */

/** A new unguessable id: 128 random bits, base64url (22 characters). */
export function newId(): string {
  // base64url of 16 random bytes, written straight into one flat 22-character string: no
  // buffer, binary string or replaced copies per id (ids are made for every connection).
  // The bytes come from a pool filled by one `getRandomValues` call per 256 ids: a call costs
  // about 4 µs on Node 20 whatever its size. Each byte is used for one id only.
  if (randomAt + 16 > RANDOM.length) {
    crypto.getRandomValues(RANDOM);
    randomAt = 0;
  }
  const b = RANDOM;
  const o = randomAt;
  randomAt += 16;
  const c = ID_CODES;
  let j = 0;
  for (let i = o; i < o + 15; i += 3) {
    const n = (b[i]! << 16) | (b[i + 1]! << 8) | b[i + 2]!;
    c[j++] = B64URL.charCodeAt(n >>> 18);
    c[j++] = B64URL.charCodeAt((n >>> 12) & 63);
    c[j++] = B64URL.charCodeAt((n >>> 6) & 63);
    c[j++] = B64URL.charCodeAt(n & 63);
  }
  c[20] = B64URL.charCodeAt(b[o + 15]! >>> 2);
  c[21] = B64URL.charCodeAt((b[o + 15]! & 3) << 4);
  return String.fromCharCode.apply(null, c);
}

const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/** Random bytes for {@link newId}, 256 ids' worth (4 KiB: under `getRandomValues`' 64 KiB cap). */
const RANDOM = new Uint8Array(4096);
let randomAt = RANDOM.length;
const ID_CODES: number[] = new Array<number>(22).fill(0);
