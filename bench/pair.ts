/**
 * Paired measurement: several targets run *at the same time*, every server pinned to core 0 and
 * one generator per server on core 1, and each target's server CPU time per round trip is
 * divided by the first target's from the same window.
 *
 * `npm run bench` runs one target at a time, so a change in the core's speed between windows
 * (±20 % on this machine) moves its ratios by as much. Here every target sees the same windows,
 * so the ratios hold steady to about ±2 % from round to round. That is steady enough to check
 * a hot-path change of a few percent. It measures CPU per round trip (echo, RPC) or per delivery
 * (fan-out), not throughput. Use it to compare; `npm run bench` gives the reported figures.
 *
 *   bun bench/pair.ts raw-bun wirehub-raw-bun                         # wirehub ÷ raw Bun
 *   bun bench/pair.ts wirehub-raw-bun wirehub-raw-bun@../other-tree    # this checkout ÷ another
 *
 * A target is an id from lib.ts (`TARGETS`), optionally `@DIR` to run that target's server file
 * from another checkout of wirehub (a Node target: that checkout's bench servers, bundled into its bench/.build).
 * Options [defaults]: --rounds 6, --scenario echo|rpc|fanout [echo], --duration 4, --warmup 1,
 * --conns 64 (fan-out: 2000), --inflight 16, --size 64, --broadcasts 1000 (fan-out, per round,
 * after as many unmeasured ones: the warm-up lets the JIT compile the broadcast path first).
 */
import { buildFor, ROOT, stat, targetArgs, targetSpec } from "./lib.ts";
import { pairedLoad, pairedRounds, ratioToFirst } from "./paired.ts";

const USAGE = "bun bench/pair.ts TARGET[@DIR] TARGET[@DIR] ... [--rounds 6] [--scenario echo|rpc|fanout] [--duration 4]";
const { specs, opt } = targetArgs(["--rounds", "--scenario", "--duration", "--warmup", "--conns", "--inflight", "--size", "--broadcasts"], USAGE, 2);
const rounds = Number(opt("rounds", "6"));
const scenario = opt("scenario", "echo");
const fan = scenario === "fanout";

if (scenario !== "echo" && scenario !== "rpc" && scenario !== "fanout") {
  console.error(`usage: ${USAGE}`);
  process.exit(2);
}
const load = pairedLoad(scenario, {
  conns: opt("conns", fan ? "2000" : "64"), inflight: opt("inflight", "16"), size: opt("size", "64"),
  duration: opt("duration", "4"), warmup: opt("warmup", "1"), broadcasts: opt("broadcasts", "1000"),
});

const entries = specs.map(targetSpec);
await buildFor(entries);
const { perRound, genBusy } = await pairedRounds(entries, scenario, load, rounds, (r, ns) =>
  console.log(`round ${r + 1}: ` + entries.map((e, i) => `${e.label} ${ns[i]!.toFixed(0)} ns`).join(", ")));

console.log(`\nserver CPU per ${fan ? "fan-out delivery" : scenario + " round trip"}, ${rounds} rounds, all targets at once (run from ${ROOT})`);
entries.forEach((e, i) => {
  const ns = stat(perRound[i]!)!;
  let line = `${e.label.padEnd(40)} ${ns.med.toFixed(0).padStart(6)} ns (${ns.min.toFixed(0)}–${ns.max.toFixed(0)})`;
  if (i > 0) {
    const q = ratioToFirst(perRound, i);
    line += `   ÷ ${entries[0]!.label}: ${q.med.toFixed(3)} (${q.min.toFixed(3)}–${q.max.toFixed(3)}), as a throughput ratio ${(1 / q.med).toFixed(2)}`;
  }
  console.log(line);
});
if (genBusy >= 0.9) console.log(`⚠ the generators together used ${genBusy.toFixed(2)} of their core: the figures may be theirs`);
process.exit(0); // the servers' start-up deadlines (lib.ts) are timers that would hold the process open
