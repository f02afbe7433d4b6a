/**
 * `npm run build`: dist/ for Node and bundlers, from the sources package.json `exports` names.
 *
 * - JavaScript: esbuild transpiles every module those entries reach, each to its own ES module
 *   at the same path under dist/ (src/hub.ts → dist/src/hub.js), with relative imports
 *   rewritten from .ts to .js. Nothing is bundled: the core exists once however many entries a
 *   program imports, so `instanceof WirehubError` holds across `wirehub` and `wirehub/client`.
 * - Types: tsc emits only declarations (tsconfig.build.json), next to the JavaScript.
 *
 * dist/ is removed first, so it holds exactly what this build made.
 */
import { build, type Plugin } from "esbuild";
import { readFileSync, rmSync } from "node:fs";
import { join, relative } from "node:path";

const root = join(import.meta.dir, "..");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { exports: Record<string, Record<string, string>> };

/** The TypeScript sources the export map names (its `source` condition). */
function exportSources(exports: Record<string, Record<string, string>>): string[] {
  return [...new Set(Object.entries(exports).map(([key, conditions]) => {
    if (!conditions.source?.endsWith(".ts")) throw new Error(`package.json exports["${key}"] names no .ts file as "source" (see entry() in test/exports.test.ts)`);
    return conditions.source;
  }))];
}

// Every import stays an import: relative ones point at the sibling .js file, the rest (node:*,
// ws, …) are left to the runtime. So each output file is exactly its source, types stripped.
const perFile: Plugin = {
  name: "per-file",
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => {
      if (args.kind === "entry-point") return undefined;
      const path = /^\.\.?\//.test(args.path) ? args.path.replace(/\.ts$/, ".js") : args.path;
      return { path, external: true };
    });
  },
};

async function main(): Promise<void> {
  rmSync(join(root, "dist"), { recursive: true, force: true });
  const entries = exportSources(pkg.exports);
  // The module graph (JavaScript imports only: type-only modules need no .js file).
  const graph = await build({ entryPoints: entries, absWorkingDir: root, bundle: true, format: "esm", packages: "external", write: false, metafile: true, outdir: "dist", logLevel: "error" });
  const modules = Object.keys(graph.metafile.inputs).map((f) => relative(root, join(root, f))).sort();
  await build({
    entryPoints: modules,
    absWorkingDir: root,
    outbase: ".",
    outdir: "dist",
    bundle: true, // only so the plugin sees each import; it marks every one external
    plugins: [perFile],
    format: "esm",
    platform: "neutral",
    target: "es2022",
    sourcemap: true,
    sourcesContent: false, // the sources ship beside dist/
    logLevel: "warning",
  });
  const tsc = Bun.spawnSync([join(root, "node_modules", ".bin", "tsc"), "-p", "tsconfig.build.json"], { cwd: root, stdout: "inherit", stderr: "inherit" });
  if (tsc.exitCode !== 0) throw new Error(`tsc -p tsconfig.build.json exited with ${tsc.exitCode}`);
  console.error(`dist/: ${modules.length} modules from ${entries.length} entries`);
}

if (import.meta.main) await main();
