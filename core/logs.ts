// Functions' own output (console.* in isolates, stdout/stderr of containers), kept per function in
// a bounded ring and per invocation in the invocation record; and the invocation records
// themselves, sync calls included, with bounded retention.

import { LRUCache } from 'lru-cache';
import type { Invocation, LogLine } from './backend.js';

const STREAMS = ['stdout', 'stderr'] as const;
/** Lines and bytes kept on one invocation's record (the function's ring keeps its own). */
const MAX_LINES_PER_INVOCATION = 1_000;
const MAX_BYTES_PER_INVOCATION = 64 * 1024;
/** Bytes of log text kept per function, whatever the line count. */
const MAX_BYTES_PER_FUNCTION = 1024 * 1024;

/** The newest lines of one function, bounded by count and by bytes. */
class Ring {
  private buf: LogLine[] = [];
  private head = 0;
  private bytes = 0;
  constructor(private readonly cap: number) {}
  push(v: LogLine): void {
    this.buf.push(v);
    this.bytes += v.message.length;
    while (this.buf.length - this.head > this.cap || (this.bytes > MAX_BYTES_PER_FUNCTION && this.buf.length - this.head > 1)) {
      this.bytes -= this.buf[this.head]!.message.length;
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.buf.length) {
      this.buf = this.buf.slice(this.head);
      this.head = 0;
    }
  }
  toArray(): LogLine[] {
    return this.buf.slice(this.head);
  }
}

export class FunctionLogs {
  private readonly rings = new Map<string, Ring>();
  constructor(private readonly linesPerFunction: number) {}

  append(functionName: string, line: LogLine): void {
    let r = this.rings.get(functionName);
    if (!r) this.rings.set(functionName, (r = new Ring(this.linesPerFunction)));
    r.push(line);
  }

  /** Lines at or after `since` (epoch ms), oldest first, the newest `limit` of them. */
  query(functionName: string, since = 0, limit = 100, requestId?: string): LogLine[] {
    const lines = this.rings.get(functionName)?.toArray() ?? [];
    const picked = lines.filter((l) => l.time >= since && (!requestId || l.requestId === requestId));
    return picked.slice(Math.max(0, picked.length - limit));
  }

  drop(functionName: string): void {
    this.rings.delete(functionName);
  }
}

export class InvocationRecords {
  private readonly records: LRUCache<string, Invocation>;
  constructor(retention: number) {
    this.records = new LRUCache<string, Invocation>({ max: retention });
  }

  add(inv: Invocation): void {
    this.records.set(inv.requestId, inv);
  }

  get(requestId: string): Invocation | undefined {
    return this.records.get(requestId);
  }

  /** Attach a line to the invocation that wrote it, if it is still on record. */
  attach(line: LogLine): void {
    const inv = this.records.peek(line.requestId);
    if (!inv) return;
    if (inv.logs === null) inv.logs = [];
    const bytes = (inv.logBytes ?? 0) + line.message.length;
    if (inv.logs.length < MAX_LINES_PER_INVOCATION && bytes <= MAX_BYTES_PER_INVOCATION) {
      inv.logs.push(line);
      inv.logBytes = bytes;
    }
  }
}

/** Builds the log sink both tiers write to. */
export function logSink(fnLogs: FunctionLogs, records: InvocationRecords) {
  return (functionName: string, requestId: string, stream: number, time: number, message: string): void => {
    const line: LogLine = { time, requestId, stream: STREAMS[stream] ?? 'stdout', message };
    fnLogs.append(functionName, line);
    if (requestId) records.attach(line);
  };
}

/** The last `maxBytes` of a call's log, as Lambda's LogType=Tail gives it (base64). */
export function tailBase64(lines: LogLine[] | null, maxBytes = 4096): string {
  if (!lines || lines.length === 0) return '';
  const text = Buffer.from(lines.map((l) => `${new Date(l.time).toISOString()}\t${l.requestId}\t${l.stream === 'stderr' ? 'ERROR' : 'INFO'}\t${l.message}\n`).join(''));
  return (text.length > maxBytes ? text.subarray(text.length - maxBytes) : text).toString('base64');
}

/** The JSON view of an invocation record. */
export function invocationView(inv: Invocation): Record<string, unknown> {
  const view: Record<string, unknown> = {
    requestId: inv.requestId,
    functionName: inv.functionName,
    version: inv.version,
    status: inv.status,
    invocationType: inv.web ? 'Web' : inv.schedule ? 'Timer' : 'RequestResponse',
    startedAt: new Date(inv.startedAtEpoch).toISOString(),
    cold: inv.cold,
    timings: { queueMs: round(inv.queueMs), initMs: round(inv.initMs), durationMs: round(inv.durationMs) },
    logs: inv.logs ?? [],
  };
  if (inv.error) view.error = { errorType: inv.error.errorType, errorMessage: inv.error.errorMessage, stackTrace: inv.error.stackTrace };
  if (inv.web) view.request = { method: inv.web.method, url: inv.web.url };
  if (inv.schedule) view.trigger = { name: inv.schedule.trigger, cron: inv.schedule.cron, scheduledTime: new Date(inv.schedule.scheduledTime).toISOString() };
  if (inv.response) {
    // A web call's answer: status and headers, and the body as base64 (it may be anything).
    view.response = { status: inv.response.status, headers: inv.response.headers };
    if (inv.result) view.response = { ...view.response as object, bodyBase64: Buffer.from(inv.result).toString('base64') };
  } else if (inv.result) {
    // Results are kept as bytes; JSON ones are shown as JSON, others as base64.
    const bytes = Buffer.from(inv.result);
    if (inv.resEnc === 0) {
      try { view.result = JSON.parse(bytes.toString('utf8')); } catch { view.resultBase64 = bytes.toString('base64'); }
    } else view.resultBase64 = bytes.toString('base64');
    view.resultEncoding = inv.resEnc === 0 ? 'application/json' : 'application/msgpack';
  }
  return view;
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
