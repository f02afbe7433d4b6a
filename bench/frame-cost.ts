/**
 * The JavaScript one echo frame costs on Bun, without sockets: each target's Bun `websocket`
 * handler is called directly, in a loop, with fake sockets whose `send` only counts. What it
 * reads is the handler's own path (adapter, hooks, the send call), steady to a few percent
 * between rounds, where a networked measurement moves by more than the path costs. It leaves
 * out everything a real server adds: system calls, Bun's frame parsing, and how often the
 * garbage collector runs (bench/notes.md, "Bun's allocator and the raw echo": that part showed
 * up only in the networked runs), and flattening a concatenated string, which Bun's native send
 * does and the fake one does not ("Ropes on Bun's send path": 15 % of a networked envelope
 * round trip that this tool did not see). Use it to compare hot-path changes; `bench/pair.ts`
 * and `npm run bench` give the real figures.
 *
 *   bun bench/frame-cost.ts                            # bare handler, crossws, wirehub raw
 *   bun bench/frame-cost.ts wirehub wirehub@../other   # this checkout against another one
 *   bun bench/frame-cost.ts json wirehub-env           # the envelope against JSON by hand
 *
 * Targets: `bare` (the raw Bun target's handler), `json` (the JSON envelope by hand, envelope
 * frames), `crossws` (crossws's Bun adapter, the bench's hooks), `wirehub` (raw mode),
 * `wirehub-env` (envelope mode, event `echo`), each with the same hooks as its bench server;
 * `wirehub…@DIR` loads wirehub from another checkout. Every target
 * gets `--conns` sockets (opened through its own upgrade path) and `--frames` frames per round,
 * 64-byte texts (4 096 different ones) in turn over the sockets; rounds interleave the targets.
 * Options [defaults]: --rounds 6, --frames 1000000, --conns 64.
 */
import crossws from "crossws/adapters/bun";
import { ROOT, stat, targetArgs } from "./lib.ts";
import { benchHooks } from "./servers/crossws-hooks.ts";
import { benchHub } from "./servers/wirehub-hub.ts";
import { answer, BROADCAST } from "./servers/json-answer.ts";
import { ratioOf } from "./paired.ts";

declare const Bun: { nanoseconds(): number };
const { specs, opt } = targetArgs(["--rounds", "--frames", "--conns"], "bun bench/frame-cost.ts [TARGET[@DIR] ...] [--rounds 6] [--frames 1000000] [--conns 64]", 0);
const rounds = Number(opt("rounds", "6"));
const frames = Number(opt("frames", "1000000"));
const conns = Number(opt("conns", "64"));
const names = specs.length ? specs : ["bare", "crossws", "wirehub"];

/**
 * 4 096 different frames made from a template whose "####" takes a number: a real server gets a
 * new string per frame, and one string parsed again and again reads cheaper (the JSON envelope by
 * hand: 149 ns per frame on one string, 184–199 ns on these).
 */
const variants = (template: string): string[] => Array.from({ length: 4096 }, (_, j) => template.replace("####", String(j).padStart(4, "0")));
const RAW = variants("x".repeat(60) + "####");
const ENV = variants(`{"t":"evt","e":"echo","d":"${"x".repeat(31)}####"}`); // 64 bytes, as the generator sends
let sent = 0;

/** The part of Bun's `ServerWebSocket` the handlers touch; `send` counts and reports bytes written. */
class FakeSocket {
  data: unknown = undefined;
  readonly remoteAddress = "127.0.0.1";
  send(d: string | Uint8Array): number {
    sent++;
    return (typeof d === "string" ? d.length : d.byteLength) + 2;
  }
  close(): void {}
  terminate(): void {}
  ping(): number {
    return 0;
  }
  subscribe(): void {}
  unsubscribe(): void {}
  publish(): number {
    return 0;
  }
  getBufferedAmount(): number {
    return 0;
  }
}

/** A `Bun.serve` server as far as the upgrade paths use it: `upgrade` keeps the socket's data. */
let upgraded: unknown;
const server = {
  port: 1,
  hostname: "127.0.0.1",
  upgrade(_req: Request, o: { data: unknown }) {
    upgraded = o.data;
    return true;
  },
  publish: () => 0,
  requestIP: () => ({ address: "127.0.0.1" }),
  stop() {},
};
const request = (protocol?: string) => new Request("http://127.0.0.1/", {
  headers: {
    upgrade: "websocket", connection: "Upgrade", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "sec-websocket-version": "13",
    ...(protocol && { "sec-websocket-protocol": protocol }),
  },
});

type Handler = { open?(ws: FakeSocket): void; message(ws: FakeSocket, data: string): void };
interface Target {
  readonly name: string;
  readonly frames: string[];
  readonly handler: Handler;
  readonly sockets: FakeSocket[];
}

async function open(name: string, handler: Handler, upgrade: () => Promise<unknown> | unknown, frames: string[]): Promise<Target> {
  const sockets: FakeSocket[] = [];
  for (let i = 0; i < conns; i++) {
    upgraded = undefined;
    await upgrade();
    if (upgraded === undefined) throw new Error(`${name}: the upgrade was refused`);
    const ws = new FakeSocket();
    ws.data = upgraded;
    handler.open?.(ws);
    sockets.push(ws);
  }
  return { name, frames, handler, sockets };
}

/** The bare target: what bench/servers/raw-bun.ts does per frame. */
function bare(): Promise<Target> {
  let n = 0;
  const handler: Handler = {
    message(ws, m) {
      if (typeof m === "string" && m.charCodeAt(0) === 66) ws.publish();
      else ws.send(m);
    },
  };
  return open("bare", handler, () => server.upgrade(request(), { data: { user: "u" + n++ } }), RAW);
}

/** The JSON envelope by hand: what bench/servers/json.ts does per frame on `Bun.serve`. */
function json(): Promise<Target> {
  const handler: Handler = {
    message(ws, m) {
      const a = answer(m);
      if (a === BROADCAST) ws.publish();
      else if (a !== undefined) ws.send(a);
    },
  };
  return open("json", handler, () => server.upgrade(request("wirehub.v1"), { data: {} }), ENV);
}

/** crossws with its bench targets' hooks. */
async function crosswsTarget(): Promise<Target> {
  const ws = crossws({ idleTimeout: 0, hooks: benchHooks() } as Parameters<typeof crossws>[0]);
  return open("crossws", ws.websocket as unknown as Handler, () => ws.handleUpgrade(request(), server as never), RAW);
}

/** wirehub (from `dir`) with its bench target's hub. */
async function wirehub(name: string, dir: string, envelope: boolean): Promise<Target> {
  const { createHub } = await import(dir + "/src/mod.ts");
  const { createHandler } = await import(dir + "/adapters/bun.ts");
  const hub = benchHub(createHub);
  const h = createHandler(hub);
  return open(name, h.websocket, () => h.upgrade(request(envelope ? "wirehub.v1" : undefined), server), envelope ? ENV : RAW);
}

const targets: Target[] = [];
for (const spec of names) {
  const [id, at] = spec.split("@") as [string, string | undefined];
  if (id === "bare" && !at) targets.push(await bare());
  else if (id === "json" && !at) targets.push(await json());
  else if (id === "crossws" && !at) targets.push(await crosswsTarget());
  else if (id === "wirehub" || id === "wirehub-env") targets.push(await wirehub(spec, at ? (at.startsWith("/") ? at : `${process.cwd()}/${at}`) : ROOT, id === "wirehub-env"));
  else {
    console.error(`unknown target ${spec}: bare, json, crossws, wirehub[@DIR], wirehub-env[@DIR]`);
    process.exit(2);
  }
}

/** `count` frames through `t`'s handler, the sockets in turn; ns per frame. */
function run(t: Target, count: number): number {
  const { handler, sockets, frames } = t;
  const before = sent;
  const t0 = Bun.nanoseconds();
  for (let i = 0, k = 0; i < count; i++) {
    handler.message(sockets[k]!, frames[i & 4095]!);
    if (++k === sockets.length) k = 0;
  }
  const ns = (Bun.nanoseconds() - t0) / count;
  if (sent - before !== count) throw new Error(`${t.name}: ${sent - before} frames sent back for ${count}`);
  return ns;
}

for (const t of targets) run(t, Math.min(frames, 200_000)); // warm-up: the JIT compiles the path first
const perRound: number[][] = targets.map(() => []);
for (let r = 0; r < rounds; r++) {
  targets.forEach((t, i) => perRound[i]!.push(run(t, frames)));
  console.log(`round ${r + 1}: ` + targets.map((t, i) => `${t.name} ${perRound[i]![r]!.toFixed(1)} ns`).join(", "));
}
console.log(`\nJavaScript per echo frame, fake sockets, ${rounds} rounds of ${frames} frames over ${conns} sockets (run from ${ROOT})`);
targets.forEach((t, i) => {
  const s = stat(perRound[i]!)!;
  let line = `${t.name.padEnd(40)} ${s.med.toFixed(1).padStart(6)} ns (${s.min.toFixed(1)}–${s.max.toFixed(1)})`;
  if (i > 0) {
    const q = ratioOf(perRound, i, 0);
    const d = stat(perRound[i]!.map((x, k) => x - perRound[0]![k]!))!;
    line += `   ÷ ${targets[0]!.name}: ${q.med.toFixed(2)} (${q.min.toFixed(2)}–${q.max.toFixed(2)}), ${d.med >= 0 ? "+" : ""}${d.med.toFixed(1)} ns`;
  }
  console.log(line);
});
