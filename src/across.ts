/**
 * What a hub asks of the sessions a target names on every instance of a cluster, not only its
 * own: `hub.askAll` (one server→client request to each, Socket.IO's `emitWithAck` to a room) and
 * `hub.fetchSessions` (what each is, Socket.IO's `fetchSockets`).
 *
 * The asking hub answers for its own sessions, reads the list of instances from the store,
 * publishes one packet (`ask` or `list`) on each other instance's own topic (`n:<id>`), and
 * each of them replies once its part is done: every answer of its sessions (after they
 * answered or timed out), or their descriptions. An instance that does not reply within
 * {@link GRACE_MS} (after the clients' timeout, for `ask`) adds nothing. A target of ids all
 * held here asks nobody else. `hub.toInstances` (Socket.IO's `serverSideEmit`) takes the same
 * way to each other instance's own listener (`srv`), and waits its own timeout.
 * @module
 */
import type { Packet } from "./broker.ts";
import { ClosedError, RemoteError, TimeoutError, WirehubError } from "./errors.ts";
import { payloadFields } from "./fanout.ts";
import { framePayload } from "./protocol.ts";
import { DETACHED, OPEN, type Session } from "./session.ts";
import type { Mode } from "./types.ts";
import { asList } from "./wire.ts";
import type { Hub } from "./hub.ts";

/** How long the asking instance waits for another instance's reply, beyond the clients' timeout. */
const GRACE_MS = 2_000;

/** Which sessions, on every instance: everyone by default. */
export interface SessionQuery {
  /** One session id, or a list of them. */
  readonly to?: string | readonly string[];
  /** A group name. Combined with `to`, only ids that are also members. */
  readonly group?: string;
  /** Session ids to leave out. */
  readonly except?: string | readonly string[];
}

/** Whom `hub.askAll` asks (every open, authenticated envelope session by default) and how long each may take. */
export interface AskAllOptions extends SessionQuery {
  /** Milliseconds each client has to answer. Default: the hub's `requestTimeout` (10 000). */
  readonly timeout?: number;
}

/** One session's answer to `hub.askAll`: the value it answered with, or why there is none. */
export type AskAllAnswer<T = unknown> =
  | { readonly id: string; readonly ok: true; readonly value: T }
  /** `TimeoutError` (no answer in time), `RemoteError` (the client's error and its code), `ClosedError` (the session ended first). */
  | { readonly id: string; readonly ok: false; readonly error: WirehubError };

/** A session as `hub.fetchSessions` describes it, wherever it is held. */
export interface SessionInfo<D = unknown> {
  /** The session id. */
  readonly id: string;
  /** The id of the hub (instance) that holds it. */
  readonly instance: string;
  /** `raw` or `envelope`. */
  readonly mode: Mode;
  /** `open`, or `detached` while it waits for its client to resume. */
  readonly state: "open" | "detached";
  /** Whether it has authenticated. */
  readonly authenticated: boolean;
  /** Its public alias, if any. */
  readonly alias: string | undefined;
  /** Whether it is available (sees presence, takes private messages). */
  readonly available: boolean;
  /** The groups it is in. */
  readonly groups: readonly string[];
  /** Its server-side data: the session's own object when held here; from elsewhere, what the broker carried (a JSON copy through Redis and NATS). */
  readonly data: D;
  /** The upgrade request's URL. */
  readonly url: string;
  /** The peer address the host reported, or `""`. */
  readonly remoteAddress: string;
  /** When it opened (ms since the epoch). */
  readonly openedAt: number;
}

/** Another instance's answer to `hub.toInstances`: what its listener returned, or why there is none. */
export type InstanceAnswer =
  | { readonly instance: string; readonly ok: true; readonly value: unknown }
  /** `RemoteError`: its code is `not_found` (no listener there) or the listener's error's (`handler_error` for one that is not a `WirehubError`). */
  | { readonly instance: string; readonly ok: false; readonly error: WirehubError };

/** A listener of other instances' events (`hub.onInstance`): its return value (or promise) is the answer. */
export type InstanceListener = (data: unknown, from: string) => unknown;

/** An answer as it travels between instances: `c` (error code) marks an error. */
interface WireAnswer {
  readonly i: string;
  readonly d?: unknown;
  readonly b?: string;
  readonly c?: string;
  readonly m?: string;
  readonly x?: unknown;
}

/** The sessions of this hub `q` names that pass `keep`. */
function pick<D>(hub: Hub<D, any>, q: SessionQuery, keep: (s: Session<D>) => boolean): Session<D>[] {
  const except = new Set(asList(q.except));
  const group = q.group;
  const out: Session<D>[] = [];
  const consider = (s: Session<D> | undefined): void => {
    if (s && !except.has(s.id) && keep(s)) out.push(s);
  };
  if (q.to !== undefined) {
    for (const id of asList(q.to)) {
      const s = hub.sessions.get(id);
      if (group === undefined || s?.inGroup(group)) consider(s);
    }
  } else for (const s of group === undefined ? hub.sessions.values() : hub.members(group)) consider(s);
  return out;
}

/** Whether `q` reaches beyond this hub: it has a cluster, and `q` is not a list of ids all held here. */
function reachesOthers<D>(hub: Hub<D, any>, q: SessionQuery): boolean {
  return hub.cluster !== undefined && !(q.to !== undefined && asList(q.to).every((id) => hub.sessions.has(id)));
}

/** Publish `packet` (plus the query) to every other instance and collect their replies, waiting `wait` ms at most. */
async function others<D>(hub: Hub<D, any>, q: SessionQuery, packet: Omit<Packet, "o" | "g" | "x">, wait: number): Promise<unknown[]> {
  let ids: string[];
  try {
    ids = (await hub.cluster!.instances()).map((e) => e.id).filter((id) => id !== hub.id);
  } catch (error) {
    hub.report(error); // the store is out of reach: only this instance's sessions count
    return [];
  }
  if (ids.length === 0) return [];
  const to = q.to === undefined ? undefined : asList(q.to);
  const full: Packet = { ...packet, o: hub.id, g: q.group, x: asList(q.except), f: { ...(packet.f as object), to } };
  return await hub.cluster!.request(ids.map((id) => ["n:" + id, 1]), full, wait);
}

/** `hub.askAll`: ask the sessions `q` names here and, on a cluster, on the other instances. */
export async function askAll<D>(hub: Hub<D, any>, method: string, input: unknown, q: AskAllOptions): Promise<AskAllAnswer[]> {
  const ms = q.timeout ?? hub.requestTimeout;
  const here = askHere(hub, method, input, q, ms);
  if (!reachesOthers(hub, q)) return here;
  const [mine, replies] = await Promise.all([here, others(hub, q, { k: "ask", e: method, ...payloadFields(input), f: { ms } }, ms + GRACE_MS)]);
  return mine.concat(replies.flatMap((r) => (Array.isArray(r) ? (r as WireAnswer[]).map((a) => fromWire(a, method, ms)) : [])));
}

/** `hub.toInstances`: hand `event` to every other instance's listener; their answers. */
export async function toInstances<D>(hub: Hub<D, any>, event: string, data: unknown, ms: number): Promise<InstanceAnswer[]> {
  if (!hub.cluster) return [];
  const replies = await others(hub, {}, { k: "srv", e: event, ...payloadFields(data), f: {} }, ms);
  return replies.flatMap((r) => (Array.isArray(r) ? (r as WireAnswer[]) : [])).map((a) => {
    const r = fromWire(a, event, ms);
    return r.ok ? { instance: a.i, ok: true, value: r.value } : { instance: a.i, ok: false, error: r.error };
  });
}

/** `hub.fetchSessions`: describe the sessions `q` names here and, on a cluster, on the other instances. */
export async function fetchSessions<D>(hub: Hub<D, any>, q: SessionQuery): Promise<SessionInfo<D>[]> {
  const mine = describeHere(hub, q);
  if (!reachesOthers(hub, q)) return mine;
  const replies = await others(hub, q, { k: "list", f: {} }, GRACE_MS);
  return mine.concat(replies.flatMap((r) => (Array.isArray(r) ? (r as SessionInfo<D>[]) : [])));
}

/** Another instance's `ask`, `list` or `srv` packet: do this hub's part, then hand the result to `reply`. */
export function answerOther<D>(hub: Hub<D, any>, p: Packet, reply: (result: unknown) => void): void {
  const f = p.f as { to?: string[]; ms?: number };
  if (p.k === "srv") return answerInstance(hub, p, reply);
  const q: SessionQuery = { to: f.to, group: p.g, except: p.x };
  if (p.k === "list") return reply(describeHere(hub, q)); // JSON leaves out an alias that is undefined
  askHere(hub, p.e!, framePayload(p), q, f.ms!).then(
    (answers) => reply(answers.map(toWire)),
    (error) => (hub.report(error), reply([])),
  );
}

/** Ask the open, authenticated envelope sessions of this hub that `q` names. */
function askHere<D>(hub: Hub<D, any>, method: string, input: unknown, q: SessionQuery, ms: number): Promise<AskAllAnswer[]> {
  const asked = pick(hub, q, (s) => s.state === OPEN && s.mode === "envelope" && s.authenticated);
  return Promise.all(asked.map((s) =>
    s.request(method, input, { timeout: ms }).then(
      (value): AskAllAnswer => ({ id: s.id, ok: true, value }),
      (error): AskAllAnswer => ({ id: s.id, ok: false, error: error instanceof WirehubError ? error : new RemoteError("handler_error", String(error)) }),
    )
  ));
}

/** Describe the open and detached sessions of this hub that `q` names. */
function describeHere<D>(hub: Hub<D, any>, q: SessionQuery): SessionInfo<D>[] {
  return pick(hub, q, (s) => s.live).map((s) => ({
    id: s.id,
    instance: hub.id,
    mode: s.mode,
    state: s.state === DETACHED ? "detached" : "open",
    authenticated: s.authenticated,
    alias: s.alias,
    available: s.available,
    groups: s.groupNames(),
    data: s.data,
    url: s.url,
    remoteAddress: s.remoteAddress,
    openedAt: s.openedAt,
  }));
}

/** Another instance's event: its listener's answer, as one wire answer in a list (named by this instance). */
function answerInstance<D>(hub: Hub<D, any>, p: Packet, reply: (result: unknown) => void): void {
  const id = hub.id;
  const fail = (error: unknown): void => {
    if (!(error instanceof WirehubError)) hub.report(error); // the details stay here
    reply([toWire({ id, ok: false, error: error instanceof WirehubError ? error : new RemoteError("handler_error", "internal error") })]);
  };
  const fn = hub.instanceListeners.get(p.e!);
  if (!fn) return fail(new RemoteError("not_found", `no instance listener for "${p.e}"`));
  try {
    Promise.resolve(fn(framePayload(p), p.o)).then((value) => reply([toWire({ id, ok: true, value })]), fail);
  } catch (error) {
    fail(error);
  }
}

function toWire(a: AskAllAnswer): WireAnswer {
  if (!a.ok) return { i: a.id, c: a.error.code, m: a.error.message, x: a.error.data };
  return { i: a.id, ...payloadFields(a.value) };
}

function fromWire(a: WireAnswer, method: string, ms: number): AskAllAnswer {
  if (a.c === undefined) return { id: a.i, ok: true, value: framePayload(a) };
  const error = a.c === "timeout"
    ? new TimeoutError(ms, `request "${method}"`)
    : a.c === "closed"
    ? new ClosedError(a.m)
    : new RemoteError(a.c, a.m ?? "", { data: a.x });
  return { id: a.i, ok: false, error };
}
