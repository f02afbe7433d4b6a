/**
 * Two hubs behind one Hono app, one route each (`/a`, `/b`), on whichever runtime runs this file
 * (Bun, Deno, or Node bundled by test/spawn.ts): the server is given hub A's handler only (Bun's
 * `websocket`, the `fetch` wrapper) and, on Node, both hubs attach to the one server (and a
 * second app's attach must be refused, or the entry fails before it starts). Prints its
 * URL, stops on SIGTERM. The hubs: ./two-hubs.ts.
 */
import { Hono } from "hono";
import { createHandler, upgrade } from "../../adapters/hono.ts";
import { makeHub } from "./two-hubs.ts";

const hubs = [makeHub("A"), makeHub("B")] as const;
const app = new Hono();
app.get("/a", upgrade(hubs[0]));
app.get("/b", upgrade(hubs[1]));
const a = createHandler(hubs[0]);

let url: string;
let stop: () => Promise<void>;
const closeHubs = () => Promise.all(hubs.map((h) => h.close()));
if ("Bun" in globalThis) {
  const Bun = (globalThis as unknown as { Bun: { serve(o: object): { port: number; stop(force: boolean): void } } }).Bun;
  const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: a.fetch(app), websocket: a.websocket });
  url = `ws://127.0.0.1:${s.port}`;
  stop = async () => (await closeHubs(), s.stop(true));
} else if ("Deno" in globalThis) {
  const Deno = (globalThis as unknown as { Deno: { serve(o: object, h: unknown): { addr: { port: number }; shutdown(): Promise<void> } } }).Deno;
  const s = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, a.fetch(app));
  url = `ws://127.0.0.1:${s.addr.port}`;
  stop = async () => (await closeHubs(), await s.shutdown());
} else {
  const { serve } = await import("@hono/node-server");
  const s = await new Promise<ReturnType<typeof serve>>((ok) => {
    const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => ok(server));
  });
  a.attach(s, app);
  createHandler(hubs[1]).attach(s, app); // the same app on the same server: one listener still
  // Another app on the same server is refused (two listeners would both answer every upgrade):
  // without the error this entry stops here and the test fails to start it.
  let refused = false;
  try {
    createHandler(hubs[1]).attach(s, new Hono());
  } catch {
    refused = true;
  }
  if (!refused) throw new Error("a second Hono app on one server was not refused");
  url = `ws://127.0.0.1:${(s.address() as { port: number }).port}`;
  stop = async () => {
    await closeHubs();
    (s as { closeAllConnections?(): void }).closeAllConnections?.();
    await new Promise((ok) => s.close(ok));
  };
}
console.log(url + "/");
const onTerm = () => void stop().then(() => process.exit(0));
if ("Deno" in globalThis) (globalThis as unknown as { Deno: { addSignalListener(s: string, f: () => void): void } }).Deno.addSignalListener("SIGTERM", onTerm);
else process.once("SIGTERM", onTerm);
