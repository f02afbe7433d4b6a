/**
 * The package as its users get it. `npm pack` (whose `prepack` runs `npm run build`) makes the
 * tarball; a fresh project installs it with its peer dependencies; then every export is imported
 * and a real round trip runs (a hub served by the runtime's adapter, `wirehub/client` connecting
 * to it) in Node 20, in Bun, in Deno through `npm:` specifiers, and in Deno through a JSR-style
 * link to this repo's deno.json. tsc type-checks a consumer against the shipped .d.ts, and
 * headless Chromium runs the client, bundled from the installed package by esbuild and loaded
 * unbundled from its dist/. Every entry list comes from the export maps, so a new export is
 * covered without editing this file.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { serve, type ServerHandle } from "../adapters/bun.ts";
import { createHub } from "../src/mod.ts";

const root = join(import.meta.dir, "..");
const bin = (name: string): string => join(root, "node_modules", ".bin", name);
const readJson = (file: string) => JSON.parse(readFileSync(file, "utf8"));
const pkg = readJson(join(root, "package.json")) as {
  name: string;
  exports: Record<string, Record<string, string>>;
  peerDependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const denoJson = readJson(join(root, "deno.json")) as { name: string; version: string; exports: Record<string, string> };
const DOCS = ["package.json", "README.md", "LICENSE", "PROTOCOL.md", "ARCHITECTURE.md", "CHANGELOG.md"];

let tmp: string;
let tarball: string;
let packed: string[];
let installedOffline = false;

/** Run a command to completion; throws with its output unless it exits 0. */
async function run(cmd: string[], cwd: string, timeout = 60_000): Promise<string> {
  const proc = Bun.spawn(cmd, { cwd, env: { ...process.env, NO_COLOR: "1" }, stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => proc.kill(), timeout);
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${cmd.join(" ")} (in ${cwd}) exited with ${code}\n${err}\n${out}`);
  return out;
}
const lastJson = (out: string) => JSON.parse(out.trim().split("\n").at(-1)!);

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), "wirehub-package-"));
  const [info] = JSON.parse(await run(["npm", "pack", "--json", "--pack-destination", tmp], root, 120_000)) as { filename: string; files: { path: string }[] }[];
  tarball = join(tmp, info!.filename);
  packed = info!.files.map((f) => f.path).sort();

  const project = join(tmp, "project");
  mkdirSync(project);
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
  // The tarball, every peer (so every export loads) and Node's types (for tsc and deno --check).
  const deps = [tarball, ...Object.entries(pkg.peerDependencies).map(([n, v]) => `${n}@${v}`), `@types/node@${pkg.devDependencies["@types/node"]}`];
  const install = ["npm", "install", "--no-audit", "--no-fund", ...deps];
  try {
    await run([...install, "--offline"], project); // the devDependencies put all of these in npm's cache
    installedOffline = true;
  } catch {
    await run(install, project);
  }
  // A JSR consumer's deno.json, with this repo linked in place of the registry.
  writeFileSync(join(project, "deno.json"), JSON.stringify({
    nodeModulesDir: "manual",
    links: [root],
    imports: { [denoJson.name]: `jsr:${denoJson.name}@^${denoJson.version}` },
  }));
}, 180_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const project = (): string => join(tmp, "project");
/** Export key → the file it names in a condition (`.` → `./src/mod.ts`). */
const target = (key: string, condition: string): string => pkg.exports[key]![condition]!.slice(2);

test("the tarball holds the docs, the sources and dist/ built from them, and nothing else", () => {
  console.log(`installed ${installedOffline ? "offline, from npm's cache" : "from the registry"}: ${tarball}`);
  for (const doc of DOCS) expect(packed).toContain(doc);
  for (const [key, conditions] of Object.entries(pkg.exports)) {
    for (const file of Object.values(conditions)) expect(packed, `${key} → ${file}`).toContain(file.slice(2));
  }
  const sources = new Set(packed.filter((f) => /^(src|adapters)\/.+\.ts$/.test(f)));
  const unexpected = packed.filter((f) => {
    if (DOCS.includes(f) || sources.has(f)) return false;
    const m = /^dist\/(.+)\.(js|js\.map|d\.ts|d\.ts\.map)$/.exec(f);
    return !(m && sources.has(`${m[1]}.ts`)); // every dist file mirrors a shipped source
  });
  expect(unexpected).toEqual([]);
  expect(packed.filter((f) => /(^|\/)(test|examples|node_modules|\.artifacts)\//.test(f) || /\.test\.ts$/.test(f))).toEqual([]);
  // tsc declares every shipped source; esbuild emits JavaScript for every module the entries load.
  for (const s of sources) expect(packed, s).toContain(`dist/${s.replace(/\.ts$/, ".d.ts")}`);
});

/**
 * One script for every runtime: import every export (`spec(key)` names it in that runtime's
 * terms), serve a hub with the runtime's adapter, and run the client against it.
 */
function smoke(spec: (key: string) => string, host: string, node = false): string {
  const keys = Object.keys(pkg.exports);
  return `${keys.map((k, i) => `import * as e${i} from ${JSON.stringify(spec(k))};`).join("\n")}
${node ? 'import { WebSocket } from "ws";' : ""}
const all = { ${keys.map((k, i) => `${JSON.stringify(k)}: e${i}`).join(", ")} };
const resolved = { ${keys.map((k) => `${JSON.stringify(k)}: import.meta.resolve(${JSON.stringify(spec(k))})`).join(", ")} };
const M = all["."], C = all["./client"], H = all[${JSON.stringify(`./${host}`)}];
const hub = M.createHub();
hub.handle("add", (input) => input.a + input.b);
hub.handle("refuse", () => { throw new M.ForbiddenError("not you"); });
hub.on("ping", (data, session) => session.emit("pong", data));
const server = await H.serve(hub, { port: 0, hostname: "127.0.0.1" });
const client = await C.connect(server.url, ${node ? "{ WebSocket }" : "{}"});
const pong = new Promise((resolve) => client.on("pong", resolve));
client.emit("ping", { n: 1 });
const refused = await client.request("refuse").catch((e) => e);
const refusal = refused instanceof M.RemoteError ? [true, refused.code] : [false, String(refused)];
const out = {
  exports: Object.fromEntries(Object.entries(all).map(([k, m]) => [k, Object.keys(m).length])),
  resolved,
  sum: await client.request("add", { a: 2, b: 3 }),
  pong: await pong,
  refused: refusal,
  oneCore: M.RemoteError === C.RemoteError && M.WirehubError === C.WirehubError,
};
await client.close();
await server.stop();
console.log(JSON.stringify(out));
`;
}

/** What every runtime's round trip must show; `file(key)` is where that runtime should load each export from. */
function expectRoundTrip(out: Record<string, any>, file: (key: string) => string): void {
  for (const key of Object.keys(pkg.exports)) {
    expect(out.exports[key], `${key} has exports`).toBeGreaterThan(0);
    expect(out.resolved[key], key).toEndWith(file(key));
  }
  expect(out.sum).toBe(5);
  expect(out.pong).toEqual({ n: 1 });
  expect(out.refused).toEqual([true, "forbidden"]);
  expect(out.oneCore).toBe(true); // the core is loaded once, so instanceof holds across entries
}

const npmSpec = (key: string): string => (key === "." ? pkg.name : `${pkg.name}/${key.slice(2)}`);
const installed = (rel: string): string => `/node_modules/${pkg.name}/${rel}`;

test("Node 20: every export from dist/, the Node adapter serving wirehub/client on ws", async () => {
  writeFileSync(join(project(), "node-smoke.mjs"), smoke(npmSpec, "node", true));
  const out = lastJson(await run(["node", "node-smoke.mjs"], project(), 30_000));
  expectRoundTrip(out, (key) => installed(target(key, "default")));
}, 30_000);

test("Bun: every export from the TypeScript sources (the bun condition), the Bun adapter serving", async () => {
  writeFileSync(join(project(), "bun-smoke.ts"), smoke(npmSpec, "bun"));
  const out = lastJson(await run([process.execPath, "bun-smoke.ts"], project(), 30_000));
  expectRoundTrip(out, (key) => installed(target(key, "bun")));
}, 30_000);

test("Deno, npm: specifiers from node_modules: type-checked against dist/*.d.ts, run from dist/", async () => {
  writeFileSync(join(project(), "deno-npm.ts"), smoke((k) => `npm:${npmSpec(k)}`, "deno"));
  const out = lastJson(await run([bin("deno"), "run", "--check", "--quiet", "--node-modules-dir=manual", "--allow-net", "--allow-read", "--allow-env", "deno-npm.ts"], project(), 60_000));
  expectRoundTrip(out, (key) => installed(target(key, "default")));
}, 60_000);

test("Deno, JSR-style: every deno.json export through a link to this repo, type-checked", async () => {
  const jsrSpec = (key: string): string => (key === "." ? denoJson.name : `${denoJson.name}/${key.slice(2)}`);
  writeFileSync(join(project(), "deno-jsr.ts"), smoke(jsrSpec, "deno"));
  const out = lastJson(await run([bin("deno"), "run", "--check", "--quiet", "--allow-net", "--allow-read", "--allow-env", "deno-jsr.ts"], project(), 60_000));
  expect(Object.keys(out.exports).sort()).toEqual(Object.keys(denoJson.exports).sort());
  expectRoundTrip(out, (key) => join(root, denoJson.exports[key]!.slice(2)));
}, 60_000);

test("TypeScript (nodenext, skipLibCheck off): the shipped .d.ts type a consumer, API types included", async () => {
  const keys = Object.keys(pkg.exports);
  writeFileSync(join(project(), "consumer.ts"), `${keys.map((k, i) => `import * as e${i} from ${JSON.stringify(npmSpec(k))};`).join("\n")}
import { createHub } from "${pkg.name}";
import { connect } from "${pkg.name}/client";
import { serve } from "${pkg.name}/node";
interface Api { requests: { add: { input: { a: number; b: number }; output: number } } }
const hub = createHub<{ user: string }, Api>();
hub.handle("add", ({ a, b }) => a + b);
// @ts-expect-error the handler must return the output type
hub.handle("add", () => "five");
export async function main(): Promise<number> {
  const server = await serve(createHub(), { port: 0 });
  const client = await connect<Api>(server.url);
  const sum: number = await client.request("add", { a: 2, b: 3 });
  // @ts-expect-error the input is checked against the Api
  await client.request("add", { a: "2" });
  return sum;
}
export const modules = [${keys.map((_, i) => `e${i}`).join(", ")}];
`);
  writeFileSync(join(project(), "tsconfig.json"), JSON.stringify({
    compilerOptions: { module: "nodenext", moduleResolution: "nodenext", target: "es2022", lib: ["es2022", "dom"], types: ["node"], strict: true, noEmit: true, skipLibCheck: false },
    files: ["consumer.ts"],
  }));
  await run([bin("tsc"), "-p", "tsconfig.json"], project(), 60_000);
}, 60_000);

test("Chromium: wirehub/client bundled by esbuild from the installed package, and its dist/ loaded unbundled", async () => {
  const dir = project();
  writeFileSync(join(dir, "browser-entry.js"), `export { connect } from "${pkg.name}/client";\n`);
  await run([bin("esbuild"), "browser-entry.js", "--bundle", "--format=esm", "--platform=browser", "--log-level=warning", "--outfile=browser-bundle.js"], dir, 30_000);
  const hub = createHub();
  hub.handle("add", (input: { a: number; b: number }) => input.a + input.b);
  const page = `<!doctype html><meta charset="utf-8"><title>loading</title>
<script type="module">
  import * as bundled from "/bundle.js";
  import * as unbundled from "/pkg/${target("./client", "default")}";
  window.clients = { bundled, unbundled };
  document.title = "ready";
</script>`;
  let server: ServerHandle | undefined;
  let browser: Browser | undefined;
  try {
    server = await serve(hub, {
      port: 0,
      hostname: "127.0.0.1",
      path: "/ws",
      fetch: (req) => {
        const path = new URL(req.url).pathname;
        const js = { headers: { "content-type": "text/javascript" } };
        if (path === "/") return new Response(page, { headers: { "content-type": "text/html" } });
        if (path === "/bundle.js") return new Response(Bun.file(join(dir, "browser-bundle.js")), js);
        if (path.startsWith("/pkg/") && !path.includes("..")) return new Response(Bun.file(join(dir, "node_modules", pkg.name, path.slice(5))), js);
        return new Response("not found", { status: 404 });
      },
    });
    browser = await chromium.launch({
      executablePath: "/usr/bin/chromium",
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    const tab = await browser.newPage();
    await tab.goto(`http://127.0.0.1:${server.port}/`);
    await tab.waitForFunction(() => document.title === "ready");
    const sums = await tab.evaluate(async (url) => {
      const out: Record<string, unknown> = {};
      for (const [name, mod] of Object.entries((window as any).clients as Record<string, any>)) {
        const client = await mod.connect(url);
        out[name] = await client.request("add", { a: 2, b: 3 });
        await client.close();
      }
      return out;
    }, `ws://127.0.0.1:${server.port}/ws`);
    expect(sums).toEqual({ bundled: 5, unbundled: 5 });
  } finally {
    await browser?.close();
    await server?.stop();
  }
}, 60_000);
