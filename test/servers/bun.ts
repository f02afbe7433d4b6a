/** Start the conformance fixture on Bun, in this process, on a free port. */
import { serve } from "../../adapters/bun.ts";
import { createFixtureHub, type FixtureOverrides } from "../fixture.ts";

export async function startBun(overrides: FixtureOverrides = {}): Promise<{ url: string; stop(): Promise<void> }> {
  const server = await serve(createFixtureHub(overrides), { port: 0, hostname: "127.0.0.1" });
  return { url: server.url, stop: () => server.stop() };
}
