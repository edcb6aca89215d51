// Async (Event) invocation against a real Hearth process: 202 only once the event is stored,
// status queued → running → succeeded, retries then a dead letter then redrive, destinations (a
// function, and a URL: a local HTTP server), Idempotency-Key, refusals before the 202 (404, 413,
// 429), the Lambda API's Event, and drain (running events finish, queued ones wait for the next
// start). Functions report each run to a local HTTP sink through egress.allow.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployOk, jsSource, startHearth, type Hearth } from './support/hearth.js';
import { startSink, type Sink } from './support/sink.js';

const EVENT = { 'X-Hearth-Invocation-Type': 'Event' };
const FAST_RETRIES = ['--no-docker', '--async-retry-base-ms', '50', '--async-retry-max-ms', '200'];

/** A function that reports each run to the sink at /run/<tag> (held there when the test holds it), then fails when asked. */
function reporter(sink: Sink, tag: string, extra: Record<string, unknown> = {}, failing = true): Record<string, unknown> {
  return jsSource(`
    exports.handler = async (event, context) => {
      await fetch('${sink.url}/run/${tag}', { method: 'POST', body: JSON.stringify({ id: context.requestId, event }) });
      console.log('ran ' + context.requestId);
      if (${failing} && event.fail) throw new Error('failing on purpose');
      return { ok: true, n: event.n ?? null };
    };`, { egress: { allow: [`127.0.0.1:${sink.port}`] }, ...extra });
}

async function view(h: Hearth, id: string): Promise<Record<string, any>> {
  const r = await fetch(`${h.url}/v1/invocations/${id}`);
  expect(r.status).toBe(200);
  return await r.json() as Record<string, any>;
}

/** Polls an event's record until `pred` holds (30 s at most). */
async function waitFor(h: Hearth, id: string, pred: (v: Record<string, any>) => boolean): Promise<Record<string, any>> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const v = await view(h, id);
    if (pred(v)) return v;
    if (Date.now() > deadline) throw new Error(`event ${id} never reached the expected state: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function accepted(r: Response): Promise<string> {
  const body = await r.json() as { requestId: string };
  expect(r.status, JSON.stringify(body)).toBe(202);
  expect(r.headers.get('x-hearth-request-id')).toBe(body.requestId);
  return body.requestId;
}

describe('async invocation', () => {
  let h: Hearth;
  let sink: Sink;
  beforeAll(async () => {
    sink = await startSink();
    h = await startHearth({ args: FAST_RETRIES });
  });
  afterAll(async () => {
    await h?.stop();
    await sink?.close();
  });

  it('answers 202 with a request id, then shows queued, running and succeeded with attempts, result and logs', async () => {
    await deployOk(h, 'steps', reporter(sink, 'steps', { asyncConcurrency: 1 }));
    sink.hold('/run/steps');
    const first = await accepted(await h.invoke('steps', { n: 1 }, EVENT));
    const second = await accepted(await h.invoke('steps', { n: 2 }, EVENT));
    const running = await waitFor(h, first, (v) => v.status === 'running');
    expect(running.attempts).toHaveLength(1);
    expect(running.attempts[0].endedAt).toBeNull();
    // One at a time (asyncConcurrency 1): the second waits.
    expect((await view(h, second)).status).toBe('queued');
    sink.release('/run/steps');
    const done = await waitFor(h, second, (v) => v.status === 'succeeded');
    const one = await waitFor(h, first, (v) => v.status === 'succeeded');
    expect(one).toMatchObject({ requestId: first, functionName: 'steps', invocationType: 'Event', condition: 'Success', result: { ok: true, n: 1 } });
    expect(one.attempts).toHaveLength(1);
    expect(one.attempts[0]).toMatchObject({ version: '$LATEST', error: null });
    expect(one.logs.map((l: { message: string }) => l.message)).toEqual([`ran ${first}`]);
    expect(done.result).toEqual({ ok: true, n: 2 });
    // The function saw the event's id as its request id.
    expect((await sink.until((r) => r.path === '/run/steps', 2)).map((r) => (r.json as { id: string }).id).sort()).toEqual([first, second].sort());
  });

  it('retries a failing event with backoff, then dead-letters it; a redrive runs it again', async () => {
    await deployOk(h, 'flaky', reporter(sink, 'flaky', { maxRetries: 2 }));
    const id = await accepted(await h.invoke('flaky', { fail: true }, EVENT));
    const failed = await waitFor(h, id, (v) => v.status === 'failed');
    expect(failed).toMatchObject({ condition: 'RetriesExhausted', deadLetter: true, retries: 2, error: { errorType: 'Error', errorMessage: 'failing on purpose' } });
    expect(failed.attempts).toHaveLength(3);
    expect(failed.attempts.every((a: { error: { errorMessage: string } }) => a.error.errorMessage === 'failing on purpose')).toBe(true);
    expect((await sink.until((r) => r.path === '/run/flaky', 3)).length).toBe(3);

    const dl = await (await fetch(`${h.url}/v1/functions/flaky/dead-letters`)).json() as { deadLetters: { requestId: string }[] };
    expect(dl.deadLetters.map((e) => e.requestId)).toEqual([id]);

    // Fixed, then redriven: it runs once more and succeeds; it is no longer a dead letter.
    await deployOk(h, 'flaky', reporter(sink, 'flaky', { maxRetries: 2 }, false));
    const r = await fetch(`${h.url}/v1/functions/flaky/dead-letters/${id}/redrive`, { method: 'POST' });
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ requestId: id, status: 'queued', redrives: 1 });
    const ok = await waitFor(h, id, (v) => v.status === 'succeeded');
    expect(ok.attempts).toHaveLength(4);
    expect(ok.redrives).toBe(1);
    expect(((await (await fetch(`${h.url}/v1/functions/flaky/dead-letters`)).json()) as { deadLetters: unknown[] }).deadLetters).toEqual([]);
    expect((await fetch(`${h.url}/v1/functions/flaky/dead-letters/${id}/redrive`, { method: 'POST' })).status).toBe(404);

    // Redrive all, and discard.
    await deployOk(h, 'flaky', reporter(sink, 'flaky', { maxRetries: 0 }));
    const a = await accepted(await h.invoke('flaky', { fail: true }, EVENT));
    const b = await accepted(await h.invoke('flaky', { fail: true }, EVENT));
    await waitFor(h, a, (v) => v.status === 'failed');
    await waitFor(h, b, (v) => v.status === 'failed');
    const all = await (await fetch(`${h.url}/v1/functions/flaky/dead-letters/redrive`, { method: 'POST' })).json() as { redriven: string[] };
    expect(all.redriven.sort()).toEqual([a, b].sort());
    await waitFor(h, a, (v) => v.status === 'failed' && v.redrives === 1);
    await waitFor(h, b, (v) => v.status === 'failed' && v.redrives === 1);
    expect((await fetch(`${h.url}/v1/functions/flaky/dead-letters/${a}`, { method: 'DELETE' })).status).toBe(204);
    expect((await fetch(`${h.url}/v1/invocations/${a}`)).status).toBe(404);
  });

  it('sends outcomes to destinations: a function on success, a URL on failure (Lambda\'s record)', async () => {
    await deployOk(h, 'collector', reporter(sink, 'collector'));
    // A URL destination must be in egress.allow.
    const bad = await h.deploy('dest', reporter(sink, 'dest', { onFailure: { url: 'http://127.0.0.2:9/hook' } }));
    expect(bad.status).toBe(400);
    expect(JSON.stringify(await bad.json())).toContain('egress.allow');
    const self = await h.deploy('dest', reporter(sink, 'dest', { onSuccess: { function: 'dest' } }));
    expect(self.status).toBe(400);

    await deployOk(h, 'dest', reporter(sink, 'dest', {
      maxRetries: 1, onSuccess: { function: 'collector' }, onFailure: { url: `${sink.url}/hook` },
    }));
    const good = await accepted(await h.invoke('dest', { n: 7 }, EVENT));
    const [got] = await sink.until((r) => r.path === '/run/collector' && (r.json as any).event.requestContext?.requestId === good);
    expect((got!.json as any).event).toMatchObject({
      version: '1.0',
      requestContext: { requestId: good, condition: 'Success', approximateInvokeCount: 1 },
      requestPayload: { n: 7 },
      responseContext: { statusCode: 200, executedVersion: '$LATEST' },
      responsePayload: { ok: true, n: 7 },
    });

    const bad2 = await accepted(await h.invoke('dest', { fail: true, n: 8 }, EVENT));
    const [hook] = await sink.until((r) => r.path === '/hook' && (r.json as any).requestContext?.requestId === bad2);
    expect(hook!.json).toMatchObject({
      requestContext: { requestId: bad2, condition: 'RetriesExhausted', approximateInvokeCount: 2 },
      requestPayload: { fail: true, n: 8 },
      responseContext: { statusCode: 200, functionError: 'Unhandled' },
      responsePayload: { errorType: 'Error', errorMessage: 'failing on purpose' },
    });
    expect(hook!.headers['content-type']).toBe('application/json');
    expect(hook!.headers['x-hearth-delivery-id']).toBeTruthy();
  });

  it('a payload nested too deep to be written again as JSON still runs, its destination too, and its record reads (as bytes)', async () => {
    await deployOk(h, 'deep-next', jsSource('exports.handler = async (e) => ({ truncated: e.requestPayloadTruncated === true, req: e.requestPayload === null ? null : Object.keys(e.requestPayload) })'));
    await deployOk(h, 'deep', jsSource('exports.handler = async () => 1', { onSuccess: { function: 'deep-next' } }));
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const id = await accepted(await fetch(`${h.url}/v1/functions/deep/invoke`, { method: 'POST', headers: { 'content-type': 'application/json', ...EVENT }, body: deep }));
    const v = await waitFor(h, id, (x) => x.status === 'succeeded');
    expect(v.result).toBe(1);
    // The destination ran: its record carries the payload as bytes, or leaves it out past the Event limit.
    const deadline = Date.now() + 30_000;
    while (!/hearth_invocations_total\{function="deep-next",outcome="success"\} 1/.test(await fetch(`${h.url}/metrics`).then((r) => r.text()))) {
      if (Date.now() > deadline) throw new Error('deep-next never ran');
      await new Promise((r) => setTimeout(r, 25));
    }
  });

  it('dedupes an Idempotency-Key within the window: the first id back, nothing queued again', async () => {
    await deployOk(h, 'once', reporter(sink, 'once'));
    const key = { ...EVENT, 'Idempotency-Key': 'order-42' };
    const id = await accepted(await h.invoke('once', { n: 42 }, key));
    const again = await h.invoke('once', { n: 42 }, key);
    expect(again.status).toBe(200);
    expect(again.headers.get('x-hearth-idempotent-replay')).toBe('true');
    expect(await again.json()).toEqual({ requestId: id, duplicate: true });
    // Another payload under the same key: refused.
    const other = await h.invoke('once', { n: 43 }, key);
    expect(other.status).toBe(409);
    // The Lambda API takes the header too (202, the first id).
    const lambda = await fetch(`${h.url}/2015-03-31/functions/once/invocations`, {
      method: 'POST', headers: { 'X-Amz-Invocation-Type': 'Event', 'Idempotency-Key': 'order-42' }, body: JSON.stringify({ n: 42 }),
    });
    expect(lambda.status).toBe(202);
    expect(lambda.headers.get('x-amzn-requestid')).toBe(id);
    await waitFor(h, id, (v) => v.status === 'succeeded');
    // A fresh event after it, to be sure the sink has seen everything that was going to run.
    const later = await accepted(await h.invoke('once', { n: 1 }, EVENT));
    await waitFor(h, later, (v) => v.status === 'succeeded');
    expect(sink.requests.filter((r) => r.path === '/run/once' && (r.json as any).id === id)).toHaveLength(1);
  });

  it('refuses before the 202: unknown function 404, payload over the async limit 413 (under the sync one), bad key 400', async () => {
    await deployOk(h, 'sizes', jsSource('exports.handler = async (e) => ({ len: JSON.stringify(e).length })'));
    const missing = await h.invoke('nope', {}, EVENT);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ errorType: 'FunctionNotFound' });
    const big = { s: 'x'.repeat(300 * 1024) };
    const tooBig = await h.invoke('sizes', big, EVENT);
    expect(tooBig.status).toBe(413);
    expect(await tooBig.json()).toMatchObject({ errorType: 'RequestTooLarge' });
    expect((await h.invoke('sizes', big)).status).toBe(200); // the sync limit is larger
    const lambdaBig = await fetch(`${h.url}/2015-03-31/functions/sizes/invocations`, { method: 'POST', headers: { 'X-Amz-Invocation-Type': 'Event' }, body: JSON.stringify(big) });
    expect(lambdaBig.status).toBe(413);
    expect(lambdaBig.headers.get('x-amzn-errortype')).toBe('RequestTooLargeException');
    expect((await h.invoke('sizes', {}, { ...EVENT, 'Idempotency-Key': 'a b' })).status).toBe(400);
    expect((await h.invoke('sizes', {}, { 'X-Hearth-Invocation-Type': 'Later' })).status).toBe(400);
  });

  it('the Lambda API\'s Event goes through the same durable queue', async () => {
    await deployOk(h, 'lam', reporter(sink, 'lam'));
    const r = await fetch(`${h.url}/2015-03-31/functions/lam/invocations`, { method: 'POST', headers: { 'X-Amz-Invocation-Type': 'Event' }, body: '{"n":5}' });
    expect(r.status).toBe(202);
    const id = r.headers.get('x-amzn-requestid')!;
    expect(await waitFor(h, id, (v) => v.status === 'succeeded')).toMatchObject({ source: 'lambda', result: { ok: true, n: 5 } });
  });
});

describe('async invocation: a full queue, drain and restart', () => {
  it('refuses past --async-queue-size with 429 (both APIs), before the 202', async () => {
    const sink = await startSink();
    const h = await startHearth({ args: [...FAST_RETRIES, '--async-queue-size', '3'] });
    try {
      await deployOk(h, 'slow', reporter(sink, 'slow', { asyncConcurrency: 1 }));
      sink.hold('/run/slow');
      for (let i = 0; i < 3; i++) await accepted(await h.invoke('slow', { n: i }, EVENT));
      const full = await h.invoke('slow', { n: 3 }, EVENT);
      expect(full.status).toBe(429);
      expect(await full.json()).toMatchObject({ errorType: 'TooManyRequests' });
      const lambda = await fetch(`${h.url}/2015-03-31/functions/slow/invocations`, { method: 'POST', headers: { 'X-Amz-Invocation-Type': 'Event' }, body: '{}' });
      expect(lambda.status).toBe(429);
      expect(lambda.headers.get('x-amzn-errortype')).toBe('TooManyRequestsException');
      sink.release('/run/slow');
      await sink.until((r) => r.path === '/run/slow', 3);
    } finally {
      await h.stop();
      await sink.close();
    }
  });

  it('on SIGTERM lets the running event finish and keeps the queued ones for the next start; records survive the restart', async () => {
    const sink = await startSink();
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dataDir = mkdtempSync(join(tmpdir(), 'hearth-async-drain-'));
    const h = await startHearth({ dataDir, args: FAST_RETRIES });
    try {
      await deployOk(h, 'drainer', reporter(sink, 'drainer', { asyncConcurrency: 1 }));
      sink.hold('/run/drainer');
      const ids = [];
      for (let i = 0; i < 3; i++) ids.push(await accepted(await h.invoke('drainer', { n: i }, EVENT)));
      await waitFor(h, ids[0]!, (v) => v.status === 'running');
      const stopped = h.stop('SIGTERM');
      await new Promise((r) => setTimeout(r, 300));
      sink.release('/run/drainer');
      expect(await stopped).toBe(0);
      // Only the running one ran.
      expect(sink.requests.filter((r) => r.path === '/run/drainer').map((r) => (r.json as any).id)).toEqual([ids[0]]);

      const h2 = await startHearth({ dataDir, args: FAST_RETRIES });
      try {
        const first = await view(h2, ids[0]!);
        expect(first).toMatchObject({ status: 'succeeded', result: { ok: true, n: 0 } });
        for (const id of ids.slice(1)) await waitFor(h2, id, (v) => v.status === 'succeeded');
        const ran = sink.requests.filter((r) => r.path === '/run/drainer').map((r) => (r.json as any).id);
        expect(ran.sort()).toEqual([...ids].sort()); // each once
      } finally {
        await h2.stop();
      }
    } finally {
      await sink.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
