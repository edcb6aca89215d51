// Saved test payloads: put/list/delete kept on disk per function, the name and body checks
// (HearthError with its problems), the bound on names a function, names that are also
// Object.prototype's keys, and a deleted function's payloads going with it.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FunctionVersion } from './backend.js';
import { HearthError } from './errors.js';
import { MAX_BYTES_PER_FUNCTION, MAX_PAYLOAD_BYTES, MAX_PER_FUNCTION, TestPayloads } from './test-payloads.js';

const fn = { name: 'f', version: '$LATEST' } as FunctionVersion;

/** The HearthError `f` throws. */
function refusal(f: () => unknown): HearthError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(HearthError);
    return err as HearthError;
  }
  throw new Error('expected a refusal');
}

describe('TestPayloads', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'hearth-test-payloads-'));
  });
  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it('puts, lists (by name) and deletes; created is true for a new name, false when it replaces one', () => {
    const p = new TestPayloads(root);
    expect(p.list('f')).toEqual([]);
    const first = p.put('f', 'beta', { body: '{"n":1}' });
    expect(first.created).toBe(true);
    expect(first.payload).toMatchObject({ name: 'beta', encoding: 'json', body: '{"n":1}' });
    expect(new Date(first.payload.savedAt).toISOString()).toBe(first.payload.savedAt);
    expect(p.put('f', 'alpha', { encoding: 'msgpack', body: '[1,2]' }).created).toBe(true);
    expect(p.put('f', 'gamma 2.x_y-z', { encoding: 'json', body: '"s"' }).created).toBe(true);
    expect(p.list('f').map((x) => x.name)).toEqual(['alpha', 'beta', 'gamma 2.x_y-z']);
    expect(p.list('f')[0]).toMatchObject({ name: 'alpha', encoding: 'msgpack', body: '[1,2]' });

    const replaced = p.put('f', 'beta', { body: '{"n":2}' });
    expect(replaced.created).toBe(false);
    expect(p.list('f').map((x) => [x.name, x.body])).toEqual([['alpha', '[1,2]'], ['beta', '{"n":2}'], ['gamma 2.x_y-z', '"s"']]);

    expect(p.delete('f', 'beta')).toBe(true);
    expect(p.list('f').map((x) => x.name)).toEqual(['alpha', 'gamma 2.x_y-z']);
    expect(p.delete('f', 'beta')).toBe(false);
    expect(p.delete('f', 'alpha')).toBe(true);
    expect(p.delete('f', 'gamma 2.x_y-z')).toBe(true);
    expect(p.list('f')).toEqual([]);
  });

  it('keeps each function\'s apart', () => {
    const p = new TestPayloads(root);
    p.put('f', 'a', { body: '1' });
    p.put('g', 'b', { body: '2' });
    expect(p.list('f').map((x) => x.name)).toEqual(['a']);
    expect(p.list('g').map((x) => x.name)).toEqual(['b']);
    expect(p.delete('f', 'b')).toBe(false);
  });

  it('are kept on disk: another TestPayloads on the same data dir sees them', () => {
    const p = new TestPayloads(root);
    const { payload } = p.put('f', 'one', { body: '{"a":[1]}' });
    p.put('f', 'two', { encoding: 'msgpack', body: '{}' });
    const again = new TestPayloads(root);
    expect(again.list('f')).toEqual([payload, expect.objectContaining({ name: 'two', encoding: 'msgpack', body: '{}' })]);
    expect(again.delete('f', 'one')).toBe(true);
    expect(new TestPayloads(root).list('f').map((x) => x.name)).toEqual(['two']);
  });

  it('refuses a name that is not 1-64 letters, digits, spaces, _ . or -', () => {
    const p = new TestPayloads(root);
    for (const name of ['../x', '', 'x'.repeat(65), 'a/b', 'a\\b', 'é', 'a\nb']) {
      const err = refusal(() => p.put('f', name, { body: '{}' }));
      expect(err.type).toBe('InvalidRequestContent');
      expect(err.status).toBe(400);
      expect(err.problems).toEqual([{ path: 'name', message: expect.any(String) }]);
    }
    expect(p.list('f')).toEqual([]);
    expect(p.put('f', 'x'.repeat(64), { body: '{}' }).created).toBe(true);
  });

  it('refuses a json body that is not JSON (a msgpack one is the console\'s to encode)', () => {
    const p = new TestPayloads(root);
    for (const body of ['{not json', '', '{"a":1} trailing']) {
      const err = refusal(() => p.put('f', 'a', { encoding: 'json', body }));
      expect(err.type).toBe('InvalidRequestContent');
      expect(err.problems).toEqual([{ path: 'body', message: expect.stringContaining('not JSON') }]);
    }
    // The default encoding is json.
    expect(refusal(() => p.put('f', 'a', { body: 'nope' })).problems).toEqual([{ path: 'body', message: expect.stringContaining('not JSON') }]);
    expect(p.list('f')).toEqual([]);
  });

  it('refuses what is not {encoding?, body}: unknown keys, a missing or non-string body, another encoding', () => {
    const p = new TestPayloads(root);
    const extra = refusal(() => p.put('f', 'a', { body: '{}', extra: 1 }));
    expect(extra.type).toBe('InvalidRequestContent');
    expect(extra.problems).toHaveLength(1);
    expect(extra.problems![0]!.message).toContain('extra');
    expect(extra.message).toContain('extra');

    expect(refusal(() => p.put('f', 'a', { encoding: 'json' })).problems).toEqual([{ path: 'body', message: expect.any(String) }]);
    expect(refusal(() => p.put('f', 'a', { body: { a: 1 } })).problems).toEqual([{ path: 'body', message: expect.any(String) }]);
    expect(refusal(() => p.put('f', 'a', { encoding: 'xml', body: '{}' })).problems).toEqual([{ path: 'encoding', message: expect.any(String) }]);
    for (const body of [null, 'text', 42, []]) expect(refusal(() => p.put('f', 'a', body)).type).toBe('InvalidRequestContent');
    expect(p.list('f')).toEqual([]);
  });

  it(`bounds a function's payloads together at ${MAX_BYTES_PER_FUNCTION} bytes (413); replacing one counts its new size only`, () => {
    const p = new TestPayloads(root);
    const big = `"${'x'.repeat(MAX_PAYLOAD_BYTES - 2)}"`;
    for (const n of ['a', 'b', 'c', 'd']) p.put('f', n, { body: big });
    const err = refusal(() => p.put('f', 'e', { body: '1' }));
    expect(err.type).toBe('RequestTooLarge');
    expect(err.status).toBe(413);
    expect(p.put('f', 'a', { body: '1' }).created).toBe(false);
    expect(p.put('f', 'e', { body: '2' }).created).toBe(true);
    expect(MAX_PAYLOAD_BYTES * 4).toBe(MAX_BYTES_PER_FUNCTION);
  });

  it('takes a msgpack payload as the JSON text the console encodes, so it must be JSON too', () => {
    const p = new TestPayloads(root);
    expect(refusal(() => p.put('f', 'm', { encoding: 'msgpack', body: 'not json at all' })).problems).toEqual([{ path: 'body', message: expect.any(String) }]);
    expect(p.put('f', 'm', { encoding: 'msgpack', body: '{"a":1}' }).payload.encoding).toBe('msgpack');
  });

  it('counts a body\'s bound in UTF-8 bytes, not characters', () => {
    const p = new TestPayloads(root);
    const threeBytes = '\u20ac'; // €
    const over = `"${threeBytes.repeat(Math.ceil(MAX_PAYLOAD_BYTES / 3))}"`;
    expect(() => p.put('f', 'euros', { body: over })).toThrow(/bytes/);
  });

  it(`refuses a body over ${MAX_PAYLOAD_BYTES} bytes, takes one of exactly that`, () => {
    const p = new TestPayloads(root);
    const atBound = `"${'x'.repeat(MAX_PAYLOAD_BYTES - 2)}"`;
    expect(p.put('f', 'big', { body: atBound }).created).toBe(true);
    const over = `"${'x'.repeat(MAX_PAYLOAD_BYTES - 1)}"`;
    const err = refusal(() => p.put('f', 'bigger', { body: over }));
    expect(err.type).toBe('InvalidRequestContent');
    expect(err.problems).toEqual([{ path: 'body', message: expect.any(String) }]);
    expect(p.list('f').map((x) => [x.name, x.body.length])).toEqual([['big', MAX_PAYLOAD_BYTES]]);
  });

  it(`refuses a function's ${MAX_PER_FUNCTION + 1}th name (TooManyRequests); replacing one, or another function's, still works`, () => {
    const p = new TestPayloads(root);
    const names = Array.from({ length: MAX_PER_FUNCTION }, (_, i) => `p${String(i).padStart(2, '0')}`);
    for (const name of names) expect(p.put('f', name, { body: '{}' }).created).toBe(true);
    const err = refusal(() => p.put('f', 'one more', { body: '{}' }));
    expect(err.type).toBe('TooManyRequests');
    expect(err.status).toBe(429);
    expect(p.list('f')).toHaveLength(MAX_PER_FUNCTION);
    expect(p.put('f', 'p07', { body: '{"again":true}' }).created).toBe(false);
    expect(p.list('f').find((x) => x.name === 'p07')!.body).toBe('{"again":true}');
    expect(p.put('g', 'one more', { body: '{}' }).created).toBe(true);
    // With one deleted, a new name fits again.
    expect(p.delete('f', 'p00')).toBe(true);
    expect(p.put('f', 'one more', { body: '{}' }).created).toBe(true);
    expect(p.list('f')).toHaveLength(MAX_PER_FUNCTION);
  });

  it('removes a deleted function\'s payloads (functionChanged with null), not an updated one\'s', () => {
    const p = new TestPayloads(root);
    p.put('f', 'a', { body: '{}' });
    p.put('g', 'b', { body: '{}' });
    p.functionChanged('f', fn);
    expect(p.list('f')).toHaveLength(1);
    p.functionChanged('f', null);
    expect(p.list('f')).toEqual([]);
    expect(new TestPayloads(root).list('f')).toEqual([]);
    expect(p.list('g')).toHaveLength(1);
    // A function with none: nothing to remove, no error.
    p.functionChanged('none', null);
  });

  it('handles names that are Object.prototype\'s keys as plain names', () => {
    const p = new TestPayloads(root);
    for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) expect(p.delete('f', name)).toBe(false);
    expect(p.put('f', '__proto__', { body: '{"polluted":true}' }).created).toBe(true);
    expect(p.put('f', 'constructor', { body: '1' }).created).toBe(true);
    expect(p.put('f', 'toString', { body: '2' }).created).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).body).toBeUndefined();
    expect(p.list('f').map((x) => [x.name, x.body])).toEqual([['__proto__', '{"polluted":true}'], ['constructor', '1'], ['toString', '2']]);
    // As read back from disk too.
    const again = new TestPayloads(root);
    expect(again.list('f').map((x) => x.name)).toEqual(['__proto__', 'constructor', 'toString']);
    expect(again.put('f', '__proto__', { body: '3' }).created).toBe(false);
    expect(again.delete('f', '__proto__')).toBe(true);
    expect(again.delete('f', '__proto__')).toBe(false);
    expect(again.delete('f', 'hasOwnProperty')).toBe(false);
    expect(again.list('f').map((x) => x.name)).toEqual(['constructor', 'toString']);
  });

  it('reads a corrupt file as none, and replaces it on the next put', () => {
    const p = new TestPayloads(root);
    writeFileSync(join(root, 'test-payloads', 'f.json'), '{not json');
    expect(p.list('f')).toEqual([]);
    expect(p.delete('f', 'a')).toBe(false);
    expect(p.put('f', 'a', { body: '{}' }).created).toBe(true);
    expect(new TestPayloads(root).list('f').map((x) => x.name)).toEqual(['a']);
  });
});
