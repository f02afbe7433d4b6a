/**
 * Graceful shutdown under traffic (catalogue 54-56): SIGTERM while a client streams requests.
 * Every request the server acknowledged was handled; the client gets `bye` then 1001; the
 * process exits. Then catalogue 56 on Node: with sessions open in every state, the fixture
 * server must end by itself after `stop()`, without `process.exit`.
 */
import { expect, test } from "bun:test";
import { spawn } from "bun";
import { silentSocket, TestClient } from "./client.ts";
import { nodeCommand, serverEnv, spawnServer } from "./spawn.ts";

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

test("catalogue 56: the Node fixture server exits by itself (no process.exit) after SIGTERM with sessions open", async () => {
  // Long windows, so any timer stop() forgot would hold the process well past the bound below.
  const overrides = { resume: { window: 60_000, maxFrames: 100 }, authTimeout: 60_000, ping: { policy: "auto", interval: 60_000 } };
  const server = await spawnServer(await nodeCommand("test/servers/node.ts"), { ...serverEnv(overrides), WIREHUB_EXIT: "natural" });
  const clients: TestClient[] = [];
  try {
    const env = await TestClient.envelope(server.url);
    const raw = await TestClient.connect(server.url);
    const unauthenticated = await TestClient.envelope(server.url + "?auth=frame"); // its auth timer runs
    const detached = await TestClient.envelope(server.url + "?wh_ack=1"); // its resume window runs
    await detached.close(4000, "network went away");
    // A peer that never answers the close frame: ws alone would keep its socket for its own
    // closeTimeout (30 s); the adapter's stop() waits a bounded 2 s for close handshakes, then cuts it.
    const mute = await silentSocket(server.url);
    const asked = env.request("test/ask", { sid: await sidOf(raw), method: "never", timeout: 60_000 }); // a pending server request
    void asked.catch(() => {});
    clients.push(env, raw, unauthenticated);
    expect((await env.call<string[]>("test/all-sessions")).length).toBe(5); // the detached one still counts: it waits for its resume

    const t0 = performance.now();
    server.signal("SIGTERM");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const code = await Promise.race([server.exited, new Promise<string>((r) => (timer = setTimeout(() => r("still running"), 10_000)))]);
    clearTimeout(timer);
    expect(code).toBe(0);
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect((await env.closed).code).toBe(1001);
    mute.destroy();
  } finally {
    server.signal("SIGKILL"); // a no-op once it exited
    for (const c of clients) if (c.ws.readyState <= 1) c.ws.close();
  }
}, 30_000);

/** A raw client's session id, from the fixture's "__sid" echo. */
async function sidOf(c: TestClient): Promise<string> {
  c.send("__sid");
  return (await c.next()) as string;
}
