/**
 * Type fixture: on Node 20, the `ws` package's WebSocket class is accepted as the `WebSocket`
 * option without casts. Never run, only type-checked.
 */
import { WebSocket } from "ws";
import { connect, type Client } from "../../src/client.ts";

export function node20(url: string): Promise<Client> {
  return connect(url, { WebSocket });
}
