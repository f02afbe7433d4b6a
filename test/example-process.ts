/** Run an example as its README says (`bun run <file>`, or another runtime's command), on a free port, and find its URL. */
import { spawn, type Subprocess } from "bun";

export interface Example {
  url: string;
  proc: Subprocess;
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (bind 0, read it, release it). */
export async function freePort(): Promise<number> {
  const srv = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = srv.port;
  srv.stop(true);
  return port;
}

/** Start `bun run <file>` with PORT set; resolves with the ws:// URL the example prints. */
export function startExample(file: string, env: Record<string, string> = {}): Promise<Example> {
  return startCommand([process.execPath, "run", file], env);
}

/** Start `cmd` (an example under any runtime) with PORT set; resolves with the ws:// URL it prints. */
export async function startCommand(cmd: string[], env: Record<string, string> = {}, ms = 15_000): Promise<Example> {
  const file = cmd.join(" ");
  const port = await freePort();
  const proc = spawn(cmd, { env: { ...process.env, PORT: String(port), ...env }, stdout: "pipe", stderr: "inherit" });
  const reader = proc.stdout.getReader();
  let out = "";
  const deadline = Date.now() + ms;
  while (!/(wss?|https?):\/\/\S+/.test(out)) {
    if (Date.now() > deadline) throw new Error(`${file} printed no URL: ${out}`);
    const { value, done } = await reader.read();
    if (done) throw new Error(`${file} exited: ${out}`);
    out += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  const url = /(wss?|https?):\/\/\S+/.exec(out)![0].replace(/^http/, "ws");
  return {
    url,
    proc,
    async stop() {
      proc.kill("SIGTERM");
      await proc.exited;
    },
  };
}
