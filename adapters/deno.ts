/**
 * Deno adapter: serves a hub with `Deno.serve` and `Deno.upgradeWebSocket`.
 * Host documentation: https://docs.deno.com/api/deno/~/Deno.upgradeWebSocket
 * and https://docs.deno.com/api/deno/~/Deno.serve
 *
 * ```ts
 * import { createHub } from "wirehub";
 * import { serve } from "wirehub/deno";
 * const server = await serve(createHub(), { port: 8080 });
 * ```
 * @module
 */
import type { Admission, Capabilities, Driver, Hub, Seam, Session, UpgradeInfo, ServerHandle } from "../src/mod.ts";
import { DENO_IDLE_DEFAULT, denoIdleTimeout, idlePinger, type IdlePinger } from "./deno-idle.ts";

// The few Deno types this file touches, declared here so tsc needs no Deno type library.
/** A TCP address as Deno reports it (`Deno.NetAddr`). */
export interface DenoNetAddr {
  /** The host name or IP address. */
  readonly hostname: string;
  /** The port. */
  readonly port: number;
}
/** The second argument of a `Deno.serve` handler (`Deno.ServeHandlerInfo`). */
export interface DenoServeInfo {
  /** The peer's address. */
  readonly remoteAddr: DenoNetAddr;
}
interface DenoServer {
  readonly addr: DenoNetAddr;
  /** Settles when the server stops; rejects when its accept loop fails. */
  readonly finished: Promise<void>;
  shutdown(): Promise<void>;
}
declare const Deno: {
  serve(
    options: { port?: number; hostname?: string; cert?: string; key?: string; reusePort?: boolean; onListen?(addr: DenoNetAddr): void },
    handler: (req: Request, info: DenoServeInfo) => Response | Promise<Response>,
  ): DenoServer;
  upgradeWebSocket(req: Request, options?: { protocol?: string; idleTimeout?: number }): { socket: WebSocket; response: Response };
};

/** What Deno can do, as the conformance suite reads it. */
export const capabilities: Capabilities = {
  // Deno's server socket can neither send a ping nor report a pong; `idleTimeout` pings for us.
  protocolPing: false,
  nativePubSub: false,
  // `WebSocket.bufferedAmount` is real on Deno's server socket: it counts bytes whose write is pending.
  bufferedAmount: true,
  hibernation: false,
  validatesUtf8: true, // it drops the connection without a close frame
  compression: false, // Deno.upgradeWebSocket negotiates no extension
};

/** Options of {@link createHandler}. */
export interface HandlerOptions {
  /**
   * Seconds of Deno's own idle pinging: a protocol ping after half to three quarters of this
   * time without a frame from the peer, and a close with 1001 when neither a pong nor a frame
   * comes in the half after the ping (the close hook sees 1001 or the code Deno reports). `0`
   * turns it off. Default: Deno's default (30) for the sessions the hub cannot check itself (raw
   * sessions without `rawPing`, and every session under the `auto` ping policy); off for the
   * others, whose liveness the hub's `send` or `expect` policy already checks with `{"t":"ping"}`
   * frames or the `rawPing` text.
   */
  readonly idleTimeout?: number;
}

/** Options of {@link serve}. */
export interface ServeOptions extends HandlerOptions {
  /** Port to listen on; `0` picks a free one (read it from the handle). Default `0`. */
  readonly port?: number;
  /** Interface to bind. Default: Deno's default (`0.0.0.0`). */
  readonly hostname?: string;
  /** Only upgrade requests on this path; others go to `fetch`. Default: every path. */
  readonly path?: string;
  /** Answer plain HTTP requests (and upgrades on other paths). Default: 426 / 404. */
  readonly fetch?: (request: Request, info: DenoServeInfo) => Response | Promise<Response>;
  /** PEM certificate chain and key, passed to `Deno.serve` as `cert`/`key` for `wss://`. Default: none. */
  readonly tls?: { readonly cert: string; readonly key: string };
  /**
   * Let several processes listen on the same port (`SO_REUSEPORT`, Linux): the kernel spreads
   * new connections between them. Each process has its own hub; give them one broker so groups,
   * broadcasts and private messages reach every process. Deno marks this unstable: run with
   * `--unstable-net`; without it Deno ends the process ("Unstable API"). Default `false` (a taken
   * port fails).
   */
  readonly reusePort?: boolean;
}

/** A running server: the same shape on every host (declared once, in the core). */
export type { ServerHandle } from "../src/mod.ts";

/** The pieces to mount a hub in your own `Deno.serve` handler. */
export interface DenoHandler {
  /**
   * Decide and, if accepted, upgrade `req`: the response to hand back to `Deno.serve`. It comes
   * at once unless the hub's upgrade hook returns a promise, and then as a promise.
   */
  upgrade(req: Request, info?: DenoServeInfo): Response | Promise<Response>;
  /**
   * Only decide (the hub's upgrade hook, subprotocols, limits): an admission or the refusal; a
   * promise of it when the upgrade hook returns one. Awaiting it works either way.
   */
  admit(req: Request, info?: UpgradeInfo): Admission<unknown> | Response | Promise<Admission<unknown> | Response>;
  /** Upgrade `req` for an admission. Return the result from `Deno.serve`'s handler as is. */
  accept(req: Request, admission: Admission<unknown>): Response;
}

/** Build the handler for your own `Deno.serve((req, info) => ...)`. */
export function createHandler<D>(hub: Hub<D, any>, options: HandlerOptions = {}): DenoHandler {
  // The socket's admission until it opens, then its session. The handlers below are shared by
  // every socket and find the session here: no closure per socket, and nothing of the upgrade
  // (the request, its headers, the admission) stays reachable once the session is open.
  const admissions = new WeakMap<WebSocket, Admission<unknown>>();
  const sessions = new WeakMap<WebSocket, Session<unknown>>();
  // Deno's idle pings for the sessions that get them, armed by a sweep (adapters/deno-idle.ts).
  const pinger: IdlePinger | undefined = idlePinger();
  const driver: Driver<WebSocket> = {
    capabilities,
    send(ws, data) {
      if (ws.readyState !== WebSocket.OPEN) return "dropped";
      // Every send on Deno is an async write, so bufferedAmount is above 0 right after any send.
      // Backpressure means this frame waits behind earlier unwritten ones: look before sending.
      const behind = ws.bufferedAmount;
      ws.send(data as string | BufferSource); // the core never hands over SharedArrayBuffer views
      return behind > 0 ? "queued" : "sent";
    },
    close(ws, code, reason) {
      ws.close(code, reason);
      pinger?.forget(ws);
      // Deno fires `close` only once the peer answers, never for a dead one; Bun reports at once.
      // Do as Bun: for the hub the session ends now, with the code it chose.
      const s = sessions.get(ws);
      if (s) queueMicrotask(() => seam.close(s, code, reason, ws));
    },
    bufferedAmount: (ws) => ws.bufferedAmount,
  };
  const seam = hub.attach(driver) as unknown as Seam<unknown, WebSocket>;
  // Event handlers run with the socket as `this`.
  function onOpen(this: WebSocket): void {
    const a = admissions.get(this);
    if (!a) return;
    admissions.delete(this);
    sessions.set(this, seam.open(this, a));
    if (pinger) {
      const idle = denoIdleTimeout(hub.options, a.mode, options.idleTimeout) ?? DENO_IDLE_DEFAULT;
      if (idle > 0) pinger.watch(this, idle);
    }
  }
  function onMessage(this: WebSocket, e: MessageEvent): void {
    const s = sessions.get(this);
    if (s) seam.message(s, e.data as string | ArrayBuffer, this);
  }
  function onClose(this: WebSocket, e: CloseEvent): void {
    pinger?.forget(this);
    const s = sessions.get(this);
    if (s) seam.close(s, e.code, e.reason, this);
  }
  function onError(this: WebSocket, e: Event): void {
    seam.error(sessions.get(this), (e as ErrorEvent).error ?? e);
  }
  const accept = (req: Request, a: Admission<unknown>): Response => {
    // With a pinger, Deno's idle timer is armed by its sweep once the socket is open (see `onOpen`).
    const idleTimeout = pinger ? 0 : denoIdleTimeout(hub.options, a.mode, options.idleTimeout);
    const { socket, response } = Deno.upgradeWebSocket(req, { protocol: a.protocol || undefined, idleTimeout });
    if (a.responseHeaders) appendHeaders(response.headers, a.responseHeaders);
    socket.binaryType = "arraybuffer"; // Deno's default today, but the hub must never see a Blob
    admissions.set(socket, a);
    socket.onopen = onOpen;
    socket.onmessage = onMessage;
    socket.onclose = onClose;
    socket.onerror = onError;
    return response;
  };
  const admit = (req: Request, info?: UpgradeInfo) => seam.upgrade(req, info);
  const decided = (req: Request, r: Admission<unknown> | Response): Response => (r instanceof Response ? r : accept(req, r));
  return {
    admit,
    accept,
    upgrade(req, info) {
      const r = admit(req, { remoteAddress: info?.remoteAddr.hostname ?? "" });
      return r instanceof Promise ? decideLater(r, req, decided) : decided(req, r);
    },
  };
}

/**
 * The upgrade once a decision that waited is made. A function of its own: a closure in
 * `upgrade` itself would cost every upgrade a scope object, waited or not.
 */
function decideLater<T>(p: Promise<T>, req: Request, decided: (req: Request, r: T) => Response): Promise<Response> {
  return p.then((v) => decided(req, v));
}

/**
 * Add the upgrade hook's headers to Deno's `101` response (Deno ≥ 2 leaves its headers mutable;
 * iteration gives each `Set-Cookie` on its own).
 */
function appendHeaders(to: Headers, from: Headers): void {
  for (const [name, value] of from) to.append(name, value);
}

/** Serve a hub with `Deno.serve`. Resolves once listening; rejects when it cannot listen (a port taken, say). */
export async function serve<D>(hub: Hub<D, any>, options: ServeOptions = {}): Promise<ServerHandle> {
  const h = createHandler(hub, options);
  const server = Deno.serve(
    // onListen: Deno logs "Listening on ..." by default; a library must stay quiet.
    { port: options.port ?? 0, hostname: options.hostname, cert: options.tls?.cert, key: options.tls?.key, reusePort: options.reusePort || undefined, onListen() {} },
    (req, info) => {
      // Any Upgrade header goes to the core, which answers bad handshakes alike on every host.
      const isUpgrade = req.headers.has("upgrade");
      if (isUpgrade && (!options.path || new URL(req.url).pathname === options.path)) return h.upgrade(req, info);
      if (options.fetch) return options.fetch(req, info);
      return new Response(isUpgrade ? "not found" : "expected a WebSocket upgrade", { status: isUpgrade ? 404 : 426 });
    },
  );
  // Deno's accept loop ends by rejecting `finished` when accepting fails (out of file
  // descriptors, say). Unhandled, that rejection ends the process and every open session with
  // it; handled, the open sessions carry on and the error hook is told. New connections are
  // not accepted after that: Deno does not restart its loop.
  server.finished.catch((error: unknown) => hub.report(error));
  const { hostname, port } = server.addr;
  const scheme = options.tls ? "wss" : "ws";
  const host = hostname === "0.0.0.0" || hostname === "::" ? "localhost" : hostname;
  return {
    port,
    hostname,
    url: `${scheme}://${host.includes(":") ? `[${host}]` : host}:${port}${options.path ?? "/"}`,
    async stop() {
      await hub.close();
      await server.shutdown().catch(() => {}); // after a failed accept loop there is nothing left to shut
    },
  };
}
