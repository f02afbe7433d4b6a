/// <reference types="node" />
/**
 * Node adapter: the `ws` package in `noServer` mode, on a plain `http.Server`/`https.Server`
 * or on the server `@hono/node-server` returns. Upgrades are decided on a web-standard `Request`.
 * Host documentation: https://github.com/websockets/ws/blob/master/doc/ws.md
 * and https://nodejs.org/api/http.html#event-upgrade
 *
 * ```ts
 * import { createHub } from "wirehub";
 * import { serve } from "wirehub/node";
 * const server = await serve(createHub(), { port: 8080 });
 * ```
 * @module
 */
import { createServer as httpServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as httpsServer, type ServerOptions as TlsOptions } from "node:https";
import { once, type EventEmitter } from "node:events";
import { nextTick } from "node:process";
import type { AddressInfo } from "node:net";
import { pipeline, Readable, type Duplex } from "node:stream";
import type { ReadableStream as WebStream } from "node:stream/web";
import { WebSocket, WebSocketServer } from "ws";
import type { Admission, Capabilities, Driver, HeaderReader, Hub, Seam, Session, UpgradeInfo, UpgradeRequest, ServerHandle } from "../src/mod.ts";

/** What Node (with `ws`) can do, as the conformance suite reads it. */
export const capabilities: Capabilities = { protocolPing: true, nativePubSub: false, bufferedAmount: true, hibernation: false, validatesUtf8: true, compression: true };

/** Decides one upgrade: an admission to accept, or the `Response` to write back instead (or a promise of either). */
export type Decide = (request: Request, req: IncomingMessage) => Admission<unknown> | Response | Promise<Admission<unknown> | Response>;

/** Options of {@link NodeHandler.attach}. */
export interface AttachOptions {
  /** Only take upgrades on this path; others are left to other `upgrade` listeners (or get 404). Default: every path. */
  readonly path?: string;
  /** How upgrades are decided. Default: the hub's own rules ({@link NodeHandler.admit}). `wirehub/hono` passes its app here. */
  readonly decide?: Decide;
}

/** Options of {@link serve}. */
export interface ServeOptions {
  /** Port to listen on; `0` picks a free one (read it from the handle). Default `0`. */
  readonly port?: number;
  /** Interface to bind. Default: Node's default (all interfaces). */
  readonly hostname?: string;
  /** Only upgrade requests on this path; others go to `fetch` (404 without one). Default: every path. */
  readonly path?: string;
  /** Answer plain HTTP requests. Default: 426. */
  readonly fetch?: (request: Request) => Response | Promise<Response>;
  /** Node's `https.createServer` options (`{ cert, key }`, …) for `wss://`. Default: none (plain `http`). */
  readonly tls?: TlsOptions;
}

/** A running server: the same shape on every host (declared once, in the core). */
export type { ServerHandle } from "../src/mod.ts";

/** The pieces to mount a hub on your own Node server. */
export interface NodeHandler {
  /** Handle one `upgrade` event: decide on a `Request`, then upgrade or write the refusal and destroy the socket. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, decide?: Decide): Promise<void>;
  /** Listen to `server`'s `upgrade` event (an `http`, `https` or `@hono/node-server` server). Returns a detach function. */
  attach(server: EventEmitter, options?: AttachOptions): () => void;
  /**
   * Only decide by the hub's rules: an admission or the refusal; a promise of it when the upgrade
   * hook returns one. Awaiting it works either way.
   */
  admit(request: Request, info?: UpgradeInfo): Admission<unknown> | Response | Promise<Admission<unknown> | Response>;
  /**
   * After `hub.close()`: wait up to `ms` (default 2 000) for the peers to answer the close
   * handshake, then cut the sockets of those that never did (ws would wait 30 s for them).
   */
  drain(ms?: number): Promise<void>;
}

/** The absolute URL of `req` (from the Host header and the scheme). */
function urlOf(req: IncomingMessage): string {
  const scheme = "encrypted" in req.socket && req.socket.encrypted ? "https" : "http";
  const target = req.url?.startsWith("/") ? req.url : "/"; // origin-form only: "//evil.example/x" stays a path
  return `${scheme}://${req.headers.host ?? "localhost"}${target}`;
}

/** `req` as a web-standard `Request`. */
function toRequest(req: IncomingMessage, body?: ReadableStream<Uint8Array>, url = urlOf(req)): Request {
  // Name/value pairs, not a `Headers` object: the `Request` copies whatever it is given, and a
  // `Headers` built first would be made (and validated) twice. A URL string, for the same reason.
  const raw = req.rawHeaders;
  const headers: [string, string][] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) headers.push([raw[i]!, raw[i + 1]!]);
  const init: RequestInit & { duplex?: "half" } = { method: req.method, headers, body, duplex: body && "half" };
  return new Request(url, init);
}

/**
 * An upgrade as the hub decides it: the URL, method and headers read straight from Node's
 * request, and the undici `Request` (about 15 µs and its garbage per connection) built only
 * when the upgrade hook or an origin-policy function is to receive it.
 */
class NodeUpgrade implements UpgradeRequest, HeaderReader {
  readonly url: string;
  readonly method: string;
  private built: Request | undefined;
  constructor(private readonly req: IncomingMessage) {
    this.url = urlOf(req);
    // As `new Request` would: a Host header that makes no URL is refused (400) here too.
    if (!URL.canParse(this.url)) throw new TypeError(`invalid upgrade URL: ${this.url}`);
    this.method = req.method ?? "GET";
  }
  get headers(): HeaderReader {
    return this;
  }
  toRequest(): Request {
    return (this.built ??= toRequest(this.req, undefined, this.url));
  }
  /** As `Headers.get`: every line of the header, in order, joined with `", "`. */
  get(name: string): string | null {
    const raw = this.req.rawHeaders;
    const want = name.toLowerCase();
    let value: string | null = null;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const k = raw[i]!;
      if (k.length === want.length && k.toLowerCase() === want) value = value === null ? raw[i + 1]! : `${value}, ${raw[i + 1]!}`;
    }
    return value;
  }
  /** Each header line as received, its name in lowercase. */
  forEach(callback: (value: string, name: string) => void): void {
    const raw = this.req.rawHeaders;
    for (let i = 0; i + 1 < raw.length; i += 2) callback(raw[i + 1]!, raw[i]!.toLowerCase());
  }
}

/** Write a `Response` to a raw socket that never became a WebSocket, then destroy it. */
async function refuse(socket: Duplex, res: Response): Promise<void> {
  const body = Buffer.from(await res.arrayBuffer().catch(() => new ArrayBuffer(0)));
  if (socket.destroyed) return;
  let head = `HTTP/1.1 ${res.status} ${res.statusText || STATUS_CODES[res.status] || ""}\r\n`;
  for (const [k, v] of res.headers) if (k !== "content-length" && k !== "connection" && k !== "transfer-encoding") head += `${k}: ${v}\r\n`;
  head += `content-length: ${body.length}\r\nconnection: close\r\n\r\n`;
  socket.end(Buffer.concat([Buffer.from(head, "latin1"), body]), () => socket.destroy());
}

/**
 * Corking. `ws` writes each frame with its own `writev` (header and payload), one system call
 * per frame: more than half of the server's CPU time under load. A socket that is sent to is
 * corked instead, and every socket corked in a tick is uncorked once, after the tick's
 * synchronous work (`process.nextTick`): the frames answering one read leave in one write.
 * A socket holding more than `HOLD_BYTES` is written at once (the send then reports the
 * kernel's backlog as before), so holding never grows a buffer the backpressure bound can't see;
 * and all held sockets are written once they hold `HOLD_TOTAL` together (a big fan-out in one
 * tick keeps at most that much waiting in memory).
 */
const HOLD_BYTES = 16 * 1024;
const HOLD_TOTAL = 1 << 20;
let held: Duplex[] = [];
let heldBytes = 0;

function release(): void {
  const socks = held;
  held = [];
  heldBytes = 0;
  for (const sock of socks) sock.uncork(); // a no-op on a socket already written out (or destroyed)
}

/** Cork `sock` until the end of this tick. Always `true` (for use in a condition). */
function hold(sock: Duplex): boolean {
  if (held.length === 0) nextTick(release);
  held.push(sock);
  sock.cork();
  return true;
}

/** Swallows a socket's errors while its upgrade is decided; one function for every handler, so any can remove it. */
const ignore = (): void => {};

/** How each hub with a Node handler completes an accepted upgrade: `decide` may answer for any of them. */
const COMPLETERS = new WeakMap<object, (req: IncomingMessage, socket: Duplex, head: Buffer, a: Admission<unknown>) => void>();

/** Build the handler for your own `http.Server`, `https.Server` or `@hono/node-server` server. */
export function createHandler<D>(hub: Hub<D, any>): NodeHandler {
  const admissions = new WeakMap<IncomingMessage, Admission<unknown>>();
  // Sockets not yet fully closed (for drain()) and their sessions. The handlers below are shared
  // by every socket and find the session here: no closure per socket, and nothing of the upgrade
  // (request, head buffer, admission) stays reachable once the session is open.
  const live = new Map<WebSocket, Session<unknown>>();
  /**
   * The hub's sockets: `ws`'s own, with the events the hub needs handled in `emit`, which `ws`
   * calls for every event. As listeners (`on`) they cost each socket an event table (a V8
   * dictionary, about 250 bytes with five entries) and every frame a listener lookup; here they
   * cost nothing per socket. Listeners added with `on`/`once` (`drain` adds one) still run, after.
   */
  class HubSocket extends WebSocket {
    override emit(type: string | symbol, a?: unknown, b?: unknown): boolean {
      switch (type) {
        case "message":
          onMessage.call(this, a as Buffer, b as boolean);
          break;
        case "close":
          onClose.call(this, a as number, b as Buffer);
          break;
        case "error":
          onError.call(this, a as Error);
          // Handled: with no listener of its own, EventEmitter would throw it.
          return this.listenerCount("error") > 0 ? super.emit(type, a) : true;
        case "pong":
          onPong.call(this);
          break;
        case "ping":
          onPing.call(this);
          break;
      }
      // As many arguments as ws passed (at most two for the events above; `upgrade` and the like one).
      const n = arguments.length;
      return n === 3 ? super.emit(type, a, b) : n === 2 ? super.emit(type, a) : n === 1 ? super.emit(type) : super.emit(type, ...Array.prototype.slice.call(arguments, 1));
    }
  }
  const wss = new WebSocketServer({
    noServer: true,
    WebSocket: HubSocket,
    clientTracking: false, // the hub tracks sessions; a second set would only cost memory
    // At ws's own limit the hook would see 1006 (see below): the core enforces the exact one, ws caps memory.
    maxPayload: Math.max(2 * (hub.options.maxMessageSize ?? 1 << 20), 1 << 16),
    perMessageDeflate: hub.options.compression ?? false,
    // ws would echo nothing or the client's first offer; the hub has already chosen.
    handleProtocols: (_offered, req) => admissions.get(req)?.protocol || false,
  });
  // ws writes the 101 after this event, with the lines pushed here (the upgrade hook's headers).
  wss.on("headers", (lines: string[], req: IncomingMessage) => {
    const extra = admissions.get(req)?.responseHeaders;
    if (extra) for (const [name, value] of extra) lines.push(`${name}: ${value}`);
  });
  const driver: Driver<WebSocket> = {
    capabilities,
    send(ws, data) {
      if (ws.readyState !== 1 /* OPEN */) return "dropped";
      const sock = (ws as unknown as { _socket?: Duplex })._socket;
      // Frames sent in one tick leave in one write (see `hold`), unless the socket already has a
      // backlog: then they queue behind it in any case, and "queued" tells the core so.
      if (sock && (sock.writableCorked > 0 || (sock.writableLength === 0 && hold(sock)))) {
        ws.send(data);
        heldBytes += typeof data === "string" ? data.length : data.byteLength;
        if (heldBytes > HOLD_TOTAL) release(); // write every held socket now, and report as below
        else if (sock.writableLength <= HOLD_BYTES) return "sent"; // held for this tick only: not backpressure
        else sock.uncork(); // enough for one write: write now, and report what the kernel did not take
      } else ws.send(data);
      return ws.bufferedAmount > 0 ? "queued" : "sent"; // what the kernel did not take at once waits here
    },
    close(ws, code, reason) {
      ws.close(code, reason);
      // ws reports `close` once the peer answers (30 s later for a dead one); Bun reports at once.
      const s = live.get(ws); // do as Bun: for the hub the session ends now, with its own code
      if (s) queueMicrotask(() => seam.close(s, code, reason, ws));
    },
    ping: (ws) => ws.ping(),
    // Frames held until the end of the tick are not a backlog (the send said "sent").
    bufferedAmount: (ws) => ((ws as unknown as { _socket?: Duplex })._socket?.writableCorked ? 0 : ws.bufferedAmount),
  };
  const seam = hub.attach(driver) as unknown as Seam<unknown, WebSocket>;
  // Called by HubSocket.emit with the socket as `this`.
  function onMessage(this: WebSocket, data: Buffer, binary: boolean): void {
    const s = live.get(this);
    if (s) seam.message(s, binary ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : data.toString(), this);
  }
  // ws answers a bad frame itself (1009, 1007, 1002), stops reading, and says 1006 later: report its code now.
  function onError(this: WebSocket, e: Error & { code?: string }): void {
    const s = live.get(this);
    if (!s) return;
    if (!e.code?.startsWith("WS_ERR_")) return seam.error(s, e);
    seam.close(s, e.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH" ? 1009 : e.code === "WS_ERR_INVALID_UTF8" ? 1007 : 1002, "", this);
  }
  function onClose(this: WebSocket, code: number, reason: Buffer): void {
    const s = live.get(this);
    live.delete(this);
    if (s) seam.close(s, code, reason.toString(), this);
  }
  function onPong(this: WebSocket): void {
    const s = live.get(this);
    if (s) seam.pong(s);
  }
  function onPing(this: WebSocket): void {
    const s = live.get(this);
    if (s) seam.ping(s); // ws answers it itself (autoPong); the hub only records it
  }

  async function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, decide?: Decide): Promise<void> {
    socket.on("error", ignore); // a peer that leaves mid-decision must not crash the process
    const r = await (async () => decide ? decide(toRequest(req), req) : seam.upgrade(new NodeUpgrade(req), { remoteAddress: req.socket.remoteAddress ?? "" }))().catch((error: unknown) => {
      seam.error(undefined, error); // a Host header that makes no URL, or a throwing decide
      return new Response("bad upgrade request", { status: 400 });
    });
    if (r instanceof Response) return refuse(socket, r);
    // A `decide` that routes to several hubs (one Hono app) may answer with another hub's admission.
    const other = r.hub !== undefined && r.hub !== hub ? COMPLETERS.get(r.hub) : undefined;
    if (other) return other(req, socket, head, r);
    complete(req, socket, head, r);
  }

  function complete(req: IncomingMessage, socket: Duplex, head: Buffer, r: Admission<unknown>): void {
    admissions.set(req, r);
    wss.handleUpgrade(req, socket, head, (ws) => opened(ws, socket, req, r)); // (ws drops a socket the peer closed while we decided)
  }
  COMPLETERS.set(hub, complete);

  // Outside handleUpgrade's scope on purpose: nothing here may keep the upgrade's context alive.
  function opened(ws: WebSocket, socket: Duplex, req: IncomingMessage, r: Admission<unknown>): void {
    // As the Bun and Deno adapters do. Until Node's request object is itself collected, this entry
    // kept the admission and the upgrade hook's `Request` alive: in a burst of connections they
    // reached the old generation (1 to 2 KB of memory per idle session; bench/notes.md).
    admissions.delete(req);
    socket.off("error", ignore); // ws listens from here on
    live.set(ws, seam.open(ws, r)); // from here on HubSocket.emit finds the session
  }

  return {
    admit: (request, info) => seam.upgrade(request, info),
    handleUpgrade,
    async drain(ms = 2000) {
      if (live.size === 0) return;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const closed = [...live.keys()].map((ws) => new Promise<void>((done) => ws.once("close", () => done())));
      await Promise.race([Promise.all(closed), new Promise<void>((done) => (timer = setTimeout(done, ms)))]);
      clearTimeout(timer);
      for (const ws of live.keys()) ws.terminate(); // the peer never answered: no close frame is coming
      live.clear();
    },
    attach(server, options = {}) {
      const listener = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
        if (options.path && (req.url ?? "/").split("?")[0] !== options.path) {
          // Another listener may own this path; answer only when nobody else can.
          if (server.listenerCount("upgrade") === 1) void refuse(socket, new Response("not found", { status: 404 }));
          return;
        }
        void handleUpgrade(req, socket, head, options.decide);
      };
      server.on("upgrade", listener);
      return () => void server.off("upgrade", listener);
    },
  };
}

/** Answer a plain HTTP request with `fetch`, or 426. */
async function respond(req: IncomingMessage, res: ServerResponse, fetch?: ServeOptions["fetch"]): Promise<void> {
  if (!fetch) return void res.writeHead(426, { "content-type": "text/plain" }).end("expected a WebSocket upgrade");
  const body = req.method === "GET" || req.method === "HEAD" ? undefined : (Readable.toWeb(req) as ReadableStream<Uint8Array>);
  const r = await fetch(toRequest(req, body));
  res.writeHead(r.status, r.statusText, [...r.headers].flat()); // iteration keeps each set-cookie apart
  // pipeline, not pipe: a client that leaves mid-body cancels the stream (an endless
  // text/event-stream would otherwise keep being read into a buffer nobody drains).
  if (r.body) pipeline(Readable.fromWeb(r.body as WebStream), res, () => {});
  else res.end();
}

/** An upgrade request for another path than the hub's: `fetch`'s answer, 404 without one, 500 if it throws. */
async function elsewhere(req: IncomingMessage, socket: Duplex, path: string, fetch?: ServeOptions["fetch"]): Promise<void> {
  if ((req.url ?? "/").split("?")[0] === path) return;
  socket.on("error", ignore);
  let r: Response;
  try {
    r = fetch ? await fetch(toRequest(req)) : new Response("not found", { status: 404 });
  } catch {
    r = new Response(null, { status: 500 });
  }
  await refuse(socket, r);
}

/** Serve a hub on its own `http` (or, with `tls`, `https`) server. Resolves once listening. */
export async function serve<D>(hub: Hub<D, any>, options: ServeOptions = {}): Promise<ServerHandle> {
  const h = createHandler(hub);
  const listener = (req: IncomingMessage, res: ServerResponse): void =>
    void respond(req, res, options.fetch).catch(() => res.headersSent ? res.destroy() : res.writeHead(500).end());
  const server: Server = options.tls ? httpsServer(options.tls, listener) : httpServer(listener);
  h.attach(server, { path: options.path });
  const path = options.path;
  // As on Bun and Deno, an upgrade elsewhere than `path` goes to `fetch` (404 without one); the
  // hub's own listener leaves it alone, as there is another listener.
  if (path) server.on("upgrade", (req: IncomingMessage, socket: Duplex) => void elsewhere(req, socket, path, options.fetch).catch(() => socket.destroy()));
  server.listen(options.port ?? 0, options.hostname);
  await once(server, "listening"); // rejects on "error" (port in use, ...)
  const { address, port } = server.address() as AddressInfo;
  const host = address === "0.0.0.0" || address === "::" ? "localhost" : address;
  return {
    port,
    hostname: address,
    url: `${options.tls ? "wss" : "ws"}://${host.includes(":") ? `[${host}]` : host}:${port}${options.path ?? "/"}`,
    async stop() {
      await hub.close();
      await h.drain(); // bounded: a peer that never answers the close cannot hold the process 30 s
      // Upgraded sockets are no longer the server's; idle keep-alive ones would hold close() open.
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}
