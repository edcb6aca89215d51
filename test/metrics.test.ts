// GET /metrics: Prometheus' text format from a real Hearth process, after real calls.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployOk, jsSource, startHearth, type Hearth } from './support/hearth.js';
import { until, waitFor } from './support/until.js';

let h: Hearth;
beforeAll(async () => {
  h = await startHearth({ args: ['--wait-queue-size', '1', '--no-docker', '--async-retry-base-ms', '20', '--async-retry-max-ms', '50'] });
  await deployOk(h, 'hello', jsSource('exports.handler = async (e) => ({ hello: e.name });'));
  await deployOk(h, 'throws', jsSource("exports.handler = async () => { throw new TypeError('boom'); };"));
  await deployOk(h, 'spin', jsSource('exports.handler = async () => { while (true) {} };', { timeoutMs: 100 }));
});
afterAll(async () => { await h?.stop(); });

async function scrape(headers: Record<string, string> = {}): Promise<string> {
  const r = await fetch(`${h.url}/metrics`, { headers });
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toContain('text/plain');
  return r.text();
}
/** The value of one series (exact labels as Prometheus' text format writes them). */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Every listed series has exactly its value. */
function expectSeries(text: string, want: Record<string, number>): void {
  expect(Object.fromEntries(Object.keys(want).map((series) => [series, value(text, series)]))).toEqual(want);
}

describe('GET /metrics', () => {
  it('counts the runtime extras loaded into isolates (and refused), by extra', async () => {
    await deployOk(h, 'usesurl', jsSource("exports.handler = async (e) => ({ p: new URL('/x/' + e.n, 'https://h.example').pathname, d: new TextDecoder('windows-1252').decode(new Uint8Array([0x80])) });"));
    const r = await h.invoke('usesurl', { n: 1 });
    expect(r.status).toBe(200);
    const m = await scrape();
    expect(value(m, 'hearth_runtime_extra_loads_total{extra="url"}')).toBeGreaterThanOrEqual(1);
    expect(value(m, 'hearth_runtime_extra_loads_total{extra="encodings"}')).toBeGreaterThanOrEqual(1);
    for (const extra of ['url', 'encodings', 'subtle']) expect(value(m, `hearth_runtime_extra_loads_refused_total{extra="${extra}"}`)).toBe(0);
  });

  it('counts invocations by function and outcome, durations, cold starts and the pool, with process metrics', async () => {
    for (let i = 0; i < 3; i++) expect((await h.invoke('hello', { name: 'a' })).status).toBe(200);
    expect((await h.invoke('throws', {})).status).toBe(500);
    expect((await h.invoke('spin', {})).status).toBe(504);
    const m = await scrape();
    expectSeries(m, {
      'hearth_invocations_total{function="hello",outcome="success"}': 3,
      'hearth_invocations_total{function="throws",outcome="function_error"}': 1,
      'hearth_invocations_total{function="spin",outcome="timeout"}': 1,
      'hearth_invocation_duration_seconds_count{function="hello"}': 3,
      'hearth_invocation_duration_seconds_bucket{function="hello",le="+Inf"}': 3,
    });
    expect(value(m, 'hearth_cold_starts_total{runtime="js"}')).toBeGreaterThanOrEqual(3);
    expect(value(m, 'hearth_init_duration_seconds_count{runtime="js"}')).toBe(value(m, 'hearth_cold_starts_total{runtime="js"}'));
    expect(value(m, 'hearth_instances{tier="isolate",state="warm"}')).toBeGreaterThanOrEqual(2);
    expect(value(m, 'hearth_instances{tier="isolate",state="prewarmed"}')).toBeGreaterThanOrEqual(0);
    expect(value(m, 'hearth_wait_queue_depth{tier="isolate"}')).toBe(0);
    expect(m).toContain('# TYPE hearth_evictions_total counter');
    expect(m).toContain('# TYPE hearth_instance_memory_bytes gauge');
    // Process metrics, under their standard names.
    expect(value(m, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(m).toContain('nodejs_heap_size_used_bytes');
    // No high-cardinality labels: no request ids anywhere.
    expect(m).not.toMatch(/request_?id/i);
    expect(m).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-/);
  });

  it('counts async events: enqueued, attempts by outcome, URL deliveries, and the queue\'s depth', async () => {
    await deployOk(h, 'evok', jsSource('exports.handler = async () => 1;'));
    await deployOk(h, 'evbad', jsSource("exports.handler = async () => { throw new Error('no'); };", { maxRetries: 1 }));
    const ids: string[] = [];
    for (const [name, n] of [['evok', 2], ['evbad', 1]] as const) {
      for (let i = 0; i < n; i++) {
        const r = await h.invoke(name, {}, { 'X-Hearth-Invocation-Type': 'Event' });
        expect(r.status).toBe(202);
        ids.push(((await r.json()) as { requestId: string }).requestId);
      }
    }
    for (const id of ids) {
      await until(async () => {
        const v = await (await fetch(`${h.url}/v1/invocations/${id}`)).json() as { status: string };
        return v.status === 'succeeded' || v.status === 'failed';
      }, 20_000, `event ${id} to finish`);
    }
    // GET /v1/invocations answers from the running event's record, whose status is final just
    // before its outcome is written to the queue; the queue counts the event as queued or running
    // until that write is done (it would run again after a crash before it). Wait for the queue.
    const m = await waitFor(async () => {
      const text = await scrape();
      return value(text, 'hearth_async_queue_events') === 0 && value(text, 'hearth_async_running_events') === 0 && text;
    }, 20_000, 'the async queue to be empty');
    expectSeries(m, {
      'hearth_async_events_enqueued_total{function="evok"}': 2,
      'hearth_async_events_enqueued_total{function="evbad"}': 1,
      'hearth_async_attempts_total{function="evok",outcome="succeeded"}': 2,
      'hearth_async_attempts_total{function="evbad",outcome="retried"}': 1,
      'hearth_async_attempts_total{function="evbad",outcome="failed"}': 1,
      'hearth_async_deliveries_total{outcome="succeeded"}': 0,
      'hearth_async_queue_events': 0,
      'hearth_async_running_events': 0,
      'hearth_async_queue_bytes': 0,
      'hearth_async_dead_letters_expired_total': 0,
      'hearth_async_enqueue_refused_total{limit="events"}': 0,
      'hearth_async_enqueue_refused_total{limit="bytes"}': 0,
      // Each attempt is a call too.
      'hearth_invocations_total{function="evbad",outcome="function_error"}': 2,
    });
  });

  it('drops a deleted function\'s series', async () => {
    await deployOk(h, 'gone', jsSource('exports.handler = async () => 1;'));
    await h.invoke('gone', {});
    expect(await scrape()).toContain('function="gone"');
    expect((await fetch(`${h.url}/v1/functions/gone`, { method: 'DELETE' })).status).toBe(204);
    expect(await scrape()).not.toContain('function="gone"');
  });
});

describe('GET /metrics with an admin token', () => {
  it('needs the token, like the other management routes', async () => {
    const t = await startHearth({ env: { HEARTH_ADMIN_TOKEN: 'sekrit-token-123' }, args: ['--no-docker'] });
    try {
      expect((await fetch(`${t.url}/metrics`)).status).toBe(401);
      const r = await fetch(`${t.url}/metrics`, { headers: { authorization: 'Bearer sekrit-token-123' } });
      expect(r.status).toBe(200);
      expect(await r.text()).toContain('hearth_invocations_total');
    } finally {
      await t.stop();
    }
  });
});
