/**
 * wirehub: a WebSocket server toolkit with one web-standard core for Bun, Deno, Node and
 * Cloudflare Durable Objects. Create a {@link Hub} here, then serve it with an adapter
 * (`wirehub/bun`, …).
 *
 * ```ts
 * import { createHub } from "wirehub";
 * import { serve } from "wirehub/bun";
 *
 * const hub = createHub({ message: (session, msg) => session.send(msg.data, msg.event) });
 * const server = await serve(hub, { port: 8080 });
 * console.log(server.url);
 * ```
 * @module
 */

export { createHub, Hub } from "./hub.ts";
export type { GroupAction, GuardedCall, HubCloseOptions, HubOptions, Seam } from "./hub.ts";
export type { AskAllAnswer, AskAllOptions, InstanceAnswer, InstanceListener, SessionInfo, SessionQuery } from "./across.ts";
export { badHandshake, originAllowed } from "./upgrade.ts";
export type { Admission, OriginPolicy, UpgradeRequest, UpgradeResult } from "./upgrade.ts";
export type { HeaderReader } from "./wire.ts";
export type { AuthResult } from "./auth.ts";
export { LIVENESS_CLOSE, Liveness } from "./liveness.ts";
export type { PingOptions, RawPing } from "./liveness.ts";
export type { ResumeOptions } from "./resume.ts";
export type { Backpressure, Limits, Metrics, RateLimit } from "./limits.ts";
export { Presence, visible } from "./presence.ts";
export type { PresenceOp } from "./presence.ts";

export { Session } from "./session.ts";
export type { PublicInfo, SessionData, SessionRequestOptions } from "./session.ts";

export type { SessionSnapshot } from "./snapshot.ts";

export { MemoryBroker } from "./broker.ts";
export type { BeatResult, Broker, BrokerLink, BrokerNode, BrokerStore, MemoryBrokerOptions, Packet, StoreEntry } from "./broker.ts";
export { Cluster } from "./cluster.ts";
export type { InstanceEntry, RemotePeer } from "./cluster.ts";

export type { AskedMethod, AskInput, AskOutput, EventKey, EventPayload, HandledMethod, HandlerInput, HandlerOutput, Has } from "./api.ts";
export type { EventListener, HandlerOptions, RequestHandler, StandardSchemaV1 } from "./dispatch.ts";

export {
  BrokerError,
  ClosedError,
  ForbiddenError,
  NotFoundError,
  ProtocolError,
  RemoteError,
  TimeoutError,
  ValidationError,
  WirehubError,
} from "./errors.ts";
export type { ErrorCode } from "./errors.ts";

export { decodeFrame, encodeError, encodeEvent, encodeFrame, fromBase64, SUBPROTOCOL, toBase64 } from "./protocol.ts";
export type { ClientFrame, FrameId } from "./protocol.ts";

export type {
  BroadcastTarget,
  Capabilities,
  Driver,
  Message,
  Mode,
  RequestInfo,
  SendStatus,
  ServerHandle,
  Target,
  UpgradeInfo,
  WireData,
} from "./types.ts";
