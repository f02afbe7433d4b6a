/**
 * `wirehub/client` outside Bun, against the wirehub server on Bun: in Node 20 with the `ws`
 * package's WebSocket (Node 20 has no global one), and in Deno with its global WebSocket. Each
 * runtime runs as a child process: connect, event round trip, request, and a reconnect after a
 * server-side drop.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { build } from "esbuild";
import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { startServer, type TestServer } from "./client-helpers.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
let server: TestServer;
let tmp: string;

/** The same script for every runtime; `header` imports `connect` (and `WebSocket` where needed). */
const script = (header: string, options: string): string => `${header}
const url = globalThis.process?.env.WH_URL ?? Deno.env.get("WH_URL");
const c = await connect(url, { ${options} reconnect: { minDelay: 5, maxDelay: 20 }, heartbeat: { interval: 100, timeout: 1000 } });
const first = c.sid;
const echoed = new Promise((r) => c.on("chat", r));
c.emit("chat", { text: "hi", bytes: null });
const bytes = new Promise((r) => c.on("bin", (b) => r([b instanceof Uint8Array, ...b])));
c.emit("bin", new Uint8Array([7, 8, 9]));
const out = { globalWebSocket: typeof globalThis.WebSocket, echoed: await echoed, bytes: await bytes, whoami: await c.request("whoami") };
const reopened = new Promise((r) => c.onLifecycle("open", r));
c.request("test/drop", { sid: first, code: 1012, reason: "bye" }).catch(() => {});
out.open = await reopened;
out.changed = c.sid !== first;
out.after = await c.request("whoami");
await c.close();
console.log(JSON.stringify(out));
`;

beforeAll(async () => {
  server = await startServer();
  tmp = mkdtempSync(join(tmpdir(), "wirehub-client-"));
});
afterAll(async () => {
  await server.stop();
  rmSync(tmp, { recursive: true, force: true });
});

/** Run a child process (asynchronously: the server it talks to lives in this process). */
function run(cmd: string, args: string[]): Promise<Record<string, any>> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd: ROOT, encoding: "utf8", env: { ...process.env, WH_URL: server.url, NO_COLOR: "1" }, timeout: 30_000 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`${cmd} failed: ${error.message}\n${stderr}`));
      resolve(JSON.parse(stdout.trim().split("\n").at(-1)!));
    });
  });
}

function check(out: Record<string, any>): void {
  expect(out.echoed).toEqual({ text: "hi", bytes: null });
  expect(out.bytes).toEqual([true, 7, 8, 9]);
  expect(out.whoami).toMatchObject({ protocol: "wirehub.v1" });
  expect(out.open).toEqual({ sid: out.after.sid, resumed: false });
  expect(out.changed).toBe(true);
}

test("Node (20 here) with the ws package", async () => {
  const bundle = join(tmp, "client.mjs");
  await build({ entryPoints: [ROOT + "src/client.ts"], bundle: true, format: "esm", platform: "neutral", outfile: bundle, logLevel: "silent" });
  const version = spawnSync("node", ["--version"], { encoding: "utf8" }).stdout.trim();
  const code = script(`import { WebSocket } from "ws";\nimport { connect } from ${JSON.stringify(pathToFileURL(bundle).href)};`, "WebSocket,");
  const out = await run("node", ["--input-type=module", "-e", code]);
  // On Node 20 there is no global WebSocket, so the `ws` constructor did the work (this machine has Node 20).
  if (version.startsWith("v20.")) expect(out.globalWebSocket).toBe("undefined");
  check(out);
}, 30_000);

test("Deno with its global WebSocket, importing the TypeScript source", async () => {
  const code = script(`import { connect } from ${JSON.stringify(pathToFileURL(ROOT + "src/client.ts").href)};`, "");
  const out = await run(join(ROOT, "node_modules/.bin/deno"), ["eval", "--quiet", code]);
  expect(out.globalWebSocket).toBe("function");
  check(out);
}, 30_000);
