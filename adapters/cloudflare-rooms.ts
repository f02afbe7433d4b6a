/**
 * Sending into another room, used by `./cloudflare.ts`. Each Durable Object is one room with its
 * own hub, so a send from one room (or from the Worker) to another is a request to that room's
 * object: {@link broadcastToRoom} `fetch`es the object's stub with a POST that carries the
 * {@link ROOM_EVENT_HEADER} header, and the object's handler answers it with `hub.emit`.
 *
 * Why `fetch` and not Workers RPC: RPC methods on a Durable Object stub need the class to extend
 * `DurableObject` from `cloudflare:workers`, which this package does not import (it must load
 * outside workerd too); `createDurableObject` makes a plain class, which serves `fetch` only.
 *
 * Trust boundary: only code holding the namespace binding can reach an object, so the header
 * can come from outside only through a Worker that forwards a client's request with its headers.
 * `routeToRoom` refuses such requests (403). A Worker that forwards requests to the object
 * another way must do the same, or set `roomSecret` on the object (and `secret` here), which
 * the header must then carry.
 * @module
 */
import { WirehubError, type Hub, type Target } from "../src/mod.ts";
import type { DurableObjectNamespaceLike } from "./cloudflare.ts";

/** The request header that marks a room event; its value is the room secret, or `"1"` without one. */
export const ROOM_EVENT_HEADER = "x-wirehub-room-event";

/** Options of {@link broadcastToRoom}: the target inside the room, and the room secret. */
export interface BroadcastToRoomOptions extends Target {
  /** The object's `roomSecret`, when it has one. */
  readonly secret?: string;
}

/**
 * Send an event to every session (or `to`/`group`, minus `except`) of the room `room`: the
 * object named `room` in `namespace` runs `hub.emit(event, data, target)`, waking first if it
 * hibernates. `data` travels as JSON. Resolves once that object has emitted; rejects with a
 * `WirehubError` when it answers anything else (`forbidden` for 403, a wrong or missing secret).
 */
export async function broadcastToRoom(namespace: DurableObjectNamespaceLike, room: string, event: string, data: unknown, options: BroadcastToRoomOptions = {}): Promise<void> {
  const { secret, to, group, except } = options;
  const request = new Request("https://wirehub.internal/room-event", {
    method: "POST",
    headers: { [ROOM_EVENT_HEADER]: secret ?? "1", "content-type": "application/json" },
    body: JSON.stringify({ event, data, to, group, except }),
  });
  const response = await namespace.get(namespace.idFromName(room)).fetch(request);
  await response.body?.cancel();
  if (response.status === 403) throw new WirehubError("forbidden", `room "${room}" refused the event (room secret)`);
  if (!response.ok) throw new WirehubError("unavailable", `room "${room}" answered ${response.status} to a room event`);
}

const ids = (v: unknown): boolean => v === undefined || typeof v === "string" || (Array.isArray(v) && v.every((x) => typeof x === "string"));

/** In the object: answer a request carrying {@link ROOM_EVENT_HEADER} by emitting its event on `hub` (sessions already restored). */
export async function receiveRoomEvent(hub: Hub<any, any>, request: Request, secret: string | undefined): Promise<Response> {
  if (secret !== undefined && request.headers.get(ROOM_EVENT_HEADER) !== secret) return new Response("forbidden", { status: 403 });
  if (request.method !== "POST") return new Response("method not allowed", { status: 405 });
  let body: { event?: unknown; data?: unknown; to?: unknown; group?: unknown; except?: unknown };
  try {
    body = await request.json();
  } catch {
    return new Response("bad room event", { status: 400 });
  }
  const { event, data, to, group, except } = body ?? {};
  if (typeof event !== "string" || !ids(to) || !ids(except) || (group !== undefined && typeof group !== "string")) {
    return new Response("bad room event", { status: 400 });
  }
  hub.emit(event, data, { to: to as Target["to"], group, except: except as Target["except"] });
  return new Response(null, { status: 204 });
}
