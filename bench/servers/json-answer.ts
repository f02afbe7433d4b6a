/**
 * The JSON envelope by hand (bench/servers/json.ts), shared with `bench/frame-cost.ts`: the
 * answer to one wirehub.v1 frame, parsed with `JSON.parse` and written with `JSON.stringify`.
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
    broadcast = `{"t":"evt","e":"b","d":${JSON.stringify(f.d)}}`;
    return BROADCAST;
  }
  if (f.t === "evt") return `{"t":"evt","e":${JSON.stringify(f.e)},"d":${JSON.stringify(f.d)}}`;
  if (f.t === "req") return `{"t":"res","id":${JSON.stringify(f.id)},"d":${JSON.stringify(f.d)}}`;
  return undefined;
}
