/** The two export maps mirror each other, and every host adapter exports the same names. */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const json = (f: string) => JSON.parse(readFileSync(join(root, f), "utf8"));
const pkg = json("package.json") as { version: string; exports: Record<string, Record<string, string>> };
const deno = json("deno.json") as { version: string; exports: Record<string, string>; imports: Record<string, string> };

test("package.json and deno.json export the same entries at the same version", () => {
  expect(deno.version).toBe(pkg.version);
  expect(Object.keys(deno.exports).sort()).toEqual(Object.keys(pkg.exports).sort());
  for (const [key, file] of Object.entries(deno.exports)) {
    expect(Object.values(pkg.exports[key]!)).toEqual([file, file, file]);
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
