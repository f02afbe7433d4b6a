/**
 * A chat: rooms, presence, private messages and RPC, with a web page served by this example.
 * Run: `bun run examples/chat/server.ts` (PORT, default 8083), then open the printed URL in
 * two browser windows.
 *
 * - sign in with a name: the `auth` frame; the name becomes the public alias;
 * - rooms are joined from the page (the authorize hook allows `room:*` groups);
 * - presence lists who is in the room; a click on a name sends a private message;
 * - `room/history` (RPC) returns the last 50 messages of a room.
 */
import { createHub, WirehubError } from "wirehub";
import { serve } from "wirehub/bun";

type Line = { from: string; text: string; at: number };
const history = new Map<string, Line[]>();

const hub = createHub<{ name: string }>({
  authenticate(_session, credentials) {
    const name = String((credentials as { name?: unknown } | null)?.name ?? "").trim();
    if (!/^[\w .-]{1,24}$/.test(name)) throw new WirehubError("auth_failed", "pick a name of 1-24 letters, digits, spaces, . or -");
    return { data: { name }, alias: name, client: { name } };
  },
  authorize: (_session, action) => action.type !== "alias" && /^room:[\w-]{1,32}$/.test(action.group),
});

hub.on("say", (d: { room: string; text: string }, session) => {
  if (!session.groups.has(d.room) || typeof d.text !== "string" || !d.text.trim()) return;
  const line: Line = { from: session.data.name, text: d.text.slice(0, 500), at: Date.now() };
  const lines = history.get(d.room) ?? [];
  lines.push(line);
  history.set(d.room, lines.slice(-50));
  hub.emit("said", { room: d.room, ...line }, { group: d.room });
});
hub.handle("room/history", (d: { room: string }, session) => {
  if (!session.groups.has(d.room)) throw new WirehubError("forbidden", "join the room first");
  return history.get(d.room) ?? [];
});

// The page loads the browser bundle of wirehub/client, built once at start.
const built = await Bun.build({ entrypoints: [Bun.resolveSync("wirehub/client", import.meta.dir)], target: "browser", format: "esm" });
const clientJs = await built.outputs[0]!.text();
const page = Bun.file(new URL("./index.html", import.meta.url));

const server = await serve(hub, {
  port: Number(process.env.PORT ?? 8083),
  path: "/ws",
  fetch(req) {
    const path = new URL(req.url).pathname;
    if (path === "/") return new Response(page, { headers: { "content-type": "text/html; charset=utf-8" } });
    if (path === "/client.js") return new Response(clientJs, { headers: { "content-type": "text/javascript" } });
    return new Response("not found", { status: 404 });
  },
});
console.log(`chat on http://localhost:${server.port}/`);
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => void server.stop().then(() => process.exit(0)));
