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
    capabilities: { protocolPing: false, nativePubSub: false, bufferedAmount: false, hibernation: true },
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
