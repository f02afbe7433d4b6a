/**
 * Redis broker: hubs on one Redis act as one hub. Sends cross instances through Redis pub/sub
 * (one PUBLISH per send per topic, JSON packets, channel = prefix + topic); presence lives in
 * Redis hashes (one per scope) with a per-instance key whose TTL a heartbeat refreshes; a
 * resume hand-over's frames pass through a key with a TTL.
 * Client: `@redis/client` (node-redis), https://github.com/redis/node-redis — it runs on Node,
 * Bun and Deno (npm:), and resubscribes by itself after a reconnect.
 *
 * ```ts
 * import { createHub } from "wirehub";
 * import { createBroker } from "wirehub/redis";
 * const hub = createHub({ broker: createBroker({ url: "redis://127.0.0.1:6379" }) });
 * ```
 * @module
 */
import { createClient } from "@redis/client";
import type { Broker, BrokerLink, BrokerNode, BrokerStore, Packet, StoreEntry } from "../src/mod.ts";

/** Options of {@link createBroker}. */
export interface RedisBrokerOptions {
  /** Redis URL (`redis://[user:password@]host:port[/db]`, `rediss://` for TLS). Default `redis://127.0.0.1:6379`. */
  readonly url?: string;
  /** Prefix of every channel and key, so several applications can share one Redis. Default `"wirehub:"`. */
  readonly prefix?: string;
  /** Milliseconds after which a silent instance counts as dead and its sessions leave presence. Default 15 000. */
  readonly ttl?: number;
  /** Longest wait between reconnect attempts, in ms (they start at 50 ms and double). Default 2 000. */
  readonly maxReconnectDelay?: number;
}

type Client = ReturnType<typeof createClient>;

// Reap every instance whose alive key expired: remove its presence entries and return them,
// after 1 if this instance was not in `nodes` (its first beat, or it was reaped), else 0.
// Atomic, so exactly one instance reaps (and announces) each dead one.
const BEAT = `
local p, me, ttl = ARGV[1], ARGV[2], ARGV[3]
redis.call('SET', p .. 'alive:' .. me, '1', 'PX', ttl)
local out = {redis.call('SADD', p .. 'nodes', me)}
for _, n in ipairs(redis.call('SMEMBERS', p .. 'nodes')) do
  if redis.call('EXISTS', p .. 'alive:' .. n) == 0 then
    for _, f in ipairs(redis.call('HKEYS', p .. 'held:' .. n)) do
      local i = string.find(f, '\\n', 1, true)
      local scope, sid = string.sub(f, 1, i - 1), string.sub(f, i + 1)
      local v = redis.call('HGET', p .. 'p:' .. scope, sid)
      if v and string.sub(v, 1, #n + 1) == n .. '\\n' then
        redis.call('HDEL', p .. 'p:' .. scope, sid)
        table.insert(out, scope); table.insert(out, sid); table.insert(out, v)
      end
    end
    redis.call('DEL', p .. 'held:' .. n)
    redis.call('SREM', p .. 'nodes', n)
  end
end
return out`;

// Remove an entry only while it is this instance's (a session handed to another instance keeps its entry).
const DEL = `
local v = redis.call('HGET', KEYS[1], ARGV[1])
if v and string.sub(v, 1, #ARGV[2] + 1) == ARGV[2] .. '\\n' then redis.call('HDEL', KEYS[1], ARGV[1]) end
redis.call('HDEL', KEYS[2], ARGV[3])
return 0`;

// Forget this instance on a clean close: its liveness and its index (entries were deleted one by one).
const BYE = `
redis.call('DEL', ARGV[1] .. 'alive:' .. ARGV[2], ARGV[1] .. 'held:' .. ARGV[2])
redis.call('SREM', ARGV[1] .. 'nodes', ARGV[2])
return 0`;

/** A broker on Redis. Each hub that connects opens two connections: commands and subscriptions. */
export class RedisBroker implements Broker {
  readonly #o: Required<RedisBrokerOptions>;

  /** A Redis broker; it connects on the first hub that uses it. */
  constructor(options: RedisBrokerOptions = {}) {
    this.#o = {
      url: options.url ?? "redis://127.0.0.1:6379",
      prefix: options.prefix ?? "wirehub:",
      ttl: options.ttl ?? 15_000,
      maxReconnectDelay: options.maxReconnectDelay ?? 2_000,
    };
  }

  /** Attach one hub: connect (in the background), and give it its link. */
  connect(node: BrokerNode): BrokerLink {
    const { url, prefix: p, ttl, maxReconnectDelay } = this.#o;
    // RESP2: replies to raw commands are flat arrays (RESP3, the client's default, maps HGETALL to an object)
    const options = { url, RESP: 2 as const, socket: { reconnectStrategy: (n: number) => Math.min(50 * 2 ** n, maxReconnectDelay) } };
    const cmd: Client = createClient(options);
    const sub: Client = createClient(options);
    const topics = new Set<string>();
    let everUp = false;
    let up = false;
    let closed = false;
    let pending: Promise<unknown> = Promise.resolve();
    let beaten = false; // a beat of this link has succeeded
    // Commands are queued by the client until the first connection; after that a command made
    // while Redis is away fails at once (reported), rather than waiting for an unknown time.
    const usable = (): boolean => !everUp || up;
    const down = (error: unknown): void => {
      if (!up || closed) return;
      up = false;
      node.state?.(false, error);
    };
    const check = (): void => {
      if (closed || up || !cmd.isReady || !sub.isReady) return;
      up = everUp = true;
      node.state?.(true);
    };
    for (const c of [cmd, sub]) {
      c.on("error", down); // an error listener is required: without it the client throws
      c.on("reconnecting", () => down(new Error("redis connection lost")));
      c.on("ready", check);
    }
    const onMessage = (message: string, channel: string): void => {
      let packet: Packet;
      try {
        packet = JSON.parse(message) as Packet;
      } catch {
        return; // not ours
      }
      if (packet.o !== node.id) node.receive(channel.slice(p.length), packet);
    };
    const failed = (topic: string) => (error: unknown): void => node.failed?.(topic, error);
    const command = <T>(args: string[], topic: string): Promise<T> => {
      if (!usable()) return Promise.reject(new Error("redis is unavailable"));
      return cmd.sendCommand<T>(args).catch((e: unknown) => {
        failed(topic)(e);
        throw e;
      });
    };
    const write = (args: string[], topic: string): void => void command(args, topic).catch(() => {});
    cmd.connect().catch(down);
    sub.connect().catch(down);

    const store: BrokerStore = {
      ttl,
      set(scope, sid, value) {
        write(["HSET", `${p}p:${scope}`, sid, `${node.id}\n${value}`], scope);
        write(["HSET", `${p}held:${node.id}`, `${scope}\n${sid}`, "1"], scope);
      },
      delete(scope, sid) {
        write(["EVAL", DEL, "2", `${p}p:${scope}`, `${p}held:${node.id}`, sid, node.id, `${scope}\n${sid}`], scope);
      },
      async list(scope, sid) {
        const key = `${p}p:${scope}`;
        const raw = sid === undefined
          ? await command<string[]>(["HGETALL", key], scope)
          : [sid, await command<string | null>(["HGET", key, sid], scope)];
        const out: StoreEntry[] = [];
        for (let i = 0; i + 1 < raw.length; i += 2) {
          const v = raw[i + 1];
          if (typeof v !== "string") continue;
          const cut = v.indexOf("\n");
          out.push({ scope, sid: raw[i]!, node: v.slice(0, cut), value: v.slice(cut + 1) });
        }
        return out;
      },
      async beat() {
        const [added, ...raw] = await command<[number, ...string[]]>(["EVAL", BEAT, "0", p, node.id, String(ttl)], "beat");
        // Reaping removes an instance from `nodes`: added again after its first beat, it had been reaped.
        const revived = beaten && added === 1;
        beaten = true;
        const reaped: StoreEntry[] = [];
        for (let i = 0; i + 2 < raw.length; i += 3) {
          const v = raw[i + 2]!;
          const cut = v.indexOf("\n");
          reaped.push({ scope: raw[i]!, sid: raw[i + 1]!, node: v.slice(0, cut), value: v.slice(cut + 1) });
        }
        return { reaped, revived };
      },
      async put(key, value, ms) {
        await command(["SET", `${p}k:${key}`, value, "PX", String(ms)], key);
      },
      async take(key) {
        return (await command<string | null>(["GETDEL", `${p}k:${key}`], key)) ?? undefined;
      },
    };

    return {
      store,
      publish(topic, packet) {
        if (!usable()) return failed(topic)(new Error("redis is unavailable"));
        cmd.sendCommand(["PUBLISH", p + topic, JSON.stringify(packet)]).catch(failed(topic));
      },
      subscribe(topic) {
        if (closed || topics.has(topic)) return;
        topics.add(topic);
        // The client keeps the subscription across reconnects; while Redis is away it waits.
        pending = sub.subscribe(p + topic, onMessage).catch((e: unknown) => node.failed?.(topic, e));
      },
      unsubscribe(topic) {
        if (closed || !topics.delete(topic)) return;
        pending = sub.unsubscribe(p + topic, onMessage).catch(() => {});
      },
      async ready() {
        await pending;
      },
      async close() {
        if (closed) return;
        if (up) await cmd.sendCommand(["EVAL", BYE, "0", p, node.id]).catch(() => {});
        closed = true;
        topics.clear();
        // destroy, not quit: a close during an outage must not wait for Redis to come back
        for (const c of [cmd, sub]) if (c.isOpen) c.destroy();
      },
    };
  }
}

/** Create a Redis broker: `createHub({ broker: createBroker({ url }) })`. */
export function createBroker(options: RedisBrokerOptions = {}): RedisBroker {
  return new RedisBroker(options);
}
