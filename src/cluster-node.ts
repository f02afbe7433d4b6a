/**
 * The cluster's shapes (instance entries, remote peers, hand-over snapshots), reading instance
 * entries from the store, and the node a hub gives its broker.
 * @module
 */
import type { BrokerNode, StoreEntry } from "./broker.ts";
import { BrokerError } from "./errors.ts";
import { receive } from "./fanout.ts";
import type { Hub } from "./hub.ts";
import type { Mode } from "./types.ts";

/** One instance of a cluster, as its entry in the store tells (see `Cluster.instances`). */
export interface InstanceEntry {
  /** Instance (hub) id. */
  readonly id: string;
  /** Its sessions, detached ones included: as of its last heartbeat (this instance's own: now). */
  readonly sessions: number;
  /** Time of its last heartbeat (ms since the epoch), by that instance's clock. */
  readonly beat: number;
}

/** The instance entries of a store listing but `me`'s (by id), as {@link InstanceEntry}s; an entry that cannot be read is left out. */
export function otherInstances(entries: StoreEntry[], me: string): InstanceEntry[] {
  const others: InstanceEntry[] = [];
  for (const e of entries) {
    if (e.node === me) continue;
    try {
      const v = JSON.parse(e.value) as { sessions?: unknown; at?: unknown };
      if (typeof v.sessions === "number" && typeof v.at === "number") others.push({ id: e.node, sessions: v.sessions, beat: v.at });
    } catch {
      // not an instance entry we can read: leave it out
    }
  }
  return others.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Most JSON characters one reply message carries: well under NATS's default max payload (1 MiB). */
const REPLY_PART = 256 * 1024;

/**
 * A reply as the messages that carry it, in order: a long array (the sessions' answers or
 * descriptions of `askAll` and `fetchSessions`) in parts of about {@link REPLY_PART} JSON
 * characters, anything else whole.
 */
export function replyParts(d: unknown): unknown[] {
  if (!Array.isArray(d) || d.length < 2) return [d];
  const size = JSON.stringify(d).length;
  if (size <= REPLY_PART) return [d];
  const per = Math.max(1, Math.floor((d.length * REPLY_PART) / size));
  const parts: unknown[][] = [];
  for (let i = 0; i < d.length; i += per) parts.push(d.slice(i, i + per));
  return parts;
}

/** A private message's sender as seen by the `privateMessage` hook on another instance. */
export interface RemotePeer {
  /** Session id. */
  readonly id: string;
  /** Public alias. */
  readonly alias: string;
  /** Availability (always `true`: only available sessions send private messages). */
  readonly available: boolean;
  /** Public data. */
  readonly publicData: unknown;
  /** Marks a sender held by another instance (a local sender is a `Session`). */
  readonly remote: true;
}

/** What the holder of a session tells the instance that claims it. */
export interface Snapshot {
  id: string;
  mode: Mode;
  protocol: string;
  url: string;
  headers: [string, string][];
  remoteAddress: string;
  data: unknown;
  groups: string[];
  alias?: string;
  available: boolean;
  pub?: unknown;
  authenticated: boolean;
}

/** A handed-over replay buffer, as kept in the store. */
export interface Handed {
  seq: number[];
  frames: string[];
  keys: string[];
  last: number;
}

/** A cluster request waiting for its answers. */
export interface Waiting {
  left: number;
  got: unknown[];
  done(v: unknown[]): void;
  timer: ReturnType<typeof setTimeout>;
}

/** What a hub gives its broker: packets from other instances in; the link's state and lost sends reported. */
export function brokerNode<D>(hub: Hub<D, any>): BrokerNode {
  return {
    id: hub.id,
    receive: (topic, p) => receive(hub, topic, p),
    state(up, error) {
      if (up) hub.cluster?.resync(); // entries may have expired while we were away
      else hub.metrics.brokerOutages++;
      if (hub.options.brokerState) hub.safely(undefined, () => hub.options.brokerState!(up, error));
    },
    failed(topic, error) {
      hub.metrics.brokerFailed++;
      hub.report(new BrokerError(`a send on "${topic}" did not reach the broker`, { topic, cause: error }));
    },
  };
}

