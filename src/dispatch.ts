/**
 * What the hub does with each envelope frame a client sends.
 * @module
 */
import { ProtocolError, RemoteError, ValidationError, WirehubError, toWireError } from "./errors.ts";
import { encodeError, encodeFrame, encodeResult, framePayload, type ClientFrame, type FrameId } from "./protocol.ts";
import { authenticate } from "./auth.ts";
import type { GuardedCall, Hub } from "./hub.ts";
import type { Session } from "./session.ts";
import type { Mode } from "./types.ts";
import { ringAck } from "./resume.ts";

/** The Standard Schema v1 interface (zod, valibot, arktype, …), declared here so none is a dependency. */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  /** The Standard Schema property. */
  readonly "~standard": {
    readonly version: 1;
    readonly vendor: string;
    validate(value: unknown):
      | { readonly value: Output; readonly issues?: undefined }
      | { readonly issues: ReadonlyArray<{ readonly message: string; readonly path?: ReadonlyArray<unknown> }> }
      | Promise<
        | { readonly value: Output; readonly issues?: undefined }
        | { readonly issues: ReadonlyArray<{ readonly message: string; readonly path?: ReadonlyArray<unknown> }> }
      >;
    readonly types?: { readonly input: Input; readonly output: Output };
  };
}

/** Options of a request handler or event listener. */
export interface HandlerOptions {
  /** A Standard Schema the input must pass; invalid input gets a `validation` error and the handler never runs. */
  readonly schema?: StandardSchemaV1;
}

/** A request handler: return the answer (or a promise of it), or throw a {@link WirehubError} to answer with its code. */
// deno-lint-ignore no-explicit-any
export type RequestHandler<D> = (input: any, session: Session<D>) => unknown;

/** An event listener for envelope events sent by clients. */
// deno-lint-ignore no-explicit-any
export type EventListener<D> = (data: any, session: Session<D>) => unknown;

/** Validate `input` against an optional schema; returns the (possibly transformed) value. */
export async function validate(schema: StandardSchemaV1 | undefined, input: unknown): Promise<unknown> {
  if (!schema) return input;
  const r = await schema["~standard"].validate(input);
  if (r.issues) {
    throw new ValidationError(r.issues.map((i) => ({ message: i.message, path: i.path?.map((p) => (typeof p === "object" && p !== null && "key" in p ? (p as { key: unknown }).key : p)) })));
  }
  return r.value;
}

/** The function a registered handler runs as: the handler itself, or, with a schema, validation first. */
function callable<D>(entry: { fn: (d: unknown, s: Session<D>) => unknown; opts: HandlerOptions }): (input: unknown, s: Session<D>) => unknown {
  return entry.opts.schema ? validating(entry.opts.schema, entry.fn) : entry.fn;
}

/** `fn` behind validation (apart from `callable`, which runs per frame: see settleLater). */
function validating<D>(schema: StandardSchemaV1, fn: (d: unknown, s: Session<D>) => unknown): (input: unknown, s: Session<D>) => unknown {
  return (input, s) => validate(schema, input).then((v) => fn(v, s));
}

function answer<D>(s: Session<D>, id: FrameId, value: unknown): void {
  s.sendRaw(encodeResult(id, value));
}

function answerError<D>(hub: Hub<D, any>, s: Session<D>, id: FrameId | undefined, error: unknown, event?: string): void {
  if (!(error instanceof WirehubError)) hub.report(error, s);
  const w = toWireError(error);
  s.sendRaw(encodeFrame("err", { id, c: w.code, m: w.message, d: w.data, e: event }));
}

const releaseRequest = (s: Session<any>): void => void s.inflight--;
const releaseJoin = (s: Session<any>): void => void s.joining--;

/**
 * Answer `id` (or, for an event, report failures tagged with `event`) with the outcome of
 * `fn(arg, s)`, whether it is sync, async, or throws. A sync result is answered in this tick.
 * `release` runs once the outcome is known. Called with module-level functions on the hot
 * paths, so an event or a request allocates no closure here.
 */
function settle<D, A>(
  hub: Hub<D, any>,
  s: Session<D>,
  id: FrameId | undefined,
  fn: (arg: A, s: Session<D>) => unknown,
  arg: A,
  event?: string,
  release?: (s: Session<D>) => void,
): void {
  let r: unknown;
  try {
    r = fn(arg, s);
  } catch (error) {
    release?.(s);
    answerError(hub, s, id, error, event);
    return;
  }
  if (r instanceof Promise) settleLater(hub, s, id, r, event, release);
  else {
    release?.(s);
    if (id !== undefined) answer(s, id, r);
  }
}

// Every closure of the frame path is made in a function of its own, never in `settle` or
// `dispatch`: JavaScript engines give a function whose locals a closure captures a scope object
// on every call, whether that call makes the closure or not.

/** {@link settle} once `fn`'s promise settles. */
function settleLater<D>(hub: Hub<D, any>, s: Session<D>, id: FrameId | undefined, r: Promise<unknown>, event?: string, release?: (s: Session<D>) => void): void {
  r.then(
    (v) => id !== undefined && s.open && answer(s, id, v),
    (e) => s.open ? answerError(hub, s, id, e, event) : hub.report(e, s),
  ).finally(release && (() => release(s)));
}

/**
 * The `message` hook (the caller checks there is one): for every raw frame, and for an envelope
 * event no listener takes. `hub.safely` without its closure, on the frame path.
 */
export function messageHook<D>(hub: Hub<D, any>, s: Session<D>, event: string, data: unknown, mode: Mode): void {
  try {
    const r = hub.options.message!(s, { event, data, mode });
    if (r instanceof Promise) hub.reportRejection(r, s);
  } catch (error) {
    hub.report(error, s);
  }
}

function joinOrLeave<D>(hub: Hub<D, any>, s: Session<D>, f: Extract<ClientFrame, { t: "join" | "leave" }>): void {
  const { g, t } = f;
  if (t === "join") s.joining++;
  settle(hub, s, f.id, () =>
    authorized(hub, s, { type: t, group: g }).then(() => {
      if (t === "join") hub.join(s, g);
      else hub.leave(s, g);
      return { g };
    }), undefined, undefined, t === "join" ? releaseJoin : undefined);
}

function publish<D>(hub: Hub<D, any>, s: Session<D>, f: Extract<ClientFrame, { t: "pub" }>): void {
  const { e, g } = f;
  const data = framePayload(f);
  settle(hub, s, f.id, () =>
    authorized(hub, s, { type: "publish", group: g ?? "", event: e }).then(() => {
      s.broadcast(e, data, g === undefined ? {} : { group: g });
      return { g: g ?? null };
    }), undefined);
}

function authFrame<D>(hub: Hub<D, any>, s: Session<D>, f: Extract<ClientFrame, { t: "auth" }>): void {
  authenticate(hub, s, f.id, f.d).catch((e) => hub.report(e, s));
}

function setFrame<D>(hub: Hub<D, any>, s: Session<D>, f: Extract<ClientFrame, { t: "set" }>): void {
  const { alias, available } = f;
  settle(hub, s, f.id, async () => {
    if (alias !== undefined) await authorized(hub, s, { type: "alias", group: "", alias });
    s.set({ alias, available });
    return { alias: s.alias ?? null, available: s.available };
  }, undefined);
}

function who<D>(hub: Hub<D, any>, s: Session<D>, f: Extract<ClientFrame, { t: "who" }>): void {
  const { g } = f;
  settle(hub, s, f.id, () => hub.presence.who(s, g), undefined);
}

function direct<D>(hub: Hub<D, any>, s: Session<D>, f: Extract<ClientFrame, { t: "dm" }>): void {
  const { to } = f;
  const data = framePayload(f);
  settle(hub, s, f.id, () => hub.presence.direct(s, to, data).then((n) => ({ n })), undefined);
}

async function authorized<D>(hub: Hub<D, any>, s: Session<D>, action: Parameters<NonNullable<Hub<D, any>["options"]["authorize"]>>[1]): Promise<void> {
  const hook = hub.options.authorize;
  const ok = hook ? await hook(s, action) : action.type === "leave";
  if (!ok) throw new WirehubError("forbidden", action.type === "alias" ? "not allowed to change the alias" : `not allowed to ${action.type} "${action.group}"`);
}

/** An event the guard let through: to its listener, else to the `message` hook, else `not_found` (as in {@link dispatch}). */
function event<D>(hub: Hub<D, any>, s: Session<D>, name: string, data: unknown): void {
  const entry = hub.listeners.get(name);
  if (entry) settle(hub, s, undefined, callable(entry), data, name);
  else if (hub.options.message) messageHook(hub, s, name, data, "envelope");
  else s.sendRaw(encodeFrame("err", { c: "not_found", m: `no listener for event "${name}"`, e: name }));
}

/** A request the guard let through: its handler (registered before the guard ran), already counted in flight. */
function request<D>(hub: Hub<D, any>, s: Session<D>, method: string, id: FrameId, data: unknown): void {
  settle(hub, s, id, callable(hub.handlers.get(method)!), data, undefined, releaseRequest);
}

/** Run the `guard` hook on an event or request, then the call itself unless it refuses. */
function guarded<D>(hub: Hub<D, any>, s: Session<D>, type: GuardedCall["type"], name: string, id: FrameId | undefined, data: unknown): void {
  let ok: unknown;
  try {
    ok = hub.options.guard!(s, { type, name, data });
  } catch (error) {
    return refused(hub, s, type, name, id, error);
  }
  if (ok instanceof Promise) guardLater(hub, s, type, name, id, data, ok);
  else afterGuard(hub, s, type, name, id, data, ok);
}

/** The guard answered `ok`: refuse on `false`, else run the call. */
function afterGuard<D>(hub: Hub<D, any>, s: Session<D>, type: GuardedCall["type"], name: string, id: FrameId | undefined, data: unknown, ok: unknown): void {
  if (ok === false) refused(hub, s, type, name, id, forbidden(type, name));
  else if (type === "event") event(hub, s, name, data);
  else request(hub, s, name, id!, data);
}

/** {@link guarded} once the hook's promise settles; nothing runs for a session closed meanwhile. */
function guardLater<D>(hub: Hub<D, any>, s: Session<D>, type: GuardedCall["type"], name: string, id: FrameId | undefined, data: unknown, p: Promise<unknown>): void {
  p.then(
    (ok) => {
      if (s.open) afterGuard(hub, s, type, name, id, data, ok);
      else if (type === "request") releaseRequest(s);
    },
    (error: unknown) => {
      if (s.open) return refused(hub, s, type, name, id, error);
      if (type === "request") releaseRequest(s);
      if (!(error instanceof WirehubError)) hub.report(error, s);
    },
  );
}

function forbidden(type: GuardedCall["type"], name: string): WirehubError {
  return new WirehubError("forbidden", type === "event" ? `not allowed to send event "${name}"` : `not allowed to call "${name}"`);
}

/** The `guard` hook refused (`false`, or `error` thrown): answer it, and free the request's slot. */
function refused<D>(hub: Hub<D, any>, s: Session<D>, type: GuardedCall["type"], name: string, id: FrameId | undefined, error: unknown): void {
  if (type === "request") releaseRequest(s);
  answerError(hub, s, id, error, type === "event" ? name : undefined);
}

const BEFORE_AUTH = new Set(["auth", "ping", "pong"]);

/** Handle one decoded frame from an envelope session. */
export function dispatch<D>(hub: Hub<D, any>, s: Session<D>, f: ClientFrame): void {
  if (!s.authenticated && !BEFORE_AUTH.has(f.t)) {
    s.sendRaw(encodeError("id" in f ? f.id : undefined, "auth_required", "authenticate first"));
    return;
  }
  switch (f.t) {
    case "evt": {
      const data = framePayload(f);
      if (hub.options.guard) return guarded(hub, s, "event", f.e, undefined, data);
      // The same routing as event(), inline: through that call, envelope echo on Bun took 2 % more CPU.
      const entry = hub.listeners.get(f.e);
      if (entry) {
        settle(hub, s, undefined, callable(entry), data, f.e);
      } else if (hub.options.message) {
        messageHook(hub, s, f.e, data, "envelope");
      } else {
        s.sendRaw(encodeFrame("err", { c: "not_found", m: `no listener for event "${f.e}"`, e: f.e }));
      }
      return;
    }
    case "req": {
      const entry = hub.handlers.get(f.m);
      if (!entry) {
        s.sendRaw(encodeError(f.id, "not_found", `no handler for "${f.m}"`));
        return;
      }
      const max = hub.options.limits?.inflight ?? 64;
      if (s.inflight >= max) {
        s.sendRaw(encodeError(f.id, "unavailable", `too many requests in flight (${max})`));
        return;
      }
      s.inflight++;
      if (hub.options.guard) guarded(hub, s, "request", f.m, f.id, framePayload(f));
      else settle(hub, s, f.id, callable(entry), framePayload(f), undefined, releaseRequest);
      return;
    }
    case "res":
      s.settle(f.id, true, framePayload(f));
      return;
    case "err":
      s.settle(f.id, false, new RemoteError(f.c, f.m, { data: f.d }));
      return;
    case "join":
    case "leave": {
      const { g, t } = f;
      const maxGroups = hub.options.limits?.groupsPerSession ?? 64;
      // Joins still waiting for `authorize` count too: a burst of joins must not slip past the cap.
      if (t === "join" && !s.inGroup(g) && s.groupCount + s.joining >= maxGroups) {
        s.sendRaw(encodeError(f.id, "forbidden", `group limit reached (${maxGroups})`));
        return;
      }
      joinOrLeave(hub, s, f);
      return;
    }
    case "pub":
      publish(hub, s, f);
      return;
    case "ping":
      hub.liveness.pinged(s);
      s.sendRaw(f.ts === undefined ? '{"t":"pong"}' : encodeFrame("pong", { ts: f.ts }));
      return;
    case "pong": {
      const now = Date.now();
      hub.liveness.ponged(s, now);
      if (f.ts !== undefined) s.rtt = Math.max(0, now - f.ts);
      return;
    }
    case "ack":
      ringAck(s, f.s);
      return;
    case "auth":
      authFrame(hub, s, f);
      return;
    case "set": {
      const { alias } = f;
      const maxAlias = hub.options.limits?.aliasLength ?? 64;
      if (typeof alias === "string" && alias.length > maxAlias) {
        s.sendRaw(encodeError(f.id, "bad_frame", `alias longer than ${maxAlias} characters`));
        return;
      }
      setFrame(hub, s, f);
      return;
    }
    case "who":
      who(hub, s, f);
      return;
    case "dm":
      direct(hub, s, f);
      return;
    default:
      throw new ProtocolError("unknown frame type", "unknown_type");
  }
}
