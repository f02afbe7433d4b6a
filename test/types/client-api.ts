/**
 * Type fixture for `wirehub/client`: one API description types `emit`, `on`, `request`,
 * `handle` and `publish`. Checked by `npm run typecheck` and by test/client-types.test.ts;
 * every `@ts-expect-error` below must be an error, or tsc fails ("unused directive").
 * Never run, only type-checked.
 */
import { connect, type Client } from "../../src/client.ts";

interface Api {
  events: { chat: { text: string }; tick: void };
  requests: {
    "create/user": { input: { name: string }; output: { id: string } };
    "time/now": { input: void; output: number };
  };
  serverRequests: { confirm: { input: string; output: boolean } };
}

export async function typed(url: string): Promise<void> {
  const c: Client<Api> = await connect<Api>(url);

  c.emit("chat", { text: "hi" });
  c.emit("tick");
  // @ts-expect-error the payload has the wrong type
  c.emit("chat", { text: 1 });
  // @ts-expect-error the payload is missing
  c.emit("chat");
  // @ts-expect-error no such event
  c.emit("chta", { text: "hi" });

  c.on("chat", (m) => {
    const text: string = m.text;
    void text;
  });
  // @ts-expect-error the listener expects the wrong payload
  c.on("chat", (m: { text: number }) => void m);
  c.once("chat", (m) => void (m.text satisfies string));
  // @ts-expect-error no such event
  c.once("chta", () => {});
  c.off("chat").off();
  const stop: () => void = c.onAny((event: string, data: unknown) => void [event, data]);
  stop();

  const user = await c.request("create/user", { name: "ada" });
  const id: string = user.id;
  void id;
  // @ts-expect-error the output has no `name`
  void user.name;
  // @ts-expect-error the input has the wrong type
  await c.request("create/user", { name: 1 });
  // @ts-expect-error the input is missing
  await c.request("create/user");
  // @ts-expect-error no such method
  await c.request("delete/user", { name: "ada" });
  const now: number = await c.request("time/now");
  const later: number = await c.request("time/now", undefined, { timeout: 500 });
  void [now, later];

  c.handle("confirm", (question) => question.length > 0);
  c.handle("confirm", async (question) => question === "yes");
  // @ts-expect-error the handler returns the wrong type
  c.handle("confirm", (question) => question);

  await c.publish("room-1", "chat", { text: "hi" });
  // @ts-expect-error publish checks the payload too
  await c.publish("room-1", "chat", { txt: "hi" });

  // Without an API description, everything is allowed and untyped.
  const loose = await connect(url);
  const anything: unknown = await loose.request("whatever", { any: 1 });
  loose.emit("x");
  loose.on("y", (d) => void (d satisfies unknown));
  void anything;
}
