/**
 * A Hono app that serves pages and mounts a hub on one route, on any host:
 *
 *   bun run examples/hono-app.ts          (PORT, default 8084)
 *   npx deno run -A examples/hono-app.ts
 *
 * Hono's middleware runs for the upgrade too: here a logger, a header set on every response,
 * and a guard that only lets signed-in visitors (a `user` cookie) open the WebSocket.
 */
import { Hono } from "hono";
import { getCookie } from "hono/cookie";
import { createHub } from "wirehub";
import { createHandler, serve } from "wirehub/hono";

const hub = createHub<{ user: string }>({
  upgrade: (req) => ({ data: { user: /(?:^|;\s*)user=([^;]+)/.exec(req.headers.get("cookie") ?? "")?.[1] ?? "" } }),
  message(session, msg) {
    session.broadcast(msg.event, { from: session.data.user, text: msg.data }, { includeSelf: true });
  },
});

const ws = createHandler(hub);
const app = new Hono();
app.use(async (c, next) => {
  await next();
  c.header("x-powered-by", "wirehub + hono");
});
app.get("/", (c) =>
  c.html(`<!doctype html><meta charset="utf-8"><title>hono + wirehub</title>
<p>Signed in as <b>${getCookie(c, "user") ?? "nobody"}</b>. <a href="/login?user=ada">sign in as ada</a></p>
<input id="t"><button id="b">send</button><pre id="log"></pre>
<script type="module">
  const sock = new WebSocket(location.origin.replace(/^http/, "ws") + "/ws");
  sock.onmessage = (e) => (document.getElementById("log").textContent += e.data + "\\n");
  document.getElementById("b").onclick = () => sock.send(document.getElementById("t").value);
</script>`));
app.get("/login", (c) => {
  c.header("set-cookie", `user=${encodeURIComponent(c.req.query("user") ?? "guest")}; Path=/; HttpOnly; SameSite=Lax`);
  return c.redirect("/");
});
app.use("/ws", async (c, next) => (getCookie(c, "user") ? next() : c.text("sign in first", 401)));
app.all("/ws", ws.upgrade);

const server = await serve(hub, { app, port: Number(process.env.PORT ?? 8084) });
console.log(`hono app on http://localhost:${server.port}/`);
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => void server.stop().then(() => process.exit(0)));
