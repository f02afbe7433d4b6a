/**
 * An in-memory host for unit tests of the core: a Driver whose sockets are plain objects that
 * record every frame. It exercises the real hub through the same seam the adapters use.
 */
import type { Admission, Driver, Hub, Seam, Session } from "../src/mod.ts";

export interface MemSocket {
  frames: (string | Uint8Array)[];
  closed?: { code: number; reason: string };
  session?: Session<any>;
}

export class MemoryHost<D = any> {
  readonly seam: Seam<D, MemSocket>;
  readonly driver: Driver<MemSocket> = {
    capabilities: { protocolPing: false, nativePubSub: false, bufferedAmount: false, hibernation: false, validatesUtf8: false },
    send(s, data) {
      s.frames.push(data);
      return "sent";
    },
    close: (s, code, reason) => {
      s.closed = { code, reason };
      // a real host reports the close back asynchronously
      queueMicrotask(() => s.session && this.seam.close(s.session, code, reason));
    },
  };
  constructor(readonly hub: Hub<D>) {
    this.seam = hub.attach(this.driver);
  }

  /** Upgrade and open one connection; `protocol` "wirehub.v1" for envelope. */
  async connect(url = "http://host/", protocol?: string): Promise<MemSocket & { session: Session<D> }> {
    const headers: Record<string, string> = { upgrade: "websocket", "sec-websocket-version": "13", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==" };
    if (protocol) headers["sec-websocket-protocol"] = protocol;
    const adm = await this.seam.upgrade(new Request(url, { headers }), { remoteAddress: "127.0.0.1" });
    if (adm instanceof Response) throw new Error(`refused: ${adm.status}`);
    const sock: MemSocket = { frames: [] };
    sock.session = this.seam.open(sock, adm as Admission<D>);
    return sock as MemSocket & { session: Session<D> };
  }

  /** Send a client frame (object → JSON text). */
  send(s: MemSocket, frame: unknown): void {
    this.seam.message(s.session!, typeof frame === "string" || frame instanceof Uint8Array ? frame : JSON.stringify(frame));
  }
}

/** Parsed envelope frames a socket received. */
export function parsed(s: MemSocket): Record<string, any>[] {
  return s.frames.filter((f): f is string => typeof f === "string").map((f) => JSON.parse(f));
}

/** Wait until the socket has a frame matching `pred` (polling microtasks/macrotasks, bounded). */
export async function until(s: MemSocket, pred: (f: Record<string, any>) => boolean, tries = 200): Promise<Record<string, any>> {
  for (let i = 0; i < tries; i++) {
    const hit = parsed(s).find(pred);
    if (hit) return hit;
    await new Promise((r) => setTimeout(r, 0));
  }
  throw new Error("frame never arrived: " + JSON.stringify(parsed(s)));
}
