// The durable queue behind async (Event) invocation: one interface, two implementations.
//
// - EmbeddedQueue (embedded-queue.ts): LMDB in the data dir. The default; no server.
// - RedisQueue (redis-queue.ts): Redis Streams with a consumer group, so several replicas share
//   one queue (each event is taken by one of them; a dead replica's events are taken over).
//
// The queue stores, the AsyncInvoker (invoker.ts) decides: what to run, how often to retry, where
// results go. An event's whole life is one EventRecord, written durably at every step that
// matters: accepted (before the 202), outcome of each attempt (before anything depends on it).

import type { LogLine } from '../call.js';
import { HearthError } from '../errors.js';
import { log } from '../log.js';

export type EventStatus = 'queued' | 'running' | 'succeeded' | 'failed';

/**
 * Why an event ended (Lambda's destination conditions, plus Hearth's `NotRetryable` for errors no
 * retry can fix, such as a function that was deleted).
 */
export type EventCondition = 'Success' | 'RetriesExhausted' | 'EventAgeExceeded' | 'NotRetryable' | 'ChainDepthExceeded';

export interface AttemptError {
  errorType: string;
  errorMessage: string;
  stackTrace?: string[];
  /** The function raised it (it threw, timed out, ran out of memory). */
  functionError?: boolean;
}

export interface Attempt {
  /** Epoch ms. */
  startedAt: number;
  endedAt: number | null;
  /** The version that ran (an alias or $LATEST may mean another one by the next attempt). */
  version: string | null;
  durationMs: number | null;
  error: AttemptError | null;
  /** Hearth stopped (or its replica died) while this attempt ran; it does not count as a retry. */
  interrupted?: boolean;
}

/**
 * A destination: another function (an async event to it), or an HTTP URL (a POST of Lambda's
 * destination record, or with format "cloudevents" a CloudEvent in binary mode).
 */
export type Destination = { function: string } | { url: string; format?: 'lambda' | 'cloudevents' };

export interface EventRecord {
  /** The request id, also the function's context.requestId on every attempt. */
  id: string;
  /** `invoke`: run a function. `deliver`: POST a destination record to `url`. */
  kind: 'invoke' | 'deliver';
  /** invoke: the function to run; deliver: the function whose outcome is delivered. */
  functionName: string;
  /** As the caller gave it ('' = $LATEST); resolved again at each attempt. */
  qualifier: string;
  /** Events of one bucket share its concurrency: the function's name, or DELIVERY_BUCKET. */
  bucket: string;
  /** The event (invoke) or the destination record (deliver), as received. */
  body: Uint8Array;
  /** 0 JSON, 1 msgpack (runtime/protocol.ts's Encoding). */
  enc: 0 | 1;
  /** Where it came from: /v1, the Lambda API, POST /v1/events (a CloudEvent, an S3 notification's record), or a destination of another event. */
  source: 'v1' | 'lambda' | 'cloudevents' | 's3' | 'trigger' | 'destination';
  /**
   * How many destinations led to this event (absent: 0, a caller's event). A destination of an
   * event at MAX_CHAIN_DEPTH is not run but stored as a dead letter (ChainDepthExceeded), so a
   * cycle of destinations (A → B → A) ends, as Lambda's recursive loop detection ends one.
   */
  depth?: number;
  /** deliver: the URL to POST to. */
  url?: string;
  /** deliver: POST it as a CloudEvent in binary mode (core/events/cloudevents-out.ts), not as Lambda's record. */
  format?: 'cloudevents';
  /** Epoch ms when it was accepted. */
  enqueuedAt: number;
  /** Epoch ms of the last redrive; the event's age counts from here when set. */
  redrivenAt?: number;
  redrives: number;
  status: EventStatus;
  /** Epoch ms: when it may run (next). */
  nextAttemptAt: number;
  attempts: Attempt[];
  /** Failed attempts counted against maxRetries (since the last redrive). */
  retries: number;
  idempotencyKey?: string;
  condition?: EventCondition;
  /** Epoch ms, once succeeded or failed. */
  finishedAt?: number;
  /** Success: the result bytes (in `enc`), when small enough to keep. */
  result?: Uint8Array | null;
  resultTruncated?: boolean;
  /** Failed: the last attempt's error. */
  error?: AttemptError | null;
  /** The function's log lines over all attempts, the newest kept (bounded). */
  logs: LogLine[];
}

export interface EnqueueOptions {
  /** Refuse (TooManyRequests) when this many events are queued or running. */
  maxQueued: number;
  /** Refuse (TooManyRequests) when the payloads of queued and running events would pass this many bytes (none: no bound). */
  maxBytes?: number;
  /** With a key: a second event with the same key for the same function within the window is not queued. */
  idempotencyKey?: string;
  idempotencyWindowMs: number;
  /** sha256 of the body: the same key with another body is a Conflict. */
  bodyHash?: string;
}

export interface EnqueueResult {
  /** The event's id: the new one, or the first one's for a repeated idempotency key. */
  id: string;
  duplicate: boolean;
}

export interface QueueStats {
  /** Queued and running events (what maxQueued bounds). */
  pending: number;
  /** Events this process holds (running or taken). */
  held: number;
  /** Payload bytes of the queued and running events (what maxBytes bounds). */
  bytes: number;
  /** Dead letters this process removed because they passed their retention, since it started. */
  deadLettersExpired: number;
  /** Bytes the dead letters hold (deadLetterBytes of each; with Redis: across every replica). */
  deadLetterBytes: number;
  /** Dead letters this process removed to stay within the dead-letter byte bounds, since it started. */
  deadLettersDropped: number;
}

/**
 * The byte bounds on dead letters, enforced whenever one is stored: past `perFunction`, that
 * function's oldest go; past `total`, the oldest of the function holding the most bytes go (the
 * storing one on a tie). So one function's failures push out only its own dead letters until it
 * holds more than another, and the disk the dead letters take is bounded whoever fails.
 */
export interface DeadLetterBounds {
  total: number;
  perFunction: number;
}

export interface Queue {
  readonly kind: 'embedded' | 'redis';
  /** Opens the store; events a previous run (or a dead replica) held become runnable again. */
  open(): Promise<void>;
  /**
   * Stores a new event durably, then resolves. Throws QueueFull (TooManyRequests) when full,
   * Conflict for a repeated key with another body, BackendUnavailable when the store is gone.
   */
  enqueue(rec: EventRecord, opts: EnqueueOptions): Promise<EnqueueResult>;
  /**
   * Takes due events of buckets with free slots (at most `free(bucket)` each) and marks them
   * running (an open attempt appended). Resolves empty after at most `waitMs` when none is due.
   */
  take(free: (bucket: string) => number, waitMs: number): Promise<EventRecord[]>;
  /** Ends a take() that is waiting (a slot was freed, or the invoker stops). */
  wake(): void;
  /**
   * Stores an attempt's outcome (`rec` as updated: queued again with nextAttemptAt, succeeded or
   * failed) together with new events it causes (destinations), in one durable write. A follow-up
   * may itself be failed (a destination past the chain depth): it is stored as a dead letter.
   */
  settle(rec: EventRecord, followUps: EventRecord[]): Promise<void>;
  get(id: string): Promise<EventRecord | null>;
  /** Failed events of a function, oldest first. */
  deadLetters(functionName: string, limit: number): Promise<EventRecord[]>;
  /** A dead letter queued again with a fresh retry budget and age; null if it is not one of the function's. */
  redrive(functionName: string, id: string, now: number): Promise<EventRecord | null>;
  /** Forgets a dead letter; false if it is not one of the function's. */
  discard(functionName: string, id: string): Promise<boolean>;
  stats(): Promise<QueueStats>;
  /** After the invoker stopped: flushes and closes. */
  close(): Promise<void>;
}

/** The bucket of URL deliveries (their own concurrency, apart from any function's). */
export const DELIVERY_BUCKET = '#deliveries';

/** Lines and bytes of log text kept on one event's record, newest first to go when over. */
export const MAX_EVENT_LOG_LINES = 200;
export const MAX_EVENT_LOG_BYTES = 32 * 1024;
/** Results larger than this are not kept on the record (resultTruncated). */
export const MAX_EVENT_RESULT_BYTES = 64 * 1024;
/** Destinations in a row at most (Lambda stops a recursive loop after 16 invocations). */
export const MAX_CHAIN_DEPTH = 16;
/** Dead letters are kept this long by default: SQS's longest retention. */
export const DEFAULT_DEAD_LETTER_RETENTION_MS = 14 * 24 * 60 * 60 * 1000;
/** Bytes all dead letters hold at most by default (--async-dead-letter-max-bytes). */
export const DEFAULT_DEAD_LETTER_MAX_BYTES = 1024 * 1024 * 1024;
/** Bytes one function's dead letters hold at most by default (--async-dead-letter-max-bytes-per-function). */
export const DEFAULT_DEAD_LETTER_MAX_BYTES_PER_FUNCTION = 256 * 1024 * 1024;
export const DEFAULT_DEAD_LETTER_BOUNDS: DeadLetterBounds = { total: DEFAULT_DEAD_LETTER_MAX_BYTES, perFunction: DEFAULT_DEAD_LETTER_MAX_BYTES_PER_FUNCTION };
/** What a refused enqueue suggests as Retry-After: the queue drains as events run. */
const QUEUE_FULL_RETRY_AFTER_S = 1;

/**
 * The queue cannot take the event: too many events, or too many payload bytes, are queued or
 * running. 429 (Lambda's TooManyRequestsException, which SDKs retry with backoff), as the count
 * bound always answered: the caller should come back once the queue has drained, which it does on
 * its own as events run; nothing is wrong with the request or with Hearth.
 */
export class QueueFull extends HearthError {
  constructor(readonly limit: 'events' | 'bytes', message: string) {
    super('TooManyRequests', message, { retryAfterS: QUEUE_FULL_RETRY_AFTER_S });
  }
}

/** The sweep interval for records kept `retentionMs`: often enough that they go near their time, at most every 30 s. */
export function sweepInterval(...retentionMs: number[]): number {
  return Math.max(250, Math.min(30_000, Math.floor(Math.min(...retentionMs) / 4)));
}

/**
 * What a dead letter counts against the dead-letter byte bounds: its payload plus the rest of its
 * record as JSON (error, logs, attempts: bounded, but not nothing). Computed once, when it is
 * stored, and kept beside it (LMDB: the index key's value; Redis: a hash), so enforcing the bounds
 * never reads a payload.
 */
export function deadLetterBytes(rec: EventRecord): number {
  return rec.body.byteLength + (rec.result?.byteLength ?? 0) + Buffer.byteLength(JSON.stringify({ ...rec, body: null, result: null }));
}

/**
 * Logs dead letters removed past the byte bounds at most once every 10 s (with the count since the
 * last line): a function failing hundreds of times a second must not become a log flood as well.
 */
export class DeadLetterDropLog {
  private pending = 0;
  private readonly functions = new Set<string>();
  private lastAt = 0;

  note(count: number, functions: Iterable<string>): void {
    this.pending += count;
    for (const fn of functions) if (this.functions.size < 20) this.functions.add(fn);
    const now = Date.now();
    if (now - this.lastAt < 10_000) return;
    this.lastAt = now;
    log.warn({ deadLetters: this.pending, functions: [...this.functions] }, 'async dead letters removed to stay within --async-dead-letter-max-bytes(-per-function) (hearth_async_dead_letters_dropped_total)');
    this.pending = 0;
    this.functions.clear();
  }
}

export function isTerminal(status: EventStatus): boolean {
  return status === 'succeeded' || status === 'failed';
}

/** The time an event's age counts from. */
export function ageStart(rec: EventRecord): number {
  return rec.redrivenAt ?? rec.enqueuedAt;
}

/**
 * An event taken again after its holder stopped mid-attempt: the open attempt is closed as
 * interrupted (not a retry), and a new one starts.
 */
export function closeInterrupted(rec: EventRecord, now: number, why: string): void {
  const last = rec.attempts[rec.attempts.length - 1];
  if (last && last.endedAt === null) {
    last.endedAt = now;
    last.interrupted = true;
    last.error = { errorType: 'Interrupted', errorMessage: why };
  }
}

/** Marks a record taken: status running, a new open attempt. */
export function startAttempt(rec: EventRecord, now: number): void {
  rec.status = 'running';
  rec.attempts.push({ startedAt: now, endedAt: null, version: null, durationMs: null, error: null });
}

/** Redrive: queued again, now, with a fresh retry budget and age. */
export function redriven(rec: EventRecord, now: number): void {
  rec.status = 'queued';
  rec.nextAttemptAt = now;
  rec.retries = 0;
  rec.redrivenAt = now;
  rec.redrives++;
  delete rec.condition;
  delete rec.finishedAt;
}
