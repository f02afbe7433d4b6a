/**
 * Deciding an upgrade: origin check, mode and subprotocol negotiation, the upgrade hook.
 * @module
 */
import { newId } from "./ids.ts";
import { SUBPROTOCOL } from "./protocol.ts";
import { resumeParams } from "./resume.ts";
import type { Hub } from "./hub.ts";
import type { AuthResult } from "./auth.ts";
import type { Mode, UpgradeInfo } from "./types.ts";
import { packHeaders, type SessionData } from "./session.ts";
import { shared, type HeaderReader } from "./wire.ts";

/**
 * What the upgrade hook may return: nothing or `true` to accept; `{ data }` to accept with
 * initial server-side data; `{ data, auth }` to accept an already authenticated session (a
 * token checked at upgrade); any of these with `headers` to add to the `101` response (a
 * `Set-Cookie`, say); `false` (403) or a `Response` to refuse with its status.
 */
export type UpgradeResult<D> =
  | void
  | undefined
  | boolean
  | {
    readonly data?: D;
    readonly auth?: Omit<AuthResult<D>, "client" | "data">;
    /**
     * Headers to send with the `101 Switching Protocols` response, on every host: a plain object,
     * `[name, value]` pairs (repeat a name for several `Set-Cookie`) or a `Headers`. The handshake's
     * own headers (`Upgrade`, `Connection`, `Sec-WebSocket-*`) are the hub's to write; naming one,
     * or a name or value `Headers` refuses, fails the upgrade like a throwing hook (500, reported
     * to the `error` hook). Default: none.
     */
    readonly headers?: HeadersInit;
  }
  | Response;

/**
 * An upgrade request as a host may hand it to the hub without building a web-standard `Request`
 * for every connection (the Node adapter does: an undici `Request` costs Node about 15 µs and
 * a few hundred bytes of short-lived garbage per upgrade). The hub's own checks read only `url`,
 * `method` and `headers`; `toRequest()` gives the `Request` that the upgrade hook and an
 * origin-policy function receive, and is called only when one of them runs (at most once per
 * upgrade: it should return the same object each time).
 */
export interface UpgradeRequest {
  /** The absolute request URL. */
  readonly url: string;
  /** The request method. */
  readonly method: string;
  /** The request headers: names matched case-insensitively; `forEach` gives lowercase names. */
  readonly headers: HeaderReader;
  /** The same request as a web-standard `Request`. */
  toRequest(): Request;
}

/** The web-standard `Request` of either form. */
function webRequest(request: Request | UpgradeRequest): Request {
  return "toRequest" in request ? request.toRequest() : request;
}

/** Which browser origins may open a WebSocket. */
export type OriginPolicy = "same-origin" | "*" | readonly string[] | ((origin: string, request: Request) => boolean);

/** An accepted upgrade, handed from `seam.upgrade` to `seam.open` through the host. */
export interface Admission<D = SessionData> {
  /** The id the session will have (known before the socket opens, so a host can tag the socket). */
  readonly id: string;
  /** The session's mode. */
  readonly mode: Mode;
  /** The subprotocol to echo in `Sec-WebSocket-Protocol`, or `""`. */
  readonly protocol: string;
  /** Initial server-side data. */
  readonly data: D;
  /** Upgrade URL. */
  readonly url: string;
  /** Upgrade headers. */
  readonly headers: Headers;
  /** Peer address or `""`. */
  readonly remoteAddress: string;
  /** Set when the upgrade hook authenticated the session. */
  readonly auth?: Omit<AuthResult<D>, "client" | "data">;
  /**
   * @internal `headers` packed into one string for the session, taken while the request is
   * alive (Deno cannot read a request's headers once it has been answered)
   */
  readonly packedHeaders?: string;
  /**
   * Headers the upgrade hook asked to send with the `101` response (its `headers`), checked and
   * normalised; `undefined` when none. An adapter's `accept` adds them to the subprotocol header.
   */
  readonly responseHeaders?: Headers;
  /**
   * The hub that accepted the upgrade. Where several hubs share one host server (a route each),
   * the adapter hands the socket to this hub whichever hub's handler the host calls.
   */
  readonly hub?: Hub<D, any>;
}

/**
 * Cross-site WebSocket hijacking defence. Browsers always send `Origin`; other clients
 * usually do not, and a missing Origin cannot be a browser attack, so it passes.
 */
export function originAllowed(policy: OriginPolicy, request: Request | UpgradeRequest): boolean {
  const origin = request.headers.get("origin");
  if (!origin || policy === "*") return true;
  if (typeof policy === "function") return policy(origin, webRequest(request));
  if (policy === "same-origin") {
    const host = request.headers.get("host") ?? new URL(request.url).host;
    try {
      return new URL(origin).host === host.toLowerCase();
    } catch {
      return false;
    }
  }
  // Exact match on scheme, host and port after canonicalising case and default ports:
  // "HTTPS://APP.EXAMPLE.COM:443" equals "https://app.example.com"; look-alikes never match.
  const o = canonicalOrigin(origin);
  if (o === undefined) return false;
  for (const p of policy) if (canonicalOrigin(p) === o) return true;
  return false;
}

function canonicalOrigin(origin: string): string | undefined {
  try {
    const u = new URL(origin);
    return u.origin === "null" ? undefined : u.origin;
  } catch {
    return undefined;
  }
}

const KEY = /^[A-Za-z0-9+/]{22}==$/; // base64 of exactly 16 bytes (RFC 6455 §4.2.1)

/**
 * Reject malformed handshakes the same way on every host, before any hook runs: the refusal
 * `Response`, or `undefined` for a well-formed WebSocket upgrade request.
 */
export function badHandshake(request: Request | UpgradeRequest): Response | undefined {
  const upgrade = request.headers.get("upgrade");
  if (upgrade === null) return new Response("expected a WebSocket upgrade", { status: 426, headers: { upgrade: "websocket" } });
  if (upgrade.toLowerCase() !== "websocket") return new Response("unsupported upgrade", { status: 400 });
  if (request.method !== "GET") return new Response("a WebSocket upgrade must be a GET", { status: 405, headers: { allow: "GET" } });
  if (request.headers.get("sec-websocket-version") !== "13") {
    return new Response("unsupported WebSocket version", { status: 426, headers: { "sec-websocket-version": "13" } });
  }
  if (!KEY.test(request.headers.get("sec-websocket-key") ?? "")) return new Response("invalid Sec-WebSocket-Key", { status: 400 });
  return undefined;
}

/**
 * Run the whole upgrade decision for `hub`. Synchronous when nothing in it waits (no upgrade
 * hook, or one that returns a plain value, and no cluster take-over): a host can then upgrade in
 * the same turn, as Bun does fastest. A promise otherwise.
 */
export function admit<D>(hub: Hub<D, any>, request: Request | UpgradeRequest, info: UpgradeInfo): Admission<D> | Response | Promise<Admission<D> | Response> {
  const o = hub.options;
  if (hub.closing) return new Response("server is shutting down", { status: 503, headers: { "retry-after": "5" } });
  const bad = badHandshake(request);
  if (bad) return bad;
  let allowed: boolean;
  try {
    allowed = originAllowed(o.origins ?? "same-origin", request);
  } catch (error) {
    hub.report(error); // a throwing policy function refuses, like a `false`
    allowed = false;
  }
  if (!allowed) return new Response("origin not allowed", { status: 403 });
  if (hub.sessions.size >= (o.maxSessions ?? 100_000)) return new Response("too many sessions", { status: 503, headers: { "retry-after": "5" } });
  if (o.maxSessionsPerAddress && (hub.perAddress.get(info.remoteAddress ?? "") ?? 0) >= o.maxSessionsPerAddress) {
    return new Response("too many sessions from this address", { status: 429, headers: { "retry-after": "5" } });
  }
  const fixed = o.mode ?? "auto";
  let mode: Mode = fixed === "envelope" ? "envelope" : "raw";
  let protocol = "";
  const header = request.headers.get("sec-websocket-protocol");
  const offered = header ? offeredProtocols(header) : NONE;
  if (offered.length > 0) {
    if (fixed !== "raw" && offered.includes(SUBPROTOCOL)) {
      mode = "envelope";
      protocol = SUBPROTOCOL;
    } else {
      protocol = firstKnown(offered, o.protocols);
      if (!protocol) {
        const known = [...(fixed !== "raw" ? [SUBPROTOCOL] : []), ...(o.protocols ?? [])];
        return new Response(`unsupported subprotocol; this hub speaks: ${known.join(", ")}`, { status: 400 });
      }
    }
  }
  if (!o.upgrade) return accepted(hub, request, info, mode, protocol, undefined);
  let r: UpgradeResult<D> | Promise<UpgradeResult<D>>;
  try {
    r = o.upgrade(webRequest(request), info);
  } catch (error) {
    return hookFailed(hub, error);
  }
  if (isThenable(r)) return acceptLater(hub, request, info, mode, protocol, r);
  return accepted(hub, request, info, mode, protocol, r);
}

// The functions below that make closures are apart from `admit` and `accepted`: a closure in
// either would cost every upgrade a scope object, whether the closure is made or not.

const NONE: readonly string[] = [];

/** The subprotocols a `Sec-WebSocket-Protocol` header offers, trimmed, empty entries left out. */
function offeredProtocols(header: string): string[] {
  const out: string[] = [];
  for (const p of header.split(",")) {
    const t = p.trim();
    if (t) out.push(t);
  }
  return out;
}

/** The first offered subprotocol the hub speaks, or `""`. */
function firstKnown(offered: readonly string[], known: readonly string[] | undefined): string {
  if (known) for (const p of offered) if (known.includes(p)) return p;
  return "";
}

/** {@link accepted} once an upgrade hook's promise settles. */
function acceptLater<D>(hub: Hub<D, any>, request: Request | UpgradeRequest, info: UpgradeInfo, mode: Mode, protocol: string, r: PromiseLike<UpgradeResult<D>>): Promise<Admission<D> | Response> {
  return Promise.resolve(r).then((v) => accepted(hub, request, info, mode, protocol, v), (error) => hookFailed(hub, error));
}

/** The admission once this instance has taken over the session a resume token names (or failed to). */
function claimFirst<D>(hub: Hub<D, any>, token: string, a: Admission<D>): Promise<Admission<D>> {
  return hub.cluster!.claim(token).then(() => a, (e) => (hub.report(e), a));
}

function isThenable<T>(v: T | PromiseLike<T>): v is PromiseLike<T> {
  return typeof (v as { then?: unknown } | null | undefined)?.then === "function";
}

/**
 * The upgrade hook's `headers` for the `101` response, as a `Headers` (which refuses a name or
 * value that is not valid HTTP, so nothing can be smuggled into the response head). Throws for a
 * header of the handshake itself: those say what the hub negotiated, and a second copy would
 * contradict it.
 */
function responseHeaders(init: HeadersInit): Headers {
  const h = new Headers(init);
  for (const name of h.keys()) {
    if (name === "upgrade" || name === "connection" || name.startsWith("sec-websocket-")) {
      throw new TypeError(`upgrade hook: the "${name}" header belongs to the WebSocket handshake and cannot be set`);
    }
  }
  return h;
}

function hookFailed<D>(hub: Hub<D, any>, error: unknown): Response {
  hub.report(error);
  return new Response("upgrade hook failed", { status: 500 });
}

/** The rest of {@link admit} once the upgrade hook has answered `r`. */
function accepted<D>(hub: Hub<D, any>, request: Request | UpgradeRequest, info: UpgradeInfo, mode: Mode, protocol: string, r: UpgradeResult<D>): Admission<D> | Response | Promise<Admission<D> | Response> {
  if (r instanceof Response) return r;
  if (r === false) return new Response("forbidden", { status: 403 });
  const hooked = r && r !== true ? r : undefined;
  const data = hooked?.data !== undefined ? hooked.data : ({} as D);
  let extra: Headers | undefined;
  if (hooked?.headers !== undefined) {
    try {
      extra = responseHeaders(hooked.headers);
    } catch (error) {
      return hookFailed(hub, error);
    }
  }
  const a = new Accepted<D>(
    hub, newId(), mode, protocol, data, shared(request.url), shared(info.remoteAddress ?? ""), hooked?.auth,
    shared(packHeaders(request.headers)), "toRequest" in request ? request : request.headers, extra,
  );
  if (hub.cluster && hub.resume && mode === "envelope") {
    // A resume token this instance does not know may name a session held by another instance:
    // take it over now (upgrades are async, opens are not); `open` then resumes it as usual.
    const token = resumeParams(request.url).token;
    if (token && !hub.tokens.has(token)) return claimFirst(hub, token, a);
  }
  return a;
}

/**
 * An {@link Admission}. Its `headers` are the request's own `Headers` when it came as a
 * `Request`; from an {@link UpgradeRequest} a new `Headers` is built at each read (the hub's own
 * path never reads it: sessions take `packedHeaders`).
 */
class Accepted<D> implements Admission<D> {
  constructor(
    readonly hub: Hub<D, any>,
    readonly id: string,
    readonly mode: Mode,
    readonly protocol: string,
    readonly data: D,
    readonly url: string,
    readonly remoteAddress: string,
    readonly auth: Omit<AuthResult<D>, "client" | "data"> | undefined,
    readonly packedHeaders: string,
    private readonly source: Headers | UpgradeRequest,
    readonly responseHeaders: Headers | undefined,
  ) {}

  get headers(): Headers {
    const s = this.source;
    if (s instanceof Headers) return s;
    const h = new Headers();
    s.headers.forEach((value, name) => h.append(name, value));
    return h;
  }
}
