// The source $LATEST was deployed from: kept after a deploy of `code: {source}`, offered only for
// the digest that deploy made, dropped by a deploy of another kind or the function's deletion,
// and a file that cannot be read is none.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FunctionVersion } from './backend.js';
import { FunctionSources, MAX_KEPT_SOURCE_BYTES } from './function-sources.js';

const fn = { name: 'f', version: '$LATEST' } as FunctionVersion;
const source = 'export const handler = async (event) => ({ ok: true, event });\n';
const textSpec = (src = source, filename: string | null = 'index.mjs') => ({
  runtime: 'js', handler: 'index.handler', code: { source: src, ...(filename !== null ? { filename } : {}) },
});

describe('FunctionSources', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'hearth-function-sources-'));
  });
  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it('keeps the source of a deploy from text, for the digest it made', () => {
    const s = new FunctionSources(root);
    expect(s.get('f', 'd1')).toBeNull();
    s.deployed('f', textSpec(), 'd1');
    expect(s.get('f', 'd1')).toStrictEqual({ source, filename: 'index.mjs' });
    // Another function has none.
    expect(s.get('g', 'd1')).toBeNull();
    // Kept on disk.
    expect(new FunctionSources(root).get('f', 'd1')).toStrictEqual({ source, filename: 'index.mjs' });
  });

  it(`keeps no source over ${MAX_KEPT_SOURCE_BYTES} bytes (UTF-8), and drops what it kept before`, () => {
    const s = new FunctionSources(root);
    s.deployed('f', { code: { source: 'small' } }, 'd1');
    s.deployed('f', { code: { source: '\u20ac'.repeat(MAX_KEPT_SOURCE_BYTES / 3 + 1) } }, 'd2');
    expect(s.get('f', 'd2')).toBeNull();
    expect(s.get('f', 'd1')).toBeNull();
    s.deployed('f', { code: { source: 'x'.repeat(MAX_KEPT_SOURCE_BYTES) } }, 'd3');
    expect(s.get('f', 'd3')?.source.length).toBe(MAX_KEPT_SOURCE_BYTES);
  });

  it('has no filename when the deploy gave none', () => {
    const s = new FunctionSources(root);
    s.deployed('f', textSpec(source, null), 'd1');
    expect(s.get('f', 'd1')).toStrictEqual({ source });
  });

  it('a later deploy from text replaces it', () => {
    const s = new FunctionSources(root);
    s.deployed('f', textSpec('// one\n'), 'd1');
    s.deployed('f', textSpec('// two\n', 'main.js'), 'd2');
    expect(s.get('f', 'd2')).toStrictEqual({ source: '// two\n', filename: 'main.js' });
    expect(s.get('f', 'd1')).toBeNull();
  });

  it('offers nothing for another digest ($LATEST deployed since by another way)', () => {
    const s = new FunctionSources(root);
    s.deployed('f', textSpec(), 'd1');
    expect(s.get('f', 'd2')).toBeNull();
    expect(s.get('f', '')).toBeNull();
    expect(s.get('f', 'd1')).not.toBeNull();
  });

  it('a deploy without code.source (a zip, an image) removes what was kept', () => {
    const s = new FunctionSources(root);
    s.deployed('f', textSpec(), 'd1');
    s.deployed('f', { runtime: 'js', handler: 'index.handler', code: { zip: 'UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==' } }, 'd2');
    expect(s.get('f', 'd1')).toBeNull();
    expect(s.get('f', 'd2')).toBeNull();

    s.deployed('f', textSpec(), 'd3');
    s.deployed('f', { runtime: 'image', image: 'example/fn:1' }, 'd4');
    expect(s.get('f', 'd3')).toBeNull();
    expect(s.get('f', 'd4')).toBeNull();

    // Whatever else the body was.
    for (const spec of [null, undefined, 'text', { code: null }, { code: { source: 42 } }]) {
      s.deployed('f', textSpec(), 'd5');
      s.deployed('f', spec, 'd5');
      expect(s.get('f', 'd5')).toBeNull();
    }
    // With nothing kept, no error.
    s.deployed('never', { runtime: 'image', image: 'x' }, 'd1');
    expect(s.get('never', 'd1')).toBeNull();
  });

  it('removes a deleted function\'s source (functionChanged with null), not an updated one\'s', () => {
    const s = new FunctionSources(root);
    s.deployed('f', textSpec(), 'd1');
    s.deployed('g', textSpec(), 'd1');
    s.functionChanged('f', fn);
    expect(s.get('f', 'd1')).not.toBeNull();
    s.functionChanged('f', null);
    expect(s.get('f', 'd1')).toBeNull();
    expect(s.get('g', 'd1')).not.toBeNull();
    s.functionChanged('none', null);
  });

  it('reads a corrupt file as none', () => {
    const s = new FunctionSources(root);
    const file = join(root, 'sources', 'f.json');
    for (const text of ['{"digest":"d1","source":', '', 'null', '[]']) {
      writeFileSync(file, text);
      expect(s.get('f', 'd1')).toBeNull();
    }
    // A deploy writes it afresh.
    s.deployed('f', textSpec(), 'd1');
    expect(s.get('f', 'd1')).toStrictEqual({ source, filename: 'index.mjs' });
  });
});
