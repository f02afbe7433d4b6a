import { capabilities } from "../adapters/deno.ts";
import { conformance } from "./conformance.ts";
import { lifecycle } from "./lifecycle.ts";
import { denoCommand, serverEnv, spawnServer } from "./spawn.ts";
import type { Cert } from "./tls.ts";

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
