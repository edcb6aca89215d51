// The async queue's gauges are read at scrape time: a queue that fails or never answers must not
// fail or hang the scrape.

import { describe, expect, it } from 'vitest';
import type { QueueStats } from './async/queue.js';
import { Metrics } from './metrics.js';

describe('async queue gauges', () => {
  it('come from the queue when it answers', async () => {
    const m = new Metrics({ backends: () => [], asyncQueue: async () => ({ pending: 7, held: 2, bytes: 4_096, deadLettersExpired: 5, deadLetterBytes: 8_192, deadLettersDropped: 3 }) });
    const text = await m.text();
    expect(text).toContain('\nhearth_async_queue_events 7\n');
    expect(text).toContain('\nhearth_async_running_events 2\n');
    expect(text).toContain('\nhearth_async_queue_bytes 4096\n');
    expect(text).toContain('\nhearth_async_dead_letters_expired_total 5\n');
    expect(text).toContain('\nhearth_async_dead_letter_bytes 8192\n');
    expect(text).toContain('\nhearth_async_dead_letters_dropped_total{reason="bytes"} 3\n');
  });

  it('stay as they were when the queue fails, or does not answer within a second', async () => {
    let answer: () => Promise<QueueStats> = async () => ({ pending: 3, held: 1, bytes: 0, deadLettersExpired: 0, deadLetterBytes: 0, deadLettersDropped: 0 });
    const m = new Metrics({ backends: () => [], asyncQueue: () => answer() });
    expect(await m.text()).toContain('\nhearth_async_queue_events 3\n');
    answer = async () => { throw new Error('redis away'); };
    expect(await m.text()).toContain('\nhearth_async_queue_events 3\n');
    answer = () => new Promise(() => undefined);
    const text = await m.text();
    expect(text).toContain('\nhearth_async_queue_events 3\n');
    expect(text).toContain('\nhearth_async_running_events 1\n');
  });
});

describe('scaling and queue-age signals', () => {
  const outcome = { version: '$LATEST', error: null, durationMs: 1, initMs: 0, cold: false } as never;

  it('hearth_invocations_in_flight counts calls between their begin and end', async () => {
    const m = new Metrics({ backends: () => [] });
    expect(await m.text()).toContain('\nhearth_invocations_in_flight 0\n');
    m.callStarted();
    m.callStarted();
    expect(await m.text()).toContain('\nhearth_invocations_in_flight 2\n');
    m.observe('js', 'f', outcome);
    expect(await m.text()).toContain('\nhearth_invocations_in_flight 1\n');
  });

  it('hearth_async_event_age_seconds observes each attempt\'s age, by function', async () => {
    const m = new Metrics({ backends: () => [] });
    m.asyncAttemptStarted('f', 30);
    m.asyncAttemptStarted('f', 45_000);
    m.asyncAttemptStarted('f', -5); // another replica's clock: never negative
    const text = await m.text();
    expect(text).toContain('\nhearth_async_event_age_seconds_bucket{function="f",le="0.01"} 1\n');
    expect(text).toContain('\nhearth_async_event_age_seconds_bucket{function="f",le="0.05"} 2\n');
    expect(text).toContain('\nhearth_async_event_age_seconds_bucket{function="f",le="60"} 3\n');
    expect(text).toContain('\nhearth_async_event_age_seconds_count{function="f"} 3\n');
    expect(text).toContain('\nhearth_async_event_age_seconds_sum{function="f"} 45.03\n');
  });
});
