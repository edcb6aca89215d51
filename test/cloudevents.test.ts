// CloudEvents in (POST /v1/events/{name}) against a real Hearth process: binary, structured and
// batched content modes, each event stored in the durable queue before the 202 and run as an async
// event that receives the structured form; a repeat of a source + id runs nothing again; invalid
// events answer 400 naming what is wrong, and the delivery contract's other statuses (404, 413).
// CloudEvents out: onSuccess / onFailure URL destinations with format "cloudevents", to a local
// sink and to Hearth's own CloudEvents route (one function's result becomes another's event).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployOk, jsSource, startHearth, type Hearth } from './support/hearth.js';
import { startSink, type Sink } from './support/sink.js';
import { waitFor } from './support/until.js';

let h: Hearth;
let sink: Sink;
const ECHO = 'exports.handler = async (event, context) => ({ event, requestId: context.requestId })';

beforeAll(async () => {
  sink = await startSink();
  h = await startHearth({ args: ['--no-docker', '--async-max-body-bytes', '4096', '--async-retry-base-ms', '50', '--async-retry-max-ms', '100'] });
  await deployOk(h, 'ce-echo', jsSource(ECHO));
  await deployOk(h, 'ce-once', jsSource(ECHO));
  await deployOk(h, 'ce-other', jsSource(ECHO));
});
afterAll(async () => {
  await h?.stop();
  await sink?.close();
});

const post = (name: string, headers: Record<string, string>, body: string | Uint8Array) =>
  fetch(`${h.url}/v1/events/${name}`, { method: 'POST', headers, body: typeof body === 'string' ? body : Buffer.from(body) });

const binary = (id: string, extra: Record<string, string> = {}) => ({
  'ce-specversion': '1.0', 'ce-id': id, 'ce-source': '/tests/ce', 'ce-type': 'com.example.test', ...extra,
});

/** The event's record once it ran: what the function received comes back as its result. */
async function ran(id: string): Promise<Record<string, any>> {
  return waitFor(async () => {
    const v = await (await fetch(`${h.url}/v1/invocations/${id}`)).json() as Record<string, any>;
    return v.status === 'succeeded' || v.status === 'failed' ? v : null;
  }, 30_000, `event ${id} ran`);
}

async function accepted(r: Response): Promise<string> {
  const body = await r.json() as { requestId: string };
  expect(r.status, JSON.stringify(body)).toBe(202);
  expect(r.headers.get('x-hearth-request-id')).toBe(body.requestId);
  return body.requestId;
}

describe('CloudEvents in', () => {
  it('binary mode: the ce- headers are the attributes (percent-decoded), the body the data; the function gets the structured form', async () => {
    const id = await accepted(await post('ce-echo', { ...binary('b-1', { 'ce-subject': 'photos%2Fcat.jpg', 'ce-tenant': 'acme', 'ce-time': '2026-12-04T10:00:00Z' }), 'content-type': 'application/json' }, '{"size":42}'));
    const v = await ran(id);
    expect(v.status).toBe('succeeded');
    expect(v.source).toBe('cloudevents');
    expect(v.result.event).toEqual({
      specversion: '1.0', id: 'b-1', source: '/tests/ce', type: 'com.example.test', subject: 'photos/cat.jpg', tenant: 'acme',
      time: '2026-12-04T10:00:00Z', datacontenttype: 'application/json', data: { size: 42 },
    });
    expect(v.result.requestId).toBe(id);

    // Bytes that are not text arrive as data_base64.
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 255]);
    const b = await ran(await accepted(await post('ce-echo', { ...binary('b-2'), 'content-type': 'image/png' }, png)));
    expect(b.result.event.data_base64).toBe(Buffer.from(png).toString('base64'));
    expect(b.result.event.datacontenttype).toBe('image/png');
  });

  it('structured mode: one event as JSON, extensions and data_base64 as sent', async () => {
    const event = { specversion: '1.0', id: 's-1', source: 'urn:example:src', type: 't', dataschema: 'https://example.com/s.json', flag: true, data_base64: 'AAEC' };
    const v = await ran(await accepted(await post('ce-echo', { 'content-type': 'application/cloudevents+json; charset=utf-8' }, JSON.stringify(event))));
    expect(v.result.event).toEqual(event);
  });

  it('batched mode: every event queued before the one 202, each run on its own', async () => {
    const events = [1, 2, 3].map((n) => ({ specversion: '1.0', id: `batch-${n}`, source: '/tests/batch', type: 't', data: { n } }));
    const r = await post('ce-echo', { 'content-type': 'application/cloudevents-batch+json' }, JSON.stringify(events));
    expect(r.status).toBe(202);
    const body = await r.json() as { events: { id: string; source: string; requestId: string; duplicate: boolean }[] };
    expect(body.events.map((e) => [e.id, e.source, e.duplicate])).toEqual(events.map((e) => [e.id, e.source, false]));
    expect(new Set(body.events.map((e) => e.requestId)).size).toBe(3);
    for (const [i, e] of body.events.entries()) expect((await ran(e.requestId)).result.event.data).toEqual({ n: i + 1 });
  });

  it('a repeat of the same source and id (another body, another mode) runs nothing again; another function runs it', async () => {
    const first = await accepted(await post('ce-once', { ...binary('dup-1'), 'content-type': 'text/plain' }, 'one'));
    await ran(first);
    const again = await post('ce-once', { 'content-type': 'application/cloudevents+json' }, JSON.stringify({ specversion: '1.0', id: 'dup-1', source: '/tests/ce', type: 'x', data: 'two' }));
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ requestId: first, duplicate: true });
    const inBatch = await post('ce-once', { 'content-type': 'application/cloudevents-batch+json' },
      JSON.stringify([{ specversion: '1.0', id: 'dup-1', source: '/tests/ce', type: 'x' }, { specversion: '1.0', id: 'dup-2', source: '/tests/ce', type: 'x' }]));
    expect(inBatch.status).toBe(202);
    const b = await inBatch.json() as { events: { requestId: string; duplicate: boolean }[] };
    expect(b.events[0]).toMatchObject({ requestId: first, duplicate: true });
    expect(b.events[1]!.duplicate).toBe(false);
    await ran(b.events[1]!.requestId);
    // The same id from another source is another event.
    await ran(await accepted(await post('ce-once', { ...binary('dup-1', { 'ce-source': '/tests/elsewhere' }), 'content-type': 'text/plain' }, 'x')));
    expect(await countRuns('ce-once')).toBe(3);
    // Deduplication is per function: ce-other runs the same event.
    await ran(await accepted(await post('ce-other', { ...binary('dup-1'), 'content-type': 'text/plain' }, 'one')));
  });

  it('invalid events are refused with 400 naming what is wrong, and nothing is queued', async () => {
    const queuedBefore = await eventsMetric('queued');
    const cases: [Record<string, string>, string | Uint8Array, RegExp][] = [
      [{ 'ce-specversion': '1.0', 'ce-source': '/s', 'ce-type': 't', 'content-type': 'text/plain' }, 'x', /missing the required attribute "id"/],
      [{ 'ce-specversion': '1.0', 'ce-id': '1', 'ce-type': 't', 'content-type': 'text/plain' }, 'x', /missing the required attribute "source"/],
      [{ ...binary('v-1', { 'ce-specversion': '0.3' }), 'content-type': 'text/plain' }, 'x', /specversion "0.3" is not supported/],
      [{ ...binary('v-2', { 'ce-time': 'noon' }), 'content-type': 'text/plain' }, 'x', /"time" must be an RFC 3339 timestamp/],
      [{ ...binary('v-3'), 'content-type': 'application/json' }, '{not json', /not valid JSON/],
      [{ 'content-type': 'application/cloudevents+json' }, JSON.stringify({ specversion: '1.0', id: '1', source: '/s' }), /missing the required attribute "type"/],
      [{ 'content-type': 'application/cloudevents-batch+json' }, JSON.stringify([{ specversion: '1.0', id: 'ok', source: '/s', type: 't' }, { specversion: '1.0', source: '/s', type: 't' }]), /event 1 of the batch: .*"id"/],
      [{ 'content-type': 'application/json' }, '{"a":1}', /neither a CloudEvent nor an S3 event notification/],
      [{ 'content-type': 'text/plain' }, 'hello', /neither a CloudEvent nor an S3 event notification/],
    ];
    for (const [headers, body, message] of cases) {
      const r = await post('ce-echo', headers, body);
      const b = await r.json() as { errorType: string; errorMessage: string };
      expect(r.status, JSON.stringify(b)).toBe(400);
      expect(b.errorType).toBe('InvalidRequestContent');
      expect(b.errorMessage).toMatch(message);
    }
    expect(await eventsMetric('queued')).toBe(queuedBefore);
    // A JSON body is taken for an S3 notification, and counted as one when refused.
    expect(await eventsMetric('refused') + await eventsMetric('refused', 's3')).toBeGreaterThanOrEqual(cases.length);
  });

  it('a body nested past what can be written again as JSON is a 400, not a failure of Hearth\'s', async () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const batch = await post('ce-echo', { 'content-type': 'application/cloudevents-batch+json' }, `[{"specversion":"1.0","id":"deep","source":"/s","type":"t","data":${deep}}]`);
    expect(batch.status).toBe(400);
    expect(((await batch.json()) as { errorMessage: string }).errorMessage).toMatch(/the event nests too deeply/);
    const s3 = await post('ce-echo', { 'content-type': 'application/json' },
      `{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"k","x":${deep}}}}]}`);
    expect(s3.status).toBe(400);
    expect(((await s3.json()) as { errorMessage: string }).errorMessage).toMatch(/nests too deeply/);
  });

  it('an unknown function is 404, an event over the Event payload limit 413 (in structured form: base64 counts)', async () => {
    const unknown = await post('ce-nobody', { ...binary('n-1'), 'content-type': 'text/plain' }, 'x');
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { errorType: string }).errorType).toBe('FunctionNotFound');
    // 3,500 bytes of binary data fit the 4,096-byte body limit, but not once base64 in the structured form.
    const big = await post('ce-echo', { ...binary('big-1'), 'content-type': 'application/octet-stream' }, new Uint8Array(3_500));
    expect(big.status).toBe(413);
    expect(((await big.json()) as { errorMessage: string }).errorMessage).toMatch(/as the function would receive it/);
    const bigger = await post('ce-echo', { ...binary('big-2'), 'content-type': 'application/octet-stream' }, new Uint8Array(5_000));
    expect(bigger.status).toBe(413);
  });
});

describe('CloudEvents out', () => {
  it('onSuccess / onFailure with format "cloudevents": the outcome POSTed in binary mode, the result or error as the data', async () => {
    const allow = { egress: { allow: [`127.0.0.1:${sink.port}`] } };
    await deployOk(h, 'ce-out-ok', jsSource('exports.handler = async (e) => ({ doubled: e.data.n * 2 })',
      { ...allow, onSuccess: { url: `${sink.url}/ce/ok`, format: 'cloudevents' } }));
    await deployOk(h, 'ce-out-fail', jsSource('exports.handler = async () => { throw new TypeError("no thanks"); }',
      { ...allow, maxRetries: 0, onFailure: { url: `${sink.url}/ce/fail`, format: 'cloudevents' } }));

    const okId = await accepted(await post('ce-out-ok', { 'content-type': 'application/cloudevents+json' }, JSON.stringify({ specversion: '1.0', id: 'out-1', source: '/t', type: 't', data: { n: 21 } })));
    const [ok] = await sink.until((r) => r.path === '/ce/ok');
    expect(ok!.headers['ce-specversion']).toBe('1.0');
    expect(ok!.headers['ce-type']).toBe('dev.hearth.function.succeeded');
    expect(ok!.headers['ce-source']).toBe('/functions/ce-out-ok');
    expect(ok!.headers['ce-subject']).toBe(okId);
    expect(ok!.headers['ce-hearthcondition']).toBe('Success');
    expect(ok!.headers['ce-id']).toBe(ok!.headers['x-hearth-delivery-id']);
    expect(Date.parse(String(ok!.headers['ce-time']))).not.toBeNaN();
    expect(ok!.headers['content-type']).toBe('application/json');
    expect(ok!.json).toEqual({ doubled: 42 });

    const failId = await accepted(await post('ce-out-fail', { ...binary('out-2'), 'content-type': 'text/plain' }, 'x'));
    const [fail] = await sink.until((r) => r.path === '/ce/fail');
    expect(fail!.headers['ce-type']).toBe('dev.hearth.function.failed');
    expect(fail!.headers['ce-subject']).toBe(failId);
    expect(fail!.headers['ce-hearthcondition']).toBe('RetriesExhausted');
    expect(fail!.json).toMatchObject({ errorType: 'TypeError', errorMessage: 'no thanks' });
  });

  it('one function\'s result as another\'s event: one Hearth\'s CloudEvents out into another Hearth\'s CloudEvents in', async () => {
    // Hearth refuses egress to its own address (core/egress-self.ts): within one Hearth a
    // destination is {function}; across replicas or to a broker, a URL.
    const other = await startHearth({ args: ['--no-docker'] });
    try {
      await deployOk(other, 'ce-next', jsSource(`exports.handler = async (e) => { await fetch('${sink.url}/chain', { method: 'POST', body: JSON.stringify(e) }); return e; }`,
        { egress: { allow: [`127.0.0.1:${sink.port}`] } }));
      await deployOk(h, 'ce-first', jsSource('exports.handler = async (e) => ({ seen: e.id })',
        { egress: { allow: [new URL(other.url).host] }, onSuccess: { url: `${other.url}/v1/events/ce-next`, format: 'cloudevents' } }));
      const firstId = await accepted(await post('ce-first', { ...binary('chain-1'), 'content-type': 'application/json' }, '{}'));
      await ran(firstId);
      const [chain] = await sink.until((r) => r.path === '/chain');
      expect(chain!.json).toMatchObject({
        specversion: '1.0', source: '/functions/ce-first', type: 'dev.hearth.function.succeeded', subject: firstId,
        datacontenttype: 'application/json', hearthcondition: 'Success', data: { seen: 'chain-1' },
      });
    } finally {
      await other.stop();
    }
  });
});

async function eventsMetric(outcome: string, source = 'cloudevents'): Promise<number> {
  const text = await (await fetch(`${h.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('hearth_events_received_total{') && l.includes(`source="${source}"`) && l.includes(`outcome="${outcome}"`));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** Runs of a function that ended (its invocations counter, every outcome). */
async function countRuns(fn: string): Promise<number> {
  const text = await (await fetch(`${h.url}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith('hearth_invocations_total{') && l.includes(`function="${fn}"`))
    .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}
