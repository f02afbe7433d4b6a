/**
 * The conformance fixture as a Worker + Durable Object (runs in workerd, bundled by ./start.ts).
 * Every request goes to the object named by `?room=` (default "conformance"), so the hub sees
 * the path "/" the suite expects. The `hib/*` handlers let the hibernation test look inside;
 * `rooms/broadcast` and the `/__broadcast` and `/__forward` routes serve ../../cloudflare-rooms.test.ts.
 */
import { broadcastToRoom, createDurableObject, routeToRoom, type DurableObjectNamespaceLike } from "../../../adapters/cloudflare.ts";
import { createFixtureHub, overridesFromEnv, type FixtureData } from "../../fixture.ts";

interface Env {
  HUB: DurableObjectNamespaceLike;
  /** Hub option overrides for conformance variants (JSON), set by ./start.ts. */
  WIREHUB_FIXTURE?: string;
  /** The objects' `roomSecret`, when ./start.ts sets one. */
  ROOM_SECRET?: string;
}

type RoomEvent = { room: string; event: string; data: unknown; to?: string[]; group?: string; except?: string[] };
const toRoom = (env: Env, d: RoomEvent): Promise<void> =>
  broadcastToRoom(env.HUB, d.room, d.event, d.data, { to: d.to, group: d.group, except: d.except, secret: env.ROOM_SECRET });

// Module scope outlives an evicted object (same isolate), so this counts object instances, per
// object id (every room is an object of its own, and each may wake on its own alarm).
const instances = new Map<string, number>();

export const FixtureHub = createDurableObject<FixtureData, Env>((ctx, env) => {
  const id = String((ctx as unknown as { id: unknown }).id);
  instances.set(id, (instances.get(id) ?? 0) + 1);
  const hub = createFixtureHub(overridesFromEnv(env.WIREHUB_FIXTURE));
  hub
    .handle("hib/instance", () => hub.id)
    .handle("hib/data", (_d, s) => s.data)
    .handle("hib/remember", (d: { note: string }, s) => {
      (s.data as FixtureData & { note?: string }).note = d.note;
      s.save();
      return true;
    })
    .handle("hib/sessions", () => [...hub.sessions.keys()].sort())
    // from inside one room's object to another room
    .handle("rooms/broadcast", async (d: RoomEvent) => (await toRoom(env, d), true));
  return hub;
}, (env) => ({
  roomSecret: env.ROOM_SECRET,
  // a plain HTTP request to a room: `/__count` answers here, anything else is left to the hub (426)
  request: (req, hub) => new URL(req.url).pathname === "/__count" ? Response.json({ sessions: hub.sessions.size, groups: [...hub.groups()] }) : undefined,
}));

export default {
  fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/__instances") {
      const id = String(env.HUB.idFromName(url.searchParams.get("room") ?? "conformance"));
      return Promise.resolve(Response.json(instances.get(id) ?? 0));
    }
    // from the Worker itself to a room (the body is a RoomEvent)
    if (url.pathname === "/__broadcast") {
      return request.json().then((d) => toRoom(env, d as RoomEvent)).then(() => new Response(null, { status: 204 }));
    }
    // a Worker that forwards to the object without routeToRoom (so without its header check)
    if (url.pathname === "/__forward") {
      return env.HUB.get(env.HUB.idFromName(url.searchParams.get("room") ?? "conformance")).fetch(request);
    }
    return routeToRoom(request, env.HUB, { name: (_req, u) => u.searchParams.get("room") ?? "conformance" });
  },
};
