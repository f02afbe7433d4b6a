/**
 * What makes several instances on one broker behave as one hub, beyond plain sends: the
 * presence store (who is visible where, an instance's heartbeat, reaping a dead instance),
 * private messages to sessions held elsewhere, and handing a session over to the instance its
 * client resumed on. A hub has a `Cluster` when it was given a broker whose link has a store.
 *
 * Resume hand-over, between the instance that held the session (A) and the one its client
 * reconnected to (B), while sends go on:
 * 1. B publishes `claim` on `s:<sid>`; A checks the token, retires the old socket if it still
 *    looks alive, keeps the session detached (buffering) and answers with a snapshot.
 * 2. B rebuilds the session, detached, in its own maps (groups, alias: no presence events),
 *    subscribes its topics and waits until the broker has the subscriptions.
 * 3. B publishes `cut`; A takes the session out of its maps at once, puts its buffer in the
 *    store and answers. A frame for the session is now in A's buffer (it reached the broker
 *    before `cut`) or in B's (it reached it after B subscribed), or in both: a frame in both
 *    carries the same send key (origin id and number) and is kept once.
 * 4. B puts A's frames first, renumbers its own above A's last sequence number, and registers
 *    the token: the ordinary resume path (`adopt`) replays them when the socket opens.
 * @module
 */
import { answerOther } from "./across.ts";
import type { BrokerLink, BrokerStore, Packet, StoreEntry } from "./broker.ts";
import { eventPacket } from "./fanout.ts";
import { framePayload, reseq } from "./protocol.ts";
import { detachTimeout, ringPush } from "./resume.ts";
import { DETACHED, OPEN, Session, type PublicInfo, type SessionData } from "./session.ts";
import { visible, type PresenceOp } from "./presence.ts";
import type { Hub } from "./hub.ts";
import { otherInstances, replyParts, type Handed, type InstanceEntry, type RemotePeer, type Snapshot, type Waiting } from "./cluster-node.ts";
export { brokerNode } from "./cluster-node.ts";
export type { InstanceEntry, RemotePeer } from "./cluster-node.ts";

/** How long an instance waits for another's answer in a hand-over or a private message. */
const ANSWER_MS = 5_000;
/** How long a private message whose recipient the store did not list first waits before it reads again (then twice that, and four times). */
const MISS_RETRY_MS = 100;

/**
 * The store scope of instance entries: each instance keeps one, under its own id, rewritten at
 * every heartbeat with its session count and the time (`{"sessions":3,"at":1700000000000}`).
 * It is an entry like a presence entry, so a dead instance's goes when the instance is reaped
 * (reaped `i` entries announce nothing). Read by the inspector and the Prometheus text.
 */
const INSTANCES = "i";

/** The cluster side of one hub. */
export class Cluster<D = SessionData> {
  readonly #hub: Hub<D, any>;
  readonly #link: BrokerLink;
  readonly #store: BrokerStore;
  /** Presence scopes each local session is recorded in, and the value recorded. */
  readonly #recorded = new Map<Session<D>, { scopes: Set<string>; value: string }>();
  /** Local visible holders per alias: `a:<alias>` is subscribed while there are any. */
  readonly #aliases = new Map<string, number>();
  readonly #waiting = new Map<string, Waiting>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #nextReply = 0;
  /** The other instances' entries as last read from the store. */
  #others: InstanceEntry[] = [];
  #lastBeat = 0;
  #stopped = false;

  /** @internal one hub's cluster state over a broker link and its store */
  constructor(hub: Hub<D, any>, link: BrokerLink, store: BrokerStore) {
    this.#hub = hub;
    this.#link = link;
    this.#store = store;
  }

  /** Subscribe this instance's reply topic and start the heartbeat (every third of the store's TTL). */
  start(): void {
    this.#link.subscribe("n:" + this.#hub.id);
    this.#beat();
    this.#timer = setInterval(() => this.#beat(), Math.max(50, this.#store.ttl / 3));
    (this.#timer as { unref?: () => void }).unref?.(); // never keep a process alive for it
  }

  /** Stop the heartbeat, and take this instance's entry out of the list of instances at once. */
  stop(): void {
    clearInterval(this.#timer);
    this.#stopped = true;
    this.#store.delete(INSTANCES, this.#hub.id);
    for (const w of this.#waiting.values()) {
      clearTimeout(w.timer);
      w.done(w.got);
    }
    this.#waiting.clear();
  }

  /** The broker is back: write this instance's presence entries again (they may have expired). */
  resync(): void {
    this.#rewrite();
    this.#beat();
  }

  /** Write every presence entry of this instance again, as recorded. */
  #rewrite(): void {
    for (const [s, r] of this.#recorded) for (const scope of r.scopes) this.#store.set(scope, s.id, r.value);
  }

  /**
   * Make the store agree with what `s` shows now: `all`, `a:<alias>` and `g:<group>` for each
   * of its groups while it is visible, nothing otherwise. Called after every presence change.
   */
  sync(s: Session<D>): void {
    const want = new Set<string>();
    let value = "";
    if (visible(s)) {
      value = JSON.stringify(s.publicInfo);
      want.add("all").add("a:" + s.alias);
      for (const g of s.groupNames()) want.add("g:" + g);
    }
    const had = this.#recorded.get(s);
    for (const scope of had?.scopes ?? []) {
      if (want.has(scope)) continue;
      this.#store.delete(scope, s.id);
      if (scope.startsWith("a:")) this.#alias(scope, -1);
    }
    for (const scope of want) {
      if (had?.scopes.has(scope) && had.value === value) continue;
      this.#store.set(scope, s.id, value);
      if (!had?.scopes.has(scope) && scope.startsWith("a:")) this.#alias(scope, 1);
    }
    if (want.size > 0) this.#recorded.set(s, { scopes: want, value });
    else this.#recorded.delete(s);
  }

  /**
   * The instances as last read from the store (by the heartbeat or {@link instances}): this
   * one first, with its session count now, then the others by id. An instance that died shows
   * until it is reaped, its heartbeat growing old. Synchronous, for the Prometheus text.
   */
  known(): InstanceEntry[] {
    return [{ id: this.#hub.id, sessions: this.#hub.sessions.size, beat: this.#lastBeat }, ...this.#others];
  }

  /** Read the instance entries from the store now, then answer as {@link known}. */
  async instances(): Promise<InstanceEntry[]> {
    this.#others = otherInstances(await this.#store.list(INSTANCES), this.#hub.id);
    return this.known();
  }

  /** Tell the other instances about a presence change of a local session (`key`: the send's number). */
  announce(op: PresenceOp, g: string | undefined, info: PublicInfo, n: number): void {
    this.#link.publish(g === undefined ? "all" : "g:" + g, { o: this.#hub.id, k: "pres", n, e: op, g, f: info });
  }

  /** The visible sessions of a scope on every instance: `local` (this instance's list) first. */
  async list(scope: string, local: PublicInfo[]): Promise<PublicInfo[]> {
    const seen = new Set(local.map((i) => i.sid));
    const out = [...local];
    for (const e of await this.#store.list(scope)) {
      if (e.node === this.#hub.id || seen.has(e.sid)) continue;
      seen.add(e.sid);
      out.push(JSON.parse(e.value) as PublicInfo);
    }
    return out;
  }

  /**
   * Send a private message to the visible sessions named `to` (alias or id) held by other
   * instances. Resolves with how many were found there and how many took it. `retryMiss`: read
   * the store again (up to three times, 700 ms in all) while it lists nobody (the caller found no
   * local recipient either).
   */
  async direct(from: Session<D>, to: string, data: unknown, retryMiss = false): Promise<{ found: number; n: number }> {
    const me = this.#hub.id;
    const other = (e: StoreEntry): boolean => e.node !== me && e.sid !== from.id;
    let byAlias: StoreEntry[] = [], byId: StoreEntry[] = [];
    // A read right after another instance's write can still miss it (seen with NATS KV under
    // load, while a `who` already listed the recipient): with `retryMiss` (no local recipient
    // either), a miss is read again after 100, 200 and 400 ms.
    for (let attempt = 0; attempt < (retryMiss ? 4 : 1); attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, MISS_RETRY_MS * 2 ** (attempt - 1)));
      try {
        const [a, i] = await Promise.all([this.#store.list("a:" + to), this.#store.list("all", to)]);
        byAlias = a.filter(other);
        byId = i.filter(other);
      } catch (error) {
        this.#hub.report(error); // the store is out of reach: only local recipients are found
        return { found: 0, n: 0 };
      }
      if (byAlias.length + byId.length > 0) break;
    }
    const aliasNodes = new Set(byAlias.map((e) => e.node));
    const idNodes = new Set(byId.map((e) => e.node));
    const found = byAlias.length + byId.length;
    if (found === 0) return { found, n: 0 };
    const { e: _, ...payload } = eventPacket(me, "", data, undefined, []);
    const packet: Packet = { ...payload, k: "dm", n: this.#hub.nextKey(), f: from.publicInfo };
    const topics: [string, number][] = [];
    if (aliasNodes.size > 0) topics.push(["a:" + to, aliasNodes.size]);
    if (idNodes.size > 0) topics.push(["s:" + to, idNodes.size]);
    const answers = await this.request(topics, packet);
    return { found, n: answers.reduce<number>((sum, a) => sum + (typeof a === "number" ? a : 0), 0) };
  }

  /** Handle a cluster packet from another instance (anything but `evt` and `close`). */
  receive(topic: string, p: Packet): void {
    switch (p.k) {
      case "rep":
        return this.#answered(p);
      case "pres": {
        const info = p.f as PublicInfo;
        // Only a session's holder tells its presence changes (to its own members directly): one
        // from elsewhere about a session held here is a reaper's that took this instance for dead.
        if (this.#hub.sessions.has(info.sid)) return;
        return this.#hub.presence.remote(p.e as PresenceOp, p.g, info, p.o + "." + p.n);
      }
      case "dm": {
        const from = p.f as PublicInfo;
        const peer: RemotePeer = { id: from.sid, alias: from.alias, available: true, publicData: from.pub, remote: true };
        const targets = topic.startsWith("a:") ? [...this.#hub.presence.byAlias(topic.slice(2))] : [this.#hub.sessions.get(topic.slice(2))];
        const mine = targets.filter((t): t is Session<D> => t !== undefined && visible(t) && t.id !== from.sid);
        this.#hub.presence
          .deliverDirect(peer, mine, framePayload(p), p.o + "." + p.n)
          .then((n) => this.#reply(p, n), (e) => (this.#hub.report(e), this.#reply(p, 0)));
        return;
      }
      case "claim":
        return this.#claimed(topic.slice(2), p);
      case "cut":
        return this.#cut(topic.slice(2), p);
      case "ask":
      case "list":
      case "srv":
        return answerOther(this.#hub, p, (result) => this.#reply(p, result));
    }
  }

  /**
   * Take over the session a resume token names from the instance holding it (see the module
   * doc). On success the token is registered here and the ordinary resume path adopts it.
   */
  async claim(token: string): Promise<void> {
    const hub = this.#hub;
    const sid = token.slice(0, token.indexOf("."));
    if (!sid || hub.sessions.has(sid) || !hub.resume) return;
    const [snap] = (await this.request([["s:" + sid, 1]], { o: hub.id, k: "claim", e: token })) as (Snapshot | null)[];
    if (!snap || hub.sessions.has(sid)) return;
    const s = new Session<D>(hub, undefined, sid, { ...snap, headers: new Headers(snap.headers), data: snap.data as D, authenticated: snap.authenticated });
    s.state = DETACHED;
    s.ring = { seq: [], frames: [], keys: [], lost: false };
    s.quiet = true; // it is the same session: nobody is told it joined
    hub.rings++;
    hub.sessions.set(sid, s);
    hub.metrics.sessions++;
    this.#link.subscribe("s:" + sid);
    hub.presence.restore(s, snap.alias, snap.available, snap.pub);
    for (const g of snap.groups) hub.join(s, g);
    s.quiet = false;
    this.sync(s);
    await this.#link.ready?.();
    const [ok] = await this.request([["s:" + sid, 1]], { o: hub.id, k: "cut", e: token });
    const kept = ok ? await this.#store.take("r:" + sid).catch((e) => void hub.report(e)) : undefined;
    if (!kept || s.state !== DETACHED) return this.#abandon(s);
    const buf = JSON.parse(kept) as Handed;
    const mine = s.ring;
    const theirs = new Set(buf.keys);
    s.ring = { seq: buf.seq, frames: buf.frames, keys: buf.keys, lost: false };
    hub.seqFloor(buf.last);
    for (let i = 0; i < mine.seq.length; i++) {
      if (mine.keys[i] && theirs.has(mine.keys[i]!)) continue; // both had it: A's copy stands
      const q = hub.nextSeq()!;
      ringPush(s, q, reseq(mine.frames[i]!, q), hub.resume.maxFrames, mine.keys[i]);
    }
    s.resumeToken = token;
    hub.tokens.set(token, s);
    detachTimeout(hub, s, 1006, "");
  }

  /** A: another instance claims one of our sessions with its resume token. */
  #claimed(sid: string, p: Packet): void {
    const hub = this.#hub;
    const s = hub.tokens.get(p.e!);
    hub.tokens.delete(p.e!); // single use, whatever happens next
    if (!s || s.id !== sid || !s.ring || s.ring.lost || s.mode !== "envelope" || !s.live) return this.#reply(p, null);
    s.resumeToken = undefined;
    if (s.state === OPEN) {
      // The old socket still looks alive here: retire it; its late events name a socket the session no longer has.
      const old = s.socket;
      s.socket = undefined;
      s.state = DETACHED;
      try {
        hub.driverOf().close(old, 4000, "resumed elsewhere");
      } catch {
        // already gone
      }
      detachTimeout(hub, s, 4000, "resumed elsewhere");
    }
    s.claimedBy = p.e;
    const snap: Snapshot = {
      id: s.id, mode: s.mode, protocol: s.protocol, url: s.url, headers: s.headerPairs(), remoteAddress: s.remoteAddress,
      data: s.data, groups: s.groupNames(), alias: s.alias, available: s.available, pub: s.publicData, authenticated: s.authenticated,
    };
    this.#reply(p, snap);
  }

  /** A: the claimer has subscribed; hand the buffer over and let the session go, quietly. */
  #cut(sid: string, p: Packet): void {
    const hub = this.#hub;
    const s = hub.sessions.get(sid);
    if (!s || s.claimedBy !== p.e || s.state !== DETACHED || !s.ring) return this.#reply(p, null);
    const r = s.ring;
    const buf: Handed = { seq: r.seq, frames: r.frames, keys: r.keys, last: hub.lastSeq };
    s.quiet = true;
    hub.finish(s, 1000, "moved to another instance"); // no hooks, no presence events: the session lives on
    this.#store
      .put("r:" + sid, JSON.stringify(buf), ANSWER_MS * 2)
      .then(() => this.#reply(p, true), (e) => (hub.report(e), this.#reply(p, null)));
  }

  /** B: a hand-over failed half-way; forget the half-built session without telling anyone. */
  #abandon(s: Session<D>): void {
    if (s.state !== DETACHED) return;
    s.quiet = true;
    this.#hub.finish(s, 1000, "");
  }

  /** @internal publish `packet` with a fresh reply id on each topic (`[topic, answers expected]`); resolve with the answers (missing ones after `ms`) */
  request(topics: [string, number][], packet: Packet, ms: number = ANSWER_MS): Promise<unknown[]> {
    const r = `${this.#hub.id}.${++this.#nextReply}`;
    const left = topics.reduce((n, [, k]) => n + k, 0);
    return new Promise((resolve) => {
      const w: Waiting = {
        left,
        got: [],
        done: resolve,
        timer: setTimeout(() => {
          this.#waiting.delete(r);
          resolve(w.got);
        }, ms),
      };
      this.#waiting.set(r, w);
      for (const [t] of topics) this.#link.publish(t, { ...packet, r });
    });
  }

  #reply(to: Packet, d: unknown): void {
    // A long answer goes in parts under the broker's message limit; `f: 1` says more follow.
    const parts = replyParts(d);
    parts.forEach((part, i) => this.#link.publish("n:" + to.o, { o: this.#hub.id, k: "rep", r: to.r, d: part, f: i < parts.length - 1 ? 1 : undefined }));
  }

  #answered(p: Packet): void {
    const w = this.#waiting.get(p.r!);
    if (!w) return;
    w.got.push(p.d);
    if (p.f === 1 || --w.left > 0) return;
    clearTimeout(w.timer);
    this.#waiting.delete(p.r!);
    w.done(w.got);
  }

  #alias(topic: string, delta: 1 | -1): void {
    const n = (this.#aliases.get(topic) ?? 0) + delta;
    if (n > 0) this.#aliases.set(topic, n);
    else this.#aliases.delete(topic);
    if (n === 1 && delta === 1) this.#link.subscribe(topic);
    if (n === 0) this.#link.unsubscribe(topic);
  }

  /** Write this instance's entry (see INSTANCES): what the list of instances shows. */
  #entry(): void {
    this.#store.set(INSTANCES, this.#hub.id, JSON.stringify({ sessions: this.#hub.sessions.size, at: this.#lastBeat }));
  }

  /**
   * Another instance reaped this one while it was alive (it stalled past the TTL): its entries
   * are gone, and the other instances were told its sessions left. Write the entries again (the
   * instance entry too: a reap may have taken the one written just before the beat), then, as
   * writes reach the broker before later publishes, announce a join where a leave was announced.
   */
  #revive(): void {
    this.#hub.metrics.brokerRevived++;
    this.#entry();
    this.#rewrite();
    for (const s of this.#recorded.keys()) this.#hub.presence.back(s);
  }

  #beat(): void {
    if (this.#stopped) return;
    this.#lastBeat = Date.now();
    this.#entry(); // before the beat
    this.#store.beat().then(
      (got) => {
        // A plain array is the reaped entries, from a store that predates `revived`.
        const { reaped, revived } = Array.isArray(got) ? { reaped: got, revived: false } : got;
        if (revived && !this.#stopped) this.#revive();
        // We reaped them, so we announce their leave, as their own instance would have.
        for (const e of reaped) {
          const info = JSON.parse(e.value) as PublicInfo;
          if (e.scope === "all" && this.#hub.options.presence === "hub") this.#hub.presence.gone(undefined, info);
          else if (e.scope.startsWith("g:") && this.#hub.options.presence !== "off") this.#hub.presence.gone(e.scope.slice(2), info);
        }
        return this.instances(); // keep the list of instances as fresh as the heartbeat
      },
    ).catch((e) => this.#hub.report(e));
  }
}
