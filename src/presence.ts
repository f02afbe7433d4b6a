/**
 * Presence, aliases and private messages (the ws-node-server session model): a session is
 * visible when it is authenticated, has a public alias and is available.
 * @module
 */
import { WirehubError } from "./errors.ts";
import { encodeFrame, withSeq } from "./protocol.ts";
import type { RemotePeer } from "./cluster.ts";
import type { Hub } from "./hub.ts";
import type { PublicInfo, Session } from "./session.ts";

/** Presence change kinds, as sent in `presence` frames. */
export type PresenceOp = "join" | "leave" | "update";

/** Whether other clients can see `s` (and message it privately). */
export function visible(s: Session<any>): boolean {
  return s.authenticated && s.alias !== undefined && s.available && s.live;
}

/** Presence bookkeeping of one hub. */
export class Presence<D> {
  readonly #hub: Hub<D, any>;
  readonly #byAlias = new Map<string, Set<Session<D>>>();

  /** The presence of `hub`'s sessions. The hub makes its own. */
  constructor(hub: Hub<D, any>) {
    this.#hub = hub;
  }

  /** Sessions currently holding `alias` on this hub. */
  byAlias(alias: string): ReadonlySet<Session<D>> {
    return this.#byAlias.get(alias) ?? EMPTY;
  }

  /** Set identity at authentication (no presence events yet: the session is in no group). */
  identify(s: Session<D>, alias: string | undefined, available: boolean, pub: unknown): void {
    this.restore(s, alias, available, pub);
    if (this.#hub.options.presence === "hub" && visible(s) && !s.quiet) this.#announce(s, "join", undefined);
  }

  /**
   * Set identity without telling anyone: a session handed over from another instance, or
   * rebuilt from a snapshot after a hibernating host woke up.
   */
  restore(s: Session<D>, alias: string | undefined, available: boolean, pub: unknown): void {
    this.#index(s, alias);
    s.available = available;
    s.publicData = pub;
    this.#hub.cluster?.sync(s);
  }

  /** Change alias and/or availability, telling the others what they now see. */
  update(s: Session<D>, change: { alias?: string | null; available?: boolean }): void {
    const before = visible(s);
    const old = s.publicInfo;
    if (change.alias !== undefined) this.#index(s, change.alias ?? undefined);
    if (change.available !== undefined) s.available = change.available;
    const after = visible(s);
    this.#hub.cluster?.sync(s); // the store first: whoever sees the event and then lists finds the change
    this.#hub.persist(s);
    const scopes = this.#scopes(s);
    for (const g of scopes) {
      if (before && !after) this.#send("leave", g, old!, s);
      else if (!before && after) this.#send("join", g, s.publicInfo!, s);
      else if (before && after && (old!.alias !== s.alias)) this.#send("update", g, s.publicInfo!, s);
    }
  }

  /** `s` joined group `g`. */
  joined(s: Session<D>, g: string): void {
    this.#hub.cluster?.sync(s);
    if (visible(s) && !s.quiet && this.#hub.options.presence !== "off" && this.#hub.restoring !== s) this.#send("join", g, s.publicInfo!, s);
  }

  /** `s` left group `g` (or is closing). */
  left(s: Session<D>, g: string, info: PublicInfo | undefined): void {
    this.#hub.cluster?.sync(s);
    if (info && s.authenticated && s.available && !s.quiet && this.#hub.options.presence !== "off") this.#send("leave", g, info, s);
  }

  /** `s` is gone: leave hub-wide presence and the alias index. */
  closed(s: Session<D>, info: PublicInfo | undefined): void {
    this.#hub.cluster?.sync(s);
    if (info && s.available && !s.quiet && this.#hub.options.presence === "hub") this.#send("leave", undefined, info, s);
    this.#index(s, undefined);
  }

  /** A session of a dead instance is gone (this instance reaped it): tell members here and on the other instances. */
  gone(g: string | undefined, info: PublicInfo): void {
    const n = this.#hub.nextKey();
    this.#deliver("leave", g, info, this.#hub.id + "." + n);
    this.#hub.cluster?.announce("leave", g, info, n);
  }

  /**
   * This instance had been reaped by another while it was alive, which announced a `leave` for
   * `s` on the other instances: announce its `join` there again, hub-wide and in each group, as
   * far as the presence mode tells joins. The members here never saw that leave: a cluster
   * delivers no presence change from elsewhere about a session held here.
   */
  back(s: Session<D>): void {
    const c = this.#hub.cluster;
    if (!c || !visible(s) || s.quiet) return;
    for (const g of this.#scopes(s)) c.announce("join", g, s.publicInfo!, this.#hub.nextKey());
  }

  /** A presence change of a session on another instance: tell the members here. */
  remote(op: PresenceOp, g: string | undefined, info: PublicInfo, key: string): void {
    this.#deliver(op, g, info, key);
  }

  /**
   * The visible sessions of a group, or of the whole hub, on every instance of a cluster
   * (this instance's own first). Without a cluster it is {@link list}.
   */
  listAll(group?: string): PublicInfo[] | Promise<PublicInfo[]> {
    const local = this.list(group);
    const c = this.#hub.cluster;
    return c ? c.list(group === undefined ? "all" : "g:" + group, local) : local;
  }

  /** The visible sessions of a group, or of the whole hub (local to this instance). */
  list(group?: string): PublicInfo[] {
    const out: PublicInfo[] = [];
    const members: Iterable<Session<D>> = group === undefined ? this.#hub.sessions.values() : this.#hub.members(group);
    for (const m of members) if (visible(m)) out.push(m.publicInfo!);
    return out;
  }

  /** Answer a client's `who` (cluster-wide): it must be available and, for a group, a member. */
  who(s: Session<D>, group?: string): PublicInfo[] | Promise<PublicInfo[]> {
    if (!s.available) throw new WirehubError("unavailable", "unavailable sessions see no presence");
    if (group !== undefined && !s.inGroup(group)) throw new WirehubError("forbidden", `not a member of "${group}"`);
    return this.listAll(group);
  }

  /**
   * Send a private message from `from` to every visible session named `to` (alias or id).
   * Resolves with how many received it; throws `forbidden` or `not_found`.
   */
  async direct(from: Session<D>, to: string, data: unknown): Promise<number> {
    if (!visible(from)) throw new WirehubError("forbidden", "private messages need an alias and availability");
    const targets = new Set<Session<D>>();
    const byId = this.#hub.sessions.get(to);
    if (byId && visible(byId) && byId !== from) targets.add(byId);
    for (const s of this.byAlias(to)) if (visible(s) && s !== from) targets.add(s);
    // Recipients held by other instances are looked up in the cluster's store and answer from there.
    const remote = this.#hub.cluster?.direct(from, to, data, targets.size === 0);
    const local = targets.size === 0 ? 0 : await this.deliverDirect(from, [...targets], data, this.#hub.id + "." + this.#hub.nextKey());
    const far = remote ? await remote : { found: 0, n: 0 };
    if (targets.size === 0 && far.found === 0) throw new WirehubError("not_found", `no available recipient "${to}"`);
    const n = local + far.n;
    if (n === 0) throw new WirehubError("forbidden", "the private message was refused");
    return n;
  }

  /** Deliver a private message to local `targets`, each allowed by the `privateMessage` hook. Resolves with how many took it. */
  async deliverDirect(from: Session<D> | RemotePeer, targets: Session<D>[], data: unknown, key: string): Promise<number> {
    const hook = this.#hub.options.privateMessage;
    let frame: string | undefined;
    let seq: number | undefined;
    let n = 0;
    for (const t of targets) {
      if (hook && (await hook(from, t, data)) === false) continue;
      if (!t.live || ("open" in from && !from.open)) continue;
      seq ??= this.#hub.nextSeq();
      frame ??= withSeq(encodeFrame("dm", { from: { sid: from.id, alias: from.alias } }, data), seq);
      this.#hub.writeFrame(t, frame, seq, key);
      n++;
    }
    return n;
  }

  #scopes(s: Session<D>): (string | undefined)[] {
    const scopes: (string | undefined)[] = this.#hub.options.presence === "off" ? [] : s.groupNames();
    if (this.#hub.options.presence === "hub") scopes.push(undefined);
    return scopes;
  }

  #announce(s: Session<D>, op: PresenceOp, g: string | undefined): void {
    this.#send(op, g, s.publicInfo!, s);
  }

  /** Tell a presence change of local session `about` here and, in a cluster, on the other instances. */
  #send(op: PresenceOp, g: string | undefined, info: PublicInfo, _about: Session<D>): void {
    const n = this.#hub.nextKey();
    this.#deliver(op, g, info, this.#hub.id + "." + n);
    this.#hub.cluster?.announce(op, g, info, n);
  }

  /** Deliver one presence frame, encoded once, to the available members of `g` (or the hub) here, but its subject. */
  #deliver(op: PresenceOp, g: string | undefined, info: PublicInfo, key: string): void {
    const seq = this.#hub.nextSeq();
    const frame = encodeFrame("presence", { op, g, who: info, s: seq });
    const members: Iterable<Session<D>> = g === undefined ? this.#hub.sessions.values() : this.#hub.members(g);
    for (const m of members) {
      if (m.id !== info.sid && m.mode === "envelope" && m.authenticated && m.available && m.live) this.#hub.writeFrame(m, frame, seq, key);
    }
  }

  #index(s: Session<D>, alias: string | undefined): void {
    if (s.alias !== undefined) {
      const set = this.#byAlias.get(s.alias);
      set?.delete(s);
      if (set?.size === 0) this.#byAlias.delete(s.alias);
    }
    s.alias = alias;
    if (alias !== undefined) {
      let set = this.#byAlias.get(alias);
      if (!set) this.#byAlias.set(alias, (set = new Set()));
      set.add(s);
    }
  }
}

const EMPTY: ReadonlySet<never> = new Set();
