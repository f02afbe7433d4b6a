/**
 * Server-side typing from the same API description `wirehub/client` uses:
 *
 * ```ts
 * interface Api {
 *   events: { chat: { text: string } };                                   // both directions
 *   requests: { "create/user": { input: { name: string }; output: { id: string } } };
 *   serverRequests: { confirm: { input: string; output: boolean } };      // server asks the client
 * }
 * const hub = createHub<Data, Api>();
 * hub.handle("create/user", (input) => ({ id: input.name }));            // checked both ways
 * ```
 * Without an Api (the default), every name is allowed and data is `any`.
 * @module
 */

/** The `K` part of an API description; `never` when absent, or when `A` is `any` (untyped). */
export type Has<A, K extends string> = 0 extends 1 & A ? never : A extends Record<K, infer X> ? X : never;

/** Request method names a hub handles (any string without an Api). */
export type HandledMethod<A> = [Has<A, "requests">] extends [never] ? string : keyof Has<A, "requests"> & string;
/** Input of request `M` (any without an Api). */
export type HandlerInput<A, M> = [Has<A, "requests">] extends [never] ? any
  : M extends keyof Has<A, "requests"> ? Has<A, "requests">[M] extends { input: infer I } ? I : undefined : never;
/** Output of request `M`: what the handler returns, or a promise of it (anything without an Api). */
export type HandlerOutput<A, M> = [Has<A, "requests">] extends [never] ? unknown
  : M extends keyof Has<A, "requests"> ? Has<A, "requests">[M] extends { output: infer O } ? O | Promise<O> : unknown : never;
/** Event names (any string without an Api). */
export type EventKey<A> = [Has<A, "events">] extends [never] ? string : keyof Has<A, "events"> & string;
/** Payload of event `E` (any without an Api). */
export type EventPayload<A, E> = [Has<A, "events">] extends [never] ? any : E extends keyof Has<A, "events"> ? Has<A, "events">[E] : never;
/** Method names the server may ask a client (any string without an Api). */
export type AskedMethod<A> = [Has<A, "serverRequests">] extends [never] ? string : keyof Has<A, "serverRequests"> & string;
/** Input of server request `M`. */
export type AskInput<A, M> = [Has<A, "serverRequests">] extends [never] ? any
  : M extends keyof Has<A, "serverRequests"> ? Has<A, "serverRequests">[M] extends { input: infer I } ? I : undefined : never;
/** Output of server request `M`. */
export type AskOutput<A, M> = [Has<A, "serverRequests">] extends [never] ? any
  : M extends keyof Has<A, "serverRequests"> ? Has<A, "serverRequests">[M] extends { output: infer O } ? O : unknown : never;
