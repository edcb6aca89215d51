// Live logs: GET /v1/functions/{name}/logs/stream answers Server-Sent Events (text/event-stream),
// one `data:` event a log line, as the function writes them: first the last `tail` lines kept,
// then each new one. The console reads it with fetch (an EventSource could not send the
// Authorization header); `curl -N` works too.
//
// Bounds: at most MAX_STREAMS open at once (429 past that); a client that reads slower than the
// lines come is not buffered for: while the socket has unsent bytes, lines are dropped and
// counted, and once it drains an `event: dropped` says how many. A comment every KEEPALIVE_MS keeps
// proxies from closing a quiet stream. A drain (SIGTERM) ends every stream first, with its
// connection, and refuses new ones; a deleted function's streams end too.

import type { LogLine } from '../call.js';
import { HearthError } from '../errors.js';
import type { FunctionLogs } from '../logs.js';
import { finish, type Exchange } from './exchange.js';
import { v1Error } from './render-v1.js';

export const MAX_STREAMS = 32;
const KEEPALIVE_MS = 15_000;

interface Stream {
  ex: Exchange;
  /** A comment, unless the reader is behind (then it has bytes coming anyway). */
  keepalive: () => void;
  stop: () => void;
}

/** Ends a stream's response and its connection (the client's next request goes elsewhere or waits). */
function end(s: Stream): void {
  const ex = s.ex;
  if (!ex.aborted) ex.res.cork(() => { ex.res.end(undefined, true); });
  s.stop();
  finish(ex);
}

export class LogStreams {
  private readonly open = new Set<Stream>();
  /** Lines not sent to a slow reader, since start. */
  droppedLines = 0;
  private timer: NodeJS.Timeout | null = null;
  /** Set by closeAll(): the server is stopping. */
  private closed = false;

  constructor(private readonly logs: FunctionLogs) {}

  get count(): number {
    return this.open.size;
  }

  /** Opens a stream on `ex` (the admin check done, the function known). */
  start(ex: Exchange, functionName: string, opts: { requestId?: string; tail: number }): void {
    if (this.closed) return v1Error(ex, new HearthError('Draining', 'Hearth is stopping: no new log streams'), { close: true });
    if (this.open.size >= MAX_STREAMS) {
      return v1Error(ex, new HearthError('TooManyRequests', `${MAX_STREAMS} log streams are open already; close one (a console tab) and try again`, { retryAfterS: 5 }));
    }
    const res = ex.res;
    let congested = false;
    let dropped = 0;
    const send = (chunk: string): void => {
      if (ex.aborted) return;
      res.cork(() => {
        if (!res.write(chunk)) {
          congested = true;
          res.onWritable(() => {
            congested = false;
            if (dropped > 0 && !ex.aborted) {
              const n = dropped;
              dropped = 0;
              res.cork(() => { res.write(`event: dropped\ndata: {"lines":${n}}\n\n`); });
            }
            return true;
          });
        }
      });
    };
    const onLine = (line: LogLine | null): void => {
      if (line === null) return end(stream);
      if (opts.requestId !== undefined && line.requestId !== opts.requestId) return;
      if (congested) {
        dropped++;
        this.droppedLines++;
        return;
      }
      send(`data: ${JSON.stringify(line)}\n\n`);
    };
    res.cork(() => {
      res.writeStatus('200 OK');
      res.writeHeader('Content-Type', 'text/event-stream; charset=utf-8');
      res.writeHeader('Cache-Control', 'no-store');
      res.writeHeader('X-Accel-Buffering', 'no');
      res.write(': hearth log stream\n\n');
    });
    for (const line of this.logs.query(functionName, 0, opts.tail, opts.requestId)) onLine(line);
    const unfollow = this.logs.follow(functionName, onLine);
    const stream: Stream = {
      ex,
      keepalive: () => { if (!congested) send(': keepalive\n\n'); },
      stop: () => {
        unfollow();
        this.open.delete(stream);
        if (this.open.size === 0 && this.timer) {
          clearInterval(this.timer);
          this.timer = null;
        }
      },
    };
    this.open.add(stream);
    const onDone = ex.onDone;
    ex.onDone = () => {
      stream.stop();
      onDone?.();
    };
    this.timer ??= setInterval(() => {
      for (const s of this.open) s.keepalive();
    }, KEEPALIVE_MS).unref();
  }

  /** Ends every stream and refuses new ones (the server is stopping). */
  closeAll(): void {
    this.closed = true;
    for (const s of [...this.open]) end(s);
  }
}
