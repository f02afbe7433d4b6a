/**
 * Local fan-out and broker packets. A send is encoded at most once per mode, and the same
 * string or bytes go to every recipient.
 * @module
 */
import type { Packet } from "./broker.ts";
import { encodeEvent, framePayload, toBase64 } from "./protocol.ts";
import { ringPush } from "./resume.ts";
import { CLOSED, CLOSING, DETACHED, rawFrame, type Session } from "./session.ts";
import { bytesOf } from "./wire.ts";
import type { Hub } from "./hub.ts";
import type { Mode } from "./types.ts";

/** The host topic for everyone (`group` undefined) or a group, per mode: raw and envelope frames differ. */
export function hostTopic(mode: Mode, group?: string): string {
  if (group === undefined) return mode === "raw" ? "r*" : "e*";
  return (mode === "raw" ? "r:" : "e:") + group;
}

/** A session became (or came back) authenticated: (re)subscribe its socket to its host topics. */
export function hostSubscribe<D>(hub: Hub<D, any>, s: Session<D>): void {
  const d = hub.driver;
  if (!d?.subscribe) return;
  if (hub.everyoneTopic) d.subscribe(s.socket, hostTopic(s.mode));
  const gs = s.gs; // read in place: no copy per session
  if (typeof gs === "string") d.subscribe(s.socket, hostTopic(s.mode, gs));
  else if (gs !== undefined) for (const g of gs) d.subscribe(s.socket, hostTopic(s.mode, g));
}

/** Before the first native send to everyone: subscribe every session that receives such sends. */
function subscribeEveryone<D>(hub: Hub<D, any>): void {
  hub.everyoneTopic = true;
  const d = hub.driver;
  if (!d?.subscribe) return;
  for (const s of hub.sessions.values()) if (s.authenticated && s.open) d.subscribe(s.socket, hostTopic(s.mode));
}

/** Deliver an event to this hub's own sessions. */
export function deliver<D>(
  hub: Hub<D, any>,
  event: string,
  data: unknown,
  to: readonly string[] | undefined,
  group: string | undefined,
  except: readonly string[],
  key?: string,
  volatile?: boolean,
): void {
  let raw: string | Uint8Array | undefined;
  let env: string | undefined;
  const seq = volatile ? undefined : hub.nextSeq();
  const write = (s: Session<D>): void => {
    if (volatile && (s.congested || s.state === DETACHED)) return void hub.metrics.dropped++;
    if (s.mode === "raw") hub.writeFrame(s, (raw ??= rawFrame(data)));
    else hub.writeFrame(s, (env ??= encodeEvent(event, data, seq)), seq, key);
  };
  if (to) {
    for (const id of to) {
      const s = hub.sessions.get(id);
      if (!s || s.state === CLOSING || s.state === CLOSED || !s.authenticated || except.includes(id)) continue;
      if (group !== undefined && !s.inGroup(group)) continue;
      write(s);
    }
    return;
  }
  const members: Iterable<Session<D>> | undefined = group === undefined ? hub.sessions.values() : hub.groupMap.get(group);
  if (!members) return;
  const d = hub.driver;
  // Only the excluded sessions open here matter: a broadcast from another instance excludes its
  // sender, who is not on this hub, and must still take the host's native fan-out.
  if (except.length > 0 && d?.publish) except = openHere(hub, except);
  let native = false;
  if (group === undefined && !hub.everyoneTopic && (d?.publish || d?.publishExcept)) subscribeEveryone(hub);
  if (d?.publish && except.length === 0) {
    // Native fan-out: one call per mode; the host copies nothing per recipient.
    d.publish(hostTopic("raw", group), (raw ??= rawFrame(data)));
    d.publish(hostTopic("envelope", group), (env ??= encodeEvent(event, data, seq)));
    native = true;
  } else if (d?.publishExcept && except.length === 1) {
    const self = hub.sessions.get(except[0]!);
    if (self && self.open && self.authenticated && (group === undefined || self.inGroup(group))) {
      d.publishExcept(self.socket, hostTopic("raw", group), (raw ??= rawFrame(data)));
      d.publishExcept(self.socket, hostTopic("envelope", group), (env ??= encodeEvent(event, data, seq)));
      native = true;
    }
  }
  if (native) {
    // The host delivered; replay buffers (and detached sessions) still need the frame.
    if (seq !== undefined && hub.rings > 0) {
      for (const s of members) {
        if (s.ring && s.authenticated && !except.includes(s.id)) ringPush(s, seq, env!, hub.resume!.maxFrames, key);
      }
    }
    return;
  }
  const skip = except.length > 8 ? new Set(except) : undefined;
  for (const s of members) {
    if (s.state === CLOSING || s.state === CLOSED || !s.authenticated) continue;
    if (skip ? skip.has(s.id) : except.length > 0 && except.includes(s.id)) continue;
    write(s);
  }
}

/** The ids of `ids` that are sessions of this hub (`ids` itself when all are: no copy for the common case). */
function openHere<D>(hub: Hub<D, any>, ids: readonly string[]): readonly string[] {
  for (const id of ids) if (!hub.sessions.has(id)) return ids.filter((i) => hub.sessions.has(i));
  return ids;
}

/** A payload as the `d` or `b` member of a packet (what {@link framePayload} reads back); none for `undefined`. */
export function payloadFields(data: unknown): { d?: unknown; b?: string } {
  const bytes = bytesOf(data);
  return bytes ? { b: toBase64(bytes) } : data === undefined ? {} : { d: data };
}

/** Build the broker packet of an event send (`n`: the send's number at its origin). */
export function eventPacket(origin: string, event: string, data: unknown, group: string | undefined, except: readonly string[], n?: number, volatile?: boolean): Packet {
  const p: { o: string; k: "evt"; n?: number; e: string; d?: unknown; b?: string; g?: string; x?: readonly string[]; v?: 1 } = { o: origin, k: "evt", n, e: event, ...payloadFields(data) };
  if (volatile) p.v = 1;
  if (group !== undefined) p.g = group;
  if (except.length > 0) p.x = except;
  return p;
}

/** A join or leave for a session id `hub` does not hold: with a broker, its holder (if any) does it. */
export function elsewhere<D>(hub: Hub<D, any>, id: string, k: "join" | "leave", group: string): void {
  if (hub.sharedBroker) hub.link.publish("s:" + id, { o: hub.id, k, g: group });
}

/** Deliver a packet another instance published. */
export function receive<D>(hub: Hub<D, any>, topic: string, p: Packet): void {
  if (p.k === "close" || p.k === "join" || p.k === "leave") {
    // Only the holder acts on them, and only on a session it holds now: never passed on again.
    const s = topic.startsWith("s:") ? hub.sessions.get(topic.slice(2)) : undefined;
    if (s && p.k === "close") s.close(p.f as number, p.e);
    else if (s) hub[p.k](s, p.g!);
    return;
  }
  if (p.k !== "evt") return hub.cluster?.receive(topic, p); // presence, private messages, hand-overs
  const data = framePayload(p);
  const except = p.x ?? [];
  const key = hub.rings > 0 ? p.o + "." + p.n : undefined;
  const volatile = p.v === 1;
  if (topic === "all") deliver(hub, p.e!, data, undefined, undefined, except, key, volatile);
  else if (topic.startsWith("g:")) deliver(hub, p.e!, data, undefined, topic.slice(2), except, key, volatile);
  else if (topic.startsWith("s:")) deliver(hub, p.e!, data, [topic.slice(2)], p.g, except, key, volatile);
}
