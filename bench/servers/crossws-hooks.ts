/**
 * The hooks of the crossws bench targets (Bun, Node) and of `bench/frame-cost.ts`: the same work
 * as the wirehub target. Each peer gets per-peer data and two groups ("bench" and one of 100); a
 * text starting with "B" is published to "bench" (sender excluded), any other is echoed.
 */
import type { Hooks } from "crossws";

/** A fresh set of hooks, numbering its own peers. */
export function benchHooks(): Partial<Hooks> {
  let n = 0;
  return {
    open(peer) {
      const i = n++;
      (peer.context as Record<string, unknown>).user = "u" + i;
      peer.subscribe("bench");
      peer.subscribe("g" + (i % 100));
    },
    message(peer, message) {
      const t = message.text();
      if (t.charCodeAt(0) === 66) peer.publish("bench", t);
      else peer.send(t);
    },
  };
}
