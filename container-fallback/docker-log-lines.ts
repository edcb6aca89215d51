// A container's output as Docker's log stream gives it (followed with timestamps, demultiplexed
// into stdout and stderr), cut back into lines, each with the time Docker stamped it.

import type { OutputLine } from './engine.js';

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
export function logLines(onLine: OutputLine): (stream: 0 | 1, frame: Buffer) => void {
  const line = [new LineBuffer(), new LineBuffer()] as const;
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
      onLine(streamNo, buf.time, buf.take());
      rest = rest.subarray(nl + 1);
      buf.time = time;
    }
    if (rest.length > 0) buf.add(rest);
  };
}
