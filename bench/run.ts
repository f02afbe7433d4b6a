/**
 * wirehub benchmarks: `npm run bench` (full) or `npm run bench -- --quick` (under 2 minutes).
 *
 * Each server runs as its own process pinned to core 0; the native load generator
 * (bench/loadgen.c, built here with `cc`) runs pinned to core 1. Targets are interleaved within
 * each run, every figure is the median of the runs with min–max, and each wirehub figure is
 * also given as a ratio to the raw host measured in the same run.
 *
 * Options (defaults in brackets; --quick lowers them):
 *   --runs N [3]            --only echo,fanout,rpc,memory,connections,many,cross,paired
 *   --targets a,b           only targets whose id contains one of these
 *   --connections-targets a,b   the same, for the connection scenario only
 *   --conns 64 --inflight 16 --size 64 --duration 5 --warmup 1        (echo, rpc)
 *   --fanout-conns 2000 --broadcasts 200 --window 200 --rounds 5      (fan-out, cross-instance:
 *                           each run measures --rounds rounds of --broadcasts; the median round counts)
 *   --memory-sessions 5000  --max-connections 100000 --srcs 8
 *   --many-sessions 100000 --many-procs 6   (many: idle sessions held by several Bun processes
 *                           sharing one port with reusePort, from one generator per 16 000)
 *   --paired-rounds 4       (paired: Bun and Deno targets run at the same time, server CPU per
 *                           round trip or delivery against the raw host's in the same windows)
 *   --out FILE              results JSON [bench/results/latest.json; quick: bench/results/quick.json]
 *   --no-report             do not rewrite bench/RESULTS.md and bench/charts/
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { BENCH, buildLoadgen, buildNode, hasTaskset, loadgen, loadgenIdle, option, protoArgs, rss, anonRss, SERVERS, startOnOnePort, startServer, TARGETS, targetSpec, waitQuiet, type Running, type Target } from "./lib.ts";
import { pairedLoad, pairedRounds, ratioToFirst } from "./paired.ts";
import { writeReport } from "./report.ts";

declare const Bun: any;

// ---------- options ----------
const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes("--" + name);
const opt = (name: string, dflt: string): string => option(argv, name, dflt);
const quick = flag("quick");
const num = (name: string, full: number, q: number) => Number(opt(name, String(quick ? q : full)));
const cfg = {
  quick,
  runs: num("runs", 3, 1),
  conns: num("conns", 64, 64),
  inflight: num("inflight", 16, 16),
  size: num("size", 64, 64),
  duration: num("duration", 5, 0.7),
  warmup: num("warmup", 1, 0.3),
  fanoutConns: num("fanout-conns", 2000, 500),
  broadcasts: num("broadcasts", 200, 50),
  window: num("window", 200, 50),
  rounds: num("rounds", 5, 3),
  memorySessions: num("memory-sessions", 5000, 1000),
  maxConnections: num("max-connections", 100_000, 2_000),
  srcs: num("srcs", 8, 8),
  manySessions: num("many-sessions", 100_000, 4_000),
  manyProcs: num("many-procs", 6, 2),
  pairedRounds: num("paired-rounds", 4, 1),
};
const only = new Set(opt("only", "echo,fanout,rpc,memory,connections,many,cross,paired").split(","));
const targetFilter = opt("targets", "").split(",").filter(Boolean);
// Before each server, wait (up to two minutes) for other processes to calm down. A quick run only
// checks the tooling and must stay under two minutes: it does not wait (each check takes 0.5 s).
const quiet = async (): Promise<void> => {
  if (!quick) await waitQuiet(0.25, 120_000);
};
const out = opt("out", join(BENCH, "results", quick ? "quick.json" : "latest.json"));

// ---------- targets ----------
const targets = TARGETS.filter((t) => !targetFilter.length || targetFilter.some((f) => t.id.includes(f)));
// The connection scenario is the slow one (Node opens ~1 700 sessions/s): it can be limited to some targets.
const connFilter = opt("connections-targets", "").split(",").filter(Boolean);
const connTargets = targets.filter((t) => t.kind !== "floor" && (!connFilter.length || connFilter.some((f) => t.id.includes(f))));
// Several processes on one port: wirehub on Bun, with the raw host and crossws beside it.
const MANY_TARGETS = new Set(["wirehub-raw-bun", "wirehub-env-bun", "raw-bun", "crossws-bun"]);
/**
 * The paired groups: run at the same time, so each target is compared with the group's first (the
 * raw host) over the very same windows. The one-at-a-time scenarios above move with the machine's
 * speed between windows; these do not (bench/README.md).
 */
const PAIRED: Array<{ scenario: "echo" | "fanout"; ids: string[]; env?: Record<string, string>; tag?: string }> = [
  { scenario: "echo", ids: ["raw-bun", "wirehub-raw-bun", "crossws-bun"] },
  // The same group with Bun's allocator (mimalloc) never returning freed pages to the system, for
  // every server alike: how much of a ratio is the page faults of purging (notes.md, "Bun's
  // allocator and the raw echo"). Context only: the goals are read on the defaults.
  { scenario: "echo", ids: ["raw-bun", "wirehub-raw-bun", "crossws-bun"], env: { MIMALLOC_PURGE_DELAY: "-1" }, tag: "purging off" },
  { scenario: "echo", ids: ["raw-bun", "wirehub-env-bun", "json-bun"] },
  { scenario: "echo", ids: ["raw-deno", "wirehub-raw-deno", "wirehub-env-deno", "json-deno"] },
  { scenario: "fanout", ids: ["raw-bun", "wirehub-raw-bun", "wirehub-env-bun", "crossws-bun"] },
  { scenario: "fanout", ids: ["raw-bun", "wirehub-env-bun", "json-bun"] },
];
const RPC_TARGETS = new Set(["wirehub-env-bun", "wirehub-env-deno", "wirehub-env-node", "socketio-node", "json-bun", "json-deno", "json-node"]);

// ---------- results ----------
/** samples[scenario][target] = one result object per run (index = run number) */
const samples: Record<string, Record<string, any[]>> = {};
const record = (scenario: string, target: string, run: number, r: any) => {
  ((samples[scenario] ??= {})[target] ??= [])[run] = r;
};
/** The paired groups measured: server CPU per round trip or delivery, ns, one entry per round. */
const paired: Array<{ scenario: string; ids: string[]; rounds: number; gen_busy: number; ns: number[][]; env?: Record<string, string>; tag?: string }> = [];

const log = (...a: unknown[]) => console.log(...a);
const fmt = (n: number) => (n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(2));

async function withServer<T>(name: string, fn: (s: Running) => Promise<T>, env?: Record<string, string>): Promise<T> {
  await quiet();
  const s = await startServer(SERVERS[name]!.cmd, { core: 0, env });
  try {
    return await fn(s);
  } finally {
    await s.stop();
  }
}

/** Rotate the order each run, so no target always goes first or last. */
const rotate = <T>(xs: T[], k: number): T[] => xs.map((_, i) => xs[(i + k) % xs.length]!);

async function echoLike(t: Target, s: Running, scenario: "echo" | "rpc"): Promise<any> {
  return loadgen([
    "--port", String(s.port), ...protoArgs(t), "--scenario", scenario, "--conns", String(cfg.conns), "--inflight", String(cfg.inflight),
    "--size", String(cfg.size), "--duration", String(cfg.duration), "--warmup", String(cfg.warmup), "--server-pid", String(s.pid),
  ], { core: 1 });
}

async function fanout(t: Target, ports: number[], serverPid: number): Promise<any> {
  return loadgen([
    "--port", ports.join(","), ...protoArgs(t), "--scenario", "fanout", "--conns", String(cfg.fanoutConns), "--broadcasts", String(cfg.broadcasts),
    "--window", String(cfg.window), "--rounds", String(cfg.rounds), "--size", String(cfg.size), "--server-pid", String(serverPid), "--srcs", "4", "--pending", "500", "--timeout", "120",
  ], { core: 1 });
}

// A quick run waits less around the RSS readings.
const settle = quick ? 0.4 : 1;

/** A full GC in each server, a pause for the allocator to hand pages back, then their summed RSS and its anonymous part. */
async function collectedMem(servers: Running[]): Promise<{ rss: number; anon: number }> {
  await Promise.all(servers.map((s) => s.collect()));
  await Bun.sleep(500 * settle);
  return { rss: servers.reduce((sum, s) => sum + rss(s.pid), 0), anon: servers.reduce((sum, s) => sum + anonRss(s.pid), 0) };
}

/**
 * Memory per idle session, three ways: RSS growth over all sessions (`bytes_per_session`), its
 * anonymous part (`anon_per_session`, without the runtime's file-backed code pages: see
 * `anonRss`), and the anonymous growth per session beyond the first fifth (`marginal_per_session`:
 * what each further session costs once the one-time costs of the first ones are paid).
 */
async function memory(t: Target): Promise<any> {
  return withServer(t.server, async (s) => {
    await Bun.sleep(300 * settle);
    const idleArgs = (conns: number) => ["--port", String(s.port), ...protoArgs(t), "--scenario", "idle", "--conns", String(conns),
      "--hold", "120", "--pending", "500", "--srcs", "4", "--timeout", "60"];
    const first = Math.floor(cfg.memorySessions / 5);
    const before = await collectedMem([s]);
    const a = await loadgenIdle(idleArgs(first), { core: 1 });
    const mid = await collectedMem([s]);
    const b = await loadgenIdle(idleArgs(cfg.memorySessions - first), { core: 1 });
    await Bun.sleep(1000 * settle);
    const after = await collectedMem([s]);
    const ends = [await a.finish(), await b.finish()];
    const na = a.ready.ready as number, nb = b.ready.ready as number, n = na + nb;
    return {
      sessions: n, first: na, held: (ends[0]?.held ?? 0) + (ends[1]?.held ?? 0),
      rss_before: before.rss, rss_after: after.rss, anon_before: before.anon, anon_mid: mid.anon, anon_after: after.anon,
      bytes_per_session: (after.rss - before.rss) / Math.max(1, n),
      anon_per_session: (after.anon - before.anon) / Math.max(1, n),
      marginal_per_session: (after.anon - mid.anon) / Math.max(1, nb),
    };
  });
}

async function connections(t: Target): Promise<any> {
  return withServer(t.server, async (s) => {
    const r = await loadgen(["--port", String(s.port), ...protoArgs(t), "--scenario", "ramp", "--conns", String(cfg.maxConnections),
      "--srcs", String(cfg.srcs), "--pending", "1000", "--hold", quick ? "0.5" : "3", "--timeout", "180", "--server-pid", String(s.pid)], { core: 1, timeoutMs: 400_000 });
    return r;
  });
}

/**
 * Idle sessions beyond one process's descriptor limit (20 000 here): `manyProcs` server processes
 * share one port (reusePort) and the kernel spreads the connections; one generator per 16 000
 * sessions, as a generator process has the same limit. RSS is summed over the server processes.
 */
async function many(t: Target): Promise<any> {
  await quiet();
  const servers = await startOnOnePort(SERVERS[t.server]!.cmd, cfg.manyProcs, { core: 0 });
  try {
    const before = await collectedMem(servers);
    const gens = Math.ceil(cfg.manySessions / 16_000);
    const share = (i: number) => Math.floor(cfg.manySessions / gens) + (i < cfg.manySessions % gens ? 1 : 0);
    const t0 = Date.now();
    const idle = await Promise.all(Array.from({ length: gens }, (_, i) => loadgenIdle(["--port", String(servers[0]!.port), ...protoArgs(t), "--scenario", "idle",
      "--conns", String(share(i)), "--hold", "600", "--pending", "200", "--srcs", String(cfg.srcs), "--timeout", "180"], { core: 1, timeoutMs: 700_000 })));
    const openS = (Date.now() - t0) / 1000;
    await Bun.sleep(1000 * settle);
    const after = await collectedMem(servers);
    const perProc = servers.map((s) => rss(s.pid));
    const ends = await Promise.all(idle.map((g) => g.finish()));
    const sum = (xs: any[], k: string) => xs.reduce((a, x) => a + (Number(x?.[k]) || 0), 0);
    const sessions = sum(idle.map((g) => g.ready), "ready");
    const reasons = [...new Set(ends.map((e) => e?.fail_reason).filter(Boolean))].join("; ");
    return {
      procs: servers.length, generators: gens, sessions, held: sum(ends, "held"), failed: sum(idle.map((g) => g.ready), "failed"),
      closed_by_peer: sum(ends, "closed_by_peer"), fail_reason: reasons, open_s: openS, rss_before: before.rss, rss_after: after.rss,
      anon_before: before.anon, anon_after: after.anon, rss_per_proc: perProc, bytes_per_session: (after.rss - before.rss) / Math.max(1, sessions),
      anon_per_session: (after.anon - before.anon) / Math.max(1, sessions),
    };
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

// ---------- brokers for the cross-instance scenario ----------
async function freePort(): Promise<number> {
  const srv = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const p = srv.port;
  srv.stop(true);
  return p;
}

async function startBroker(kind: "redis" | "nats"): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const dir = join(BENCH, ".build", kind + "-" + port);
  mkdirSync(dir, { recursive: true });
  const cmd = kind === "redis"
    ? ["redis-server", "--bind", "127.0.0.1", "--port", String(port), "--save", "", "--appendonly", "no", "--dir", dir]
    : [existsNats(), "-a", "127.0.0.1", "-p", String(port), "-js", "-sd", dir];
  const p = Bun.spawn([...(hasTaskset ? ["taskset", "-c", "0"] : []), ...cmd], { stdout: "ignore", stderr: "ignore" });
  for (let i = 0; i < 100; i++) {
    try {
      const c = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
      c.end();
      break;
    } catch {
      await Bun.sleep(100);
    }
  }
  return {
    url: kind === "redis" ? `redis://127.0.0.1:${port}` : `127.0.0.1:${port}`,
    async stop() {
      p.kill(9);
      await p.exited;
    },
  };
}
function existsNats(): string {
  return Bun.which("nats-server") ?? "/usr/sbin/nats-server";
}

// ---------- main ----------
async function main() {
  const started = new Date();
  log(`wirehub bench ${quick ? "(quick) " : ""}— ${started.toISOString()}`);
  log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? "?"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; ` +
    (hasTaskset ? "servers pinned to core 0, generator to core 1" : "taskset missing: processes NOT pinned"));
  log(`settings: ${JSON.stringify(cfg)}`);
  log("building the load generator (cc) and the Node bundles (esbuild)…");
  await buildLoadgen();
  await buildNode();

  const versions = {
    bun: (await Bun.$`${SERVERS["raw-bun"]!.cmd[0]} --version`.quiet().text()).trim(),
    deno: (await Bun.$`${SERVERS["raw-deno"]!.cmd[0]} --version`.quiet().text()).split("\n")[0]!.trim(),
    node: (await Bun.$`node --version`.quiet().text()).trim(),
    cc: (await Bun.$`cc --version`.quiet().text()).split("\n")[0]!.trim(),
  };
  log(`runtimes: ${JSON.stringify(versions)}`);

  const phase = async (name: string, fn: () => Promise<void>) => {
    if (!only.has(name)) return;
    const t0 = Date.now();
    await fn();
    log(`[${name}] done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  };

  // echo + rpc + fan-out share one server process per (run, target)
  if (only.has("echo") || only.has("fanout") || only.has("rpc")) {
    const t0 = Date.now();
    for (let run = 0; run < cfg.runs; run++) {
      for (const t of rotate(targets, run)) {
        await withServer(t.server, async (s) => {
          if (only.has("echo")) {
            const r = await echoLike(t, s, "echo");
            record("echo", t.id, run, r);
            log(`run ${run + 1} echo    ${t.label.padEnd(26)} ${fmt(r.rate ?? 0).padStart(10)} rt/s  p50 ${fmt(r.p50_us ?? 0)} µs  p99 ${fmt(r.p99_us ?? 0)} µs  server ${(r.server_util ?? 0).toFixed(2)} gen ${(r.gen_util ?? 0).toFixed(2)}${r.error ? "  " + r.error : ""}`);
          }
          if (only.has("rpc") && RPC_TARGETS.has(t.id)) {
            const r = await echoLike(t, s, "rpc");
            record("rpc", t.id, run, r);
            log(`run ${run + 1} rpc     ${t.label.padEnd(26)} ${fmt(r.rate ?? 0).padStart(10)} rt/s  p99 ${fmt(r.p99_us ?? 0)} µs  server ${(r.server_util ?? 0).toFixed(2)} gen ${(r.gen_util ?? 0).toFixed(2)}`);
          }
          if (only.has("fanout")) {
            const r = await fanout(t, [s.port], s.pid);
            record("fanout", t.id, run, r);
            log(`run ${run + 1} fan-out ${t.label.padEnd(26)} ${fmt(r.rate ?? 0).padStart(10)} deliveries/s  full delivery ${fmt(r.full_delivery_ms ?? 0)} ms  server ${(r.server_util ?? 0).toFixed(2)} gen ${(r.gen_util ?? 0).toFixed(2)}${r.complete === false ? "  INCOMPLETE" : ""}${r.error ? "  " + r.error : ""}`);
          }
        });
      }
    }
    log(`[echo/rpc/fan-out] done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }

  await phase("paired", async () => {
    const ids = new Set(targets.map((t) => t.id));
    for (const g of PAIRED) {
      const group = g.ids.filter((id) => ids.has(id));
      if (group.length < 2 || group[0] !== g.ids[0]) continue; // each is compared with the raw host
      if (quick && g.env) continue; // context only; a quick run checks the tooling in under two minutes
      const entries = group.map(targetSpec);
      const load = pairedLoad(g.scenario, quick
        ? { duration: "1", warmup: "0.3", conns: g.scenario === "fanout" ? "500" : "64", broadcasts: "100" }
        : { duration: String(cfg.duration - 1), warmup: String(cfg.warmup) });
      await quiet();
      const name = g.scenario + (g.tag ? ` (${g.tag})` : "");
      const { perRound, genBusy } = await pairedRounds(entries, g.scenario, load, cfg.pairedRounds, (r, ns) =>
        log(`paired ${r + 1} ${name.padEnd(7)} ` + group.map((id, i) => `${id} ${ns[i]!.toFixed(0)} ns`).join(", ")), g.env);
      paired.push({ scenario: g.scenario, ids: group, rounds: cfg.pairedRounds, gen_busy: genBusy, ns: perRound, ...(g.env && { env: g.env, tag: g.tag }) });
      for (let i = 1; i < group.length; i++) {
        const q = ratioToFirst(perRound, i);
        log(`paired  ${name.padEnd(7)} ${group[i]!.padEnd(20)} ÷ ${group[0]}: CPU ${q.med.toFixed(3)} (${q.min.toFixed(3)}–${q.max.toFixed(3)}), as throughput ${(1 / q.med).toFixed(2)}`);
      }
    }
  });

  await phase("memory", async () => {
    for (let run = 0; run < cfg.runs; run++) {
      for (const t of rotate(targets.filter((t) => t.kind !== "floor"), run)) {
        const r = await memory(t);
        record("memory", t.id, run, r);
        log(`run ${run + 1} memory  ${t.label.padEnd(26)} ${fmt(r.bytes_per_session).padStart(10)} bytes/session (${r.sessions} sessions, RSS ${(r.rss_before / 2 ** 20).toFixed(0)} → ${(r.rss_after / 2 ** 20).toFixed(0)} MiB; ` +
          `anonymous ${fmt(r.anon_per_session)}, beyond the first ${r.first}: ${fmt(r.marginal_per_session)} bytes/session)`);
      }
    }
  });

  await phase("connections", async () => {
    for (let run = 0; run < cfg.runs; run++) {
      for (const t of rotate(connTargets, run)) {
        const r = await connections(t);
        record("connections", t.id, run, r);
        log(`run ${run + 1} conns   ${t.label.padEnd(26)} ${fmt(r.held).padStart(10)} held (opened ${r.opened} in ${r.open_s?.toFixed(1)} s, server RSS ${((r.server_rss_kb ?? 0) / 1024).toFixed(0)} MiB)${r.fail_reason ? "  stopped: " + r.fail_reason : ""}`);
      }
    }
  });

  await phase("many", async () => {
    for (let run = 0; run < cfg.runs; run++) {
      for (const t of rotate(targets.filter((t) => MANY_TARGETS.has(t.id)), run)) {
        const r = await many(t);
        record("many", t.id, run, r);
        log(`run ${run + 1} many    ${t.label.padEnd(26)} ${fmt(r.held).padStart(10)} held by ${r.procs} processes (${r.sessions} opened in ${r.open_s.toFixed(1)} s, ` +
          `${fmt(r.bytes_per_session)} bytes/session, RSS ${(r.rss_after / 2 ** 20).toFixed(0)} MiB in all)${r.fail_reason ? "  " + r.fail_reason : ""}`);
      }
    }
  });

  await phase("cross", async () => {
    const envBun = TARGETS.find((t) => t.id === "wirehub-env-bun")!;
    const redis = await startBroker("redis");
    const nats = await startBroker("nats");
    try {
      const variants: Array<{ id: string; broker?: "redis" | "nats"; url?: string }> = [
        { id: "one-instance" },
        { id: "redis", broker: "redis", url: redis.url },
        { id: "nats", broker: "nats", url: nats.url },
      ];
      for (let run = 0; run < cfg.runs; run++) {
        for (const v of rotate(variants, run)) {
          const env = v.broker ? { BROKER: v.broker, BROKER_URL: v.url! } : undefined;
          await quiet();
          const a = await startServer(SERVERS["wirehub-bun"]!.cmd, { core: 0, env });
          const b = v.broker ? await startServer(SERVERS["wirehub-bun"]!.cmd, { core: 0, env }) : undefined;
          try {
            await Bun.sleep(300); // brokers: let both instances subscribe
            const r = await fanout(envBun, b ? [a.port, b.port] : [a.port], a.pid);
            record("cross", v.id, run, r);
            log(`run ${run + 1} cross   ${v.id.padEnd(26)} ${fmt(r.rate ?? 0).padStart(10)} deliveries/s  full delivery ${fmt(r.full_delivery_ms ?? 0)} ms${r.complete === false ? "  INCOMPLETE" : ""}${r.error ? "  " + r.error : ""}`);
          } finally {
            await a.stop();
            await b?.stop();
          }
        }
      }
    } finally {
      await redis.stop();
      await nats.stop();
    }
  });

  const finished = new Date();
  const result = { started: started.toISOString(), finished: finished.toISOString(), config: cfg, versions, pinned: hasTaskset, targets: TARGETS, samples, paired };
  mkdirSync(join(BENCH, "results"), { recursive: true });
  writeFileSync(out, JSON.stringify(result, null, 1));
  log(`\nresults: ${out} (${((finished.getTime() - started.getTime()) / 1000).toFixed(0)} s in all)`);
  const md = writeReport(result, { write: !quick && !flag("no-report") });
  log("\n" + md.summary);
}

await main();
process.exit(0); // timers of finished waits (a server start's deadline) must not hold the process open
