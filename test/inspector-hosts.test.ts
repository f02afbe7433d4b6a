/**
 * The inspector on hosts other than Bun, each a child process (test/servers/inspector.ts): the
 * page's tokens, the snapshot feed, a drop action and the Prometheus path, all through the
 * adapter's `fetch` option; and a server stops cleanly while a feed is still open. Then Hono
 * (on Bun, in this process): the inspector as middleware in front of the app's routes.
 */
import { describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { serve, upgrade } from "../adapters/hono.ts";
import { createInspector, type InspectorSnapshot } from "../src/inspector.ts";
import { createFixtureHub } from "./fixture.ts";
import { TestClient } from "./client.ts";
import { parsePrometheus, sample, sseReader } from "./inspector-helpers.ts";
import { denoCommand, nodeCommand, spawnServer, type Command } from "./spawn.ts";

const TOKEN = "host-inspector-token";
const auth = { authorization: `Bearer ${TOKEN}` };

const hosts: [string, () => Promise<Command>][] = [
  ["node", () => nodeCommand("test/servers/inspector.ts")],
  ["deno", async () => denoCommand("test/servers/inspector.ts")],
];

for (const [name, command] of hosts) {
  describe(`inspector on ${name}`, () => {
    test("tokens, the snapshot feed, a drop, Prometheus text; stop with a feed open", async () => {
      const server = await spawnServer(await command());
      let stopped = false;
      try {
        const http = server.url.replace(/^ws/, "http").replace(/\/ws$/, "");
        expect((await fetch(`${http}/_wirehub`)).status).toBe(401);
        expect((await fetch(`${http}/_wirehub?feed&token=wrong`)).status).toBe(403);
        expect((await fetch(`${http}/elsewhere`)).status).toBe(404);
        const page = await fetch(`${http}/_wirehub?token=${TOKEN}`);
        expect(page.status).toBe(200);
        expect(await page.text()).toContain("<title>wirehub inspector</title>");

        const env = await TestClient.envelope(server.url + "?tag=env");
        const raw = await TestClient.connect(server.url + "?tag=raw");
        raw.send("__sid");
        raw.sid = (await raw.next()) as string;
        await env.call("test/join", { sid: env.sid, group: "room" });
        await env.call("test/join", { sid: raw.sid, group: "room" });

        const res = await fetch(`${http}/_wirehub?feed`, { headers: auth });
        expect(res.headers.get("content-type")).toStartWith("text/event-stream");
        const feed = sseReader(res.body!);
        const snap = JSON.parse((await feed.next()).data) as InspectorSnapshot;
        expect(snap.sessions.total).toBe(2); // the feed itself is no session
        expect(snap.sessions.list.map((s) => [s.id, s.mode, s.groups]).sort()).toEqual(
          [[env.sid, "envelope", ["room"]], [raw.sid, "raw", ["room"]]].sort(),
        );
        expect(snap.groups.list).toEqual([{ name: "room", members: 2, present: [] }]);
        const later = JSON.parse((await feed.next()).data) as InspectorSnapshot;
        expect(later.t).toBeGreaterThan(snap.t);

        const drop = await fetch(`${http}/_wirehub`, {
          method: "POST",
          headers: { ...auth, "content-type": "application/json" },
          body: JSON.stringify({ action: "drop", id: raw.sid, code: 4002, reason: `dropped on ${name}` }),
        });
        expect(await drop.json()).toEqual({ ok: true, local: true });
        expect(await raw.closed).toEqual({ code: 4002, reason: `dropped on ${name}` });

        const metrics = await fetch(`${http}/metrics`, { headers: auth });
        expect(metrics.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
        const { samples } = parsePrometheus(await metrics.text());
        expect(sample(samples, "wirehub_sessions")).toBe(1);
        expect(sample(samples, "wirehub_sessions_opened_total")).toBe(2);
        expect(sample(samples, "wirehub_closes_total", { code: "4002" })).toBe(1);
        expect(sample(samples, "wirehub_messages_in_total")).toBeGreaterThanOrEqual(3);

        // Stopping with a viewer attached: the feed ends (a bye event, or the connection closing) and the process exits 0.
        const ended = (async () => {
          for (;;) if ((await feed.next()).event === "bye") return "bye";
        })().catch(() => "closed");
        const closed = env.closed;
        await server.stop();
        stopped = true;
        const how = await ended;
        expect(["bye", "closed"]).toContain(how);
        expect((await closed).code).toBe(1001);
      } finally {
        if (!stopped) await server.stop();
      }
    }, 60_000);
  });
}

describe("inspector on hono (bun)", () => {
  test("as middleware in front of the app's routes: page, feed and metrics; the app keeps its own", async () => {
    const hub = createFixtureHub();
    const inspector = createInspector(hub, { token: TOKEN, metricsPath: "/metrics" });
    const app = new Hono();
    app.use((c, next) => inspector.fetch(c.req.raw) ?? next());
    app.get("/ws", upgrade(hub));
    app.get("/", (c) => c.text("the app"));
    const server = await serve(hub, { app, port: 0, hostname: "127.0.0.1" });
    try {
      const http = server.url.replace(/^ws/, "http").replace(/\/$/, "");
      const client = await TestClient.envelope(server.url + "ws");
      expect(await (await fetch(http + "/")).text()).toBe("the app");
      expect((await fetch(http + "/_wirehub")).status).toBe(401);
      expect((await fetch(http + "/_wirehub", { headers: auth })).headers.get("content-type")).toStartWith("text/html");
      const feed = sseReader((await fetch(http + "/_wirehub?feed", { headers: auth })).body!);
      const snap = JSON.parse((await feed.next()).data) as InspectorSnapshot;
      expect(snap.sessions.list.map((s) => s.id)).toEqual([client.sid]);
      await feed.cancel();
      const { samples } = parsePrometheus(await (await fetch(http + "/metrics", { headers: auth })).text());
      expect(sample(samples, "wirehub_sessions")).toBe(1);
      await client.close();
    } finally {
      await server.stop();
    }
  });
});
