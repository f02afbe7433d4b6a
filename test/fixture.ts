/**
 * The hub every host serves for the conformance suite. It is host-agnostic: each file in
 * test/servers/ wraps it in one adapter. Tests drive server-side actions through `test/*`
 * requests, and watch server-side hooks through events sent to the "observers" group.
 *
 * Sessions are authenticated at upgrade (no alias) unless the URL says `?auth=frame`; then the
 * client must send an `auth` frame with one of the USERS' credentials.
 */
import { createHub, WirehubError, type AuthResult, type Hub, type HubOptions, type UpgradeResult } from "../src/mod.ts";

export type FixtureData = { tag?: string; user?: string; secret: string };

/** The JSON-serialisable hub options a test may override per server. */
export type FixtureOverrides = Pick<
  HubOptions<FixtureData>,
  "ping" | "idleTimeout" | "rawPing" | "maxMessageSize" | "resume" | "mode" | "rateLimit" | "backpressure" | "maxSessions" | "maxSessionsPerAddress" | "limits" | "origins" | "authTimeout" | "compression"
>;

/** Overrides a child-process server reads from its environment (WIREHUB_FIXTURE, JSON). */
export function overridesFromEnv(value: string | undefined): FixtureOverrides {
  return value ? (JSON.parse(value) as FixtureOverrides) : {};
}

/** Every user's server-side secret contains this marker; no client may ever see it. */
export const SECRET_MARK = "S3CRET";

const USERS: Record<string, { password: string; result: AuthResult<FixtureData> }> = {
  ada: { password: "pw-ada", result: { alias: "ada", groups: ["staff"], publicData: { title: "countess" }, client: { user: "ada", token: "tok-ada" } } },
  grace: { password: "pw-grace", result: { alias: "grace", groups: ["staff"], client: { user: "grace" } } },
  alan: { password: "pw-alan", result: { alias: "alan", groups: ["staff"], available: false } },
  ghost: { password: "pw-ghost", result: { groups: ["staff"] } }, // authenticated, but no alias: invisible
};

/** A hand-written Standard Schema (what zod/valibot/arktype expose): `{ n: positive number }`. */
const positiveN = {
  "~standard": {
    version: 1 as const,
    vendor: "fixture",
    validate(v: unknown) {
      const n = (v as { n?: unknown } | null)?.n;
      if (typeof n !== "number") return { issues: [{ message: "n must be a number", path: ["n"] }] };
      if (n <= 0) return { issues: [{ message: "n must be positive", path: ["n"] }] };
      return { value: { n } };
    },
  },
};

/** The fixture's upgrade decision, by the URL's parameters (see the `upgrade` hook). */
function decide(url: URL): UpgradeResult<FixtureData> {
  const reject = url.searchParams.get("reject");
  if (reject) return new Response("rejected by test", { status: Number(reject) });
  const token = url.searchParams.get("token");
  if (token !== null && token !== "good-token") return new Response("bad token", { status: 401 });
  const data = { tag: url.searchParams.get("tag") ?? undefined, secret: `${SECRET_MARK}-upgrade` };
  const headers = responseHeaders(url.searchParams.get("headers"));
  if (url.searchParams.get("auth") === "frame") return { data, headers };
  return { data, auth: token ? { alias: "token-user" } : {}, headers };
}

/** `?headers=`: what the upgrade hook asks to send with the 101 (`cookies`, or a header it may not set). */
function responseHeaders(which: string | null): HeadersInit | undefined {
  if (which === "cookies") return [["set-cookie", "a=1; Path=/; HttpOnly"], ["set-cookie", "b=2; Path=/"], ["x-wirehub-test", "yes"]];
  if (which === "handshake") return { "Sec-WebSocket-Accept": "forged" };
  if (which === "connection") return { Connection: "close" };
  if (which === "crlf") return { "x-wirehub-test": "a\r\nx-injected: 1" };
  return undefined;
}

export function createFixtureHub(extra: Partial<HubOptions<FixtureData>> = {}): Hub<FixtureData> {
  // Per hub, not per module: several hosts' fixtures can live in one test process (Bun, Hono on Bun).
  let validatedRuns = 0;
  /** How many times the message hook ran, per session tag (`?tag=`): "did anything reach the app?" */
  const received = new Map<string, number>();
  const hub: Hub<FixtureData> = createHub<FixtureData>({
    protocols: ["protocolOne"],
    authTimeout: 400,
    resume: { window: 800, maxFrames: 5_000 },
    origins: (origin, req) => origin === "http://allowed.example" || new URL(origin).host === req.headers.get("host"),
    upgrade(req) {
      const url = new URL(req.url);
      // `?later=1`: answer through a promise, settled in a later macrotask, so the decision really
      // waits (the hub upgrades at once only when the hook answers at once); `?fail=throw|reject`.
      const fail = url.searchParams.get("fail");
      if (fail === "throw") throw new Error("upgrade hook threw (test)");
      if (fail === "reject") return new Promise((_, no) => setTimeout(() => no(new Error("upgrade hook rejected (test)")), 1));
      if (url.searchParams.has("later")) {
        const answer = decide(url);
        return new Promise((yes) => setTimeout(() => yes(answer), 1));
      }
      return decide(url);
    },
    authenticate(session, cred) {
      const c = cred as { user?: string; password?: string } | undefined;
      const u = c?.user ? USERS[c.user] : undefined;
      if (!u || u.password !== c?.password) throw new WirehubError("auth_failed", "invalid credentials");
      return { ...u.result, data: { tag: session.data.tag, user: c!.user, secret: `${SECRET_MARK}-${c!.user}` } };
    },
    privateMessage(from, to, data) {
      hub.emit("pm", { from: from.alias, to: to.alias }, { group: "observers" });
      return !(typeof data === "object" && data !== null && "veto" in data);
    },
    authorize: (_s, action) => (action.type === "alias" ? action.alias !== "admin" : !action.group.startsWith("forbidden")),
    message(session, msg) {
      const tag = session.data.tag;
      if (tag) received.set(tag, (received.get(tag) ?? 0) + 1);
      // raw clients have no hello frame: "__sid" tells them their session id
      if (msg.mode === "raw" && msg.data === "__sid") return void session.send(session.id);
      session.send(msg.data, msg.event);
    },
    open(session) {
      // `?close-on-open=CODE`: the open hook closes the session at once (some hosts report that
      // close while the socket is still opening)
      const code = new URL(session.url).searchParams.get("close-on-open");
      if (code) session.close(Number(code), "closed by the open hook");
    },
    close(session, code, reason) {
      hub.emit("closed", { sid: session.id, code, reason, tag: session.data.tag ?? null, user: session.data.user ?? null }, { group: "observers" });
    },
    ping: { policy: "auto" },
    rateLimit: { rate: 20_000, burst: 20_000 },
    ...extra,
  });
  hub
    .handle("whoami", (_d, s) => ({ sid: s.id, tag: s.data.tag ?? null, groups: [...s.groups], path: s.path, protocol: s.protocol, remote: s.remoteAddress, alias: s.alias ?? null }))
    .handle("test/join", (d: { sid: string; group: string }) => (hub.join(d.sid, d.group), true))
    .handle("test/leave", (d: { sid: string; group: string }) => (hub.leave(d.sid, d.group), true))
    .handle("test/members", (d: { group: string }) => [...hub.members(d.group)].map((s) => s.id).sort())
    .handle("test/groups", () => [...hub.groups()].sort())
    .handle("test/emit", (d: { event: string; data: unknown; target?: { to?: string[]; group?: string; except?: string[] } }) => (hub.emit(d.event, d.data, d.target), true))
    .handle("test/broadcast", (d: { event: string; data: unknown; group?: string; except?: string[]; includeSelf?: boolean }, s) => (s.broadcast(d.event, d.data, d), true))
    .handle("test/drop", (d: { sid: string; code: number; reason: string }) => hub.drop(d.sid, d.code, d.reason))
    .handle("test/stream", (d: { from: number; count: number; to?: string; group?: string }) => {
      for (let i = d.from; i < d.from + d.count; i++) hub.emit("n", i, d.to ? { to: d.to } : { group: d.group });
      return true;
    })
    .handle("test/metrics", () => hub.metrics)
    .handle("test/all-sessions", () => [...hub.sessions.keys()])
    .handle("test/received", (d: { tag: string }) => received.get(d.tag) ?? 0)
    .handle("test/blob", (d: { to: string; count: number; size: number }) => {
      const blob = "x".repeat(d.size);
      let sent = 0;
      for (let i = 0; i < d.count; i++) if (hub.get(d.to)?.send(blob) !== "dropped") sent++;
      return sent;
    })
    .handle("test/set", (d: { sid: string; alias?: string | null; available?: boolean }) => (hub.get(d.sid)?.set(d), true))
    .handle("test/validated", (d: { n: number }) => ({ doubled: d.n * 2, runs: ++validatedRuns }), { schema: positiveN })
    .handle("test/validated-runs", () => validatedRuns)
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
    })
    // server-side data of this many characters (never sent to a client): big cross-instance replies
    .handle("test/pad", (d: { n: number }, s) => (((s.data as FixtureData & { pad?: string }).pad = "x".repeat(d.n)), true))
    .handle("test/fetch-sessions", async (d: { query?: { to?: string[]; group?: string; except?: string[] } }) =>
      (await hub.fetchSessions(d.query)).map(({ id, instance, mode, state, groups, data }) => ({ id, instance, mode, state, groups, data: { tag: data.tag } }))) // never the secret
    // every answer of an askAll, by session id, each error as its class name and code
    .handle("test/ask-all", async (d: { method: string; data: unknown; target: { to?: string[]; group?: string; except?: string[]; timeout?: number } }) => {
      const answers = await hub.askAll(d.method, d.data, d.target);
      return Object.fromEntries(answers.map((a) => [a.id, a.ok ? { value: a.value } : { error: a.error.name, code: a.error.code }]));
    });
  return hub;
}
