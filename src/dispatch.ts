/**
 * What the hub does with each envelope frame a client sends.
 * @module
 */
import { ProtocolError, RemoteError, ValidationError, WirehubError, toWireError } from "./errors.ts";
import { encodeError, encodeFrame, framePayload, type ClientFrame, type FrameId } from "./protocol.ts";
import { authenticate } from "./auth.ts";
import type { Hub } from "./hub.ts";
import type { Session } from "./session.ts";

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

/** Run a validated handler; sync results stay sync so a fast handler answers in the same tick. */
function run<D>(_hub: Hub<D, any>, s: Session<D>, entry: { fn: (d: unknown, s: Session<D>) => unknown; opts: HandlerOptions }, input: unknown): Promise<unknown> | unknown {
  if (!entry.opts.schema) return entry.fn(input, s);
  return validate(entry.opts.schema, input).then((v) => entry.fn(v, s));
}

function answer<D>(_hub: Hub<D, any>, s: Session<D>, id: FrameId, value: unknown): void {
  s.sendRaw(encodeFrame("res", { id }, value));
}

function answerError<D>(hub: Hub<D, any>, s: Session<D>, id: FrameId | undefined, error: unknown, extra?: Record<string, unknown>): void {
  if (!(error instanceof WirehubError)) hub.report(error, s);
  const w = toWireError(error);
  s.sendRaw(encodeFrame("err", { id, c: w.code, m: w.message, d: w.data, ...extra }));
}

/** Answer `id` with the outcome of `work`, whether it is sync, async, or throws. */
function settle<D>(hub: Hub<D, any>, s: Session<D>, id: FrameId | undefined, work: () => unknown, extra?: Record<string, unknown>, done?: () => void): void {
  let r: unknown;
  try {
    r = work();
  } catch (error) {
    done?.();
    answerError(hub, s, id, error, extra);
    return;
  }
  if (r instanceof Promise) {
    r.then(
      (v) => id !== undefined && s.open && answer(hub, s, id, v),
      (e) => s.open ? answerError(hub, s, id, e, extra) : hub.report(e, s),
    ).finally(done);
  } else {
    done?.();
    if (id !== undefined) answer(hub, s, id, r);
  }
}

async function authorized<D>(hub: Hub<D, any>, s: Session<D>, action: Parameters<NonNullable<Hub<D, any>["options"]["authorize"]>>[1]): Promise<void> {
  const hook = hub.options.authorize;
  const ok = hook ? await hook(s, action) : action.type === "leave";
  if (!ok) throw new WirehubError("forbidden", action.type === "alias" ? "not allowed to change the alias" : `not allowed to ${action.type} "${action.group}"`);
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
      const entry = hub.listeners.get(f.e);
      if (entry && !entry.opts.schema) {
        // The common case without a schema, inline: no closure or error-detail object per event.
        let r: unknown;
        try {
          r = entry.fn(data, s);
        } catch (error) {
          answerError(hub, s, undefined, error, { e: f.e });
          return;
        }
        if (r instanceof Promise) r.then(undefined, (e) => s.open ? answerError(hub, s, undefined, e, { e: f.e }) : hub.report(e, s));
      } else if (entry) {
        settle(hub, s, undefined, () => run(hub, s, entry, data), { e: f.e });
      } else if (hub.options.message) {
        hub.guard(s, () => hub.options.message!(s, { event: f.e, data, mode: "envelope" }));
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
      const input = framePayload(f);
      if (!entry.opts.schema) {
        // A handler without a schema, inline: a sync answer goes out in this tick with no closures.
        let r: unknown;
        try {
          r = entry.fn(input, s);
        } catch (error) {
          answerError(hub, s, f.id, error);
          return;
        }
        if (!(r instanceof Promise)) return answer(hub, s, f.id, r);
        const id = f.id;
        s.inflight++;
        r.then((v) => s.open && answer(hub, s, id, v), (e) => s.open ? answerError(hub, s, id, e) : hub.report(e, s))
          .finally(() => s.inflight--);
        return;
      }
      s.inflight++;
      settle(hub, s, f.id, () => run(hub, s, entry, input), undefined, () => s.inflight--);
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
      if (t === "join" && !s.groups.has(g) && s.groups.size + s.joining >= maxGroups) {
        s.sendRaw(encodeError(f.id, "forbidden", `group limit reached (${maxGroups})`));
        return;
      }
      if (t === "join") s.joining++;
      settle(hub, s, f.id, () =>
        authorized(hub, s, { type: t, group: g }).then(() => {
          if (t === "join") hub.join(s, g);
          else hub.leave(s, g);
          return { g };
        }), undefined, t === "join" ? () => s.joining-- : undefined);
      return;
    }
    case "pub": {
      const { e, g } = f;
      const data = framePayload(f);
      settle(hub, s, f.id, () =>
        authorized(hub, s, { type: "publish", group: g ?? "", event: e }).then(() => {
          s.broadcast(e, data, g === undefined ? {} : { group: g });
          return { g: g ?? null };
        }));
      return;
    }
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
      hub.ack(s, f.s);
      return;
    case "auth":
      authenticate(hub, s, f.id, f.d).catch((e) => hub.report(e, s));
      return;
    case "set": {
      const { alias, available } = f;
      const maxAlias = hub.options.limits?.aliasLength ?? 64;
      if (typeof alias === "string" && alias.length > maxAlias) {
        s.sendRaw(encodeError(f.id, "bad_frame", `alias longer than ${maxAlias} characters`));
        return;
      }
      settle(hub, s, f.id, async () => {
        if (alias !== undefined) await authorized(hub, s, { type: "alias", group: "", alias });
        s.set({ alias, available });
        return { alias: s.alias ?? null, available: s.available };
      });
      return;
    }
    case "who": {
      const { g } = f;
      settle(hub, s, f.id, () => hub.presence.who(s, g));
      return;
    }
    case "dm": {
      const { to } = f;
      const data = framePayload(f);
      settle(hub, s, f.id, () => hub.presence.direct(s, to, data).then((n) => ({ n })));
      return;
    }
    default:
      throw new ProtocolError("unknown frame type", "unknown_type");
  }
}
