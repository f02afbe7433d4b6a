/**
 * A Node server for a hub with no upgrade hook and no origin-policy function (the adapter then
 * decides upgrades without building a `Request`). A raw session is sent, on open, what the hub
 * kept of its upgrade as JSON; an envelope session can ask for it with `whoami`. Prints its URL,
 * stops on SIGTERM.
 */
import { createHub, type Session } from "../../src/mod.ts";
import { serve } from "../../adapters/node.ts";

if ("Bun" in globalThis || "Deno" in globalThis) throw new Error("this entry must run under Node itself");
const kept = (s: Session) => ({ url: s.url, path: s.path, mode: s.mode, protocol: s.protocol, remote: s.remoteAddress, headers: [...s.headers] });
const hub = createHub({
  protocols: ["protocolOne"],
  open(session) {
    if (session.mode === "raw") session.send(JSON.stringify(kept(session)));
  },
});
hub.handle("whoami", (_d, s) => kept(s));
const server = await serve(hub, { port: 0, hostname: "127.0.0.1" });
console.log(server.url);
process.once("SIGTERM", () => void server.stop().then(() => process.exit(0)));
