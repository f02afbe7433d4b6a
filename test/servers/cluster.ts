/**
 * One instance of a cluster, run as a child process by the scale-out tests: the conformance
 * fixture hub on the Bun adapter, port 0, with a Redis or NATS broker. Prints one JSON line
 * `{"url","id"}` once listening. Environment: WIREHUB_BROKER (`redis` | `nats`),
 * WIREHUB_BROKER_URL, WIREHUB_PREFIX, WIREHUB_TTL (ms), WIREHUB_FIXTURE (JSON overrides).
 */
import { serve } from "../../adapters/bun.ts";
import type { Broker } from "../../src/mod.ts";
import { createFixtureHub, overridesFromEnv } from "../fixture.ts";

const env = process.env;
const kind = env.WIREHUB_BROKER ?? "redis";
const common = { prefix: env.WIREHUB_PREFIX, ttl: env.WIREHUB_TTL ? Number(env.WIREHUB_TTL) : undefined, maxReconnectDelay: 200 };
let broker: Broker;
if (kind === "nats") {
  const { createBroker } = await import("../../adapters/nats.ts");
  broker = createBroker({ servers: env.WIREHUB_BROKER_URL, ...common });
} else {
  const { createBroker } = await import("../../adapters/redis.ts");
  broker = createBroker({ url: env.WIREHUB_BROKER_URL, ...common });
}

const states: boolean[] = [];
let connected: () => void;
const first = new Promise<void>((r) => (connected = r));
const hub = createFixtureHub({
  ...overridesFromEnv(env.WIREHUB_FIXTURE),
  broker,
  brokerState: (up) => (states.push(up), up && connected()),
  error: (e) => void ((e as { code?: string }).code === "broker_unavailable" || console.error(e)),
});
hub
  // a join is effective cluster-wide once the broker has the subscription
  .handle("test/join", async (d: { sid: string; group: string }) => (hub.join(d.sid, d.group), await hub.brokerReady(), true))
  // a stream spread over many turns of the event loop, so a connection can die in the middle of it
  .handle("cluster/stream", (d: { from: number; count: number; to?: string; group?: string; batch?: number }) => {
    const batch = d.batch ?? 100;
    let i = d.from;
    const end = d.from + d.count;
    const step = (): void => {
      for (const stop = Math.min(end, i + batch); i < stop; i++) hub.emit("n", i, d.to ? { to: d.to } : { group: d.group });
      if (i < end) setTimeout(step, 1);
      else hub.emit("stream-done", d.from + d.count, { group: "observers" });
    };
    step();
    return true;
  })
  .handle("cluster/info", () => ({ id: hub.id, sessions: [...hub.sessions.keys()], states, metrics: hub.metrics }))
  .handle("cluster/local", (d: { group?: string }) => hub.presence.list(d.group).map((i) => i.alias).sort())
  // an event for the other instances' listeners, and this instance's own listener of it
  .handle("cluster/to-instances", async (d: { event: string; data?: unknown; timeout?: number }) =>
    (await hub.toInstances(d.event, d.data, { timeout: d.timeout })).map((a) => (a.ok ? { instance: a.instance, value: a.value } : { instance: a.instance, code: a.error.code })))
  .onInstance("where", (d, from) => ({ id: hub.id, from, d, sessions: hub.sessions.size }));

await first; // serve once the broker is reachable, so the first sends cross
await hub.brokerReady();
const server = await serve(hub, { port: 0, hostname: "127.0.0.1" });
console.log(JSON.stringify({ url: server.url, id: hub.id }));
const stop = (): void => void server.stop().then(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
