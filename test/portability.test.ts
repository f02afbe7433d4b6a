/** The rule that keeps the core portable: nothing under src/ names a runtime. */
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const FORBIDDEN: [RegExp, string][] = [
  [/\bBun\b/, "Bun"],
  [/\bDeno\b/, "Deno"],
  [/["']node:/, "a node: import"],
  [/["']cloudflare:/, "a cloudflare: import"],
  [/from\s+["']ws["']/, "the ws package"],
  [/\brequire\s*\(/, "require()"],
  [/\bprocess\./, "process"],
  [/\bBuffer\b/, "Buffer"],
  [/\bWebSocketPair\b/, "WebSocketPair"],
  [/\b__dirname\b/, "__dirname"],
];

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []));
}

/** Code without comments: docs may mention hosts, code may not. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
}

test("src/ names no runtime: web standards only", () => {
  const hits: string[] = [];
  const list = files(join(import.meta.dir, "..", "src"));
  expect(list.length).toBeGreaterThan(3);
  for (const f of list) {
    const lines = code(readFileSync(f, "utf8")).split("\n");
    lines.forEach((line, i) => {
      for (const [re, what] of FORBIDDEN) if (re.test(line)) hits.push(`${f}:${i + 1} names ${what}: ${line.trim()}`);
    });
  }
  expect(hits).toEqual([]);
});

test("the rule catches a runtime name (the check itself works)", () => {
  const sample = code('const x = 1; // Bun is fine in a comment\nimport { serve } from "node:http";\nBun.serve({});');
  const found = FORBIDDEN.filter(([re]) => re.test(sample)).map(([, w]) => w);
  expect(found).toEqual(["Bun", "a node: import"]);
});
