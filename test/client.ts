/**
 * A deliberately small test client on the web-standard WebSocket: it waits for events
 * (frames, open, close) instead of sleeping. Used by the conformance suite on every host.
 */
import { connect as netConnect } from "node:net";

type Frame = Record<string, unknown> & { t?: string };
type Msg = string | ArrayBuffer;

export class TestClient {
  readonly ws: WebSocket;
  readonly closed: Promise<{ code: number; reason: string }>;
  sid = "";
  /** Every message received, in order (for "never leaks" checks). */
  readonly all: Msg[] = [];
  #queue: Msg[] = [];
  #waiters: { pred: (m: Msg) => boolean; resolve: (m: Msg) => void }[] = [];
  #nextId = 0;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.binaryType = "arraybuffer";
    ws.onmessage = (e) => this.#push(e.data as Msg);
    this.closed = new Promise((resolve) => ws.addEventListener("close", (e) => resolve({ code: e.code, reason: e.reason })));
  }

  /** Open a connection; for `wirehub.v1` also wait for the hello frame. */
  static async connect(url: string, protocols?: string | string[]): Promise<TestClient> {
    const ws = new WebSocket(url, protocols);
    const c = new TestClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener("open", () => resolve(), { once: true });
      ws.addEventListener("error", () => reject(new Error(`could not connect to ${url}`)), { once: true });
      ws.addEventListener("close", (e) => reject(new Error(`closed before open: ${e.code}`)), { once: true });
    });
    if (ws.protocol === "wirehub.v1") {
      const hello = await c.frame((f) => f.t === "hello");
      c.sid = hello.sid as string;
    }
    return c;
  }

  static envelope(url: string): Promise<TestClient> {
    return TestClient.connect(url, "wirehub.v1");
  }

  /** Answer the server's app-level pings, as any well-behaved envelope client must. */
  answerPings = true;

  #push(m: Msg): void {
    if (this.answerPings && typeof m === "string" && m.startsWith('{"t":"ping"')) {
      const ts = (JSON.parse(m) as { ts?: number }).ts;
      this.ws.send(JSON.stringify(ts === undefined ? { t: "pong" } : { t: "pong", ts }));
    }
    this.all.push(m);
    const i = this.#waiters.findIndex((w) => w.pred(m));
    if (i >= 0) this.#waiters.splice(i, 1)[0]!.resolve(m);
    else this.#queue.push(m);
  }

  /** The next message (raw text or bytes) matching `pred`, waiting up to `ms`. */
  next(pred: (m: Msg) => boolean = () => true, ms = 5000): Promise<Msg> {
    const i = this.#queue.findIndex(pred);
    if (i >= 0) return Promise.resolve(this.#queue.splice(i, 1)[0]!);
    return new Promise((resolve, reject) => {
      const w = { pred, resolve: (m: Msg) => (clearTimeout(timer), resolve(m)) };
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(w), 1);
        reject(new Error(`no matching message within ${ms} ms`));
      }, ms);
      this.#waiters.push(w);
    });
  }

  /** The next envelope frame matching `pred`. */
  async frame(pred: (f: Frame) => boolean = () => true, ms = 5000): Promise<Frame> {
    const m = await this.next((m) => typeof m === "string" && safe(m, pred), ms);
    return JSON.parse(m as string) as Frame;
  }

  /** Expect no message matching `pred` to be queued by the time a round trip completes. */
  async nothing(pred: (f: Frame) => boolean): Promise<void> {
    await this.request("whoami"); // a full round trip: anything sent earlier has arrived
    const hit = this.#queue.find((m) => typeof m === "string" && safe(m, pred));
    if (hit) throw new Error(`unexpected frame: ${hit}`);
  }

  send(frame: Frame | string | Uint8Array): void {
    this.ws.send(typeof frame === "string" || frame instanceof Uint8Array ? frame : JSON.stringify(frame));
  }

  /** Send a request and await its `res` or `err` frame. */
  async request(m: string, d?: unknown): Promise<Frame> {
    const id = ++this.#nextId;
    this.send({ t: "req", id, m, d });
    return this.frame((f) => (f.t === "res" || f.t === "err") && f.id === id);
  }

  /** A request that must succeed; returns its `d`. */
  async call<T = unknown>(m: string, d?: unknown): Promise<T> {
    const f = await this.request(m, d);
    if (f.t !== "res") throw new Error(`${m} failed: ${JSON.stringify(f)}`);
    return f.d as T;
  }

  close(code?: number, reason?: string): Promise<{ code: number; reason: string }> {
    this.ws.close(code, reason);
    return this.closed;
  }
}

function safe(text: string, pred: (f: Frame) => boolean): boolean {
  try {
    return pred(JSON.parse(text) as Frame);
  } catch {
    return false;
  }
}

/**
 * Open a WebSocket at the TCP level and then stay completely silent: it never answers a ping,
 * never sends a frame. Resolves once the server answered 101; `destroy()` ends it. `protocol`
 * (say `wirehub.v1`) is offered in `Sec-WebSocket-Protocol`; without it the session is raw.
 */
export function silentSocket(url: string, protocol?: string): Promise<{ destroy(): void }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = netConnect(Number(u.port), u.hostname, () => {
      sock.write([`GET ${u.pathname}${u.search} HTTP/1.1`, `Host: ${u.host}`, "Upgrade: websocket", "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13",
        ...(protocol ? [`Sec-WebSocket-Protocol: ${protocol}`] : []), "", ""].join("\r\n"));
    });
    let buf = "";
    const onData = (d: Buffer): void => {
      buf += d.toString("latin1");
      if (/^HTTP\/1\.1 101/.test(buf)) {
        sock.off("data", onData);
        sock.pause(); // read nothing more: pings go unanswered
        resolve({ destroy: () => sock.destroy() });
      } else if (/^HTTP\/1\.1 \d{3}/.test(buf)) reject(new Error(buf.split("\r\n")[0]));
    };
    sock.on("data", onData);
    sock.on("error", reject);
  });
}

/**
 * Send a WebSocket upgrade request over a plain TCP socket and return the HTTP status line's
 * code: the only way to see a rejected upgrade's status, which WebSocket clients hide.
 */
export async function upgradeStatus(url: string, headers: Record<string, string | null> = {}, method = "GET"): Promise<number> {
  return (await upgradeResponse(url, headers, method)).status;
}

/**
 * Like {@link upgradeStatus}, but wait for the whole response head and return the status with
 * the response headers (names lower-cased; repeated ones joined with ", "). Rejects if no head
 * arrives within `ms`.
 */
export function upgradeResponse(url: string, headers: Record<string, string | null> = {}, method = "GET", ms = 5000): Promise<{ status: number; headers: Headers }> {
  const u = new URL(url);
  const all: Record<string, string | null> = {
    Host: u.host,
    Upgrade: "websocket",
    Connection: "Upgrade",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version": "13",
    ...headers, // a null value leaves that header out
  };
  return new Promise((resolve, reject) => {
    const sock = netConnect(Number(u.port), u.hostname, () => {
      const lines = [
        `${method} ${u.pathname}${u.search} HTTP/1.1`,
        ...Object.entries(all).filter(([, v]) => v !== null).map(([k, v]) => `${k}: ${v}`),
        "",
        "",
      ];
      sock.write(lines.join("\r\n"));
    });
    const timer = setTimeout(() => (sock.destroy(), reject(new Error(`no response head from ${url} within ${ms} ms`))), ms);
    let buf = "";
    const finish = (): void => {
      const m = /^HTTP\/1\.1 (\d{3})/.exec(buf);
      if (!m) return;
      clearTimeout(timer);
      const h = new Headers();
      for (const line of buf.split("\r\n\r\n")[0]!.split("\r\n").slice(1)) {
        const i = line.indexOf(":");
        if (i > 0) h.append(line.slice(0, i).trim(), line.slice(i + 1).trim());
      }
      resolve({ status: Number(m[1]), headers: h });
      sock.destroy();
    };
    sock.on("data", (d) => {
      buf += d.toString("latin1");
      if (buf.includes("\r\n\r\n")) finish();
    });
    sock.on("end", finish); // a head cut short still tells its status
    sock.on("error", (e) => (clearTimeout(timer), reject(e)));
  });
}
