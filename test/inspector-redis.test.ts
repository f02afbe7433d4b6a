/**
 * The inspector across instances on the machine's shared Redis (own prefix): two hubs in this
 * process, each with its own RedisBroker (own connections), as two instances would have. The
 * instance list comes from the Redis store; a drop from A's inspector reaches B through Redis.
 */
import { afterAll, expect, test } from "bun:test";
import { createClient } from "@redis/client";
import { createBroker } from "../adapters/redis.ts";
import { createInspector, type InspectorSnapshot } from "../src/inspector.ts";
import { createHub, type Hub } from "../src/mod.ts";
import { sseReader } from "./inspector-helpers.ts";
import { MemoryHost } from "./memory-host.ts";

const URL_ = "redis://127.0.0.1:6379";
const PREFIX = `wirehub-insp-${crypto.randomUUID().slice(0, 8)}:`;
const TOKEN = "t0ken-with-some-length";
const hubs: Hub[] = [];

afterAll(async () => {
  await Promise.all(hubs.map((h) => h.close({ timeout: 50 })));
  const c = createClient({ url: URL_ });
  await c.connect();
  const keys = (await c.sendCommand(["KEYS", PREFIX + "*"])) as string[];
  if (keys.length > 0) await c.sendCommand(["DEL", ...keys]);
  c.destroy();
});

test("on Redis: A's inspector lists both instances with their sessions, and its drop closes a session on B", async () => {
  const make = () => createHub({ broker: createBroker({ url: URL_, prefix: PREFIX, ttl: 600 }), authorize: () => true });
  const [a, b] = [make(), make()];
  hubs.push(a, b);
  const far = new MemoryHost(b);
  await far.connect();
  const dropMe = await far.connect("http://hub.test/", "wirehub.v1");
  await Promise.all([a.brokerReady(), b.brokerReady()]);
  const inspector = createInspector(a, { token: TOKEN, actions: true, interval: 50 });
  const feed = sseReader((await inspector.fetch(new Request(`http://hub.test/_wirehub?feed&token=${TOKEN}`)))!.body!);
  let s: InspectorSnapshot | undefined;
  for (let i = 0; i < 60; i++) {
    s = JSON.parse((await feed.next()).data) as InspectorSnapshot;
    if (s.instance.instances?.find((x) => x.id === b.id)?.sessions === 2) break;
  }
  await feed.cancel();
  expect(s!.instance.broker).toBe("RedisBroker");
  expect(s!.instance.instances!.map(({ id, sessions, self }) => ({ id, sessions, self }))).toEqual([
    { id: a.id, sessions: 0, self: true },
    { id: b.id, sessions: 2, self: false },
  ]);

  const r = (await inspector.fetch(new Request("http://hub.test/_wirehub", {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify({ action: "drop", id: dropMe.session.id, code: 4400, reason: "via redis" }),
  })))!;
  expect(await r.json()).toEqual({ ok: true, local: false });
  for (let i = 0; i < 200 && !dropMe.closed; i++) await new Promise((r) => setTimeout(r, 10));
  expect(dropMe.closed).toEqual({ code: 4400, reason: "via redis" });
}, 20_000);
