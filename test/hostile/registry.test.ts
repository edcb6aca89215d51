// Hostile tenants and careless operators against the registry (issue 15, points 7, 11, 12, 14, 16,
// 17), on a real Hearth process while a neighbour function is called at a steady rate: every
// neighbour call must succeed whatever a deploy does. Outcomes only (statuses, error types, what
// is stored), never timings.

import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { strToU8, zipSync, type Zippable } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployOk, jsSource, startHearth, type Hearth } from '../support/hearth.js';
import { deployNeighbour, startNeighbour, type Neighbour } from '../support/neighbour.js';
import { until } from '../support/until.js';

const MiB = 1024 * 1024;
/** Small deploy limits, so an attack past them is cheap to build here. */
const LIMITS = ['--deploy-max-unzipped-bytes', String(8 * MiB), '--deploy-max-file-bytes', String(4 * MiB), '--deploy-max-files', '1000'];

const zipOf = (files: Record<string, string | Uint8Array>, level: 0 | 9 = 9): Buffer =>
  Buffer.from(zipSync(Object.fromEntries(Object.entries(files).map(([k, v]) => [k, typeof v === 'string' ? strToU8(v) : v])) as Zippable, { level }));

const zipSpec = (zip: Buffer, extra: Record<string, unknown> = {}) => ({ runtime: 'js', handler: 'index.handler', code: { zip: zip.toString('base64') }, ...extra });

/** Rewrites every entry's declared uncompressed size (local and central headers) to `size`: the header lies. */
function lieAboutSizes(zip: Buffer, size: number): Buffer {
  const out = Buffer.from(zip);
  for (let i = 0; i + 4 <= out.length; i++) {
    const sig = out.readUInt32LE(i);
    if (sig === 0x04034b50) out.writeUInt32LE(size, i + 22);
    else if (sig === 0x02014b50) out.writeUInt32LE(size, i + 24);
  }
  return out;
}

async function errorOf(r: Response): Promise<{ status: number; errorType: string; errorMessage: string }> {
  const body = await r.json() as { errorType: string; errorMessage: string };
  return { status: r.status, errorType: body.errorType, errorMessage: body.errorMessage };
}

const admin = (h: Hearth, method: string, path: string, body?: unknown) => fetch(`${h.url}${path}`, {
  method, headers: { 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }),
});

/** Runs `attack` while the neighbour is called; every neighbour call must succeed. */
async function withNeighbour<T>(h: Hearth, attack: () => Promise<T>): Promise<T> {
  const n: Neighbour = startNeighbour(h, { ratePerSec: 50 });
  let out: T;
  try {
    out = await attack();
  } finally {
    const report = await n.stop();
    expect(report.failures).toEqual([]);
    expect(report.calls).toBeGreaterThan(0);
  }
  return out;
}

describe('registry against a hostile tenant', () => {
  let h: Hearth;
  beforeAll(async () => {
    h = await startHearth({ args: ['--no-docker', ...LIMITS] });
    await deployNeighbour(h);
  }, 60_000);
  afterAll(async () => {
    await h?.stop();
  });

  it('a zip bomb whose header lies about its size is refused (413) while inflating, and the neighbour is served', async () => {
    // 64 MiB of zeros deflate to ~64 KiB; the headers say 10 bytes.
    const bomb = lieAboutSizes(zipOf({ 'index.js': 'exports.handler = async () => 1', 'zeros.bin': new Uint8Array(64 * MiB) }), 10);
    expect(bomb.length).toBeLessThan(MiB);
    // Many files each under the per-file limit, together past the total.
    const wide = lieAboutSizes(zipOf({ 'index.js': 'exports.handler = async () => 1', ...Object.fromEntries([1, 2, 3].map((i) => [`part${i}.bin`, new Uint8Array(3 * MiB)])) }), 10);
    const [one, all] = await withNeighbour(h, async () => [
      await errorOf(await h.deploy('bomb', zipSpec(bomb))),
      await errorOf(await h.deploy('bomb', zipSpec(wide))),
    ]);
    expect(one).toMatchObject({ status: 413, errorType: 'ArchiveTooLarge' });
    expect(one.errorMessage).toContain('zeros.bin');
    expect(all).toMatchObject({ status: 413, errorType: 'ArchiveTooLarge' });
    expect(all.errorMessage).toContain(`${8 * MiB} bytes`);
    expect((await admin(h, 'GET', '/v1/functions/bomb')).status).toBe(404);
    // A python3 zip is measured the same way before anything is stored (its tier is off here: the limit answers first).
    const py = await errorOf(await h.deploy('pybomb', { runtime: 'python3', handler: 'index.handler', code: { zip: bomb.toString('base64') } }));
    expect(py).toMatchObject({ status: 413, errorType: 'ArchiveTooLarge' });
    const metrics = await (await admin(h, 'GET', '/metrics')).text();
    expect(metrics).toMatch(/hearth_deploys_refused_total\{reason="archive_too_large"\} [3-9]/);
  }, 120_000);

  it('a zip with 100,000 files is refused (413 TooManyFiles), and the neighbour is served', async () => {
    const files: Record<string, string> = { 'index.js': 'exports.handler = async () => 1' };
    for (let i = 0; i < 100_000; i++) files[`f/${i}`] = '';
    const many = zipOf(files, 0);
    const e = await withNeighbour(h, async () => errorOf(await h.deploy('many', zipSpec(many))));
    expect(e).toMatchObject({ status: 413, errorType: 'TooManyFiles' });
    expect(e.errorMessage).toContain('more than 1000 entries');
    expect((await admin(h, 'GET', '/v1/functions/many')).status).toBe(404);
  }, 120_000);

  it('a DELETE that arrives during a deploy waits for it, then deletes: the function stays deleted', async () => {
    await deployOk(h, 'victim', jsSource('exports.handler = async () => "v1"'));
    // A deploy whose build and load take a while: a large source, and top-level code that spins.
    const filler = Array.from({ length: 100_000 }, (_, i) => `exports.f${i} = () => ${i};`).join('\n');
    const slow = jsSource(`${filler}\nconst end = Date.now() + 1500; while (Date.now() < end);\nexports.handler = async () => "v2";`, { timeoutMs: 10_000 });
    const { put, del } = await withNeighbour(h, async () => {
      const put = h.deploy('victim', slow);
      // The deploy is in flight once its build runs in a worker (or, at the latest, once it answers).
      let settled = false;
      void put.finally(() => { settled = true; });
      await until(async () => settled || /hearth_deploy_builds\{state="running"\} 1/.test(await (await admin(h, 'GET', '/metrics')).text()), 30_000, 'the deploy is building', 10);
      expect(settled).toBe(false);
      const del = await admin(h, 'DELETE', '/v1/functions/victim');
      return { put: await put, del };
    });
    expect(del.status).toBe(204);
    expect(put.status).toBe(200);
    expect((await admin(h, 'GET', '/v1/functions/victim')).status).toBe(404);
    expect((await h.invoke('victim', {})).status).toBe(404);
    expect(readdir(h.dataDir)).not.toContain('victim.json');
  }, 120_000);

  it('a tsconfig.json that extends a host file is refused without quoting it; imports cannot leave the code', async () => {
    const passwdFirstLine = readFileSync('/etc/passwd', 'utf8').split('\n')[0]!;
    const outcomes = await withNeighbour(h, async () => [
      await errorOf(await h.deploy('ts', zipSpec(zipOf({ 'index.ts': 'export const handler = async (): Promise<number> => 1', 'tsconfig.json': '{"extends": "/etc/passwd"}' })))),
      await errorOf(await h.deploy('ts', zipSpec(zipOf({ 'index.ts': 'export const handler = async (): Promise<number> => 1', 'tsconfig.json': '{"extends": "../../../../../../../etc/passwd"}' })))),
      await errorOf(await h.deploy('ts', zipSpec(zipOf({ 'index.js': 'import p from "/etc/passwd"; export const handler = async () => p' })))),
      await errorOf(await h.deploy('ts', zipSpec(zipOf({ 'index.js': 'import p from "../../../../../../etc/passwd"; export const handler = async () => p' })))),
      await errorOf(await h.deploy('ts', zipSpec(zipOf({ 'index.js': 'import z from "zod"; export const handler = async () => typeof z' })))),
      await errorOf(await h.deploy('ts', zipSpec(zipOf({ 'index.ts': 'import p from "@x/p"; export const handler = async () => p', 'tsconfig.json': '{"compilerOptions": {"baseUrl": "/", "paths": {"@x/*": ["/etc/passwd"]}}}' })))),
    ]);
    for (const e of outcomes) {
      expect(e).toMatchObject({ status: 400, errorType: 'CompileError' });
      expect(e.errorMessage).not.toContain(passwdFirstLine);
      expect(e.errorMessage).not.toContain('root:');
    }
    expect(outcomes[0]!.errorMessage).toContain('"extends" is not supported');
    expect(outcomes[2]!.errorMessage).toContain('outside the function\'s code');
    // A tsconfig.json deeper in the zip is not read at all: its "extends" changes nothing.
    await deployOk(h, 'ts', zipSpec(zipOf({
      'index.ts': 'import { x } from "./lib/x"; export const handler = async () => x', 'lib/x.ts': 'export const x: number = 7', 'lib/tsconfig.json': '{"extends": "/etc/passwd"}',
    })));
    expect(await (await h.invoke('ts', {})).json()).toBe(7);
  }, 120_000);

  it('an alias cannot reserve more instances than its version may run; a deploy cannot shrink below what aliases reserve', async () => {
    await deployOk(h, 'reserved', jsSource('exports.handler = async () => 1', { maxInstances: 2 }));
    expect((await admin(h, 'POST', '/v1/functions/reserved/versions', {})).status).toBe(201);
    const over = await errorOf(await admin(h, 'PUT', '/v1/functions/reserved/aliases/live', { version: '1', minInstances: 160 }));
    expect(over).toMatchObject({ status: 400, errorType: 'InvalidSpec' });
    expect(over.errorMessage).toContain('minInstances');
    expect(over.errorMessage).toContain('maxInstances 2');
    expect((await admin(h, 'PUT', '/v1/functions/reserved/aliases/live', { version: '1', minInstances: 2 })).status).toBe(201);
    // Two aliases on one version together past it.
    expect((await errorOf(await admin(h, 'PUT', '/v1/functions/reserved/aliases/also', { version: '1', minInstances: 1 }))).status).toBe(400);
    // On $LATEST: a redeploy with a smaller maxInstances than its aliases reserve.
    expect((await admin(h, 'PUT', '/v1/functions/reserved/aliases/head', { version: '$LATEST', minInstances: 2 })).status).toBe(201);
    const shrink = await errorOf(await h.deploy('reserved', jsSource('exports.handler = async () => 2', { maxInstances: 1 })));
    expect(shrink).toMatchObject({ status: 400, errorType: 'InvalidSpec' });
    expect(shrink.errorMessage).toContain('maxInstances');
    expect(await (await h.invoke('reserved', {})).json()).toBe(1);
    // The spec's own rule still holds.
    expect((await h.deploy('reserved2', jsSource('exports.handler = async () => 1', { minInstances: 3, maxInstances: 2 }))).status).toBe(400);
  }, 60_000);

  it('env: a "__proto__" name and more than 4 KiB of env are refused (400), nothing stored', async () => {
    const proto = await h.deploy('env', jsSource('exports.handler = async () => 1', { env: JSON.parse('{"__proto__": "x", "A": "1"}') }));
    const e1 = await errorOf(proto);
    expect(e1).toMatchObject({ status: 400, errorType: 'InvalidSpec' });
    expect(e1.errorMessage).toContain('env.__proto__');
    const e2 = await errorOf(await h.deploy('env', jsSource('exports.handler = async () => 1', { env: { BIG: 'x'.repeat(5000) } })));
    expect(e2).toMatchObject({ status: 400, errorType: 'InvalidSpec' });
    expect(e2.errorMessage).toContain('4096-byte limit');
    expect((await admin(h, 'GET', '/v1/functions/env')).status).toBe(404);
  });

  it('an ES module function runs strict (top-level this undefined, an undeclared assignment throws); CommonJS stays as written', async () => {
    await deployOk(h, 'esm', jsSource([
      'const top = this;',
      'export const handler = async () => {',
      '  try { undeclaredVariable = 1; return { top: String(top), sloppy: true }; }',
      '  catch (e) { return { top: String(top), threw: e.name }; }',
      '};',
    ].join('\n')));
    expect(await (await h.invoke('esm', {})).json()).toEqual({ top: 'undefined', threw: 'ReferenceError' });
    await deployOk(h, 'esmzip', zipSpec(zipOf({ 'index.mjs': 'export const handler = async () => { try { alsoUndeclared = 1; return "sloppy"; } catch (e) { return e.name; } }' })));
    expect(await (await h.invoke('esmzip', {})).json()).toBe('ReferenceError');
    await deployOk(h, 'cjs', jsSource('exports.handler = async () => { sloppyGlobal = 1; return typeof this; }'));
    expect((await h.invoke('cjs', {})).status).toBe(200);
  });
});

describe('registry against a careless operator', () => {
  it('a bad time zone is a 400 naming the field, nothing is stored, and a restart still works', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'hearth-hostile-registry-'));
    try {
      const h = await startHearth({ dataDir, args: ['--no-docker'] });
      try {
        await deployNeighbour(h);
        const e = await withNeighbour(h, async () => errorOf(await h.deploy('tick', jsSource('exports.handler = async () => 1', {
          schedules: [{ cron: '*/5 * * * *', timezone: 'Europe/Berln' }],
        }))));
        expect(e).toMatchObject({ status: 400, errorType: 'InvalidSpec' });
        expect(e.errorMessage).toContain('schedules.0.timezone');
        const cron = await errorOf(await h.deploy('tick', jsSource('exports.handler = async () => 1', { schedules: [{ cron: '61 * * * *' }] })));
        expect(cron).toMatchObject({ status: 400, errorType: 'InvalidSpec' });
        expect(cron.errorMessage).toContain('schedules.0.cron');
        expect((await admin(h, 'GET', '/v1/functions/tick')).status).toBe(404);
        expect(readdir(dataDir)).not.toContain('tick.json');
        // A good one with a time zone is taken.
        await deployOk(h, 'tick', jsSource('exports.handler = async () => 1', { schedules: [{ cron: '0 0 1 1 *', timezone: 'Europe/Berlin' }] }));
      } finally {
        await h.stop();
      }
      const again = await startHearth({ dataDir, args: ['--no-docker'] });
      try {
        expect((await again.invoke('neighbour', { n: 1 })).status).toBe(200);
        expect((await admin(again, 'GET', '/v1/functions/tick')).status).toBe(200);
      } finally {
        await again.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);

  it('a broken record on disk never stops the start: the rest are served, GET and /readyz report it, a redeploy or delete fixes it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'hearth-hostile-registry-'));
    try {
      const first = await startHearth({ dataDir, args: ['--no-docker'] });
      try {
        await deployNeighbour(first);
        await deployOk(first, 'typo', jsSource('exports.handler = async () => "typo"', { schedules: [{ cron: '0 0 1 1 *', timezone: 'Europe/Berlin' }] }));
      } finally {
        await first.stop();
      }
      // By hand, as an operator's typo or an older Hearth would leave them.
      const recordFile = join(dataDir, 'functions', 'typo.json');
      const rec = JSON.parse(readFileSync(recordFile, 'utf8')) as { spec: { schedules: { timezone: string }[] } };
      rec.spec.schedules[0]!.timezone = 'Europe/Berln';
      writeFileSync(recordFile, JSON.stringify(rec));
      writeFileSync(join(dataDir, 'functions', 'garbled.json'), '{"name": "garbled", "spec": ');
      writeFileSync(join(dataDir, 'functions', 'nameless.json'), JSON.stringify({ spec: { runtime: 'js' } }));

      const h = await startHearth({ dataDir, args: ['--no-docker'] });
      try {
        await withNeighbour(h, async () => {
          const typo = await (await admin(h, 'GET', '/v1/functions/typo')).json() as Record<string, unknown>;
          expect(typo).toMatchObject({ name: 'typo', status: 'broken' });
          expect(String(typo.reason)).toContain('Europe/Berln');
          expect(await (await admin(h, 'GET', '/v1/functions/garbled')).json()).toMatchObject({ name: 'garbled', status: 'broken' });
          expect(await (await admin(h, 'GET', '/v1/functions/nameless')).json()).toMatchObject({ name: 'nameless', status: 'broken' });
          expect((await h.invoke('typo', {})).status).toBe(404);
          const ready = await fetch(`${h.url}/readyz`);
          expect(ready.status).toBe(200);
          const body = await ready.json() as { status: string; broken: { name: string; reason: string }[] };
          expect(body.status).toBe('ready');
          expect(body.broken.map((b) => b.name).sort()).toEqual(['garbled', 'nameless', 'typo']);
          const list = await (await admin(h, 'GET', '/v1/functions')).json() as { functions: { name: string; status?: string }[] };
          expect(list.functions.find((f) => f.name === 'neighbour')?.status).toBeUndefined();
          expect(list.functions.filter((f) => f.status === 'broken').map((f) => f.name).sort()).toEqual(['garbled', 'nameless', 'typo']);
          expect(await (await admin(h, 'GET', '/metrics')).text()).toMatch(/hearth_broken_functions 3/);
        });
        expect(h.log()).toMatch(/stored function not loaded/);
        // A redeploy replaces a broken record; a delete removes one.
        await deployOk(h, 'typo', jsSource('exports.handler = async () => "fixed"'));
        expect(await (await h.invoke('typo', {})).json()).toBe('fixed');
        expect((await admin(h, 'DELETE', '/v1/functions/garbled')).status).toBe(204);
        expect((await admin(h, 'GET', '/v1/functions/garbled')).status).toBe(404);
        expect(readdir(dataDir)).not.toContain('garbled.json');
        expect(((await (await fetch(`${h.url}/readyz`)).json()) as { broken: { name: string }[] }).broken.map((b) => b.name)).toEqual(['nameless']);
      } finally {
        await h.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});

function readdir(dataDir: string): string[] {
  return readdirSync(join(dataDir, 'functions'));
}
