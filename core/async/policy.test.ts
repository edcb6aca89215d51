import { describe, expect, it } from 'vitest';
import { backoffMs, classify, decide, type RetryPolicy } from './policy.js';

const p: RetryPolicy = { maxRetries: 2, maxEventAgeMs: 60_000, baseDelayMs: 1_000, maxDelayMs: 8_000 };
const fnErr = { errorType: 'Error', functionError: true };

describe('backoff', () => {
  it('doubles per retry, capped, with half of each step random', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffMs(n, p, () => 0))).toEqual([500, 1000, 2000, 4000, 4000, 4000]);
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffMs(n, p, () => 1))).toEqual([1000, 2000, 4000, 8000, 8000, 8000]);
    for (let i = 0; i < 100; i++) {
      const d = backoffMs(3, p);
      expect(d).toBeGreaterThanOrEqual(2000);
      expect(d).toBeLessThanOrEqual(4000);
    }
  });
  it('does not overflow for large attempt numbers', () => {
    expect(backoffMs(10_000, p, () => 1)).toBe(8000);
  });
});

describe('classify', () => {
  it('sorts errors into function, throttle and permanent', () => {
    expect(classify('TypeError', true)).toBe('function');
    expect(classify('Timeout')).toBe('function');
    expect(classify('OutOfMemory')).toBe('function');
    expect(classify('TooManyRequests')).toBe('throttle');
    expect(classify('BackendUnavailable')).toBe('throttle');
    expect(classify('FunctionNotFound')).toBe('permanent');
    expect(classify('InvalidRequestContent')).toBe('permanent');
  });
});

describe('decide', () => {
  const at = (o: Partial<Parameters<typeof decide>[0]>) => decide({ error: fnErr, retries: 0, attempts: 1, ageStart: 0, now: 0, ...o }, p, () => 1);

  it('succeeds on no error', () => {
    expect(at({ error: null })).toEqual({ action: 'succeed', condition: 'Success' });
  });
  it('retries a function error maxRetries times, then gives up', () => {
    expect(at({ retries: 0, attempts: 1 })).toEqual({ action: 'retry', delayMs: 1000, retries: 1 });
    expect(at({ retries: 1, attempts: 2 })).toEqual({ action: 'retry', delayMs: 2000, retries: 2 });
    expect(at({ retries: 2, attempts: 3 })).toEqual({ action: 'fail', condition: 'RetriesExhausted' });
    expect(decide({ error: fnErr, retries: 0, attempts: 1, ageStart: 0, now: 0 }, { ...p, maxRetries: 0 })).toEqual({ action: 'fail', condition: 'RetriesExhausted' });
  });
  it('retries throttles without using the budget, backing off by attempts', () => {
    expect(at({ error: { errorType: 'TooManyRequests' }, retries: 2, attempts: 5 })).toEqual({ action: 'retry', delayMs: 8000, retries: 2 });
  });
  it('gives up when the next try would be past the event age', () => {
    expect(at({ ageStart: 0, now: 59_500 })).toEqual({ action: 'fail', condition: 'EventAgeExceeded' });
    expect(at({ error: { errorType: 'BackendUnavailable' }, ageStart: 0, now: 59_500 })).toEqual({ action: 'fail', condition: 'EventAgeExceeded' });
  });
  it('does not retry what no retry can fix', () => {
    expect(at({ error: { errorType: 'FunctionNotFound' } })).toEqual({ action: 'fail', condition: 'NotRetryable' });
  });
});
