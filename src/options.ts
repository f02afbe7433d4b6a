/**
 * The hub's options and the adapter seam's types.
 * @module
 */
import type { AuthResult } from "./auth.ts";
import type { Broker } from "./broker.ts";
import type { RemotePeer } from "./cluster.ts";
import type { Backpressure, Limits, RateLimit } from "./limits.ts";
import type { PingOptions, RawPing } from "./liveness.ts";
import type { ResumeOptions } from "./resume.ts";
import type { Session, SessionData } from "./session.ts";
import type { Admission, OriginPolicy, UpgradeRequest, UpgradeResult } from "./upgrade.ts";
import type { Message, Mode, UpgradeInfo, WireData } from "./types.ts";

/** An action a client asks for; the `authorize` hook decides. */
export type GroupAction =
  | { readonly type: "join" | "leave"; readonly group: string }
  /** Publish an event to a group (`group` is `""` for everyone). */
  | { readonly type: "publish"; readonly group: string; readonly event: string }
  /** Change the session's own public alias. */
  | { readonly type: "alias"; readonly group: ""; readonly alias: string | null };

/** An event or request from an envelope client, as the `guard` hook sees it before anything runs. */
export interface GuardedCall {
  /** `event` (an `evt` frame) or `request` (a `req` frame). */
  readonly type: "event" | "request";
  /** The event name or the request method. */
  readonly name: string;
  /** The payload as the client sent it, before any schema validation. */
  readonly data: unknown;
}

/** Options of {@link createHub}. Every option has a default; none is required. */
export interface HubOptions<D = SessionData> {
  /**
   * `auto` (default): a client that offers the `wirehub.v1` subprotocol speaks the envelope
   * protocol, one that offers none gets raw frames. `raw` or `envelope` fixes every session to one.
   */
  readonly mode?: "auto" | Mode;
  /**
   * Extra subprotocols the hub accepts for raw sessions (echoed back when a client offers one).
   * A client that offers only protocols the hub does not know is refused with 400. Default `[]`.
   */
  readonly protocols?: readonly string[];
  /**
   * Browser origins allowed to connect (cross-site WebSocket hijacking defence), checked
   * before the upgrade hook; others get 403. Requests without an `Origin` header (non-browser
   * clients) always pass. Default `"same-origin"`: the Origin's host must equal the Host header.
   * `"*"` allows every origin; a list allows exactly those origins (`"https://app.example"`).
   */
  readonly origins?: OriginPolicy;
  /**
   * Decide an upgrade from the web-standard `Request` (headers, URL, cookies): return nothing
   * or `true` to accept, `{ data }` to accept with server-side data, `{ data, auth }` to accept
   * an already authenticated session (token at upgrade), `false` (403) or a `Response` to
   * refuse (the client sees its status). An accepting object may also carry `headers` for the
   * `101` response (a `Set-Cookie`, say). Throwing refuses with 500 and reports to `error`.
   */
  upgrade?(request: Request, info: UpgradeInfo): UpgradeResult<D> | Promise<UpgradeResult<D>>;
  /** A session opened (after the envelope `hello` is sent). */
  open?(session: Session<D>): void | Promise<void>;
  /**
   * A message arrived: every raw frame (event `"message"`), and every envelope `evt` frame that
   * no `hub.on` listener took. Without this hook such events get a `not_found` error frame.
   */
  message?(session: Session<D>, message: Message): void | Promise<void>;
  /**
   * A session closed, with the code and reason. Runs once. `session.data` is still there (revoke
   * tokens), and `session.groups` still lists the groups it was in: it has left them, so a send
   * to one of them (telling the others it left) no longer reaches it.
   */
  close?(session: Session<D>, code: number, reason: string): void | Promise<void>;
  /** Any error thrown by a hook or handler, or a host fault. Never throws back into the host. */
  error?(error: unknown, session?: Session<D>): void;
  /**
   * May a client join, leave or publish to a group, or change its alias? Without this hook
   * clients may leave any group but not join, publish or change their alias.
   */
  authorize?(session: Session<D>, action: GroupAction): boolean | Promise<boolean>;
  /**
   * Decide every event and request an envelope client sends, before its listener, handler or the
   * `message` hook runs (and before schema validation): one place for role checks, auditing or
   * per-method limits. Return `false` (or a promise of it) to refuse with `forbidden`; throw a
   * `WirehubError` to refuse with its code and message; anything else lets the call run. Other
   * errors are reported to `error` and refuse with `handler_error`. A refused event gets an `err`
   * frame naming it; the session stays open. A request waiting for the guard counts toward
   * `limits.inflight`. Join, leave, publish and alias changes go to `authorize` instead.
   * Default: none (every call runs).
   */
  guard?(session: Session<D>, call: GuardedCall): boolean | void | Promise<boolean | void>;
  /**
   * Check the credentials of an envelope client's `auth` frame. Return an {@link AuthResult}
   * (data, groups, alias, availability, public data, client object) or throw to refuse
   * (`auth_failed`). When set, envelope sessions must authenticate before anything but
   * ping/pong; raw sessions count as authenticated by the upgrade. Default: none (no auth).
   */
  authenticate?(session: Session<D>, credentials: unknown): AuthResult<D> | void | Promise<AuthResult<D> | void>;
  /** Milliseconds an envelope session has to authenticate before it is closed with 1008. Default 10 000. */
  readonly authTimeout?: number;
  /** Failed `auth` frames before the session is closed with 1008. Default 3. */
  readonly maxAuthAttempts?: number;
  /**
   * Sees every private message; return `false` to refuse it (the sender gets `forbidden`).
   * Runs on the recipient's instance: with a broker, a sender held by another instance is a
   * {@link RemotePeer} (id, alias, public data; no server-side data). Default: allow.
   */
  privateMessage?(from: Session<D> | RemotePeer, to: Session<D>, data: unknown): boolean | void | Promise<boolean | void>;
  /**
   * Presence events: `"groups"` (default) tells the members of each group; `"hub"` also tells
   * every available session hub-wide; `"off"` sends none (lists still work).
   */
  readonly presence?: "groups" | "hub" | "off";
  /**
   * Ping policy (see README's table): `{ policy: "send", interval, timeout }` (default, 30 000 /
   * 10 000 ms), `{ policy: "expect", timeout }` (default timeout 60 000 ms) or `{ policy: "auto" }`.
   * Timed-out sessions are closed with 4000.
   */
  readonly ping?: PingOptions;
  /** Close a session with 4000 after this many ms without any traffic, pings included. Default 0 (off). */
  readonly idleTimeout?: number;
  /**
   * A text ping/pong pair for raw clients (`{ ping: "ping", pong: "pong" }`): a raw frame equal
   * to `ping` is answered with `pong` and counts as a ping; it never reaches `message`. Under
   * `send`, raw sessions on hosts without protocol pings are pinged with it. Default: none.
   */
  readonly rawPing?: RawPing;
  /** A client pinged (protocol, app-level or the raw text pair). */
  pinged?(session: Session<D>): void;
  /** Per-session message rate limit, or `false` for none. Default `{ rate: 1000, burst: 1000, action: "close" }`. */
  readonly rateLimit?: RateLimit | false;
  /** Per-session send buffer bound. Default `{ maxBuffered: 1 MiB, policy: "close" }` (1013). */
  readonly backpressure?: Backpressure;
  /** A frame was dropped for `session` by the backpressure policy. */
  dropped?(session: Session<D>, frame: string | Uint8Array): void;
  /** Most sessions the hub holds; further upgrades get 503. Default 100 000. */
  readonly maxSessions?: number;
  /**
   * Most sessions from one remote address; further upgrades get 429. Default 0 (no limit:
   * behind a proxy every client can share one address — set it where addresses are real).
   */
  readonly maxSessionsPerAddress?: number;
  /** Shape limits: groups per session, name, alias length, JSON depth (see {@link Limits}). */
  readonly limits?: Limits;
  /**
   * Broker for scale-out (`MemoryBroker`, `wirehub/redis`, `wirehub/nats`). Hubs on one broker
   * act as one: sends, private messages, presence and resume cross instances. Default: an
   * in-process `MemoryBroker` of its own (nothing crosses).
   */
  readonly broker?: Broker;
  /**
   * The broker connection was lost (`up` false) or is back (`true`, resubscribed). While it is
   * down local delivery goes on, and every send that could not cross is counted in
   * `metrics.brokerFailed` and reported to `error` as a `BrokerError`. Default: none.
   */
  brokerState?(up: boolean, error?: unknown): void;
  /** Largest incoming message in bytes; bigger ones close the session with 1009. Default 1 MiB. */
  readonly maxMessageSize?: number;
  /**
   * Negotiate permessage-deflate (RFC 7692) with clients that offer it, where the hub decides
   * (`capabilities.compression`: Bun and Node; Deno never negotiates it, and on Durable Objects
   * the runtime decides). It trades CPU on every compressed frame, both ways, for bytes on the
   * wire; Node's `ws` compresses messages of 1 KiB and more and, from a
   * connection's first compressed message on, keeps zlib streams for it. `maxMessageSize`
   * applies to the message once inflated. Default `false`.
   */
  readonly compression?: boolean;
  /** Milliseconds a server→client request waits for its answer. Default 10 000. */
  readonly requestTimeout?: number;
  /**
   * Lossless resume for envelope clients that acknowledge (`wh_ack=1`, as `wirehub/client`
   * does): unacknowledged frames are kept, and a session dropped abnormally waits `window` ms
   * for its client. `false` turns it off. Default `{ window: 30_000, maxFrames: 1_000 }`.
   */
  readonly resume?: false | ResumeOptions;
  /**
   * May this connection take over `session` by resuming it? Gets the new connection's
   * admission (its upgrade hook `data`, URL, headers), so you can bind a resume to the same
   * user or refuse it after a credential was revoked. `false` (or a throw) starts a fresh
   * session instead (`resumed: false`). Default: the single-use resume token alone decides.
   */
  canResume?(session: Session<D>, admission: Admission<D>): boolean;
}

/** The adapter-facing side of a hub. Adapters call these and nothing else. */
export interface Seam<D = SessionData, S = unknown> {
  /**
   * Decide an upgrade: an {@link Admission} to accept, or a `Response` to send instead. The
   * answer comes at once when nothing in the decision waits (no upgrade hook, or one that
   * returns a plain value); a promise of it otherwise. Awaiting it works either way.
   */
  upgrade(request: Request | UpgradeRequest, info?: UpgradeInfo): Admission<D> | Response | Promise<Admission<D> | Response>;
  /** The host opened the socket for an admission. */
  open(socket: S, admission: Admission<D>): Session<D>;
  /**
   * Rebuild a session from the snapshot a hibernating host kept with its socket (see
   * `Driver.persist`): same id, data, groups and identity; no open hook, no hello frame.
   * Returns `undefined` when `snapshot` is not one this version can read, and the existing
   * session when it is already in memory.
   */
  restore(socket: S, snapshot: unknown): Session<D> | undefined;
  /** A frame arrived. Never throws. Pass `socket` so frames of a retired socket are ignored. */
  message(session: Session<D>, data: WireData, socket?: S): void;
  /** The socket closed (either side). Never throws; runs the close hook once. Pass `socket` (see above). */
  close(session: Session<D>, code: number, reason: string, socket?: S): void;
  /** A protocol-level pong arrived. */
  pong(session: Session<D>): void;
  /** A protocol-level ping arrived (the host answers it; this only records it). */
  ping(session: Session<D>): void;
  /** The host reported a socket error. */
  error(session: Session<D> | undefined, error: unknown): void;
}

/*
 * `message` and `close` take the host socket as an optional last argument. Adapters should pass
 * it: when a resumed connection takes a session over, late events of the retired socket are
 * then recognised and ignored.
 */

/** Options of {@link Hub.close}. */
export interface HubCloseOptions {
  /** Close code sent to every session. Default 1001 (going away). */
  readonly code?: number;
  /** Close reason. Default `"server shutting down"`. */
  readonly reason?: string;
  /** Milliseconds to wait for sessions to finish closing before giving up. Default 5 000. */
  readonly timeout?: number;
}

