/**
 * The hub: sessions, groups, sending, and the seam adapters plug into.
 * @module
 */
import type { AskInput, AskOutput, AskedMethod, EventKey, EventPayload, HandledMethod, HandlerInput, HandlerOutput } from "./api.ts";
import { askAll, fetchSessions, toInstances, type AskAllAnswer, type AskAllOptions, type InstanceAnswer, type InstanceListener, type SessionInfo, type SessionQuery } from "./across.ts";
import { MemoryBroker, type BrokerLink } from "./broker.ts";
import { brokerNode, Cluster } from "./cluster.ts";
import type { EventListener, HandlerOptions, RequestHandler } from "./dispatch.ts";
import { WirehubError } from "./errors.ts";
import { deliver, elsewhere, eventPacket, hostTopic } from "./fanout.ts";
import { inbound } from "./inbound.ts";
import { closedSession, finishSession, openSession, restoreSession } from "./lifecycle.ts";
import { Liveness } from "./liveness.ts";
import { newMetrics, type Metrics } from "./limits.ts";
import type { HubCloseOptions, HubOptions, Seam } from "./options.ts";
import { Presence } from "./presence.ts";
import { resumeSettings, ringPush, type ResumeOptions } from "./resume.ts";
import { newId } from "./ids.ts";
import { encodeFrame } from "./protocol.ts";
import { takeSnapshot } from "./snapshot.ts";
import { CLOSED, DETACHED, OPEN, type Session, type SessionData } from "./session.ts";
import { admit } from "./upgrade.ts";
import type { Driver, SendStatus, Target } from "./types.ts";
import { asList } from "./wire.ts";

/**
 * A hub owns sessions and groups. Create one with {@link createHub}, then give it to an adapter.
 * `D` types `session.data`; `A` (an API description, see `api.ts`) types handlers and events.
 */
export class Hub<D = SessionData, A = unknown> {
  /** This hub's instance id (used by brokers). */
  readonly id: string = newId();
  /** Open sessions by id. */
  readonly sessions: Map<string, Session<D>> = new Map();
  /** Presence lists and private messages. */
  readonly presence: Presence<D>;
  /** Ping policies and idle timeout. Hibernating hosts call `liveness.sweep(Date.now())` from an alarm. */
  readonly liveness: Liveness<D>;
  /** Counters: sessions, messages and bytes in/out, drops, errors, closes by code. */
  readonly metrics: Metrics = newMetrics();
  /** @internal sessions per remote address, when `maxSessionsPerAddress` is set */
  readonly perAddress: Map<string, number> = new Map();
  /** @internal */ readonly options: HubOptions<D>;
  /** @internal */ readonly requestTimeout: number;
  /** @internal */ readonly handlers: Map<string, { fn: RequestHandler<D>; opts: HandlerOptions }> = new Map();
  /** @internal */ readonly listeners: Map<string, { fn: EventListener<D>; opts: HandlerOptions }> = new Map();
  /** @internal listeners of other instances' events ({@link onInstance}) */ readonly instanceListeners: Map<string, InstanceListener> = new Map();
  /** @internal */ readonly groupMap: Map<string, Set<Session<D>>> = new Map();
  /**
   * @internal each group's name as first joined: every member keeps this one string, not its
   * own copy (names from client frames or string building are a new string per session)
   */
  readonly groupKeys: Map<string, string> = new Map();
  /** @internal */ driver: Driver | undefined;
  /** @internal resume settings, undefined when off */ readonly resume: Required<ResumeOptions> | undefined;
  /** @internal resume token → session */ readonly tokens: Map<string, Session<D>> = new Map();
  /** @internal sessions that keep a replay buffer */ rings = 0;
  /**
   * @internal whether sessions are subscribed to the host's everyone topic: not until the first
   * send to everyone, so a hub that never sends one costs no host subscription per session
   */
  everyoneTopic = false;
  /** @internal cluster-wide presence and resume; set when a broker with a store was given */
  readonly cluster: Cluster<D> | undefined;
  #seq = 0;
  /** @internal the session being rebuilt from a snapshot right now */
  restoring: Session<D> | undefined;
  #sends = 0;
  /** @internal */ readonly link: BrokerLink;
  /** @internal whether a broker was given (then sessions get their own topic) */
  readonly sharedBroker: boolean;
  #closing = false;

  /** A hub with these options; {@link createHub} is the same, with types for an API description. */
  constructor(options: HubOptions<D> = {}) {
    this.options = options;
    this.requestTimeout = options.requestTimeout ?? 10_000;
    this.resume = resumeSettings(options.resume);
    this.presence = new Presence(this);
    this.liveness = new Liveness(this);
    this.sharedBroker = options.broker !== undefined;
    this.link = (options.broker ?? new MemoryBroker()).connect(brokerNode(this));
    if (this.sharedBroker) this.link.subscribe("all");
    this.cluster = this.sharedBroker && this.link.store ? new Cluster(this, this.link, this.link.store) : undefined; // a private broker has nobody to share with
    this.cluster?.start();
  }

  /**
   * Register a request handler by name (`create/user`). It returns the answer (or a promise),
   * or throws a `WirehubError` to answer with its code. Replaces an earlier one.
   */
  handle<M extends HandledMethod<A>>(name: M, fn: (input: HandlerInput<A, M>, session: Session<D>) => HandlerOutput<A, M>, opts: HandlerOptions = {}): this {
    this.handlers.set(name, { fn: fn as RequestHandler<D>, opts });
    return this;
  }

  /** Register a listener for an envelope event the clients send. Replaces an earlier one. */
  on<E extends EventKey<A>>(event: E, fn: (data: EventPayload<A, E>, session: Session<D>) => unknown, opts: HandlerOptions = {}): this {
    this.listeners.set(event, { fn: fn as EventListener<D>, opts });
    return this;
  }

  /** Ask one client a question (a server→client request) and await its typed answer. */
  ask<M extends AskedMethod<A>>(session: Session<D>, method: M, input: AskInput<A, M>, options?: { timeout?: number }): Promise<AskOutput<A, M>> {
    return session.request<AskOutput<A, M>>(method, input, options);
  }

  /** Ask every open envelope session `target` names (everyone by default), here and on every other instance (a broker with a store): one answer per session, a value or an error; never rejects (Socket.IO's `emitWithAck` to many). */
  askAll<M extends AskedMethod<A>>(method: M, input: AskInput<A, M>, target: AskAllOptions = {}): Promise<AskAllAnswer<AskOutput<A, M>>[]> {
    return askAll(this, method, input, target) as Promise<AskAllAnswer<AskOutput<A, M>>[]>;
  }

  /** Describe every session `query` names (everyone by default), open or detached, here and on every other instance (Socket.IO's `fetchSockets`); act on one anywhere by its id (`emit` with `to`, `join`, `leave`, `drop`). */
  fetchSessions(query: SessionQuery = {}): Promise<SessionInfo<D>[]> {
    return fetchSessions(this, query);
  }

  /** Listen to an event other instances send with {@link toInstances} (Socket.IO's `serverSideEmit`); what it returns (or resolves to) is the answer. Replaces an earlier one. */
  onInstance(event: string, fn: InstanceListener): this {
    this.instanceListeners.set(event, fn);
    return this;
  }

  /** Send an event to every other instance (a broker with a store) and await each one's answer, up to `timeout` ms (default `requestTimeout`); never rejects; `[]` without a cluster. */
  toInstances(event: string, data?: unknown, options: { readonly timeout?: number } = {}): Promise<InstanceAnswer[]> {
    return toInstances(this, event, data, options.timeout ?? this.requestTimeout);
  }

  /** Send an event to a target (everyone by default), encoded once for all recipients. */
  emit<E extends EventKey<A>>(event: E, data: EventPayload<A, E>, target: Target = {}): void {
    const to = target.to === undefined ? undefined : asList(target.to);
    const except = asList(target.except);
    const n = ++this.#sends;
    const v = target.volatile;
    deliver(this, event, data, to, target.group, except, this.rings > 0 ? this.id + "." + n : undefined, v); // keys only matter to replay buffers
    if (to) {
      for (const id of to) {
        if (!this.sessions.has(id)) this.link.publish("s:" + id, eventPacket(this.id, event, data, target.group, except, n, v));
      }
    } else {
      this.link.publish(target.group === undefined ? "all" : "g:" + target.group, eventPacket(this.id, event, data, target.group, except, n, v));
    }
  }

  /** Send a payload with the event name `"message"` (raw sessions get the payload as is). */
  send(data: unknown, target: Target = {}): void {
    (this as Hub<D, any>).emit("message", data, target);
  }

  /** The session with this id, if it is open on this hub. */
  get(id: string): Session<D> | undefined {
    return this.sessions.get(id);
  }

  /** Members of a group on this hub (empty when the group does not exist). */
  members(group: string): ReadonlySet<Session<D>> {
    return this.groupMap.get(group) ?? EMPTY_SET;
  }

  /** Names of the groups that have members on this hub. */
  groups(): IterableIterator<string> {
    return this.groupMap.keys();
  }

  /**
   * Put a session (or a session id) in a group. O(1). Tells the group's presence. With a broker,
   * an id held by another instance joins there (Socket.IO's `socketsJoin`).
   */
  join(session: Session<D> | string, group: string): void {
    const s = typeof session === "string" ? this.sessions.get(session) : session;
    if (!s) return elsewhere(this, session as string, "join", group);
    if (s.state === CLOSED) return;
    let members = this.groupMap.get(group);
    if (!s.addGroup(members ? this.groupKeys.get(group)! : group)) return;
    if (!members) {
      this.groupMap.set(group, (members = new Set()));
      this.groupKeys.set(group, group);
      this.link.subscribe("g:" + group);
    }
    members.add(s);
    if (s.authenticated && s.open) this.driver?.subscribe?.(s.socket, hostTopic(s.mode, group));
    this.presence.joined(s, group);
    this.persist(s);
  }

  /** Take a session (or session id, on any instance) out of a group; an empty group disappears. O(1). */
  leave(session: Session<D> | string, group: string): void {
    const s = typeof session === "string" ? this.sessions.get(session) : session;
    if (!s) return elsewhere(this, session as string, "leave", group);
    if (!s.removeGroup(group)) return;
    const members = this.groupMap.get(group);
    // Not a member here: a closed session's record of the groups it was in (see finishSession).
    if (!members?.delete(s)) return;
    if (members.size === 0) {
      this.groupMap.delete(group);
      this.groupKeys.delete(group);
      this.link.unsubscribe("g:" + group);
    }
    if (s.state === OPEN) this.driver?.unsubscribe?.(s.socket, hostTopic(s.mode, group));
    this.presence.left(s, group, s.publicInfo);
    this.persist(s);
  }

  /** Close a session by id with a code and reason. Returns whether it was found on this hub. */
  drop(id: string, code: number = 1000, reason: string = ""): boolean {
    const s = this.sessions.get(id);
    if (s) {
      s.close(code, reason);
      return true;
    }
    this.link.publish("s:" + id, { o: this.id, k: "close", e: reason, f: code });
    return false;
  }

  /** Resolves once the broker has every subscription asked for so far: joins before it are effective cluster-wide. */
  async brokerReady(): Promise<void> {
    await this.link.ready?.();
  }

  /** Whether {@link close} has been called. */
  get closing(): boolean {
    return this.#closing;
  }

  /**
   * Graceful shutdown: refuse new upgrades (503), send envelope sessions a `bye` frame, close
   * every session with 1001, wait (bounded) for them to close, then release the broker.
   */
  async close(options: HubCloseOptions = {}): Promise<void> {
    this.#closing = true;
    this.liveness.stop();
    this.cluster?.stop();
    const code = options.code ?? 1001;
    const reason = options.reason ?? "server shutting down";
    const waits: Promise<void>[] = [];
    for (const s of [...this.sessions.values()]) {
      if (s.state === DETACHED) {
        this.finish(s, code, reason);
        continue;
      }
      if (s.mode === "envelope") s.sendRaw(encodeFrame("bye", { c: code, r: reason }));
      waits.push(new Promise<void>((r) => (s.onClosed = r)));
      s.close(code, reason);
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([Promise.all(waits), new Promise<void>((r) => (timer = setTimeout(r, options.timeout ?? 5000)))]);
    clearTimeout(timer);
    // Sessions whose host never reported the close are finished here, so hooks run once each.
    for (const s of [...this.sessions.values()]) this.finish(s, 1006, "");
    await this.link.close();
  }

  /** Connect an adapter's driver and get the seam it calls. One driver per hub. */
  attach<S>(driver: Driver<S>): Seam<D, S> {
    if (this.driver && this.driver !== driver) throw new WirehubError("unavailable", "this hub is already attached to a host: make its handler (createHandler, serve) once and reuse it");
    this.driver = driver as Driver;
    if (!driver.capabilities.hibernation) this.liveness.start();
    return {
      upgrade: (req, info) => admit(this, req, info ?? {}),
      open: (socket, adm) => openSession(this, socket, adm),
      restore: (socket, snap) => restoreSession(this, socket, snap),
      message: (s, data, socket) => {
        if (socket === undefined || socket === s.socket) inbound(this, s, data);
      },
      close: (s, code, reason, socket) => {
        if (socket === undefined || socket === s.socket) closedSession(this, s, code, reason);
      },
      pong: (s) => this.liveness.ponged(s),
      ping: (s) => this.liveness.pinged(s),
      error: (s, e) => this.report(e, s),
    };
  }

  /** @internal the attached driver; throws before attach */
  driverOf(): Driver {
    if (!this.driver) throw new WirehubError("unavailable", "hub is not attached to a host");
    return this.driver;
  }

  /** @internal write one frame to one session; `seq` marks a replayable frame, `key` names its send cluster-wide */
  writeFrame(s: Session<D>, frame: string | Uint8Array, seq?: number, key?: string): SendStatus {
    if (seq !== undefined && s.ring) ringPush(s, seq, frame as string, this.resume!.maxFrames, key);
    if (s.state === DETACHED) return "queued";
    const d = this.driver!;
    // Only a socket whose last send was queued can be over the bound: ask the host then.
    if (s.congested && d.bufferedAmount && d.bufferedAmount(s.socket) > (this.options.backpressure?.maxBuffered ?? 1 << 20)) {
      this.metrics.dropped++;
      if ((this.options.backpressure?.policy ?? "close") === "close") s.close(1013, "send buffer overflow");
      else if (this.options.dropped) this.safely(s, () => this.options.dropped!(s, frame));
      return "dropped";
    }
    let status: SendStatus;
    try {
      status = d.send(s.socket, frame);
    } catch (error) {
      this.report(error, s);
      status = "dropped";
    }
    s.congested = status === "queued";
    if (status === "dropped") this.metrics.dropped++;
    else {
      this.metrics.messagesOut++;
      this.metrics.bytesOut += typeof frame === "string" ? frame.length : frame.byteLength;
    }
    return status;
  }

  /** @internal hand an open session's snapshot to a host that keeps it (hibernation); never throws */
  persist(s: Session<D>): void {
    const d = this.driver;
    if (!d?.persist || s.state !== OPEN || s === this.restoring) return;
    try {
      d.persist(s.socket, takeSnapshot(s));
      s.savedSeen = s.lastSeen;
      s.savedPing = s.lastPing;
    } catch (error) {
      this.report(error, s);
    }
  }

  /** @internal the sequence number of the next replayable frame; none while no session keeps a buffer */
  nextSeq(): number | undefined {
    return this.rings > 0 ? ++this.#seq : undefined;
  }

  /** @internal the number of a new send from this hub (with the hub id, its key cluster-wide) */
  nextKey(): number {
    return ++this.#sends;
  }

  /** @internal the last sequence number this hub gave out */
  get lastSeq(): number {
    return this.#seq;
  }

  /** @internal continue numbering above `seq` (a session handed over from an instance that numbered up to it) */
  seqFloor(seq: number): void {
    this.#seq = Math.max(this.#seq, seq);
  }

  /** @internal a new resume token for `s` (the old one stops working) */
  issueToken(s: Session<D>): string {
    if (s.resumeToken) this.tokens.delete(s.resumeToken);
    // The session id leads the token so that another instance of a cluster knows whom to claim it from.
    const t = s.id + "." + newId();
    this.tokens.set(t, s);
    s.resumeToken = t;
    return t;
  }

  /** @internal report an error to the error hook; never throws */
  report(error: unknown, session?: Session<D>): void {
    this.metrics.errors++;
    try {
      this.options.error?.(error, session);
    } catch {
      // the error hook itself failed: nothing sensible is left to tell
    }
  }

  /** @internal a hook's rejection to the error hook (a closure in a hot caller costs each call a scope) */
  reportRejection(p: Promise<unknown>, session: Session<D> | undefined): void {
    p.catch((e) => this.report(e, session));
  }

  /** @internal run a user hook, sending sync throws and rejections to the error hook */
  safely(session: Session<D> | undefined, fn: () => unknown): void {
    try {
      const r = fn();
      if (r instanceof Promise) this.reportRejection(r, session);
    } catch (error) {
      this.report(error, session);
    }
  }

  /** @internal end a session for good: groups, presence, pending requests, the close hook */
  finish(s: Session<D>, code: number, reason: string): void {
    finishSession(this, s, code, reason);
  }
}

const EMPTY_SET: ReadonlySet<never> = new Set();

/**
 * Create a hub. Give it to an adapter (`serve(hub)` from `wirehub/bun`, …) to accept connections.
 * `createHub<Data, Api>()` types session data and, from an API description, handlers and events.
 */
export function createHub<D = SessionData, A = unknown>(options: HubOptions<D> = {}): Hub<D, A> {
  return new Hub<D, A>(options);
}

export type { Admission, UpgradeResult } from "./upgrade.ts";
export type { GroupAction, GuardedCall, HubCloseOptions, HubOptions, Seam } from "./options.ts";
