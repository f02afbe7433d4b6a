/**
 * The hub every host serves for the conformance suite. It is host-agnostic: each file in
 * test/servers/ wraps it in one adapter. Tests drive server-side actions through `test/*`
 * requests, and watch server-side hooks through events sent to the "observers" group.
 */
import { createHub, type Hub, type HubOptions } from "../src/mod.ts";

export type FixtureData = { tag?: string; secret: string };

export function createFixtureHub(extra: Partial<HubOptions<FixtureData>> = {}): Hub<FixtureData> {
  const hub: Hub<FixtureData> = createHub<FixtureData>({
    protocols: ["protocolOne"],
    upgrade(req) {
      const url = new URL(req.url);
      const reject = url.searchParams.get("reject");
      if (reject) return new Response("rejected by test", { status: Number(reject) });
      return { data: { tag: url.searchParams.get("tag") ?? undefined, secret: "server-only-" + crypto.randomUUID() } };
    },
    authorize: (_s, action) => !action.group.startsWith("forbidden"),
    message(session, msg) {
      // raw clients have no hello frame: "__sid" tells them their session id
      if (msg.mode === "raw" && msg.data === "__sid") return void session.send(session.id);
      session.send(msg.data, msg.event);
    },
    close(session, code, reason) {
      hub.emit("closed", { sid: session.id, code, reason, tag: session.data.tag ?? null }, { group: "observers" });
    },
    ...extra,
  });
  hub
    .handle("whoami", (_d, s) => ({ sid: s.id, tag: s.data.tag ?? null, groups: [...s.groups], path: s.path, protocol: s.protocol, remote: s.remoteAddress }))
    .handle("test/join", (d: { sid: string; group: string }) => (hub.join(d.sid, d.group), true))
    .handle("test/leave", (d: { sid: string; group: string }) => (hub.leave(d.sid, d.group), true))
    .handle("test/members", (d: { group: string }) => [...hub.members(d.group)].map((s) => s.id).sort())
    .handle("test/groups", () => [...hub.groups()].sort())
    .handle("test/emit", (d: { event: string; data: unknown; target?: { to?: string[]; group?: string; except?: string[] } }) => (hub.emit(d.event, d.data, d.target), true))
    .handle("test/broadcast", (d: { event: string; data: unknown; group?: string; except?: string[]; includeSelf?: boolean }, s) => (s.broadcast(d.event, d.data, d), true))
    .handle("test/drop", (d: { sid: string; code: number; reason: string }) => hub.drop(d.sid, d.code, d.reason))
    .handle("test/throw", () => {
      throw new Error("boom: a handler bug whose text must not reach the client");
    })
    .handle("test/ask", async (d: { sid: string; method: string; data: unknown; timeout?: number }) => {
      const target = hub.get(d.sid);
      if (!target) throw new Error("no such session");
      try {
        return { ok: true, value: await target.request(d.method, d.data, { timeout: d.timeout }) };
      } catch (e) {
        return { ok: false, code: (e as { code?: string }).code ?? "unknown" };
      }
    });
  return hub;
}
