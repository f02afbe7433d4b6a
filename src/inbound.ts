/**
 * One incoming frame: size limit, rate limit, raw text pings, then the raw `message` hook or
 * the envelope decoder and dispatch.
 * @module
 */
import { frameTime } from "./clock.ts";
import { dispatch, messageHook } from "./dispatch.ts";
import { ProtocolError } from "./errors.ts";
import type { Hub } from "./hub.ts";
import { take } from "./limits.ts";
import { decodeFrame, encodeError } from "./protocol.ts";
import { OPEN, type Session } from "./session.ts";
import type { WireData } from "./types.ts";

/** Handle one frame from a session's socket. Never throws. */
export function inbound<D>(hub: Hub<D, any>, s: Session<D>, data: WireData): void {
  if (s.state !== OPEN) return;
  const now = (s.lastSeen = frameTime());
  handle(hub, s, data, now);
  hub.liveness.keep(s); // after the frame, so a ping it carried is stored too
}

function handle<D>(hub: Hub<D, any>, s: Session<D>, data: WireData, now: number): void {
  const max = hub.options.maxMessageSize ?? 1024 * 1024;
  const size = typeof data === "string" ? data.length : data.byteLength;
  hub.metrics.messagesIn++;
  hub.metrics.bytesIn += size;
  // A string's UTF-16 length never exceeds its UTF-8 byte count, and the byte count is at
  // most 3x the length: only texts in between need encoding to be measured exactly.
  if (size > max || (typeof data === "string" && size * 3 > max && new TextEncoder().encode(data).length > max)) {
    s.close(1009, "message too big");
    return;
  }
  const rl = hub.options.rateLimit;
  if (rl !== false) {
    const rate = rl?.rate ?? 1000;
    const bucket = (s.bucket ??= { tokens: rl?.burst ?? rate, at: now });
    if (!take(bucket, rate, rl?.burst ?? rate, now)) {
      hub.metrics.dropped++;
      const close = (rl?.action ?? "close") === "close";
      if (close || !s.limited) {
        if (s.mode === "envelope") s.sendRaw(encodeError(undefined, "rate_limited", "too many messages"));
        s.limited = true;
      }
      if (close) s.close(1008, "rate limit exceeded");
      return;
    }
    s.limited = false;
  }
  if (s.mode === "raw") {
    const rp = hub.options.rawPing;
    if (rp && typeof data === "string") {
      if (data === rp.ping) {
        hub.liveness.pinged(s);
        s.sendRaw(rp.pong);
        return;
      }
      if (data === rp.pong) return hub.liveness.ponged(s);
    }
    if (hub.options.message) messageHook(hub, s, "message", typeof data === "string" || data instanceof Uint8Array ? data : new Uint8Array(data), "raw");
    return;
  }
  if (typeof data !== "string") {
    s.sendRaw(encodeError(undefined, "bad_frame", 'binary frames are not part of wirehub.v1; send base64 in "b"'));
    return;
  }
  const lim = hub.options.limits;
  try {
    // decodeFrame checks the nesting depth before it parses anything.
    dispatch(hub, s, decodeFrame(data, lim?.nameLength ?? 128, lim?.jsonDepth ?? 32));
  } catch (error) {
    if (error instanceof ProtocolError) s.sendRaw(encodeError(error.id, error.code, error.message));
    else hub.report(error, s); // dispatch answers its own faults; anything here is a bug, reported not thrown
  }
}
