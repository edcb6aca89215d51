// setTimeout/setInterval and friends. The isolate has no event loop of its own, so it keeps its
// timers itself and asks the host for one wake-up, at the earliest due time (HostOp.timerSet);
// when it comes (deliver(Deliver.timer)), every timer that is due fires in that one crossing and
// the next wake-up is asked for. However many timers a function sets, the host holds one timer per
// instance and crosses once per wake-up. A callback runs attributed to the call that set it.
// Timers nobody waits for any more (no call in flight) are dropped, as Workers drops them when a
// request ends.

import { HostOp } from '../../protocol.js';
import { adopt, calls, host } from '../calls.js';

interface Timer {
  fn: (...args: unknown[]) => void;
  args: unknown[];
  /** Epoch ms when it is due. */
  due: number;
  /** Repeat period in ms, or -1 for a one-shot timeout. */
  every: number;
  owner: string;
  deadline: number;
}

const MAX_TIMERS = 10_000;
const MAX_DELAY = 2 ** 31 - 1;
const timers = new Map<number, Timer>();
let nextId = 1;
/** The wake-up asked of the host (epoch ms), or 0 for none. */
let wakeAt = 0;
const now = Date.now;

/** Reports an exception thrown by a callback nobody can catch (set by the runtime: console.error). */
export const uncaught: { report: (where: string, err: unknown) => void } = { report: () => undefined };

function delayOf(ms: unknown): number {
  const n = Number(ms);
  if (!(n > 0)) return 0;
  return n > MAX_DELAY ? MAX_DELAY : Math.floor(n);
}

/** Asks the host for a wake-up at `due` unless an earlier one is already asked for. */
function wakeBy(due: number): void {
  if (wakeAt !== 0 && wakeAt <= due) return;
  wakeAt = due;
  host(HostOp.timerSet, 0, Math.max(0, due - now()));
}

function arm(fn: unknown, ms: unknown, args: unknown[], repeat: boolean): number {
  if (typeof fn !== 'function') {
    throw new TypeError(`The callback must be a function${typeof fn === 'string' ? ' (code strings are not evaluated)' : ''}.`);
  }
  if (timers.size >= MAX_TIMERS) throw new RangeError(`Too many pending timers (${MAX_TIMERS}) in this instance.`);
  const delay = repeat ? Math.max(1, delayOf(ms)) : delayOf(ms);
  const id = nextId++;
  const t: Timer = { fn: fn as Timer['fn'], args, due: now() + delay, every: repeat ? delay : -1, owner: calls.current, deadline: calls.deadline };
  timers.set(id, t);
  account();
  wakeBy(t.due);
  return id;
}

function clear(id: unknown): void {
  const n = typeof id === 'number' ? id : Number(id);
  if (!timers.delete(n)) return;
  account();
  if (timers.size === 0) {
    wakeAt = 0;
    host(HostOp.timerClear, 0);
  }
  // Otherwise the wake-up stays; one that finds nothing due just asks for the next.
}

export function setTimeout(fn: unknown, ms?: unknown, ...args: unknown[]): number {
  return arm(fn, ms, args, false);
}
export function setInterval(fn: unknown, ms?: unknown, ...args: unknown[]): number {
  return arm(fn, ms, args, true);
}
export function clearTimeout(id?: unknown): void { clear(id); }
export function clearInterval(id?: unknown): void { clear(id); }

/** Deliver.timer: the host's wake-up came. Fires what is due, in due order, then asks for the next. */
export function fireTimers(): void {
  wakeAt = 0;
  const t0 = now();
  const due: [number, Timer][] = [];
  for (const entry of timers) if (entry[1].due <= t0) due.push(entry);
  due.sort((a, b) => a[1].due - b[1].due || a[0] - b[0]);
  for (const [id, t] of due) {
    if (timers.get(id) !== t) continue; // cleared by an earlier callback
    if (t.every < 0) timers.delete(id);
    else t.due = t0 + t.every;
    adopt(t.owner, t.deadline);
    try {
      t.fn(...t.args);
    } catch (err) {
      uncaught.report('in a timer callback', err);
    }
  }
  account();
  if (timers.size === 0) return;
  let next = Infinity;
  for (const t of timers.values()) if (t.due < next) next = t.due;
  wakeBy(next);
}

/** calls.hostWork counts "this isolate has timers" as one unit of host work. */
let counted = false;
function account(): void {
  const has = timers.size > 0;
  if (has !== counted) {
    calls.hostWork += has ? 1 : -1;
    counted = has;
  }
}

/** Every timer is dropped (no call waits for them); the host drops its side on HostOp.cancelAll. */
export function dropAllTimers(): void {
  timers.clear();
  account();
  wakeAt = 0;
}
