// Functions' own output (console.* in isolates, stdout/stderr of containers): the sink both tiers
// write to, which keeps each line in its function's bounded ring and on its call's invocation
// record (core/records.ts); and the log tail a call's response can carry.

import type { FunctionVersion } from './backend.js';
import type { LogLine, LogSink } from './call.js';
import type { InvocationRecords } from './records.js';
import type { FunctionListener } from './registry/index.js';

const STREAMS = ['stdout', 'stderr'] as const;
/** The sink's stream for Hearth's own notices about a call (shown as stderr). */
export const LOG_NOTICE = 2;
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

/** Who follows a function's lines as they come (core/http/log-stream.ts); `null`: the function is gone. */
export type LogFollower = (line: LogLine | null) => void;

export class FunctionLogs implements FunctionListener {
  private readonly rings = new Map<string, Ring>();
  /** Followers by function; the map is empty unless somebody follows, so append pays one size check. */
  private readonly followers = new Map<string, Set<LogFollower>>();
  constructor(private readonly linesPerFunction: number) {}

  /** Calls `f` with each line `functionName` writes from now on; returns the way to stop. */
  follow(functionName: string, f: LogFollower): () => void {
    let set = this.followers.get(functionName);
    if (!set) this.followers.set(functionName, (set = new Set()));
    set.add(f);
    return () => {
      set.delete(f);
      if (set.size === 0 && this.followers.get(functionName) === set) this.followers.delete(functionName);
    };
  }

  /** A deleted function's lines go with it. */
  functionChanged(name: string, latest: FunctionVersion | null): void {
    if (latest === null) this.drop(name);
  }

  append(functionName: string, line: LogLine): void {
    let r = this.rings.get(functionName);
    if (!r) this.rings.set(functionName, (r = new Ring(this.linesPerFunction)));
    r.push(line);
    if (this.followers.size !== 0) {
      const set = this.followers.get(functionName);
      if (set) for (const f of set) f(line);
    }
  }

  /** Lines at or after `since` (epoch ms), oldest first, the newest `limit` of them. */
  query(functionName: string, since = 0, limit = 100, requestId?: string): LogLine[] {
    const lines = this.rings.get(functionName)?.toArray() ?? [];
    const picked = lines.filter((l) => l.time >= since && (!requestId || l.requestId === requestId));
    return picked.slice(Math.max(0, picked.length - limit));
  }

  drop(functionName: string): void {
    this.rings.delete(functionName);
    // Its followers are told it is gone (a function made later under the name is another one).
    const set = this.followers.get(functionName);
    if (set) for (const f of [...set]) f(null);
  }
}

/** Builds the log sink both tiers write to. */
export function logSink(fnLogs: FunctionLogs, records: InvocationRecords): LogSink {
  return (functionName, requestId, stream, time, message) => {
    // Stream 2 (LOG_NOTICE): Hearth's own line about the call (what a log limit dropped), on
    // stderr, kept on the call's record even when the record's own bound is reached.
    const line: LogLine = { time, requestId, stream: STREAMS[stream === LOG_NOTICE ? 1 : stream] ?? 'stdout', message };
    fnLogs.append(functionName, line);
    if (requestId) records.attach(line, stream === LOG_NOTICE);
  };
}

/** The last `maxBytes` of a call's log, as Lambda's LogType=Tail gives it (base64). */
export function tailBase64(lines: readonly LogLine[] | null, maxBytes = 4096): string {
  if (!lines || lines.length === 0) return '';
  const text = Buffer.from(lines.map((l) => `${new Date(l.time).toISOString()}\t${l.requestId}\t${l.stream === 'stderr' ? 'ERROR' : 'INFO'}\t${l.message}\n`).join(''));
  return (text.length > maxBytes ? text.subarray(text.length - maxBytes) : text).toString('base64');
}
