/**
 * Where an idle session's memory goes: per-session growth of each heap figure the runtime
 * reports, read after a full GC before and after opening `--conns` idle sessions.
 *
 * Each target runs alone, pinned to core 0, with HEAP_STATS set (bench/servers/heap-stats.ts);
 * the native generator on core 1 opens the sessions as the memory scenario does. Per session:
 * anonymous memory (`RssAnon`), live heap (`heapUsed`), `external`; on Node and Deno each V8
 * space's resident (`phys`) and used bytes, on Bun JSC's heap size and object count. A run
 * swings by a few hundred bytes of anonymous memory; the live heap is far steadier, so compare
 * changes on it and on the spaces, several rounds, targets in turn.
 *
 *   bun bench/heap.ts raw-node wirehub-raw-node                 # where wirehub's gap is on Node
 *   bun bench/heap.ts wirehub-raw-bun wirehub-raw-bun@../other  # this checkout ÷ another one
 *
 * A target is an id from lib.ts (`TARGETS`), optionally `@DIR` (another checkout; Node targets are bundled from it).
 * Targets with a heap report: wirehub on every host, and the bare Bun, Deno and Node servers.
 * Options [defaults]: --rounds 3, --conns 5000, --idle 1 (seconds idle before each of the two
 * readings; 30 lets V8's memory reducer run on Node and Deno first).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { anonRss, buildFor, loadgenIdle, startServer, stat, targetArgs, targetSpec } from "./lib.ts";

const { specs, opt } = targetArgs(["--rounds", "--conns", "--idle"], "bun bench/heap.ts TARGET[@DIR] ... [--rounds N] [--conns N] [--idle S]");
const rounds = Number(opt("rounds", "3"));
const conns = Number(opt("conns", "5000"));
const idle = Number(opt("idle", "1"));
const entries = specs.map(targetSpec);
await buildFor(entries);

type Reading = Record<string, number>;
const dir = mkdtempSync(join(tmpdir(), "wirehub-heap-"));

/** The figures of one statistics file, flattened to name → bytes (or count). */
function figures(file: string, anon: number): Reading {
  const j = JSON.parse(readFileSync(file, "utf8")) as {
    memory: Record<string, number>;
    spaces: { space_name: string; space_used_size: number; physical_space_size: number }[];
    jsc?: { heapSize: number; heapCapacity: number; extraMemorySize: number; objectCount: number };
  };
  const r: Reading = { "anonymous memory": anon, "live heap (heapUsed)": j.memory.heapUsed!, external: j.memory.external! };
  for (const s of j.spaces) {
    if (s.physical_space_size === 0) continue;
    r[`${s.space_name}, resident`] = s.physical_space_size;
    r[`${s.space_name}, used`] = s.space_used_size;
  }
  if (j.jsc) {
    r["JSC heap size"] = j.jsc.heapSize;
    r["JSC heap capacity"] = j.jsc.heapCapacity;
    r["JSC extra memory"] = j.jsc.extraMemorySize;
    r["JSC objects (count)"] = j.jsc.objectCount;
  }
  return r;
}

/** Full GC in `s`, then its figures from the file it wrote. */
async function read(s: Awaited<ReturnType<typeof startServer>>): Promise<Reading> {
  await s.collect();
  await Bun.sleep(300);
  const mine = readdirSync(dir).filter((f) => f.startsWith(`s-${s.pid}-`)).sort((a, b) => Number(a.split("-")[2]!.split(".")[0]) - Number(b.split("-")[2]!.split(".")[0]));
  if (!mine.length) throw new Error(`server ${s.pid} wrote no heap statistics: is it a target with a heap report?`);
  return figures(join(dir, mine[mine.length - 1]!), anonRss(s.pid));
}

const perTarget: Array<Map<string, number[]>> = entries.map(() => new Map());
try {
  for (let r = 0; r < rounds; r++) {
    const order = entries.map((_, i) => i);
    if (r % 2) order.reverse();
    for (const i of order) {
      const e = entries[i]!;
      const s = await startServer(e.cmd, { core: 0, env: { HEAP_STATS: join(dir, "s") } });
      try {
        await Bun.sleep(idle * 1000);
        const before = await read(s);
        const g = await loadgenIdle(["--port", String(s.port), ...e.args, "--scenario", "idle", "--conns", String(conns),
          "--hold", "120", "--pending", "500", "--srcs", "4", "--timeout", "60"], { core: 1 });
        await Bun.sleep(idle * 1000);
        const after = await read(s);
        await g.finish();
        const n = g.ready.ready as number;
        if (n !== conns) throw new Error(`${e.label}: ${n} of ${conns} sessions opened`);
        for (const [k, v] of Object.entries(after)) {
          const list = perTarget[i]!.get(k) ?? [];
          list.push((v - (before[k] ?? 0)) / n);
          perTarget[i]!.set(k, list);
        }
      } finally {
        await s.stop();
      }
    }
    console.error(`round ${r + 1} of ${rounds} done`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

console.log(`\nper idle session, ${conns} sessions, median (min–max) of ${rounds} rounds, targets in turn`);
for (const [i, e] of entries.entries()) {
  console.log(`\n${e.label}`);
  for (const [k, xs] of perTarget[i]!) {
    const v = stat(xs)!;
    const unit = k.endsWith("(count)") ? "" : " B";
    const f = (x: number) => (k.endsWith("(count)") ? x.toFixed(2) : (Math.round(x) + 0).toLocaleString("en")); // + 0: no "-0"
    console.log(`  ${k.padEnd(34)} ${f(v.med).padStart(8)}${unit}  (${f(v.min)}–${f(v.max)})`);
  }
}
process.exit(0); // the servers' start-up deadlines (lib.ts) are timers that would hold the process open
