/**
 * The JSR package: each command of `npm run check:jsr` (scripts/jsr.ts: deno check, deno lint,
 * deno doc --lint, deno publish --dry-run) passes with nothing to report. Where the machine
 * allows it (root, or unprivileged user namespaces), each runs in a network namespace of its
 * own, with no interface but loopback: proof that none of them needs the network.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { checks, entries } from "../scripts/jsr.ts";

const root = join(import.meta.dir, "..");
const offline = ((): boolean => {
  try {
    return Bun.spawnSync(["unshare", "-n", "true"]).exitCode === 0;
  } catch {
    return false; // no unshare here
  }
})();

/**
 * Output lines nobody explained. `deno doc` (2.9.6) looks the `/// <reference path>` lines of
 * @types/node up as packages and warns about each (denoland/deno#36751; `deno check` resolves
 * them): adapters/node.ts references Node's types. Those warnings, and only those, are known.
 */
function unexplained(output: string): string[] {
  const lines = output.split("\n");
  return lines.filter((line, i) => {
    const known = /^Warning Failed resolving types\. Could not find package '[^']+' from referrer 'file:\/\/\/.*\/node_modules\/@types\/node\/index\.d\.ts'\.$/;
    if (known.test(line)) return false;
    if (/^\s+at file:\/\/\/.*\/node_modules\/@types\/node\/index\.d\.ts:\d+:\d+$/.test(line) && known.test(lines[i - 1] ?? "")) return false;
    return /^\s*(warning|error)\b/i.test(line) || /\[(ERROR|WARNING)\]/.test(line); // deno's and tsc's diagnostics
  });
}

for (const { name, cmd } of checks) {
  test(`${name}: passes with nothing to report${offline ? ", without the network" : ""}`, async () => {
    const proc = Bun.spawn(offline ? ["unshare", "-n", ...cmd] : cmd, { cwd: root, env: { ...process.env, NO_COLOR: "1" }, stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    const output = `${out}\n${err}`;
    expect(code, output).toBe(0);
    expect(unexplained(output)).toEqual([]);
    if (name.startsWith("deno publish")) {
      expect(output).toContain("Checking for slow types in the public API");
      expect(output).toContain("Success Dry run complete");
      const files = [...output.matchAll(/^\s+file:\/\/\/\S+?\/((?:src|adapters)\/\S+|[A-Z]+\.md|LICENSE|deno\.json) \(/gm)].map((m) => m[1]);
      for (const f of ["deno.json", "LICENSE", "README.md", "PROTOCOL.md", "ARCHITECTURE.md", "CHANGELOG.md", ...entries.map((e) => e.slice(2))]) expect(files).toContain(f);
      expect(output).not.toMatch(/file:\/\/\/\S+\/(test|examples|node_modules|dist)\//);
    }
  }, 90_000);
}
