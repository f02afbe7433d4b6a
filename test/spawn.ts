/**
 * Run a server in another runtime as a child process: start it, wait for the one line it
 * prints with its URL, and stop it with SIGTERM (the entry then calls its handle's `stop()`).
 */
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Started } from "./conformance.ts";

const root = join(import.meta.dir, "..");
const bin = (name: string): string => join(root, "node_modules", ".bin", name);

/** How to run a server entry: the command, and what to delete once it has started. */
export interface Command {
  readonly cmd: string[];
  readonly cleanup?: () => void;
}

/** A started child-process server: also its exit code, and a way to signal it. */
export interface Spawned extends Started {
  readonly exited: Promise<number>;
  signal(sig: "SIGTERM" | "SIGKILL"): void;
}

/** Spawn a server entry, resolve with the first `ws://` or `wss://` line it prints on stdout. */
export async function spawnServer({ cmd, cleanup }: Command, env: Record<string, string> = {}, ms = 20_000): Promise<Spawned> {
  const proc = Bun.spawn(cmd, { cwd: root, env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
  const stderr = new Response(proc.stderr).text();
  const lines = proc.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  const url = await Promise.race([
    (async () => {
      for (;;) {
        const { done, value } = await lines.read();
        if (done) throw new Error(`${cmd.join(" ")} exited (${await proc.exited}) before printing its URL:\n${seen}${await stderr}`);
        seen += value;
        const m = /^(wss?:\/\/\S+)$/m.exec(seen);
        if (m) return m[1]!;
      }
    })(),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${cmd.join(" ")} printed no URL within ${ms} ms:\n${seen}`)), ms))),
  ])
    .catch((e: unknown) => {
      proc.kill();
      throw e;
    })
    .finally(() => {
      clearTimeout(timer);
      cleanup?.(); // the runtime has loaded its entry by now (or failed to)
    });
  void (async () => { while (!(await lines.read()).done); })(); // keep draining so the child never blocks on a full pipe
  return {
    url,
    exited: proc.exited,
    signal: (sig) => proc.kill(sig),
    async stop() {
      proc.kill("SIGTERM");
      const code = await proc.exited;
      if (code !== 0) throw new Error(`${cmd.join(" ")} exited with ${code} on SIGTERM:\n${await stderr}`);
    },
  };
}

/** The server entry run by Deno (type stripping is Deno's own). */
export function denoCommand(entry: string): Command {
  return { cmd: [bin("deno"), "run", "--quiet", "--allow-net", "--allow-read", "--allow-env", join(root, entry)] };
}

/**
 * Node 20 cannot run TypeScript: bundle the entry with esbuild into a .mjs under .artifacts/
 * (inside the repo, so `ws`, `hono`, ... still resolve from node_modules) and run it with the
 * system `node`, the real runtime, not Bun's Node compatibility.
 */
let builds = 0;
export async function nodeCommand(entry: string): Promise<Command> {
  const dir = join(root, ".artifacts", "node");
  mkdirSync(dir, { recursive: true });
  const outfile = join(dir, `${entry.replace(/\W+/g, "_")}-${process.pid}-${++builds}.mjs`);
  // The esbuild CLI, one process per build: its JS API keeps a service child that a timed-out
  // test can take down with it, failing every later build.
  const esbuild = Bun.spawn([bin("esbuild"), join(root, entry), "--bundle", "--platform=node", "--format=esm", "--target=node20",
    "--packages=external", "--log-level=error", `--outfile=${outfile}`], { stderr: "pipe" });
  if ((await esbuild.exited) !== 0) throw new Error(`esbuild ${entry}: ${await new Response(esbuild.stderr).text()}`);
  return { cmd: ["node", outfile], cleanup: () => rmSync(outfile, { force: true }) };
}

/**
 * What a server entry in another runtime is told: fixture overrides as JSON in
 * WIREHUB_FIXTURE, and a certificate as the paths of its two PEM files.
 */
export function serverEnv(overrides?: object, cert?: { certFile: string; keyFile: string }): Record<string, string> {
  return {
    ...(overrides && { WIREHUB_FIXTURE: JSON.stringify(overrides) }),
    ...(cert && { WIREHUB_TLS_CERT: cert.certFile, WIREHUB_TLS_KEY: cert.keyFile }),
  };
}
