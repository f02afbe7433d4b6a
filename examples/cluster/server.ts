/**
 * One instance of the cluster example: a chat lobby on Bun, scaled out through Redis.
 * `PORT=8081 NAME=a REDIS_URL=redis://127.0.0.1:6379 bun run examples/cluster/server.ts`
 * (`npm run cluster` starts three of them and a client on each).
 *
 * Clients connect with `?name=<alias>` and the `wirehub.v1` subprotocol, land in the group
 * "lobby", and see everyone in it on every instance: chat events, presence, `who`, private
 * messages (`dm`), resume, and a poll that asks every member (`hub.askAll`) all cross instances.
 */
import { createHub } from "wirehub";
import { serve } from "wirehub/bun";
import { createBroker } from "wirehub/redis";

const name = process.env.NAME ?? "a";
const hub = createHub<{ name: string }>({
  broker: createBroker({ url: process.env.REDIS_URL ?? "redis://127.0.0.1:6379", prefix: "wirehub-example:" }),
  origins: "*",
  upgrade(req) {
    const alias = new URL(req.url).searchParams.get("name") ?? `guest-${Math.floor(Math.random() * 1000)}`;
    return { data: { name: alias }, auth: { alias, groups: ["lobby"] } };
  },
  brokerState: (up) => console.log(`[${name}] redis ${up ? "connected" : "unreachable: local delivery only"}`),
});
hub.on("chat", (text: string, session) => {
  session.broadcast("chat", { from: session.alias, text, via: name }, { group: "lobby", includeSelf: true });
});
// Ask everyone in the lobby, on every instance, and tally the answers (one per session).
hub.handle("poll", async (question: string) => {
  const answers = await hub.askAll("vote", question, { group: "lobby", timeout: 2000 });
  const byName = new Map((await hub.fetchSessions({ group: "lobby" })).map((s) => [s.id, s.data.name]));
  return answers.map((a) => `${byName.get(a.id) ?? a.id} ${a.ok ? a.value : a.error.code}`).sort();
});

const server = await serve(hub, { port: Number(process.env.PORT ?? 8081), hostname: "127.0.0.1" });
await hub.brokerReady();
console.log(`[${name}] listening on ${server.url}`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => void server.stop().then(() => process.exit(0)));
}
