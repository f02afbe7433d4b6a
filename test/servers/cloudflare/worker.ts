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

// Module scope outlives an evicted object (same isolate), so this counts object instances.
let instances = 0;

export const FixtureHub = createDurableObject<FixtureData, Env>((_ctx, env) => {
  instances++;
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
    if (new URL(request.url).pathname === "/__instances") return Promise.resolve(Response.json(instances));
    return routeToRoom(request, env.HUB, { name: (_req, url) => url.searchParams.get("room") ?? "conformance" });
  },
};
