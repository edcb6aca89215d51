// Registry and function formats, against a real Hearth process over real HTTP.
import { zipSync } from 'fflate';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployOk, jsSource, startHearth, type Hearth } from './support/hearth.js';

let h: Hearth;
beforeAll(async () => { h = await startHearth(); });
afterAll(async () => { await h?.stop(); });

const zip = (files: Record<string, string>) =>
  Buffer.from(zipSync(Object.fromEntries(Object.entries(files).map(([k, v]) => [k, new TextEncoder().encode(v)])))).toString('base64');

async function call(name: string, event: unknown) {
  const r = await h.invoke(name, event);
  return { status: r.status, body: await r.json() as any, headers: r.headers };
}

describe('function formats', () => {
  it('SCF exports.main_handler', async () => {
    await deployOk(h, 'scf', jsSource('exports.main_handler = async (event, context) => ({ got: event.x, fn: context.functionName })', {}, 'index.main_handler'));
    expect(await call('scf', { x: 1 })).toMatchObject({ status: 200, body: { got: 1, fn: 'scf' } });
  });

  it('Lambda exports.handler, also with a callback', async () => {
    await deployOk(h, 'lambda', jsSource('exports.handler = async (event) => ({ twice: event.n * 2 })'));
    expect((await call('lambda', { n: 21 })).body).toEqual({ twice: 42 });
    await deployOk(h, 'lambda-cb', jsSource('exports.handler = (event, context, callback) => { callback(null, { cb: event.n }) }'));
    expect((await call('lambda-cb', { n: 3 })).body).toEqual({ cb: 3 });
  });

  it('ESM export const handler and export default async function', async () => {
    await deployOk(h, 'esm-const', jsSource('export const handler = async (e) => ({ esm: e.v })'));
    expect((await call('esm-const', { v: 'a' })).body).toEqual({ esm: 'a' });
    await deployOk(h, 'esm-default', jsSource('export default async function (e) { return { def: e.v } }', {}, 'index.default'));
    expect((await call('esm-default', { v: 'b' })).body).toEqual({ def: 'b' });
  });

  it('the handler string names file and export', async () => {
    await deployOk(h, 'named', { runtime: 'js', handler: 'app/main.run', code: { zip: zip({ 'app/main.js': 'exports.run = async () => "ran"' }) } });
    expect((await call('named', {})).body).toBe('ran');
  });

  it('a zip is bundled once into one script (relative imports and node_modules)', async () => {
    const files = {
      'index.mjs': "import { add } from './lib/math.js'; import pad from 'leftpad-lite'; export const handler = async (e) => ({ sum: add(e.a, e.b), padded: pad(String(e.a), 4) });",
      'lib/math.js': 'export const add = (a, b) => a + b;',
      'node_modules/leftpad-lite/package.json': JSON.stringify({ name: 'leftpad-lite', main: 'index.js' }),
      'node_modules/leftpad-lite/index.js': "module.exports = (s, n) => s.padStart(n, '0');",
    };
    const v = await deployOk(h, 'zipped', { runtime: 'js', handler: 'index.handler', code: { zip: zip(files) } });
    expect((await call('zipped', { a: 2, b: 3 })).body).toEqual({ sum: 5, padded: '0002' });
    // Stored content-addressed: the file is named by the sha256 of the bundled script.
    const stored = readFileSync(join(h.dataDir, 'code', String(v.codeDigest)));
    const { createHash } = await import('node:crypto');
    expect(createHash('sha256').update(stored).digest('hex')).toBe(v.codeDigest);
    expect(stored.toString()).toContain('padStart');
  });

  it('context carries requestId, functionName, functionVersion, memoryLimitInMb, timeLimitInMs, getRemainingTimeInMillis()', async () => {
    await deployOk(h, 'ctx', jsSource(`exports.handler = async (e, c) => ({
      requestId: c.requestId, functionName: c.functionName, functionVersion: c.functionVersion,
      memoryLimitInMb: c.memoryLimitInMb, timeLimitInMs: c.timeLimitInMs, remaining: c.getRemainingTimeInMillis() })`, { memoryMb: 96, timeoutMs: 5000 }));
    const r = await call('ctx', {});
    expect(r.body).toMatchObject({ requestId: r.headers.get('x-hearth-request-id'), functionName: 'ctx', functionVersion: '$LATEST', memoryLimitInMb: 96, timeLimitInMs: 5000 });
    expect(r.body.remaining).toBeGreaterThan(0);
    expect(r.body.remaining).toBeLessThanOrEqual(5000);
  });
});

describe('deploy errors are 400s that say what is wrong', () => {
  it('a syntax error quotes the problem', async () => {
    const r = await h.deploy('bad-syntax', jsSource('exports.handler = async (e) => { return e +; }'));
    expect(r.status).toBe(400);
    const b = await r.json() as any;
    expect(b.errorType).toBe('CompileError');
    expect(b.errorMessage).toContain('index.js:1');
    expect(b.errorMessage).toContain('return e +;');
  });

  it('importing a Node built-in is refused and named', async () => {
    for (const src of ["import fs from 'fs'; export const handler = () => fs;", "const p = require('node:path'); exports.handler = () => p.sep;"]) {
      const r = await h.deploy('builtin', jsSource(src));
      expect(r.status).toBe(400);
      const b = await r.json() as any;
      expect(b.errorType).toBe('CompileError');
      expect(b.errorMessage).toMatch(/Node built-in "(fs|node:path)"/);
    }
  });

  it('a handler that is not exported', async () => {
    const r = await h.deploy('noexport', jsSource('exports.other = () => 1;'));
    expect(r.status).toBe(400);
    const b = await r.json() as any;
    expect(b.errorType).toBe('InitError');
    expect(b.errorMessage).toContain("export 'handler' is not a function");
    expect(b.errorMessage).toContain('other');
  });

  it('a bad spec names the field', async () => {
    const cases: [unknown, string][] = [
      [{ runtime: 'js', handler: 'index.handler', code: { source: 'x' }, memoryMb: 'lots' }, 'memoryMb'],
      [{ runtime: 'cobol', handler: 'index.handler', code: { source: 'x' } }, 'runtime'],
      [{ runtime: 'js', code: { source: 'x' } }, 'handler'],
      [{ runtime: 'js', handler: 'index.handler', code: { source: 'x' }, surprise: 1 }, 'surprise'],
      [{ runtime: 'js', handler: 'index.handler', code: { source: 'x' }, minInstances: 5, maxInstances: 2 }, 'minInstances'],
    ];
    for (const [spec, field] of cases) {
      const r = await h.deploy('badspec', spec);
      expect(r.status, JSON.stringify(spec)).toBe(400);
      const b = await r.json() as any;
      expect(b.errorType).toBe('InvalidSpec');
      expect(b.errorMessage).toContain(field);
    }
    const r = await fetch(`${h.url}/v1/functions/badspec`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{not json' });
    expect(r.status).toBe(400);
    expect((await r.json() as any).errorType).toBe('InvalidRequestContent');
  });

  it('a bad name is refused', async () => {
    const r = await h.deploy('9-starts-with-digit', jsSource('exports.handler = () => 1'));
    expect(r.status).toBe(400);
    expect((await r.json() as any).errorMessage).toContain('name');
  });
});

describe('registry', () => {
  it('PUT creates (201) then updates (200); GET, list and DELETE', async () => {
    const c = await h.deploy('crud', jsSource('exports.handler = () => 1'));
    expect(c.status).toBe(201);
    const created = await c.json() as any;
    expect(created).toMatchObject({ name: 'crud', version: '$LATEST', runtime: 'js', handler: 'index.handler' });
    expect(created.digest).toMatch(/^[0-9a-f]{64}$/);
    const same = await h.deploy('crud', jsSource('exports.handler = () => 1'));
    expect(same.status).toBe(200);
    expect((await same.json() as any).digest).toBe(created.digest);
    const u = await h.deploy('crud', jsSource('exports.handler = () => 2'));
    expect(u.status).toBe(200);
    const updated = await u.json() as any;
    expect(updated.digest).not.toBe(created.digest);
    expect((await call('crud', {})).body).toBe(2);

    const got = await (await fetch(`${h.url}/v1/functions/crud`)).json() as any;
    expect(got.digest).toBe(updated.digest);
    expect(got.code).toBeUndefined();
    const list = await (await fetch(`${h.url}/v1/functions`)).json() as any;
    expect(list.functions.map((f: any) => f.name)).toContain('crud');

    const d = await fetch(`${h.url}/v1/functions/crud`, { method: 'DELETE' });
    expect(d.status).toBe(204);
    expect((await fetch(`${h.url}/v1/functions/crud`)).status).toBe(404);
    expect((await h.invoke('crud', {})).status).toBe(404);
    expect((await fetch(`${h.url}/v1/functions/crud`, { method: 'DELETE' })).status).toBe(404);
  });

  it('a redeploy that changes only how events run (retries, destinations) is a change, not kept as before', async () => {
    const first = await deployOk(h, 'evcfg', jsSource('exports.handler = () => 1', { maxRetries: 2 }));
    const again = await h.deploy('evcfg', jsSource('exports.handler = () => 1', { maxRetries: 0, onFailure: { function: 'crud' } }));
    expect(again.status).toBe(200);
    const changed = await again.json() as any;
    expect(changed.digest).not.toBe(first.digest);
    const got = await (await fetch(`${h.url}/v1/functions/evcfg`)).json() as any;
    expect(got).toMatchObject({ maxRetries: 0, onFailure: { function: 'crud' } });
  });

  it('an update sends new calls to the new code at once', async () => {
    await deployOk(h, 'flip', jsSource('exports.handler = () => "old"'));
    expect((await call('flip', {})).body).toBe('old');
    await deployOk(h, 'flip', jsSource('exports.handler = () => "new"'));
    expect((await call('flip', {})).body).toBe('new');
  });
});

describe('persistence', () => {
  it('functions survive a restart, and a repeated cold start loads V8 cached data', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'hearth-persist-'));
    try {
      const a = await startHearth({ dataDir });
      const v = await deployOk(a, 'kept', jsSource('let n = 0; exports.handler = async (e) => ({ n: ++n, e })'));
      expect((await (await a.invoke('kept', { x: 1 })).json())).toEqual({ n: 1, e: { x: 1 } });
      expect(await a.stop()).toBe(0);
      expect(readdirSync(join(dataDir, 'cache')).some((f) => f.startsWith(String(v.codeDigest)))).toBe(true);

      const b = await startHearth({ dataDir });
      const r = await b.invoke('kept', { x: 2 });
      expect(r.status).toBe(200);
      expect(r.headers.get('x-hearth-cold')).toBe('true');
      expect(await r.json()).toEqual({ n: 1, e: { x: 2 } });
      const inst = await (await fetch(`${b.url}/v1/functions/kept/instances`)).json() as any;
      expect(inst.instances).toHaveLength(1);
      expect(inst.instances[0].detail.codeCache).toBe('consumed');
      expect(inst.instances[0].digest).toBe(v.digest);
      await b.stop();
      expect(existsSync(join(dataDir, 'functions', 'kept.json'))).toBe(true);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('the bundler stays inside the code', () => {
  it('an import of a host file is refused at deploy', async () => {
    for (const src of [
      "const x = require('/etc/hostname'); exports.handler = () => x;",
      "const x = require('../../../../../../etc/passwd'); exports.handler = () => x;",
    ]) {
      const r = await h.deploy('sneaky', jsSource(src));
      expect(r.status, src).toBe(400);
      expect(((await r.json()) as any).errorMessage).toMatch(/outside the function's code|Could not resolve/);
    }
  });
});
