import { capabilities } from "../adapters/bun.ts";
import { conformance } from "./conformance.ts";
import { lifecycle } from "./lifecycle.ts";
import { startBun } from "./servers/bun.ts";

conformance("bun", startBun, capabilities);
lifecycle("bun", startBun);

test("reusePort: two hubs listen on one port, the kernel spreads the connections, a taken port rejects", async () => {
  const { createHub } = await import("../src/mod.ts");
  const { serve } = await import("../adapters/bun.ts");
  // Each hub answers any frame with its own name, so a client can tell which one it reached.
  const hubs = ["a", "b"].map((name) => createHub({ rateLimit: false, message: (s) => void s.send(name) }));
  const first = await serve(hubs[0]!, { port: 0, hostname: "127.0.0.1", reusePort: true });
  const second = await serve(hubs[1]!, { port: first.port, hostname: "127.0.0.1", reusePort: true });
  const sockets: WebSocket[] = [];
  try {
    expect(second.port).toBe(first.port);
    // Without reusePort the port is taken: serve rejects, as it does on Node.
    await expect(serve(createHub(), { port: first.port, hostname: "127.0.0.1" })).rejects.toThrow();
    const answers = await Promise.all(Array.from({ length: 40 }, () => new Promise<string>((resolve, reject) => {
      const ws = new WebSocket(first.url);
      sockets.push(ws);
      ws.onopen = () => ws.send("which");
      ws.onmessage = (e) => resolve(String(e.data));
      ws.onerror = () => reject(new Error("connection failed"));
    })));
    const count = (name: string) => answers.filter((a) => a === name).length;
    expect(count("a") + count("b")).toBe(40);
    expect(hubs[0]!.sessions.size).toBe(count("a"));
    expect(hubs[1]!.sessions.size).toBe(count("b"));
    // SO_REUSEPORT hashes each connection's address pair: with 40 connections, both hubs get some
    // (the chance that one gets all 40 is 2 in 2^40).
    expect(count("a")).toBeGreaterThan(0);
    expect(count("b")).toBeGreaterThan(0);
  } finally {
    for (const ws of sockets) ws.close();
    await Promise.all([first.stop(), second.stop()]);
  }
});
