/**
 * The bench tooling works: the native load generator builds with the machine's `cc` and runs
 * one tiny echo scenario against wirehub on Bun (raw and envelope). No timing is asserted:
 * benchmarks live in bench/ and are not part of the test suite.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { buildLoadgen, loadgen, loadgenIdle, SERVERS, startOnOnePort, startServer, type Running } from "../bench/lib.ts";

let server: Running;
beforeAll(async () => {
  await buildLoadgen();
  server = await startServer(SERVERS["wirehub-bun"]!.cmd);
}, 20_000);
afterAll(async () => {
  await server?.stop();
});

for (const proto of ["raw", "env"]) {
  test(`loadgen echo against wirehub on Bun (${proto})`, async () => {
    const r = await loadgen(["--port", String(server.port), "--proto", proto, "--scenario", "echo", "--conns", "4", "--inflight", "2",
      "--duration", "0.3", "--warmup", "0.1", "--server-pid", String(server.pid)], { timeoutMs: 8_000 });
    expect(r.scenario).toBe("echo");
    expect(r.closed_by_peer).toBe(0);
    expect(r.completed).toBeGreaterThan(0);
    expect(r.server_cpu_s).toBeGreaterThanOrEqual(0); // read from /proc for the server's pid
    expect(r.gen_cpu_s).toBeGreaterThanOrEqual(0);
  }, 10_000);
}

test("loadgen fan-out reaches every member of the group", async () => {
  const r = await loadgen(["--port", String(server.port), "--proto", "env", "--scenario", "fanout", "--conns", "20", "--broadcasts", "5",
    "--warm-broadcasts", "1", "--timeout", "5"], { timeoutMs: 8_000 });
  expect(r.complete).toBe(true);
  expect(r.deliveries).toBe(19 * 5);
}, 10_000);

test("several wirehub processes on one port (reusePort) hold idle sessions from several generators; each collects on request", async () => {
  const servers = await startOnOnePort(SERVERS["wirehub-bun"]!.cmd, 2);
  try {
    expect(servers[1]!.port).toBe(servers[0]!.port);
    await Promise.all(servers.map((s) => s.collect(5_000))); // resolves on each process's own "collected" line
    const gens = await Promise.all([0, 1].map(() => loadgenIdle(["--port", String(servers[0]!.port), "--proto", "raw", "--scenario", "idle",
      "--conns", "100", "--hold", "30", "--srcs", "2", "--timeout", "5"], { timeoutMs: 20_000 })));
    expect(gens.map((g) => g.ready.ready)).toEqual([100, 100]);
    const ends = await Promise.all(gens.map((g) => g.finish()));
    expect(ends.map((e) => e.held)).toEqual([100, 100]);
    expect(ends.map((e) => e.closed_by_peer)).toEqual([0, 0]);
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}, 20_000);

test("bench/opens.ts measures the server CPU per opened session, for two targets in turn", async () => {
  const p = Bun.spawn([process.execPath, "bench/opens.ts", "wirehub-raw-bun", "raw-bun", "--conns", "100", "--rounds", "2"], { stdout: "pipe", stderr: "pipe" });
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  expect(p.exitCode, err).toBe(0);
  // one line per round, then one per target: a median in µs (CPU is read in 10 ms ticks, so it may be 0 here)
  expect(out.match(/^round \d: /gm)?.length).toBe(2);
  expect(out).toMatch(/^wirehub-raw-bun +\d+\.\d µs \(/m);
  expect(out).toMatch(/^raw-bun +\d+\.\d µs .*÷ wirehub-raw-bun: /m);
}, 30_000);

test("bench/heap.ts reports what each idle session adds to the heap, per target", async () => {
  const p = Bun.spawn([process.execPath, "bench/heap.ts", "wirehub-raw-bun", "raw-bun", "--conns", "200", "--rounds", "1"], { stdout: "pipe", stderr: "pipe" });
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  expect(p.exitCode, err).toBe(0);
  const section = (label: string) => out.split(/\n\n/).find((s) => s.startsWith(label + "\n")) ?? "";
  const figure = (label: string, name: string) => Number(new RegExp(`^  ${name.replace(/[()]/g, "\\$&")} +(-?[\\d,.]+)`, "m").exec(section(label))?.[1]?.replaceAll(",", ""));
  for (const t of ["wirehub-raw-bun", "raw-bun"]) {
    expect(section(t)).toMatch(/anonymous memory/);
    // every open session keeps at least its socket object alive after a full GC
    expect(figure(t, "JSC objects (count)")).toBeGreaterThan(1);
  }
  // a wirehub session keeps more objects than a bare one: its Session and its hub entries
  expect(figure("wirehub-raw-bun", "JSC objects (count)")).toBeGreaterThan(figure("raw-bun", "JSC objects (count)"));
}, 60_000);

test("bench/pair.ts runs two targets at once and divides the second's CPU per round trip by the first's", async () => {
  const p = Bun.spawn([process.execPath, "bench/pair.ts", "raw-bun", "wirehub-raw-bun", "--rounds", "1", "--duration", "0.5", "--warmup", "0.1", "--conns", "8", "--inflight", "2"],
    { stdout: "pipe", stderr: "pipe" });
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  expect(p.exitCode, err).toBe(0);
  expect(out).toMatch(/^round 1: raw-bun \d+ ns, wirehub-raw-bun \d+ ns$/m);
  expect(out).toMatch(/^wirehub-raw-bun +\d+ ns .*÷ raw-bun: \d+\.\d{3} \(/m);
}, 30_000);

test("bench/frame-cost.ts calls each target's Bun handler with fake sockets and gives the JavaScript per echo frame", async () => {
  const p = Bun.spawn([process.execPath, "bench/frame-cost.ts", "bare", "json", "crossws", "wirehub", "wirehub-env", "--rounds", "2", "--frames", "20000", "--conns", "4"],
    { stdout: "pipe", stderr: "pipe" });
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  expect(p.exitCode, err).toBe(0);
  expect(out).toMatch(/^round 2: bare [\d.]+ ns, json [\d.]+ ns, crossws [\d.]+ ns, wirehub [\d.]+ ns, wirehub-env [\d.]+ ns$/m);
  for (const t of ["json", "crossws", "wirehub", "wirehub-env"]) expect(out).toMatch(new RegExp(`^${t} +[\\d.]+ ns \\(.*÷ bare: \\d+\\.\\d{2} \\(.*\\), [+-][\\d.]+ ns$`, "m"));
}, 60_000);
