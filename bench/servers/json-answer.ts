/**
 * The JSON envelope by hand (bench/servers/json.ts), shared with `bench/frame-cost.ts`: the
 * answer to one wirehub.v1 frame, parsed with `JSON.parse` and written with one `JSON.stringify`
 * of the frame object (cheaper than joining stringified pieces: 26 % less server CPU per echo on
 * Bun, 2 % on Deno, the same on Node; bench/notes.md, "Ropes on Bun's send path").
 */

/** The `hello` frame sent on open. */
export const HELLO = '{"t":"hello","sid":"x","v":1}';
/** The frame a broadcast was made into, set by `answer` when it returns `BROADCAST`. */
export let broadcast = "";
/** What `answer` returns for event `bcast`: send `broadcast` to every other connection. */
export const BROADCAST = 1;
/** The frame answering `text` (`evt` echoed as `evt`, `req` answered with `res`), `BROADCAST`, or nothing. */
export function answer(text: string): string | typeof BROADCAST | undefined {
  const f = JSON.parse(text);
  if (f.t === "evt" && f.e === "bcast") {
    broadcast = JSON.stringify({ t: "evt", e: "b", d: f.d });
    return BROADCAST;
  }
  if (f.t === "evt") return JSON.stringify({ t: "evt", e: f.e, d: f.d });
  if (f.t === "req") return JSON.stringify({ t: "res", id: f.id, d: f.d });
  return undefined;
}
