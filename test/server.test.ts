/**
 * `wirehub/server`: one `serve` for every runtime. The same entry (test/servers/universal.ts) runs
 * under Bun, Deno and Node as child processes; each must pick its own host adapter (read back
 * through the capabilities the hub reports) and honour the options every host shares.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect as tlsConnect } from "node:tls";
import { capabilities as bunCaps } from "../adapters/bun.ts";
import { capabilities as denoCaps } from "../adapters/deno.ts";
import { capabilities as nodeCaps } from "../adapters/node.ts";
import { detectRuntime, serve } from "../adapters/server.ts";
import { createHub } from "../src/mod.ts";
import { denoCommand, nodeCommand, serverEnv, spawnServer, type Command } from "./spawn.ts";
import { makeCert, type Cert } from "./tls.ts";

const ENTRY = "test/servers/universal.ts";
const hosts: Record<string, { command: () => Command | Promise<Command>; capabilities: object }> = {
  bun: { command: () => ({ cmd: [process.execPath, ENTRY] }), capabilities: bunCaps },
  deno: { command: () => denoCommand(ENTRY), capabilities: denoCaps },
  node: { command: () => nodeCommand(ENTRY), capabilities: nodeCaps },
};

let cert: Cert;
beforeAll(() => void (cert = makeCert()));
afterAll(() => cert.remove());

function open(url: string, protocols: string[] = []): Promise<{ ws: WebSocket; next(): Promise<unknown> }> {
  const ws = new WebSocket(url, { protocols, tls: { ca: cert.cert } } as unknown as string[]);
  ws.binaryType = "arraybuffer";
  const queue: unknown[] = [];
  let wake = () => {};
  ws.onmessage = (e) => (queue.push(e.data), wake());
  const next = async () => {
    while (queue.length === 0) await new Promise<void>((r) => (wake = r));
    return queue.shift();
  };
  return new Promise((resolve, reject) => {
    ws.onopen = () => resolve({ ws, next });
    ws.onerror = () => reject(new Error(`could not connect to ${url}`));
  });
}

/** The status line's code of a WebSocket upgrade request for `path`, over TLS. */
function upgradeStatusTls(url: string, path: string): Promise<number> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = tlsConnect({ host: u.hostname, port: Number(u.port), ca: cert.cert }, () => {
      sock.write([`GET ${path} HTTP/1.1`, `Host: ${u.host}`, "Upgrade: websocket", "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13", "", ""].join("\r\n"));
    });
    let head = "";
    sock.on("data", (d) => {
      head += d.toString("latin1");
      const m = /^HTTP\/1\.1 (\d{3})/.exec(head);
      if (m) (resolve(Number(m[1])), sock.destroy());
    });
    sock.on("error", reject);
  });
}

test("this process is Bun, and serve here is the Bun adapter's", async () => {
  expect(detectRuntime()).toBe("bun");
  const hub = createHub();
  const server = await serve(hub, { port: 0, hostname: "127.0.0.1" });
  try {
    expect(hub.driver?.capabilities).toEqual(bunCaps);
  } finally {
    await server.stop();
  }
});

for (const [runtime, host] of Object.entries(hosts)) {
  describe(`wirehub/server on ${runtime}`, () => {
    test("picks the runtime's adapter; path, fetch and TLS as every host takes them", async () => {
      const server = await spawnServer(await host.command(), serverEnv(undefined, cert), 60_000);
      try {
        expect(server.url).toStartWith("wss://127.0.0.1:");
        expect(server.url).toEndWith("/ws");
        const raw = await open(server.url);
        raw.ws.send("over tls");
        expect(await raw.next()).toBe("over tls");
        const env = await open(server.url, ["wirehub.v1"]);
        expect(JSON.parse((await env.next()) as string)).toMatchObject({ t: "hello" });
        env.ws.send(JSON.stringify({ t: "req", id: 1, m: "host" }));
        expect(JSON.parse((await env.next()) as string)).toEqual({ t: "res", id: 1, d: { runtime, capabilities: host.capabilities } });
        const page = await fetch(server.url.replace(/^wss/, "https").replace(/\/ws$/, "/page"), { tls: { ca: cert.cert } } as RequestInit);
        expect(await page.text()).toBe(`${runtime} /page`);
        // An upgrade elsewhere than `path` goes to `fetch` on every host.
        expect(await upgradeStatusTls(server.url, "/elsewhere")).toBe(200);
        const closed = [raw, env].map((c) => new Promise((r) => c.ws.addEventListener("close", (e) => r(e.code))));
        await server.stop();
        expect(await Promise.all(closed)).toEqual([1001, 1001]);
      } finally {
        server.signal("SIGKILL");
      }
    }, 90_000);
  });
}

test("reusePort on Node: serve rejects with a clear message instead of ignoring it", async () => {
  const { cmd, cleanup } = await nodeCommand(ENTRY);
  const proc = Bun.spawn(cmd, { env: { ...process.env, WIREHUB_REUSE: "1" }, stdout: "pipe" });
  const lines = proc.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes("\n")) {
    const { done, value } = await lines.read();
    if (done) break;
    out += value;
  }
  proc.kill(); // a server that listened after all must not outlive the test
  await proc.exited;
  cleanup?.();
  expect(out.trim()).toBe("refused: wirehub/server: reusePort needs Bun or Deno; Node has no SO_REUSEPORT option for its servers");
});
