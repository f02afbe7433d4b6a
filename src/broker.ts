/**
 * The broker seam. A hub always delivers to its own sessions directly; the broker carries
 * the same send to the other instances, one broker message per send per topic.
 * Topics: `all` (everyone), `g:<group>` (a group), `s:<sessionId>` (one session),
 * `a:<alias>` (the visible holders of an alias), `n:<instanceId>` (replies to one instance).
 * A link may also offer a {@link BrokerStore}: the shared state behind cluster-wide presence
 * and resume on another instance (`src/cluster.ts`).
 * @module
 */

/** One send as it travels between instances. Field names are short: this is on the wire. */
export interface Packet {
  /** Id of the instance (hub) that made the send; it never receives its own packet. */
  readonly o: string;
  /**
   * Kind: `evt` (an event), `dm` (a private message), `pres` (a presence change), `close` (drop
   * a session), `join` and `leave` (put a session in a group or take it out); between instances
   * of a cluster: `rep` (a reply), `claim` and `cut` (hand a session over for resume, see
   * `src/cluster.ts`), `ask` and `list` (ask an instance's sessions, describe them) and `srv` (an
   * event for an instance's own listener): see `src/across.ts`.
   */
  readonly k: "evt" | "dm" | "pres" | "close" | "join" | "leave" | "rep" | "claim" | "cut" | "ask" | "list" | "srv";
  /** Per-origin send number: `o` and `n` name one send cluster-wide (a frame buffered twice during a hand-over is recognised by them). */
  readonly n?: number;
  /** Reply id of a request between instances (`dm`, `claim`, `cut`, `ask`, `list`, `srv`, `rep`). */
  readonly r?: string;
  /** Event name (`evt`), the close reason (`close`), the presence op (`pres`), the method (`ask`), the event (`srv`). */
  readonly e?: string;
  /** JSON payload. */
  readonly d?: unknown;
  /** Binary payload as base64 (instead of `d`). */
  readonly b?: string;
  /** The group of a group send, a `join` or a `leave`. */
  readonly g?: string;
  /** Session ids that must not receive it. */
  readonly x?: readonly string[];
  /** Sender description for `dm` frames / close code for `close` / the subject of `pres` / `to` (and the clients' timeout) of `ask` and `list` / `1` on a `rep` part that more parts follow. */
  readonly f?: unknown;
  /** `1` for a volatile event send (see `Target.volatile`). */
  readonly v?: 1;
}

/** What a hub exposes to a broker so the broker can hand it packets from other instances. */
export interface BrokerNode {
  /** This instance's id. */
  readonly id: string;
  /** Deliver a packet published by another instance on `topic`. */
  receive(topic: string, packet: Packet): void;
  /** The link lost (`false`) or regained (`true`) its broker; after `true` it has resubscribed. Optional. */
  state?(up: boolean, error?: unknown): void;
  /** A publish (or store write) never reached the broker. Links call this instead of throwing. Optional. */
  failed?(topic: string, error: unknown): void;
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
  /**
   * Resolves once every subscribe issued so far is active at the broker (a resume hand-over
   * waits for it). Links that subscribe synchronously may leave it out.
   */
  ready?(): Promise<void>;
  /** Shared state for cluster-wide presence and resume. Without it both stay local to each instance. */
  readonly store?: BrokerStore;
}

/** One presence entry as a {@link BrokerStore} keeps it. */
export interface StoreEntry {
  /** Presence scope: `all` (every visible session), `g:<group>`, `a:<alias>`. */
  readonly scope: string;
  /** Id of the instance holding the session. */
  readonly node: string;
  /** Session id. */
  readonly sid: string;
  /** The session's public info as JSON text. */
  readonly value: string;
}

/** What {@link BrokerStore.beat} found. */
export interface BeatResult {
  /** The entries of the instances this beat reaped (this caller announces their leave). */
  readonly reaped: StoreEntry[];
  /**
   * This instance had been reaped since its previous beat: its liveness ran out while it was
   * still alive (stalled past `ttl`), another instance removed its entries and announced its
   * sessions' leave, and this beat registered it again. The cluster then writes its entries
   * again and announces its visible sessions' join to the other instances. Never `true` on an
   * instance's first beat. A store tells it when the instance's registration (which reaping
   * removes) was gone, so it is also `true` after the broker lost its data (a restart without
   * persistence), where nobody was told of a leave.
   */
  readonly revived: boolean;
}

/**
 * Shared state of a cluster, offered by a {@link BrokerLink}. Writes are fire-and-forget and
 * must reach the broker before any packet the same link publishes later (so an instance that
 * sees a presence event and then lists sees the entry); failures go to `BrokerNode.failed`.
 */
export interface BrokerStore {
  /** Milliseconds after which an instance that stopped calling {@link beat} counts as dead. */
  readonly ttl: number;
  /** Record `sid` (held by this instance) in a presence scope with its public info. */
  set(scope: string, sid: string, value: string): void;
  /** Remove this instance's entry for `sid` from a scope (another instance's entry for it stays). */
  delete(scope: string, sid: string): void;
  /** The entries of a scope, every instance's (only `sid`'s when given). */
  list(scope: string, sid?: string): Promise<StoreEntry[]>;
  /**
   * Tell the store this instance is alive, and reap instances whose time ran out: their entries
   * are removed, and returned to exactly one caller cluster-wide, which announces their leave.
   * Resolves with a {@link BeatResult}. A plain array of the reaped entries (what this method
   * returned before `BeatResult`) still works: it counts as `{ reaped, revived: false }`, so a store that
   * returns one never makes the cluster heal itself.
   */
  beat(): Promise<BeatResult | StoreEntry[]>;
  /** Keep a value for `ttl` ms (a resume hand-over's frames). */
  put(key: string, value: string, ttl: number): Promise<void>;
  /** Read and remove a value kept by {@link put}. */
  take(key: string): Promise<string | undefined>;
}

/** A broker: Redis, NATS, or the in-process {@link MemoryBroker}. */
export interface Broker {
  /** Attach one hub. A broker may serve many hubs (one per instance). */
  connect(node: BrokerNode): BrokerLink;
}

/** Options of {@link MemoryBroker}. */
export interface MemoryBrokerOptions {
  /** Milliseconds after which a hub that stopped beating counts as dead (its presence is reaped). Default 15 000. */
  readonly ttl?: number;
}

/**
 * The in-process broker: hubs in one process that share a `MemoryBroker` act as one hub, with
 * the same cluster code (presence store, resume hand-over) as the Redis and NATS brokers.
 * A hub that is given no broker gets its own, which has nobody else to deliver to.
 */
export class MemoryBroker implements Broker {
  readonly #topics = new Map<string, Set<BrokerNode>>();
  readonly #scopes = new Map<string, Map<string, { node: string; value: string }>>();
  readonly #byNode = new Map<string, Set<string>>();
  readonly #beats = new Map<string, number>();
  readonly #kept = new Map<string, { value: string; until: number }>();
  readonly #ttl: number;

  /** An in-process broker; share one between hubs to make them act as one. */
  constructor(options: MemoryBrokerOptions = {}) {
    this.#ttl = options.ttl ?? 15_000;
  }

  /** Attach a hub. */
  connect(node: BrokerNode): BrokerLink {
    const topics = this.#topics;
    const mine = new Set<string>();
    const link: BrokerLink = {
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
      close: (): Promise<void> => {
        for (const t of mine) link.unsubscribe(t);
        this.#reap(node.id);
        return Promise.resolve();
      },
      store: this.#store(node.id),
    };
    return link;
  }

  /** How many hubs are subscribed to `topic` (for tests and the inspector). */
  subscribers(topic: string): number {
    return this.#topics.get(topic)?.size ?? 0;
  }

  #store(me: string): BrokerStore {
    const scopes = this.#scopes;
    const byNode = this.#byNode;
    this.#beats.set(me, Date.now());
    let beaten = false;
    return {
      ttl: this.#ttl,
      set(scope, sid, value) {
        let m = scopes.get(scope);
        if (!m) scopes.set(scope, (m = new Map()));
        m.set(sid, { node: me, value });
        let keys = byNode.get(me);
        if (!keys) byNode.set(me, (keys = new Set()));
        keys.add(scope + "\n" + sid);
      },
      delete(scope, sid) {
        const m = scopes.get(scope);
        if (m?.get(sid)?.node === me) m.delete(sid);
        if (m?.size === 0) scopes.delete(scope);
        byNode.get(me)?.delete(scope + "\n" + sid);
      },
      list(scope, sid) {
        const out: StoreEntry[] = [];
        for (const [id, e] of scopes.get(scope) ?? []) if (sid === undefined || id === sid) out.push({ scope, sid: id, node: e.node, value: e.value });
        return Promise.resolve(out);
      },
      beat: () => {
        const now = Date.now();
        // Reaping (or a close) deletes a hub's liveness: gone at a later beat means it was reaped.
        const revived = beaten && !this.#beats.has(me);
        beaten = true;
        this.#beats.set(me, now);
        const reaped: StoreEntry[] = [];
        for (const [n, at] of this.#beats) if (now - at > this.#ttl) reaped.push(...this.#reap(n));
        return Promise.resolve({ reaped, revived });
      },
      put: (key, value, ttl) => {
        this.#kept.set(key, { value, until: Date.now() + ttl });
        return Promise.resolve();
      },
      take: (key) => {
        const k = this.#kept.get(key);
        this.#kept.delete(key);
        for (const [other, v] of this.#kept) if (v.until < Date.now()) this.#kept.delete(other);
        return Promise.resolve(k && k.until >= Date.now() ? k.value : undefined);
      },
    };
  }

  /** Forget a hub: its liveness and its presence entries (returned). */
  #reap(node: string): StoreEntry[] {
    this.#beats.delete(node);
    const out: StoreEntry[] = [];
    for (const key of this.#byNode.get(node) ?? []) {
      const i = key.indexOf("\n");
      const scope = key.slice(0, i);
      const sid = key.slice(i + 1);
      const m = this.#scopes.get(scope);
      const e = m?.get(sid);
      if (!m || e?.node !== node) continue;
      m.delete(sid);
      if (m.size === 0) this.#scopes.delete(scope);
      out.push({ scope, sid, node, value: e.value });
    }
    this.#byNode.delete(node);
    return out;
  }
}
