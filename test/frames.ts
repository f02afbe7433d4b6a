/**
 * A raw-frame WebSocket client on `node:net`, for the catalogue's frame-level cases (6, 7, 9):
 * it writes frames byte for byte (masked unless told otherwise, any RSV bits, any opcode) and
 * parses what the server sends back. It waits for events, never for time.
 */
import { connect as netConnect, type Socket } from "node:net";

/** One frame as the server sent it. */
export interface ServerFrame {
  readonly fin: boolean;
  readonly opcode: number;
  readonly payload: Uint8Array;
}

/** How a connection ended: a close frame from the server (with its code, if any), or TCP alone. */
export type Ending = { how: "close"; code: number | undefined } | { how: "tcp" };

export interface FrameOptions {
  fin?: boolean;
  /** RSV bits as a 3-bit number: 4 = RSV1, 2 = RSV2, 1 = RSV3. */
  rsv?: number;
  masked?: boolean;
}

/** Encode one client frame. Masked with a fixed key unless `masked: false`. */
export function frame(opcode: number, payload: Uint8Array | string = new Uint8Array(), o: FrameOptions = {}): Uint8Array {
  const data = typeof payload === "string" ? new TextEncoder().encode(payload) : payload;
  const { fin = true, rsv = 0, masked = true } = o;
  const len = data.length;
  const m = masked ? 0x80 : 0;
  const head = [(fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 15)];
  if (len < 126) head.push(m | len);
  else if (len < 65_536) head.push(m | 126, len >> 8, len & 255);
  else head.push(m | 127, 0, 0, 0, 0, (len >>> 24) & 255, (len >>> 16) & 255, (len >>> 8) & 255, len & 255);
  const key = masked ? [0x37, 0xfa, 0x21, 0x3d] : [];
  const out = new Uint8Array(head.length + key.length + len);
  out.set(head);
  out.set(key, head.length);
  for (let i = 0; i < len; i++) out[head.length + key.length + i] = masked ? data[i]! ^ key[i & 3]! : data[i]!;
  return out;
}

/** A close frame's payload: a 2-byte code, then the reason bytes as given. */
export function closePayload(code: number, reason: Uint8Array = new Uint8Array()): Uint8Array {
  const p = new Uint8Array(2 + reason.length);
  p[0] = code >> 8;
  p[1] = code & 255;
  p.set(reason, 2);
  return p;
}

export class RawFrames {
  /** Every frame received, in order. */
  readonly frames: ServerFrame[] = [];
  /** Resolves once the server sent a close frame or the TCP connection ended. */
  readonly ended: Promise<Ending>;
  #end!: (e: Ending) => void;
  #buf = new Uint8Array(0);
  #waiters: { pred: (f: ServerFrame) => boolean; resolve: (f: ServerFrame) => void }[] = [];
  #queue: ServerFrame[] = []; // received and not yet matched by next()

  private constructor(readonly sock: Socket) {
    this.ended = new Promise((resolve) => (this.#end = resolve));
  }

  /**
   * Handshake over TCP (the `Sec-WebSocket-Protocol` offer optional, and more header lines as
   * `"Name: value"`, repeats allowed) and resolve once 101 arrived.
   */
  static open(url: string, protocol?: string, ms = 5000, lines: readonly string[] = []): Promise<RawFrames> {
    const u = new URL(url);
    return new Promise((resolve, reject) => {
      const sock = netConnect(Number(u.port), u.hostname, () => {
        sock.setNoDelay(true);
        sock.write([`GET ${u.pathname}${u.search} HTTP/1.1`, `Host: ${u.host}`, "Upgrade: websocket", "Connection: Upgrade",
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13",
          ...(protocol ? [`Sec-WebSocket-Protocol: ${protocol}`] : []), ...lines, "", ""].join("\r\n"));
      });
      const c = new RawFrames(sock);
      const timer = setTimeout(() => (sock.destroy(), reject(new Error(`no 101 from ${url} within ${ms} ms`))), ms);
      let head = Buffer.alloc(0);
      const onData = (d: Buffer): void => {
        head = Buffer.concat([head, d]);
        const end = head.indexOf("\r\n\r\n");
        if (end < 0) return;
        clearTimeout(timer);
        sock.off("data", onData);
        const status = head.subarray(0, end).toString("latin1").split("\r\n")[0]!;
        if (!/^HTTP\/1\.1 101/.test(status)) {
          sock.destroy();
          return reject(new Error(status));
        }
        sock.on("data", (b: Buffer) => c.#push(b));
        c.#push(head.subarray(end + 4));
        resolve(c);
      };
      sock.on("data", onData);
      sock.on("error", (e) => (clearTimeout(timer), reject(e), c.#end({ how: "tcp" })));
      sock.on("close", () => c.#end({ how: "tcp" }));
    });
  }

  /** Write bytes; resolves once the kernel took them. */
  write(bytes: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => this.sock.write(bytes, (e) => (e ? reject(e) : resolve())));
  }

  /** Write several frames in one TCP write. */
  send(...frames: Uint8Array[]): Promise<void> {
    return this.write(Buffer.concat(frames));
  }

  /** The next received frame matching `pred` (frames are matched at most once), within `ms`. */
  next(pred: (f: ServerFrame) => boolean = () => true, ms = 5000): Promise<ServerFrame> {
    const i = this.#queue.findIndex(pred);
    if (i >= 0) return Promise.resolve(this.#queue.splice(i, 1)[0]!);
    return new Promise((resolve, reject) => {
      const w = { pred, resolve: (f: ServerFrame) => (clearTimeout(timer), resolve(f)) };
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(w), 1);
        reject(new Error(`no matching frame within ${ms} ms (got ${this.frames.map((f) => f.opcode).join(",") || "none"})`));
      }, ms);
      this.#waiters.push(w);
    });
  }

  /** How the connection ended, or a rejection if it did not end within `ms`. */
  endedWithin(ms = 5000): Promise<Ending> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    return Promise.race([
      this.ended,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`the connection did not end within ${ms} ms`)), ms))),
    ]).finally(() => clearTimeout(timer));
  }

  destroy(): void {
    this.sock.destroy();
  }

  #push(b: Uint8Array): void {
    const buf = new Uint8Array(this.#buf.length + b.length);
    buf.set(this.#buf);
    buf.set(b, this.#buf.length);
    let at = 0;
    for (;;) {
      if (buf.length - at < 2) break;
      const b0 = buf[at]!;
      const b1 = buf[at + 1]!;
      let len = b1 & 127;
      let off = at + 2;
      if (len === 126) {
        if (buf.length - off < 2) break;
        len = (buf[off]! << 8) | buf[off + 1]!;
        off += 2;
      } else if (len === 127) {
        if (buf.length - off < 8) break;
        len = Number(new DataView(buf.buffer, buf.byteOffset + off, 8).getBigUint64(0));
        off += 8;
      }
      const key = b1 & 128 ? buf.slice(off, off + 4) : undefined;
      if (key) off += 4;
      if (buf.length - off < len) break;
      const payload = buf.slice(off, off + len);
      if (key) for (let i = 0; i < len; i++) payload[i]! ^= key[i & 3]!;
      at = off + len;
      this.#received({ fin: (b0 & 128) !== 0, opcode: b0 & 15, payload });
    }
    this.#buf = buf.slice(at);
  }

  #received(f: ServerFrame): void {
    this.frames.push(f);
    const i = this.#waiters.findIndex((w) => w.pred(f));
    if (i >= 0) this.#waiters.splice(i, 1)[0]!.resolve(f);
    else this.#queue.push(f);
    if (f.opcode === 8) this.#end({ how: "close", code: f.payload.length >= 2 ? (f.payload[0]! << 8) | f.payload[1]! : undefined });
  }
}

/** The text of a frame's payload. */
export const text = (f: ServerFrame): string => new TextDecoder().decode(f.payload);
