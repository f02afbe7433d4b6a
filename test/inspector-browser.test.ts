/**
 * The inspector's page in real headless Chromium (/usr/bin/chromium through playwright-core;
 * no browser is downloaded), on Bun: three clients (two envelope, one raw) in groups, the page
 * lists them, counts messages, drops one with a code and reason, sends a test event; wrong
 * tokens are refused and the Prometheus path parses. Saves .artifacts/inspector.png. Then two
 * hubs on one MemoryBroker: the Instances panel lists both with their session counts.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { serve, type ServerHandle } from "../adapters/bun.ts";
import { createInspector } from "../src/inspector.ts";
import { createHub, MemoryBroker, type Hub } from "../src/mod.ts";
import { MemoryHost } from "./memory-host.ts";
import { TestClient } from "./client.ts";
import { createFixtureHub, type FixtureData } from "./fixture.ts";
import { parsePrometheus, sample } from "./inspector-helpers.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const TOKEN = "inspector-test-token-0123456789";

let hub: Hub<FixtureData>;
let server: ServerHandle;
let browser: Browser;
let page: Page;
let http: string;
const clients: TestClient[] = [];

beforeAll(async () => {
  hub = createFixtureHub();
  const inspector = createInspector(hub, { token: TOKEN, actions: true, interval: 200, metricsPath: "/metrics" });
  server = await serve(hub, {
    port: 0,
    hostname: "127.0.0.1",
    path: "/ws",
    fetch: (req) => inspector.fetch(req) ?? new Response("not found", { status: 404 }),
  });
  http = `http://127.0.0.1:${server.port}`;
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
}, 60_000);

afterAll(async () => {
  for (const c of clients) if (c.ws.readyState <= 1) await c.close();
  await browser?.close();
  await server?.stop();
});

const text = (selector: string): Promise<string> => page.locator(selector).innerText();
const count = async (selector: string): Promise<number> => Number((await text(selector)).replace(/,/g, ""));

test("wrong or missing tokens are refused, on the page, the feed, the actions and the metrics", async () => {
  expect((await fetch(`${http}/_wirehub`)).status).toBe(401);
  expect((await fetch(`${http}/_wirehub?token=wrong`)).status).toBe(403);
  expect((await fetch(`${http}/_wirehub?feed&token=wrong`)).status).toBe(403);
  expect((await fetch(`${http}/metrics`, { headers: { authorization: "Bearer wrong" } })).status).toBe(403);
  const act = await fetch(`${http}/_wirehub`, { method: "POST", headers: { "content-type": "application/json", authorization: "Bearer wrong" }, body: "{}" });
  expect(act.status).toBe(403);
  expect((await fetch(`${http}/elsewhere`)).status).toBe(404); // the app's own fetch still answers
});

test("the page lists three clients and their groups, counts messages, drops one and sends a test event", async () => {
  const ws = server.url; // ws://127.0.0.1:<port>/ws
  const a = await TestClient.envelope(ws + "?tag=a");
  const b = await TestClient.envelope(ws + "?tag=b");
  const raw = await TestClient.connect(ws + "?tag=raw");
  clients.push(a, b, raw);
  raw.send("__sid");
  raw.sid = (await raw.next()) as string;
  await a.call("test/set", { sid: a.sid, alias: "ada" });
  const HOSTILE = '<img src=x onerror="window.pwned=1">'; // aliases come from clients: shown as text, never run
  await a.call("test/set", { sid: b.sid, alias: HOSTILE });
  for (const [sid, group] of [[a.sid, "lobby"], [b.sid, "lobby"], [b.sid, "ops"], [raw.sid, "ops"]] as const) await a.call("test/join", { sid, group });

  // Its own query (here a room a Worker might route by) goes with the feed and the actions; the token goes only where needed.
  const asked: string[] = [];
  page.on("request", (r) => asked.push(r.method() + " " + r.url()));
  await page.goto(`${http}/_wirehub?room=lobby&token=${TOKEN}`);
  const row = (sid: string) => `#sessions tr[data-sid="${sid}"]`;
  for (const c of [a, b, raw]) await page.locator(row(c.sid)).waitFor();
  expect(await page.locator("#sessions tbody tr").count()).toBe(3);
  expect(await text(`${row(a.sid)} td:nth-child(2)`)).toBe("ada");
  expect(await text(`${row(a.sid)} td:nth-child(3)`)).toBe("envelope");
  expect(await text(`${row(raw.sid)} td:nth-child(3)`)).toBe("raw");
  const tags = (sid: string) => page.locator(`${row(sid)} td:nth-child(4) .tag`).allInnerTexts();
  expect((await tags(b.sid)).sort()).toEqual(["lobby", "ops"]);
  expect(await tags(raw.sid)).toEqual(["ops"]);
  expect(await tags(a.sid)).toEqual(["lobby"]);
  expect(await text(`${row(a.sid)} td:nth-child(5)`)).toBe("127.0.0.1");
  expect(await text('#groups tr[data-group="lobby"] td:nth-child(2)')).toBe("2");
  expect(await text(`${row(b.sid)} td:nth-child(2)`)).toBe(HOSTILE);
  expect(await page.evaluate(() => [(window as any).pwned, document.querySelectorAll("main img").length])).toEqual([undefined, 0]);
  expect((await text('#groups tr[data-group="lobby"] td:nth-child(3)')).split(", ").sort()).toEqual([HOSTILE, "ada"]); // presence: visible aliases
  expect(await text('#groups tr[data-group="ops"] td:nth-child(3)')).toBe(HOSTILE);
  expect(await text('#groups tr[data-group="ops"] td:nth-child(2)')).toBe("2");
  expect(await count("#s-sessions")).toBe(3);
  expect(await page.locator("#instances").isHidden()).toBe(true); // a single instance: no cluster list
  // The page's own feed is plain HTTP: no session, no count.
  expect(hub.sessions.size).toBe(3);
  expect(hub.metrics.sessions).toBe(3);

  // The search narrows the list (server-side, through a new feed).
  await page.fill("#search", "ops");
  await page.waitForFunction(() => document.querySelectorAll("#sessions tbody tr").length === 2);
  await page.fill("#search", "");
  await page.waitForFunction(() => document.querySelectorAll("#sessions tbody tr").length === 3);

  // Rising message counts: bursts of different sizes, each waited for on the page, draw the chart.
  let sent = await count("#m-in");
  for (const burst of [5, 40, 15, 60, 25, 10]) {
    for (let i = 0; i < burst; i++) a.send({ t: "evt", e: "chat", d: { i } });
    raw.send("raw hello");
    sent += burst + 1;
    await page.waitForFunction((n) => Number(document.getElementById("m-in")!.textContent!.replace(/,/g, "")) >= n, sent);
  }
  expect(await count("#m-in")).toBeGreaterThanOrEqual(sent);
  expect(await count("#m-out")).toBeGreaterThan(0);
  await page.waitForFunction(() => Number(document.getElementById("cm-max")!.textContent!.split(" ")[0]) > 1); // the chart has seen a rate

  mkdirSync(ROOT + ".artifacts", { recursive: true });
  await page.screenshot({ path: ROOT + ".artifacts/inspector.png", fullPage: true });

  // Drop the raw client from the page with a chosen code and reason.
  await page.click(`${row(raw.sid)} button.drop`);
  await page.fill("#drop-code", "4321");
  await page.fill("#drop-reason", "dropped from the inspector page");
  await page.click("#drop-confirm");
  expect(await raw.closed).toEqual({ code: 4321, reason: "dropped from the inspector page" });
  await page.locator(row(raw.sid)).waitFor({ state: "detached" });
  expect(await text("#status")).toBe(`dropped ${raw.sid}`);
  await page.waitForFunction(() => [...document.querySelectorAll("#closes tbody tr")].some((tr) => tr.textContent === "43211"));

  // Send a test event to a group from the page: its members get it, others do not.
  await page.fill("#emit-group", "lobby");
  await page.fill("#emit-event", "notice");
  await page.fill("#emit-data", '{"from":"page"}');
  await page.click("#emit-send");
  for (const c of [a, b]) expect((await c.frame((f) => f.e === "notice")).d).toEqual({ from: "page" });
  // the members can get the event before the page has the POST's answer: wait for the status line
  await page.waitForFunction(() => document.getElementById("status")!.textContent!.startsWith("sent"));
  expect(await text("#status")).toBe("sent to 2 local session(s) in lobby");

  const own = asked.filter((r) => r.includes("/_wirehub"));
  expect(own.filter((r) => r.startsWith("GET ") && r.includes("feed=1"))).not.toHaveLength(0);
  for (const r of own) expect(r).toContain("room=lobby");
  expect(own.filter((r) => r.startsWith("POST "))).toEqual([`POST ${http}/_wirehub?room=lobby`, `POST ${http}/_wirehub?room=lobby`]);
  expect(asked.every((r) => r.startsWith("GET " + http) || r.startsWith("POST " + http))).toBe(true); // nothing from elsewhere

  // Prometheus text: parses strictly and agrees with the hub.
  const res = await fetch(`${http}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(res.status).toBe(200);
  const { samples } = parsePrometheus(await res.text());
  expect(sample(samples, "wirehub_sessions")).toBe(2);
  expect(sample(samples, "wirehub_groups")).toBe(2);
  expect(sample(samples, "wirehub_closes_total", { code: "4321" })).toBe(1);
  expect(sample(samples, "wirehub_messages_in_total")).toBe(hub.metrics.messagesIn);
}, 60_000);

test("the Instances panel lists the hubs of a cluster with their session counts", async () => {
  const broker = new MemoryBroker({ ttl: 300 }); // a heartbeat every 100 ms
  const [a, b] = [createHub({ broker, authorize: () => true }), createHub({ broker, authorize: () => true })];
  const inspector = createInspector(a, { token: TOKEN, interval: 100 });
  const sa = await serve(a, { port: 0, hostname: "127.0.0.1", path: "/ws", fetch: (req) => inspector.fetch(req) ?? new Response("not found", { status: 404 }) });
  try {
    const far = new MemoryHost(b); // b's sessions live on an in-memory host
    await far.connect();
    await far.connect();
    const p = await browser.newPage();
    await p.goto(`http://127.0.0.1:${sa.port}/_wirehub?token=${TOKEN}`);
    const cell = (id: string, n: number) => p.locator(`#instances tr[data-instance="${id}"] td:nth-child(${n})`);
    await p.waitForFunction((id) => document.querySelector(`#instances tr[data-instance="${id}"] td:nth-child(2)`)?.textContent === "2", b.id);
    expect(await p.locator("#instances").isVisible()).toBe(true);
    expect(await p.locator("#instances tbody tr").count()).toBe(2);
    expect(await cell(a.id, 1).innerText()).toBe(`${a.id} (this hub)`);
    expect(await cell(a.id, 2).innerText()).toBe("0");
    expect(await cell(b.id, 3).innerText()).toMatch(/^\d+ s ago$/);
    expect(await p.locator("#inst-broker").innerText()).toBe("a shared MemoryBroker: 2 hub(s) in this process");
    await p.close();
  } finally {
    await sa.stop();
    await Promise.all([a.close({ timeout: 50 }), b.close({ timeout: 50 })]);
  }
}, 30_000);
