// The CloudEvents HTTP binding's three content modes read into the structured form, and every
// rule of the spec that makes an event invalid (pure functions; the route is tested end to end in
// test/cloudevents.test.ts).

import { describe, expect, test } from 'vitest';
import { contentModeOf, fromBatch, fromBinary, fromStructured, MAX_BATCH_EVENTS } from './cloudevents.js';

const enc = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));
const REQUIRED = { specversion: '1.0', id: 'e1', source: '/s', type: 't' };
const headers = (o: Record<string, string>) => new Map(Object.entries(o));

describe('content modes', () => {
  test('from the Content-Type (parameters and case ignored), else binary when ce- headers came', () => {
    expect(contentModeOf('application/cloudevents+json; charset=utf-8', false)).toBe('structured');
    expect(contentModeOf('Application/CloudEvents-Batch+JSON', true)).toBe('batched');
    expect(contentModeOf('application/json', true)).toBe('binary');
    expect(contentModeOf('application/json', false)).toBe('notification');
    expect(contentModeOf('', false)).toBe('notification');
    expect(contentModeOf('text/plain', false)).toBeNull();
  });
});

describe('binary mode', () => {
  test('attributes from the headers, percent-decoded; the data by its Content-Type', () => {
    const e = fromBinary(headers({ ...REQUIRED, subject: 'a%20b%C3%A9', myext: '7', time: '2026-12-04T10:00:00.5+01:00' }), 'application/json', enc({ k: [1] }));
    expect(e).toEqual({ ...REQUIRED, subject: 'a bé', myext: '7', time: '2026-12-04T10:00:00.5+01:00', datacontenttype: 'application/json', data: { k: [1] } });
    expect(fromBinary(headers(REQUIRED), 'text/plain; charset=utf-8', enc('héllo')).data).toBe('héllo');
    expect(fromBinary(headers(REQUIRED), 'image/png', new Uint8Array([0, 1, 255])).data_base64).toBe('AAH/');
    // Text that is not UTF-8 is carried as bytes.
    expect(fromBinary(headers(REQUIRED), 'text/plain', new Uint8Array([0xff, 0xfe])).data_base64).toBe('//4=');
    // No Content-Type: JSON when it parses, else bytes; an empty body has no data.
    expect(fromBinary(headers(REQUIRED), '', enc('[1]')).data).toEqual([1]);
    expect(fromBinary(headers(REQUIRED), '', enc('x')).data_base64).toBe('eA==');
    expect('data' in fromBinary(headers(REQUIRED), 'application/json', new Uint8Array())).toBe(false);
  });

  test('each missing required attribute is named; bad values are refused', () => {
    for (const name of ['specversion', 'id', 'source', 'type']) {
      const h = { ...REQUIRED } as Record<string, string>;
      delete h[name];
      expect(() => fromBinary(headers(h), 'application/json', enc(1))).toThrow(`missing the required attribute "${name}"`);
    }
    expect(() => fromBinary(headers({ ...REQUIRED, specversion: '0.3' }), '', enc(1))).toThrow('specversion "0.3" is not supported');
    expect(() => fromBinary(headers({ ...REQUIRED, id: '' }), '', enc(1))).toThrow('"id" must be a non-empty string');
    expect(() => fromBinary(headers({ ...REQUIRED, time: 'yesterday' }), '', enc(1))).toThrow('"time" must be an RFC 3339 timestamp');
    expect(() => fromBinary(headers({ ...REQUIRED, dataschema: 'not a uri' }), '', enc(1))).toThrow('"dataschema" must be an absolute URI');
    expect(() => fromBinary(headers({ ...REQUIRED, 'my_ext': 'x' }), '', enc(1))).toThrow('attribute name "my_ext" is not valid');
    expect(() => fromBinary(headers({ ...REQUIRED, id: '%E0%A4%A' }), '', enc(1))).toThrow('not valid percent-encoded');
    expect(() => fromBinary(headers({ ...REQUIRED, datacontenttype: 'text/plain' }), '', enc(1))).toThrow('Content-Type header, not ce-datacontenttype');
    expect(() => fromBinary(headers(REQUIRED), 'application/json', enc('{oops'))).toThrow('not valid JSON');
    expect(() => fromBinary(headers(REQUIRED), 'application/json', new Uint8Array([0xff]))).toThrow('not valid UTF-8');
    const many = Object.fromEntries(Array.from({ length: 70 }, (_, i) => [`x${i}`, 'v']));
    expect(() => fromBinary(headers({ ...REQUIRED, ...many }), '', enc(1))).toThrow('at most 64 attributes');
  });
});

describe('structured and batched modes', () => {
  test('one event, its data or data_base64 as sent; JSON null is absent', () => {
    expect(fromStructured(enc({ ...REQUIRED, subject: null, data: { a: 1 }, flag: true, n: 3 }))).toEqual({ ...REQUIRED, data: { a: 1 }, flag: true, n: 3 });
    expect(fromStructured(enc({ ...REQUIRED, data_base64: 'AAEC' }))).toEqual({ ...REQUIRED, data_base64: 'AAEC' });
    expect(fromStructured(enc({ ...REQUIRED, data: null }))).toEqual({ ...REQUIRED, data: null });
  });

  test('what makes one invalid', () => {
    expect(() => fromStructured(enc([REQUIRED]))).toThrow('is a JSON object');
    expect(() => fromStructured(enc({ ...REQUIRED, type: undefined }))).toThrow('missing the required attribute "type"');
    expect(() => fromStructured(enc({ ...REQUIRED, source: 5 }))).toThrow('"source" must be a non-empty string');
    expect(() => fromStructured(enc({ ...REQUIRED, source: 'has space' }))).toThrow('"source" must be a URI-reference');
    expect(() => fromStructured(enc({ ...REQUIRED, data: 1, data_base64: 'AA==' }))).toThrow('not both');
    expect(() => fromStructured(enc({ ...REQUIRED, data_base64: 'not base64!' }))).toThrow('must be a base64 string');
    expect(() => fromStructured(enc({ ...REQUIRED, ext: { nested: 1 } }))).toThrow('extension "ext" must be a string, a boolean or an integer');
    expect(() => fromStructured(enc({ ...REQUIRED, ext: 1.5 }))).toThrow('extension "ext"');
    expect(() => fromStructured(enc('{"specversion":'))).toThrow('not valid JSON');
  });

  test('a batch: an array of events, each checked and named by its index; bounded', () => {
    expect(fromBatch(enc([REQUIRED, { ...REQUIRED, id: 'e2' }])).map((e) => e.id)).toEqual(['e1', 'e2']);
    expect(() => fromBatch(enc(REQUIRED))).toThrow('a JSON array');
    expect(() => fromBatch(enc([]))).toThrow('empty');
    expect(() => fromBatch(enc([REQUIRED, { ...REQUIRED, id: undefined }]))).toThrow('event 1 of the batch: the CloudEvent is missing the required attribute "id"');
    expect(() => fromBatch(enc(Array.from({ length: MAX_BATCH_EVENTS + 1 }, () => REQUIRED)))).toThrow(`at most ${MAX_BATCH_EVENTS} events`);
  });
});
