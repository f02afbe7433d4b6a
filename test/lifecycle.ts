/**
 * The server handle every adapter's `serve()` returns, checked the same way on every host:
 * a real port from port 0, `stop()` closing every session with 1001, and `wss://` with the
 * host's own TLS options (a certificate made at test time, trusted by the client as its CA).
 */
import { describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { TestClient } from "./client.ts";
import type { Started } from "./conformance.ts";
import { makeCert, type Cert } from "./tls.ts";

/** Open a WebSocket that trusts `ca` (Bun's client takes TLS options as a second-argument object). */
function open(url: string, ca: string, protocols: string[] = []): Promise<WebSocket> {
  const ws = new WebSocket(url, { protocols, tls: { ca } } as unknown as string[]);
  ws.binaryType = "arraybuffer";
  return new Promise((resolve, reject) => {
    ws.onopen = () => resolve(ws);
    ws.onerror = () => reject(new Error(`could not connect to ${url}`));
  });
}
const nextMessage = (ws: WebSocket): Promise<unknown> => new Promise((r) => ws.addEventListener("message", (e) => r(e.data), { once: true }));
const closed = (ws: WebSocket): Promise<number> => new Promise((r) => ws.addEventListener("close", (e) => r(e.code), { once: true }));

/** `start(overrides, cert)`: the fixture on the host, served over TLS when a certificate is given. */
/**
 * A raw-mode peer that learns its session id (one masked "__sid" frame) and then goes dead:
 * it reads nothing more and never answers a close frame.
 */
function deadPeer(url: string): Promise<{ sid: string; destroy(): void }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = connect(Number(u.port), u.hostname, () => {
      sock.write(`GET / HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
      // FIN + text, masked, 5 bytes; an all-zero mask leaves the payload as is.
      sock.write(Buffer.concat([Buffer.from([0x81, 0x80 | 5, 0, 0, 0, 0]), Buffer.from("__sid")]));
    });
    let buf = Buffer.alloc(0);
    sock.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf("\r\n\r\n");
      const frame = end < 0 ? undefined : buf.subarray(end + 4);
      if (!frame || frame.length < 2 || frame.length < 2 + frame[1]!) return;
      sock.pause(); // dead from here on
      resolve({ sid: frame.subarray(2, 2 + frame[1]!).toString(), destroy: () => sock.destroy() });
    });
    sock.on("error", reject);
  });
}

export function lifecycle(host: string, start: (overrides?: object, cert?: Cert) => Promise<Started>): void {
  describe(`server handle: ${host}`, () => {
    test("reports the real port of port 0 and the peer address; stop() closes every session with 1001", async () => {
      const server = await start();
      expect(Number(new URL(server.url).port)).toBeGreaterThan(0);
      const raw = await TestClient.connect(server.url);
      const env = await TestClient.envelope(server.url);
      expect((await env.call<{ remote: string }>("whoami")).remote).toBe("127.0.0.1"); // the host told the peer's address
      const bye = env.frame((f) => f.t === "bye");
      await server.stop();
      expect((await bye).c).toBe(1001);
      expect((await env.closed).code).toBe(1001);
      expect((await raw.closed).code).toBe(1001);
    });

    test("a close the server starts reaches the close hook with its code, even when the peer is dead", async () => {
      const server = await start();
      const obs = await TestClient.envelope(server.url);
      const peer = await deadPeer(server.url);
      try {
        obs.send({ t: "join", g: "observers", id: "obs" });
        await obs.frame((f) => f.id === "obs");
        expect(await obs.call("test/drop", { sid: peer.sid, code: 4001, reason: "kicked" })).toBe(true);
        const hook = await obs.frame((f) => f.e === "closed" && (f.d as { sid: string }).sid === peer.sid);
        expect(hook.d).toMatchObject({ code: 4001, reason: "kicked" });
        await obs.close();
      } finally {
        peer.destroy();
        await server.stop();
      }
    });

    test("wss:// with the host's own TLS options", async () => {
      const cert = makeCert();
      try {
        const server = await start({}, cert);
        expect(server.url).toStartWith("wss://");
        const raw = await open(server.url, cert.cert);
        raw.send("over tls");
        expect(await nextMessage(raw)).toBe("over tls");
        const env = await open(server.url, cert.cert, ["wirehub.v1"]);
        expect(env.protocol).toBe("wirehub.v1");
        expect(JSON.parse((await nextMessage(env)) as string)).toMatchObject({ t: "hello" });
        const codes = [closed(raw), closed(env)];
        await server.stop();
        expect(await Promise.all(codes)).toEqual([1001, 1001]);
      } finally {
        cert.remove();
      }
    });
  });
}
