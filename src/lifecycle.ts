/**
 * A session's life on a hub: open (or resume), restore after hibernation, close (or detach
 * for a resume), finish.
 * @module
 */
import { applyAuth, clearAuthTimer, startAuthTimer } from "./auth.ts";
import { hostSubscribe } from "./fanout.ts";
import type { Hub } from "./hub.ts";
import { encodeFrame } from "./protocol.ts";
import { adopt, detach, resumeParams } from "./resume.ts";
import { CLOSED, CLOSING, DETACHED, Session } from "./session.ts";
import { isSnapshot, sessionFromSnapshot } from "./snapshot.ts";
import type { Admission } from "./upgrade.ts";

/** A host opened a socket for an admission: resume a session, or start a new one. */
export function openSession<D>(hub: Hub<D, any>, socket: unknown, a: Admission<D>): Session<D> {
  const rp = hub.resume && a.mode === "envelope" ? resumeParams(a.url) : undefined;
  if (rp?.token) {
    const resumed = adopt(hub, socket, a);
    if (resumed) return resumed;
  }
  const needsAuth = hub.options.authenticate !== undefined && a.mode === "envelope" && !a.auth;
  const s = new Session<D>(hub, socket, a.id, a); // unauthenticated until applyAuth
  register(hub, s);
  let rt: string | undefined;
  if (rp?.acks) {
    s.ring = { seq: [], frames: [], keys: [], lost: false };
    hub.rings++;
    rt = hub.issueToken(s);
  }
  if (s.mode === "envelope") {
    const hb = hub.liveness.advertised;
    s.sendRaw(encodeFrame("hello", { v: 1, sid: s.id, auth: needsAuth || undefined, rt, resumed: rp?.token ? false : undefined, hb }));
  }
  if (needsAuth) startAuthTimer(hub, s);
  else applyAuth(hub, s, a.auth ?? {});
  if (hub.options.open) runOpenHook(hub, s);
  hub.persist(s);
  return s;
}

// The hooks run from functions of their own: a closure in `openSession` or `finishSession` would
// cost every session a scope object, hook or no hook.
function runOpenHook<D>(hub: Hub<D, any>, s: Session<D>): void {
  hub.safely(s, () => hub.options.open!(s));
}
function runCloseHook<D>(hub: Hub<D, any>, s: Session<D>, code: number, reason: string): void {
  hub.safely(s, () => hub.options.close!(s, code, reason));
}

/** Count a session in and give it its broker topic. */
function register<D>(hub: Hub<D, any>, s: Session<D>): void {
  hub.sessions.set(s.id, s);
  hub.metrics.sessions++;
  hub.metrics.opened++;
  if (hub.options.maxSessionsPerAddress) hub.perAddress.set(s.remoteAddress, (hub.perAddress.get(s.remoteAddress) ?? 0) + 1);
  if (hub.sharedBroker) hub.link.subscribe("s:" + s.id);
}

/** Rebuild a session from a hibernating host's snapshot: no open hook, no hello, no presence events. */
export function restoreSession<D>(hub: Hub<D, any>, socket: unknown, snap: unknown): Session<D> | undefined {
  if (!isSnapshot(snap)) return undefined;
  const known = hub.sessions.get(snap.id);
  if (known) return known;
  const s = sessionFromSnapshot(hub, socket, snap as typeof snap & { data: D });
  register(hub, s);
  // The snapshot already holds all of this: rebuilding must not write it back, nor tell
  // presence (nobody left or joined while the process slept).
  hub.restoring = s;
  hub.presence.restore(s, snap.alias, s.available, s.publicData);
  if (s.authenticated) hostSubscribe(hub, s);
  for (const g of snap.groups) hub.join(s, g);
  hub.restoring = undefined;
  return s;
}

/** The host reported a close: detach the session for a resume, or end it. */
export function closedSession<D>(hub: Hub<D, any>, s: Session<D>, code: number, reason: string): void {
  if (s.state === CLOSED || s.state === DETACHED) return;
  if (detach(hub, s, code, reason, s.state === CLOSING)) return;
  finishSession(hub, s, code, reason);
}

/** End a session for good: groups, presence, pending requests, the close hook (once). */
export function finishSession<D>(hub: Hub<D, any>, s: Session<D>, code: number, reason: string): void {
  if (s.state === CLOSED) return;
  const info = s.publicInfo;
  s.state = CLOSED;
  hub.metrics.sessions--;
  if (!s.quiet) hub.metrics.closes[code] = (hub.metrics.closes[code] ?? 0) + 1;
  if (hub.options.maxSessionsPerAddress) {
    const n = (hub.perAddress.get(s.remoteAddress) ?? 1) - 1;
    if (n <= 0) hub.perAddress.delete(s.remoteAddress);
    else hub.perAddress.set(s.remoteAddress, n);
  }
  clearTimeout(s.detachTimer);
  if (s.resumeToken) hub.tokens.delete(s.resumeToken);
  if (s.ring) {
    s.ring = undefined;
    hub.rings--;
  }
  clearAuthTimer(s);
  hub.sessions.delete(s.id);
  const groups = s.groupNames();
  for (const g of groups) hub.leave(s, g);
  hub.presence.closed(s, info);
  if (hub.sharedBroker) hub.link.unsubscribe("s:" + s.id);
  s.failPending();
  // A quiet session was handed to another instance: it lives on there, so no close hook here.
  if (hub.options.close && !s.quiet) {
    // What it was in, for the hook to read (`session.groups`): a record, no membership behind it.
    if (groups.length > 0) s.gs = groups;
    runCloseHook(hub, s, code, reason);
  }
  s.onClosed?.();
}
