// Versions and aliases against a real Hearth: publishing, qualifiers on invoke (and on the Lambda
// API), aliases moving and splitting calls by weight (checked within statistical bounds), the 409
// for a version an alias uses, reserved instances per alias, and all of it surviving a restart.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployOk, jsSource, startHearth, type Hearth } from './support/hearth.js';
import { until } from './support/until.js';

const CODE = (v: number) => jsSource(`exports.handler = async (e, context) => ({ v: ${v}, functionVersion: context.functionVersion });`);

async function json(h: Hearth, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const r = await fetch(`${h.url}${path}`, { method, headers: { 'content-type': 'application/json' }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

async function call(h: Hearth, name: string, qualifier?: string): Promise<{ status: number; executed: string | null; body: any }> {
  const r = await fetch(`${h.url}/v1/functions/${name}/invoke${qualifier !== undefined ? `?qualifier=${encodeURIComponent(qualifier)}` : ''}`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}',
  });
  return { status: r.status, executed: r.headers.get('x-hearth-executed-version'), body: await r.json() };
}

describe('versions and aliases', () => {
  let h: Hearth;
  beforeAll(async () => {
    h = await startHearth({ args: ['--no-docker'] });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('publishes $LATEST as numbered, immutable versions; an unchanged $LATEST gives the last one back', async () => {
    await deployOk(h, 'pub', CODE(1));
    const v1 = await json(h, 'POST', '/v1/functions/pub/versions', { description: 'first' });
    expect(v1.status).toBe(201);
    expect(v1.body).toMatchObject({ name: 'pub', version: '1', description: 'first', runtime: 'js' });
    const again = await json(h, 'POST', '/v1/functions/pub/versions');
    expect(again.status).toBe(200);
    expect(again.body.version).toBe('1');
    await deployOk(h, 'pub', CODE(2));
    const v2 = await json(h, 'POST', '/v1/functions/pub/versions');
    expect(v2.status).toBe(201);
    expect(v2.body.version).toBe('2');
    await deployOk(h, 'pub', CODE(3)); // $LATEST moves on; the versions do not

    expect(await call(h, 'pub', '1')).toMatchObject({ status: 200, executed: '1', body: { v: 1, functionVersion: '1' } });
    expect(await call(h, 'pub', '2')).toMatchObject({ status: 200, executed: '2', body: { v: 2, functionVersion: '2' } });
    expect(await call(h, 'pub', '$LATEST')).toMatchObject({ status: 200, executed: '$LATEST', body: { v: 3, functionVersion: '$LATEST' } });
    expect(await call(h, 'pub')).toMatchObject({ executed: '$LATEST', body: { v: 3 } });
    expect(await call(h, 'pub', '9')).toMatchObject({ status: 404, body: { errorType: 'VersionNotFound' } });

    const list = await json(h, 'GET', '/v1/functions/pub/versions');
    expect(list.body.versions.map((v: { version: string }) => v.version)).toEqual(['$LATEST', '1', '2']);
    // The version numbers are never reused, even after a delete.
    expect((await json(h, 'DELETE', '/v1/functions/pub/versions/2')).status).toBe(204);
    expect(await call(h, 'pub', '2')).toMatchObject({ status: 404, body: { errorType: 'VersionNotFound' } });
    expect((await json(h, 'POST', '/v1/functions/pub/versions')).body.version).toBe('3');
    expect((await json(h, 'DELETE', '/v1/functions/pub/versions/$LATEST')).status).toBe(400);
    expect((await json(h, 'DELETE', '/v1/functions/pub/versions/7')).status).toBe(404);
    expect((await json(h, 'POST', '/v1/functions/pub/versions', { descripton: 'typo' })).status).toBe(400);
    expect((await json(h, 'POST', '/v1/functions/nope/versions')).status).toBe(404);
  });

  it('routes an alias to its version, moves it at once, and refuses to delete a version an alias uses (409)', async () => {
    await deployOk(h, 'al', CODE(1));
    await json(h, 'POST', '/v1/functions/al/versions');
    await deployOk(h, 'al', CODE(2));
    await json(h, 'POST', '/v1/functions/al/versions');
    const put = await json(h, 'PUT', '/v1/functions/al/aliases/live', { version: '1', description: 'prod' });
    expect(put.status).toBe(201);
    expect(put.body).toMatchObject({ functionName: 'al', name: 'live', version: '1', additionalVersionWeights: {}, minInstances: 0, description: 'prod' });
    expect(await call(h, 'al', 'live')).toMatchObject({ status: 200, executed: '1', body: { v: 1 } });
    expect((await json(h, 'PUT', '/v1/functions/al/aliases/live', { version: '2' })).status).toBe(200);
    expect(await call(h, 'al', 'live')).toMatchObject({ executed: '2', body: { v: 2 } });
    await json(h, 'PUT', '/v1/functions/al/aliases/edge', { version: '$LATEST' });
    expect(await call(h, 'al', 'edge')).toMatchObject({ executed: '$LATEST', body: { v: 2 } });

    const conflict = await json(h, 'DELETE', '/v1/functions/al/versions/2');
    expect(conflict.status).toBe(409);
    expect(conflict.body).toEqual({ errorType: 'Conflict', errorMessage: 'version 2 of "al" is used by alias "live": point it elsewhere first' });
    expect((await json(h, 'GET', '/v1/functions/al/aliases')).body.aliases.map((a: { name: string }) => a.name)).toEqual(['edge', 'live']);
    expect((await json(h, 'GET', '/v1/functions/al/aliases/live')).body.version).toBe('2');
    expect((await json(h, 'DELETE', '/v1/functions/al/aliases/live')).status).toBe(204);
    expect((await json(h, 'GET', '/v1/functions/al/aliases/live')).status).toBe(404);
    expect(await call(h, 'al', 'live')).toMatchObject({ status: 404, body: { errorType: 'VersionNotFound' } });
    expect((await json(h, 'DELETE', '/v1/functions/al/versions/2')).status).toBe(204);
  });

  it('refuses bad aliases with clear errors', async () => {
    await deployOk(h, 'bad', CODE(1));
    await json(h, 'POST', '/v1/functions/bad/versions');
    await deployOk(h, 'bad', CODE(2));
    await json(h, 'POST', '/v1/functions/bad/versions');
    const cases: [string, unknown, number, RegExp][] = [
      ['123', { version: '1' }, 400, /not only digits/],
      ['$LATEST', { version: '1' }, 400, /must be 1-128/],
      ['a', { version: '5' }, 404, /has no version "5"/],
      ['a', { version: '1', additionalVersionWeights: { 2: 1.5 } }, 400, /additionalVersionWeights\.2/],
      ['a', { version: '1', additionalVersionWeights: { 1: 0.5 } }, 400, /already the alias's version/],
      ['a', { version: '1', additionalVersionWeights: { 2: 0.1, 3: 0.1 } }, 400, /at most one additional version/],
      ['a', { version: '$LATEST', additionalVersionWeights: { 2: 0.5 } }, 400, /must point to a published version/],
      ['a', { version: '1', additionalVersionWeights: { 9: 0.5 } }, 404, /has no version "9"/],
      ['a', { version: '1', weight: 2 }, 400, /Unrecognized key/],
      ['a', {}, 400, /version/],
    ];
    for (const [alias, body, status, message] of cases) {
      const r = await json(h, 'PUT', `/v1/functions/bad/aliases/${encodeURIComponent(alias)}`, body);
      expect([alias, body, r.status]).toEqual([alias, body, status]);
      expect(r.body.errorMessage).toMatch(message);
    }
    expect((await json(h, 'PUT', '/v1/functions/nope/aliases/a', { version: '1' })).status).toBe(404);
  });

  it('splits calls by weight within statistical bounds, and X-Hearth-Executed-Version says which ran', async () => {
    await deployOk(h, 'split', CODE(1));
    await json(h, 'POST', '/v1/functions/split/versions');
    await deployOk(h, 'split', CODE(2));
    await json(h, 'POST', '/v1/functions/split/versions');
    await json(h, 'PUT', '/v1/functions/split/aliases/canary', { version: '1', additionalVersionWeights: { 2: 0.3 } });
    const N = 1_000;
    const counts: Record<string, number> = {};
    for (let i = 0; i < N; i += 50) {
      const batch = await Promise.all(Array.from({ length: 50 }, () => call(h, 'split', 'canary')));
      for (const r of batch) {
        expect(r.status).toBe(200);
        expect(String(r.body.v)).toBe(r.executed); // the header says what ran
        counts[r.executed!] = (counts[r.executed!] ?? 0) + 1;
      }
    }
    // Binomial(1000, 0.3): sd 14.5 calls; 5 sd either side fails a correct split once in ~3.5 million runs.
    expect(counts['1']! + counts['2']!).toBe(N);
    expect(counts['2']).toBeGreaterThanOrEqual(300 - 73);
    expect(counts['2']).toBeLessThanOrEqual(300 + 73);
    // Weight 0 and weight 1 are exact.
    await json(h, 'PUT', '/v1/functions/split/aliases/canary', { version: '1', additionalVersionWeights: { 2: 0 } });
    expect(new Set((await Promise.all(Array.from({ length: 50 }, () => call(h, 'split', 'canary')))).map((r) => r.executed))).toEqual(new Set(['1']));
    await json(h, 'PUT', '/v1/functions/split/aliases/canary', { version: '1', additionalVersionWeights: { 2: 1 } });
    expect(new Set((await Promise.all(Array.from({ length: 50 }, () => call(h, 'split', 'canary')))).map((r) => r.executed))).toEqual(new Set(['2']));
  });

  it('keeps an alias\'s reserved instances on the versions it points to, and moves them with it', async () => {
    await deployOk(h, 'res', CODE(1));
    await json(h, 'POST', '/v1/functions/res/versions');
    await deployOk(h, 'res', CODE(2));
    await json(h, 'POST', '/v1/functions/res/versions');
    const count = async (q: string) => ((await json(h, 'GET', `/v1/functions/res/instances?qualifier=${q}`)).body.instances as unknown[]).length;
    await json(h, 'PUT', '/v1/functions/res/aliases/live', { version: '1', minInstances: 2 });
    await until(async () => (await count('1')) === 2, 10_000, 'two reserved instances of version 1, with no call made');
    // Split 50/50: each version keeps half, rounded up.
    await json(h, 'PUT', '/v1/functions/res/aliases/live', { version: '1', additionalVersionWeights: { 2: 0.5 }, minInstances: 2 });
    await until(async () => (await count('2')) === 1, 10_000, 'a reserved instance of version 2');
    expect(await count('1')).toBe(2); // the surplus one idles out later, by keepalive
    // The alias lists the instances of both its versions; no qualifier lists every version's.
    const versions = async (q?: string) => ((await json(h, 'GET', `/v1/functions/res/instances${q ? `?qualifier=${q}` : ''}`)).body.instances as { version: string }[]).map((i) => i.version).sort();
    expect(await versions('live')).toEqual(['1', '1', '2']);
    await call(h, 'res'); // one of $LATEST too
    expect(await versions()).toEqual(['$LATEST', '1', '1', '2']);
    expect(await versions('$LATEST')).toEqual(['$LATEST']);
  });
});

describe('versions and aliases survive a restart', () => {
  it('restores versions, aliases and weights from the data dir', async () => {
    let h = await startHearth({ args: ['--no-docker'] });
    const dataDir = h.dataDir;
    try {
      await deployOk(h, 'keep', CODE(1));
      await json(h, 'POST', '/v1/functions/keep/versions');
      await deployOk(h, 'keep', CODE(2));
      await json(h, 'POST', '/v1/functions/keep/versions');
      await json(h, 'PUT', '/v1/functions/keep/aliases/live', { version: '1', additionalVersionWeights: { 2: 1 } });
    } finally {
      h.proc.kill('SIGTERM');
      await new Promise((r) => h.proc.once('exit', r));
    }
    h = await startHearth({ args: ['--no-docker'], dataDir });
    try {
      expect(await call(h, 'keep', '1')).toMatchObject({ executed: '1', body: { v: 1 } });
      expect(await call(h, 'keep', 'live')).toMatchObject({ executed: '2', body: { v: 2 } });
      expect((await json(h, 'POST', '/v1/functions/keep/versions')).body.version).toBe('2'); // $LATEST is version 2's code
      expect((await json(h, 'DELETE', '/v1/functions/keep/versions/2')).status).toBe(409);
      // Deleting the function takes its versions and aliases with it.
      expect((await json(h, 'DELETE', '/v1/functions/keep')).status).toBe(204);
      expect(await call(h, 'keep', '1')).toMatchObject({ status: 404, body: { errorType: 'FunctionNotFound' } });
    } finally {
      await h.stop();
    }
  });
});
