/** `wirehub/client` auth, presence and private messages (PROTOCOL.md §6) against the wirehub server on Bun. */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { Client, connect, RemoteError, type ClientOptions, type PresenceEvent } from "../src/client.ts";
import { startServer, type TestServer } from "./client-helpers.ts";

let server: TestServer;
let open: Client<any>[] = [];
const FAST: ClientOptions = { heartbeat: { interval: 1000, timeout: 1000 }, reconnect: { minDelay: 5, maxDelay: 20 } };
const frameAuth = (): string => server.url.replace(/\/?$/, "/?auth=frame");
async function as(user: string, options: ClientOptions = {}): Promise<Client<any>> {
  const c = await connect(frameAuth(), { ...FAST, auth: { user, password: `pw-${user}` }, ...options });
  open.push(c);
  return c;
}
/** The next presence event matching `pred`. */
function presence(c: Client<any>, pred: (e: PresenceEvent) => boolean): Promise<PresenceEvent> {
  return new Promise((resolve) => {
    const off = c.onPresence((e) => pred(e) && (off(), resolve(e)));
  });
}

beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.stop());
afterEach(async () => {
  await Promise.all(open.map((c) => c.close()));
  open = [];
});

describe("auth", () => {
  test("credentials are sent after a hello that asks for them; connect resolves once accepted", async () => {
    const c = await as("ada");
    expect(c.session).toMatchObject({ sid: c.sid, alias: "ada", available: true, session: { user: "ada", token: "tok-ada" } });
    expect(await c.request("whoami")).toMatchObject({ sid: c.sid });
  });

  test("refused credentials reject connect with auth_failed", async () => {
    const err = await connect(frameAuth(), { ...FAST, auth: { user: "ada", password: "wrong" } }).catch((e) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect(err.code).toBe("auth_failed");
  });

  test("without credentials the server refuses calls until authenticate()", async () => {
    const c = await connect(frameAuth(), FAST);
    open.push(c);
    expect(await c.request("whoami").catch((e) => e)).toMatchObject({ code: "auth_required" });
    expect(await c.authenticate({ user: "grace", password: "pw-grace" })).toMatchObject({ alias: "grace" });
    expect(await c.request("whoami")).toMatchObject({ sid: c.sid });
  });
});

describe("presence and private messages", () => {
  test("who, presence joins, availability and alias changes", async () => {
    const grace = await as("grace");
    await grace.join("lobby");
    const sawAda = presence(grace, (e) => e.op === "join" && e.group === "lobby" && e.who.alias === "ada");
    const ada = await as("ada");
    await ada.join("lobby");
    expect(await sawAda).toMatchObject({ op: "join", group: "lobby", who: { sid: ada.sid, alias: "ada", available: true, pub: { title: "countess" } } });
    const list = await grace.who("lobby");
    expect(list.map((p) => p.alias).sort()).toEqual(["ada", "grace"]);
    expect(await ada.who("forbidden-or-not-mine").catch((e) => e)).toMatchObject({ code: "forbidden" });

    const away = presence(grace, (e) => e.op === "leave" && e.who.sid === ada.sid);
    expect(await ada.set({ available: false })).toMatchObject({ available: false });
    await away;
    const back = presence(grace, (e) => e.op === "join" && e.who.sid === ada.sid);
    await ada.set({ available: true });
    await back;
    const renamed = presence(grace, (e) => e.op === "update" && e.who.sid === ada.sid);
    await ada.set({ alias: "lovelace" });
    expect((await renamed).who.alias).toBe("lovelace");
    expect(await ada.set({ alias: "admin" }).catch((e) => e)).toMatchObject({ code: "forbidden" });
  });

  test("dm by alias: delivered with the sender, counted; unknown recipients are not_found", async () => {
    const [ada, grace] = [await as("ada"), await as("grace")];
    const received = new Promise<[unknown, unknown]>((resolve) => grace.onDm((data, from) => resolve([data, from])));
    expect(await ada.dm("grace", { text: "hi grace" })).toBe(1);
    const [data, from] = await received;
    expect(data).toEqual({ text: "hi grace" });
    expect(from).toMatchObject({ sid: ada.sid, alias: "ada" });
    expect(await ada.dm("nobody-here", 1).catch((e) => e)).toMatchObject({ code: "not_found" });
  });
});
