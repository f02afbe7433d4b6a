/** The scale-out suite on NATS: the machine's shared server (own prefix) and private servers for outages. */
import { connect } from "@nats-io/transport-node";
import { Kvm } from "@nats-io/kv";
import { subjectOf } from "../adapters/nats.ts";
import { freePort } from "./cluster-harness.ts";
import { scaleSuite } from "./scale.ts";

let monitor = 0; // monitoring port of the latest private server: it counts subscriptions

scaleSuite({
  kind: "nats",
  url: "127.0.0.1:4222",
  urlOf: (port) => `127.0.0.1:${port}`,
  serverArgs: async () => ["-m", String((monitor = await freePort()))],
  async counter(url, prefix) {
    const nc = await connect({ servers: url });
    const counts = new Map<string, number>();
    const sub = nc.subscribe(`${prefix}.>`, { callback: (_e, m) => void counts.set(m.subject, (counts.get(m.subject) ?? 0) + 1) });
    await nc.flush();
    return {
      count: (topic) => counts.get(subjectOf(prefix, topic)) ?? 0,
      // a request to ourselves: the server delivers in order, so everything before it has arrived
      async settle() {
        const done = new Promise<void>((resolve) => nc.subscribe(`${prefix}-settle`, { max: 1, callback: () => resolve() }));
        await nc.flush();
        nc.publish(`${prefix}-settle`, "x");
        await done;
      },
      async close() {
        sub.unsubscribe();
        await nc.close();
      },
    };
  },
  async subscribers(_url, prefix, topic) {
    const r = (await (await fetch(`http://127.0.0.1:${monitor}/subsz?subs=1&limit=10000`)).json()) as { subscriptions_list?: { subject: string }[] };
    return (r.subscriptions_list ?? []).filter((s) => s.subject === subjectOf(prefix, topic)).length;
  },
  async forget(url, prefix) {
    const nc = await connect({ servers: url });
    const kvm = new Kvm(nc);
    for (const b of ["presence", "nodes", "handoff"]) await (await kvm.open(`${prefix}-${b}`)).destroy().catch(() => {});
    await nc.close();
  },
});
