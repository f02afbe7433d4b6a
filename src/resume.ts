/**
 * Lossless resume (PROTOCOL.md §8): per-session buffers of unacknowledged frames, detached
 * sessions that wait for their client, and the takeover of a session by a new connection.
 * @module
 */
import { hostSubscribe } from "./fanout.ts";
import { encodeFrame } from "./protocol.ts";
import type { Hub } from "./hub.ts";
import { DETACHED, OPEN, type Session } from "./session.ts";
import type { Admission } from "./upgrade.ts";

/** Resume options. `false` turns resume off. */
export interface ResumeOptions {
  /** Milliseconds a dropped session waits for its client to come back. Default 30 000. */
  readonly window?: number;
  /** Unacknowledged frames kept per session; past it the oldest go and a resume fails. Default 1 000. */
  readonly maxFrames?: number;
}

/** Close codes after which a session waits to be resumed instead of ending. */
const DETACH_CODES = new Set([1006, 1011, 1012, 1013, 1014, 4000]);

/**
 * A session's replay buffer: parallel arrays of sequence numbers, the frames sent with them,
 * and each frame's send key (origin id and send number, `""` when it has none), by which a
 * cluster hand-over recognises a frame both instances buffered.
 */
export interface Ring {
  seq: number[];
  frames: string[];
  keys: string[];
  /** Set once a frame was evicted unacknowledged: the buffer can no longer replay losslessly. */
  lost: boolean;
}

/** Resume settings of a hub, or `undefined` when resume is off. */
export function resumeSettings(o: false | ResumeOptions | undefined): Required<ResumeOptions> | undefined {
  if (o === false) return undefined;
  return { window: o?.window ?? 30_000, maxFrames: o?.maxFrames ?? 1_000 };
}

/** Read the resume query parameters of an upgrade URL. */
export function resumeParams(url: string): { readonly acks: boolean; readonly token?: string; readonly seq: number; readonly valid: boolean } {
  // Most upgrades name no resume parameter: no URL parsing for them (a "%" may encode one).
  if (!url.includes("wh_") && !url.includes("%")) return NO_RESUME;
  const q = new URL(url).searchParams;
  const token = q.get("wh_resume") ?? undefined;
  const raw = q.get("wh_seq") ?? "0";
  const seq = /^\d{1,15}$/.test(raw) ? Number(raw) : -1;
  // A malformed offset fails closed: a fresh session, never a replay from a guessed position.
  return { acks: q.get("wh_ack") === "1" || token !== undefined, token, seq, valid: seq >= 0 };
}

const NO_RESUME = { acks: false, token: undefined, seq: 0, valid: true } as const;

/** Remember a frame sent to `s` with sequence number `seq`. */
export function ringPush(s: Session<any>, seq: number, frame: string, max: number, key: string = ""): void {
  const r = s.ring;
  if (!r) return;
  r.seq.push(seq);
  r.frames.push(frame);
  r.keys.push(key);
  if (r.seq.length > max) {
    // amortised: evict a chunk at a time rather than shifting on every push
    const n = Math.max(1, r.seq.length - max);
    r.seq.splice(0, n);
    r.frames.splice(0, n);
    r.keys.splice(0, n);
    r.lost = true;
  }
}

/** The client has everything up to `upTo`: forget those frames. */
export function ringAck(s: Session<any>, upTo: number): void {
  const r = s.ring;
  if (!r || r.seq.length === 0) return;
  let i = 0;
  while (i < r.seq.length && r.seq[i]! <= upTo) i++;
  if (i > 0) {
    r.seq.splice(0, i);
    r.frames.splice(0, i);
    r.keys.splice(0, i);
  }
}

/**
 * Called when a session's socket closed. Returns `true` when the session is now detached and
 * waits for its client; the caller then must not finish it.
 */
export function detach<D>(hub: Hub<D, any>, s: Session<D>, code: number, reason: string, serverCaused: boolean): boolean {
  const cfg = hub.resume;
  if (!cfg || !s.ring || s.ring.lost || !s.resumeToken || !DETACH_CODES.has(code)) return false;
  if (serverCaused && code !== 4000) return false;
  s.state = DETACHED;
  detachTimeout(hub, s, code, reason);
  return true;
}

/** Start (or restart) a detached session's resume window; when it ends the session ends with `code`. */
export function detachTimeout<D>(hub: Hub<D, any>, s: Session<D>, code: number, reason: string): void {
  clearTimeout(s.detachTimer);
  s.detachTimer = setTimeout(() => {
    s.detachTimer = undefined;
    if (s.state === DETACHED) hub.finish(s, code, reason);
  }, hub.resume?.window ?? 0);
}

/**
 * Try to hand the session named by the admission's resume token to a new socket. Returns the
 * session, or `undefined` when the resume is not possible (then a new session starts).
 */
export function adopt<D>(hub: Hub<D, any>, socket: unknown, a: Admission<D>): Session<D> | undefined {
  const p = resumeParams(a.url);
  if (!p.token) return undefined;
  const s = hub.tokens.get(p.token);
  hub.tokens.delete(p.token); // single use, whatever happens next
  if (!s || !p.valid || !s.ring || s.ring.lost || s.mode !== "envelope") return undefined;
  const check = hub.options.canResume;
  if (check) {
    let ok = false;
    try {
      ok = check(s, a) === true;
    } catch (error) {
      hub.report(error, s);
    }
    if (!ok) return undefined;
  }
  if (s.state === OPEN) {
    // The old socket still looks alive to us (the client noticed first): retire it quietly.
    const old = s.socket;
    s.socket = socket;
    try {
      hub.driverOf().close(old, 4000, "resumed elsewhere");
    } catch {
      // already gone
    }
  } else if (s.state === DETACHED) {
    clearTimeout(s.detachTimer);
    s.detachTimer = undefined;
    s.socket = socket;
    s.state = OPEN;
  } else {
    return undefined;
  }
  hostSubscribe(hub, s);
  const token = hub.issueToken(s);
  s.lastSeen = s.lastPing = Date.now();
  hub.driverOf().send(socket, encodeFrame("hello", { v: 1, sid: s.id, rt: token, resumed: true, hb: hub.liveness.advertised }));
  const r = s.ring;
  ringAck(s, p.seq);
  for (let i = 0; i < r.frames.length; i++) hub.driverOf().send(socket, r.frames[i]!);
  hub.persist(s); // a hibernating host keeps the snapshot with the socket: the new one needs it too
  return s;
}
