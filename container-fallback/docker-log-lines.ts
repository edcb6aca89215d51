// A container's output as Docker's log stream gives it (followed with timestamps, demultiplexed
// into stdout and stderr), cut back into lines, each with the time Docker stamped it.

import { containerChannels } from './channel-counters.js';
import type { OutputLine } from './engine.js';

/**
 * The rate bound on one container's followed output: a bucket of `bytesPerSec` bytes (a second's
 * worth of burst), refilled as time passes. A line that does not fit is dropped and counted
 * (hearth_container_log_lines_dropped_total); the first line passed after a drop is a marker that
 * says how many went; `pause(ms)` is asked to stop reading until the bucket has refilled (what the
 * container writes meanwhile stays in Docker's rotated log file, or is rotated away).
 */
export class LogRate {
  private tokens: number;
  private last = performance.now();
  dropped = 0;
  private droppedBytes = 0;
  private paused = false;

  constructor(private readonly bytesPerSec: number, private readonly pause: (ms: number) => void = () => undefined) {
    this.tokens = bytesPerSec;
  }

  /** Whether a line of `bytes` may pass now; a marker line to pass before it, if lines were dropped. */
  take(bytes: number): { pass: boolean; marker: string | null } {
    const now = performance.now();
    this.tokens = Math.min(this.bytesPerSec, this.tokens + ((now - this.last) / 1000) * this.bytesPerSec);
    this.last = now;
    const cost = bytes + 1;
    if (this.tokens < cost) {
      this.dropped++;
      this.droppedBytes += bytes;
      containerChannels.logLinesDropped++;
      if (!this.paused) {
        this.paused = true;
        const ms = Math.max(50, Math.ceil(((this.bytesPerSec - this.tokens) / this.bytesPerSec) * 1000));
        this.pause(ms);
        setTimeout(() => { this.paused = false; }, ms).unref();
      }
      return { pass: false, marker: null };
    }
    this.tokens -= cost;
    let marker: string | null = null;
    if (this.dropped > 0) {
      marker = `[hearth] ${this.dropped} line(s) of output (${this.droppedBytes} bytes) dropped: over ${this.bytesPerSec} bytes/s (--container-log-bytes-per-sec)`;
      this.dropped = 0;
      this.droppedBytes = 0;
    }
    return { pass: true, marker };
  }
}

/** One stream's line being read: its first 16 KiB (the rest is dropped) and when it began. */
class LineBuffer {
  private static readonly MAX = 16 * 1024;
  private parts: Buffer[] = [];
  private size = 0;
  time = 0;

  get started(): boolean {
    return this.size > 0 || this.parts.length > 0;
  }

  add(b: Buffer): void {
    if (this.size < LineBuffer.MAX) this.parts.push(Buffer.from(b.subarray(0, LineBuffer.MAX - this.size)));
    this.size += b.length;
  }

  /** The line as text (a code point cut at the limit becomes U+FFFD); empties the buffer. */
  take(): string {
    const text = Buffer.concat(this.parts).toString('utf8');
    this.parts = [];
    this.size = 0;
    return text;
  }
}

/**
 * Reads Docker's frames of one container's output and calls `onLine` per line. One write per
 * frame, and with timestamps every frame is "<RFC 3339 nano> <bytes>": a line, or a 16 KiB piece
 * of a longer one (its pieces each stamped; the line takes the first's).
 */
export function logLines(onLine: OutputLine, rate: LogRate | null = null): (stream: 0 | 1, frame: Buffer) => void {
  const line = [new LineBuffer(), new LineBuffer()] as const;
  const emit: OutputLine = rate === null ? onLine : (stream, time, text) => {
    const r = rate.take(Buffer.byteLength(text));
    if (!r.pass) return;
    if (r.marker !== null) onLine(1, time, r.marker);
    onLine(stream, time, text);
  };
  return (streamNo, b) => {
    const buf = line[streamNo];
    const sp = b.indexOf(0x20);
    const at = sp > 0 && sp < 40 ? Date.parse(b.toString('latin1', 0, sp)) : NaN;
    const stamped = !Number.isNaN(at);
    const time = stamped ? at : Date.now();
    if (!buf.started) buf.time = time;
    let rest = stamped ? b.subarray(sp + 1) : b;
    let nl: number;
    while ((nl = rest.indexOf(0x0a)) >= 0) {
      buf.add(rest.subarray(0, nl));
      emit(streamNo, buf.time, buf.take());
      rest = rest.subarray(nl + 1);
      buf.time = time;
    }
    if (rest.length > 0) buf.add(rest);
  };
}
