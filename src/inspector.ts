/**
 * The Inspector: a live page showing what a hub is doing (sessions, groups, presence, message
 * rates, drops, closes), a Server-Sent Events feed of snapshots behind it, optional actions,
 * and Prometheus metrics. Nothing is exposed until you route requests to its `fetch`.
 *
 * ```ts
 * import { createHub } from "wirehub";
 * import { serve } from "wirehub/bun";
 * import { createInspector } from "wirehub/inspector";
 *
 * const hub = createHub();
 * const inspector = createInspector(hub, { token: "a long random secret" });
 * await serve(hub, { port: 8080, path: "/ws", fetch: (req) => inspector.fetch(req) ?? new Response("not found", { status: 404 }) });
 * // open http://localhost:8080/_wirehub?token=a%20long%20random%20secret
 * ```
 *
 * The feed is plain HTTP (`text/event-stream` from `fetch`), never a WebSocket of the hub: the
 * inspector is no session, so it shows in no count, presence list or broadcast. See
 * ARCHITECTURE.md, "Inspector".
 * @module
 */
import { MemoryBroker } from "./broker.ts";
import { WirehubError } from "./errors.ts";
import type { Hub } from "./hub.ts";
import { page } from "./inspector-page.ts";
import { visible } from "./presence.ts";
import { PROMETHEUS_CONTENT_TYPE, prometheus, type PrometheusOptions } from "./prometheus.ts";
import type { Session } from "./session.ts";
import { wireCloseCode } from "./session.ts";
import { originAllowed } from "./upgrade.ts";

export { PROMETHEUS_CONTENT_TYPE, prometheus };
export type { GroupRow, InspectorSnapshot, InstanceInfo, InstanceRow, SessionRow } from "./inspector-types.ts";
import type { GroupRow, InspectorSnapshot, InstanceInfo, InstanceRow, SessionRow } from "./inspector-types.ts";
export type { PrometheusOptions };

/** Options of {@link createInspector}. */
export interface InspectorOptions {
  /**
   * Where the page lives. The feed (`GET <path>?feed`) and the actions (`POST <path>`) use the
   * same path. Default `"/_wirehub"`. Must start with `/`.
   */
  readonly path?: string;
  /**
   * The secret a viewer presents, as `?token=` (the page and its feed: a browser's EventSource
   * cannot send headers) or `Authorization: Bearer <token>`. Compared in constant time.
   * Required unless {@link authorize} is given; with both, a request must pass both.
   * Missing credentials get 401, wrong ones 403.
   */
  readonly token?: string;
  /** Decide each request yourself (a cookie, your session store, an IP list...): `false` answers 403. */
  authorize?(request: Request): boolean | Promise<boolean>;
  /**
   * Allow the page to drop sessions (code and reason) and to send a test event to a group or
   * everyone (`POST <path>`). Default `false`: read-only, and POSTs get 403.
   */
  readonly actions?: boolean;
  /** Milliseconds between two snapshots of the feed. Default 1 000 (at least 50). */
  readonly interval?: number;
  /** Most sessions and most groups listed in one snapshot (the search filters before the cut). Default 200. */
  readonly limit?: number;
  /**
   * Serve {@link prometheus} text on this path (`GET`), behind the same token. Default: off.
   * For an unauthenticated scrape, serve `prometheus(hub)` on a route of your own.
   */
  readonly metricsPath?: string;
  /** Constant labels of the Prometheus samples (see {@link PrometheusOptions}). Default: none. */
  readonly labels?: Readonly<Record<string, string>>;
}

/** An inspector over one hub: route requests to {@link fetch}. */
export interface Inspector {
  /** The page's path. */
  readonly path: string;
  /**
   * Answer a request for the inspector's paths, or `undefined` (decided at once) for any other,
   * so `inspector.fetch(req) ?? app(req)` passes the rest on. Never throws.
   */
  fetch(request: Request): Promise<Response> | undefined;
  /**
   * The snapshot the feed sends, for a search `query` (id, alias, group, remote address, mode).
   * Its list of instances is the one last read from the broker's store (by the heartbeat, the
   * feed or a scrape): the feed reads the store afresh before each snapshot, this does not.
   */
  snapshot(query?: string): InspectorSnapshot;
}

const enc = new TextEncoder();
const NO_STORE = { "cache-control": "no-store", "x-content-type-options": "nosniff", "referrer-policy": "no-referrer" };
/** Hosts close HTTP connections silent for ~10 s (Bun's default idleTimeout): say something sooner. */
const KEEPALIVE = 5_000;
const MAX_BODY = 65_536;

const text = (status: number, body: string, headers: Record<string, string> = {}): Response =>
  new Response(body, { status, headers: { "content-type": "text/plain; charset=utf-8", ...NO_STORE, ...headers } });
const json = (status: number, body: unknown): Response =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...NO_STORE } });

/** Equal in time that depends only on the expected token's length. */
function sameToken(given: string, expected: Uint8Array): boolean {
  const g = enc.encode(given);
  let diff = g.length ^ expected.length;
  for (let i = 0; i < expected.length; i++) diff |= expected[i]! ^ (g.length === 0 ? 0 : g[i % g.length]!);
  return diff === 0;
}

function credential(request: Request, url: URL): string | undefined {
  const h = request.headers.get("authorization");
  const m = h ? /^Bearer\s+(.+)$/i.exec(h) : null;
  return m ? m[1]!.trim() : url.searchParams.get("token") ?? undefined;
}

/**
 * Create an inspector for `hub`. Throws a `WirehubError` (`bad_options`) without a `token` or
 * an `authorize` hook, or with a path that does not start with `/`.
 */
export function createInspector(hub: Hub<any, any>, options: InspectorOptions): Inspector {
  const path = options.path ?? "/_wirehub";
  const metricsPath = options.metricsPath;
  if (options.token === undefined && !options.authorize) throw new WirehubError("bad_options", "the inspector needs a token or an authorize hook");
  if (options.token === "") throw new WirehubError("bad_options", "the inspector's token must not be empty");
  for (const p of [path, metricsPath]) if (p !== undefined && !p.startsWith("/")) throw new WirehubError("bad_options", `inspector path "${p}" must start with "/"`);
  if (metricsPath === path) throw new WirehubError("bad_options", "metricsPath must differ from path");
  const expected = options.token === undefined ? undefined : enc.encode(options.token);
  const actions = options.actions ?? false;
  const interval = Math.max(50, options.interval ?? 1000);
  const limit = Math.max(1, options.limit ?? 200);
  prometheus(hub, { labels: options.labels }); // check the label names now, not at the first scrape

  async function allowed(request: Request, url: URL): Promise<Response | undefined> {
    if (expected) {
      const given = credential(request, url);
      if (given === undefined) return text(401, "inspector: token required (?token= or Authorization: Bearer)", { "www-authenticate": 'Bearer realm="wirehub inspector"' });
      if (!sameToken(given, expected)) return text(403, "inspector: wrong token");
    }
    if (options.authorize && !(await options.authorize(request))) return text(403, "inspector: not allowed");
    return undefined;
  }

  function snapshot(query = ""): InspectorSnapshot {
    const q = query.trim().toLowerCase();
    const t = Date.now();
    const list: SessionRow[] = [];
    let matched = 0;
    for (const s of hub.sessions.values()) {
      if (q && !sessionMatches(s, q)) continue;
      if (++matched <= limit) list.push(row(s));
    }
    const groups: GroupRow[] = [];
    let gMatched = 0;
    for (const [name, members] of hub.groupMap) {
      if (q && !name.toLowerCase().includes(q)) continue;
      if (++gMatched > limit) continue;
      const present: string[] = [];
      for (const m of members) if (present.length < 50 && visible(m)) present.push(m.alias!);
      groups.push({ name, members: members.size, present });
    }
    let present = 0;
    for (const s of hub.sessions.values()) if (visible(s)) present++;
    return {
      t,
      instance: instanceInfo(hub, t),
      metrics: { ...hub.metrics, closes: { ...hub.metrics.closes } },
      actions,
      sessions: { total: hub.sessions.size, matched, list },
      groups: { total: hub.groupMap.size, matched: gMatched, list: groups },
      present,
    };
  }

  function feed(url: URL): Response {
    if (hub.closing) return text(503, "inspector: the hub is shutting down");
    const q = (url.searchParams.get("q") ?? "").slice(0, 200);
    let due = 0; // the first snapshot goes out at once
    let cancelled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let wake: (() => void) | undefined;
    // Pull-based with no queue: a snapshot is made only when the reader asks for the next
    // chunk, so a slow or vanished reader (Node stops reading a piped body whose client left)
    // never makes anything pile up.
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const wait = due - Date.now();
        if (wait > 0) await new Promise<void>((r) => ((wake = r), (timer = setTimeout(r, Math.min(wait, KEEPALIVE)))));
        if (cancelled) return;
        if (hub.closing) {
          controller.enqueue(enc.encode("event: bye\ndata: {}\n\n"));
          return controller.close();
        }
        if (Date.now() < due) return controller.enqueue(enc.encode(": keep-alive\n\n"));
        const first = due === 0;
        await refreshInstances(hub);
        if (cancelled) return;
        due = Date.now() + interval; // snapshots stay at least `interval` apart, however long the store took
        controller.enqueue(enc.encode(`${first ? "retry: 2000\n" : ""}event: snapshot\ndata: ${JSON.stringify(snapshot(q))}\n\n`));
      },
      cancel() {
        cancelled = true;
        clearTimeout(timer);
        wake?.();
      },
    }, { highWaterMark: 0 });
    return new Response(body, { headers: { "content-type": "text/event-stream; charset=utf-8", "x-accel-buffering": "no", ...NO_STORE } });
  }

  async function act(request: Request): Promise<Response> {
    if (!actions) return json(403, { error: "actions are off (createInspector(hub, { actions: true }))" });
    // A JSON body needs a CORS preflight cross-site, and an Origin must be this host's: no
    // other site can make a logged-in browser (cookie `authorize`) act.
    if (!(request.headers.get("content-type") ?? "").toLowerCase().startsWith("application/json")) return json(415, { error: "send application/json" });
    if (!originAllowed("same-origin", request)) return json(403, { error: "cross-origin request" });
    if (Number(request.headers.get("content-length") ?? 0) > MAX_BODY) return json(413, { error: "body too large" });
    let body: Record<string, unknown>;
    try {
      const raw = await request.text();
      if (raw.length > MAX_BODY) return json(413, { error: "body too large" });
      body = JSON.parse(raw) as Record<string, unknown>;
      if (typeof body !== "object" || body === null) throw new TypeError("not an object");
    } catch {
      return json(400, { error: "body must be a JSON object" });
    }
    if (body.action === "drop") {
      const { id, code = 1000, reason = "" } = body;
      if (typeof id !== "string" || !id) return json(400, { error: "id must be a session id" });
      if (typeof code !== "number" || wireCloseCode(code) !== code) return json(400, { error: "code must be 1000, 1001, 1008, 1011-1014 or 3000-4999" });
      if (typeof reason !== "string" || enc.encode(reason).length > 123) return json(400, { error: "reason must be a string of at most 123 bytes" });
      // Not found here: hub.drop asks the other instances through the broker.
      return json(200, { ok: true, local: hub.drop(id, code, reason) });
    }
    if (body.action === "emit") {
      const { group, event, data = null } = body;
      if (group !== undefined && (typeof group !== "string" || !group)) return json(400, { error: "group must be a non-empty string, or absent for everyone" });
      const max = hub.options.limits?.nameLength ?? 128;
      if (typeof event !== "string" || !event || event.length > max) return json(400, { error: `event must be a name of 1-${max} characters` });
      hub.emit(event, data, group === undefined ? {} : { group });
      return json(200, { ok: true, local: group === undefined ? hub.sessions.size : hub.members(group).size });
    }
    return json(400, { error: 'action must be "drop" or "emit"' });
  }

  async function answer(request: Request, url: URL): Promise<Response> {
    const refused = await allowed(request, url);
    if (refused) return refused;
    const m = request.method;
    if (url.pathname === metricsPath) {
      if (m !== "GET" && m !== "HEAD") return text(405, "method not allowed", { allow: "GET, HEAD" });
      await refreshInstances(hub);
      return new Response(prometheus(hub, { labels: options.labels }), { headers: { "content-type": PROMETHEUS_CONTENT_TYPE, ...NO_STORE } });
    }
    if (m === "POST") return act(request);
    if (m !== "GET" && m !== "HEAD") return text(405, "method not allowed", { allow: "GET, HEAD, POST" });
    if (url.searchParams.has("feed")) return feed(url);
    const nonce = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
    return new Response(page(nonce), {
      headers: {
        "content-type": "text/html; charset=utf-8",
        "content-security-policy": `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
        ...NO_STORE,
      },
    });
  }

  return {
    path,
    snapshot,
    fetch(request) {
      let url: URL;
      try {
        url = new URL(request.url);
      } catch {
        return undefined;
      }
      if (url.pathname !== path && url.pathname !== metricsPath) return undefined;
      return answer(request, url).catch((error: unknown) => {
        hub.report(error);
        return text(500, "inspector: internal error");
      });
    },
  };
}

function sessionMatches(s: Session<any>, q: string): boolean {
  if (s.id.toLowerCase().includes(q) || s.remoteAddress.toLowerCase().includes(q) || s.mode === q) return true;
  if (s.alias?.toLowerCase().includes(q)) return true;
  for (const g of s.groupNames()) if (g.toLowerCase().includes(q)) return true;
  return false;
}

function row(s: Session<any>): SessionRow {
  let buffered = 0;
  try {
    buffered = s.bufferedAmount;
  } catch {
    // a host that cannot tell right now: show 0
  }
  return {
    id: s.id,
    alias: s.alias ?? null,
    mode: s.mode,
    state: s.open ? "open" : s.live ? "detached" : "closing",
    authenticated: s.authenticated,
    visible: visible(s),
    groups: s.groupNames(),
    remoteAddress: s.remoteAddress,
    path: s.path,
    openedAt: s.openedAt,
    lastSeen: s.lastSeen,
    rtt: s.rtt,
    bufferedAmount: buffered,
  };
}

/** Longest wait for the store's list of instances before a snapshot goes out with the last one read. */
const REFRESH_MS = 1_000;

/**
 * Read the cluster's instance entries afresh (no-op without a cluster). A store that fails or
 * is slow leaves the last list read (the heartbeat reports store failures; this does not, so an
 * open page does not add an error a second).
 */
async function refreshInstances(hub: Hub<any, any>): Promise<void> {
  if (!hub.cluster) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([hub.cluster.instances().catch(() => {}), new Promise<void>((r) => (timer = setTimeout(r, REFRESH_MS)))]);
  clearTimeout(timer);
}

/**
 * This hub, its broker and, with a cluster, the instances its store lists (as last read). A
 * broker without a store cannot list instances: only a shared `MemoryBroker` (one process) can
 * still say how many hubs it joins.
 */
function instanceInfo(hub: Hub<any, any>, t: number): InstanceInfo {
  const b = hub.options.broker;
  const instances = hub.cluster?.known().map((e): InstanceRow => ({ id: e.id, sessions: e.sessions, heartbeatAge: Math.max(0, t - e.beat), self: e.id === hub.id }));
  const cluster = instances ? { instances } : {};
  if (b === undefined) return { id: hub.id, broker: "own" };
  if (b instanceof MemoryBroker) return { id: hub.id, broker: "memory", hubs: b.subscribers("all"), ...cluster };
  return { id: hub.id, broker: (b as object).constructor?.name || "custom", ...cluster };
}
