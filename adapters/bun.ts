/**
 * Bun adapter: serves a hub with `Bun.serve`, using Bun's native topics for group fan-out.
 * Host documentation: https://bun.sh/docs/api/websockets
 *
 * ```ts
 * import { createHub } from "wirehub";
 * import { serve } from "wirehub/bun";
 * const server = await serve(createHub(), { port: 8080 });
 * ```
 * @module
 */
import { Session, type Admission, type Capabilities, type Driver, type Hub, type Seam, type UpgradeInfo, type ServerHandle } from "../src/mod.ts";
import { useFlatFrames } from "../src/protocol.ts";

// The few Bun types this file touches, declared here so the package needs no bun-types at runtime.
/** The part of Bun's `ServerWebSocket` this adapter uses; `data` holds the hub's admission, then its session. */
export interface BunSocket {
  /** Per-socket data: the admission until open, then the session itself (no wrapper object per socket). */
  data: Admission<unknown> | Session<unknown> | undefined;
  /** The peer's IP address. */
  readonly remoteAddress: string;
  /** Send a frame; Bun answers with bytes sent, -1 when buffered (backpressure) or 0 when dropped. */
  send(data: string | Uint8Array): number;
  /** Close with a code and reason. */
  close(code?: number, reason?: string): void;
  /** Send a protocol ping. */
  ping(data?: string): number;
  /** Join a native topic. */
  subscribe(topic: string): void;
  /** Leave a native topic. */
  unsubscribe(topic: string): void;
  /** Send to a topic's sockets except this one. */
  publish(topic: string, data: string | Uint8Array): number;
  /** Bytes waiting in this socket's send buffer. */
  getBufferedAmount(): number;
}
/** The part of the `Server` that `Bun.serve` returns (and passes to `fetch`) this adapter uses. */
export interface BunServer {
  /** The port bound. */
  readonly port: number;
  /** The hostname bound. */
  readonly hostname: string;
  /** Upgrade a request to a WebSocket carrying `data`; `false` when Bun refused. */
  upgrade(req: Request, options: { data: BunSocket["data"]; headers?: Record<string, string> | Headers }): boolean;
  /** Send to every socket subscribed to a topic. */
  publish(topic: string, data: string | Uint8Array): number;
  /** The address a request came from. */
  requestIP(req: Request): { address: string } | null;
  /** Stop listening; with `true`, close the open connections too. */
  stop(closeActive?: boolean): Promise<void> | void;
}
/** The `websocket` option of `Bun.serve`, as {@link createHandler} fills it. */
export interface BunWebSocketHandler {
  /** Bun's own idle timeout in seconds; 0 (off), so the hub's ping policy decides. */
  idleTimeout: number;
  /** Bytes buffered before Bun reports backpressure: the hub's `backpressure.maxBuffered`. */
  backpressureLimit: number;
  /** Whether Bun closes a socket over `backpressureLimit`: on under the hub's `"close"` backpressure policy. */
  closeOnBackpressureLimit: boolean;
  /** Bun's own pings; off, the hub's ping policy decides. */
  sendPings: boolean;
  /** A socket opened. */
  open(ws: BunSocket): void;
  /** A protocol ping arrived. */
  ping(ws: BunSocket): void;
  /** A frame arrived. */
  message(ws: BunSocket, data: string | Uint8Array): void;
  /** A socket closed. */
  close(ws: BunSocket, code: number, reason: string): void;
  /** A protocol pong arrived. */
  pong(ws: BunSocket): void;
  /** Largest frame Bun accepts, in bytes. */
  maxPayloadLength: number;
  /** permessage-deflate with clients that offer it: the hub's `compression` option. */
  perMessageDeflate: boolean;
}
declare const Bun: {
  serve(options: {
    port?: number;
    hostname?: string;
    tls?: unknown;
    reusePort?: boolean;
    fetch(req: Request, server: BunServer): Response | undefined | Promise<Response | undefined>;
    websocket: BunWebSocketHandler;
  }): BunServer;
};

/** What Bun can do, as the conformance suite reads it. */
export const capabilities: Capabilities = {
  protocolPing: true,
  nativePubSub: true,
  bufferedAmount: true,
  hibernation: false,
  validatesUtf8: true,
  compression: true,
};

/** Options of {@link serve}. */
export interface ServeOptions {
  /** Port to listen on; `0` picks a free one (read it from the handle). Default `0`. */
  readonly port?: number;
  /** Interface to bind. Default: Bun's default (all interfaces). */
  readonly hostname?: string;
  /** Only upgrade requests on this path; others go to `fetch`. Default: every path. */
  readonly path?: string;
  /** Answer plain HTTP requests (and upgrades on other paths). Default: 426 / 404. */
  readonly fetch?: (request: Request) => Response | Promise<Response>;
  /** Bun's own TLS options (`{ cert, key }`), passed through to `Bun.serve` for `wss://`. Default: none. */
  readonly tls?: unknown;
  /**
   * Let several processes listen on the same port (`SO_REUSEPORT`, Linux): the kernel spreads
   * new connections between them. Each process has its own hub; give them one broker so groups,
   * broadcasts and private messages reach every process. Default `false` (a taken port fails).
   */
  readonly reusePort?: boolean;
}

/** A running server: the same shape on every host (declared once, in the core). */
export type { ServerHandle } from "../src/mod.ts";

/** The pieces to mount a hub in your own `Bun.serve`: call `upgrade` from your `fetch`, pass `websocket` through. */
export interface BunHandler {
  /**
   * Try to upgrade `req`; `undefined` when upgraded, else the `Response` to send. Return it from
   * `fetch` as it is: it comes at once (Bun upgrades fastest in the same turn) unless the hub's
   * upgrade hook returns a promise, and then as a promise.
   */
  upgrade(req: Request, server: BunServer): Response | undefined | Promise<Response | undefined>;
  /** The `websocket` option of `Bun.serve`. */
  readonly websocket: BunWebSocketHandler;
  /**
   * Only decide (the hub's upgrade hook, subprotocols, limits): an admission or the refusal; a
   * promise of it when the upgrade hook returns one. Awaiting it works either way.
   */
  admit(req: Request, info?: UpgradeInfo): Admission<unknown> | Response | Promise<Admission<unknown> | Response>;
  /** Upgrade `req` for an admission; `false` when Bun refused (then answer the request yourself). */
  accept(req: Request, server: BunServer, admission: Admission<unknown>): boolean;
}

/** The seam of every hub with a Bun handler: a socket goes to the hub that admitted it. */
const SEAMS = new WeakMap<object, Seam<unknown, BunSocket>>();
/** Closes Bun reported while the socket's `open` handler was still running (see `open`). */
const EARLY = new WeakMap<BunSocket, { code: number; reason: string }>();

/** Handlers made in this process; every one after the first prefixes its native topics. */
let handlersMade = 0;

/**
 * Build the handler pair for your own `Bun.serve({ fetch, websocket })`. Several hubs can share
 * one `Bun.serve` (one route each): call each hub's `upgrade` for its route and pass any one
 * handler's `websocket`; every socket is handed to the hub that accepted it, and each hub's
 * native topics are its own. Bun applies one set of socket limits per server (the message
 * ceiling, the backpressure bound): those of the handler whose `websocket` is passed.
 */
export function createHandler<D>(hub: Hub<D, any>): BunHandler {
  // Frames without ropes: Bun's send would flatten each concatenated one (src/protocol.ts).
  useFlatFrames(true);
  let server: BunServer | undefined;
  // Bun's topics are per server: a hub sharing one with others must not hear their groups.
  // "" for the first handler, whose topic names stay as they are (no concatenation per send).
  const prefix = handlersMade++ === 0 ? "" : `h${handlersMade}|`;
  const driver: Driver<BunSocket> = {
    capabilities,
    send(ws, data) {
      const n = ws.send(data);
      return n > 0 ? "sent" : n === -1 ? "queued" : "dropped";
    },
    close: (ws, code, reason) => ws.close(code, reason),
    ping: (ws) => void ws.ping(),
    bufferedAmount: (ws) => ws.getBufferedAmount(),
    subscribe: (ws, topic) => ws.subscribe(prefix ? prefix + topic : topic),
    unsubscribe: (ws, topic) => ws.unsubscribe(prefix ? prefix + topic : topic),
    publish: (topic, data) => void server?.publish(prefix ? prefix + topic : topic, data),
    publishExcept: (ws, topic, data) => void ws.publish(prefix ? prefix + topic : topic, data),
  };
  const seam = hub.attach(driver) as unknown as Seam<unknown, BunSocket>;
  SEAMS.set(hub, seam);
  /** The seam of a socket's hub: this one's, or (several hubs on one server) another handler's. */
  const seamOf = (h: object | undefined): Seam<unknown, BunSocket> => (h === hub || h === undefined ? seam : SEAMS.get(h) ?? seam);
  const admit = (req: Request, info?: UpgradeInfo) => seam.upgrade(req, info);
  const accept = (req: Request, srv: BunServer, a: Admission<unknown>): boolean => {
    server = srv;
    // One options object for every upgrade: Bun reads it before `upgrade` returns.
    const o = UPGRADE_OPTIONS;
    o.data = a;
    o.headers = a.responseHeaders ? withProtocol(a.responseHeaders, a.protocol) : a.protocol ? protocolHeader(a.protocol) : undefined;
    try {
      return srv.upgrade(req, o);
    } finally {
      o.data = o.headers = undefined;
    }
  };
  const decided = (req: Request, srv: BunServer, r: Admission<unknown> | Response): Response | undefined =>
    r instanceof Response ? r : accept(req, srv, r) ? undefined : new Response("upgrade failed", { status: 400 });
  return {
    admit,
    accept,
    upgrade(req, srv) {
      const r = admit(req, { remoteAddress: srv.requestIP(req)?.address ?? "" });
      // No promise (nor closure) unless the decision waited: an async `fetch` costs Bun a turn per upgrade.
      return r instanceof Promise ? decideLater(r, req, srv, decided) : decided(req, srv, r);
    },
    websocket: {
      // Bun's own limit closes with 1009 but reports 1006 to the close handler; a higher ceiling
      // lets the core enforce the exact limit (and report 1009) while Bun still caps memory.
      maxPayloadLength: Math.max(2 * (hub.options.maxMessageSize ?? 1 << 20), 1 << 16),
      // The hub's ping policy decides liveness on every host alike: Bun's own idle timeout
      // (120 s by default) and automatic pings would close or ping behind the policy's back.
      idleTimeout: 0,
      sendPings: false,
      perMessageDeflate: hub.options.compression ?? false,
      // Native publishes bypass the core's per-send check: let Bun apply the same bound.
      backpressureLimit: hub.options.backpressure?.maxBuffered ?? 1 << 20,
      closeOnBackpressureLimit: (hub.options.backpressure?.policy ?? "close") === "close",
      open(ws) {
        const a = ws.data as Admission<unknown>;
        ws.data = undefined; // nothing, should open throw
        const seam = seamOf(a.hub);
        const s = seam.open(ws, a);
        ws.data = s;
        // Bun calls `close` from inside `ws.close()`: a session that the open hook (or anything
        // during open) closed was reported then, before it was in `ws.data`.
        const early = EARLY.get(ws);
        if (early) (EARLY.delete(ws), seam.close(s, early.code, early.reason, ws));
      },
      message(ws, data) {
        // One read of `ws.data` (a host getter) per frame. Bun calls `open` before any frame.
        const s = ws.data as Session<unknown> | undefined;
        if (s) (s.hub === hub ? seam : seamOf(s.hub)).message(s, data, ws);
      },
      close(ws, code, reason) {
        const s = ws.data;
        if (s instanceof Session) seamOf(s.hub).close(s, code, reason, ws);
        else if (s === undefined) EARLY.set(ws, { code, reason }); // during `open`: see there
      },
      pong(ws) {
        const s = ws.data;
        if (s instanceof Session) seamOf(s.hub).pong(s);
      },
      ping(ws) {
        const s = ws.data;
        if (s instanceof Session) seamOf(s.hub).ping(s);
      },
    },
  };
}

const UPGRADE_OPTIONS: { data: BunSocket["data"]; headers?: Record<string, string> | Headers } = { data: undefined, headers: undefined };

/** The response header naming a subprotocol, one object per subprotocol (a hub speaks a few). */
const PROTOCOL_HEADERS = new Map<string, Record<string, string>>();
function protocolHeader(protocol: string): Record<string, string> {
  let h = PROTOCOL_HEADERS.get(protocol);
  if (!h) PROTOCOL_HEADERS.set(protocol, (h = { "Sec-WebSocket-Protocol": protocol }));
  return h;
}

/** The upgrade hook's `101` headers with the subprotocol's (a copy: the admission's stay as they are). */
function withProtocol(extra: Headers, protocol: string): Headers {
  const h = new Headers(extra);
  if (protocol) h.set("Sec-WebSocket-Protocol", protocol);
  return h;
}

/**
 * The upgrade once a decision that waited is made. A function of its own: a closure in
 * `upgrade` itself would cost every upgrade a scope object, waited or not.
 */
function decideLater<T>(p: Promise<T>, req: Request, srv: BunServer, decided: (req: Request, srv: BunServer, r: T) => Response | undefined): Promise<Response | undefined> {
  return p.then((v) => decided(req, srv, v));
}

/** Serve a hub with `Bun.serve`. Resolves once listening; rejects when it cannot listen (a port taken, say). */
export async function serve<D>(hub: Hub<D, any>, options: ServeOptions = {}): Promise<ServerHandle> {
  const h = createHandler(hub);
  const server = Bun.serve({
    port: options.port ?? 0,
    hostname: options.hostname,
    tls: options.tls,
    reusePort: options.reusePort ?? false,
    websocket: h.websocket,
    fetch(req, srv) {
      // Any Upgrade header goes to the core, which answers bad handshakes alike on every host.
      const isUpgrade = req.headers.has("upgrade");
      if (isUpgrade && (!options.path || new URL(req.url).pathname === options.path)) return h.upgrade(req, srv);
      if (options.fetch) return options.fetch(req);
      return new Response(isUpgrade ? "not found" : "expected a WebSocket upgrade", { status: isUpgrade ? 404 : 426 });
    },
  });
  const scheme = options.tls ? "wss" : "ws";
  const host = server.hostname === "0.0.0.0" || server.hostname === "::" ? "localhost" : server.hostname;
  return {
    port: server.port,
    hostname: server.hostname,
    url: `${scheme}://${host.includes(":") ? `[${host}]` : host}:${server.port}${options.path ?? "/"}`,
    async stop() {
      await hub.close();
      await server.stop(true);
    },
  };
}
