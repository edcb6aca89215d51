// The contract between the host and the in-isolate runtime (runtime/isolate). Both sides import
// these constants; keep it free of imports so it bundles into the isolate as-is.

/** Payload encodings, by code, as they cross the boundary. */
export const Encoding = { json: 0, msgpack: 1 } as const;
export type EncodingCode = (typeof Encoding)[keyof typeof Encoding];

/** What an invoke returns when it does not return the result bytes (an ArrayBuffer). */
export const Outcome = {
  /** The handler threw or rejected: [Outcome.functionError, errorType, errorMessage, stack]. */
  functionError: 1,
  /** The request bytes do not decode in the declared encoding: [Outcome.badPayload, _, message, ""]. */
  badPayload: 2,
  /** The handler's result cannot be encoded: [Outcome.badResult, errorType, message, ""]. */
  badResult: 3,
} as const;

export type FailureTuple = [code: number, errorType: string, errorMessage: string, stack: string];

/**
 * A batched invoke waits this many microtask turns for its calls to finish before it returns;
 * calls still running then (awaiting real work) answer later, one by one, through
 * HostGlobal.result. A handler that only awaits promises already settled finishes in a few turns.
 */
export const BATCH_SETTLE_TURNS = 24;

/** Log streams, by code. */
export const Stream = { stdout: 0, stderr: 1 } as const;

/** Names of the globals the host sets before the runtime script runs; the runtime deletes them. */
export const HostGlobal = {
  log: '__hearth_log',
  /** Results of batched calls that were still running when their batch returned. */
  result: '__hearth_result',
  exportsOut: '__hearth_runtime',
} as const;
