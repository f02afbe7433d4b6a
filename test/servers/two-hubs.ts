/**
 * The hubs of the "several hubs on one server" tests (test/bun.test.ts in-process, and
 * test/servers/hono-two.ts in each runtime). Each hub answers request `name` with its name,
 * echoes raw frames with its name in front, broadcasts event `shout` to its `lobby` (every
 * session joins it at upgrade) and, on request `announce`, sends `news` to its lobby and `all`
 * to everyone.
 */
import { createHub, type Hub } from "../../src/mod.ts";

/** One such hub; `closed` is told its name when one of its sessions closes. */
export function makeHub(name: string, closed?: (name: string) => void): Hub {
  const hub = createHub({
    upgrade: () => ({ auth: { groups: ["lobby"] } }),
    message: (s, m) => void s.send(`${name}:${String(m.data)}`),
    close: closed && (() => closed(name)),
  });
  hub.handle("name", () => name);
  hub.handle("announce", () => {
    hub.emit("news", `${name}'s lobby`, { group: "lobby" });
    hub.emit("all", `everyone on ${name}`);
    return true;
  });
  hub.on("shout", (d, s) => s.broadcast("shout", `${name}:${String(d)}`, { group: "lobby" }));
  return hub;
}
