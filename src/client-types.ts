/**
 * Types of `wirehub/client`: its options, its lifecycle events, and the helpers that turn one
 * API description into typed `emit`/`on`/`request`/`handle` calls.
 * @module
 */
import type { BackoffOptions } from "./client-backoff.ts";

/**
 * A WebSocket constructor, for hosts without a global one (Node 20: pass `WebSocket` from the
 * `ws` package). Browsers, Bun, Deno and Node ≥ 22 need nothing.
 */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => object;

/** Heartbeat settings: the client's app-level `{"t":"ping"}` (PROTOCOL.md §7). */
export interface HeartbeatOptions {
  /**
   * Milliseconds between two pings. Default 25 000. When the server's `hello` announces a
   * liveness timeout (`hb.to`), the client pings at least every `hb.to / 2` ms.
   */
  readonly interval?: number;
  /**
   * Milliseconds after a ping within which *something* must arrive (a pong or any other frame).
   * Otherwise the connection counts as gone: the client closes it locally (code 4000) and
   * reconnects. Default 10 000.
   */
  readonly timeout?: number;
}

/** Reconnection settings. The delay policy is {@link backoffDelay}. */
export interface ReconnectOptions extends BackoffOptions {
  /**
   * Reconnect attempts in a row before giving up: attempts that reach no ready session, or whose
   * session did not stay up `minUptime`. Default `Infinity`.
   */
  readonly maxRetries?: number;
  /**
   * Milliseconds a session must stay up before the next drop counts as a first failure again
   * (backoff from `minDelay`). A server that accepts and drops at once (a crash loop, an `open`
   * hook that closes) then gets ever longer delays instead of a reconnect every `minDelay`.
   * `0` starts over at every ready session. Default 5 000.
   */
  readonly minUptime?: number;
  /** Which close codes lead to a reconnect. Default: {@link shouldReconnect} (PROTOCOL.md §10). */
  readonly shouldReconnect?: (code: number, reason: string) => boolean;
}

/** The offline queue: what is sent while the client is between connections. */
export interface QueueOptions {
  /** Most frames kept while disconnected. Default 1 000. */
  readonly max?: number;
  /**
   * What a send does when the queue is full. `"drop-oldest"` (default) drops the oldest queued
   * frame (a dropped request rejects with {@link QueueFullError}); `"reject"` refuses the new one
   * (`emit` throws {@link QueueFullError}, a request rejects with it).
   */
  readonly overflow?: "drop-oldest" | "reject";
}

/** Query parameters of a connection attempt; `undefined` and `null` values are left out. */
export type QueryParams = Readonly<Record<string, string | number | boolean | null | undefined>>;

/**
 * Where {@link connect} connects: a `ws:`/`wss:` URL, or a function (which may return a promise)
 * called before every connection attempt, the first and each reconnect, so a client can move to
 * another server (a fail-over list, a region picked at run time). A resume token goes along to
 * whichever server the function names: it resumes there when that server shares a broker with
 * the old one. A function that throws, rejects or gives an invalid URL fails that attempt, as a
 * failing `query` function does.
 */
export type UrlSource = string | URL | (() => string | URL | PromiseLike<string | URL>);

/** Options of {@link connect}. Every option has a default; none is required. */
export interface ClientOptions {
  /**
   * Extra subprotocols to offer. `wirehub.v1` is always offered, first. Default `[]`.
   */
  readonly protocols?: readonly string[];
  /**
   * Credentials for the server's `authenticate` hook (PROTOCOL.md §6), or a function returning
   * them (called on each use, so it can refresh a token). Sent automatically after every
   * `hello` that carries `"auth":true`, which includes a new session after a failed resume.
   * When the server refuses them, {@link connect} rejects (or, on a reconnect, the client stops
   * and emits `close`) with a `RemoteError` whose code is `auth_failed`. Default: none.
   */
  readonly auth?: unknown;
  /**
   * Query parameters added to the URL's own for every connection attempt: an object, or a
   * function (which may return a promise) called before each attempt, the first and every
   * reconnect, so a token the `upgrade` hook checks can be fetched fresh when the old one has
   * expired. A function that throws or rejects fails that attempt: the first rejects
   * {@link connect} with its error, a reconnect counts as a failed attempt and backs off. Waiting
   * for it counts toward `connectTimeout`. Default: none.
   */
  readonly query?: QueryParams | (() => QueryParams | PromiseLike<QueryParams>);
  /** The WebSocket constructor. Default: `globalThis.WebSocket`. Required on Node 20 (`ws`). */
  readonly WebSocket?: WebSocketConstructor;
  /** Milliseconds a request waits for its answer before rejecting with `TimeoutError`. Default 10 000. */
  readonly requestTimeout?: number;
  /**
   * Milliseconds from the start of a connection attempt (the wait for a URL or `query` function
   * included) to the socket's `hello`. A first connection that misses it
   * rejects {@link connect}; a reconnect that misses it counts as a failed attempt. Default 10 000.
   */
  readonly connectTimeout?: number;
  /** Heartbeat settings, or `false` to send no pings. Default `{ interval: 25 000, timeout: 10 000 }`. */
  readonly heartbeat?: HeartbeatOptions | false;
  /** Reconnection settings, or `false` to never reconnect. Default `{ minDelay: 250, maxDelay: 10 000, maxRetries: Infinity, minUptime: 5 000 }`. */
  readonly reconnect?: ReconnectOptions | false;
  /** Offline queue settings. Default `{ max: 1 000, overflow: "drop-oldest" }`. */
  readonly queue?: QueueOptions;
  /**
   * Requests already sent when the connection drops: `true` (default) re-sends them after the
   * reconnect (so a server may see one twice: make them idempotent), `false` rejects them at
   * once with `ClosedError`. Either way none is left hanging; the request timeout still applies.
   */
  readonly retryRequests?: boolean;
  /**
   * Resume the session after a drop when the server can (PROTOCOL.md §8): the client opts in
   * with `wh_ack=1`, acknowledges what it receives, and reconnects with `wh_resume`/`wh_seq`;
   * missed events are replayed, in order and once each (duplicates are dropped). When the server
   * cannot resume, `resume_failed` is emitted and a new session starts. Default `true`.
   */
  readonly resume?: boolean;
  /**
   * After a reconnect that starts a new session (no resume, or resume failed), re-join the groups
   * this client joined with {@link Client.join} and has not left. Default `true`.
   */
  readonly rejoin?: boolean;
}

/** Options of one request. */
export interface RequestOptions {
  /** Milliseconds to wait for the answer. Default: the client's `requestTimeout` (10 000). */
  readonly timeout?: number;
}

/** Another client, as presence lists and private messages show it. */
export interface PeerInfo {
  /** Its session id. */
  readonly sid: string;
  /** Its public alias. */
  readonly alias: string;
  /** Whether it is available (present in lists, reachable by private messages). */
  readonly available?: boolean;
  /** Its public data, set by the server at authentication. */
  readonly pub?: unknown;
}

/** A `presence` frame (PROTOCOL.md §6). */
export interface PresenceEvent {
  /** `join` (also: became available), `leave` (also: became unavailable) or `update` (alias changed). */
  readonly op: "join" | "leave" | "update";
  /** The group, or `undefined` for hub-wide presence. */
  readonly group: string | undefined;
  /** Who it is about. */
  readonly who: PeerInfo;
}

/** The server's answer to an `auth` frame. */
export interface AuthResult {
  /** The session id. */
  readonly sid: string;
  /** The public alias, or `null` when the server gave none (the session is then invisible). */
  readonly alias?: string | null;
  /** Whether the session is available. */
  readonly available?: boolean;
  /** The client-side session object the server chose to send. */
  readonly session?: unknown;
}

/** The lifecycle events of a client, by name, with what their listeners receive. */
export interface ClientEvents {
  /** A session is ready: `hello` received (and authenticated, when the server asks). */
  open: { readonly sid: string; readonly resumed: boolean };
  /** A socket closed. `reconnect` tells whether the client will try again. */
  close: { readonly code: number; readonly reason: string; readonly reconnect: boolean; readonly error?: unknown };
  /** A reconnect is scheduled: attempt number (from 1) and the delay before it, in ms. */
  reconnecting: { readonly attempt: number; readonly delay: number };
  /** A reconnect took over the previous session; missed events follow. */
  resumed: { readonly sid: string };
  /** The server could not resume; this is a new session (auth and rejoin run again). */
  resume_failed: { readonly sid: string; readonly previous: string };
  /** Something went wrong that belongs to no call: an `err` frame without id, a listener that threw. */
  error: { readonly error: unknown };
}

/** Name of a lifecycle event. */
export type ClientEventName = keyof ClientEvents;

// ---- API description -------------------------------------------------------------------
//
// An API is described once, as a type:
//   interface Api {
//     events: { chat: { text: string } };                                      // both directions
//     requests: { "create/user": { input: { name: string }; output: { id: string } } };
//     serverRequests: { confirm: { input: string; output: boolean } };         // answered by handle()
//   }
// Any part left out is untyped (any name, `unknown` data), and so is `Client` without an Api.

/** Requests left untyped: any method, `unknown` input and output. */
export type Loose = Record<string, { input: unknown; output: unknown }>;
/** The `events` of an API description (any name, `unknown` data without one). */
export type EventMap<A> = A extends { events: infer E } ? E : Record<string, unknown>;
/** The `requests` of an API description, which the client asks ({@link Loose} without one). */
export type RequestMap<A> = A extends { requests: infer R } ? R : Loose;
/** The `serverRequests` of an API description, which the client answers ({@link Loose} without one). */
export type ServerRequestMap<A> = A extends { serverRequests: infer R } ? R : Loose;

/** Event names of an API (any string when it declares no `events`). */
export type EventName<A> = keyof EventMap<A> & string;
/** Payload type of event `E`. */
export type EventData<A, E> = E extends keyof EventMap<A> ? EventMap<A>[E] : unknown;
/** Method names of client → server requests. */
export type MethodName<A> = keyof RequestMap<A> & string;
/** Input of request `M`. */
export type RequestInput<A, M> = M extends keyof RequestMap<A> ? (RequestMap<A>[M] extends { input: infer I } ? I : undefined) : unknown;
/** Output of request `M`. */
export type RequestOutput<A, M> = M extends keyof RequestMap<A> ? (RequestMap<A>[M] extends { output: infer O } ? O : unknown) : unknown;
/** Method names the server may ask the client. */
export type ServerMethodName<A> = keyof ServerRequestMap<A> & string;
/** Input of server request `M`. */
export type ServerInput<A, M> = M extends keyof ServerRequestMap<A> ? (ServerRequestMap<A>[M] extends { input: infer I } ? I : undefined) : unknown;
/** Output of server request `M`. */
export type ServerOutput<A, M> = M extends keyof ServerRequestMap<A> ? (ServerRequestMap<A>[M] extends { output: infer O } ? O : unknown) : unknown;

/** Arguments after the event name: the payload may be left out when its type allows `undefined`. */
export type EmitArgs<T> = undefined extends T ? [data?: T] : [data: T];
/** Arguments after the method name: the input (optional when it allows `undefined`), then options. */
export type RequestArgs<T> = undefined extends T ? [data?: T, options?: RequestOptions] : [data: T, options?: RequestOptions];
