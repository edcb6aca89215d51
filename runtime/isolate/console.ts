// console.* inside the isolate. Lines go to the host in batches through a fire-and-forget callback
// (an ivm.Callback in "ignored" mode), each tagged with the request id it belongs to. A batch goes
// when it is full (LOG_BATCH_ENTRIES lines or FLUSH_BYTES), when a call ends, and in the microtask
// after a write at most every FLUSH_EVERY_MS: a flood is a few callbacks a second, not one per line
// (each callback is a task on the host's main thread; issue 15 point 1). Lines past the log limits
// (per call: lines and bytes; per isolate: bytes a second) are dropped here and reported as counts;
// the host enforces the same limits again (pool/isolate/log-gate.ts): it does not trust this code,
// which shares its isolate with the function.

import { LOG_BATCH_ENTRIES, LOG_DROPPED, LOG_ENTRY, LOG_LINE_OVERHEAD, LogLimit, MAX_LOG_LINE, Stream } from '../protocol.js';

export type LogBatchSink = (batch: unknown[]) => void;

// Captured at load: user code may replace Date.now and the rest.
const now = Date.now;
const promiseThen = Promise.prototype.then;
const resolved = Promise.resolve();
const createObject = Object.create;
const reflectApply = Reflect.apply;

/** A batch goes once it holds this much text. */
const FLUSH_BYTES = 16 * 1024;
/** Batches sent from a microtask (not full, no call ended) at most this often. */
const FLUSH_EVERY_MS = 20;
/** A call that drops lines reports its counts at once, then at most this often, and when it ends. */
const REPORT_EVERY_MS = 1_000;

interface CallLog { lines: number; bytes: number; droppedLines: number; droppedBytes: number; reportedAt: number }

/**
 * The isolate's log lines on their way to the host, bounded as the host bounds them. Uses only
 * built-ins captured at load and a prototype-less object, so a function that replaces Array,
 * Map or Date methods changes neither the counting nor the batching.
 */
export class LogBuffer {
  private entries: unknown[] = [];
  private n = 0;
  private bytes = 0;
  private readonly calls: Record<string, CallLog> = createObject(null);
  private readonly bytesPerCall: number;
  private readonly linesPerCall: number;
  private readonly bytesPerSecond: number;
  private readonly burst: number;
  private tokens: number;
  private refilledAt = now();
  private flushedAt = 0;
  private scheduled = false;

  constructor(private readonly send: LogBatchSink, limits: unknown) {
    const l = Array.isArray(limits) ? limits : [];
    const num = (v: unknown, d: number) => (typeof v === 'number' && v > 0 ? v : d);
    this.bytesPerCall = num(l[LogLimit.bytesPerCall], 1024 * 1024);
    this.linesPerCall = num(l[LogLimit.linesPerCall], 10_000);
    this.bytesPerSecond = num(l[LogLimit.bytesPerSecond], 1024 * 1024);
    this.burst = this.bytesPerCall > this.bytesPerSecond ? this.bytesPerCall : this.bytesPerSecond;
    this.tokens = this.burst;
  }

  write(requestId: string, stream: number, text: string): void {
    const t = now();
    const c = this.callOf(requestId);
    const cost = text.length + LOG_LINE_OVERHEAD;
    this.tokens += ((t - this.refilledAt) * this.bytesPerSecond) / 1000;
    if (this.tokens > this.burst) this.tokens = this.burst;
    this.refilledAt = t;
    if (c.lines >= this.linesPerCall || c.bytes + cost > this.bytesPerCall || this.tokens < cost) {
      c.droppedLines++;
      c.droppedBytes += text.length;
      if (t - c.reportedAt >= REPORT_EVERY_MS) {
        c.reportedAt = t;
        this.append(requestId, LOG_DROPPED, c.droppedLines, c.droppedBytes);
        this.flush(t);
      }
      return;
    }
    c.lines++;
    c.bytes += cost;
    this.tokens -= cost;
    this.bytes += cost;
    this.append(requestId, stream, t, text);
    if (this.bytes >= FLUSH_BYTES) this.flush(t);
    else if (this.n > 0 && !this.scheduled) {
      this.scheduled = true;
      reflectApply(promiseThen, resolved, [this.onMicrotask]);
    }
  }

  /** A call ended: what it dropped is reported, and its lines go now. */
  endCall(requestId: string): void {
    const c = this.calls[requestId];
    if (c !== undefined) {
      if (c.droppedLines > 0) this.append(requestId, LOG_DROPPED, c.droppedLines, c.droppedBytes);
      delete this.calls[requestId];
    }
    this.flush(now());
  }

  /** Sends what is waiting (the host delivered something: a good moment, and not a per-line one). */
  flushPending(): void {
    if (this.n > 0) this.flush(now());
  }

  private readonly onMicrotask = (): void => {
    this.scheduled = false;
    const t = now();
    if (this.n > 0 && t - this.flushedAt >= FLUSH_EVERY_MS) this.flush(t);
  };

  private callOf(requestId: string): CallLog {
    let c = this.calls[requestId];
    if (c === undefined) this.calls[requestId] = c = { lines: 0, bytes: 0, droppedLines: 0, droppedBytes: 0, reportedAt: 0 };
    return c;
  }

  private append(a: unknown, b: unknown, c: unknown, d: unknown): void {
    const e = this.entries;
    let n = this.n;
    e[n++] = a; e[n++] = b; e[n++] = c; e[n++] = d;
    this.n = n;
    if (n >= LOG_BATCH_ENTRIES * LOG_ENTRY) this.flush(now());
  }

  private flush(t: number): void {
    if (this.n === 0) return;
    const batch = this.entries;
    this.entries = [];
    this.n = 0;
    this.bytes = 0;
    this.flushedAt = t;
    this.send(batch);
  }
}

export function formatArgs(args: unknown[]): string {
  let out = '';
  for (let i = 0; i < args.length; i++) {
    if (i > 0) out += ' ';
    out += formatValue(args[i]);
  }
  return out.length > MAX_LOG_LINE ? out.slice(0, MAX_LOG_LINE) + '…[truncated]' : out;
}

export function formatValue(v: unknown): string {
  switch (typeof v) {
    case 'string': return v;
    case 'undefined': return 'undefined';
    case 'function': return `[Function: ${(v as Function).name || 'anonymous'}]`;
    case 'symbol': return v.toString();
    case 'bigint': return `${v}n`;
    case 'object':
      if (v === null) return 'null';
      if (v instanceof Error) return v.stack || `${v.name}: ${v.message}`;
      try {
        const seen = new WeakSet<object>();
        return JSON.stringify(v, (_k, val) => {
          if (typeof val === 'bigint') return `${val}n`;
          if (typeof val === 'object' && val !== null) {
            if (seen.has(val)) return '[Circular]';
            seen.add(val);
          }
          return val;
        }) ?? String(v);
      } catch {
        return Object.prototype.toString.call(v);
      }
    default: return String(v);
  }
}

export interface ConsoleTarget {
  /** The request the next line belongs to ('' outside any invocation, e.g. at module init). */
  currentRequestId(): string;
}

export function makeConsole(logs: LogBuffer, target: ConsoleTarget): Record<string, (...a: any[]) => void> {
  const out = (...a: unknown[]) => logs.write(target.currentRequestId(), Stream.stdout, formatArgs(a));
  const err = (...a: unknown[]) => logs.write(target.currentRequestId(), Stream.stderr, formatArgs(a));
  const counts = new Map<string, number>();
  const timers = new Map<string, number>();
  return {
    log: out, info: out, debug: out,
    warn: err, error: err,
    trace: (...a: unknown[]) => err('Trace:', ...a, '\n' + (new Error().stack ?? '').split('\n').slice(2).join('\n')),
    dir: (v: unknown) => out(v),
    assert: (cond: unknown, ...a: unknown[]) => { if (!cond) err('Assertion failed:', ...a); },
    count: (label: string = 'default') => { const n = (counts.get(label) ?? 0) + 1; counts.set(label, n); out(`${label}: ${n}`); },
    countReset: (label: string = 'default') => { counts.delete(label); },
    time: (label: string = 'default') => { timers.set(label, now()); },
    timeEnd: (label: string = 'default') => {
      const t = timers.get(label);
      if (t !== undefined) { timers.delete(label); out(`${label}: ${now() - t}ms`); }
    },
    timeLog: (label: string = 'default', ...a: unknown[]) => {
      const t = timers.get(label);
      if (t !== undefined) out(`${label}: ${now() - t}ms`, ...a);
    },
  };
}
