/**
 * Volatile sends (`{ volatile: true }` on `hub.emit`, `session.emit`, `session.broadcast`): no
 * sequence number, never kept for resume, skipped for a backed-up or detached session. Through
 * the in-memory host and a MemoryBroker (the logic is the core's; Bun's native topics get the
 * same unnumbered frame).
 */
import { expect, test } from "bun:test";
import { createHub, MemoryBroker } from "../src/mod.ts";
import { MemoryHost, parsed, until } from "./memory-host.ts";

const env = "wirehub.v1";
const events = (frames: Record<string, any>[]) => frames.filter((f) => f.t === "evt").map((f) => ({ e: f.e, d: f.d, s: f.s }));

test("a volatile event carries no sequence number and is never kept for resume; others are", async () => {
  const hub = createHub();
  const host = new MemoryHost(hub);
  const a = await host.connect("http://h/?wh_ack=1", env); // keeps a replay buffer
  const b = await host.connect("http://h/", env);
  hub.join(a.session, "room");
  hub.join(b.session, "room");
  hub.emit("pos", 1, { volatile: true });
  hub.emit("chat", "kept");
  hub.emit("pos", 2, { group: "room", volatile: true });
  a.session.emit("pos", 3, { volatile: true });
  b.session.broadcast("pos", 4, { group: "room", volatile: true });
  expect(events(parsed(a))).toEqual([
    { e: "pos", d: 1, s: undefined },
    { e: "chat", d: "kept", s: 1 },
    { e: "pos", d: 2, s: undefined },
    { e: "pos", d: 3, s: undefined },
    { e: "pos", d: 4, s: undefined },
  ]);
  expect(a.session.ring!.seq).toEqual([1]); // only the numbered frame waits for an ack
  expect(events(parsed(b)).map((f) => f.d)).toEqual([1, "kept", 2]); // a broadcast leaves its sender out
});

test("a session that waits to be resumed gets no volatile event; the others are replayed once it is back", async () => {
  const hub = createHub();
  const host = new MemoryHost(hub);
  const a = await host.connect("http://h/?wh_ack=1", env);
  const rt = parsed(a)[0]!.rt as string;
  a.session.close(4000, "gone"); // server-caused 4000: detached, waiting for its client
  await Promise.resolve();
  expect(a.session.emit("pos", 1, { volatile: true })).toBe("dropped");
  hub.emit("pos", 2, { volatile: true });
  hub.emit("chat", "missed");
  const back = await host.connect(`http://h/?wh_resume=${rt}&wh_seq=0`, env);
  expect(parsed(back)[0]).toMatchObject({ t: "hello", resumed: true });
  expect(events(parsed(back))).toEqual([{ e: "chat", d: "missed", s: 1 }]);
});

test("a backed-up session skips volatile sends, raw or envelope, and still gets the others", async () => {
  const hub = createHub();
  const host = new MemoryHost(hub);
  const slow = await host.connect("http://h/", env);
  const raw = await host.connect("http://h/");
  const fast = await host.connect("http://h/", env);
  const send = host.driver.send;
  const backed = new Set([slow, raw]);
  host.driver.send = (s, data) => (send(s, data), backed.has(s) ? "queued" : "sent"); // the host buffers their frames
  hub.emit("chat", "first"); // queued for slow and raw: from now on they count as backed up
  expect(slow.session.congested && raw.session.congested).toBe(true);
  const dropped = hub.metrics.dropped;
  hub.emit("pos", 1, { volatile: true });
  expect(slow.session.emit("pos", 2, { volatile: true })).toBe("dropped");
  expect(raw.session.send("tick", "message")).toBe("queued"); // a plain send still goes
  expect(hub.metrics.dropped).toBe(dropped + 3); // counted as drops, like any frame not sent
  expect(events(parsed(slow)).map((f) => f.d)).toEqual(["first"]);
  expect(raw.frames).toEqual(["first", "tick"]);
  expect(events(parsed(fast)).map((f) => f.d)).toEqual(["first", 1]);
  backed.clear(); // drained: the next send is written at once, and volatile ones go again
  hub.emit("chat", "second");
  hub.emit("pos", 3, { volatile: true });
  expect(events(parsed(slow)).map((f) => f.d)).toEqual(["first", "second", 3]);
});

test("volatile crosses instances: the other hub's sessions get it unnumbered too", async () => {
  const broker = new MemoryBroker();
  const [h1, h2] = [createHub({ broker }), createHub({ broker })];
  const [m1, m2] = [new MemoryHost(h1), new MemoryHost(h2)];
  const a = await m1.connect("http://h/", env);
  const b = await m2.connect("http://h/?wh_ack=1", env);
  h1.join(a.session, "room");
  h2.join(b.session, "room");
  await Promise.all([h1.brokerReady(), h2.brokerReady()]);
  a.session.broadcast("pos", { x: 1 }, { group: "room", volatile: true });
  h1.emit("pos", { x: 2 }, { to: b.session.id, volatile: true });
  h1.emit("chat", "numbered", { group: "room" });
  await until(b, (f) => f.e === "chat");
  expect(events(parsed(b))).toEqual([
    { e: "pos", d: { x: 1 }, s: undefined },
    { e: "pos", d: { x: 2 }, s: undefined },
    { e: "chat", d: "numbered", s: 1 },
  ]);
  expect(b.session.ring!.seq).toEqual([1]);
});
