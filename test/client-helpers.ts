/**
 * Helpers for the `wirehub/client` tests: a real wirehub server on Bun (the fixture hub plus a
 * few handlers these tests need), restartable on the port it first got, and event waiters.
 */
import { serve, type ServerHandle } from "../adapters/bun.ts";
import { WirehubError, type Hub } from "../src/mod.ts";
import type { Client, ClientEventName, ClientEvents } from "../src/client.ts";
import { createFixtureHub, type FixtureData } from "./fixture.ts";

export interface TestServer {
  url: string;
  port: number;
  hub: Hub<FixtureData>;
  /** Stop the server (every session gets 1001). */
  stop(): Promise<void>;
  /** Start a fresh hub on the same port. */
  restart(): Promise<void>;
}

function clientHub(): Hub<FixtureData> {
  const hub = createFixtureHub();
  hub
    .handle("test/slow", (d: { ms: number; value: unknown }) => new Promise((r) => setTimeout(() => r(d.value), d.ms)))
    .handle("test/refuse", () => {
      throw new WirehubError("forbidden", "not allowed", { data: { need: "admin" } });
    })
    .handle("test/count", (d: { n: number; event: string }, s) => {
      for (let i = 1; i <= d.n; i++) s.emit(d.event, i);
      return d.n;
    });
  return hub;
}

export async function startServer(): Promise<TestServer> {
  const hub = clientHub();
  let handle: ServerHandle = await serve(hub, { port: 0, hostname: "127.0.0.1" });
  const t: TestServer = {
    url: handle.url,
    port: handle.port,
    hub,
    stop: () => handle.stop(),
    async restart() {
      t.hub = clientHub();
      handle = await serve(t.hub, { port: t.port, hostname: "127.0.0.1" });
    },
  };
  return t;
}

/** The next lifecycle event `name` of `client` (optionally matching `pred`), within `ms`. */
export function next<K extends ClientEventName>(
  client: Client<any>,
  name: K,
  pred: (e: ClientEvents[K]) => boolean = () => true,
  ms = 5000,
): Promise<ClientEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => (off(), reject(new Error(`no "${name}" event within ${ms} ms`))), ms);
    const off = client.onLifecycle(name, (e) => {
      if (!pred(e)) return;
      clearTimeout(timer);
      off();
      resolve(e);
    });
  });
}

/** Collect the payloads of event `event` until `n` have arrived. */
export function collect<T>(client: Client<any>, event: string, n: number, ms = 5000): Promise<T[]> {
  const got: T[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${got.length}/${n} "${event}" events within ${ms} ms`)), ms);
    const fn = (d: T): void => {
      got.push(d);
      if (got.length === n) {
        clearTimeout(timer);
        client.off(event, fn);
        resolve(got);
      }
    };
    client.on(event, fn);
  });
}
