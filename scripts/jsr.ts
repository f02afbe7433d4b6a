/**
 * The JSR side of the package, from deno.json's `exports`:
 * - `npm run check:jsr`: `deno check` and `deno lint` on the directories the exports live in,
 *   `deno doc --lint` on every export, and `deno publish --dry-run` (which also rejects slow types).
 * - `npm run docs`: the API reference as HTML in .artifacts/api/, from the JSDoc.
 * Deno is the devDependency in node_modules/.bin, so npm is all a machine needs.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";

const root = join(import.meta.dir, "..");
const deno = join(root, "node_modules", ".bin", "deno");
const config = JSON.parse(readFileSync(join(root, "deno.json"), "utf8")) as { exports: Record<string, string> };

/** Every export's file (`./src/mod.ts`, …), and the top directories they live in (`src`, `adapters`). */
export const entries: string[] = [...new Set(Object.values(config.exports))];
export const dirs: string[] = [...new Set(entries.map((e) => dirname(e).replace(/^\.\//, "").split("/")[0]!))];

/** The checks `npm run check:jsr` runs, in order. */
export const checks: { name: string; cmd: string[] }[] = [
  { name: "deno check", cmd: [deno, "check", ...dirs] },
  { name: "deno lint", cmd: [deno, "lint", ...dirs] },
  { name: "deno doc --lint", cmd: [deno, "doc", "--lint", ...entries] },
  { name: "deno publish --dry-run", cmd: [deno, "publish", "--dry-run", "--allow-dirty"] },
];

/** `npm run docs`: HTML from the JSDoc of every export. */
export const docs: string[] = [deno, "doc", "--html", "--name=wirehub", "--output=.artifacts/api", ...entries];

if (import.meta.main) {
  const run = (cmd: string[]): void => {
    const { exitCode } = Bun.spawnSync(cmd, { cwd: root, stdout: "inherit", stderr: "inherit" });
    if (exitCode !== 0) throw new Error(`${cmd.slice(1).join(" ")} exited with ${exitCode}`);
  };
  const what = process.argv[2];
  if (what === "check") for (const c of checks) run(c.cmd);
  else if (what === "docs") {
    run(docs);
    console.log(`API reference: ${join(root, ".artifacts", "api", "index.html")}`);
  } else throw new Error("usage: bun scripts/jsr.ts check|docs");
}
