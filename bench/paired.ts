/**
 * Paired measurement, shared by `bench/pair.ts` and the full run's `paired` scenario: several
 * targets run at the same time and each one's server CPU per operation is read over the very
 * same windows (bench/README.md, "Paired measurement").
 * @module
 */
import { loadgen, startServer, stat, type Running, type Stat } from "./lib.ts";

/** The generator's arguments for a paired scenario (see {@link pairedRounds}). */
export function pairedLoad(scenario: "echo" | "rpc" | "fanout", o: { conns?: string; inflight?: string; size?: string; duration?: string; warmup?: string; broadcasts?: string } = {}): string[] {
  return scenario === "fanout"
    ? ["--conns", o.conns ?? "2000", "--broadcasts", o.broadcasts ?? "1000", "--warm-broadcasts", o.broadcasts ?? "1000", "--window", "200", "--size", o.size ?? "64",
      "--srcs", "4", "--pending", "500", "--timeout", "120"]
    : ["--conns", o.conns ?? "64", "--inflight", o.inflight ?? "16", "--size", o.size ?? "64", "--duration", o.duration ?? "4", "--warmup", o.warmup ?? "1"];
}

/**
 * Run several targets *at the same time*, `rounds` times: every server pinned to core 0, one
 * generator per server on core 1. Gives each target's server CPU time per round trip (echo,
 * RPC) or per delivery (fan-out) in each round, in ns, and the most the generators together
 * used of their core in any round. Throws when a target completes nothing. `env` is added to
 * every server's environment (a runtime or allocator setting, the same for the whole group).
 */
export async function pairedRounds(
  entries: readonly { label: string; cmd: string[]; args: string[] }[],
  scenario: "echo" | "rpc" | "fanout",
  load: readonly string[],
  rounds: number,
  onRound?: (round: number, ns: number[]) => void,
  env?: Record<string, string>,
): Promise<{ perRound: number[][]; genBusy: number }> {
  const fan = scenario === "fanout";
  const perRound: number[][] = entries.map(() => []);
  let genBusy = 0;
  for (let r = 0; r < rounds; r++) {
    const servers: Running[] = [];
    try {
      for (const e of entries) servers.push(await startServer(e.cmd, { core: 0, env }));
      const results = await Promise.all(entries.map((e, i) =>
        loadgen(["--port", String(servers[i]!.port), ...e.args, "--scenario", scenario, ...load, "--server-pid", String(servers[i]!.pid)], { core: 1 })));
      results.forEach((res, i) => {
        const done = fan ? (res.complete ? res.deliveries : 0) : res.completed;
        // (Deno and Node deliver ~70k frames/s alone: with several servers on the core, the default
        // 1 000 broadcasts to 2 000 connections outlast the generator's limit; see notes.md.)
        if (res.error || !done) throw new Error(`${entries[i]!.label}: ${res.error ?? (fan ? "fan-out incomplete (on Deno or Node, try --broadcasts 100)" : "no round trips")}`);
        perRound[i]!.push((res.server_cpu_s / done) * 1e9);
      });
      genBusy = Math.max(genBusy, results.reduce((sum, res) => sum + (res.gen_util ?? 0), 0));
      onRound?.(r, perRound.map((xs) => xs[r]!));
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
    }
  }
  return { perRound, genBusy };
}

/** Target `i`'s figure over target `j`'s, taken in each round: median (min–max). */
export function ratioOf(perRound: readonly number[][], i: number, j: number): Stat {
  return stat(perRound[i]!.map((x, k) => x / perRound[j]![k]!))!;
}

/** Target `i`'s CPU per op over the first target's, taken in each round: median (min–max). */
export function ratioToFirst(perRound: readonly number[][], i: number): Stat {
  return ratioOf(perRound, i, 0);
}
