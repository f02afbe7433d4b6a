/** The API description shared by examples/rpc.ts (server) and its clients: one type, both sides. */
export interface TodoApi {
  events: { "todo/added": { id: number; title: string } };
  requests: {
    "todo/add": { input: { title: string; priority?: number }; output: { id: number } };
    "todo/list": { input: void; output: { id: number; title: string; priority: number }[] };
  };
}
