/**
 * Shared types: the adapter contract (driver and seam) and the message shapes.
 * @module
 */

import type { SessionSnapshot } from "./snapshot.ts";

/** How a session's frames are read and written. */
export type Mode = "raw" | "envelope";

/** Bytes or text as they come off a host socket. */
export type WireData = string | ArrayBuffer | Uint8Array;

/** What a host reported after one send. `queued` means accepted but buffered (backpressure). */
export type SendStatus = "sent" | "queued" | "dropped";

/** What an adapter's host can do. The conformance suite reads these flags. */
export interface Capabilities {
  /** The host exposes protocol-level ping frames to send and pongs to observe. */
  readonly protocolPing: boolean;
  /** The host has native topic fan-out (Bun). */
  readonly nativePubSub: boolean;
  /** The host reports a per-socket buffered byte count. */
  readonly bufferedAmount: boolean;
  /** Sessions survive the host evicting the process from memory (Durable Objects). */
  readonly hibernation: boolean;
  /**
   * The host refuses a text frame (or close reason) that is not valid UTF-8, with 1007 or by
   * dropping the connection, before the app sees it. `false` on workerd (Durable Objects): it
   * hands the app lossy text, with U+FFFD for each bad sequence.
   */
  readonly validatesUtf8: boolean;
  /**
   * The hub's `compression` option decides whether permessage-deflate is negotiated (Bun, Node).
   * Where `false`, the host decides alone: Deno never negotiates it; on Durable Objects it is the
   * runtime's choice. Default `false`.
   */
  readonly compression?: boolean;
}

/**
 * The connection contract, implemented once per adapter and keyed by the host's own socket
 * object, so a session costs no wrapper object of its own.
 */
export interface Driver<S = unknown> {
  /** Flags the conformance suite and the core read. */
  readonly capabilities: Capabilities;
  /** Send one frame: text as a text frame, bytes as a binary frame. */
  send(socket: S, data: string | Uint8Array): SendStatus;
  /** Close with a code and a reason (≤ 123 bytes of UTF-8). */
  close(socket: S, code: number, reason: string): void;
  /** Send a protocol ping frame (only where `capabilities.protocolPing`). */
  ping?(socket: S): void;
  /** Bytes accepted but not yet written (only where `capabilities.bufferedAmount`). */
  bufferedAmount?(socket: S): number;
  /** Native fan-out: subscribe a socket to a host topic. */
  subscribe?(socket: S, topic: string): void;
  /** Native fan-out: unsubscribe a socket from a host topic. */
  unsubscribe?(socket: S, topic: string): void;
  /** Native fan-out: send to every socket subscribed to `topic`. */
  publish?(topic: string, data: string | Uint8Array): void;
  /** Native fan-out: send to every subscriber of `topic` except `socket`. */
  publishExcept?(socket: S, topic: string, data: string | Uint8Array): void;
  /**
   * When the host answered a client's app-level ping without telling the core (Durable
   * Objects' auto-response), the time of the last one, in ms since the epoch.
   */
  lastPing?(socket: S): number | undefined;
  /**
   * Keep a session's snapshot with its socket, replacing the previous one (only where
   * `capabilities.hibernation`). The hub calls it whenever persisted state changes.
   */
  persist?(socket: S, snapshot: SessionSnapshot<unknown>): void;
}

/** Facts about the upgrade request a session came from. */
export interface RequestInfo {
  /** The full request URL. */
  readonly url: string;
  /** The URL's path. */
  readonly path: string;
  /** The request headers (a copy; safe to keep). */
  readonly headers: Headers;
  /** The peer's address as the host reports it, or `""` when the host does not say. */
  readonly remoteAddress: string;
  /** The negotiated subprotocol, or `""` when none was chosen. */
  readonly protocol: string;
}

/** What an adapter passes to `upgrade` besides the request. */
export interface UpgradeInfo {
  /** The peer's address, when the host knows it. */
  readonly remoteAddress?: string;
}

/** One message received by the hub, in either mode. */
export interface Message {
  /** The event name: the `e` of an envelope `evt` frame, `"message"` for a raw frame. */
  readonly event: string;
  /** The payload: parsed JSON (envelope), a string or bytes (raw, or envelope `b`). */
  readonly data: unknown;
  /** The session's mode when it arrived. */
  readonly mode: Mode;
}

/** Where a hub-level send goes. No `to` and no `group` means everyone. */
export interface Target {
  /** One session id, or a list of them. */
  readonly to?: string | readonly string[];
  /** A group name. Combined with `to`, only ids that are also members receive it. */
  readonly group?: string;
  /** Session ids that must not receive it. */
  readonly except?: string | readonly string[];
  /**
   * A volatile send, for frequent updates where only the latest counts (positions, cursors), as
   * Socket.IO's `volatile`: it gets no sequence number, so it is never kept for resume or
   * replayed, and a session whose last frame is still queued in the host (backpressure) or that
   * waits to be resumed does not get it. Sends through a host's native topics (Bun) leave the
   * backpressure to the host. Default `false`.
   */
  readonly volatile?: boolean;
}

/** Where a session-level broadcast goes. The sender is excluded unless `includeSelf`. */
export interface BroadcastTarget extends Target {
  /** Also deliver to the sending session. Default `false`. */
  readonly includeSelf?: boolean;
}

/** A running server, as every host adapter's `serve()` resolves it. */
export interface ServerHandle {
  /** The port actually bound (useful with `port: 0`). */
  readonly port: number;
  /** The hostname bound. */
  readonly hostname: string;
  /** `ws://` or `wss://` URL of the server (with `path` when one was given; else its root). */
  readonly url: string;
  /** Graceful stop: every session is closed with 1001, then the listener stops. */
  stop(): Promise<void>;
}
