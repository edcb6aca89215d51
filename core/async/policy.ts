// What happens to an async event after an attempt: pure functions, unit-tested without a queue.
//
// Lambda's model: a function error (it threw, timed out, ran out of memory) is retried up to
// maxRetries times with a growing delay; throttling and Hearth-side failures (wait queue full, no
// container engine, draining) are retried without using up that budget; either way the event
// gives up once it is older than maxEventAgeMs. Errors no retry can fix (the function was deleted,
// the payload does not decode) end it at once.

import type { EventCondition } from './queue.js';

export interface RetryPolicy {
  maxRetries: number;
  maxEventAgeMs: number;
  /** First retry's delay; each next one doubles, up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
}

/** How an attempt's error counts. */
export type ErrorClass = 'function' | 'throttle' | 'permanent';

/** Hearth error types whose retry cannot help. */
const PERMANENT = new Set([
  'FunctionNotFound', 'VersionNotFound', 'NotFound', 'InvalidRequestContent', 'InvalidRequest',
  'WrongFunctionKind', 'UnsupportedMediaType', 'RequestTooLarge', 'Unauthorized',
]);
/** Capacity and availability: not the function's fault, retried without using the budget. */
const THROTTLE = new Set(['TooManyRequests', 'QueueTimeout', 'BackendUnavailable', 'Draining', 'Superseded']);

export function classify(errorType: string, functionError = false): ErrorClass {
  if (functionError) return 'function';
  if (PERMANENT.has(errorType)) return 'permanent';
  if (THROTTLE.has(errorType)) return 'throttle';
  // Timeouts, out of memory, crashed instances, init errors, unserializable results, a
  // destination URL that failed: the function's (or the endpoint's) failure.
  return 'function';
}

/**
 * The delay before retry number `n` (1-based): base × 2^(n-1), capped, with "equal jitter" (half
 * fixed, half random) so that events that failed together do not all come back at once, while
 * each still waits at least half its step.
 */
export function backoffMs(n: number, p: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>, random: () => number = Math.random): number {
  const step = Math.min(p.maxDelayMs, p.baseDelayMs * 2 ** Math.min(30, Math.max(0, n - 1)));
  return Math.round(step / 2 + random() * (step / 2));
}

export type Decision =
  | { action: 'succeed'; condition: 'Success' }
  | { action: 'fail'; condition: Exclude<EventCondition, 'Success'> }
  | { action: 'retry'; delayMs: number; retries: number };

export interface AttemptFacts {
  /** null: the attempt succeeded. */
  error: { errorType: string; functionError?: boolean } | null;
  /** Failed attempts already counted against maxRetries before this one. */
  retries: number;
  /** Attempts that ended (this one included; interrupted ones not): the backoff step. */
  attempts: number;
  /** Epoch ms: when the event's age started, and now. */
  ageStart: number;
  now: number;
}

export function decide(f: AttemptFacts, p: RetryPolicy, random: () => number = Math.random): Decision {
  if (f.error === null) return { action: 'succeed', condition: 'Success' };
  const cls = classify(f.error.errorType, f.error.functionError);
  if (cls === 'permanent') return { action: 'fail', condition: 'NotRetryable' };
  const retries = cls === 'function' ? f.retries + 1 : f.retries;
  if (cls === 'function' && retries > p.maxRetries) return { action: 'fail', condition: 'RetriesExhausted' };
  // The step is how many tries the event has had, budgeted or not (throttles back off too).
  const delayMs = backoffMs(Math.max(1, f.attempts), p, random);
  if (f.now + delayMs - f.ageStart > p.maxEventAgeMs) return { action: 'fail', condition: 'EventAgeExceeded' };
  return { action: 'retry', delayMs, retries };
}
