import { capabilities } from "../adapters/deno.ts";
import { conformance } from "./conformance.ts";
import { lifecycle } from "./lifecycle.ts";
import { count, firstAnswers } from "./reuse-port.ts";
import { join } from "node:path";
import { TestClient } from "./client.ts";
import { frame, RawFrames, text } from "./frames.ts";
import { denoCommand, serverEnv, spawnServer } from "./spawn.ts";
import type { Cert } from "./tls.ts";

const root = join(import.meta.dir, "..");
const start = (overrides?: object, cert?: Cert) => spawnServer(denoCommand("test/servers/deno.ts"), serverEnv(overrides, cert));
conformance("deno", start, capabilities);
lifecycle("deno", start);

test("Deno idleTimeout: Deno's own idle pings only for sessions the hub cannot check itself; the option wins", async () => {
  const { denoIdleTimeout } = await import("../adapters/deno-idle.ts");
  // default policy (send): envelope sessions get the hub's {"t":"ping"}; raw ones only Deno's pings
  expect(denoIdleTimeout({}, "envelope", undefined)).toBe(0);
  expect(denoIdleTimeout({}, "raw", undefined)).toBeUndefined();
  // a raw text ping pair lets the hub check raw sessions too
  expect(denoIdleTimeout({ rawPing: { ping: "p", pong: "q" } }, "raw", undefined)).toBe(0);
  expect(denoIdleTimeout({ ping: { policy: "expect" } }, "envelope", undefined)).toBe(0);
  // auto checks nobody: Deno's default stays
  expect(denoIdleTimeout({ ping: { policy: "auto" } }, "envelope", undefined)).toBeUndefined();
  expect(denoIdleTimeout({ ping: { policy: "auto" }, rawPing: { ping: "p", pong: "q" } }, "raw", undefined)).toBeUndefined();
  // an explicit adapter option is passed through as is
  expect(denoIdleTimeout({}, "envelope", 5)).toBe(5);
  expect(denoIdleTimeout({}, "raw", 0)).toBe(0);
});

test("Deno idle pings on raw sessions: a peer that answers them (pong or data) stays, a silent one is closed with 1001", async () => {
  // The adapter arms Deno's idle timer itself once a socket is open (adapters/deno-idle.ts), so
  // that Deno keeps no `Request` per session. It must find Deno's timer method on this Deno.
  const probe = Bun.spawn([join(root, "node_modules", ".bin", "deno"), "eval", "--quiet",
    `import { idlePinger } from ${JSON.stringify(join(root, "adapters/deno-idle.ts"))}; console.log(idlePinger() ? "pinger" : "none");`], { stdout: "pipe" });
  expect((await new Response(probe.stdout).text()).trim()).toBe("pinger");

  // idleTimeout 1: a ping after 0.5 s without a frame from the peer, a close 0.5 s after that.
  const server = await spawnServer(denoCommand("test/servers/deno.ts"), { WIREHUB_DENO_IDLE: "1" });
  const peers: RawFrames[] = [];
  const obs = await TestClient.envelope(server.url); // Bun's client answers Deno's pings itself
  try {
    obs.send({ t: "join", g: "observers", id: "obs" });
    await obs.frame((f) => f.id === "obs");
    const url = server.url.replace(/\/?$/, "/");
    const answering = await RawFrames.open(`${url}?tag=answering`);
    const silent = await RawFrames.open(`${url}?tag=silent`);
    const late = await RawFrames.open(`${url}?tag=late`);
    peers.push(answering, silent, late);
    // A frame after a ping counts as an answer, as in Deno's own timer: the peer is pinged again
    // half a timeout later instead of being closed.
    const dataAfterPings = (async () => {
      for (let i = 0; i < 3; i++) {
        await late.next((f) => f.opcode === 9, 5000);
        await late.send(frame(1, `after ping ${i}`));
        expect(text(await late.next((f) => f.opcode === 1))).toBe(`after ping ${i}`);
      }
    })();
    dataAfterPings.catch(() => {});
    const threePongs = (async () => {
      for (let pongs = 0; pongs < 3; pongs++) {
        const ping = await answering.next((f) => f.opcode === 9);
        await answering.send(frame(10, ping.payload));
      }
    })();
    threePongs.catch(() => {}); // awaited below; a failure before that must not go unhandled
    expect((await silent.next((f) => f.opcode === 9)).opcode).toBe(9); // pinged, not answered
    expect(await silent.endedWithin(5000)).toEqual({ how: "close", code: 1001 });
    const closed = await obs.frame((f) => f.e === "closed" && (f.d as { tag?: string }).tag === "silent", 5000);
    expect(closed.d).toMatchObject({ code: 1001, reason: "No response from ping frame." });
    // The answering peer outlives several rounds and still gets its frames echoed.
    await threePongs;
    await dataAfterPings;
    await answering.send(frame(1, "still here"));
    expect(new TextDecoder().decode((await answering.next((f) => f.opcode === 1)).payload)).toBe("still here");
    await obs.nothing((f) => f.e === "closed" && ["answering", "late"].includes((f.d as { tag?: string }).tag ?? ""));
  } finally {
    for (const p of peers) p.destroy();
    obs.close();
    await server.stop();
  }
}, 30_000); // several 1 s idle rounds: about 2.5 s here

test("Deno out of file descriptors: the failed accept loop is reported, the process and its open sessions live on", async () => {
  const { mkdtempSync, rmSync, writeFileSync } = await import("node:fs");
  const { join } = await import("node:path");
  const { tmpdir } = await import("node:os");
  const root = join(import.meta.dir, "..");
  const dir = mkdtempSync(join(tmpdir(), "wirehub-emfile-"));
  const entry = join(dir, "server.ts");
  writeFileSync(entry, [
    `import { createHub } from ${JSON.stringify(join(root, "src/mod.ts"))};`,
    `import { serve } from ${JSON.stringify(join(root, "adapters/deno.ts"))};`,
    `const hub = createHub({ rateLimit: false, message: (s, m) => void s.send(m.data), error: (e) => console.log("reported " + String((e as Error).message ?? e)) });`,
    `const server = await serve(hub, { port: 0, hostname: "127.0.0.1" });`,
    `console.log("listening " + server.port);`,
  ].join("\n"));
  // A descriptor limit far below what the test opens: Deno's accept fails with EMFILE.
  const deno = join(root, "node_modules", ".bin", "deno");
  const proc = Bun.spawn(["sh", "-c", `ulimit -n 96 && exec "$0" run --quiet --no-config --allow-net --allow-read "$1"`, deno, entry], { stdout: "pipe", stderr: "pipe" });
  const lines: string[] = [];
  const waiters: Array<() => void> = [];
  (async () => {
    const dec = new TextDecoder();
    let buf = "";
    for await (const chunk of proc.stdout) {
      buf += dec.decode(chunk);
      const parts = buf.split("\n");
      buf = parts.pop()!;
      lines.push(...parts);
      for (const w of waiters.splice(0)) w();
    }
    ended = true;
    for (const w of waiters.splice(0)) w();
  })();
  let ended = false;
  const line = async (re: RegExp): Promise<string> => {
    for (;;) {
      const hit = lines.find((l) => re.test(l));
      if (hit) return hit;
      if (ended) throw new Error(`the server exited (${await proc.exited}): ${await new Response(proc.stderr).text()}`);
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  const sockets: WebSocket[] = [];
  try {
    const port = Number((await line(/^listening \d+/)).split(" ")[1]);
    const first = new WebSocket(`ws://127.0.0.1:${port}/`);
    sockets.push(first);
    await new Promise((r, f) => ((first.onopen = r), (first.onerror = f)));
    // Far more connections than the limit allows; some fail, and Deno's accept loop gives up.
    for (let i = 0; i < 150; i++) sockets.push(new WebSocket(`ws://127.0.0.1:${port}/`));
    expect(await line(/^reported /)).toMatch(/open files|os error 24/i);
    expect(proc.exitCode).toBeNull(); // the process lives on
    // A session opened before still works.
    const echoed = new Promise<string>((r) => (first.onmessage = (e) => r(String(e.data))));
    first.send("still here");
    expect(await echoed).toBe("still here");
    expect(proc.exitCode).toBeNull();
  } finally {
    for (const s of sockets) s.close();
    proc.kill(9);
    await proc.exited;
    rmSync(dir, { recursive: true, force: true });
  }
}, 30_000);

test("reusePort: two Deno processes listen on one port, the kernel spreads the connections, a taken port rejects", async () => {
  // Deno marks reusePort unstable: the entry runs with --unstable-net.
  const { cmd } = denoCommand("test/servers/deno-reuse.ts");
  const withNet = [cmd[0]!, "run", "--unstable-net", ...cmd.slice(2)];
  const a = await spawnServer({ cmd: withNet }, { NAME: "a", PORT: "0", REUSE: "1" });
  const port = new URL(a.url).port;
  const b = await spawnServer({ cmd: withNet }, { NAME: "b", PORT: port, REUSE: "1" }).catch(async (e) => {
    await a.stop();
    throw e;
  });
  let clients: { answers: string[]; close(): void } | undefined;
  try {
    expect(new URL(b.url).port).toBe(port);
    // Without reusePort the port is taken: serve rejects (the entry prints what it caught).
    const taken = Bun.spawn(withNet, { env: { ...process.env, NAME: "c", PORT: port }, stdout: "pipe", stderr: "pipe" });
    expect((await new Response(taken.stdout).text()).trim()).toBe("refused AddrInUse");
    expect(await taken.exited).toBe(3);
    clients = await firstAnswers(a.url, 40);
    expect(count(clients.answers, "a") + count(clients.answers, "b")).toBe(40);
    // SO_REUSEPORT hashes each connection's address pair: both processes get some (1 in 2^39 they do not).
    expect(count(clients.answers, "a")).toBeGreaterThan(0);
    expect(count(clients.answers, "b")).toBeGreaterThan(0);
  } finally {
    clients?.close();
    await Promise.all([a.stop(), b.stop()]);
  }
}, 30_000);
