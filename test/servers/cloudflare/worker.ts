/**
 * The conformance fixture as a Worker + Durable Object (runs in workerd, bundled by ./start.ts).
 * Every request goes to the object named by `?room=` (default "conformance"), so the hub sees
 * the path "/" the suite expects. The `hib/*` handlers let the hibernation test look inside.
 */
import { createDurableObject, routeToRoom, type DurableObjectNamespaceLike } from "../../../adapters/cloudflare.ts";
import { createFixtureHub, overridesFromEnv, type FixtureData } from "../../fixture.ts";

interface Env {
  HUB: DurableObjectNamespaceLike;
  /** Hub option overrides for conformance variants (JSON), set by ./start.ts. */
  WIREHUB_FIXTURE?: string;
}

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
    .handle("hib/sessions", () => [...hub.sessions.keys()].sort());
  return hub;
});

export default {
  fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/__instances") {
      const id = String(env.HUB.idFromName(url.searchParams.get("room") ?? "conformance"));
      return Promise.resolve(Response.json(instances.get(id) ?? 0));
    }
    return routeToRoom(request, env.HUB, { name: (_req, u) => u.searchParams.get("room") ?? "conformance" });
  },
};
