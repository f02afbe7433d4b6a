/** Core: snapshots a hibernating host keeps per socket, and sessions rebuilt from them. */
import { expect, test } from "bun:test";
import { createHub, type Driver, type SessionSnapshot } from "../src/mod.ts";

interface Sock {
  attachment?: unknown;
  frames: string[];
}

/** A host that keeps attachments, as a Durable Object does, and can lose its hub. */
function host(opened: string[] = []) {
  const hub = createHub<{ n: number }>({ open: (s) => void opened.push(s.id), upgrade: () => ({ data: { n: 1 } }) });
  const driver: Driver<Sock> = {
    capabilities: { protocolPing: false, nativePubSub: false, bufferedAmount: false, hibernation: true, validatesUtf8: false },
    send: (s, d) => (s.frames.push(String(d)), "sent"),
    close: () => {},
    persist: (s, snap) => void (s.attachment = structuredClone(snap)),
  };
  return { hub, seam: hub.attach(driver) };
}

test("the hub stores a snapshot on open, join, leave and save; restore rebuilds the session without the open hook", async () => {
  const opened: string[] = [];
  const a = host(opened);
  const adm = await a.seam.upgrade(new Request("http://h/room?x=1", { headers: { upgrade: "websocket", "sec-websocket-version": "13", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "sec-websocket-protocol": "wirehub.v1", "x-k": "v" } }), { remoteAddress: "10.0.0.1" });
  if (adm instanceof Response) throw new Error("refused");
  const sock: Sock = { frames: [] };
  const s = a.seam.open(sock, adm);
  expect(s.id).toBe(adm.id);
  expect((sock.attachment as SessionSnapshot).groups).toEqual([]);
  s.join("g1");
  s.join("g2");
  s.leave("g1");
  s.data.n = 2;
  s.save();
  s.alias = "ann";
  const snap = sock.attachment as SessionSnapshot<{ n: number }>;
  expect(snap).toMatchObject({ v: 1, id: s.id, mode: "envelope", protocol: "wirehub.v1", url: "http://h/room?x=1", remoteAddress: "10.0.0.1", data: { n: 2 }, groups: ["g2"] });
  expect(snap.alias).toBeUndefined(); // set after the last save: not stored

  const b = host(opened); // a new instance after a wake
  const r = b.seam.restore(sock, sock.attachment)!;
  expect(opened).toEqual([s.id]); // the open hook ran once, on the first instance
  expect(r.id).toBe(s.id);
  expect(r.data).toEqual({ n: 2 });
  expect(r.headers.get("x-k")).toBe("v");
  expect(r.openedAt).toBe(s.openedAt);
  expect([...b.hub.members("g2")]).toEqual([r]);
  expect(b.hub.get(s.id)).toBe(r);
  expect(b.seam.restore(sock, sock.attachment)).toBe(r); // idempotent
  expect(sock.frames.filter((f) => f.includes('"hello"'))).toHaveLength(1); // no second hello
  b.hub.emit("e", 1, { group: "g2" });
  expect(sock.frames.at(-1)).toBe('{"t":"evt","e":"e","d":1}');
  expect(b.seam.restore({ frames: [] }, { not: "a snapshot" })).toBeUndefined();
  expect(b.seam.restore({ frames: [] }, null)).toBeUndefined();
});

/** A hibernating host that records closes, with hub options of the test's choosing. */
function sleepyHost(options: Parameters<typeof createHub<{ n: number }>>[0]) {
  const hub = createHub<{ n: number }>(options);
  const closed: { code: number; reason: string }[] = [];
  const driver: Driver<Sock> = {
    capabilities: { protocolPing: false, nativePubSub: false, bufferedAmount: false, hibernation: true, validatesUtf8: false },
    send: (s, d) => (s.frames.push(String(d)), "sent"),
    close: (_s, code, reason) => void closed.push({ code, reason }),
    persist: (s, snap) => void (s.attachment = structuredClone(snap)),
  };
  const seam = hub.attach(driver);
  const open = async (): Promise<{ sock: Sock; s: ReturnType<typeof seam.open> }> => {
    const adm = await seam.upgrade(new Request("http://h/", { headers: { upgrade: "websocket", "sec-websocket-version": "13", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "sec-websocket-protocol": "wirehub.v1" } }));
    if (adm instanceof Response) throw new Error("refused");
    const sock: Sock = { frames: [] };
    return { sock, s: seam.open(sock, adm) };
  };
  return { hub, seam, closed, open };
}

test("on a hibernating host the auth deadline belongs to the sweep: no timer, due at open + authTimeout, then 1008", async () => {
  const h = sleepyHost({ authenticate: () => ({}), authTimeout: 1000, ping: { policy: "auto" } });
  const { s } = await h.open();
  expect(s.authTimer).toBeUndefined(); // a timer would pin a Durable Object in memory
  expect(h.hub.liveness.dueFor(s)).toBe(s.openedAt + 1000);
  expect(h.hub.liveness.sweep(s.openedAt + 999)).toBe(s.openedAt + 1000);
  expect(h.closed).toEqual([]);
  expect(h.hub.liveness.sweep(s.openedAt + 1000)).toBeUndefined(); // nothing left to check
  expect(h.closed).toEqual([{ code: 1008, reason: "authentication timeout" }]);
});

test("liveness times are stored again once a tick ahead, and a session rebuilt from them is never judged early", async () => {
  const opts = { ping: { policy: "expect", timeout: 400 } } as const; // tick: 100 ms
  const a = sleepyHost(opts);
  expect(a.hub.liveness.tick).toBe(100);
  const { sock, s } = await a.open();
  const stored = (): SessionSnapshot => sock.attachment as SessionSnapshot;
  expect(stored().pinged).toBe(s.lastPing);
  // less than a tick since the stored times: a ping is not worth a store
  s.savedPing = s.savedSeen = Date.now() - 50;
  const before = stored();
  a.seam.message(s, '{"t":"ping"}');
  expect(stored()).toBe(before);
  // a tick or more: stored again
  s.savedPing = s.savedSeen = Date.now() - 100;
  a.seam.message(s, '{"t":"ping"}');
  expect(stored().pinged).toBe(s.lastPing);

  // a wake after the client's last ping at T: the rebuilt session counts from T + tick at the earliest
  const T = Date.now() - 10_000;
  const b = sleepyHost(opts);
  const r = b.seam.restore({ frames: [] }, { ...stored(), seen: T, pinged: T })!;
  expect(r.lastPing).toBe(T + 100);
  expect(b.hub.liveness.dueFor(r)).toBe(T + 100 + 400 + 1);
  b.hub.liveness.sweep(T + 500);
  expect(b.closed).toEqual([]);
  expect(b.hub.liveness.sweep(T + 501)).toBeUndefined();
  expect(b.closed).toEqual([{ code: 4000, reason: "ping timeout" }]);
  // a snapshot without the times (an older one) counts from the wake
  const c = sleepyHost(opts);
  const { seen: _s, pinged: _p, ...old } = stored();
  expect(c.seam.restore({ frames: [] }, old)!.lastPing).toBeGreaterThanOrEqual(T + 10_000);
});
