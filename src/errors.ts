/**
 * Error classes. Every error wirehub raises or sends is one of these, so `instanceof` works
 * and each carries a stable machine-readable `code` (the same string that travels in an
 * envelope `err` frame, see PROTOCOL.md).
 * @module
 */

/** Codes carried by {@link WirehubError} and by `err` frames on the wire. */
export type ErrorCode =
  | "bad_frame"
  | "unknown_type"
  | "not_found"
  | "handler_error"
  | "timeout"
  | "forbidden"
  | "auth_required"
  | "auth_failed"
  | "validation"
  | "rate_limited"
  | "too_large"
  | "unavailable"
  | "not_open"
  | "resume_failed"
  | "closed"
  | "broker_unavailable"
  // deno-lint-ignore ban-types -- `string & {}` accepts any code yet keeps the known ones in completions
  | (string & {});

/** Base class of every wirehub error. `code` is stable; `data` is optional detail safe to send. */
export class WirehubError extends Error {
  /** Always `"WirehubError"`. */
  override name = "WirehubError";
  /** Stable machine-readable code, also used on the wire. */
  readonly code: ErrorCode;
  /** Optional JSON-serialisable detail sent to the client with the error. */
  readonly data: unknown;
  /** An error with a `code`, a message, and optionally a `cause` and the `data` to send. */
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; data?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.data = options?.data;
  }
}

/** A frame the peer sent could not be decoded (bad JSON, wrong field types, unknown type). */
export class ProtocolError extends WirehubError {
  /** Always `"ProtocolError"`. */
  override name = "ProtocolError";
  /** The `id` of the malformed frame, when it had a valid one and was a request of its sender (an answer is owed to it). */
  readonly id: string | number | undefined;
  /** A decoding failure; the code defaults to `bad_frame`. */
  constructor(message: string, code: ErrorCode = "bad_frame", options?: { cause?: unknown; id?: string | number }) {
    super(code, message, options);
    this.id = options?.id;
  }
}

/** A request, event or group action was refused by an authorize hook or the auth rules. */
export class ForbiddenError extends WirehubError {
  /** Always `"ForbiddenError"`. */
  override name = "ForbiddenError";
  /** A refusal, with code `forbidden`. */
  constructor(message = "forbidden", options?: { cause?: unknown; data?: unknown }) {
    super("forbidden", message, options);
  }
}

/** A request got no answer within its timeout. */
export class TimeoutError extends WirehubError {
  /** Always `"TimeoutError"`. */
  override name = "TimeoutError";
  /** The timeout that elapsed, in milliseconds. */
  readonly ms: number;
  /** `what` timed out after `ms` milliseconds; code `timeout`. */
  constructor(ms: number, what = "request") {
    super("timeout", `${what} timed out after ${ms} ms`);
    this.ms = ms;
  }
}

/** The remote side answered a request with an error frame. */
export class RemoteError extends WirehubError {
  /** Always `"RemoteError"`. */
  override name = "RemoteError";
}

/** A request named a handler nobody registered. */
export class NotFoundError extends WirehubError {
  /** Always `"NotFoundError"`. */
  override name = "NotFoundError";
  /** No handler for `what`; code `not_found`. */
  constructor(what: string) {
    super("not_found", `no handler for "${what}"`);
  }
}

/** Input failed a Standard Schema; `issues` lists what was wrong. */
export class ValidationError extends WirehubError {
  /** Always `"ValidationError"`. */
  override name = "ValidationError";
  /** The schema's issues, as the schema library reported them. */
  readonly issues: ReadonlyArray<{ message: string; path?: ReadonlyArray<unknown> }>;
  /** Failed validation; code `validation`, the first issue as message, every issue in `data`. */
  constructor(issues: ReadonlyArray<{ message: string; path?: ReadonlyArray<unknown> }>) {
    super("validation", issues[0]?.message ?? "invalid input", { data: { issues } });
    this.issues = issues;
  }
}

/** The session or hub is closed; the operation cannot proceed. */
export class ClosedError extends WirehubError {
  /** Always `"ClosedError"`. */
  override name = "ClosedError";
  /** A closed session or hub; code `closed`. */
  constructor(message = "connection closed") {
    super("closed", message);
  }
}

/** A send or store operation did not reach the broker (an outage); local delivery was not affected. */
export class BrokerError extends WirehubError {
  /** `"BrokerError"`. */
  override name = "BrokerError";
  /** The broker topic of the lost send, when there was one. */
  readonly topic: string | undefined;
  /** Code `broker_unavailable`; `topic` names the lost send's topic. */
  constructor(message: string, options?: { cause?: unknown; topic?: string }) {
    super("broker_unavailable", message, options);
    this.topic = options?.topic;
  }
}

/** Turn anything thrown by user code into a wire-safe `{ code, message, data }`. */
export function toWireError(error: unknown): { code: string; message: string; data?: unknown } {
  if (error instanceof WirehubError) {
    return error.data === undefined
      ? { code: error.code, message: error.message }
      : { code: error.code, message: error.message, data: error.data };
  }
  // Unknown errors never leak their message or stack to clients.
  return { code: "handler_error", message: "internal error" };
}
