/**
 * The fixture hub in a Durable Object with an inspector, mounted by subclassing the class
 * `createDurableObject` returns: no hook in adapters/cloudflare.ts is needed. Bundled and run
 * in workerd by test/inspector-cloudflare.test.ts; `?room=` names the object.
 */
import { createDurableObject, routeToRoom, type DurableObjectNamespaceLike } from "../../../adapters/cloudflare.ts";
import { createInspector, type Inspector } from "../../../src/inspector.ts";
import { createFixtureHub, type FixtureData } from "../../fixture.ts";

interface Env {
  HUB: DurableObjectNamespaceLike;
  INSPECTOR_TOKEN: string;
}

export class InspectedHub extends createDurableObject<FixtureData, Env>(() => createFixtureHub()) {
  // Field initialisers run after the base constructor, so `this.hub` exists (and is rebuilt after every wake).
  readonly inspector: Inspector = createInspector(this.hub, { token: this.env.INSPECTOR_TOKEN, actions: true, interval: 100, metricsPath: "/metrics" });

  override readonly fetch = (request: Request): Promise<Response> => this.inspector.fetch(request) ?? super.fetch(request);
}

export default {
  fetch: (request: Request, env: Env): Promise<Response> =>
    routeToRoom(request, env.HUB, { name: (_req, url) => url.searchParams.get("room") ?? undefined }),
};
