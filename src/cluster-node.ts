/**
 * The cluster's shapes (instance entries, remote peers, hand-over snapshots) and the node a
 * hub gives its broker.
 * @module
 */
import type { BrokerNode } from "./broker.ts";
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
      if (hub.options.brokerState) hub.guard(undefined, () => hub.options.brokerState!(up, error));
    },
    failed(topic, error) {
      hub.metrics.brokerFailed++;
      hub.report(new BrokerError(`a send on "${topic}" did not reach the broker`, { topic, cause: error }));
    },
  };
}

