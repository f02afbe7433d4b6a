/**
 * What one connection attempt of the client dials: the URL and the query parameters, each a
 * value or the answer of a function called at the start of the attempt (which may be a promise).
 * @module
 */
import type { ClientOptions, QueryParams, UrlSource } from "./client-types.ts";

/** The function form of {@link UrlSource}. */
export type UrlFunction = Exclude<UrlSource, string | URL>;

/**
 * Find the attempt's URL and parameters and `dial` them: at once when neither comes from a
 * promise, else once both have settled and only while `still()` holds (a stopped or restarted
 * attempt goes no further). The first function to throw or reject ends the attempt with `fail`.
 */
export function resolveAttempt(
  url: string | UrlFunction,
  query: ClientOptions["query"],
  still: () => boolean,
  dial: (target: string | URL, params: QueryParams | undefined) => void,
  fail: (reason: string, error: unknown) => void,
): void {
  let target: string | URL | PromiseLike<string | URL>;
  let params: QueryParams | PromiseLike<QueryParams> | undefined;
  try {
    target = typeof url === "function" ? url() : url;
  } catch (error) {
    return fail(URL_FAILED, error);
  }
  try {
    params = typeof query === "function" ? query() : query;
  } catch (error) {
    return fail(QUERY_FAILED, error);
  }
  if (!isThenable(target) && !isThenable(params)) return dial(target, params);
  const failing = (reason: string) => (error: unknown): never => {
    if (still()) fail(reason, error); // the first failure ends the attempt; a later one finds it over
    throw error;
  };
  Promise.all([
    Promise.resolve(target).then(undefined, failing(URL_FAILED)),
    Promise.resolve(params).then(undefined, failing(QUERY_FAILED)),
  ]).then(([t, p]) => void (still() && dial(t, p)), () => {});
}

const URL_FAILED = "the url function failed";
const QUERY_FAILED = "the query function failed";

function isThenable<T>(v: T | PromiseLike<T>): v is PromiseLike<T> {
  return typeof (v as { then?: unknown } | null | undefined)?.then === "function";
}
