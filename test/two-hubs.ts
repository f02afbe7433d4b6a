/**
 * What every "several hubs on one server" test checks from the clients' side, with hub A on
 * `/a` and hub B on `/b` of `base` (hubs from test/servers/two-hubs.ts): each socket reaches the
 * hub of its path, and hub B's group sends, sends to everyone and member broadcasts reach only
 * B's sessions. Returns the clients (envelope a1, a2, b1, b2, then raw A and B), still open.
 */
import { expect } from "bun:test";
import { TestClient } from "./client.ts";

export async function expectHubsApart(base: string): Promise<TestClient[]> {
  const at = base.replace(/\/$/, "");
  const [a1, a2, b1, b2] = await Promise.all(["/a", "/a", "/b", "/b"].map((p) => TestClient.envelope(at + p)));
  const [rawA, rawB] = await Promise.all(["/a", "/b"].map((p) => TestClient.connect(at + p)));
  const clients = [a1!, a2!, b1!, b2!, rawA!, rawB!];
  try {
    expect(await Promise.all([a1!, a2!, b1!, b2!].map((c) => c.call("name")))).toEqual(["A", "A", "B", "B"]);
    rawB!.send("hi");
    expect(await rawB!.next()).toBe("B:hi");
    rawA!.send("hi");
    expect(await rawA!.next()).toBe("A:hi");
    // hub B's group send, send to everyone and a member's broadcast reach B's sessions
    expect(await b1!.call("announce")).toBe(true);
    for (const c of [b1!, b2!]) {
      expect(await c.frame((f) => f.e === "news")).toMatchObject({ d: "B's lobby" });
      expect(await c.frame((f) => f.e === "all")).toMatchObject({ d: "everyone on B" });
    }
    expect(await rawB!.next()).toBe("B's lobby");
    b1!.send({ t: "evt", e: "shout", d: "hey" });
    expect(await b2!.frame((f) => f.e === "shout")).toMatchObject({ d: "B:hey" });
    // then hub A's: had any of B's leaked, A's clients would hold them by now
    expect(await a1!.call("announce")).toBe(true);
    for (const c of [a1!, a2!]) {
      expect(await c.frame((f) => f.e === "news")).toMatchObject({ d: "A's lobby" });
      expect(await c.frame((f) => f.e === "all")).toMatchObject({ d: "everyone on A" });
    }
    expect(await rawA!.next()).toBe("A's lobby");
    expect(await rawA!.next()).toBe("everyone on A");
    for (const c of [a1!, a2!, rawA!]) for (const mark of ["B's", "on B", "B:"]) expect(JSON.stringify(c.all)).not.toContain(mark);
  } catch (error) {
    for (const c of clients) c.close();
    throw error;
  }
  return clients;
}
