/**
 * The broker seam. A hub always delivers to its own sessions directly; the broker carries
 * the same send to the other instances, one broker message per send per topic.
 * Topics: `all` (everyone), `g:<group>` (a group), `s:<sessionId>` (one session).
 * @module
 */

/** One send as it travels between instances. Field names are short: this is on the wire. */
export interface Packet {
  /** Id of the instance (hub) that made the send; it never receives its own packet. */
  readonly o: string;
  /** Kind: `evt` (an event), `dm` (a private message), `pres` (a presence change), `close` (drop a session). */
  readonly k: "evt" | "dm" | "pres" | "close";
  /** Event name (`evt`), or the close reason (`close`). */
  readonly e?: string;
  /** JSON payload. */
  readonly d?: unknown;
  /** Binary payload as base64 (instead of `d`). */
  readonly b?: string;
  /** The group of a group send. */
  readonly g?: string;
  /** Session ids that must not receive it. */
  readonly x?: readonly string[];
  /** Sender description for `dm` frames / close code for `close`. */
  readonly f?: unknown;
}

/** What a hub exposes to a broker so the broker can hand it packets from other instances. */
export interface BrokerNode {
  /** This instance's id. */
  readonly id: string;
  /** Deliver a packet published by another instance on `topic`. */
  receive(topic: string, packet: Packet): void;
}

/** A hub's connection to a broker. */
export interface BrokerLink {
  /** Hand a packet to every other instance subscribed to `topic`. Must not throw. */
  publish(topic: string, packet: Packet): void;
  /** Start receiving packets on `topic` (the hub calls this when it gains a local member). */
  subscribe(topic: string): void;
  /** Stop receiving packets on `topic` (the hub calls this when its last local member leaves). */
  unsubscribe(topic: string): void;
  /** Release the connection. */
  close(): Promise<void>;
}

/** A broker: Redis, NATS, or the in-process {@link MemoryBroker}. */
export interface Broker {
  /** Attach one hub. A broker may serve many hubs (one per instance). */
  connect(node: BrokerNode): BrokerLink;
}

/**
 * The in-process broker: hubs in one process that share a `MemoryBroker` act as one hub.
 * A hub that is given no broker gets its own, which has nobody else to deliver to.
 */
export class MemoryBroker implements Broker {
  readonly #topics = new Map<string, Set<BrokerNode>>();

  /** Attach a hub. */
  connect(node: BrokerNode): BrokerLink {
    const topics = this.#topics;
    const mine = new Set<string>();
    return {
      publish(topic: string, packet: Packet): void {
        const subs = topics.get(topic);
        if (!subs) return;
        for (const n of subs) {
          if (n === node) continue;
          try {
            n.receive(topic, packet);
          } catch {
            // a receiving hub reports its own faults; one bad receiver never stops the others
          }
        }
      },
      subscribe(topic: string): void {
        let subs = topics.get(topic);
        if (!subs) topics.set(topic, (subs = new Set()));
        subs.add(node);
        mine.add(topic);
      },
      unsubscribe(topic: string): void {
        const subs = topics.get(topic);
        if (!subs) return;
        subs.delete(node);
        if (subs.size === 0) topics.delete(topic);
        mine.delete(topic);
      },
      close(): Promise<void> {
        for (const t of mine) this.unsubscribe(t);
        return Promise.resolve();
      },
    };
  }

  /** How many hubs are subscribed to `topic` (for tests and the inspector). */
  subscribers(topic: string): number {
    return this.#topics.get(topic)?.size ?? 0;
  }
}
