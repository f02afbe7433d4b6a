/**
 * The hub of the wirehub bench target (bench/servers/wirehub.ts), shared with
 * `bench/frame-cost.ts`. Every session is authenticated at upgrade and put in two groups,
 * "bench" and one of 100 others, as the memory scenario asks.
 *
 * raw:      a text frame starting with "B" is broadcast to "bench" (sender excluded); any other
 *           frame is echoed.
 * envelope: event "echo" is echoed, event "bcast" is broadcast to "bench", request "echo"
 *           answers its input.
 */
import type { Broker, createHub, Hub } from "wirehub";

/** A hub made with `create` (this checkout's `createHub`, or another checkout's), with the bench's hooks. */
export function benchHub(create: typeof createHub, broker?: Broker): Hub<{ user: string }> {
  let n = 0;
  const hub = create<{ user: string }>({
    // The bench sends far above the default per-session rate limit (1 000 messages/s) and
    // opens more than the default 100 000 sessions: both limits are off or raised here.
    rateLimit: false,
    maxSessions: 1_000_000,
    broker,
    upgrade: () => {
      const i = n++;
      return { data: { user: "u" + i }, auth: { groups: ["bench", "g" + (i % 100)] } };
    },
    message(session, msg) {
      const d = msg.data;
      if (typeof d === "string" && d.charCodeAt(0) === 66 /* B */) session.broadcast("b", d, { group: "bench" });
      else session.send(d);
    },
  });
  hub.on("echo", (d, s) => s.emit("echo", d));
  hub.on("bcast", (d, s) => s.broadcast("b", d, { group: "bench" }));
  hub.handle("echo", (d) => d);
  return hub;
}
