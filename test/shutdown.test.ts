/**
 * Graceful shutdown under traffic (catalogue 54-56): SIGTERM while a client streams requests.
 * Every request the server acknowledged was handled; the client gets `bye` then 1001; the
 * process exits by itself.
 */
import { expect, test } from "bun:test";
import { spawn } from "bun";
import { TestClient } from "./client.ts";

test("SIGTERM during traffic loses no acknowledged message; clients get bye then 1001", async () => {
  const proc = spawn([process.execPath, "run", "test/servers/shutdown.ts"], { stdout: "pipe", stderr: "inherit" });
  const reader = proc.stdout.getReader();
  let out = "";
  const readUntil = async (re: RegExp): Promise<void> => {
    while (!re.test(out)) {
      const { value, done } = await reader.read();
      if (done) return;
      out += new TextDecoder().decode(value);
    }
  };
  await readUntil(/listening (\S+)/);
  const url = /listening (\S+)/.exec(out)![1]!;
  const c = await TestClient.envelope(url);
  const acked = new Set<number>();
  let sent = 0;
  let stopped = false;
  // stream requests; SIGTERM once 300 were acknowledged, keep sending until the socket closes
  const pump = (async () => {
    while (c.ws.readyState === WebSocket.OPEN && sent < 100_000) {
      c.send({ t: "req", id: ++sent, m: "record", d: sent });
      if (sent % 50 === 0) await new Promise((r) => setTimeout(r, 0)); // let frames in
    }
  })();
  c.ws.addEventListener("message", (e) => {
    const f = JSON.parse(e.data as string) as { t: string; id?: number };
    if (f.t === "res") acked.add(f.id!);
    if (!stopped && acked.size >= 300) {
      stopped = true;
      proc.kill("SIGTERM");
    }
  });
  const closed = await c.closed;
  await pump;
  await readUntil(/stopped/);
  expect(await proc.exited).toBe(0);
  expect(closed.code).toBe(1001);
  expect(c.all.some((m) => typeof m === "string" && m.startsWith('{"t":"bye","c":1001'))).toBe(true);
  const handled = new Set([...out.matchAll(/got (\d+)/g)].map((m) => Number(m[1])));
  expect(acked.size).toBeGreaterThanOrEqual(300);
  for (const n of acked) expect(handled.has(n)).toBe(true);
});
