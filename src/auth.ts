/**
 * Authentication after connect (the `auth` frame) and its deadline.
 * @module
 */
import { WirehubError } from "./errors.ts";
import { encodeError, encodeResult, type FrameId } from "./protocol.ts";
import { hostSubscribe } from "./fanout.ts";
import type { Hub } from "./hub.ts";
import type { Session } from "./session.ts";

/** What the `authenticate` hook returns for good credentials. Every field is optional. */
export interface AuthResult<D> {
  /** Server-side session data; replaces `session.data` when given. Never sent to anyone. */
  readonly data?: D;
  /** Groups the session joins at once. */
  readonly groups?: readonly string[];
  /** Public alias others see; none (or `null`) leaves the session invisible and unable to message privately. */
  readonly alias?: string | null;
  /** Availability. Default `true`. */
  readonly available?: boolean;
  /** Public immutable data other clients may see next to the alias. */
  readonly publicData?: unknown;
  /** A client-side session object returned to this client only. */
  readonly client?: unknown;
}

/** Mark a session authenticated with `r` (from the auth frame or the upgrade hook). */
export function applyAuth<D>(hub: Hub<D, any>, s: Session<D>, r: Omit<AuthResult<D>, "client">): void {
  if (r.data !== undefined) s.data = r.data;
  s.authenticated = true;
  clearAuthTimer(s);
  hub.presence.identify(s, r.alias ?? undefined, r.available ?? true, r.publicData);
  hostSubscribe(hub, s);
  for (const g of r.groups ?? []) hub.join(s, g);
  hub.persist(s);
}

/**
 * Start the authentication deadline for a session that must authenticate. Hibernating hosts get
 * no timer: it would live in the instance's memory and be lost when the host evicts it, so there
 * the liveness sweep (run from the host's alarm) checks {@link authDeadline} instead.
 */
export function startAuthTimer<D>(hub: Hub<D, any>, s: Session<D>): void {
  if (hub.driver?.capabilities.hibernation) return;
  const ms = hub.options.authTimeout ?? 10_000;
  s.authTimer = setTimeout(() => {
    s.authTimer = undefined;
    if (!s.authenticated) s.close(1008, "authentication timeout");
  }, ms);
}

/**
 * When a session that must authenticate and has no deadline timer (hibernating hosts, sessions
 * rebuilt from a snapshot) is due to be closed with 1008: its open time plus `authTimeout`.
 * `undefined` for every other session.
 */
export function authDeadline<D>(hub: Hub<D, any>, s: Session<D>): number | undefined {
  if (s.authenticated || s.authTimer !== undefined || !hub.options.authenticate || s.mode !== "envelope") return undefined;
  return s.openedAt + (hub.options.authTimeout ?? 10_000);
}

/** Cancel the authentication deadline. */
export function clearAuthTimer<D>(s: Session<D>): void {
  if (s.authTimer !== undefined) clearTimeout(s.authTimer);
  s.authTimer = undefined;
}

/** Handle an `auth` frame. */
export async function authenticate<D>(hub: Hub<D, any>, s: Session<D>, id: FrameId, credentials: unknown): Promise<void> {
  const hook = hub.options.authenticate;
  if (!hook) {
    s.sendRaw(encodeError(id, "not_found", "authentication is not enabled on this hub"));
    return;
  }
  if (s.authenticated) {
    s.sendRaw(encodeError(id, "forbidden", "already authenticated"));
    return;
  }
  let r: AuthResult<D>;
  try {
    r = (await hook(s, credentials)) ?? {};
  } catch (error) {
    if (!s.open) return;
    s.authFailures++;
    const max = hub.options.maxAuthAttempts ?? 3;
    const message = error instanceof WirehubError ? error.message : "invalid credentials";
    s.sendRaw(encodeError(id, "auth_failed", message));
    if (!(error instanceof WirehubError)) hub.report(error, s);
    if (s.authFailures >= max) s.close(1008, "too many failed authentication attempts");
    return;
  }
  if (!s.open) return;
  applyAuth(hub, s, r);
  s.sendRaw(encodeResult(id, { sid: s.id, alias: s.alias ?? null, available: s.available, session: r.client ?? null }));
}
