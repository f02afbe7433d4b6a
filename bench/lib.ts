/**
 * Bench plumbing shared by bench/run.ts and the smoke test: building the native load generator
 * and the Node bundles, starting a server as its own pinned process, and running the generator.
 */
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const BENCH = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(BENCH, "..");
export const BUILD = join(BENCH, ".build");
export const LOADGEN = join(BUILD, "loadgen");
const BIN = join(ROOT, "node_modules", ".bin");

declare const Bun: any;

/** Run a command to completion; throws with its output when it fails. */
export async function sh(cmd: string[], opts: { cwd?: string } = {}): Promise<string> {
  const p = Bun.spawn(cmd, { cwd: opts.cwd ?? ROOT, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`${cmd.join(" ")} exited ${code}\n${out}${err}`);
  return out;
}

const newer = (out: string, src: string) => existsSync(out) && statSync(out).mtimeMs >= statSync(src).mtimeMs;

/** Build the C load generator with the machine's `cc` (skipped when up to date). */
export async function buildLoadgen(): Promise<string> {
  mkdirSync(BUILD, { recursive: true });
  const src = join(BENCH, "loadgen.c");
  if (!newer(LOADGEN, src)) await sh(["cc", "-O2", "-Wall", "-o", LOADGEN, src]);
  return LOADGEN;
}

/**
 * Bundle the Node targets with esbuild (Node 20 cannot run TypeScript): this checkout's, or,
 * with `bench`, another checkout's bench folder into its own `.build` (`TARGET@DIR` specs).
 */
export async function buildNode(bench: string = BENCH): Promise<void> {
  const build = join(bench, ".build");
  mkdirSync(build, { recursive: true });
  const jobs: Array<[string, string[]]> = [
    // wirehub itself is bundled from source; its optional peers stay external
    ["wirehub", ["--conditions=source", "--external:ws", "--external:@redis/client", "--external:@nats-io/*"]],
    ["raw-node", ["--packages=external"]],
    ["crossws-node", ["--packages=external"]],
    ["socketio-node", ["--packages=external"]],
    ["json", ["--packages=external"]],
  ];
  await Promise.all(jobs.map(([name, ext]) =>
    sh([join(BIN, "esbuild"), join(bench, "servers", name + ".ts"), "--bundle", "--platform=node", "--format=esm", "--target=node20",
      ...ext, "--log-level=warning", `--outfile=${join(build, name + "-node.mjs")}`])));
}

/** Whether `taskset` (util-linux) is here to pin processes to cores. */
export const hasTaskset = existsSync("/usr/bin/taskset") || existsSync("/bin/taskset");
const pin = (core: number | undefined): string[] => (core !== undefined && hasTaskset ? ["taskset", "-c", String(core)] : []);

/** The runtimes' commands. Bun and Deno come from node_modules; Node is the one on PATH. */
export const runtime = {
  bun: [join(BIN, "bun")],
  deno: [join(BIN, "deno"), "run", "-A", "--v8-flags=--expose-gc"],
  node: ["node", "--expose-gc"],
};

/** How to start each server process. */
export const SERVERS: Record<string, { cmd: string[]; path?: string; query?: string }> = {
  "wirehub-bun": { cmd: [...runtime.bun, join(BENCH, "servers/wirehub.ts")] },
  "wirehub-deno": { cmd: [...runtime.deno, join(BENCH, "servers/wirehub.ts")] },
  "wirehub-node": { cmd: [...runtime.node, join(BUILD, "wirehub-node.mjs")] },
  "raw-bun": { cmd: [...runtime.bun, join(BENCH, "servers/raw-bun.ts")] },
  "raw-deno": { cmd: [...runtime.deno, join(BENCH, "servers/raw-deno.ts")] },
  "raw-node": { cmd: [...runtime.node, join(BUILD, "raw-node-node.mjs")] },
  "crossws-bun": { cmd: [...runtime.bun, join(BENCH, "servers/crossws-bun.ts")] },
  "crossws-node": { cmd: [...runtime.node, join(BUILD, "crossws-node-node.mjs")] },
  "json-bun": { cmd: [...runtime.bun, join(BENCH, "servers/json.ts")] },
  "json-deno": { cmd: [...runtime.deno, join(BENCH, "servers/json.ts")] },
  "json-node": { cmd: [...runtime.node, join(BUILD, "json-node.mjs")] },
  "socketio-node": { cmd: [...runtime.node, join(BUILD, "socketio-node-node.mjs")], path: "/socket.io/", query: "?EIO=4&transport=websocket" },
};

/** The median of some numbers (the mean of the middle two for an even count). */
export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Median, min, max and count of the finite numbers among `xs`. */
export interface Stat { med: number; min: number; max: number; n: number }
/** {@link Stat} of `xs`, or `undefined` when none is finite. */
export const stat = (xs: number[]): Stat | undefined => {
  const v = xs.filter((x) => Number.isFinite(x));
  return v.length ? { med: median(v), min: Math.min(...v), max: Math.max(...v), n: v.length } : undefined;
};

/** The value after `--name` in `argv`, or `dflt`. */
export const option = (argv: string[], name: string, dflt: string): string => {
  const i = argv.indexOf("--" + name);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1]! : dflt;
};

/** One thing the bench measures: a server process and the protocol spoken to it. */
export interface Target {
  id: string;
  label: string;
  host: "bun" | "deno" | "node";
  server: string;
  proto: "raw" | "env" | "sio";
  /** floor: the envelope work by hand on the bare host (echo, RPC and fan-out) */
  kind: "wirehub" | "raw" | "peer" | "floor";
}
/** Every bench target: which server process, and which protocol the generator speaks to it. */
export const TARGETS: Target[] = [
  { id: "wirehub-raw-bun", label: "wirehub raw · Bun", host: "bun", server: "wirehub-bun", proto: "raw", kind: "wirehub" },
  { id: "wirehub-env-bun", label: "wirehub envelope · Bun", host: "bun", server: "wirehub-bun", proto: "env", kind: "wirehub" },
  { id: "raw-bun", label: "Bun.serve + topics", host: "bun", server: "raw-bun", proto: "raw", kind: "raw" },
  { id: "crossws-bun", label: "crossws · Bun", host: "bun", server: "crossws-bun", proto: "raw", kind: "peer" },
  { id: "wirehub-raw-deno", label: "wirehub raw · Deno", host: "deno", server: "wirehub-deno", proto: "raw", kind: "wirehub" },
  { id: "wirehub-env-deno", label: "wirehub envelope · Deno", host: "deno", server: "wirehub-deno", proto: "env", kind: "wirehub" },
  { id: "raw-deno", label: "Deno.serve", host: "deno", server: "raw-deno", proto: "raw", kind: "raw" },
  { id: "wirehub-raw-node", label: "wirehub raw · Node", host: "node", server: "wirehub-node", proto: "raw", kind: "wirehub" },
  { id: "wirehub-env-node", label: "wirehub envelope · Node", host: "node", server: "wirehub-node", proto: "env", kind: "wirehub" },
  { id: "raw-node", label: "Node ws", host: "node", server: "raw-node", proto: "raw", kind: "raw" },
  { id: "crossws-node", label: "crossws · Node", host: "node", server: "crossws-node", proto: "raw", kind: "peer" },
  { id: "socketio-node", label: "Socket.IO · Node", host: "node", server: "socketio-node", proto: "sio", kind: "peer" },
  { id: "json-bun", label: "JSON by hand · Bun", host: "bun", server: "json-bun", proto: "env", kind: "floor" },
  { id: "json-deno", label: "JSON by hand · Deno", host: "deno", server: "json-deno", proto: "env", kind: "floor" },
  { id: "json-node", label: "JSON by hand · Node", host: "node", server: "json-node", proto: "env", kind: "floor" },
];
/** The generator's protocol arguments for a target. */
export function protoArgs(t: Target): string[] {
  const s = SERVERS[t.server]!;
  return ["--proto", t.proto, ...(s.path ? ["--path", s.path] : []), ...(s.query ? ["--query", s.query] : [])];
}

/**
 * A target named on a command line (`bench/pair.ts`, `bench/opens.ts`): an id from
 * {@link TARGETS}, or `ID@DIR` for that target's server file from another checkout of wirehub
 * (a Node target runs that checkout's bundle, which {@link buildFor} makes). Its server command
 * and generator arguments.
 */
export function targetSpec(spec: string): { label: string; cmd: string[]; args: string[] } {
  const [id, dir] = spec.split("@") as [string, string | undefined];
  const t = TARGETS.find((x) => x.id === id);
  if (!t) throw new Error(`unknown target ${id}; known: ${TARGETS.map((x) => x.id).join(", ")}`);
  let cmd = SERVERS[t.server]!.cmd;
  if (dir !== undefined) {
    // A Node target runs a bundle: BENCH/.build/X-node.mjs becomes DIR/bench/.build/X-node.mjs (buildFor makes it).
    const here = BENCH + "/";
    cmd = cmd.map((c) => (c.startsWith(here) ? resolve(dir, "bench", c.slice(here.length)) : c));
  }
  return { label: spec, cmd, args: protoArgs(t) };
}

/**
 * The command line of a tool that runs targets in turn (`bench/pair.ts`, `opens.ts`, `heap.ts`):
 * the target specs (the arguments that are neither an option nor an option's value, given the
 * options that take one) and a reader of `--name value` options. With fewer than `least`
 * targets it prints `usage` and exits.
 */
export function targetArgs(valued: readonly string[], usage: string, least = 1): { specs: string[]; opt(name: string, dflt: string): string } {
  const argv = process.argv.slice(2);
  const takes = new Set(valued);
  const specs = argv.filter((a, i) => !a.startsWith("--") && !takes.has(argv[i - 1] ?? ""));
  if (specs.length < least) {
    console.error(`usage: ${usage}`);
    process.exit(2);
  }
  return { specs, opt: (name, dflt) => option(argv, name, dflt) };
}

/** Build the generator, and the Node bundles when a target runs one. */
export async function buildFor(entries: readonly { cmd: string[] }[]): Promise<void> {
  await buildLoadgen();
  // Each bundle lives in <bench folder>/.build: build every checkout's bench folder named.
  const benches = new Set(entries.flatMap((e) => e.cmd.filter((c) => c.endsWith(".mjs")).map((c) => dirname(dirname(c)))));
  for (const bench of benches) await buildNode(bench);
}

export interface Running {
  readonly pid: number;
  readonly port: number;
  /** Full GC in the server (SIGUSR2, which every bench server answers); resolves once it prints `collected`. */
  collect(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** Start a process pinned to `core`, and wait for it to print `listening <port>`. */
export async function startServer(cmd: string[], opts: { core?: number; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<Running> {
  const p = Bun.spawn([...pin(opts.core), ...cmd], {
    cwd: ROOT,
    env: { ...process.env, PORT: "0", ...opts.env },
    stdout: "pipe",
    stderr: "pipe",
  });
  let log = "";
  const errDrain = (async () => {
    for await (const chunk of p.stderr) log = (log + new TextDecoder().decode(chunk)).slice(-4000);
  })();
  const reader = p.stdout.getReader();
  const dec = new TextDecoder();
  let buf = "";
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  let port = 0;
  while (!port) {
    const r = await Promise.race([reader.read(), Bun.sleep(Math.max(0, deadline - Date.now())).then(() => "timeout" as const)]);
    if (r === "timeout" || r.done) {
      p.kill(9);
      throw new Error(`server ${cmd.join(" ")} did not start: ${r === "timeout" ? "timeout" : "exited"}\n${log}`);
    }
    buf += dec.decode(r.value);
    const m = /listening (\d+)/.exec(buf);
    if (m) port = Number(m[1]);
  }
  // keep draining stdout so the server never blocks on a full pipe; count `collected` lines
  let collected = 0;
  let onCollected: (() => void) | undefined;
  (async () => {
    try {
      let rest = "";
      for (;;) {
        const r = await reader.read();
        if (r.done) break;
        const lines = (rest + dec.decode(r.value)).split("\n");
        rest = lines.pop()!;
        for (const l of lines) {
          if (l !== "collected") continue;
          collected++;
          onCollected?.();
        }
      }
    } catch {
      // the server went away: nothing more to read
    }
  })();
  void errDrain;
  return {
    pid: p.pid,
    port,
    async collect(timeoutMs = 30_000) {
      const want = collected + 1;
      const done = new Promise<void>((resolve) => (onCollected = () => collected >= want && resolve()));
      process.kill(p.pid, "SIGUSR2");
      const t = Bun.sleep(timeoutMs).then(() => "timeout" as const);
      const r = await Promise.race([done, t, p.exited.then(() => "exited" as const)]);
      if (r) throw new Error(`server ${cmd.join(" ")} did not collect: ${r === "exited" ? `exited (${p.exitCode})` : `nothing within ${timeoutMs} ms`}\n${log}`);
    },
    async stop() {
      p.kill(9);
      await p.exited;
    },
  };
}

/**
 * Start `count` processes of one server on one port (`REUSE_PORT=1`, Linux `SO_REUSEPORT`): the
 * first picks a free port, the others join it. Stops the ones started if one fails.
 */
export async function startOnOnePort(cmd: string[], count: number, opts: { core?: number; env?: Record<string, string> } = {}): Promise<Running[]> {
  const env = { ...opts.env, REUSE_PORT: "1" };
  const all = [await startServer(cmd, { core: opts.core, env })];
  try {
    for (let i = 1; i < count; i++) all.push(await startServer(cmd, { core: opts.core, env: { ...env, PORT: String(all[0]!.port) } }));
  } catch (error) {
    await Promise.all(all.map((s) => s.stop()));
    throw error;
  }
  return all;
}

/** Run the generator to completion and return its last JSON line. */
export async function loadgen(args: string[], opts: { core?: number; timeoutMs?: number } = {}): Promise<any> {
  const p = Bun.spawn([...pin(opts.core), LOADGEN, ...args], { cwd: ROOT, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const timer = setTimeout(() => p.kill(9), opts.timeoutMs ?? 300_000);
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  clearTimeout(timer);
  const lines = out.trim().split("\n").filter((l) => l.startsWith("{"));
  if (!lines.length) throw new Error(`loadgen printed no result (exit ${p.exitCode})\n${err.slice(-2000)}`);
  return JSON.parse(lines[lines.length - 1]!);
}

/** Start the generator holding idle sessions: resolves once they are open, with a function that ends it. */
export async function loadgenIdle(args: string[], opts: { core?: number; timeoutMs?: number } = {}): Promise<{ ready: any; finish(): Promise<any> }> {
  const p = Bun.spawn([...pin(opts.core), LOADGEN, ...args], { cwd: ROOT, stdout: "pipe", stderr: "pipe", stdin: "pipe" });
  const timer = setTimeout(() => p.kill(9), opts.timeoutMs ?? 300_000);
  const errText = new Response(p.stderr).text();
  const reader = p.stdout.getReader();
  const dec = new TextDecoder();
  let buf = "";
  const nextLine = async (): Promise<string | undefined> => {
    for (;;) {
      const i = buf.indexOf("\n");
      if (i >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        return line;
      }
      const r = await reader.read();
      if (r.done) return undefined;
      buf += dec.decode(r.value);
    }
  };
  const first = await nextLine();
  if (!first) throw new Error(`loadgen ended early\n${(await errText).slice(-2000)}`);
  return {
    ready: JSON.parse(first),
    async finish() {
      p.stdin.write("done\n");
      p.stdin.end();
      const line = await nextLine();
      await p.exited;
      clearTimeout(timer);
      return line ? JSON.parse(line) : undefined;
    },
  };
}

/** Resident set size of a process, in bytes. */
export function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : NaN;
}

/**
 * The anonymous part of a process's resident set (`RssAnon`), in bytes: its heaps and
 * allocations, without the file-backed pages of its executable and libraries. Those pages (the
 * runtime's own code, its JIT compilers' among it, faulted in once a server's code runs hot)
 * are shared between processes, can be dropped by the kernel, and do not grow with sessions.
 */
export function anonRss(pid: number): number {
  const m = /RssAnon:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : NaN;
}


/** CPU seconds (user + system) a process has used so far, from /proc/PID/stat (10 ms ticks). */
export function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(f[11]) + Number(f[12])) / 100; // utime and stime, in clock ticks
}

/** Busy CPU seconds of the whole machine (user, nice, system, steal) from /proc/stat. */
function machineBusy(): number {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  return (f[0]! + f[1]! + f[2]! + (f[7] ?? 0)) / 100; // USER_HZ is 100 on Linux
}

/**
 * Wait until the rest of the machine is quiet (under `maxCores` busy over half a second), at
 * most `maxWaitMs`. Other work on this 2-core machine would land on the server's or the
 * generator's core. Returns the busy cores seen last.
 */
export async function waitQuiet(maxCores = 0.25, maxWaitMs = 120_000): Promise<number> {
  const until = Date.now() + maxWaitMs;
  let warned = false;
  for (;;) {
    const a = machineBusy();
    await Bun.sleep(500);
    const busy = (machineBusy() - a) / 0.5;
    if (busy <= maxCores || Date.now() > until) return busy;
    if (!warned) console.log(`  (machine busy: ${busy.toFixed(2)} cores used by other processes; waiting for it to calm down)`);
    warned = true;
    await Bun.sleep(2000);
  }
}
