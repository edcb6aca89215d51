// Async (Event) invocation: accepts events into the durable queue, and runs them.
//
// Accept: the caller (HTTP front end, Lambda API) has checked the function, the payload size and
// its encoding; enqueue() resolves once the queue has the event on disk, and only then is the 202
// written.
//
// Run: one loop takes due events of the functions with free async slots (spec asyncConcurrency,
// else --async-concurrency) and runs each through the dispatcher like any call, with the event's
// id as its request id on every attempt. After an attempt, policy.ts decides (done, retry later,
// or failed: a dead letter), and the outcome, with the destination events it causes, is written
// durably in one step before the slot is freed. An event that succeeded is therefore never taken
// again; one that was running when Hearth died is taken again after the restart (it may have run:
// at-least-once).
//
// Drain: stop taking events, let the running ones finish within the deadline; the rest stay queued.
//
// Destinations are bounded twice over: a destination record is never larger than an Event payload
// may be (what does not fit is left out and flagged), and a chain of destinations ends at
// MAX_CHAIN_DEPTH (its next event is stored as a dead letter, ChainDepthExceeded), so a cycle
// (A's onSuccess is B, B's is A) neither runs forever nor nests payloads.

import { createHash, randomUUID } from 'node:crypto';
import { unpack } from 'msgpackr';
import { CONTENT_TYPES } from '../../runtime/protocol.js';
import type { FunctionVersion } from '../backend.js';
import type { Config } from '../config.js';
import { newCall, type CallRequest, type LogLine } from '../call.js';
import type { Dispatcher } from '../dispatcher.js';
import { EgressPolicy, hostFetch } from '../egress.js';
import { ErrorKinds, FetchFailure, HearthError, toHearthError } from '../errors.js';
import { log } from '../log.js';
import type { InvocationRecords } from '../records.js';
import type { Metrics } from '../metrics.js';
import type { Catalog } from '../registry/index.js';
import { binaryCloudEvent } from '../events/cloudevents-out.js';
import { decide, type RetryPolicy } from './policy.js';
import {
  ageStart, DELIVERY_BUCKET, MAX_CHAIN_DEPTH, MAX_EVENT_LOG_BYTES, MAX_EVENT_LOG_LINES, MAX_EVENT_RESULT_BYTES, QueueFull,
  type AttemptError, type Destination, type EnqueueResult, type EventCondition, type EventRecord, type Queue,
} from './queue.js';

export interface AsyncSettings {
  /** Queued + running events, at most (then 429). */
  maxQueued: number;
  /** Payload bytes of queued + running events, at most (then 429). */
  maxQueuedBytes: number;
  /** The largest Event payload (eventBodyLimit): a destination record is cut to fit it. */
  maxEventBytes: number;
  /** Default per-function concurrency of async events (spec asyncConcurrency overrides). */
  concurrency: number;
  idempotencyWindowMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** Largest response a URL destination may answer with (it is read and dropped). */
  maxFetchBytes: number;
}

/** Lambda's defaults: two retries, events up to six hours old. */
export const DEFAULT_MAX_RETRIES = 2;
export const DEFAULT_MAX_EVENT_AGE_MS = 6 * 60 * 60 * 1000;
/** URL deliveries: concurrency, retries, and how long one POST may take. */
const DELIVERY_CONCURRENCY = 8;
const DELIVERY_MAX_RETRIES = 3;
const DELIVERY_TIMEOUT_MS = 10_000;
/** How long one take() may wait for an event before the loop looks again. */
const TAKE_WAIT_MS = 1_000;

/** An Idempotency-Key: 1-255 visible ASCII characters. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** What is wrong with an Event's Idempotency-Key header ('' is none), or null. Every entry that queues events checks with this. */
export function badIdempotencyKey(key: string): HearthError | null {
  return key === '' || IDEMPOTENCY_KEY.test(key) ? null : new HearthError('InvalidRequestContent', 'Idempotency-Key must be 1-255 visible ASCII characters');
}

/** The largest Event payload: --async-max-body-bytes (Lambda's async limit), never more than --max-body-bytes. */
export function eventBodyLimit(c: Pick<Config, 'maxBodyBytes' | 'asyncMaxBodyBytes'>): number {
  return Math.min(c.asyncMaxBodyBytes, c.maxBodyBytes);
}

export interface NewEvent {
  fn: FunctionVersion;
  /** As the caller gave it ('' = $LATEST): each attempt resolves it again. */
  qualifier: string;
  body: ArrayBuffer;
  enc: 0 | 1;
  source: 'v1' | 'lambda' | 'cloudevents' | 's3' | 'trigger';
  requestId: string;
  idempotencyKey?: string;
  /**
   * What a repeat of the idempotency key must match (default: the body's sha256; another body is
   * then a Conflict). A CloudEvent's key is its source and id, which name the event whatever its
   * body: its sender passes the key's own hash, so any repeat is a duplicate.
   */
  sameAs?: string;
}

export class AsyncInvoker {
  /** bucket → events running. */
  private readonly running = new Map<string, number>();
  /** id → the record of an event running here (its freshest state). */
  private readonly live = new Map<string, EventRecord>();
  /** id → the write of an attempt's outcome in progress (the live record already shows it). */
  private readonly settling = new Map<string, Promise<void>>();
  private stopping = false;
  private loopDone: Promise<void> = Promise.resolve();
  private idleWaiters: (() => void)[] = [];

  constructor(
    readonly queue: Queue,
    private readonly catalog: Catalog,
    private readonly dispatcher: Dispatcher,
    private readonly records: InvocationRecords,
    private readonly s: AsyncSettings,
    private readonly metrics: Metrics | null = null,
  ) {}

  start(): void {
    this.loopDone = this.loop();
  }

  /** Stores the event durably; resolves with its id (the first one's for a repeated Idempotency-Key). */
  async enqueue(e: NewEvent): Promise<EnqueueResult> {
    const now = Date.now();
    const body = new Uint8Array(e.body);
    const rec: EventRecord = {
      id: e.requestId, kind: 'invoke', functionName: e.fn.name, qualifier: e.qualifier, bucket: e.fn.name,
      body, enc: e.enc, source: e.source, enqueuedAt: now, redrives: 0, status: 'queued', nextAttemptAt: now,
      attempts: [], retries: 0, logs: [],
      ...(e.idempotencyKey !== undefined ? { idempotencyKey: e.idempotencyKey } : {}),
    };
    let r: EnqueueResult;
    try {
      r = await this.queue.enqueue(rec, {
        maxQueued: this.s.maxQueued, maxBytes: this.s.maxQueuedBytes, idempotencyWindowMs: this.s.idempotencyWindowMs,
        ...(e.idempotencyKey !== undefined ? { idempotencyKey: e.idempotencyKey, bodyHash: e.sameAs ?? createHash('sha256').update(body).digest('hex') } : {}),
      });
    } catch (err) {
      if (err instanceof QueueFull) this.metrics?.asyncRefused(err.limit);
      throw err;
    }
    if (!r.duplicate) this.metrics?.asyncEnqueued(rec.functionName);
    return r;
  }

  /** The record of an async event (null: not one), as GET /v1/invocations/{id} shows it. */
  async view(id: string): Promise<Record<string, unknown> | null> {
    // An outcome being written is shown once it is stored, never before: a caller that sees
    // "failed" finds the dead letter, and the queue's figures no longer count the event.
    const settling = this.settling.get(id);
    if (settling) {
      await settling.catch(() => undefined);
      const stored = await this.queue.get(id);
      return stored ? eventView(stored, []) : null;
    }
    const live = this.live.get(id);
    const rec = live ?? await this.queue.get(id);
    if (!rec) return null;
    // While it runs here, the lines written so far are on the in-memory invocation record.
    const running = live ? this.records.logsOf(id) : [];
    return eventView(rec, running);
  }

  async deadLetters(functionName: string, limit: number): Promise<Record<string, unknown>[]> {
    return (await this.queue.deadLetters(functionName, limit)).map((r) => eventView(r, []));
  }

  async redrive(functionName: string, id: string): Promise<Record<string, unknown> | null> {
    const rec = await this.queue.redrive(functionName, id, Date.now());
    return rec ? eventView(rec, []) : null;
  }

  /** Stop taking events; wait (up to the deadline) for the running ones. The rest stay queued. */
  async stop(deadlineMs: number): Promise<void> {
    this.stopping = true;
    this.queue.wake();
    const deadline = performance.now() + deadlineMs;
    await Promise.race([this.loopDone, sleep(deadlineMs)]);
    while (this.live.size > 0 && performance.now() < deadline) {
      await Promise.race([new Promise<void>((r) => this.idleWaiters.push(r)), sleep(Math.max(0, deadline - performance.now()))]);
    }
    if (this.live.size > 0) log.warn({ running: this.live.size }, 'drain deadline reached with async events running: they run again on the next start (or on another replica)');
    else log.info('async events: none running');
  }

  // ---- running events -----------------------------------------------------------------------

  private async loop(): Promise<void> {
    while (!this.stopping) {
      let taken: EventRecord[];
      try {
        taken = await this.queue.take(this.free, TAKE_WAIT_MS);
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'could not take async events from the queue; trying again');
        await sleep(500);
        continue;
      }
      for (const rec of taken) void this.run(rec);
    }
  }

  private readonly free = (bucket: string): number => {
    if (this.stopping) return 0;
    return this.limit(bucket) - (this.running.get(bucket) ?? 0);
  };

  private limit(bucket: string): number {
    if (bucket === DELIVERY_BUCKET) return DELIVERY_CONCURRENCY;
    // A deleted function's events still run (and fail, NotRetryable), one at a time.
    if (!this.catalog.has(bucket)) return 1;
    return this.catalog.resolve(bucket, '').spec.asyncConcurrency ?? this.s.concurrency;
  }

  private async run(rec: EventRecord): Promise<void> {
    this.running.set(rec.bucket, (this.running.get(rec.bucket) ?? 0) + 1);
    this.live.set(rec.id, rec);
    const attempt = rec.attempts[rec.attempts.length - 1]!;
    if (rec.kind === 'invoke') this.metrics?.asyncAttemptStarted(rec.functionName, attempt.startedAt - rec.enqueuedAt);
    const started = performance.now();
    let error: AttemptError | null = null;
    let result: Uint8Array | null = null;
    let fn: FunctionVersion | null = null;
    try {
      if (rec.kind === 'deliver') {
        await this.deliver(rec);
      } else {
        fn = this.catalog.resolve(rec.functionName, rec.qualifier);
        const out = await this.dispatcher.run(fn, attemptCall(rec, fn));
        attempt.version = out.version;
        if (out.error) {
          const { errorType, errorMessage, stackTrace, functionError } = out.error;
          error = { errorType, errorMessage, functionError, ...(stackTrace ? { stackTrace: [...stackTrace] } : {}) };
        } else if (out.result) {
          result = new Uint8Array(out.result.slice(0));
        }
        keepLogs(rec, this.records.logsOf(rec.id));
      }
    } catch (err) {
      const e = toHearthError(err);
      error = { errorType: e.errorType, errorMessage: e.message, functionError: e.functionError };
    }
    const now = Date.now();
    attempt.endedAt = now;
    attempt.durationMs = Math.round((performance.now() - started) * 1000) / 1000;
    attempt.error = error;
    const policy = this.policyFor(rec, fn);
    const d = decide({ error, retries: rec.retries, attempts: rec.attempts.filter((a) => !a.interrupted).length, ageStart: ageStart(rec), now }, policy);
    let followUps: EventRecord[] = [];
    if (d.action === 'retry') {
      rec.status = 'queued';
      rec.retries = d.retries;
      rec.nextAttemptAt = now + d.delayMs;
    } else {
      rec.status = d.action === 'succeed' ? 'succeeded' : 'failed';
      rec.condition = d.condition;
      rec.finishedAt = now;
      rec.error = error;
      if (result !== null && result.byteLength > MAX_EVENT_RESULT_BYTES) rec.resultTruncated = true;
      else rec.result = result;
      if (rec.kind === 'invoke') followUps = this.destinations(rec, fn, d.condition, now);
    }
    this.metrics?.asyncAttempt(rec.functionName, rec.kind === 'deliver', rec.status === 'queued' ? 'retried' : rec.status === 'succeeded' ? 'succeeded' : 'failed');
    const settled = this.queue.settle(rec, followUps);
    this.settling.set(rec.id, settled);
    try {
      await settled;
    } catch (err) {
      // Not stored: the queue still has it as running, so it runs again after a restart (or on
      // another replica once this one's hold lapses). Nothing better is safe here.
      log.error({ err: (err as Error).message, requestId: rec.id }, 'could not store the outcome of an async event');
    } finally {
      const n = (this.running.get(rec.bucket) ?? 1) - 1;
      if (n === 0) this.running.delete(rec.bucket);
      else this.running.set(rec.bucket, n);
      this.live.delete(rec.id);
      this.settling.delete(rec.id);
      this.queue.wake();
      if (this.live.size === 0) for (const w of this.idleWaiters.splice(0)) w();
    }
    if (rec.status === 'failed') {
      log.warn({ function: rec.functionName, requestId: rec.id, condition: rec.condition, errorType: error?.errorType }, rec.kind === 'deliver' ? 'destination delivery failed: dead letter' : 'async event failed: dead letter');
    }
  }

  private policyFor(rec: EventRecord, fn: FunctionVersion | null): RetryPolicy {
    const base = { baseDelayMs: this.s.retryBaseMs, maxDelayMs: this.s.retryMaxMs };
    if (rec.kind === 'deliver') return { ...base, maxRetries: DELIVERY_MAX_RETRIES, maxEventAgeMs: DEFAULT_MAX_EVENT_AGE_MS };
    return { ...base, maxRetries: fn?.spec.maxRetries ?? DEFAULT_MAX_RETRIES, maxEventAgeMs: fn?.spec.maxEventAgeMs ?? DEFAULT_MAX_EVENT_AGE_MS };
  }

  /**
   * The destination events an outcome causes (Lambda's destination record as their payload, at
   * most maxEventBytes). One past MAX_CHAIN_DEPTH is stored as a dead letter instead of queued:
   * the chain ends there, on record (the destination function's dead letters, or for a URL the
   * reporting function's), and counted.
   */
  private destinations(rec: EventRecord, fn: FunctionVersion | null, condition: EventCondition, now: number): EventRecord[] {
    const to: Destination | undefined = condition === 'Success' ? fn?.spec.onSuccess : fn?.spec.onFailure;
    if (!to) return [];
    const body = new TextEncoder().encode(destinationRecordJson(rec, condition, this.s.maxEventBytes));
    const depth = (rec.depth ?? 0) + 1;
    const base: Omit<EventRecord, 'kind' | 'functionName' | 'bucket'> = {
      id: randomUUID(), body, enc: 0 as const, source: 'destination' as const, enqueuedAt: now, redrives: 0,
      status: 'queued' as const, nextAttemptAt: now, attempts: [], retries: 0, logs: [], qualifier: '', depth,
    };
    if (depth > MAX_CHAIN_DEPTH) {
      Object.assign(base, {
        status: 'failed', condition: 'ChainDepthExceeded', finishedAt: now,
        error: {
          errorType: 'DestinationChainTooDeep',
          errorMessage: `not run: ${MAX_CHAIN_DEPTH} destinations in a row led to this event (from ${rec.functionName}'s ${condition === 'Success' ? 'onSuccess' : 'onFailure'}); a chain of destinations stops there, as a cycle of them would never end`,
        },
      });
      this.metrics?.asyncChainStopped(rec.functionName);
      log.warn({ function: rec.functionName, requestId: rec.id, depth: MAX_CHAIN_DEPTH }, 'a chain of async destinations reached its depth limit: its next event is a dead letter, not run');
    }
    if ('function' in to) return [{ ...base, kind: 'invoke', functionName: to.function, bucket: to.function }];
    return [{ ...base, kind: 'deliver', functionName: rec.functionName, bucket: DELIVERY_BUCKET, url: to.url, ...(to.format === 'cloudevents' ? { format: 'cloudevents' as const } : {}) }];
  }

  /**
   * POSTs a destination record to its URL, under the egress policy of the function it reports on
   * (the URL must be in its egress.allow, checked at deploy and again here on every redirect hop).
   */
  private async deliver(rec: EventRecord): Promise<void> {
    const source = this.catalog.resolve(rec.functionName, '');
    const policy = new EgressPolicy(source.spec.egress.allow);
    let status: number;
    let message: { headers: string[]; body: Uint8Array };
    try {
      message = rec.format === 'cloudevents' ? binaryCloudEvent(rec.id, rec.functionName, rec.body) : { headers: ['content-type', 'application/json'], body: rec.body };
    } catch (err) {
      // The SDK refused the event it was to make: a failed delivery on record, as a refused POST is.
      throw new HearthError('Unhandled', `the CloudEvent for ${rec.url} could not be made: ${(err as Error).message}`, { errorType: 'DestinationFailed' });
    }
    const { headers, body } = message;
    try {
      const res = await hostFetch(policy, {
        method: 'POST', url: rec.url!, body, redirect: 'follow',
        headers: [...headers, 'x-hearth-delivery-id', rec.id],
      }, { deadline: Date.now() + DELIVERY_TIMEOUT_MS, maxResponseBytes: this.s.maxFetchBytes });
      status = res.status;
    } catch (err) {
      throw new HearthError('Unhandled', `POST ${rec.url}: ${err instanceof FetchFailure ? err.message : (err as Error).message}`, { errorType: 'DestinationFailed' });
    }
    if (status < 200 || status > 299) throw new HearthError('Unhandled', `POST ${rec.url} answered ${status}`, { errorType: 'DestinationFailed' });
  }
}

/** One attempt as a call for the dispatcher (parse): the event's bytes in a fresh buffer (it may be transferred). */
function attemptCall(rec: EventRecord, fn: FunctionVersion): CallRequest {
  return newCall({
    requestId: rec.id, functionName: fn.name, qualifier: rec.qualifier, source: 'async',
    body: new Uint8Array(rec.body).slice().buffer as ArrayBuffer, reqEnc: rec.enc, resEnc: rec.enc,
  });
}

/** Appends an attempt's log lines to the record, keeping the newest within the bounds. */
function keepLogs(rec: EventRecord, lines: readonly LogLine[]): void {
  if (lines.length === 0) return;
  rec.logs.push(...lines.map((l) => ({ time: l.time, requestId: l.requestId, stream: l.stream, message: l.message })));
  let bytes = rec.logs.reduce((n, l) => n + l.message.length, 0);
  let drop = Math.max(0, rec.logs.length - MAX_EVENT_LOG_LINES);
  for (let i = 0; i < drop; i++) bytes -= rec.logs[i]!.message.length;
  while (bytes > MAX_EVENT_LOG_BYTES && drop < rec.logs.length - 1) bytes -= rec.logs[drop++]!.message.length;
  if (drop > 0) rec.logs.splice(0, drop);
}

/** Event bytes → a JSON value for views and destination records (msgpack decoded; else base64). */
function payloadValue(bytes: Uint8Array | null | undefined, enc: 0 | 1): unknown {
  if (!bytes) return null;
  try {
    const value: unknown = enc === 0 ? JSON.parse(Buffer.from(bytes).toString('utf8')) : unpack(Buffer.from(bytes));
    // A payload nested past what JSON.stringify's recursion takes (a hostile caller's, ~10,000
    // levels; it cannot be that deep in fewer bytes) would make the view or the destination record
    // that carries it fail to be written: it is shown as bytes instead.
    if (bytes.byteLength >= DEEP_CHECK_BYTES && !writable(value)) throw new RangeError('too deep');
    return value;
  } catch {
    return { base64: Buffer.from(bytes).toString('base64') };
  }
}

/** Payloads this small cannot nest deep enough to overflow JSON.stringify's recursion. */
const DEEP_CHECK_BYTES = 8 * 1024;

function writable(value: unknown): boolean {
  try {
    JSON.stringify(value);
    return true;
  } catch {
    return false;
  }
}

/**
 * The destination record as JSON of at most `maxBytes` (an Event payload's limit; the result is
 * already at most MAX_EVENT_RESULT_BYTES): what does not fit is left out, the request payload
 * first (the receiver's own event history, which a chain would otherwise nest), then the response
 * payload, each replaced by null and flagged (`requestPayloadTruncated`, `responsePayloadTruncated`).
 */
export function destinationRecordJson(rec: EventRecord, condition: EventCondition, maxBytes: number): string {
  const record = destinationRecord(rec, condition);
  let json = JSON.stringify(record);
  if (Buffer.byteLength(json) <= maxBytes) return json;
  record.requestPayload = null;
  record.requestPayloadTruncated = true;
  json = JSON.stringify(record);
  if (Buffer.byteLength(json) <= maxBytes) return json;
  record.responsePayload = null;
  record.responsePayloadTruncated = true;
  return JSON.stringify(record);
}

/** Lambda's destination record (invocation record) for an event's outcome. */
export function destinationRecord(rec: EventRecord, condition: EventCondition): Record<string, unknown> {
  const last = [...rec.attempts].reverse().find((a) => !a.interrupted);
  const version = last?.version ?? '$LATEST';
  const err = rec.error;
  return {
    version: '1.0',
    timestamp: new Date(rec.finishedAt ?? Date.now()).toISOString(),
    requestContext: {
      requestId: rec.id,
      functionArn: `arn:hearth:lambda:local:000000000000:function:${rec.functionName}:${version}`,
      condition,
      approximateInvokeCount: rec.attempts.filter((a) => !a.interrupted).length,
    },
    requestPayload: payloadValue(rec.body, rec.enc),
    responseContext: {
      statusCode: err && !err.functionError ? statusOf(err.errorType) : 200,
      executedVersion: version,
      ...(err?.functionError ? { functionError: 'Unhandled' } : {}),
    },
    responsePayload: err
      ? { errorType: err.errorType, errorMessage: err.errorMessage, ...(err.stackTrace ? { stackTrace: err.stackTrace } : {}) }
      : payloadValue(rec.result, rec.enc),
    // A result past MAX_EVENT_RESULT_BYTES is not kept on the record, so it cannot be passed on.
    ...(!err && rec.resultTruncated ? { responsePayloadTruncated: true } : {}),
  };
}

function statusOf(errorType: string): number {
  return (ErrorKinds as Record<string, number>)[errorType] ?? 500;
}

/** The JSON view of an async event. */
export function eventView(rec: EventRecord, runningLogs: readonly LogLine[]): Record<string, unknown> {
  const view: Record<string, unknown> = {
    requestId: rec.id,
    functionName: rec.functionName,
    invocationType: rec.kind === 'deliver' ? 'Delivery' : 'Event',
    status: rec.status,
    source: rec.source,
    qualifier: rec.qualifier || '$LATEST',
    enqueuedAt: new Date(rec.enqueuedAt).toISOString(),
    attempts: rec.attempts.map((a) => ({
      startedAt: new Date(a.startedAt).toISOString(),
      endedAt: a.endedAt === null ? null : new Date(a.endedAt).toISOString(),
      version: a.version, durationMs: a.durationMs, error: a.error,
      ...(a.interrupted ? { interrupted: true } : {}),
    })),
    retries: rec.retries,
    logs: runningLogs.length > 0 ? [...rec.logs, ...runningLogs] : rec.logs,
  };
  if (rec.status === 'queued' && rec.attempts.length > 0) view.nextAttemptAt = new Date(rec.nextAttemptAt).toISOString();
  if (rec.url) view.url = rec.url;
  if (rec.depth !== undefined) view.depth = rec.depth;
  if (rec.idempotencyKey !== undefined) view.idempotencyKey = rec.idempotencyKey;
  if (rec.redrives > 0) view.redrives = rec.redrives;
  if (rec.condition) view.condition = rec.condition;
  if (rec.finishedAt) view.finishedAt = new Date(rec.finishedAt).toISOString();
  if (rec.status === 'failed') view.deadLetter = true;
  if (rec.error) view.error = rec.error;
  if (rec.status === 'succeeded') {
    if (rec.resultTruncated) view.resultTruncated = true;
    else if (rec.result) {
      if (rec.enc === 0) view.result = payloadValue(rec.result, 0);
      else view.resultBase64 = Buffer.from(rec.result).toString('base64');
      view.resultEncoding = CONTENT_TYPES[rec.enc];
    }
  }
  return view;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
