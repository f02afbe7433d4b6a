/**
 * One import for every server runtime: `serve` from `wirehub/server` serves a hub with the host
 * adapter of the runtime it runs in (`wirehub/bun` on Bun, `wirehub/deno` on Deno, `wirehub/node`
 * on Node), so the same program runs unchanged on each.
 *
 * ```ts
 * import { createHub } from "wirehub";
 * import { serve } from "wirehub/server";
 *
 * const hub = createHub({ message: (session, msg) => session.send(msg.data) });
 * const server = await serve(hub, { port: 8080 });
 * console.log(`listening on ${server.url}`);
 * ```
 *
 * The options are the ones every host takes alike. For a host's own options (Bun's TLS object,
 * Deno's `idleTimeout`, Node's `https` options) or to mount a hub in a server you already have,
 * import that host's adapter. A Cloudflare Durable Object is served by the Workers runtime: use
 * `wirehub/cloudflare` there.
 * @module
 */
import type { Hub, ServerHandle } from "../src/mod.ts";

export type { ServerHandle } from "../src/mod.ts";

/** The server runtimes `serve` can use. */
export type Runtime = "bun" | "deno" | "node";

/** Options of {@link serve}: those that mean the same on every host. */
export interface ServeOptions {
  /** Port to listen on; `0` picks a free one (read it from the handle). Default `0`. */
  readonly port?: number;
  /** Interface to bind. Default: the runtime's default (all interfaces). */
  readonly hostname?: string;
  /** Only upgrade requests on this path become sessions; others go to `fetch` (404 without one). Default: every path. */
  readonly path?: string;
  /** Answer plain HTTP requests. Default: 426 ("expected a WebSocket upgrade"). */
  readonly fetch?: (request: Request) => Response | Promise<Response>;
  /** PEM certificate chain and private key for `wss://` (and `https://`). Default: none (plain `ws://`). */
  readonly tls?: { readonly cert: string; readonly key: string };
  /**
   * Let several processes listen on the same port (`SO_REUSEPORT`, Linux) on Bun and Deno (Deno
   * needs `--unstable-net`). Node has no such option: there `serve` rejects. Default `false`.
   */
  readonly reusePort?: boolean;
}

/**
 * The runtime this code runs in, as `serve` sees it: Bun and Deno by their globals, Node by
 * `process.versions.node` (Bun and Deno also set it, so they are checked first). `undefined`
 * anywhere else (a browser, a Worker).
 */
export function detectRuntime(): Runtime | undefined {
  const g = globalThis as { Bun?: unknown; Deno?: unknown; process?: { versions?: { node?: string } } };
  if (g.Bun !== undefined) return "bun";
  if (g.Deno !== undefined) return "deno";
  // Cloudflare Workers with Node.js compatibility report a Node version but have no Node server.
  if (typeof navigator !== "undefined" && navigator.userAgent === "Cloudflare-Workers") return undefined;
  return g.process?.versions?.node ? "node" : undefined;
}

/**
 * Serve `hub` with the host adapter of the runtime this runs in; resolves to the same handle on
 * every host, `{ port, hostname, url, stop() }`, once it listens. The adapter is loaded on the
 * first call (so Node loads `ws`, and Bun and Deno load nothing of Node's). Rejects on a runtime
 * with no server to listen with, and for `reusePort` on Node.
 */
export async function serve<D>(hub: Hub<D, any>, options: ServeOptions = {}): Promise<ServerHandle> {
  const runtime = detectRuntime();
  // Literal paths, so bundlers and JSR follow every branch.
  if (runtime === "bun") return (await import("./bun.ts")).serve(hub, options);
  if (runtime === "deno") return (await import("./deno.ts")).serve(hub, options);
  if (runtime === "node") {
    if (options.reusePort) throw new TypeError("wirehub/server: reusePort needs Bun or Deno; Node has no SO_REUSEPORT option for its servers");
    return (await import("./node.ts")).serve(hub, options);
  }
  throw new TypeError("wirehub/server: no server runtime here (Bun, Deno or Node); on Cloudflare use wirehub/cloudflare");
}
