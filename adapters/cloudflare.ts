/**
 * Cloudflare Durable Objects adapter, on the WebSocket Hibernation API: one hub per object (a
 * room), sockets that stay open while the object is evicted from memory, sessions rebuilt from
 * each socket's attachment when it wakes.
 * Host documentation: https://developers.cloudflare.com/durable-objects/best-practices/websockets/
 *
 * ```ts
 * import { createHub } from "wirehub";
 * import { createDurableObject, routeToRoom, type DurableObjectNamespaceLike } from "wirehub/cloudflare";
 *
 * // wrangler.toml: [[durable_objects.bindings]] name = "ROOMS", class_name = "Room"
 * export const Room = createDurableObject(() => createHub({ message: (s, m) => s.send(m.data, m.event) }));
 * export default { fetch: (req: Request, env: { ROOMS: DurableObjectNamespaceLike }) => routeToRoom(req, env.ROOMS) };
 * ```
 * @module
 */
import { badHandshake, WirehubError, type Capabilities, type Driver, type Hub, type Seam, type Session, type SessionData } from "../src/mod.ts";
import { deadlines, type AlarmStorageLike } from "./cloudflare-alarm.ts";
import { receiveRoomEvent, ROOM_EVENT_HEADER } from "./cloudflare-rooms.ts";
export type { AlarmStorageLike } from "./cloudflare-alarm.ts";
export { broadcastToRoom, ROOM_EVENT_HEADER } from "./cloudflare-rooms.ts";
export type { BroadcastToRoomOptions } from "./cloudflare-rooms.ts";

// The few workerd types this file touches, declared here so the package needs no workers-types.
/** A socket accepted with `ctx.acceptWebSocket` (the Hibernation API's server socket). */
export interface HibernatableWebSocket {
  /** The WebSocket ready state (1 is open). */
  readonly readyState: number;
  /** Send a frame. */
  send(data: string | ArrayBuffer | ArrayBufferView): void;
  /** Close with a code and reason. */
  close(code?: number, reason?: string): void;
  /** Keep a value with the socket across hibernation (at most 16 KiB, structured-cloned). */
  serializeAttachment(value: unknown): void;
  /** The value last kept with {@link serializeAttachment}. */
  deserializeAttachment(): unknown;
}
/** The part of a Durable Object's `ctx` (`DurableObjectState`) this adapter uses. */
export interface DurableObjectStateLike {
  /** Take a server socket into the Hibernation API, with tags to find it by. */
  acceptWebSocket(ws: HibernatableWebSocket, tags?: string[]): void;
  /** The accepted sockets, all or those with a tag. */
  getWebSockets(tag?: string): HibernatableWebSocket[];
  /** A request/response pair answered without waking the object (`WebSocketRequestResponsePair`). */
  setWebSocketAutoResponse(pair?: unknown): void;
  /** When the runtime last answered `ws`'s auto-response request, or `null`. */
  getWebSocketAutoResponseTimestamp(ws: HibernatableWebSocket): Date | null;
  /** The object's storage: the hub's deadlines use its alarm. */
  readonly storage: AlarmStorageLike;
}
/** The part of a Durable Object namespace binding (`env.ROOMS`) {@link routeToRoom} and `broadcastToRoom` use. */
export interface DurableObjectNamespaceLike<I = unknown> {
  /** The id of the object with this name. */
  idFromName(name: string): I;
  /** A stub of the object with this id; its `fetch` reaches the object. */
  get(id: I): { fetch(request: Request): Promise<Response> };
}
declare const WebSocketPair: new () => { 0: HibernatableWebSocket; 1: HibernatableWebSocket };
declare const WebSocketRequestResponsePair: new (request: string, response: string) => unknown;

/** What a Durable Object can do, as the conformance suite reads it. */
export const capabilities: Capabilities = {
  protocolPing: false, // the runtime answers protocol pings itself and never shows them
  nativePubSub: false,
  bufferedAmount: false, // the server socket has no bufferedAmount
  hibernation: true,
  validatesUtf8: false, // workerd delivers invalid UTF-8 to the app as lossy text (U+FFFD)
  compression: false, // workerd negotiates (or not) by its own settings, not the hub's option
};

/** Options of {@link createHandler} and {@link createDurableObject}. */
export interface DurableObjectOptions {
  /**
   * Let the runtime answer the envelope ping `{"t":"ping"}` with `{"t":"pong"}` without waking
   * the object (`setWebSocketAutoResponse`). It matches that exact text on every socket, so a raw
   * client sending it gets the pong instead of your handler. Default: on unless the hub's mode is `raw`.
   */
  readonly autoPong?: boolean;
  /**
   * A secret that room events (`broadcastToRoom`, which must pass the same `secret`) must carry
   * in their {@link ROOM_EVENT_HEADER} header; others get 403. Without it any request with that
   * header is taken as a room event, which is safe only if no outside request reaches the object
   * with the header (`routeToRoom` refuses those). Typically a Worker secret, read from `env`.
   */
  readonly roomSecret?: string;
  /**
   * Answer a plain HTTP request to the object (one without `Upgrade: websocket`, and not a room
   * event), as PartyServer's `onRequest`: it runs after the sessions were rebuilt from the
   * sockets, so `hub.sessions` and `hub.members()` are complete. Return `undefined` to let the
   * hub answer (426 Upgrade Required). Default: none (the hub answers every such request).
   */
  request?(request: Request, hub: Hub<any, any>): Response | undefined | Promise<Response | undefined>;
}

/** The Hibernation API handlers of one object; a Durable Object class delegates to them. */
export interface DurableObjectHandler {
  /** Upgrade a request, or emit a room event (a request with {@link ROOM_EVENT_HEADER}); any other request goes to the `request` option, else gets the hub's 426. */
  fetch(request: Request): Promise<Response>;
  /** The object's `webSocketMessage`. */
  webSocketMessage(ws: HibernatableWebSocket, message: string | ArrayBuffer): void;
  /** The object's `webSocketClose`: completes the close handshake and runs the close hook. */
  webSocketClose(ws: HibernatableWebSocket, code: number, reason: string, wasClean?: boolean): void;
  /** The object's `webSocketError`. */
  webSocketError(ws: HibernatableWebSocket, error: unknown): void;
  /** The object's `alarm`: checks the hub's deadlines (ping policies, idle and auth timeouts) and sets the next alarm. */
  alarm(): Promise<void>;
  /** Rebuild the hub's sessions and groups from the sockets' attachments. Runs by itself before the first event; idempotent. */
  restore(): void;
}

/** Every socket this adapter accepts carries this tag, and `wirehub:<session id>`. */
const TAG = "wirehub";
const OPEN = 1;

/** Serve `hub` from inside your own Durable Object class: call these from its handlers. */
export function createHandler<D>(hub: Hub<D, any>, ctx: DurableObjectStateLike, options: DurableObjectOptions = {}): DurableObjectHandler {
  const sessions = new WeakMap<HibernatableWebSocket, Session<unknown>>();
  // Sockets whose client sent a frame while this instance was awake (see `nudge`).
  const heard = new WeakSet<HibernatableWebSocket>();
  let restored = false;
  // The socket `fetch` is opening a session on, and a close asked for while it does (the open
  // hook may close at once): the session is not in `sessions` yet, so `fetch` ends it after.
  let opening: { ws: HibernatableWebSocket; mode: string; close?: { code: number; reason: string } } | undefined;
  const driver: Driver<HibernatableWebSocket> = {
    capabilities,
    send(ws, data) {
      if (ws.readyState !== OPEN) return "dropped";
      ws.send(data);
      return "sent";
    },
    close(ws, code, reason) {
      // The session ends now, not when the peer answers: that answer may arrive after an eviction,
      // and the close hook must not wait on the client. A microtask still runs within this event.
      // The socket stays listed until the peer answers; a blank attachment keeps a wake from
      // bringing its session back.
      ws.serializeAttachment(null);
      const s = sessions.get(ws);
      sessions.delete(ws);
      if (s) nudge(ws, s.mode);
      else if (opening?.ws === ws) (nudge(ws, opening.mode), (opening.close = { code, reason }));
      ws.close(code, reason);
      if (s) queueMicrotask(() => seam.close(s, code, reason, ws));
    },
    // The runtime answers `{"t":"ping"}` itself (auto-response) without waking the object: its
    // timestamp is how the `expect` policy and the idle timeout learn about those pings.
    lastPing: (ws) => ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime(),
    persist(ws, snapshot) {
      try {
        ws.serializeAttachment(snapshot);
      } catch (error) {
        // Attachments hold at most 16 KiB: keep the session without its upgrade headers, and say so.
        ws.serializeAttachment({ ...snapshot, headers: [] });
        throw new WirehubError("too_large", "session snapshot is over the 16 KiB attachment limit; stored without headers", { cause: error });
      }
    },
  };
  const seam = hub.attach(driver) as unknown as Seam<unknown, HibernatableWebSocket>;
  const clock = deadlines(hub, ctx.storage);

  /**
   * workerd quirk (seen in workerd 1.20260730 under miniflare; not checked on Cloudflare's edge):
   * when the first frame a client ever sends on a hibernatable socket is its answer to our close,
   * the pump that feeds the socket forwards that close and then keeps reading from the client
   * (kj's WebSocket pipe does so after a first message), so the TCP connection stays open and the
   * client's close event comes only when the object is evicted. Clients that sent anything
   * earlier are not affected. So before closing a socket we have not heard from, ask for one
   * frame: envelope clients answer `{"t":"ping"}` with a pong, sent before their close answer;
   * raw clients answer the hub's `rawPing` text when it has one. A client that answers nothing
   * still gets the close frame; only its close event waits.
   */
  const nudge = (ws: HibernatableWebSocket, mode: string): void => {
    if (heard.has(ws) || ctx.getWebSocketAutoResponseTimestamp(ws) !== null || ws.readyState !== OPEN) return;
    const text = mode === "envelope" ? '{"t":"ping"}' : hub.options.rawPing?.ping;
    if (text !== undefined) ws.send(text);
  };
  if (options.autoPong ?? hub.options.mode !== "raw") {
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair('{"t":"ping"}', '{"t":"pong"}'));
  }

  const restore = (): void => {
    if (restored) return;
    restored = true;
    for (const ws of ctx.getWebSockets(TAG)) {
      if (sessions.has(ws)) continue;
      const s = seam.restore(ws, ws.deserializeAttachment());
      if (s) sessions.set(ws, s);
    }
  };
  const sessionOf = (ws: HibernatableWebSocket): Session<unknown> | undefined => {
    restore();
    const s = sessions.get(ws);
    // Only a socket whose snapshot could not be stored gets here: without it the session is unknown.
    if (!s && ws.readyState === OPEN) ws.close(1011, "session state lost");
    return s;
  };

  return {
    restore,
    async fetch(request) {
      restore();
      if (request.headers.has(ROOM_EVENT_HEADER)) return receiveRoomEvent(hub, request, options.roomSecret);
      if (options.request && request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
        const answer = await options.request(request, hub);
        if (answer) return answer;
      }
      const r = await seam.upgrade(request, { remoteAddress: request.headers.get("cf-connecting-ip") ?? "" });
      if (r instanceof Response) return r;
      const pair = new WebSocketPair();
      ctx.acceptWebSocket(pair[1], [TAG, `${TAG}:${r.id}`]);
      const o: NonNullable<typeof opening> = (opening = { ws: pair[1], mode: r.mode });
      let s: Session<unknown>;
      try {
        s = seam.open(pair[1], r); // frames sent before the 101 is returned are queued
      } finally {
        opening = undefined;
      }
      const early = o.close;
      if (early) {
        queueMicrotask(() => seam.close(s, early.code, early.reason, pair[1])); // as `driver.close` does
      } else {
        sessions.set(pair[1], s);
        try {
          await clock.opened(s);
        } catch (error) {
          seam.error(s, error); // the session works; only its deadlines wait for the next alarm
        }
      }
      const headers = r.responseHeaders ? new Headers(r.responseHeaders) : new Headers();
      if (r.protocol) headers.set("Sec-WebSocket-Protocol", r.protocol);
      return new Response(null, { status: 101, webSocket: pair[0], headers } as ResponseInit);
    },
    webSocketMessage(ws, message) {
      heard.add(ws);
      const s = sessionOf(ws);
      if (s) seam.message(s, message, ws);
    },
    webSocketClose(ws, code, reason) {
      const s = sessions.get(ws) ?? (restore(), sessions.get(ws));
      sessions.delete(ws);
      // The Hibernation API leaves the answering close frame to us on every compatibility date.
      // 1005/1006/1015 describe a close but may not be sent.
      try {
        ws.close(code === 1005 || code === 1006 || code === 1015 ? 1000 : code, reason);
      } catch {
        // already closed: nothing to answer
      }
      if (s) seam.close(s, code, reason, ws);
    },
    webSocketError(ws, error) {
      const s = sessions.get(ws) ?? (restore(), sessions.get(ws));
      seam.error(s, error);
      if (s && ws.readyState !== OPEN) {
        sessions.delete(ws);
        seam.close(s, 1006, "", ws);
      }
    },
    async alarm() {
      restore();
      await clock.ring();
    },
  };
}

/** A Durable Object serving one hub: what {@link createDurableObject} makes. */
export interface HubObject<D = SessionData, E = unknown> extends Omit<DurableObjectHandler, "restore"> {
  /** This object's hub (rebuilt from the sockets after every wake). */
  readonly hub: Hub<D, any>;
  /** The object's state, as the runtime passed it. */
  readonly ctx: DurableObjectStateLike;
  /** The Worker's bindings. */
  readonly env: E;
  /**
   * Alarm handler: rebuilds the sessions, checks the hub's deadlines and sets the alarm to the
   * next one. An object has a single alarm, and the hub sets it while a session has a deadline
   * (ping policy, idle or auth timeout). To schedule work of your own, override this, call
   * `super.alarm()`, then set the earlier of your time and `await ctx.storage.getAlarm()`.
   */
  alarm(): Promise<void>;
}

/** The class {@link createDurableObject} returns; export it under the `class_name` of your wrangler config. */
export type HubObjectClass<D = SessionData, E = unknown> = new (ctx: DurableObjectStateLike, env: E) => HubObject<D, E>;

/**
 * Make a Durable Object class around a hub factory. The factory runs once per object instance,
 * that is again after every wake, so build the hub inside it (workerd forbids random ids at
 * module scope anyway); sessions come back from the sockets, not from the factory. `options`
 * may be a function of the bindings (to read `roomSecret` from `env`).
 */
export function createDurableObject<D = SessionData, E = unknown>(
  factory: (ctx: DurableObjectStateLike, env: E) => Hub<D, any>,
  options: DurableObjectOptions | ((env: E) => DurableObjectOptions) = {},
): HubObjectClass<D, E> {
  return class implements HubObject<D, E> {
    readonly hub: Hub<D, any>;
    readonly ctx: DurableObjectStateLike;
    readonly env: E;
    readonly #h: DurableObjectHandler;
    constructor(ctx: DurableObjectStateLike, env: E) {
      this.ctx = ctx;
      this.env = env;
      this.hub = factory(ctx, env);
      this.#h = createHandler(this.hub, ctx, typeof options === "function" ? options(env) : options);
    }
    fetch(request: Request): Promise<Response> {
      return this.#h.fetch(request);
    }
    webSocketMessage(ws: HibernatableWebSocket, message: string | ArrayBuffer): void {
      this.#h.webSocketMessage(ws, message);
    }
    webSocketClose(ws: HibernatableWebSocket, code: number, reason: string, wasClean?: boolean): void {
      this.#h.webSocketClose(ws, code, reason, wasClean);
    }
    webSocketError(ws: HibernatableWebSocket, error: unknown): void {
      this.#h.webSocketError(ws, error);
    }
    alarm(): Promise<void> {
      return this.#h.alarm();
    }
  };
}

/** Options of {@link routeToRoom}. */
export interface RouteOptions {
  /** Path prefix before the room name. Default `"/room/"`: `/room/lobby` goes to the object named `lobby`. */
  readonly prefix?: string;
  /** Choose the object name yourself (replaces `prefix`); `undefined` or `""` answers 404. */
  readonly name?: (request: Request, url: URL) => string | undefined;
}

/**
 * In the Worker: send a request to the Durable Object named by its URL (one hub per room), or
 * 404. A request carrying {@link ROOM_EVENT_HEADER} gets 403: room events come from
 * `broadcastToRoom`, in code that holds the binding, never from outside.
 */
export async function routeToRoom(request: Request, namespace: DurableObjectNamespaceLike, options: RouteOptions = {}): Promise<Response> {
  if (request.headers.has(ROOM_EVENT_HEADER)) return new Response("forbidden", { status: 403 });
  const url = new URL(request.url);
  let name: string | undefined;
  if (options.name) name = options.name(request, url);
  else {
    const prefix = options.prefix ?? "/room/";
    if (url.pathname.startsWith(prefix)) {
      try {
        name = decodeURIComponent(url.pathname.slice(prefix.length).split("/")[0]!);
      } catch {
        name = undefined; // malformed escapes name no room
      }
    }
  }
  if (!name) return new Response("no such room", { status: 404 });
  // workerd throws on forwarding a non-GET WebSocket upgrade to an object ("WebSocket must be
  // initiated with a GET request"): answer malformed handshakes here, as the hub would.
  if (request.headers.has("upgrade")) {
    const bad = badHandshake(request);
    if (bad) return bad;
  }
  return namespace.get(namespace.idFromName(name)).fetch(request);
}
