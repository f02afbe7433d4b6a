/** The two export maps mirror each other, and every host adapter exports the same names. */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const json = (f: string) => JSON.parse(readFileSync(join(root, f), "utf8"));
const pkg = json("package.json") as { version: string; exports: Record<string, Record<string, string>> };
const deno = json("deno.json") as { version: string; exports: Record<string, string>; imports: Record<string, string> };

/**
 * One package.json entry for the source `./src/x.ts`: types first (tsc's declaration), then the
 * TypeScript source for this repo's own tools (`source`) and for Bun, which runs TypeScript from
 * node_modules, then the built JavaScript for Node, Deno's `npm:` and bundlers. `npm run build`
 * makes dist/ from these entries.
 */
const entry = (source: string) => {
  const built = `./dist/${source.slice(2).replace(/\.ts$/, "")}`;
  return { types: `${built}.d.ts`, source, bun: source, default: `${built}.js` };
};

test("package.json and deno.json export the same entries at the same version", () => {
  expect(deno.version).toBe(pkg.version);
  expect(Object.keys(deno.exports).sort()).toEqual(Object.keys(pkg.exports).sort());
  for (const [key, file] of Object.entries(deno.exports)) {
    // Entries compare as [condition, file] lists, so the order of the conditions counts too.
    expect(Object.entries(pkg.exports[key]!), `package.json exports["${key}"]`).toEqual(Object.entries(entry(file)));
    expect(deno.imports[key === "." ? "wirehub" : `wirehub/${key.slice(2)}`]).toBe(file);
  }
});

test("every host adapter has the same exported names", async () => {
  // Servers the hub listens with; a Durable Object is served by the Workers runtime, so the
  // Cloudflare adapter has the same capabilities/createHandler but no serve() or ServerHandle.
  const hosts = ["bun", "deno", "node", "hono"].map((h) => `adapters/${h}.ts`);
  for (const h of ["bun", "deno", "node", "hono", "cloudflare"]) expect(Object.keys(pkg.exports)).toContain(`./${h}`);
  const cf = await import(join(root, "adapters/cloudflare.ts"));
  for (const name of ["capabilities", "createHandler"]) expect(typeof cf[name], `cloudflare ${name}`).not.toBe("undefined");
  for (const file of hosts) {
    const mod = await import(join(root, file));
    for (const name of ["capabilities", "createHandler", "serve"]) expect(typeof mod[name], `${file} ${name}`).not.toBe("undefined");
    const text = readFileSync(join(root, file), "utf8");
    expect(text, `${file} ServeOptions`).toContain("export interface ServeOptions ");
    expect(text, `${file} ServerHandle`).toContain('export type { ServerHandle } from "../src/mod.ts";');
  }
});
