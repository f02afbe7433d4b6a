/**
 * Server CPU per opened session: what a connection costs the server from its TCP accept to an
 * open session (the handshake, the upgrade decision, the session and its groups).
 *
 * Each target runs alone, pinned to core 0; the native generator on core 1 opens `--conns` idle
 * sessions (at most 256 handshakes pending) and holds them. The server's CPU time from just
 * before the first connection until the last is open, divided by the sessions, is one figure.
 * Targets are interleaved and the order alternates round by round; each figure after the first
 * target's is also given over the first's from the same round. CPU time, not wall time, so a
 * change of a few percent shows through the machine's noise (about ±3 % here).
 *
 *   bun bench/opens.ts raw-bun wirehub-raw-bun crossws-bun             # wirehub against the others
 *   bun bench/opens.ts wirehub-raw-bun wirehub-raw-bun@../other-tree   # this checkout ÷ another
 *
 * A target is an id from lib.ts (`TARGETS`), optionally `@DIR` to run that target's server file
 * from another checkout of wirehub (a Node target: that checkout's bench servers, bundled into its bench/.build).
 * Options [defaults]: --rounds 5, --conns 10000 (below the 20 000 files one process may open).
 * The fresh server also compiles its code while it opens the sessions: on Node that is about a
 * fifth of the time at 6 000 sessions, so compare targets on one host at the same --conns.
 */
import { buildFor, cpuSeconds, loadgenIdle, ROOT, startServer, stat, targetArgs, targetSpec } from "./lib.ts";

const { specs, opt } = targetArgs(["--rounds", "--conns"], "bun bench/opens.ts TARGET[@DIR] ... [--rounds N] [--conns N]");
const rounds = Number(opt("rounds", "5"));
const conns = Number(opt("conns", "10000"));
const entries = specs.map(targetSpec);
await buildFor(entries);

const perRound: number[][] = entries.map(() => []);
for (let r = 0; r < rounds; r++) {
  const order = entries.map((_, i) => i);
  if (r % 2) order.reverse();
  for (const i of order) {
    const e = entries[i]!;
    const s = await startServer(e.cmd, { core: 0 });
    try {
      await Bun.sleep(300); // past start-up
      const before = cpuSeconds(s.pid);
      const g = await loadgenIdle(["--port", String(s.port), ...e.args, "--scenario", "idle", "--conns", String(conns), "--pending", "256", "--hold", "60", "--timeout", "60"], { core: 1 });
      const used = cpuSeconds(s.pid) - before;
      await g.finish();
      if (g.ready.ready !== conns) throw new Error(`${e.label}: ${g.ready.ready} of ${conns} sessions opened`);
      perRound[i]!.push((used / conns) * 1e6);
    } finally {
      await s.stop();
    }
  }
  console.log(`round ${r + 1}: ` + entries.map((e, i) => `${e.label} ${perRound[i]![r]!.toFixed(1)} µs`).join(", "));
}

console.log(`\nserver CPU per opened session, ${conns} sessions, ${rounds} rounds, targets in turn (run from ${ROOT})`);
entries.forEach((e, i) => {
  const us = stat(perRound[i]!)!;
  let line = `${e.label.padEnd(40)} ${us.med.toFixed(1).padStart(7)} µs (${us.min.toFixed(1)}–${us.max.toFixed(1)})`;
  if (i > 0) {
    const q = stat(perRound[i]!.map((x, k) => x / perRound[0]![k]!))!;
    line += `   ÷ ${entries[0]!.label}: ${q.med.toFixed(2)} (${q.min.toFixed(2)}–${q.max.toFixed(2)})`;
  }
  console.log(line);
});
process.exit(0); // the servers' start-up deadlines (lib.ts) are timers that would hold the process open
