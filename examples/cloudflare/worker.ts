/**
 * Chat rooms on Cloudflare Durable Objects: `npx wrangler dev` in this folder, then connect to
 * ws://localhost:8787/room/<name>?name=<you>. One Durable Object (one hub) per room name.
 *
 * - A client offering the `wirehub.v1` subprotocol sends `{"t":"evt","e":"chat","d":"hi"}`; every
 *   envelope client in the room gets `{"t":"evt","e":"chat","d":{"from":"you","text":"hi"}}`.
 *   `{"t":"req","id":1,"m":"rename","d":"new name"}` renames you; `"count"` tells who is here.
 * - A bare WebSocket (wscat, a board, a browser console) gets every raw frame sent in the room.
 *
 * The room sleeps between messages (WebSocket hibernation): names and memberships live in each
 * socket's attachment, so they are there again when a message wakes it.
 */
import { createHub } from "wirehub";
import { createDurableObject, routeToRoom, type DurableObjectNamespaceLike } from "wirehub/cloudflare";

interface Env {
  ROOMS: DurableObjectNamespaceLike;
}

interface Member {
  name: string;
}

const clip = (v: unknown): string => String(v ?? "").trim().slice(0, 32) || "anonymous";

export const Room = createDurableObject<Member, Env>(() => {
  const hub = createHub<Member>({
    upgrade: (req) => ({ data: { name: clip(new URL(req.url).searchParams.get("name")) } }),
    message(session, msg) {
      const data = msg.mode === "raw" ? msg.data : { from: session.data.name, text: msg.data };
      session.broadcast(msg.event, data, { includeSelf: true });
    },
  });
  hub.handle("rename", (name: unknown, session) => {
    session.data.name = clip(name);
    session.save(); // data changed outside a hook: store it with the socket so it survives hibernation
    return { name: session.data.name };
  });
  hub.handle("count", () => hub.sessions.size);
  return hub;
});

export default {
  fetch: (request: Request, env: Env): Promise<Response> => routeToRoom(request, env.ROOMS),
};
