// The registry on a real data dir (temp) with fake tiers that record what they are told: the
// catalog it fills, what it tells the tiers (prepare, reserve, retire) and its listeners, and a
// restart from the same data dir. The js tier's prepare is a no-op; the real bundler still runs.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Tiers, type Backend, type FunctionVersion, type Tier } from '../backend.js';
import { DataDir } from '../store.js';
import { Catalog, LATEST, Registry, versionDigest, type FunctionListener } from './index.js';

const dirs: string[] = [];
afterEach(() => {
  vi.restoreAllMocks();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

type Call =
  | { op: 'prepare'; tier: Tier; name: string; digest: string }
  | { op: 'reserve'; tier: Tier; name: string; version: string; digest: string; minInstances: number }
  | { op: 'retire'; tier: Tier; digest: string; gone: boolean };

function fakeTier(tier: Tier, calls: Call[]): Backend {
  return {
    tier,
    ready: async () => undefined,
    prepare: async (v) => { calls.push({ op: 'prepare', tier, name: v.name, digest: v.digest }); },
    invoke: () => Promise.reject(new Error('calls do not run in this test')),
    reserve: (v) => { calls.push({ op: 'reserve', tier, name: v.name, version: v.version, digest: v.digest, minInstances: v.spec.minInstances }); },
    retire: (digest, gone = false) => { calls.push({ op: 'retire', tier, digest, gone }); },
    instances: () => [],
    stats: () => ({ instances: 0, prewarmed: 0, busy: 0, waiting: 0, memoryMb: 0, evictions: 0, coldStarts: 0, resent: 0, idleReleases: 0 }),
    close: async () => undefined,
  };
}

function setup(dir = mkdtempSync(join(tmpdir(), 'hearth-registry-'))) {
  if (!dirs.includes(dir)) dirs.push(dir);
  const calls: Call[] = [];
  const changes: [string, string | null][] = [];
  const listener: FunctionListener = { functionChanged: (name, latest) => { changes.push([name, latest?.digest ?? null]); } };
  const catalog = new Catalog(); // first, empty: what the dispatcher and triggers are built on
  const data = new DataDir(dir);
  const registry = new Registry({
    catalog, data, tiers: new Tiers(fakeTier('isolate', calls), fakeTier('container', calls)),
    limits: { maxCodeBytes: 1 << 20 }, listeners: [listener],
  });
  return { dir, data, catalog, registry, calls, changes };
}

const js = (n: number) => ({ runtime: 'js', handler: 'index.main_handler', code: { source: `exports.main_handler = () => ${n}` } });
const of = <K extends Call['op']>(calls: Call[], op: K) => calls.filter((c): c is Extract<Call, { op: K }> => c.op === op);

describe('Registry', () => {
  it('deploy, resolve, publish, weighted alias, redeploy, delete; then restore from the same data dir', async () => {
    const { dir, catalog, registry, calls, changes } = setup();

    // Deploy: prepared on the js tier, stored, resolvable through the catalog, listeners told.
    const d1 = await registry.deploy('f', js(1));
    expect(d1).toMatchObject({ created: true, changed: true, view: { name: 'f', version: LATEST } });
    const v1 = catalog.resolve('f', '');
    expect(v1).toBe(registry.catalog.resolve('f', LATEST));
    expect(v1).toMatchObject({ name: 'f', version: LATEST, runtime: 'js', exportName: 'main_handler', digest: d1.view.digest });
    expect(of(calls, 'prepare')).toEqual([{ op: 'prepare', tier: 'isolate', name: 'f', digest: v1.digest }]);
    expect(of(calls, 'reserve').map((c) => [c.version, c.digest])).toEqual([[LATEST, v1.digest]]);
    expect(changes).toEqual([['f', v1.digest]]);
    expect(catalog.has('f') && registry.catalog.has('f')).toBe(true);
    expect((await registry.deploy('f', js(1))).changed).toBe(false); // same spec and code: nothing to do

    // Publish twice (the second is the same version back), redeploy, publish again: versions 1 and 2.
    const p1 = await registry.publish('f', { description: 'first' });
    expect(p1).toMatchObject({ created: true, view: { version: '1', description: 'first', codeDigest: v1.codeDigest } });
    expect(await registry.publish('f', {})).toMatchObject({ created: false, view: { version: '1' } });
    await registry.deploy('f', js(2));
    const p2 = await registry.publish('f', {});
    expect(p2.view.version).toBe('2');
    const [one, two] = [registry.catalog.resolve('f', '1'), registry.catalog.resolve('f', '2')];
    expect(one.digest).toBe(versionDigest('f', one.spec, one.codeDigest, undefined, '1'));
    expect(registry.versions('f').map((v) => v.version)).toEqual([LATEST, '1', '2']);

    // A weighted alias: 25% to version 2; its minInstances split by weight, rounded up.
    calls.length = 0;
    const a = await registry.putAlias('f', 'live', { version: '1', additionalVersionWeights: { 2: 0.25 }, minInstances: 4 });
    expect(a).toMatchObject({ created: true, view: { functionName: 'f', name: 'live', version: '1' } });
    const random = vi.spyOn(Math, 'random');
    random.mockReturnValue(0.1);
    expect(registry.catalog.resolve('f', 'live').digest).toBe(two.digest);
    random.mockReturnValue(0.9);
    expect(registry.catalog.resolve('f', 'live').digest).toBe(one.digest);
    random.mockRestore();
    expect(registry.catalog.versionsFor('f', 'live').map((v) => v.version)).toEqual(['1', '2']);
    expect(of(calls, 'reserve').map((c) => [c.version, c.minInstances])).toEqual([[LATEST, 0], ['1', 3], ['2', 1]]);
    expect(of(calls, 'retire')).toEqual([]); // an alias move retires nothing

    // Redeploy: the old $LATEST digest is retired (not gone: its calls finish), calls resolve to the new one.
    calls.length = 0;
    changes.length = 0;
    const oldLatest = registry.catalog.resolve('f', '');
    await registry.deploy('f', js(3));
    const latest = registry.catalog.resolve('f', '');
    expect(latest.digest).not.toBe(oldLatest.digest);
    expect(of(calls, 'retire')).toEqual([{ op: 'retire', tier: 'isolate', digest: oldLatest.digest, gone: false }]);
    expect(oldLatest.lifecycle?.retired).toBe(true);
    expect(latest.lifecycle?.retired).toBe(false);
    expect(registry.catalog.resolve('f', '1').lifecycle).toBe(one.lifecycle); // published versions keep theirs
    expect(changes).toEqual([['f', latest.digest]]);

    // A second function, then a restart from the same data dir: same digests, listeners told.
    await registry.deploy('g', { runtime: 'python3', handler: 'index.handler', code: { source: 'def handler(e, c):\n  return 1\n' } });
    const before = new Map(['f', 'g'].map((n) => [n, registry.catalog.versionsFor(n, '').map((v) => v.digest)]));
    const again = setup(dir);
    const restored = again.registry.restore();
    expect(restored.map((v) => v.name).sort()).toEqual(['f', 'g']);
    for (const [n, digests] of before) expect(again.catalog.versionsFor(n, '').map((v) => v.digest)).toEqual(digests);
    expect(again.changes.sort()).toEqual([['f', latest.digest], ['g', before.get('g')![0]!]]);
    expect(of(again.calls, 'reserve').find((c) => c.name === 'g')).toMatchObject({ tier: 'container', version: LATEST });
    expect(of(again.calls, 'reserve').filter((c) => c.name === 'f').map((c) => [c.version, c.minInstances])).toEqual([[LATEST, 0], ['1', 3], ['2', 1]]);
    expect(again.registry.alias('f', 'live')).toEqual(registry.alias('f', 'live'));
    expect(again.registry.list()).toEqual(registry.list());

    // Delete (on the restarted one): every digest retired as gone, listeners told (name, null).
    again.calls.length = 0;
    again.changes.length = 0;
    await again.registry.delete('f');
    expect(of(again.calls, 'retire')).toEqual(before.get('f')!.map((digest) => ({ op: 'retire', tier: 'isolate', digest, gone: true })));
    expect(again.changes).toEqual([['f', null]]);
    expect(again.catalog.has('f')).toBe(false);
    expect(() => again.catalog.resolve('f', '')).toThrow('function "f" does not exist');
    expect(() => again.registry.get('f')).toThrow('function "f" does not exist');
    expect(again.registry.list().map((f) => f.name)).toEqual(['g']);
  });

  it('resolve errors name what is missing; a version an alias uses is not deleted', async () => {
    const { registry } = setup();
    await registry.deploy('f', js(1));
    await registry.publish('f', {});
    await registry.putAlias('f', 'live', { version: '1' });
    expect(() => registry.catalog.resolve('f', 'nope')).toThrow('function "f" has no version or alias "nope"');
    await expect(registry.deleteVersion('f', '1')).rejects.toThrow('version 1 of "f" is used by alias "live": point it elsewhere first');
    await registry.deleteAlias('f', 'live');
    await registry.deleteVersion('f', '1');
    expect(() => registry.catalog.resolve('f', '1')).toThrow('function "f" has no version or alias "1"');
  });
});
