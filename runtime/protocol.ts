// The contract between the host and the in-isolate runtime (runtime/isolate). Both sides import
// these constants; keep it free of imports so it bundles into the isolate as-is.

/** Payload encodings, by code, as they cross the boundary. */
export const Encoding = { json: 0, msgpack: 1 } as const;
export type EncodingCode = (typeof Encoding)[keyof typeof Encoding];

/** The media type of each encoding, by code. */
export const CONTENT_TYPES = ['application/json', 'application/msgpack'] as const;

/** What an invoke returns when it does not return the result bytes (an ArrayBuffer). */
export const Outcome = {
  /** The handler threw or rejected: [Outcome.functionError, errorType, errorMessage, stack]. */
  functionError: 1,
  /** The request bytes do not decode in the declared encoding: [Outcome.badPayload, _, message, ""]. */
  badPayload: 2,
  /** The handler's result cannot be encoded: [Outcome.badResult, errorType, message, ""]. */
  badResult: 3,
  /**
   * A web call's response: [Outcome.webResponse, status, statusText, flatHeaders, body, tailPending].
   * tailPending: ctx.waitUntil work is still running; HostOp.tailDone says when it ends.
   */
  webResponse: 4,
  /** The module does not offer this kind of call: [Outcome.unsupported, errorType, message, ""]. */
  unsupported: 5,
  /**
   * The result (or a web response's body) is past the host's limit, found before it crossed:
   * [Outcome.tooLarge, 'ResultTooLarge', message, ""]. The host checks the size again itself.
   */
  tooLarge: 6,
  /**
   * The instance went past its memory limit in a way only the runtime sees (WebAssembly memory):
   * [Outcome.outOfMemory, 'OutOfMemory', message, ""]. The host disposes the instance.
   */
  outOfMemory: 7,
} as const;

export type WebResponseTuple = [code: 4, status: number, statusText: string, headers: string[], body: ArrayBuffer, tailPending: boolean];

/** Where each field of a WebResponseTuple is (both sides read the tuple by these, not by number). */
export const WebField = { status: 1, statusText: 2, headers: 3, body: 4, tailPending: 5 } as const;

/** What a loaded module offers (a bit set, returned by the runtime's load). */
export const ModuleKind = { event: 1, fetch: 2, scheduled: 4 } as const;

/** Requests from the isolate to the host, through HostGlobal.host (fire and forget). */
export const HostOp = {
  /** (0, delayMs): wake the isolate (Deliver.timer) after delayMs; replaces the previous wake-up. */
  timerSet: 1,
  /** (0): no wake-up needed any more. */
  timerClear: 2,
  /** (id, requestId, deadline, method, url, flatHeaders, body: ArrayBuffer | null, redirect) */
  fetch: 3,
  /** (id) */
  fetchAbort: 4,
  /** (requestId): the call's ctx.waitUntil work has ended. */
  tailDone: 5,
  /** (): nothing runs in the isolate any more; drop every timer and outbound fetch. */
  cancelAll: 6,
} as const;

/** Deliveries from the host into the isolate, through the runtime's `deliver(kind, ...)`. */
export const Deliver = {
  /** (): the wake-up asked for with HostOp.timerSet is due. */
  timer: 1,
  /** (id, status, statusText, flatHeaders, body: ArrayBuffer, url, redirected) */
  fetchOk: 2,
  /** (id, errorName: 'TypeError' | 'AbortError' | 'TimeoutError', message) */
  fetchFail: 3,
  /** (requestId): the call's deadline passed: stop waiting for its waitUntil work. */
  tailCancel: 4,
} as const;

/** An invoke's failure: [Outcome.functionError | badPayload | badResult | unsupported, errorType, errorMessage, stack]. */
export type FailureTuple = [code: number, errorType: string, errorMessage: string, stack: string];

/** What an invoke returns: the result bytes, a failure, or (web calls) a response. */
export type ResultTuple = ArrayBuffer | FailureTuple | WebResponseTuple;

/** A web call in a batch: [method, url, headers (name, value, …), remote address]. */
export type WebCall = [method: string, url: string, headers: string[], remoteAddress: string];

/**
 * The calls of one crossing (the runtime's invokeBatch and invokeNow), by position, as one argument:
 * isolated-vm copies each argument that is an object through its own V8 ValueSerializer (a zone
 * and a map malloc'd for each), so one tuple of arrays costs ~3.5 µs less a crossing than six
 * arrays (bench/README, "One argument a crossing"). One deadline for all: they start together.
 */
export type BatchCalls = [bodies: ArrayBuffer[], reqEncs: number[], resEncs: number[], requestIds: string[], deadline: number, webs: (WebCall | null)[]];

/**
 * A batched invoke waits this many microtask turns for its calls to finish before it returns;
 * calls still running then (awaiting real work) answer later, one by one, through
 * HostGlobal.result. A handler that only awaits promises already settled finishes in a few turns.
 */
export const BATCH_SETTLE_TURNS = 24;

/** Log streams, by code. */
export const Stream = { stdout: 0, stderr: 1 } as const;

/**
 * Console lines cross to the host in batches (one HostGlobal.log callback per batch, not per
 * line): a flat array of entries of LOG_ENTRY fields each. An entry is a line
 * [requestId, Stream.stdout | Stream.stderr, timeMs, text], or a report of what the runtime dropped
 * for a call so far [requestId, LOG_DROPPED, lines, bytes] (cumulative: the newest report holds).
 */
export const LOG_ENTRY = 4;
export const LOG_DROPPED = 2;
/** Most entries the runtime puts in one batch; the host ignores entries past it. */
export const LOG_BATCH_ENTRIES = 64;
/** What a line costs against the log limits besides its text (so empty lines are not free). */
export const LOG_LINE_OVERHEAD = 32;

/** One log line's most characters (the runtime cuts it, the host's gate again). */
export const MAX_LOG_LINE = 16 * 1024;

/** The limits the host gives the runtime at boot (HostGlobal.limits), by position. */
export const LogLimit = { bytesPerCall: 0, linesPerCall: 1, bytesPerSecond: 2, memoryMb: 3 } as const;

/** Names of the globals the host sets before the runtime script runs; the runtime deletes them. */
export const HostGlobal = {
  log: '__hearth_log',
  /** Results of batched calls that were still running when their batch returned. */
  result: '__hearth_result',
  exportsOut: '__hearth_runtime',
  /** HostOp requests (an ignored ivm.Callback). */
  host: '__hearth_host',
  /** [logBytesPerCall, logLinesPerCall, logBytesPerSecond, memoryMb] (LogLimit): the runtime's own bounds. */
  limits: '__hearth_limits',
  /** 32 random bytes for the isolate's CSPRNG, fresh per isolate. */
  seed: '__hearth_seed',
  /** Loads an extra script into this isolate, synchronously (runtime/isolate/extras.ts). */
  extra: '__hearth_extra',
  /** Set by the runtime only while an extra loads: the extra hands its exports to it (extras/register.ts). */
  extraHook: '__hearth_extra_hook',
} as const;

/** What the runtime asks HostGlobal.extra for to get isolated-vm's module as its answer (not an extra's name). */
export const HOST_IVM = '.ivm';

/** The extras the host can load into an isolate (dist/runtime/extra-<name>.js; runtime/isolate/extras.ts). */
export const EXTRA_NAME = /^[a-z][a-z0-9-]{0,31}$/;
