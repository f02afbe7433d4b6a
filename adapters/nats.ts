/**
 * NATS broker: hubs on one NATS server (or cluster) act as one hub. Sends cross instances as
 * core NATS messages (one publish per send per topic, JSON packets) on subjects
 * `<prefix>.<kind>[.<token>]`, where group names, aliases and ids are encoded as safe subject
 * tokens; presence lives in JetStream KV buckets (entries, and per-instance liveness keys in a
 * bucket whose TTL a heartbeat refreshes); a resume hand-over's frames pass through a KV bucket.
 * Client: `@nats-io/transport-node` with `@nats-io/kv`, https://github.com/nats-io/nats.js —
 * it runs on Node, Bun and Deno (npm:), and resubscribes by itself after a reconnect.
 * The server needs JetStream (`nats-server -js`).
 *
 * ```ts
 * import { createHub } from "wirehub";
 * import { createBroker } from "wirehub/nats";
 * const hub = createHub({ broker: createBroker({ servers: "127.0.0.1:4222" }) });
 * ```
 * @module
 */
import { connect, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { Kvm, type KvEntry } from "@nats-io/kv";
import type { Broker, BrokerLink, BrokerNode, BrokerStore, Packet, StoreEntry } from "../src/mod.ts";

/** Options of {@link createBroker}. */
export interface NatsBrokerOptions {
  /** Server(s) as `host:port` (or `nats://…`). Default `"127.0.0.1:4222"`. */
  readonly servers?: string | readonly string[];
  /** First subject token and KV bucket prefix (letters, digits, `-`, `_`). Default `"wirehub"`. */
  readonly prefix?: string;
  /** Milliseconds after which a silent instance counts as dead and its sessions leave presence. Default 15 000. */
  readonly ttl?: number;
  /** Wait between reconnect attempts, in ms. Default 250. */
  readonly maxReconnectDelay?: number;
}

/** Biggest value piece put in KV (the server's default max payload is 1 MiB). */
const CHUNK = 256 * 1024;
/** How long a resume hand-over's frames stay in their bucket. */
const HANDOFF_TTL = 60_000;

/** A subject (or KV key) token for any string: `x` + base64url of its UTF-8, so never empty and never `.`, `*`, `>`. */
function token(s: string): string {
  let bin = "";
  for (const b of new TextEncoder().encode(s)) bin += String.fromCharCode(b);
  return "x" + btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function untoken(t: string): string {
  const bin = atob(t.slice(1).replace(/-/g, "+").replace(/_/g, "/"));
  return new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
}

/** The subject a broker topic travels on: `<prefix>.all`, `<prefix>.g.<token of the group>`, … (for taps and debugging). */
export function subjectOf(prefix: string, topic: string): string {
  const i = topic.indexOf(":");
  return i < 0 ? `${prefix}.${topic}` : `${prefix}.${topic.slice(0, i)}.${token(topic.slice(i + 1))}`;
}

/** Session and instance ids are base64url already; anything else cannot be one. */
const ID = /^[\w-]+$/;

/**
 * Keys of a bucket matching `filter`, from the stream's own subject index. (`kv.keys()` reads
 * them through a consumer, which on nats-server 2.9 now and then reports nothing pending and
 * so lists nothing.) Deleted keys are listed too: their last message is a delete marker.
 */
async function keys(jsm: JetStreamManager, bucket: string, filter: string): Promise<string[]> {
  const si = await jsm.streams.info(`KV_${bucket}`, { subjects_filter: `$KV.${bucket}.${filter}` });
  const skip = `$KV.${bucket}.`.length;
  return Object.keys(si.state.subjects ?? {}).map((s) => s.slice(skip));
}

const live = (e: KvEntry | null): e is KvEntry => e !== null && e.operation === "PUT";

/** A broker on NATS. Each hub that connects opens one connection. */
export class NatsBroker implements Broker {
  readonly #o: Required<NatsBrokerOptions>;

  /** A NATS broker; it connects on the first hub that uses it. */
  constructor(options: NatsBrokerOptions = {}) {
    this.#o = {
      servers: options.servers ?? "127.0.0.1:4222",
      prefix: options.prefix ?? "wirehub",
      ttl: options.ttl ?? 15_000,
      maxReconnectDelay: options.maxReconnectDelay ?? 250,
    };
  }

  /** Attach one hub: connect (in the background), and give it its link. */
  connect(node: BrokerNode): BrokerLink {
    const { prefix, ttl } = this.#o;
    const me = node.id;
    const subject = (topic: string): string => subjectOf(prefix, topic);
    const conn = connect({
      servers: this.#o.servers as string | string[],
      maxReconnectAttempts: -1,
      reconnectTimeWait: this.#o.maxReconnectDelay,
      waitOnFirstConnect: true,
    });
    let nc: NatsConnection | undefined;
    let up = false;
    let closed = false;
    const subs = new Map<string, Subscription>();
    const failed = (topic: string) => (error: unknown): void => node.failed?.(topic, error);
    const buckets = conn.then(async (c) => {
      const kvm = new Kvm(c);
      return {
        jsm: await jetstreamManager(c),
        presence: await kvm.create(`${prefix}-presence`, { history: 1 }),
        nodes: await kvm.create(`${prefix}-nodes`, { history: 1, ttl }),
        handoff: await kvm.create(`${prefix}-handoff`, { history: 1, ttl: HANDOFF_TTL }),
      };
    });
    buckets.catch(() => {}); // reported where used
    // Store writes are JetStream requests; a publish made after one waits for it, so an
    // instance that sees a presence event and then lists finds the entry.
    let writes = 0;
    let tail: Promise<unknown> = Promise.resolve();
    const write = (topic: string, fn: (b: Awaited<typeof buckets>) => Promise<unknown>): void => {
      if (nc && !up) return failed(topic)(new Error("nats is unavailable"));
      writes++;
      tail = tail.then(() => buckets.then(fn)).catch(failed(topic)).finally(() => writes--);
    };
    const read = async <T>(fn: (b: Awaited<typeof buckets>) => Promise<T>): Promise<T> => {
      if (nc && !up) throw new Error("nats is unavailable");
      await tail;
      return fn(await buckets);
    };
    const publish = (topic: string, data: string): void => {
      if (closed) return;
      if (!nc || writes > 0) {
        tail = tail.then(() => conn).then((c) => c.publish(subject(topic), data)).catch(failed(topic));
        return;
      }
      try {
        nc.publish(subject(topic), data);
      } catch (e) {
        failed(topic)(e);
      }
    };
    conn.then(
      async (c) => {
        nc = c;
        up = true;
        if (closed) return void c.close();
        for (const topic of subs.keys()) subs.set(topic, listen(c, topic));
        node.state?.(true);
        for await (const s of c.status()) {
          // nats.js resends every subscription as part of reconnecting, before "reconnect"
          if (s.type === "disconnect" && up) (up = false), node.state?.(false, new Error("nats connection lost"));
          else if (s.type === "reconnect" && !up) (up = true), node.state?.(true);
        }
      },
      (e: unknown) => node.state?.(false, e),
    );
    const listen = (c: NatsConnection, topic: string): Subscription =>
      c.subscribe(subject(topic), {
        callback: (err, msg) => {
          if (err) return;
          let p: Packet;
          try {
            p = JSON.parse(msg.string()) as Packet;
          } catch {
            return; // not ours
          }
          if (p.o !== me) node.receive(topic, p);
        },
      });

    const entry = (b: Awaited<typeof buckets>, key: string) => b.presence.get(key);
    let registered: number | undefined; // revision of this instance's registration `r.<me>`, once a beat wrote it
    let revived = false; // a beat found this instance reaped and has not reported it yet
    /**
     * Write this instance's registration `r.<me>`: after the first beat, with a compare-and-set
     * on the revision last written here. That fails once a reaper deleted it (and a reaper's
     * compare-and-delete fails once this ran). Found deleted, it is created again: of two beats
     * of this link that both found it so (beats may overlap), the one that creates it sets
     * `revived`, which that beat reports (or the next one that succeeds).
     */
    const register = async (b: Awaited<typeof buckets>): Promise<void> => {
      const mine = `r.${me}`;
      if (registered === undefined) return void (registered = await b.presence.put(mine, "1"));
      try {
        registered = await b.presence.update(mine, "1", registered);
        return;
      } catch {
        // reaped, or written since by another beat of this link
      }
      const now = await b.presence.get(mine);
      if (live(now)) return void (registered = now.revision);
      try {
        registered = await b.presence.create(mine, "1");
        revived = true;
      } catch {
        const again = await b.presence.get(mine);
        if (live(again)) registered = again.revision;
      }
    };
    const store: BrokerStore = {
      ttl,
      set(scope, sid, value) {
        write(scope, (b) => b.presence.put(`p.${token(scope)}.${me}.${sid}`, value));
      },
      delete(scope, sid) {
        write(scope, (b) => b.presence.delete(`p.${token(scope)}.${me}.${sid}`));
      },
      list: (scope, sid) =>
        read(async (b) => {
          if (sid !== undefined && !ID.test(sid)) return [];
          const found = await keys(b.jsm, `${prefix}-presence`, `p.${token(scope)}.*.${sid ?? "*"}`);
          const got = await Promise.all(found.map((k) => entry(b, k)));
          const out: StoreEntry[] = [];
          got.forEach((e, i) => {
            const [, , n, s] = found[i]!.split(".");
            if (live(e)) out.push({ scope, node: n!, sid: s!, value: e.string() });
          });
          return out;
        }),
      beat: () =>
        read(async (b) => {
          await b.nodes.put(me, "1"); // liveness first, then the registry: never registered but not alive
          await register(b);
          const alive = new Set<string>();
          for (const n of await keys(b.jsm, `${prefix}-nodes`, "*")) if (live(await b.nodes.get(n))) alive.add(n);
          const out: StoreEntry[] = [];
          for (const r of await keys(b.jsm, `${prefix}-presence`, "r.*")) {
            const n = r.slice(2);
            if (alive.has(n)) continue;
            const reg = await b.presence.get(r);
            if (!live(reg)) continue;
            // Liveness read after the registration: an instance that registered after `alive` was
            // listed (a new one, or one back from a stall) put its liveness first.
            if (live(await b.nodes.get(n))) continue;
            try {
              await b.presence.delete(r, { previousSeq: reg.revision }); // only one instance wins each dead one
            } catch {
              continue;
            }
            // An instance reaped while alive finds its registration gone at its next beat and
            // writes its entries again: those come after the registration's revision now.
            const mark = (await b.presence.get(r))?.revision ?? Infinity;
            for (const k of await keys(b.jsm, `${prefix}-presence`, `p.*.${n}.*`)) {
              const e = await b.presence.get(k);
              if (!live(e) || e.revision > mark) continue;
              try {
                await b.presence.delete(k, { previousSeq: e.revision }); // not if it was written again since
              } catch {
                continue;
              }
              const [, scope, , sid] = k.split(".");
              out.push({ scope: untoken(scope!), node: n, sid: sid!, value: e.string() });
            }
          }
          const back = revived;
          revived = false;
          return { reaped: out, revived: back };
        }),
      put: (key, value) =>
        read(async (b) => {
          const k = token(key);
          const n = Math.ceil(value.length / CHUNK);
          for (let i = 0; i < n; i++) await b.handoff.put(`${k}.${i}`, value.slice(i * CHUNK, (i + 1) * CHUNK));
          await b.handoff.put(k, String(n));
        }),
      take: (key) =>
        read(async (b) => {
          const k = token(key);
          const head = await b.handoff.get(k);
          if (!live(head)) return undefined;
          let value = "";
          for (let i = 0; i < Number(head.string()); i++) value += (await b.handoff.get(`${k}.${i}`))?.string() ?? "";
          await Promise.all([b.handoff.purge(k), ...Array.from({ length: Number(head.string()) }, (_, i) => b.handoff.purge(`${k}.${i}`))]);
          return value;
        }),
    };

    return {
      store,
      publish(topic, packet) {
        if (nc && !up) return failed(topic)(new Error("nats is unavailable"));
        publish(topic, JSON.stringify(packet));
      },
      subscribe(topic) {
        if (closed || subs.has(topic)) return;
        subs.set(topic, nc ? listen(nc, topic) : (undefined as unknown as Subscription));
      },
      unsubscribe(topic) {
        const s = subs.get(topic);
        subs.delete(topic);
        s?.unsubscribe();
      },
      async ready() {
        // A round trip: the server has every subscription sent before it.
        const c = await conn;
        if (up) await c.flush();
      },
      async close() {
        if (closed) return;
        if (up) {
          await tail.catch(() => {});
          await buckets.then((b) => Promise.all([b.nodes.delete(me), b.presence.delete(`r.${me}`)])).catch(() => {});
        }
        closed = true;
        subs.clear();
        const c = await conn.catch(() => undefined);
        await c?.close();
      },
    };
  }
}

/** Create a NATS broker: `createHub({ broker: createBroker({ servers }) })`. */
export function createBroker(options: NatsBrokerOptions = {}): NatsBroker {
  return new NatsBroker(options);
}
