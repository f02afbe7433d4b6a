/** Start the conformance fixture on Bun, in this process, on a free port (TLS when a certificate is given). */
import { serve } from "../../adapters/bun.ts";
import { createFixtureHub, type FixtureOverrides } from "../fixture.ts";

export async function startBun(
  overrides: FixtureOverrides = {},
  cert?: { cert: string; key: string },
): Promise<{ url: string; stop(): Promise<void> }> {
  const tls = cert && { cert: cert.cert, key: cert.key };
  const server = await serve(createFixtureHub(overrides), { port: 0, hostname: "127.0.0.1", tls });
  return { url: server.url, stop: () => server.stop() };
}
