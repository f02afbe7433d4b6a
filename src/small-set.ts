/**
 * A set of strings kept as the name itself while it holds one, an exact-size array while it is
 * small, and a `Set` past that: a session is usually in one or two groups, and a `Set` per
 * session costs far more memory than a short array (see bench/notes.md, "Memory per idle
 * session"). Holding a single name as the string itself means joining a first group allocates
 * nothing, and a second allocates only the array that stays.
 * @module
 */

/** No names, one name (the string itself), a few (an array nobody else holds), or many (a `Set`). */
export type SmallSet = string | readonly string[] | Set<string> | undefined;

/** Whether `x` is in `s`. */
export function smallHas(s: SmallSet, x: string): boolean {
  if (s === undefined) return false;
  if (typeof s === "string") return s === x;
  return s instanceof Set ? s.has(x) : s.includes(x);
}

/** How many names `s` holds. */
export function smallSize(s: SmallSet): number {
  if (s === undefined) return 0;
  if (typeof s === "string") return 1;
  return s instanceof Set ? s.size : s.length;
}

/**
 * `s` with `x` added (`x` must not be in it): the name itself when `s` is empty, a new array
 * while under `max` names, else a `Set` (changed in place once it is one).
 */
export function smallAdd(s: SmallSet, x: string, max: number): SmallSet {
  if (s === undefined) return x;
  if (typeof s === "string") return max >= 2 ? [s, x] : new Set([s, x]);
  if (s instanceof Set) return s.add(x);
  return s.length < max ? s.concat(x) : new Set(s).add(x);
}

/** `s` without `x` (`x` must be in it). */
export function smallDelete(s: SmallSet, x: string): SmallSet {
  if (s === undefined || typeof s === "string") return undefined;
  if (s instanceof Set) {
    s.delete(x);
    return s;
  }
  if (s.length === 2) return s[0] === x ? s[1] : s[0];
  return s.length === 1 ? undefined : s.filter((y) => y !== x);
}

/** The names of `s` as a new array (callers may keep or change it). */
export function smallList(s: SmallSet): string[] {
  if (s === undefined) return [];
  if (typeof s === "string") return [s];
  return [...s];
}
