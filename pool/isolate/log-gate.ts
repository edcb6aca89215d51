// The host's side of an isolate's console: where its log lines arrive (in batches, see
// runtime/isolate/console.ts), and the authority on the log limits. The runtime bounds its lines
// too, but it shares its isolate with the function, so nothing it says is trusted: every entry is
// checked here, lines past a call's lines or bytes or past the instance's bytes a second are
// dropped here again, and the counts the runtime reports only make the marker line exact.
// When a call ends, a call that dropped anything gets one marker line on stderr.

import { LOG_NOTICE } from '../../core/logs.js';
import { LOG_BATCH_ENTRIES, LOG_DROPPED, LOG_ENTRY, LOG_LINE_OVERHEAD, MAX_LOG_LINE } from '../../runtime/protocol.js';

/** Calls whose counts are kept at most (calls in flight and tails: far fewer in practice). */
const MAX_CALLS = 4_096;

export interface LogLimits {
  /** Bytes (UTF-16 code units of text, plus LOG_LINE_OVERHEAD a line) one call may log. */
  bytesPerCall: number;
  linesPerCall: number;
  /** Bytes a second an instance may log, in a bucket as deep as max(bytesPerCall, this). */
  bytesPerSecond: number;
}

interface CallLog { lines: number; bytes: number; droppedLines: number; droppedBytes: number; reportedLines: number; reportedBytes: number }

export interface LogGateOwner {
  /** A line that passed (0 stdout, 1 stderr), or Hearth's notice (2): to the function's log and its call's record. */
  line(requestId: string, stream: 0 | 1 | 2, timeMs: number, text: string): void;
  /** Lines and bytes dropped (the runtime's reported ones included): to the metrics. */
  dropped(lines: number, bytes: number): void;
  /** The request id a line names, checked (unknown or malformed: the call running module init, or ''). */
  requestIdOf(rid: unknown): string;
}

export class LogGate {
  private readonly calls = new Map<string, CallLog>();
  private readonly burst: number;
  private tokens: number;
  private refilledAt = performance.now();

  constructor(private readonly limits: LogLimits, private readonly owner: LogGateOwner) {
    this.burst = Math.max(limits.bytesPerCall, limits.bytesPerSecond);
    this.tokens = this.burst;
  }

  /** What the runtime gives the isolate (HostGlobal.logLimits). */
  static runtimeLimits(l: LogLimits): number[] {
    return [l.bytesPerCall, l.linesPerCall, l.bytesPerSecond];
  }

  /** Calls whose lines are dropped unseen (a stopped sync crossing's: they run again elsewhere). */
  private discarded: Set<string> | null = null;

  /** From now on these calls' lines are dropped, not written and not counted. */
  discard(requestIds: readonly string[]): void {
    this.discarded ??= new Set();
    for (const rid of requestIds) {
      this.discarded.add(rid);
      this.calls.delete(rid);
    }
  }

  /** A batch from the isolate: [rid, stream, time, text | rid, LOG_DROPPED, lines, bytes]… */
  batch(raw: unknown): void {
    if (!Array.isArray(raw)) return;
    const max = LOG_BATCH_ENTRIES * LOG_ENTRY;
    const end = Math.min(raw.length, max);
    for (let i = 0; i + LOG_ENTRY <= end; i += LOG_ENTRY) {
      const rid = this.owner.requestIdOf(raw[i]);
      if (this.discarded !== null && this.discarded.has(rid)) continue;
      const stream = raw[i + 1];
      if (stream === LOG_DROPPED) this.report(rid, raw[i + 2], raw[i + 3]);
      else this.entry(rid, stream === 1 ? 1 : 0, raw[i + 2], raw[i + 3]);
    }
    // Entries past a batch's size are not read: they count as dropped lines of no call.
    if (raw.length > max) this.owner.dropped(Math.ceil((raw.length - max) / LOG_ENTRY), 0);
  }

  /** The call ended: one marker line if it dropped anything, and its counts go. */
  end(requestId: string): void {
    const c = this.calls.get(requestId);
    if (c === undefined) return;
    this.calls.delete(requestId);
    const lines = c.droppedLines + c.reportedLines;
    if (lines === 0) return;
    const bytes = c.droppedBytes + c.reportedBytes;
    const l = this.limits;
    this.owner.line(requestId, LOG_NOTICE, Date.now(),
      `… ${lines} lines / ${bytes} bytes dropped: log limit (${l.linesPerCall} lines and ${l.bytesPerCall} bytes a call, ${l.bytesPerSecond} bytes a second)`);
  }

  private entry(rid: string, stream: 0 | 1, t: unknown, msg: unknown): void {
    const text = typeof msg === 'string' ? (msg.length > MAX_LOG_LINE ? msg.slice(0, MAX_LOG_LINE) : msg) : String(msg).slice(0, MAX_LOG_LINE);
    const c = this.callOf(rid);
    const cost = text.length + LOG_LINE_OVERHEAD;
    const now = performance.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.refilledAt) * this.limits.bytesPerSecond) / 1000);
    this.refilledAt = now;
    if (c.lines >= this.limits.linesPerCall || c.bytes + cost > this.limits.bytesPerCall || this.tokens < cost) {
      c.droppedLines++;
      c.droppedBytes += text.length;
      this.owner.dropped(1, text.length);
      return;
    }
    c.lines++;
    c.bytes += cost;
    this.tokens -= cost;
    const time = typeof t === 'number' && Number.isFinite(t) && Math.abs(t - Date.now()) < 86_400_000 ? t : Date.now();
    this.owner.line(rid, stream, time, text);
  }

  /** The runtime's cumulative counts of what it dropped for a call (never below what it said before). */
  private report(rid: string, lines: unknown, bytes: unknown): void {
    const c = this.callOf(rid);
    const l = typeof lines === 'number' && Number.isSafeInteger(lines) && lines > c.reportedLines ? lines : c.reportedLines;
    const b = typeof bytes === 'number' && Number.isSafeInteger(bytes) && bytes > c.reportedBytes ? bytes : c.reportedBytes;
    this.owner.dropped(l - c.reportedLines, b - c.reportedBytes);
    c.reportedLines = l;
    c.reportedBytes = b;
  }

  private callOf(rid: string): CallLog {
    let c = this.calls.get(rid);
    if (c === undefined) {
      if (this.calls.size >= MAX_CALLS) this.calls.delete(this.calls.keys().next().value!);
      this.calls.set(rid, (c = { lines: 0, bytes: 0, droppedLines: 0, droppedBytes: 0, reportedLines: 0, reportedBytes: 0 }));
    }
    return c;
  }
}
