/**
 * A set of strings kept as an exact-size array while it is small, and as a `Set` past that:
 * a session is usually in a few groups, and a `Set` per session costs far more memory than a
 * short array (see bench/notes.md, "Memory per idle session").
 * @module
 */

/** No names, a few names (an array nobody else holds), or many (a `Set`). */
export type SmallSet = readonly string[] | Set<string> | undefined;

/** Whether `x` is in `s`. */
export function smallHas(s: SmallSet, x: string): boolean {
  return s === undefined ? false : s instanceof Set ? s.has(x) : s.includes(x);
}

/** How many names `s` holds. */
export function smallSize(s: SmallSet): number {
  return s === undefined ? 0 : s instanceof Set ? s.size : s.length;
}

/** `s` with `x` added (`x` must not be in it): a new array while under `max` names, else a `Set` (changed in place once it is one). */
export function smallAdd(s: SmallSet, x: string, max: number): SmallSet {
  if (s === undefined) return [x];
  if (s instanceof Set) return s.add(x);
  return s.length < max ? [...s, x] : new Set(s).add(x);
}

/** `s` without `x` (`x` must be in it). */
export function smallDelete(s: SmallSet, x: string): SmallSet {
  if (s instanceof Set) {
    s.delete(x);
    return s;
  }
  return s === undefined || s.length === 1 ? undefined : s.filter((y) => y !== x);
}
