/**
 * The server handle every adapter's `serve()` returns, checked the same way on every host:
 * a real port from port 0, `stop()` closing every session with 1001, and `wss://` with the
 * host's own TLS options (a certificate made at test time, trusted by the client as its CA).
 */
import { describe, expect, test } from "bun:test";
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
