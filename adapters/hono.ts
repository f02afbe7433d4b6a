/**
 * Hono adapter: mount a hub on a Hono route, on Bun, Deno or Node (`@hono/node-server`). The
 * app decides each upgrade (its middleware runs: auth, CORS, logging); the host's own wirehub
 * adapter performs it outside Hono, so no middleware ever touches a 101 response.
 * Host documentation: https://hono.dev/docs/helpers/websocket
 *
 * ```ts
 * import { Hono } from "hono";
 * import { createHub } from "wirehub";
 * import { createHandler } from "wirehub/hono";
 * const hub = createHub();
 * const ws = createHandler(hub);
 * const app = new Hono().get("/ws", ws.upgrade);
 * // Bun:  Bun.serve({ fetch: ws.fetch(app), websocket: ws.websocket });
 * // Deno: Deno.serve(ws.fetch(app));
 * // Node: ws.attach(serve({ fetch: app.fetch }), app);   // serve from "@hono/node-server"
 * // any:  await serve(hub, { app, port: 8080 });          // serve from "wirehub/hono"
 * ```
 * @module
 */
import type { EventEmitter } from "node:events";
import type { Admission, Capabilities, Hub, ServerHandle } from "../src/mod.ts";
import * as bun from "./bun.ts";
import * as deno from "./deno.ts";
import type * as NodeAdapter from "./node.ts";

// The little of Hono this file touches, declared here so wirehub needs no hono to run or to type-check.
/** What a Hono route handler receives (Hono's `Context`), as far as this adapter reads it. */
export interface HonoContext {
  /** The request; `raw` is the web-standard `Request`. */
  readonly req: { readonly raw: Request };
  /** The runtime's bindings: Bun's server, Deno's handler info, or Node's `{ incoming }`. */
  readonly env: unknown;
}
/** A Hono app, or anything with Hono's `fetch(request, env)`. */
export interface HonoApp {
  /** Answer a request; `env` is passed through to the app's handlers. */
  fetch(request: Request, env?: unknown): Response | Promise<Response>;
}
type BunServer = Parameters<bun.BunHandler["upgrade"]>[1];
/** A fetch handler for `Bun.serve`/`Deno.serve`; `undefined` once Bun has taken the request as an upgrade. */
export type Fetch = (request: Request, env?: unknown) => Promise<Response | undefined>;
declare const Bun: {
  serve(o: { port: number; hostname?: string; tls?: unknown; fetch: Fetch; websocket: unknown }): BunServer & { stop(closeActive: boolean): void };
};
declare const Deno: {
  serve(o: { port: number; hostname?: string; cert?: string; key?: string; onListen(): void }, handler: Fetch): {
    addr: { hostname: string; port: number };
    shutdown(): Promise<void>;
  };
};

const runtime: "bun" | "deno" | "node" = "Bun" in globalThis ? "bun" : "Deno" in globalThis ? "deno" : "node";
// The Node adapter loads `ws` (an optional peer dependency): only on Node, so Bun and Deno apps need none.
const node: typeof NodeAdapter | undefined = runtime === "node" ? await import("./node.ts") : undefined;

/** What the host under this app can do: those of the runtime's own adapter. */
export const capabilities: Capabilities = runtime === "bun" ? bun.capabilities : runtime === "deno" ? deno.capabilities : node!.capabilities;

/** Options of {@link serve}. */
export interface ServeOptions {
  /** The Hono app; mount {@link upgrade} on the route(s) that take WebSockets. Required. */
  readonly app: HonoApp;
  /** Port to listen on; `0` picks a free one (read it from the handle). Default `0`. */
  readonly port?: number;
  /** Interface to bind. Default: the runtime's default (all interfaces). */
  readonly hostname?: string;
  /**
   * The runtime's own TLS options for `wss://`: Bun's `tls`, Deno's `{ cert, key }` (PEM text),
   * Node's `https.createServer` options. Default: none.
   */
  readonly tls?: unknown;
}

/** A running server: the same shape on every host (declared once, in the core). */
export type { ServerHandle } from "../src/mod.ts";

/** A hub mounted on Hono. One per hub: {@link createHandler} returns the same one each time. */
export interface HonoHandler {
  /**
   * The route handler (`app.get("/ws", handler.upgrade)`). Refusals (the hub's upgrade hook,
   * unknown subprotocols, ...) are ordinary responses. An accepted upgrade answers a plain 200
   * that middleware may decorate; {@link fetch} or {@link attach} turns it into the upgrade,
   * unless something after the route changed the status. Headers middleware adds to an
   * accepted upgrade are not sent: the 101 carries the handshake headers and the `headers` the
   * hub's `upgrade` hook returned (see `UpgradeResult`). Mount it with
   * `app.all` to let the hub answer a non-GET upgrade attempt with 405; with `app.get` such a
   * request gets Hono's own 404.
   */
  readonly upgrade: (c: HonoContext) => Promise<Response>;
  /** Bun and Deno: `app.fetch` wrapped to complete accepted upgrades. Give it to `Bun.serve`/`Deno.serve`. */
  fetch(app: HonoApp): Fetch;
  /** Bun: the `websocket` option of `Bun.serve` (`undefined` on other runtimes). */
  readonly websocket: bun.BunHandler["websocket"] | undefined;
  /** Node: run upgrade requests of `server` (`@hono/node-server`'s, or any `http` one) through `app`. Returns a detach function. */
  attach(server: EventEmitter, app: HonoApp): () => void;
}

/** The status of the stand-in response for an accepted upgrade. */
const ACCEPTED = 200;
const handlers = new WeakMap<object, HonoHandler>();
/** Each hub's own host handler: an accepted upgrade is completed by the hub that admitted it. */
const hosts = new WeakMap<object, { readonly b?: bun.BunHandler; readonly d?: deno.DenoHandler }>();
/**
 * Upgrades a route accepted, by request, until the app's answer is known. One table for every hub:
 * one app may mount several hubs, and whichever handler's `fetch` or `attach` runs it completes
 * each upgrade with the hub that admitted it.
 */
const admitted = new WeakMap<Request, Admission<unknown>>();
/** Node servers with this module's `upgrade` listener, and the app it runs: one per server. */
const attached = new WeakMap<object, { readonly app: HonoApp; readonly detach: () => void }>();

/** The app's verdict: the admission, if a route accepted and nothing after it refused. */
function verdict(req: Request, res: Response): Admission<unknown> | Response {
  const a = admitted.get(req);
  admitted.delete(req);
  return a && res.status === ACCEPTED ? a : res;
}

/** The peer address as each runtime puts it in Hono's `env`. */
function remoteOf(c: HonoContext): string {
  const env = c.env as { requestIP?(r: Request): { address: string } | null; remoteAddr?: { hostname: string }; incoming?: { socket: { remoteAddress?: string } } } | undefined;
  return env?.requestIP?.(c.req.raw)?.address ?? env?.remoteAddr?.hostname ?? env?.incoming?.socket.remoteAddress ?? "";
}

/** Mount `hub` on Hono, with the adapter of the runtime this runs on. */
export function createHandler<D>(hub: Hub<D, any>): HonoHandler {
  const known = handlers.get(hub);
  if (known) return known;
  const b = runtime === "bun" ? bun.createHandler(hub) : undefined;
  const d = runtime === "deno" ? deno.createHandler(hub) : undefined;
  const n = node?.createHandler(hub);
  hosts.set(hub, { b, d });
  const h: HonoHandler = {
    async upgrade(c) {
      const r = await (b ?? d ?? n)!.admit(c.req.raw, { remoteAddress: remoteOf(c) });
      if (r instanceof Response) return r;
      admitted.set(c.req.raw, r);
      // A stand-in, never the host's 101: Hono copies or mutates what a route returns once middleware
      // sets a header, and Deno has refused such a 101 ("Headers are immutable", honojs/hono#1102, #2535).
      return new Response(null, { status: ACCEPTED });
    },
    fetch: (app) => async (req, env) => {
      const r = verdict(req, await app.fetch(req, env));
      if (r instanceof Response) return r;
      const host = (r.hub && hosts.get(r.hub)) || { b, d };
      if (host.d) return host.d.accept(req, r);
      if (host.b?.accept(req, env as BunServer, r)) return undefined;
      return new Response("upgrade failed", { status: 400 });
    },
    websocket: b?.websocket,
    attach: (server, app) => {
      // One listener per server, whichever hubs the app mounts: a second would run the app again
      // for every upgrade. The Node adapter completes each with the hub that admitted it.
      const known = attached.get(server);
      if (known) {
        if (known.app !== app) throw new Error("wirehub/hono: this server already runs another Hono app's upgrades; mount every hub's route on one app");
        return known.detach;
      }
      const off = n!.attach(server, { decide: async (request, incoming) => verdict(request, await app.fetch(request, { incoming, outgoing: undefined })) });
      const detach = (): void => {
        if (attached.get(server)?.detach === detach) attached.delete(server);
        off();
      };
      attached.set(server, { app, detach });
      return detach;
    },
  };
  handlers.set(hub, h);
  return h;
}

/** The route handler of {@link createHandler}: `app.get("/ws", upgrade(hub))`. */
export function upgrade<D>(hub: Hub<D, any>): (c: HonoContext) => Promise<Response> {
  return createHandler(hub).upgrade;
}

/** Serve a Hono app whose routes use {@link upgrade} on this runtime's own server. Resolves once listening. */
export async function serve<D>(hub: Hub<D, any>, options: ServeOptions): Promise<ServerHandle> {
  const h = createHandler(hub);
  const port = options.port ?? 0;
  let bound: { hostname: string; port: number };
  let close: () => Promise<void> | void;
  if (runtime === "bun") {
    const s = Bun.serve({ port, hostname: options.hostname, tls: options.tls, fetch: h.fetch(options.app), websocket: h.websocket });
    bound = s;
    close = () => s.stop(true);
  } else if (runtime === "deno") {
    const tls = options.tls as { cert?: string; key?: string } | undefined;
    const s = Deno.serve({ port, hostname: options.hostname, cert: tls?.cert, key: tls?.key, onListen() {} }, h.fetch(options.app));
    bound = s.addr;
    close = () => s.shutdown();
  } else {
    // Node: Hono's own Node server converts requests; wirehub takes its upgrade events.
    const { createAdaptorServer } = await import("@hono/node-server");
    const https = options.tls ? await import("node:https") : undefined;
    const s = createAdaptorServer({ fetch: (r, env) => options.app.fetch(r, env), ...(https && { createServer: https.createServer, serverOptions: options.tls as object }) });
    h.attach(s, options.app);
    await new Promise<void>((ok, fail) => s.once("error", fail).listen(port, options.hostname, () => ok()));
    const a = s.address() as { address: string; port: number };
    bound = { hostname: a.address, port: a.port };
    close = () => {
      (s as { closeAllConnections?(): void }).closeAllConnections?.(); // idle keep-alive sockets would hold close() open
      return new Promise<void>((ok) => s.close(() => ok()));
    };
  }
  const host = bound.hostname === "0.0.0.0" || bound.hostname === "::" ? "localhost" : bound.hostname;
  return {
    port: bound.port,
    hostname: bound.hostname,
    url: `${options.tls ? "wss" : "ws"}://${host.includes(":") ? `[${host}]` : host}:${bound.port}/`,
    async stop() {
      await hub.close();
      await close();
    },
  };
}
