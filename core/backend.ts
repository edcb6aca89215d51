// The one seam between the dispatcher and the two tiers (isolates, containers). The dispatcher,
// registry, HTTP layer, logs and metrics never know which tier served a call.

import type { EncodingCode } from '../runtime/protocol.js';
import type { FunctionSpec, Runtime } from './spec.js';

/** An immutable, resolved function version: everything an instance is made from. */
export interface FunctionVersion {
  readonly name: string;
  /** "$LATEST" or a published number. */
  readonly version: string;
  /** sha256 over everything that shapes an instance; warm instances are keyed by it. */
  readonly digest: string;
  /** sha256 of the deployable code (the bundled script for js). */
  readonly codeDigest: string;
  readonly runtime: Runtime;
  readonly handler: string;
  /** For js: the export the handler names. */
  readonly exportName: string;
  /** For runtime "image": the image id pinned at deploy. */
  readonly imageId: string | null;
  readonly spec: Readonly<Omit<FunctionSpec, 'code'>>;
  readonly createdAt: string;
  /**
   * Shared by every object of this digest; `retired` turns true when the digest is replaced or
   * deleted. A call that resolved to it just before, and finds no warm instance, is then re-resolved
   * (its code may be gone) instead of starting an instance of replaced code.
   */
  readonly lifecycle?: { retired: boolean };
}

/**
 * One invocation as it moves through Hearth: filled in by the HTTP layer, the dispatcher and the
 * backend, then kept (bounded) as the invocation record.
 */
export interface Invocation {
  readonly requestId: string;
  readonly functionName: string;
  version: string;
  digest: string;
  /** Request bytes: a whole, un-pooled ArrayBuffer that the backend may transfer (detach). */
  body: ArrayBuffer;
  reqEnc: EncodingCode;
  resEnc: EncodingCode;
  /** performance.now() when the request was read completely. */
  startedAt: number;
  /** Epoch ms. */
  startedAtEpoch: number;
  /** Result bytes, set on success. */
  result: ArrayBuffer | null;
  status: 'running' | 'succeeded' | 'failed';
  cold: boolean;
  queueMs: number;
  initMs: number;
  durationMs: number;
  error: { errorType: string; errorMessage: string; stackTrace?: string[]; status: number; functionError: boolean } | null;
  logs: LogLine[] | null;
  /** Bytes of log text on `logs` (bounded per invocation). */
  logBytes?: number;
  /** Force a fresh instance (admin, for benchmarking cold paths). */
  forceCold: boolean;
  /** A web call: the HTTP request itself (body in `body`); the answer goes to `response` + `result`. */
  web?: WebRequest;
  /** A web call's answer (status and headers; the body bytes are `result`). */
  response?: WebResponse;
  /** An attempt of an async event: its record is the queue's (this one only carries its live logs). */
  async?: true;
  /** A cron tick (body: the timer event, JSON). */
  schedule?: { cron: string; scheduledTime: number; trigger: string };
  /** Set when the call answered but its ctx.waitUntil work goes on: resolves when that ends. */
  tail?: Promise<void>;
}

/**
 * A call about to be dispatched, with nothing measured yet. Every entry (invoke, web, Lambda API,
 * timers, async attempts) makes its invocation here; a web call, a timer tick or an async attempt
 * then sets its own field (`web`, `schedule`, `async`).
 */
export function newInvocation(
  requestId: string, fn: FunctionVersion, body: ArrayBuffer, reqEnc: EncodingCode, resEnc: EncodingCode, forceCold = false,
): Invocation {
  return {
    requestId, functionName: fn.name, version: fn.version, digest: fn.digest, body, reqEnc, resEnc,
    startedAt: performance.now(), startedAtEpoch: Date.now(), result: null, status: 'running',
    cold: false, queueMs: 0, initMs: 0, durationMs: 0, error: null, logs: null, forceCold,
  };
}

export interface WebRequest {
  method: string;
  /** Absolute URL as the function sees it. */
  url: string;
  /** Flat [name, value, ...], lower-case names. */
  headers: string[];
  /** The client's address (the TCP peer). */
  remoteAddress: string;
}

export interface WebResponse {
  status: number;
  statusText: string;
  /** Flat [name, value, ...], checked: safe to write. */
  headers: string[];
}

export interface LogLine {
  time: number;
  requestId: string;
  stream: 'stdout' | 'stderr';
  message: string;
}

/** Receives function output lines as they are written. */
export type LogListener = (functionName: string, requestId: string, stream: number, timeMs: number, message: string) => void;

export interface InstanceInfo {
  id: string;
  tier: 'isolate' | 'container';
  state: string;
  digest: string;
  version: string;
  inFlight: number;
  callsServed: number;
  /** Epoch ms. */
  createdAt: number;
  /** Epoch ms: when its last call ended (when it was made, before any). */
  lastUsedAt: number;
  /** Since it was made, ms. */
  ageMs: number;
  /** Since its last call ended, ms (0 while it has calls in flight). */
  idleMs: number;
  memoryMb: number;
  /** Tier-specific facts (e.g. whether V8 cached data was used to load the code). */
  detail?: Record<string, unknown>;
}

export interface BackendStats {
  instances: number;
  prewarmed: number;
  busy: number;
  waiting: number;
  memoryMb: number;
  evictions: number;
  coldStarts: number;
}

export interface Backend {
  readonly tier: 'isolate' | 'container';
  /** Ready once pre-warming has filled. */
  ready(): Promise<void>;
  /**
   * Deploy-time check and preparation (compile, produce cached data). Throws HearthError 400s for
   * code that does not load.
   */
  prepare(version: FunctionVersion, code: Buffer): Promise<void>;
  /** runtime "image": the id of the image a reference names now (deploy pins it); throws 400/503. */
  pinImage?(reference: string): Promise<string>;
  /**
   * Run one invocation: on success set inv.result; on a function error set inv.error; throw a
   * HearthError for everything else (timeouts, OOM, capacity). Fills cold/queueMs/initMs.
   */
  invoke(version: FunctionVersion, inv: Invocation): Promise<void>;
  /** Keep the version's minInstances ready (reserved instances); a no-op when it has none. */
  reserve(version: FunctionVersion): void;
  /**
   * This digest takes no new calls: instances finish what they hold, then go. `gone`: the function
   * was deleted, so calls still waiting for an instance are refused.
   */
  retire(digest: string, gone?: boolean): void;
  instances(digest?: string): InstanceInfo[];
  stats(): BackendStats;
  close(): Promise<void>;
}
