/**
 * Type fixture for the server side: the same API description as test/types/client-api.ts
 * types `hub.handle`, `hub.on`, `hub.emit` and `hub.ask`. Never run, only type-checked; every
 * `@ts-expect-error` below must be an error, or tsc fails ("unused directive").
 */
import { createHub, WirehubError } from "../../src/mod.ts";

interface Api {
  events: { chat: { text: string }; tick: void };
  requests: {
    "create/user": { input: { name: string }; output: { id: string } };
    "time/now": { input: void; output: number };
  };
  serverRequests: { confirm: { input: string; output: boolean } };
}

export async function typedServer(): Promise<void> {
  const hub = createHub<{ user: string }, Api>();

  hub.handle("create/user", (input, session) => {
    const name: string = input.name;
    const user: string = session.data.user;
    if (!name) throw new WirehubError("bad_input", "name required");
    return { id: `${user}:${name}` };
  });
  hub.handle("create/user", async (input) => ({ id: input.name }));
  hub.handle("time/now", () => Date.now());
  // @ts-expect-error the handler returns the wrong type
  hub.handle("create/user", () => ({ id: 1 }));
  // @ts-expect-error the input has no `age`
  hub.handle("create/user", (input) => ({ id: String(input.age) }));
  // @ts-expect-error no such method
  hub.handle("delete/user", () => true);

  hub.on("chat", (m, session) => {
    const text: string = m.text;
    session.send(text);
  });
  // @ts-expect-error the listener expects the wrong payload
  hub.on("chat", (m: { text: number }) => void m);

  hub.emit("chat", { text: "hi" }, { group: "room" });
  // @ts-expect-error the payload has the wrong type
  hub.emit("chat", { text: 1 });
  // @ts-expect-error no such event
  hub.emit("chta", { text: "hi" });

  const s = hub.get("some-id");
  if (s) {
    const ok: boolean = await hub.ask(s, "confirm", "sure?");
    void ok;
    // @ts-expect-error the input has the wrong type
    await hub.ask(s, "confirm", 42);
    // @ts-expect-error the answer is a boolean, not a string
    const wrong: string = await hub.ask(s, "confirm", "sure?");
    void wrong;
  }
  const answers = await hub.askAll("confirm", "all of you?", { group: "room", timeout: 1000 });
  for (const a of answers) {
    const yes: boolean = a.ok ? a.value : a.error.code === "timeout";
    void yes;
    // @ts-expect-error an answer is a boolean, not a string
    const no: string | undefined = a.ok ? a.value : undefined;
    void no;
  }
  // @ts-expect-error the input has the wrong type
  await hub.askAll("confirm", 42);
  hub.onInstance("reload", (d, from: string) => ({ d, from }));
  for (const a of await hub.toInstances("reload", { key: "config" }, { timeout: 1000 })) {
    const where: string = a.instance;
    const code: string | undefined = a.ok ? undefined : a.error.code;
    void [where, code];
  }
  for (const info of await hub.fetchSessions({ group: "room" })) {
    const user: string = info.data.user; // the hub's session data type
    void user;
    // @ts-expect-error no such field in the session data
    void info.data.role;
  }

  // Without an API description everything is allowed and untyped.
  const loose = createHub();
  loose.handle("anything", (input: { whatever: number }) => input.whatever);
  loose.emit("any-event", { any: "data" });
}

/** A hub typed with an API description can be served by every host adapter. */
export async function typedHubOnEveryHost(): Promise<void> {
  const { serve: bun } = await import("../../adapters/bun.ts");
  const { serve: node } = await import("../../adapters/node.ts");
  const { serve: deno } = await import("../../adapters/deno.ts");
  const { createHandler: cf } = await import("../../adapters/cloudflare.ts");
  const hub = createHub<{ user: string }, Api>();
  await bun(hub);
  await node(hub);
  await deno(hub);
  void cf;
}
