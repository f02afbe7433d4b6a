/**
 * Start the conformance fixture in workerd through miniflare, on a free port: the Worker in
 * ./worker.ts is bundled by esbuild (one ES module) and served with one Durable Object class.
 */
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { join } from "node:path";
import type { FixtureOverrides } from "../../fixture.ts";

/** The Worker's name, which `unsafeEvictDurableObject` needs. */
export const SCRIPT = "wirehub-fixture";
/** The Durable Object class exported by ./worker.ts. */
export const CLASS = "FixtureHub";

export interface CloudflareServer {
  url: string;
  mf: Miniflare;
  stop(): Promise<void>;
}

/** Bundle a Worker entry into one ES module, as wrangler would. */
export async function bundle(entry: string): Promise<string> {
  // `source`: the package name resolves to the TypeScript sources (package.json exports), not to dist/.
  const out = await build({ entryPoints: [entry], bundle: true, format: "esm", platform: "neutral", conditions: ["source"], target: "es2022", write: false, logLevel: "silent" });
  return out.outputFiles[0]!.text;
}

/** `bindings`: more Worker bindings, such as `ROOM_SECRET` (see ./worker.ts). */
export async function startCloudflare(overrides: FixtureOverrides = {}, bindings: Record<string, string> = {}): Promise<CloudflareServer> {
  const mf = new Miniflare({
    bindings: { ...bindings, WIREHUB_FIXTURE: JSON.stringify(overrides) },
    name: SCRIPT,
    modules: true,
    script: await bundle(join(import.meta.dir, "worker.ts")),
    compatibilityDate: "2026-07-01",
    durableObjects: { HUB: { className: CLASS, useSQLite: true } },
    host: "127.0.0.1",
    port: 0,
  });
  const url = await mf.ready;
  return { url: `ws://${url.host}/`, mf, stop: () => mf.dispose() };
}
