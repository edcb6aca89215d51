// Invocation records: what GET /v1/invocations/{id} shows of a sync call (async events keep
// theirs in the queue), the newest --invocation-retention of them. A record opens when a call is
// dispatched, gathers the call's log lines as they are written, and closes with its outcome.

import { LRUCache } from 'lru-cache';
import { CONTENT_TYPES, type EncodingCode } from '../runtime/protocol.js';
import type { FunctionVersion } from './backend.js';
import type { CallError, CallOutcome, CallRequest, CallSource, LogLine, ScheduleTick, WebResponse } from './call.js';

/** Lines and bytes kept on one invocation's record (the function's ring keeps its own). */
const MAX_LINES_PER_INVOCATION = 1_000;
const MAX_BYTES_PER_INVOCATION = 64 * 1024;
/** Results larger than this are answered but not kept on the invocation record. */
const MAX_KEPT_RESULT = 64 * 1024;
/** What a kept line costs against the records' total besides its text (the LogLine object). */
const LINE_OVERHEAD = 64;

/**
 * What the management API shows of one call (GET /v1/invocations/{id}): facts of the request,
 * then of its outcome, and its log lines. Made and written only here (open, attach, close): the
 * request and the outcome are not kept (a request's body would be, and a large result).
 */
interface RecordState {
  readonly requestId: string;
  readonly functionName: string;
  readonly source: CallSource;
  readonly startedAtEpoch: number;
  readonly resEnc: EncodingCode;
  /** A web call's method and URL. */
  readonly web: { readonly method: string; readonly url: string } | null;
  readonly schedule: ScheduleTick | null;
  version: string;
  status: 'running' | 'succeeded' | 'failed';
  cold: boolean;
  queueMs: number;
  initMs: number;
  durationMs: number;
  error: CallError | null;
  response: WebResponse | null;
  /** The result bytes, when small (MAX_KEPT_RESULT). */
  result: ArrayBuffer | null;
  logs: LogLine[] | null;
  /** Bytes of log text on `logs` (bounded per invocation). */
  logBytes: number;
  /** What `logs` costs against the records' total (text plus LINE_OVERHEAD a line). */
  heldBytes: number;
  /** The record's lines were taken to keep the records' total bound (the oldest records' go first). */
  logsDropped: boolean;
}

export type InvocationRecord = Readonly<RecordState>;

export class InvocationRecords {
  private readonly records: LRUCache<string, RecordState>;
  /**
   * Records of calls still running that the newest `retention` pushed out: kept until the call
   * ends, so its log lines still attach and its log tail and an async attempt's lines are whole
   * (bounded by the calls in flight).
   */
  private readonly evictedRunning = new Map<string, RecordState>();

  /** Log text (plus LINE_OVERHEAD a line) all records hold, at most `maxLogBytes`. */
  private held = 0;
  /** Log text not kept: past a record's own bound, or taken from the oldest records for the total. */
  droppedLogBytes = 0;
  /** Records holding lines, oldest first (entries whose lines are gone are skipped). */
  private holders: RecordState[] = [];
  private holdersHead = 0;

  /**
   * `maxLogBytes`: log text all records hold together. Each keeps 64 KiB at most, so 10,000 records
   * could hold 640 MiB; past the total, the oldest records give up their lines first (issue 15).
   */
  constructor(retention: number, private readonly maxLogBytes = 64 * 1024 * 1024) {
    this.records = new LRUCache<string, RecordState>({
      max: retention,
      dispose: (rec, id, reason) => {
        if (reason === 'evict' && rec.status === 'running') this.evictedRunning.set(id, rec);
        else this.release(rec);
      },
    });
  }

  /** Log text (plus a line's overhead) all records hold now. */
  get logBytes(): number {
    return this.held;
  }

  /** A running call's record (its log lines attach to it from now on). */
  open(req: CallRequest, fn: FunctionVersion): InvocationRecord {
    const rec: RecordState = {
      requestId: req.requestId, functionName: req.functionName, source: req.source, startedAtEpoch: req.startedAtEpoch,
      resEnc: req.resEnc, web: req.web === null ? null : { method: req.web.method, url: req.web.url }, schedule: req.schedule,
      version: fn.version, status: 'running', cold: false, queueMs: 0, initMs: 0, durationMs: 0,
      error: null, response: null, result: null, logs: null, logBytes: 0, heldBytes: 0, logsDropped: false,
    };
    this.records.set(req.requestId, rec);
    return rec;
  }

  /** The call ended: what happened goes on its record (a large result is answered, not kept). */
  close(record: InvocationRecord, out: CallOutcome): void {
    const rec = record as RecordState;
    if (this.evictedRunning.size > 0 && this.evictedRunning.get(rec.requestId) === rec) {
      // Kept until the caller that awaits this outcome has read the call's lines (the log tail it
      // answers with, an async attempt's record): it does so in the microtasks right after.
      setImmediate(() => {
        if (this.evictedRunning.get(rec.requestId) === rec) {
          this.evictedRunning.delete(rec.requestId);
          this.release(rec);
        }
      });
    }
    rec.version = out.version;
    rec.status = out.error === null ? 'succeeded' : 'failed';
    rec.cold = out.cold;
    rec.queueMs = out.queueMs;
    rec.initMs = out.initMs;
    rec.durationMs = out.durationMs;
    rec.error = out.error;
    rec.response = out.response;
    rec.result = out.result !== null && out.result.byteLength <= MAX_KEPT_RESULT ? out.result : null;
  }

  get(requestId: string): InvocationRecord | undefined {
    return this.records.get(requestId);
  }

  /** A call's log lines so far (the X-Hearth-Log-Type: Tail answer, an async attempt's lines). */
  logsOf(requestId: string): readonly LogLine[] {
    return this.find(requestId)?.logs ?? [];
  }

  private find(requestId: string): RecordState | undefined {
    return this.records.peek(requestId) ?? (this.evictedRunning.size > 0 ? this.evictedRunning.get(requestId) : undefined);
  }

  /**
   * Attach a line to the invocation that wrote it, if it is still on record (or still running).
   * `notice`: Hearth's own line about the call, kept past the record's line and byte bounds.
   */
  attach(line: LogLine, notice = false): void {
    const rec = this.find(line.requestId);
    if (!rec) return;
    const bytes = rec.logBytes + line.message.length;
    // A notice (Hearth's line on what a log limit dropped) is kept past the record's own bound.
    if (!notice && (rec.logsDropped || (rec.logs !== null && rec.logs.length >= MAX_LINES_PER_INVOCATION) || bytes > MAX_BYTES_PER_INVOCATION)) {
      this.droppedLogBytes += line.message.length;
      return;
    }
    if (rec.logs === null) {
      rec.logs = [];
      this.holders.push(rec);
    }
    rec.logs.push(line);
    rec.logBytes = bytes;
    const cost = line.message.length + LINE_OVERHEAD;
    rec.heldBytes += cost;
    this.held += cost;
    if (this.held > this.maxLogBytes) this.shed(rec);
    // Records that left the cache gave up their lines: their places at the head of the queue go.
    while (this.holdersHead < this.holders.length - 1 && this.holders[this.holdersHead]!.heldBytes === 0) this.holdersHead++;
    if (this.holdersHead > 1024 && this.holdersHead * 2 > this.holders.length) {
      this.holders = this.holders.slice(this.holdersHead);
      this.holdersHead = 0;
    }
  }

  /** The records' total is past its bound: the oldest records give up their lines (not `keep`'s). */
  private shed(keep: RecordState): void {
    while (this.held > this.maxLogBytes && this.holdersHead < this.holders.length) {
      const rec = this.holders[this.holdersHead]!;
      if (rec === keep) break; // the newest record alone is over: its own 64 KiB bound holds it
      this.holdersHead++;
      if (rec.heldBytes === 0) continue;
      this.droppedLogBytes += rec.logBytes;
      this.release(rec);
      rec.logsDropped = true;
    }
  }

  /** A record leaves (or gives up its lines): what it held goes from the total. */
  private release(rec: RecordState): void {
    this.held -= rec.heldBytes;
    rec.heldBytes = 0;
    rec.logs = rec.logs === null ? null : [];
    rec.logBytes = 0;
  }
}

/** The JSON view of an invocation record. */
export function invocationView(rec: InvocationRecord): Record<string, unknown> {
  const view: Record<string, unknown> = {
    requestId: rec.requestId,
    functionName: rec.functionName,
    version: rec.version,
    status: rec.status,
    invocationType: rec.web ? 'Web' : rec.schedule ? 'Timer' : 'RequestResponse',
    startedAt: new Date(rec.startedAtEpoch).toISOString(),
    cold: rec.cold,
    timings: { queueMs: round(rec.queueMs), initMs: round(rec.initMs), durationMs: round(rec.durationMs) },
    logs: rec.logs ?? [],
  };
  if (rec.logsDropped) view.logsDropped = 'the lines of the oldest records were dropped to keep the records\' log bytes within --record-log-bytes';
  if (rec.error) view.error = { errorType: rec.error.errorType, errorMessage: rec.error.errorMessage, stackTrace: rec.error.stackTrace };
  if (rec.web) view.request = { method: rec.web.method, url: rec.web.url };
  if (rec.schedule) view.trigger = { name: rec.schedule.trigger, cron: rec.schedule.cron, scheduledTime: new Date(rec.schedule.scheduledTime).toISOString() };
  if (rec.response) {
    // A web call's answer: status and headers, and the body as base64 (it may be anything).
    view.response = { status: rec.response.status, headers: rec.response.headers };
    if (rec.result) view.response = { ...view.response as object, bodyBase64: Buffer.from(rec.result).toString('base64') };
  } else if (rec.result) {
    // Results are kept as bytes; JSON ones are shown as JSON, others as base64.
    const bytes = Buffer.from(rec.result);
    if (rec.resEnc === 0) {
      try { view.result = JSON.parse(bytes.toString('utf8')); } catch { view.resultBase64 = bytes.toString('base64'); }
    } else view.resultBase64 = bytes.toString('base64');
    view.resultEncoding = CONTENT_TYPES[rec.resEnc];
  }
  return view;
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
