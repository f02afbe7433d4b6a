/**
 * Typed requests with validation: `bun run examples/rpc.ts` (PORT, default 8082).
 *
 * One API description (examples/rpc-api.ts) types the handlers here and the client calls
 * there; a zod schema (any Standard Schema library works: valibot, arktype, …) validates the
 * input before the handler runs, and invalid input gets a `validation` error listing the issues.
 */
import { z } from "zod";
import { createHub } from "wirehub";
import { serve } from "wirehub/bun";
import type { TodoApi } from "./rpc-api.ts";

const todos: { id: number; title: string; priority: number }[] = [];

const hub = createHub<Record<string, never>, TodoApi>();

hub.handle(
  "todo/add",
  (input, session) => {
    const todo = { id: todos.length + 1, title: input.title, priority: input.priority ?? 0 };
    todos.push(todo);
    session.broadcast("todo/added", { id: todo.id, title: todo.title }); // everyone but the caller
    return { id: todo.id };
  },
  { schema: z.object({ title: z.string().min(1).max(200), priority: z.number().int().min(0).max(5).optional() }) },
);
hub.handle("todo/list", () => [...todos].sort((a, b) => b.priority - a.priority));

const server = await serve(hub, { port: Number(process.env.PORT ?? 8082) });
console.log(`rpc example listening on ${server.url}`);
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => void server.stop().then(() => process.exit(0)));
