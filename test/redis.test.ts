/** The scale-out suite on Redis: the machine's shared Redis (own prefix) and private servers for outages. */
import { createClient } from "@redis/client";
import { scaleSuite } from "./scale.ts";

scaleSuite({
  kind: "redis",
  url: "redis://127.0.0.1:6379",
  urlOf: (port) => `redis://127.0.0.1:${port}`,
  async counter(url, prefix) {
    const sub = createClient({ url });
    await sub.connect();
    const counts = new Map<string, number>();
    let settled: (() => void) | undefined;
    await sub.pSubscribe(prefix + "*", (_m, channel) => {
      const topic = channel.slice(prefix.length);
      if (topic === "__settle") return settled?.();
      counts.set(topic, (counts.get(topic) ?? 0) + 1);
    });
    const pub = createClient({ url });
    await pub.connect();
    return {
      count: (topic) => counts.get(topic) ?? 0,
      // a marker published now arrives after everything Redis took before it
      settle: () => new Promise<void>((resolve) => ((settled = resolve), void pub.publish(prefix + "__settle", "x").catch(() => {}))),
      async close() {
        sub.destroy();
        pub.destroy();
      },
    };
  },
  async subscribers(url, prefix, topic) {
    const c = createClient({ url });
    await c.connect();
    const r = (await c.sendCommand(["PUBSUB", "NUMSUB", prefix + topic])) as [string, number];
    c.destroy();
    return Number(r[1]);
  },
  async forget(url, prefix) {
    const c = createClient({ url });
    await c.connect();
    const keys = (await c.sendCommand(["KEYS", prefix + "*"])) as string[];
    if (keys.length > 0) await c.sendCommand(["DEL", ...keys]);
    c.destroy();
  },
});
