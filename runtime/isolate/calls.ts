// What the runtime knows about the call that is running now, shared by the invoke paths, console
// and the web APIs (timers and fetch attribute their work to it).
//
// Attribution is exact while one call is in flight (the common case and the only one at
// concurrency 1); with several in flight, work goes to the call that started last.

import { HostGlobal, HostOp } from '../protocol.js';

export const calls = {
  /** Request id of the running call ('' outside any call, e.g. at module init). */
  current: '',
  /** Epoch ms deadline of the running call (0 outside any call). */
  deadline: 0,
  /** Calls started and not yet ended, their waitUntil work included. */
  inFlight: 0,
  /** Timers and outbound fetches pending in the host. */
  hostWork: 0,
};

type HostFn = (op: number, ...args: unknown[]) => void;
const g = globalThis as Record<string, unknown>;
const hostFn = g[HostGlobal.host] as HostFn | undefined;
delete g[HostGlobal.host];

let onCallEnd: (requestId: string) => void = () => {};

/** What else happens when a call ends (its console lines go to the host). */
export function setCallEndHook(hook: (requestId: string) => void): void {
  onCallEnd = hook;
}

/** Sends a HostOp (fire and forget; the host checks every argument). */
export function host(op: number, ...args: unknown[]): void {
  if (hostFn !== undefined) hostFn(op, ...args);
}

/** A call has ended: when none is left, timers and fetches nobody waits for are dropped. */
export function callEnded(onIdle: () => void): void {
  if (--calls.inFlight === 0 && calls.hostWork > 0) {
    onIdle();
    host(HostOp.cancelAll);
  }
}

/**
 * A call begins: its console lines and new work are attributed to it from now on. The caller keeps
 * calls.current and calls.deadline as they were before (prevId, prevDeadline) for end().
 */
export function begin(requestId: string, deadline: number): void {
  calls.inFlight++;
  calls.current = requestId;
  calls.deadline = deadline;
}

/**
 * A call has ended: attribution goes back to the call that was current before it (which may have
 * ended meanwhile: with several calls in flight, attribution is approximate; see the README).
 */
export function end(requestId: string, prevId: string, prevDeadline: number, onIdle: () => void): void {
  onCallEnd(requestId);
  if (calls.inFlight === 1) { calls.current = ''; calls.deadline = 0; }
  else if (calls.current === requestId) { calls.current = prevId; calls.deadline = prevDeadline; }
  callEnded(onIdle);
}

/**
 * Work of an earlier call resumes (a timer fired, a fetch answered): attribute what follows to
 * it, including the promise continuations that run after this delivery returns.
 */
export function adopt(requestId: string, deadline: number): void {
  if (requestId === '' && calls.inFlight > 0) return;
  calls.current = requestId;
  calls.deadline = deadline;
}
