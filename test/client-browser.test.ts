/**
 * `wirehub/client` in real headless Chromium (the Debian package at /usr/bin/chromium, driven
 * by playwright-core; no browser is downloaded). The bundle is built here with esbuild's JS API
 * exactly as `npm run build:client` builds it, served with a small page by a Bun server on a
 * free port that also hosts a wirehub hub, and loaded with `<script type="module">`.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { build } from "esbuild";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { serve, type ServerHandle } from "../adapters/bun.ts";
import { createFixtureHub, type FixtureData } from "./fixture.ts";
import { WirehubError, type Hub } from "../src/mod.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const PAGE = `<!doctype html><meta charset="utf-8"><title>wirehub client</title>
<script type="module">
  import * as wirehub from "/client.js";
  window.wirehub = wirehub;
  document.title = "ready";
</script>`;

let hub: Hub<FixtureData>;
let server: ServerHandle;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  await build({
    entryPoints: [ROOT + "src/client.ts"],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    outfile: ROOT + "dist/client.js",
    logLevel: "silent",
  });
  const js = await Bun.file(ROOT + "dist/client.js").text();
  hub = createFixtureHub();
  hub.handle("test/refuse", () => {
    throw new WirehubError("forbidden", "not allowed", { data: { need: "admin" } });
  });
  server = await serve(hub, {
    port: 0,
    hostname: "127.0.0.1",
    path: "/ws",
    fetch: (req) => {
      const path = new URL(req.url).pathname;
      if (path === "/client.js") return new Response(js, { headers: { "content-type": "text/javascript" } });
      if (path === "/") return new Response(PAGE, { headers: { "content-type": "text/html" } });
      return new Response("not found", { status: 404 });
    },
  });
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${server.port}/`);
  await page.waitForFunction(() => document.title === "ready");
}, 60_000);

afterAll(async () => {
  await page?.evaluate(() => (window as any).client?.close());
  await browser?.close();
  await server?.stop();
});

test("connect, event round trip, RPC, reconnect after a server-side drop: in Chromium", async () => {
  const wsUrl = `ws://127.0.0.1:${server.port}/ws`;
  const first = await page.evaluate(async (url) => {
    const w = window as any;
    const client = await w.wirehub.connect(url, { reconnect: { minDelay: 10, maxDelay: 50 }, heartbeat: { interval: 100, timeout: 1000 } });
    w.client = client;
    const echoed = new Promise((resolve) => client.on("chat", resolve));
    client.emit("chat", { text: "from the browser" });
    const bytes = new Promise((resolve) => client.on("bytes", (b: Uint8Array) => resolve([b instanceof Uint8Array, ...b])));
    client.emit("bytes", new Uint8Array([0, 1, 255]));
    const refused = await client.request("test/refuse").catch((e: any) => ({ name: e.name, code: e.code, data: e.data }));
    return {
      sid: client.sid,
      userAgent: navigator.userAgent,
      echoed: await echoed,
      bytes: await bytes,
      whoami: await client.request("whoami"),
      refused,
      rtt: await client.ping(),
    };
  }, wsUrl);
  expect(first.userAgent).toContain("Chrome");
  expect(first.sid).toHaveLength(22);
  expect(first.echoed).toEqual({ text: "from the browser" });
  expect(first.bytes).toEqual([true, 0, 1, 255]);
  expect(first.whoami).toMatchObject({ sid: first.sid, protocol: "wirehub.v1" });
  expect(first.refused).toEqual({ name: "RemoteError", code: "forbidden", data: { need: "admin" } });
  expect(first.rtt).toBeGreaterThanOrEqual(0);

  // The server drops the browser's session with a retryable code; the client comes back by itself.
  await page.evaluate(() => {
    const w = window as any;
    w.events = [];
    for (const name of ["close", "reconnecting", "open"]) w.client.onLifecycle(name, (e: unknown) => w.events.push([name, e]));
    w.reopened = new Promise((resolve) => w.client.onLifecycle("open", resolve));
  });
  expect(hub.drop(first.sid, 1012, "restarting")).toBe(true);
  const second = await page.evaluate(async () => {
    const w = window as any;
    await w.reopened;
    return { sid: w.client.sid, events: w.events, whoami: await w.client.request("whoami") };
  });
  expect(second.sid).not.toBe(first.sid);
  expect(second.whoami).toMatchObject({ sid: second.sid });
  expect(second.events.map((e: [string, unknown]) => e[0])).toEqual(["close", "reconnecting", "open"]);
  expect(second.events[0][1]).toEqual({ code: 1012, reason: "restarting", reconnect: true });
}, 60_000);

test("offline/online aware: a reconnect waiting out a long backoff while offline happens at once when the browser is back online", async () => {
  const wsUrl = `ws://127.0.0.1:${server.port}/ws`;
  // Delays of a minute: within this test only the `online` event can bring the client back.
  const sid = await page.evaluate(async (url) => {
    const w = window as any;
    await w.client?.close();
    w.client = await w.wirehub.connect(url, { reconnect: { minDelay: 60_000, maxDelay: 60_000 }, heartbeat: { interval: 60_000, timeout: 60_000 } });
    w.attempts = [];
    w.client.onLifecycle("reconnecting", (e: unknown) => w.attempts.push(e));
    w.lost = new Promise((resolve) => w.client.onLifecycle("close", resolve));
    w.reopened = new Promise((resolve) => w.client.onLifecycle("open", resolve));
    return w.client.sid;
  }, wsUrl);
  await page.context().setOffline(true);
  expect(await page.evaluate(() => navigator.onLine)).toBe(false);
  expect(hub.drop(sid, 1012, "while offline")).toBe(true);
  const closed = await page.evaluate(async () => {
    const w = window as any;
    return { close: await w.lost, attempts: w.attempts, connected: w.client.connected };
  });
  expect(closed).toMatchObject({ close: { code: 1012, reconnect: true }, connected: false });
  expect(closed.attempts).toHaveLength(1);
  await page.context().setOffline(false);
  const back = await page.evaluate(async () => {
    const w = window as any;
    await w.reopened;
    return { sid: w.client.sid, attempts: w.attempts.length, whoami: await w.client.request("whoami") };
  });
  expect(back.sid).not.toBe(sid);
  expect(back.attempts).toBe(1);
  expect(back.whoami).toMatchObject({ sid: back.sid });
}, 60_000);

test("a cookie the upgrade hook sets on the 101 is kept by Chromium and comes back with the next upgrade", async () => {
  const base = `ws://127.0.0.1:${server.port}/ws`;
  const seen = await page.evaluate(async (base) => {
    const opened = (url: string) =>
      new Promise<WebSocket>((resolve, reject) => {
        const ws = new WebSocket(url);
        ws.onopen = () => resolve(ws);
        ws.onerror = () => reject(new Error("no upgrade: " + url));
      });
    (await opened(base + "?headers=cookies")).close();
    const visible = document.cookie; // a=1 is HttpOnly: the page never sees it
    const ws = await opened(base);
    const sid = await new Promise<string>((resolve) => {
      ws.onmessage = (e) => resolve(e.data as string);
      ws.send("__sid"); // the fixture answers a raw "__sid" with the session's id
    });
    (window as any).cookieSocket = ws; // open until the server side is read
    return { visible, sid };
  }, base);
  expect(seen.visible).toBe("b=2");
  // The session of the second upgrade saw both cookies in its request headers.
  const cookie = (hub.get(seen.sid)?.headers.get("cookie") ?? "").split("; ").sort();
  expect(cookie).toEqual(["a=1", "b=2"]);
  await page.evaluate(() => (window as any).cookieSocket.close());
}, 60_000);
