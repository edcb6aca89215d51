// Stored code and its V8 cached data go when no function names them any more, and not before.
// A real DataDir and Registry on a temp dir; the tiers are no-ops (nothing runs here).

import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Tiers, type Backend } from './backend.js';
import { Catalog, Registry } from './registry/index.js';
import { DataDir } from './store.js';

const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });

function setup(dir = mkdtempSync(join(tmpdir(), 'hearth-store-'))) {
  dirs.push(dir);
  const data = new DataDir(dir);
  const none: Backend = {
    tier: 'container',
    ready: async () => undefined,
    prepare: async () => undefined,
    invoke: () => Promise.reject(new Error('nothing runs here')),
    reserve: () => undefined,
    retire: () => undefined,
    instances: () => [],
    stats: () => ({ instances: 0, prewarmed: 0, busy: 0, waiting: 0, memoryMb: 0, evictions: 0, coldStarts: 0, resent: 0, idleReleases: 0 }),
    close: async () => undefined,
  };
  const registry = new Registry({ catalog: new Catalog(), data, tiers: new Tiers(none, none), limits: { maxCodeBytes: 1 << 20 }, listeners: [] });
  return { dir, data, registry };
}
const spec = (n: number) => ({ runtime: 'js', handler: 'index.main_handler', code: { source: `exports.main_handler = () => ${n}` } });
const files = (dir: string, sub: string) => readdirSync(join(dir, sub)).sort();

describe('stored code and cached data', () => {
  it('a redeploy with new code, or a delete, removes the old code and its cached data, unless another function has it', async () => {
    const { dir, data, registry } = setup();
    const a = await registry.deploy('a', spec(1));
    await registry.deploy('b', spec(1)); // the same code as a
    const code1 = (a.view as { codeDigest: string }).codeDigest;
    data.putCache(code1, new Uint8Array([1, 2, 3]));
    expect(files(dir, 'code')).toEqual([code1]);

    await registry.deploy('a', spec(2)); // a moves on; b still has code1
    const code2 = registry.catalog.resolve('a', '').codeDigest;
    expect(files(dir, 'code')).toEqual([code1, code2].sort());
    expect(data.getCache(code1)).not.toBeNull();

    await registry.delete('b'); // nobody has code1 now
    expect(files(dir, 'code')).toEqual([code2]);
    expect(data.getCache(code1)).toBeNull();
    expect(files(dir, 'cache')).toEqual([]);
  });

  it('at start, removes code no record names and cached data of dead code or of another V8', async () => {
    const { dir, data, registry } = setup();
    await registry.deploy('a', spec(1));
    const live = registry.catalog.resolve('a', '').codeDigest;
    data.putCache(live, new Uint8Array([1]));
    writeFileSync(join(dir, 'code', 'f'.repeat(64)), 'orphan');
    writeFileSync(join(dir, 'cache', `${'f'.repeat(64)}-v8-1.0.0.bin`), 'x');
    writeFileSync(join(dir, 'cache', `${live}-v8-0.0.1-old.bin`), 'x');
    const again = setup(dir);
    again.registry.restore();
    expect(files(dir, 'code')).toEqual([live]);
    expect(files(dir, 'cache')).toHaveLength(1);
    expect(again.data.getCache(live)).not.toBeNull();
    expect(existsSync(join(dir, 'functions', 'a.json'))).toBe(true);
  });
});
