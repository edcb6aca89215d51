// setTimeout/setInterval and friends. The isolate has no event loop of its own: each timer is
// armed in the host (HostOp.timerSet) and fires through the runtime's deliver(Deliver.timer, id).
// A callback runs attributed to the call that set the timer. Timers nobody waits for any more
// (no call in flight) are dropped, as Workers drops them when a request ends.

import { HostOp } from '../../protocol.js';
import { adopt, calls, host } from '../calls.js';

interface Timer {
  fn: (...args: unknown[]) => void;
  args: unknown[];
  /** Repeat period in ms, or -1 for a one-shot timeout. */
  every: number;
  owner: string;
  deadline: number;
}

const MAX_TIMERS = 10_000;
const MAX_DELAY = 2 ** 31 - 1;
const timers = new Map<number, Timer>();
let nextId = 1;

/** Reports an exception thrown by a callback nobody can catch (set by the runtime: console.error). */
export const uncaught: { report: (where: string, err: unknown) => void } = { report: () => undefined };

function delayOf(ms: unknown): number {
  const n = Number(ms);
  if (!(n > 0)) return 0;
  return n > MAX_DELAY ? MAX_DELAY : Math.floor(n);
}

function arm(fn: unknown, ms: unknown, args: unknown[], repeat: boolean): number {
  if (typeof fn !== 'function') {
    throw new TypeError(`The callback must be a function${typeof fn === 'string' ? ' (code strings are not evaluated)' : ''}.`);
  }
  if (timers.size >= MAX_TIMERS) throw new RangeError(`Too many pending timers (${MAX_TIMERS}) in this instance.`);
  const delay = delayOf(ms);
  const id = nextId++;
  timers.set(id, { fn: fn as Timer['fn'], args, every: repeat ? Math.max(1, delay) : -1, owner: calls.current, deadline: calls.deadline });
  calls.hostWork++;
  host(HostOp.timerSet, id, repeat ? Math.max(1, delay) : delay);
  return id;
}

function clear(id: unknown): void {
  const n = typeof id === 'number' ? id : Number(id);
  if (!timers.delete(n)) return;
  calls.hostWork--;
  host(HostOp.timerClear, n);
}

export function setTimeout(fn: unknown, ms?: unknown, ...args: unknown[]): number {
  return arm(fn, ms, args, false);
}
export function setInterval(fn: unknown, ms?: unknown, ...args: unknown[]): number {
  return arm(fn, ms, args, true);
}
export function clearTimeout(id?: unknown): void { clear(id); }
export function clearInterval(id?: unknown): void { clear(id); }

/** Deliver.timer: the host's timer for `id` went off. */
export function fireTimer(id: number): void {
  const t = timers.get(id);
  if (t === undefined) return; // cleared while the delivery was on its way
  if (t.every < 0) {
    timers.delete(id);
    calls.hostWork--;
  } else {
    host(HostOp.timerSet, id, t.every);
  }
  adopt(t.owner, t.deadline);
  try {
    t.fn(...t.args);
  } catch (err) {
    uncaught.report('in a timer callback', err);
  }
}

/** Every timer is dropped (no call waits for them); the host drops its side on HostOp.cancelAll. */
export function dropAllTimers(): void {
  calls.hostWork -= timers.size;
  timers.clear();
}
