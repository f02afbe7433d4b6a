import { expect, test } from "bun:test";
import { capabilities } from "../adapters/node.ts";
import { TestClient } from "./client.ts";
import { conformance } from "./conformance.ts";
import { lifecycle } from "./lifecycle.ts";
import { nodeCommand, serverEnv, spawnServer } from "./spawn.ts";
import type { Cert } from "./tls.ts";

const start = async (overrides?: object, cert?: Cert) => spawnServer(await nodeCommand("test/servers/node.ts"), serverEnv(overrides, cert));
conformance("node", start, capabilities);
lifecycle("node", start);

test("node: a frame above ws's own ceiling still closes 1009, and the close hook sees 1009", async () => {
  const server = await start({ maxMessageSize: 1000 });
  try {
    const obs = await TestClient.envelope(server.url);
    obs.send({ t: "join", g: "observers", id: "obs" });
    await obs.frame((f) => f.id === "obs");
    const c = await TestClient.connect(server.url + "?tag=huge");
    c.send("x".repeat(100_000)); // above max(2 × 1000, 64 KiB): ws refuses it before the core sees it
    expect((await c.closed).code).toBe(1009);
    const hook = await obs.frame((f) => f.e === "closed" && (f.d as { tag: string }).tag === "huge");
    expect(hook.d).toMatchObject({ code: 1009 });
    await obs.close();
  } finally {
    await server.stop();
  }
});
