/**
 * Session snapshots: everything a session needs to be rebuilt after its host threw the process
 * memory away while keeping the socket open (a Durable Object waking from hibernation). A host
 * stores the snapshot with the socket (`Driver.persist`) and hands it back to `Seam.restore`.
 * @module
 */
import { Session, type SessionData } from "./session.ts";
import type { Hub } from "./hub.ts";
import type { Mode } from "./types.ts";

/**
 * A session as plain structured-cloneable data. Server-side `data` must itself be
 * structured-cloneable (no functions, no class instances that lose their prototype).
 */
export interface SessionSnapshot<D = SessionData> {
  /** Format version; a snapshot of another version is not restored. */
  readonly v: 1;
  /** Session id. */
  readonly id: string;
  /** `raw` or `envelope`. */
  readonly mode: Mode;
  /** Negotiated subprotocol, or `""`. */
  readonly protocol: string;
  /** Upgrade URL. */
  readonly url: string;
  /** Upgrade headers as name/value pairs (a host may store `[]` when they do not fit). */
  readonly headers: readonly (readonly [string, string])[];
  /** Peer address, or `""`. */
  readonly remoteAddress: string;
  /** Server-side data. */
  readonly data: D;
  /** Group names. */
  readonly groups: readonly string[];
  /** Public alias, when set. */
  readonly alias?: string;
  /** Availability flag. */
  readonly available: boolean;
  /** Public immutable data, when set. */
  readonly pub?: unknown;
  /** Whether the session had authenticated. */
  readonly authenticated: boolean;
  /** When the session opened (ms since the epoch). */
  readonly openedAt: number;
  /** `lastSeen` when stored (stored again once it is a liveness tick newer). */
  readonly seen?: number;
  /** `lastPing` when stored (likewise). */
  readonly pinged?: number;
}

/** Take a snapshot of a session. Cheap: it copies references, the host's store does the cloning. */
export function takeSnapshot<D>(s: Session<D>): SessionSnapshot<D> {
  const snap: { -readonly [K in keyof SessionSnapshot<D>]: SessionSnapshot<D>[K] } = {
    v: 1,
    id: s.id,
    mode: s.mode,
    protocol: s.protocol,
    url: s.url,
    headers: s.headerPairs(),
    remoteAddress: s.remoteAddress,
    data: s.data,
    groups: s.groupNames(),
    available: s.available,
    authenticated: s.authenticated,
    openedAt: s.openedAt,
    seen: s.lastSeen,
    pinged: s.lastPing,
  };
  if (s.alias !== undefined) snap.alias = s.alias;
  if (s.publicData !== undefined) snap.pub = s.publicData;
  return snap;
}

/** Whether `v` looks like a snapshot this version can restore (a host's store may hold anything). */
export function isSnapshot(v: unknown): v is SessionSnapshot<unknown> {
  if (typeof v !== "object" || v === null) return false;
  const s = v as Record<string, unknown>;
  return s.v === 1 && typeof s.id === "string" && (s.mode === "raw" || s.mode === "envelope") &&
    typeof s.url === "string" && Array.isArray(s.groups) && Array.isArray(s.headers);
}

/** Build the Session object of a snapshot; the hub then registers it and its groups. */
export function sessionFromSnapshot<D>(hub: Hub<D, any>, socket: unknown, snap: SessionSnapshot<D>): Session<D> {
  const s = new Session<D>(hub, socket, snap.id, {
    url: snap.url,
    headers: new Headers(snap.headers as [string, string][]),
    remoteAddress: snap.remoteAddress ?? "",
    protocol: snap.protocol ?? "",
    mode: snap.mode,
    data: snap.data,
    authenticated: snap.authenticated !== false,
    openedAt: snap.openedAt,
  });
  // alias goes through the presence index when the hub registers the session
  s.available = snap.available !== false;
  s.publicData = snap.pub;
  // The stored times lag the true ones by less than a liveness tick (the hub stores them again
  // once they are a tick ahead), so adding a tick never judges a session before its time; it can
  // judge it up to a tick late, which is the sweep's own granularity.
  const slack = hub.liveness.tick;
  if (typeof snap.seen === "number") s.lastSeen = Math.min(s.lastSeen, snap.seen + slack);
  if (typeof snap.pinged === "number") s.lastPing = Math.min(s.lastPing, snap.pinged + slack);
  s.savedSeen = snap.seen ?? 0;
  s.savedPing = snap.pinged ?? 0;
  return s;
}
