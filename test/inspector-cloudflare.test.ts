/**
 * The inspector inside a Durable Object, in workerd through miniflare: the Worker routes by
 * `?room=`, the object's `fetch` hands inspector paths to the inspector and the rest to the hub.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Miniflare } from "miniflare";
import { join } from "node:path";
import type { InspectorSnapshot } from "../src/inspector.ts";
import { TestClient } from "./client.ts";
import { parsePrometheus, sample, sseReader } from "./inspector-helpers.ts";
import { bundle } from "./servers/cloudflare/start.ts";

const TOKEN = "cf-inspector-token";
let mf: Miniflare;
let http: string;

beforeAll(async () => {
  mf = new Miniflare({
    name: "wirehub-inspector",
    modules: true,
    script: await bundle(join(import.meta.dir, "servers/cloudflare/inspector-worker.ts")),
    compatibilityDate: "2026-07-01",
    bindings: { INSPECTOR_TOKEN: TOKEN },
    durableObjects: { HUB: { className: "InspectedHub", useSQLite: true } },
    host: "127.0.0.1",
    port: 0,
  });
  http = (await mf.ready).origin;
}, 60_000);

afterAll(() => mf?.dispose());

test("cloudflare: one room's inspector lists that room's sessions, drops one, and serves Prometheus text", async () => {
  const ws = `${http.replace(/^http/, "ws")}/?room=lobby`;
  const a = await TestClient.envelope(ws + "&tag=a");
  const raw = await TestClient.connect(ws + "&tag=raw");
  const elsewhere = await TestClient.envelope(`${http.replace(/^http/, "ws")}/?room=other`);
  raw.send("__sid");
  raw.sid = (await raw.next()) as string;
  await a.call("test/join", { sid: raw.sid, group: "g" });

  expect((await fetch(`${http}/_wirehub?room=lobby`)).status).toBe(401);
  expect((await fetch(`${http}/_wirehub?room=lobby&token=wrong`)).status).toBe(403);
  expect((await fetch(`${http}/_wirehub?room=lobby&token=${TOKEN}`)).headers.get("content-type")).toStartWith("text/html");

  const res = await fetch(`${http}/_wirehub?room=lobby&feed&token=${TOKEN}`);
  expect(res.headers.get("content-type")).toStartWith("text/event-stream");
  const feed = sseReader(res.body!);
  const snap = JSON.parse((await feed.next()).data) as InspectorSnapshot;
  expect(snap.sessions.list.map((s) => s.id).sort()).toEqual([a.sid, raw.sid].sort()); // not the other room's
  expect(snap.groups.list).toEqual([{ name: "g", members: 1, present: [] }]);
  expect(snap.sessions.list.find((s) => s.id === raw.sid)).toMatchObject({ mode: "raw", remoteAddress: "127.0.0.1", bufferedAmount: 0 });
  const next = JSON.parse((await feed.next()).data) as InspectorSnapshot;
  expect(next.t).toBeGreaterThan(snap.t);
  await feed.cancel();

  const drop = await fetch(`${http}/_wirehub?room=lobby`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ action: "drop", id: raw.sid, code: 4003, reason: "dropped in a Durable Object" }),
  });
  expect(await drop.json()).toEqual({ ok: true, local: true });
  expect(await raw.closed).toEqual({ code: 4003, reason: "dropped in a Durable Object" });

  const metrics = await fetch(`${http}/metrics?room=lobby`, { headers: { authorization: `Bearer ${TOKEN}` } });
  const { samples } = parsePrometheus(await metrics.text());
  expect(sample(samples, "wirehub_sessions")).toBe(1);
  expect(sample(samples, "wirehub_closes_total", { code: "4003" })).toBe(1);
  await a.close();
  await elsewhere.close();
}, 60_000);
