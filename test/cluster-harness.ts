/**
 * Helpers of the scale-out tests: cluster instances as Bun child processes, private broker
 * servers on free ports (for outage tests), and bounded waits. Every process started here is
 * tracked and killed by `cleanup()`, also when a test fails.
 */
import { createServer, connect as netConnect } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";

const root = join(import.meta.dir, "..");
const procs = new Set<Subprocess>();
const dirs: string[] = [];

/** A free TCP port on 127.0.0.1 (the OS picks it; it is released before use). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Whether something accepts connections on the port. */
function open(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect(port, "127.0.0.1", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
  });
}

/** Wait until `check` holds, trying every `every` ms, at most `ms` ms in all. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, ms = 10_000, every = 25): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

export interface Instance {
  readonly url: string;
  readonly id: string;
  readonly proc: Subprocess;
  /** Stop it: SIGKILL (dies without a word) or SIGTERM (graceful). */
  kill(signal?: "SIGKILL" | "SIGTERM"): Promise<void>;
}

/** Start one cluster instance (test/servers/cluster.ts) and wait for its URL. */
export async function instance(env: Record<string, string>): Promise<Instance> {
  const proc = Bun.spawn([process.execPath, "test/servers/cluster.ts"], {
    cwd: root,
    env: { ...process.env, ...env },
    stdout: "pipe",
    stderr: "inherit",
  });
  procs.add(proc);
  const reader = proc.stdout.getReader();
  let text = "";
  const deadline = setTimeout(() => proc.kill("SIGKILL"), 15_000);
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`instance exited before listening: ${text}`);
    text += new TextDecoder().decode(value);
  }
  clearTimeout(deadline);
  reader.releaseLock();
  const { url, id } = JSON.parse(text.slice(0, text.indexOf("\n"))) as { url: string; id: string };
  return {
    url,
    id,
    proc,
    async kill(signal = "SIGKILL") {
      proc.kill(signal);
      await proc.exited;
      procs.delete(proc);
    },
  };
}

/** A private broker server on a free port, that a test may stop and start again on the same port. */
export interface PrivateServer {
  readonly port: number;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** `redis-server` or `nats-server -js` (JetStream data in a temporary directory), with extra arguments. */
export async function privateServer(kind: "redis" | "nats", extra: string[] = []): Promise<PrivateServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), `wirehub-${kind}-`));
  dirs.push(dir);
  const cmd = kind === "redis"
    ? ["redis-server", "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, ...extra]
    : [Bun.which("nats-server") ?? "/usr/sbin/nats-server", "-a", "127.0.0.1", "-p", String(port), "-js", "-sd", dir, ...extra];
  let proc: Subprocess | undefined;
  const server: PrivateServer = {
    port,
    async start() {
      proc = Bun.spawn(cmd, { stdout: "ignore", stderr: "ignore" });
      procs.add(proc);
      await waitFor(`${kind} on port ${port}`, () => open(port));
    },
    async stop() {
      if (!proc) return;
      proc.kill("SIGKILL");
      await proc.exited;
      procs.delete(proc);
      proc = undefined;
    },
  };
  await server.start();
  return server;
}

/** Kill every process this file started, and remove temporary directories. */
export async function cleanup(): Promise<void> {
  for (const p of procs) p.kill("SIGKILL");
  await Promise.all([...procs].map((p) => p.exited));
  procs.clear();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}
