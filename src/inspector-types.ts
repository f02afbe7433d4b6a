/**
 * What the inspector's feed carries: one snapshot of a hub, its sessions, groups and instances.
 * @module
 */
import type { Metrics } from "./limits.ts";

/** One session as the inspector lists it. */
export interface SessionRow {
  /** Session id. */
  readonly id: string;
  /** Public alias, or `null` while it has none. */
  readonly alias: string | null;
  /** `raw` or `envelope`. */
  readonly mode: "raw" | "envelope";
  /** `detached`: dropped abnormally, waiting `resume.window` for its client. */
  readonly state: "open" | "closing" | "detached";
  /** Whether the session has authenticated. */
  readonly authenticated: boolean;
  /** Visible in presence (authenticated, alias, available). */
  readonly visible: boolean;
  /** Its groups. */
  readonly groups: readonly string[];
  /** Peer address, or `""`. */
  readonly remoteAddress: string;
  /** Upgrade path. */
  readonly path: string;
  /** When it opened (ms since the epoch). */
  readonly openedAt: number;
  /** When it last sent anything (ms since the epoch). */
  readonly lastSeen: number;
  /** Round-trip time in ms, -1 before the first measurement. */
  readonly rtt: number;
  /** Bytes the host has buffered for it (0 where the host cannot tell). */
  readonly bufferedAmount: number;
}

/** One group as the inspector lists it. */
export interface GroupRow {
  /** Group name. */
  readonly name: string;
  /** Members on this hub. */
  readonly members: number;
  /** Aliases of its visible members (presence), at most 50. */
  readonly present: readonly string[];
}

/** What the inspector knows about instances: this hub, and what its broker can tell. */
export interface InstanceInfo {
  /** This hub's instance id. */
  readonly id: string;
  /** `"own"` (a private in-process broker: a single instance), `"memory"` (a shared `MemoryBroker`) or the broker's class name. */
  readonly broker: string;
  /** Hubs attached to a shared `MemoryBroker`, this one included; absent where the broker cannot tell. */
  readonly hubs?: number;
  /**
   * The cluster's instances, this one first, from the instance entries in the broker's store
   * (each instance rewrites its own at every heartbeat, every `ttl/3`). Present only when the
   * hub has a cluster: a broker given explicitly whose link has a store (Redis, NATS, a shared
   * `MemoryBroker`).
   */
  readonly instances?: readonly InstanceRow[];
}

/** One instance of a cluster as the inspector lists it. */
export interface InstanceRow {
  /** Instance (hub) id. */
  readonly id: string;
  /** Its sessions, detached ones included: this hub's now, another's as of its last heartbeat. */
  readonly sessions: number;
  /**
   * Milliseconds since its last heartbeat, against the snapshot's time. Another instance's beat
   * time is by its own clock, so clock skew between machines shows here. An instance whose
   * heartbeat is older than the broker's `ttl` is dead, and is gone once a survivor reaps it.
   */
  readonly heartbeatAge: number;
  /** Whether it is the hub this inspector watches. */
  readonly self: boolean;
}

/** One message of the feed (`event: snapshot`). */
export interface InspectorSnapshot {
  /** Server time of the snapshot (ms since the epoch); ages are measured against it. */
  readonly t: number;
  /** This instance, and what its broker tells. */
  readonly instance: InstanceInfo;
  /** The hub's counters (`hub.metrics`). */
  readonly metrics: Metrics;
  /** Whether the page may run actions (drop, test event). */
  readonly actions: boolean;
  /** Matching sessions (all of them, or those matching the search), and the first `limit` of them. */
  readonly sessions: { readonly total: number; readonly matched: number; readonly list: readonly SessionRow[] };
  /** Matching groups, and the first `limit` of them. */
  readonly groups: { readonly total: number; readonly matched: number; readonly list: readonly GroupRow[] };
  /** Sessions visible in presence hub-wide. */
  readonly present: number;
}

