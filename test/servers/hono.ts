/**
 * The conformance fixture behind a Hono app, the same on every runtime. Its middleware is the
 * kind that breaks a 101 returned through Hono: CORS sets headers before the route runs, and
 * another sets one after it (Hono then copies the response to make its headers writable).
 */
import { Hono } from "hono";
import { cors } from "hono/cors";
import { serve, upgrade } from "../../adapters/hono.ts";
import { createFixtureHub } from "../fixture.ts";

export function createFixtureApp(hub: ReturnType<typeof createFixtureHub>): Hono {
  const app = new Hono();
  app.use("*", cors());
  app.use("*", async (c, next) => {
    await next();
    c.header("x-served-by", "hono");
  });
  app.all("/", upgrade(hub)); // all methods: the hub answers a non-GET upgrade with 405 itself
  return app;
}

/** Start the fixture with `serve` from wirehub/hono on the current runtime. */
export async function startHono(
  overrides: Parameters<typeof createFixtureHub>[0] = {},
  cert?: { cert: string; key: string },
): Promise<{ url: string; stop(): Promise<void> }> {
  const hub = createFixtureHub(overrides);
  const server = await serve(hub, { app: createFixtureApp(hub), port: 0, hostname: "127.0.0.1", tls: cert && { cert: cert.cert, key: cert.key } });
  return { url: server.url, stop: () => server.stop() };
}
