/**
 * Helpers for the `wirehub/client` tests: a real wirehub server on Bun (the fixture hub plus a
 * few handlers these tests need), restartable on the port it first got, and event waiters.
 */
import { createServer, connect as netConnect, type AddressInfo, type Socket } from "node:net";
import { serve, type ServerHandle } from "../adapters/bun.ts";
import { WirehubError, type Hub, type HubOptions } from "../src/mod.ts";
import { afterEach } from "bun:test";
import { connect, type Client, type ClientEventName, type ClientEvents, type ClientOptions } from "../src/client.ts";
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

function clientHub(extra: Partial<HubOptions<FixtureData>>): Hub<FixtureData> {
  const hub = createFixtureHub(extra);
  hub
    .handle("test/slow", (d: { ms: number; value: unknown }) => new Promise((r) => setTimeout(() => r(d.value), d.ms)))
    .handle("test/refuse", () => {
      throw new WirehubError("forbidden", "not allowed", { data: { need: "admin" } });
    })
    .handle("test/trickle", (d: { count: number; chunk: number; to: string }) => {
      // `count` numbered events, `chunk` per timer tick: a stream that is still flowing while a test cuts the connection
      let i = 0;
      const tick = (): void => {
        for (let k = 0; k < d.chunk && i < d.count; k++) hub.emit("n", i++, { to: d.to });
        if (i < d.count) setTimeout(tick, 1);
      };
      tick();
      return true;
    });
  return hub;
}

/** The fixture hub (plus `extra` options) on Bun, on a free port. */
export async function startServer(extra: Partial<HubOptions<FixtureData>> = {}): Promise<TestServer> {
  const hub = clientHub(extra);
  let handle: ServerHandle = await serve(hub, { port: 0, hostname: "127.0.0.1" });
  const t: TestServer = {
    url: handle.url,
    port: handle.port,
    hub,
    stop: () => handle.stop(),
    async restart() {
      t.hub = clientHub(extra);
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

/**
 * A TCP proxy in front of a server, on a free port, to cut connections the way a network does:
 * both sockets end without a WebSocket close frame (1006 on both sides). While `refusing`, new
 * connections are cut at once, so reconnect attempts fail.
 */
export interface Proxy {
  url: string;
  /** Connections accepted so far. */
  readonly accepted: number;
  refusing: boolean;
  /** Cut every open connection. */
  cut(): void;
  close(): Promise<void>;
}

export async function startProxy(target: { port: number }, path = "/"): Promise<Proxy> {
  const pairs = new Set<[Socket, Socket]>();
  let accepted = 0;
  const p = {
    url: "",
    get accepted() {
      return accepted;
    },
    refusing: false,
    cut() {
      for (const [a, b] of pairs) (a.destroy(), b.destroy());
      pairs.clear();
    },
    close: () => new Promise<void>((resolve) => (p.cut(), server.close(() => resolve()))),
  };
  const server = createServer((down) => {
    if (p.refusing) return void down.destroy();
    accepted++;
    const up = netConnect(target.port, "127.0.0.1");
    const pair: [Socket, Socket] = [down, up];
    pairs.add(pair);
    const end = (): void => {
      pairs.delete(pair);
      down.destroy();
      up.destroy();
    };
    for (const s of pair) (s.on("error", end), s.on("close", end));
    down.pipe(up);
    up.pipe(down);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  p.url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}${path}`;
  return p;
}

/** Client options for tests: a quick heartbeat and short reconnect delays. */
export const FAST: ClientOptions = { heartbeat: { interval: 50, timeout: 200 }, reconnect: { minDelay: 10, maxDelay: 80 } };

/**
 * A test file's servers and clients: `server()` starts one, `client(url)` connects with
 * {@link FAST} (plus `options`), and every one of them is stopped or closed after each test,
 * last made first; `cleanup` takes more such steps. Call it at the top of the file.
 */
export function scoped(): {
  server(): Promise<TestServer>;
  client(url: string, options?: ClientOptions): Promise<Client<any>>;
  cleanup: Array<() => unknown>;
} {
  const cleanup: Array<() => unknown> = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });
  return {
    cleanup,
    async server() {
      const s = await startServer();
      cleanup.push(() => s.stop());
      return s;
    },
    async client(url, options = {}) {
      const c = await connect(url, { ...FAST, ...options });
      cleanup.push(() => c.close());
      return c;
    },
  };
}
