/**
 * `npm run cluster`: three instances of examples/cluster/server.ts on ports 8081-8083 sharing
 * one Redis ($REDIS_URL, default redis://127.0.0.1:6379), and a client on each that chats,
 * lists who is there, sends a private message and runs a poll across instances. Ctrl-C stops everything;
 * `--once` stops after the exchange. Set BASE_PORT to move the ports.
 */
const redis = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const base = Number(process.env.BASE_PORT ?? 8081);
const once = process.argv.includes("--once");
const names = ["a", "b", "c"];

const procs = names.map((name, i) =>
  Bun.spawn([process.execPath, new URL("./server.ts", import.meta.url).pathname], {
    env: { ...process.env, NAME: name, PORT: String(base + i), REDIS_URL: redis },
    stdout: "pipe",
    stderr: "inherit",
  }));
const stopAll = (): void => procs.forEach((p) => p.kill("SIGTERM"));
process.on("SIGINT", () => (stopAll(), process.exit(0)));

// Each instance prints "listening on <url>" once Redis has its subscriptions.
const urls = await Promise.all(procs.map(async (p) => {
  const reader = p.stdout.getReader();
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error("an instance exited; is Redis running at " + redis + "?");
    text += new TextDecoder().decode(value);
    const m = /listening on (\S+)/.exec(text);
    if (m) {
      void (async () => { // keep echoing what the instance says
        for (;;) {
          const r = await reader.read();
          if (r.done) return;
          process.stdout.write(new TextDecoder().decode(r.value));
        }
      })();
      return m[1]!;
    }
  }
}));

urls.forEach((u, i) => console.log(`[${names[i]}] listening on ${u}`));

type Frame = Record<string, any>;
function client(alias: string, url: string): Promise<{ ws: WebSocket; next(pred: (f: Frame) => boolean): Promise<Frame> }> {
  const ws = new WebSocket(`${url}?name=${alias}`, "wirehub.v1");
  const waiters: { pred: (f: Frame) => boolean; resolve(f: Frame): void }[] = [];
  ws.onmessage = (e) => {
    const f = JSON.parse(e.data as string) as Frame;
    if (f.t === "evt") console.log(`  ${alias} @${new URL(url).port} ← ${f.d.from} (via ${f.d.via}): ${f.d.text}`);
    if (f.t === "presence") console.log(`  ${alias} @${new URL(url).port} ← presence ${f.op} ${f.who.alias}`);
    if (f.t === "dm") console.log(`  ${alias} @${new URL(url).port} ← private message from ${f.from.alias}: ${f.d}`);
    if (f.t === "req" && f.m === "vote") ws.send(JSON.stringify({ t: "res", id: f.id, d: alias === "bob" ? "no" : "yes" })); // the server asks
    const i = waiters.findIndex((w) => w.pred(f));
    if (i >= 0) waiters.splice(i, 1)[0]!.resolve(f);
  };
  const next = (pred: (f: Frame) => boolean): Promise<Frame> => new Promise((resolve) => waiters.push({ pred, resolve }));
  return next((f) => f.t === "hello").then(() => ({ ws, next }));
}

const [alice, bob, carol] = [await client("alice", urls[0]!), await client("bob", urls[1]!), await client("carol", urls[2]!)];
await alice.next((f) => f.t === "presence" && f.who.alias === "carol");
alice.ws.send(JSON.stringify({ t: "evt", e: "chat", d: "hello from alice" }));
await Promise.all([alice, bob, carol].map((c) => c.next((f) => f.d?.text === "hello from alice")));
carol.ws.send(JSON.stringify({ t: "who", id: 1, g: "lobby" }));
const who = await carol.next((f) => f.id === 1);
console.log(`  carol asks who is in the lobby: ${who.d.map((w: Frame) => w.alias).sort().join(", ")}`);
bob.ws.send(JSON.stringify({ t: "dm", to: "alice", d: "psst, bob here", id: 2 }));
await alice.next((f) => f.t === "dm");
carol.ws.send(JSON.stringify({ t: "req", id: 3, m: "poll", d: "pizza?" }));
const poll = await carol.next((f) => f.id === 3);
console.log(`  carol polls the lobby on every instance: ${poll.d.join(", ")}`);
console.log(once ? "done." : "\nThe cluster is up: connect your own clients to the URLs above (?name=you, subprotocol wirehub.v1). Ctrl-C stops it.");
if (once) {
  for (const c of [alice, bob, carol]) c.ws.close();
  stopAll();
  await Promise.all(procs.map((p) => p.exited));
  process.exit(0);
}
