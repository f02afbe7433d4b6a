/**
 * Asking many clients at once (`hub.askAll`, Socket.IO's `emitWithAck` to a room): a
 * server→client request to every open envelope session a target names, on this hub and, on a
 * cluster, on every other instance; one answer per session asked, each a value or an error.
 *
 * Across instances the asking hub reads the list of instances from the store, publishes one `ask`
 * packet on each other instance's own topic (`n:<id>`), and each of them asks its own sessions
 * and replies with their answers once all are in (or timed out). An instance that does not reply
 * within the clients' timeout plus {@link ASK_GRACE_MS} adds nothing.
 * @module
 */
import type { Packet } from "./broker.ts";
import { ClosedError, RemoteError, TimeoutError, WirehubError } from "./errors.ts";
import { framePayload, toBase64 } from "./protocol.ts";
import { OPEN, type Session } from "./session.ts";
import { asList, bytesOf } from "./wire.ts";
import type { Hub } from "./hub.ts";

/** How much longer than the clients' timeout the asking instance waits for another instance's reply. */
const ASK_GRACE_MS = 2_000;

/** One session's answer to `hub.askAll`: the value it answered with, or why there is none. */
export type AskAllAnswer<T = unknown> =
  | { readonly id: string; readonly ok: true; readonly value: T }
  /** `TimeoutError` (no answer in time), `RemoteError` (the client's error and its code), `ClosedError` (the session ended first). */
  | { readonly id: string; readonly ok: false; readonly error: WirehubError };

/** Whom `hub.askAll` asks (every open envelope session by default) and how long each may take. */
export interface AskAllOptions {
  /** One session id, or a list of them. */
  readonly to?: string | readonly string[];
  /** A group name. Combined with `to`, only ids that are also members are asked. */
  readonly group?: string;
  /** Session ids not to ask. */
  readonly except?: string | readonly string[];
  /** Milliseconds each client has to answer. Default: the hub's `requestTimeout` (10 000). */
  readonly timeout?: number;
}

/** An answer as it travels between instances: `c` (error code) marks an error. */
interface WireAnswer {
  readonly i: string;
  readonly d?: unknown;
  readonly b?: string;
  readonly c?: string;
  readonly m?: string;
  readonly x?: unknown;
}

/** Ask the sessions `target` names on this hub and, on a cluster, on the other instances. */
export async function askAll<D>(hub: Hub<D, any>, method: string, input: unknown, target: AskAllOptions): Promise<AskAllAnswer[]> {
  const ms = target.timeout ?? hub.requestTimeout;
  const here = askHere(hub, method, input, target, ms);
  // Ids all held here need nobody else.
  const elsewhere = hub.cluster && !(target.to !== undefined && asList(target.to).every((id) => hub.sessions.has(id)));
  if (!elsewhere) return here;
  const [mine, theirs] = await Promise.all([here, askOthers(hub, method, input, target, ms)]);
  return mine.concat(theirs);
}

/** Ask the open, authenticated envelope sessions of this hub that `target` names. */
function askHere<D>(hub: Hub<D, any>, method: string, input: unknown, target: AskAllOptions, ms: number): Promise<AskAllAnswer[]> {
  const except = new Set(asList(target.except));
  const group = target.group;
  const asked: Session<D>[] = [];
  const consider = (s: Session<D> | undefined): void => {
    if (s && s.state === OPEN && s.mode === "envelope" && s.authenticated && !except.has(s.id)) asked.push(s);
  };
  if (target.to !== undefined) {
    for (const id of asList(target.to)) {
      const s = hub.sessions.get(id);
      if (group === undefined || s?.inGroup(group)) consider(s);
    }
  } else for (const s of group === undefined ? hub.sessions.values() : hub.members(group)) consider(s);
  return Promise.all(asked.map((s) =>
    s.request(method, input, { timeout: ms }).then(
      (value): AskAllAnswer => ({ id: s.id, ok: true, value }),
      (error): AskAllAnswer => ({ id: s.id, ok: false, error: error instanceof WirehubError ? error : new RemoteError("handler_error", String(error)) }),
    )
  ));
}

/** Ask the other instances of the hub's cluster; their sessions' answers, in the order the replies came. */
async function askOthers<D>(hub: Hub<D, any>, method: string, input: unknown, target: AskAllOptions, ms: number): Promise<AskAllAnswer[]> {
  const cluster = hub.cluster!;
  let others: string[];
  try {
    others = (await cluster.instances()).map((e) => e.id).filter((id) => id !== hub.id);
  } catch (error) {
    hub.report(error); // the store is out of reach: only this instance's sessions are asked
    return [];
  }
  if (others.length === 0) return [];
  const bytes = bytesOf(input);
  const packet: Packet = {
    o: hub.id,
    k: "ask",
    e: method,
    ...(bytes ? { b: toBase64(bytes) } : { d: input }),
    g: target.group,
    x: asList(target.except),
    f: { to: target.to === undefined ? undefined : asList(target.to), ms },
  };
  const replies = await cluster.request(others.map((id) => ["n:" + id, 1]), packet, ms + ASK_GRACE_MS);
  return replies.flatMap((r) => (Array.isArray(r) ? (r as WireAnswer[]).map((a) => fromWire(a, method, ms)) : []));
}

/** Another instance's `ask` packet: ask this hub's sessions, then hand their answers to `reply`. */
export function answerAsk<D>(hub: Hub<D, any>, p: Packet, reply: (answers: WireAnswer[]) => void): void {
  const f = p.f as { to?: string[]; ms: number };
  askHere(hub, p.e!, framePayload(p), { to: f.to, group: p.g, except: p.x }, f.ms).then(
    (answers) => reply(answers.map(toWire)),
    (error) => (hub.report(error), reply([])),
  );
}

function toWire(a: AskAllAnswer): WireAnswer {
  if (!a.ok) return { i: a.id, c: a.error.code, m: a.error.message, x: a.error.data };
  const bytes = bytesOf(a.value);
  return bytes ? { i: a.id, b: toBase64(bytes) } : { i: a.id, d: a.value };
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
