/** examples/cloudflare under miniflare, configured from its own wrangler.toml. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Miniflare } from "miniflare";
import { dirname, join } from "node:path";
import { TestClient, upgradeStatus } from "./client.ts";
import { bundle } from "./servers/cloudflare/start.ts";

interface WranglerConfig {
  name: string;
  main: string;
  compatibility_date: string;
  durable_objects: { bindings: { name: string; class_name: string }[] };
  migrations: { new_sqlite_classes?: string[] }[];
}

const toml = join(import.meta.dir, "..", "examples", "cloudflare", "wrangler.toml");
let mf: Miniflare;
let base = "";
const clients: TestClient[] = [];
const enter = async (room: string, name: string, envelope = true): Promise<TestClient> => {
  const url = `${base}/room/${room}?name=${name}`;
  const c = envelope ? await TestClient.envelope(url) : await TestClient.connect(url);
  clients.push(c);
  return c;
};

beforeAll(async () => {
  const cfg = Bun.TOML.parse(await Bun.file(toml).text()) as WranglerConfig;
  const sqlite = new Set(cfg.migrations.flatMap((m) => m.new_sqlite_classes ?? []));
  mf = new Miniflare({
    name: cfg.name,
    modules: true,
    script: await bundle(join(dirname(toml), cfg.main)),
    compatibilityDate: cfg.compatibility_date,
    durableObjects: Object.fromEntries(cfg.durable_objects.bindings.map((b) => [b.name, { className: b.class_name, useSQLite: sqlite.has(b.class_name) }])),
    host: "127.0.0.1",
    port: 0,
  });
  base = (await mf.ready).href.replace(/^http/, "ws").replace(/\/$/, "");
});
afterAll(async () => {
  for (const c of clients) if (c.ws.readyState <= 1) await c.close();
  await mf?.dispose();
});

test("example: one room per name, chat reaches the room only, a rename survives hibernation", async () => {
  const [ann, bob, eve] = [await enter("lobby", "ann"), await enter("lobby", "bob"), await enter("elsewhere", "eve")];
  const wscat = await enter("lobby", "wscat", false);
  ann.send({ t: "evt", e: "chat", d: "hi" });
  for (const c of [ann, bob]) expect(await c.frame((f) => f.e === "chat")).toEqual({ t: "evt", e: "chat", d: { from: "ann", text: "hi" } });
  expect(await wscat.next()).toBe('{"from":"ann","text":"hi"}');
  await eve.nothing((f) => f.e === "chat");
  expect(await bob.call("count")).toBe(3);

  expect(await bob.call("rename", "robert")).toEqual({ name: "robert" });
  await mf.unsafeEvictDurableObject("wirehub-chat", "Room", { name: "lobby", webSockets: "hibernate" });
  bob.send({ t: "evt", e: "chat", d: "still here" });
  expect((await ann.frame((f) => f.e === "chat")).d).toEqual({ from: "robert", text: "still here" });

  expect(await upgradeStatus(`${base.replace(/^ws/, "http")}/not-a-room`)).toBe(404);
});
