// console.* inside the isolate. Each line goes to the host through a fire-and-forget callback
// (an ivm.Callback in "ignored" mode), tagged with the request id it belongs to, so lines survive
// a timeout or crash of the call that wrote them.

import { Stream } from '../protocol.js';

export type LogSink = (requestId: string, stream: number, timeMs: number, message: string) => void;

const MAX_LINE = 16 * 1024;
// Captured at load: user code may replace Date.now.
const now = Date.now;

export function formatArgs(args: unknown[]): string {
  let out = '';
  for (let i = 0; i < args.length; i++) {
    if (i > 0) out += ' ';
    out += formatValue(args[i]);
  }
  return out.length > MAX_LINE ? out.slice(0, MAX_LINE) + '…[truncated]' : out;
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

export function makeConsole(sink: LogSink, target: ConsoleTarget): Record<string, (...a: any[]) => void> {
  const out = (...a: unknown[]) => sink(target.currentRequestId(), Stream.stdout, now(), formatArgs(a));
  const err = (...a: unknown[]) => sink(target.currentRequestId(), Stream.stderr, now(), formatArgs(a));
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
