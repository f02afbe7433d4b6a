/**
 * The examples, run as their users run them (`bun run examples/…` in a child process, on a
 * free port), exercised with bare WebSockets and the wirehub client.
 */
import { afterAll, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { connect, RemoteError } from "../src/client.ts";
import type { TodoApi } from "../examples/rpc-api.ts";
import { TestClient, upgradeStatus } from "./client.ts";
import { startCommand, startExample, type Example } from "./example-process.ts";

const running: Example[] = [];
afterAll(async () => {
  for (const e of running) await e.stop();
});

const root = join(import.meta.dir, "..");
const bin = (name: string) => join(root, "node_modules", ".bin", name);

/** The README's quick start on each runtime, as its npm scripts run it. */
async function startEcho(runtime: "bun" | "deno" | "node"): Promise<Example> {
  const scripts = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
  if (runtime === "bun") {
    expect(scripts.echo).toBe("bun run examples/echo.ts");
    return startExample("examples/echo.ts");
  }
  if (runtime === "deno") {
    expect(scripts["echo:deno"]).toBe("deno run -A examples/echo.ts");
    return startCommand([bin("deno"), "run", "-A", "examples/echo.ts"], {}, 60_000);
  }
  // `npm run echo:node` is "esbuild … --outfile=.artifacts/echo.mjs && node .artifacts/echo.mjs":
  // the same build into a file of this test's own, then node on it (a signal reaches node itself).
  const [build, run] = scripts["echo:node"]!.split(" && ");
  expect(run).toBe("node .artifacts/echo.mjs");
  const outfile = `.artifacts/echo-${process.pid}.mjs`;
  const esbuild = Bun.spawnSync(["sh", "-c", build!.replace("--outfile=.artifacts/echo.mjs", `--outfile=${outfile}`)], {
    cwd: root, env: { ...process.env, PATH: `${join(root, "node_modules", ".bin")}:${process.env.PATH}` }, stderr: "pipe",
  });
  if (esbuild.exitCode !== 0) throw new Error(`echo:node build failed: ${esbuild.stderr}`);
  const ex = await startCommand(["node", outfile]);
  return { ...ex, stop: () => ex.stop().finally(() => rmSync(join(root, outfile), { force: true })) };
}

for (const runtime of ["bun", "deno", "node"] as const) {
  test(`echo (the quick start) on ${runtime}: wirehub/server picks the host; bare frames and envelope events come back`, async () => {
    const ex = await startEcho(runtime);
    running.push(ex);
    const bare = await TestClient.connect(ex.url);
    bare.send("hello");
    expect(await bare.next()).toBe("hello");
    bare.send(new Uint8Array([0, 1, 2, 255]));
    expect(new Uint8Array((await bare.next()) as ArrayBuffer)).toEqual(new Uint8Array([0, 1, 2, 255]));
    const env = await TestClient.envelope(ex.url);
    env.send("{not json");
    expect(await env.frame((f) => f.t === "err")).toMatchObject({ c: "bad_frame" });
    env.send({ t: "evt", e: "greet", d: { from: runtime } }); // still open after the bad frame
    expect(await env.frame((f) => f.t === "evt")).toMatchObject({ e: "greet", d: { from: runtime } });
    const client = await connect(ex.url);
    const back = new Promise((resolve) => client.on("ping-pong", resolve));
    client.emit("ping-pong", [1, "two"]);
    expect(await back).toEqual([1, "two"]);
    client.close();
    await Promise.all([bare.close(), env.close()]);
  }, 90_000);
}

test("raw-rooms: the Espruino room protocol with bare WebSockets", async () => {
  const ex = await startExample("examples/raw-rooms.ts");
  running.push(ex);
  const [a, b, c] = [await TestClient.connect(ex.url), await TestClient.connect(ex.url), await TestClient.connect(ex.url)];
  for (const x of [a, b, c]) expect(await x.next()).toBe("User Joined");
  for (const [x, name] of [[a, "a"], [b, "b"]] as const) {
    x.send(JSON.stringify({ join: "kitchen" }));
    x.send(JSON.stringify({ room: "kitchen", msg: `${name} is here` })); // same socket: after the join
    expect(await x.next((m) => m === `${name} is here`)).toBe(`${name} is here`);
  }
  a.send(JSON.stringify({ room: "kitchen", msg: "dinner is ready" }));
  for (const x of [a, b]) expect(await x.next((m) => m === "dinner is ready")).toBe("dinner is ready");
  c.send(JSON.stringify({ room: "all", msg: { temp: 21 } }));
  for (const x of [a, b, c]) expect(await x.next((m) => m === '{"temp":21}')).toBe('{"temp":21}');
  expect(c.all).not.toContain("dinner is ready");
  c.send("not json");
  expect(await c.next()).toBe('{"error":"expected JSON"}');
  for (const x of [a, b, c]) await x.close();
});

test("rpc: typed requests validated by a zod schema; invalid input never reaches the handler", async () => {
  const ex = await startExample("examples/rpc.ts");
  running.push(ex);
  const [alice, bob] = [await connect<TodoApi>(ex.url), await connect<TodoApi>(ex.url)];
  const added = new Promise<{ id: number; title: string }>((resolve) => bob.on("todo/added", resolve));
  expect(await alice.request("todo/add", { title: "write tests", priority: 3 })).toEqual({ id: 1 });
  expect(await added).toEqual({ id: 1, title: "write tests" });
  const bad = await alice.request("todo/add", { title: "" }).catch((e: unknown) => e);
  expect(bad).toBeInstanceOf(RemoteError);
  expect((bad as RemoteError).code).toBe("validation");
  expect(JSON.stringify((bad as RemoteError).data)).toContain("title");
  // @ts-expect-error wrong input type, refused by tsc and, at run time, by the schema
  const bad2 = await alice.request("todo/add", { title: 5 }).catch((e: unknown) => e);
  expect((bad2 as RemoteError).code).toBe("validation");
  expect(await bob.request("todo/list")).toEqual([{ id: 1, title: "write tests", priority: 3 }]);
  alice.close();
  bob.close();
});

test("hono-app: pages, middleware and a hub on one route; the app's guard decides the upgrade", async () => {
  const ex = await startExample("examples/hono-app.ts");
  running.push(ex);
  const http = ex.url.replace(/^ws/, "http");
  const page = await fetch(http);
  expect(page.status).toBe(200);
  expect(page.headers.get("x-powered-by")).toBe("wirehub + hono");
  expect(await page.text()).toContain("Signed in as <b>nobody</b>");
  expect(await upgradeStatus(`${ex.url}ws`)).toBe(401); // the app's guard, before any session
  const login = await fetch(`${http}login?user=ada`, { redirect: "manual" });
  const cookie = login.headers.get("set-cookie")!.split(";")[0]!;
  const sock = new WebSocket(`${ex.url}ws`, { headers: { cookie } } as unknown as string[]);
  const got = new Promise<string>((resolve) => (sock.onmessage = (e) => resolve(e.data as string)));
  await new Promise((r) => (sock.onopen = r));
  sock.send("hello");
  expect(JSON.parse(await got)).toEqual({ from: "ada", text: "hello" });
  sock.close();
});
