// The `hearth` command against real Hearth processes: serve's settings (help, config file,
// errors), `--functions DIR` kept in step with the folder across restarts, and the client commands
// (deploy, invoke, logs, ls, rm) with errors a person can act on.

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SETTINGS, envName, flagName } from '../core/config.js';
import { CLI, ROOT, runCli, startHearth, type Hearth } from './support/hearth.js';
import { until } from './support/until.js';

/** Runs `hearth ARGS` to the end (as bin/hearth.js does), with its own environment. */
const hearth = runCli;

function folder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-cli-'));
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(join(dir, rel, '..'), { recursive: true });
    writeFileSync(join(dir, rel), content);
  }
  return dir;
}

const fn = (body: string) => ({ 'function.json': '{"runtime":"js","handler":"index.handler"}', 'index.js': `exports.handler = async (e) => (${body});` });
const prefixed = (p: string, files: Record<string, string>) => Object.fromEntries(Object.entries(files).map(([k, v]) => [`${p}/${k}`, v]));

describe('hearth serve: settings', () => {
  it('--help lists every setting with its flag and environment variable, and the config file', async () => {
    const r = await hearth(['serve', '--help']);
    expect(r.code).toBe(0);
    const help = r.stdout.replace(/\s+/g, ' ');
    for (const s of SETTINGS) {
      expect(help).toContain(envName(s.key));
      if (s.kind === 'boolean') expect(help).toContain(`--no-${flagName(s.key).slice(2)}`);
      else if (s.kind !== 'secret') expect(help).toContain(flagName(s.key));
    }
    expect(help).toContain('--config <file>');
    expect(help).toContain('hearth.config.json');
  });

  it('stops at start with exit 2 and names the key and its source', async () => {
    const bad = await hearth(['serve', '--no-docker'], { HEARTH_PORT: 'eighty' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('port: Invalid input: expected number, received string (from HEARTH_PORT = "eighty")');
    const dir = folder({ 'hearth.config.json': '{"prewarmIsolates": 4, "prewarmIsolate": 2}' });
    const unknown = await hearth(['serve', '--no-docker'], {}, undefined, dir);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/Unrecognized key: "prewarmIsolate".*hearth\.config\.json/);
    const flag = await hearth(['serve', '--no-docker', '--port', '0', '--wait-queue-size', 'many']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain('waitQueueSize: Invalid input: expected number, received string (from --wait-queue-size = "many")');
  });

  it('takes its settings from a config file, with the environment and flags over it', async () => {
    const fns = folder(prefixed('fns/one', fn('{ one: e.n }')));
    writeFileSync(join(fns, 'hearth.config.json'), JSON.stringify({ functions: ['fns'], prewarmIsolates: 1, logLevel: 'debug' }));
    // --port 0 (the flag) wins over the file's port; the env's log level wins over the file's.
    const h = await startHearth({ args: ['--no-docker', '--config', join(fns, 'hearth.config.json')], env: { HEARTH_LOG_LEVEL: 'warn' } });
    try {
      const r = await h.invoke('one', { n: 5 });
      expect(await r.json()).toEqual({ one: 5 });
      expect(h.log()).not.toContain('"level":20'); // no debug lines: HEARTH_LOG_LEVEL=warn won
      expect(h.log()).not.toContain('"level":30');
    } finally {
      await h.stop();
    }
  });
});

describe("Hearth's own log", () => {
  it('is JSON lines on stderr with levels, never carries functions\' output, and follows --log-level', async () => {
    const marker = 'function-output-7f3a';
    const h = await startHearth({ args: ['--no-docker'] });
    const r = await h.deploy('talker', { runtime: 'js', handler: 'index.handler', code: { source: `exports.handler = async () => { console.log('${marker}'); console.error('${marker}-err'); return 1; };` } });
    expect(r.status).toBe(201);
    expect((await h.invoke('talker', {})).status).toBe(200);
    expect(await h.stop()).toBe(0);
    const lines = h.log().trim().split('\n');
    expect(lines.length).toBeGreaterThan(2);
    for (const line of lines) {
      const entry = JSON.parse(line) as Record<string, unknown>;
      expect(entry).toMatchObject({ name: 'hearth', level: expect.any(Number), time: expect.any(Number), msg: expect.any(String) });
    }
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(expect.arrayContaining(['listening', 'draining', 'stopped']));
    expect(h.log()).not.toContain(marker);

    const quiet = await startHearth({ args: ['--no-docker', '--log-level', 'warn'] });
    expect(await quiet.stop()).toBe(0);
    expect(quiet.log()).toBe('');
  });
});

describe('hearth serve --functions DIR', () => {
  it('loads the folder before ready, and on the next start follows it: changed functions redeployed, removed ones deleted, API-deployed ones kept', async () => {
    const dir = folder({ ...prefixed('a', fn('{ a: 1 }')), ...prefixed('b', fn('{ b: 1 }')) });
    const data = mkdtempSync(join(tmpdir(), 'hearth-cli-data-'));
    let h = await startHearth({ dataDir: data, args: ['--no-docker', '--functions', dir] });
    try {
      expect((await fetch(`${h.url}/readyz`)).status).toBe(200);
      expect(await (await h.invoke('a', {})).json()).toEqual({ a: 1 });
      expect(await (await h.invoke('b', {})).json()).toEqual({ b: 1 });
      const listed = await (await fetch(`${h.url}/v1/functions`)).json() as { functions: { name: string; origin?: string }[] };
      expect(listed.functions.map((f) => [f.name, f.origin])).toEqual([['a', dir], ['b', dir]]);
      const c = await h.deploy('c', { runtime: 'js', handler: 'index.handler', code: { source: 'exports.handler = async () => ({ c: 1 })' } });
      expect(c.status).toBe(201);
    } finally {
      expect(await h.stop()).toBe(0);
    }
    rmSync(join(dir, 'b'), { recursive: true });
    writeFileSync(join(dir, 'a', 'index.js'), 'exports.handler = async () => ({ a: 2 });');
    h = await startHearth({ dataDir: data, args: ['--no-docker', '--functions', dir] });
    try {
      expect(await (await h.invoke('a', {})).json()).toEqual({ a: 2 });
      expect((await h.invoke('b', {})).status).toBe(404);
      expect(await (await h.invoke('c', {})).json()).toEqual({ c: 1 });
      expect(h.log()).toContain('gone from the functions folder');
    } finally {
      await h.stop();
      rmSync(data, { recursive: true, force: true });
    }
  });

  it('refuses to start on a folder it cannot load, naming the folder and why (a replica must not serve part of the set)', async () => {
    const dir = folder({ ...prefixed('good', fn('{ ok: 1 }')), 'broken/function.json': '{"runtime":"js","handler":"index.handler"', 'broken/index.js': '', ...prefixed('nocode', { 'function.json': '{"runtime":"js","handler":"index.nope"}', 'index.js': 'exports.handler = 1' }) });
    await expect(startHearth({ args: ['--no-docker', '--functions', dir] })).rejects.toThrow(/could not load the functions folders: .*broken\/function\.json: not valid JSON.*nocode/s);
    await expect(startHearth({ args: ['--no-docker', '--functions', join(dir, 'missing')] })).rejects.toThrow(/missing: no such folder/);
  });
});

describe('hearth deploy | invoke | logs | ls | rm', () => {
  let h: Hearth;
  const token = 'cli-test-admin-token-0123456789';
  let env: Record<string, string>;
  beforeAll(async () => {
    h = await startHearth({ args: ['--no-docker'], env: { HEARTH_ADMIN_TOKEN: token } });
    env = { HEARTH_URL: h.url, HEARTH_ADMIN_TOKEN: token };
  });
  afterAll(async () => {
    await h.stop();
  });

  it('deploys a folder, a single file and a spec, lists them, invokes, shows logs, and deletes', async () => {
    const src = folder({
      ...prefixed('greeter', { 'function.json': '{"runtime":"js","handler":"index.main_handler"}', 'index.js': 'const { hi } = require("./lib/hi"); exports.main_handler = async (e) => { console.log("greeting", e.name); return { msg: hi(e.name) }; };', 'lib/hi.js': 'exports.hi = (n) => "hi " + n;' }),
      'adder.mjs': 'export default async (e) => ({ sum: e.a + e.b });',
    });
    let r = await hearth(['deploy', join(src, 'greeter')], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^greeter\tjs\tindex\.main_handler\t[0-9a-f]{12}\n$/);
    r = await hearth(['deploy', join(src, 'adder.mjs'), '--name', 'add', '--memory-mb', '64'], env);
    expect(r.code, r.stderr).toBe(0);

    r = await hearth(['ls'], env);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(/^NAME\s+RUNTIME\s+HANDLER\s+MEMORY\s+DIGEST\s+UPDATED$/);
    expect(r.stdout).toMatch(/\badd\s+js\s+adder\.default\s+64 MB/);
    expect(r.stdout).toMatch(/\bgreeter\s+js\s+index\.main_handler\s+128 MB/);
    const json = JSON.parse((await hearth(['ls', '--json'], env)).stdout) as { name: string }[];
    expect(json.map((f) => f.name)).toEqual(['add', 'greeter']);

    r = await hearth(['invoke', 'greeter', '{"name":"Ada"}', '--tail'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ msg: 'hi Ada' });
    expect(r.stderr).toMatch(/greeting Ada/);
    expect(r.stderr).toMatch(/^cold\s+init [\d.]+ ms\s+queue [\d.]+ ms\s+run [\d.]+ ms\s+version \$LATEST\s+request [0-9a-f-]{36}$/m);
    r = await hearth(['invoke', 'add', '-', '-q'], env, '{"a":2,"b":3}');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ sum: 5 });
    expect(r.stderr).toBe('');

    r = await hearth(['logs', 'greeter'], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\S+Z\s+[0-9a-f-]{36}\s+OUT\s+greeting Ada$/m);

    r = await hearth(['rm', 'add', 'greeter'], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('deleted add\ndeleted greeter\n');
    expect((await hearth(['ls', '--json'], env)).stdout.trim()).toBe('[]');
  });

  it('logs --follow prints the last lines, then each new one as it is written (the live stream)', async () => {
    const src = folder({ 'talker/index.js': 'exports.handler = async (e) => { console.log("said", e.n); return e.n; };' });
    expect((await hearth(['deploy', join(src, 'talker')], env)).code).toBe(0);
    expect((await hearth(['invoke', 'talker', '{"n":1}', '-q'], env)).code).toBe(0);
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HEARTH_')));
    const p = spawn(process.execPath, ['--no-node-snapshot', CLI, 'logs', 'talker', '--follow'], { cwd: ROOT, env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    p.stdout.on('data', (d) => (stdout += d));
    try {
      await until(() => /OUT\s+said 1$/m.test(stdout), 10_000, 'the line written before');
      expect((await hearth(['invoke', 'talker', '{"n":2}', '-q'], env)).code).toBe(0);
      await until(() => /OUT\s+said 2$/m.test(stdout), 10_000, () => `the new line, live; got:\n${stdout}`);
      expect(stdout.match(/said 1$/gm)).toHaveLength(1);
    } finally {
      p.kill();
    }
  });

  it('publishes versions and points aliases, which invoke --qualifier follows', async () => {
    const src = folder({ 'v1/index.js': 'exports.handler = async () => 1;', 'v2/index.js': 'exports.handler = async () => 2;' });
    expect((await hearth(['deploy', join(src, 'v1'), '--name', 'ver'], env)).code).toBe(0);
    let r = await hearth(['publish', 'ver', '--description', 'first'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ver\tversion 1\t[0-9a-f]{12}\n$/);
    expect((await hearth(['deploy', join(src, 'v2'), '--name', 'ver'], env)).code).toBe(0);
    expect((await hearth(['publish', 'ver'], env)).stdout).toMatch(/^ver\tversion 2\t/);
    r = await hearth(['alias', 'ver', 'live', '1', '--extra', '2=0', '--min-instances', '1'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('ver:live\t→ version 1 + version 2 at 0\n');
    expect((await hearth(['invoke', 'ver', '--qualifier', 'live', '-q'], env)).stdout.trim()).toBe('1');
    expect((await hearth(['alias', 'ver', 'live', '2'], env)).code).toBe(0);
    expect((await hearth(['invoke', 'ver', '--qualifier', 'live', '-q'], env)).stdout.trim()).toBe('2');
    r = await hearth(['alias', 'ver', 'live', '7'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^hearth: VersionNotFound: function "ver" has no version "7"/);
    r = await hearth(['alias', 'ver', 'live', '1', '--extra', 'two'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--extra takes VERSION=WEIGHT');
  });

  it('a function error: its error on stdout, exit 1', async () => {
    const src = folder({ 'boom.js': 'exports.handler = async () => { throw new TypeError("bad input"); };' });
    expect((await hearth(['deploy', join(src, 'boom.js')], env)).code).toBe(0);
    const r = await hearth(['invoke', 'boom'], env);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ errorType: 'TypeError', errorMessage: 'bad input' });
    expect(r.stderr).toContain('hearth: the function failed (Unhandled)');
  });

  it('errors a person can act on', async () => {
    let r = await hearth(['ls'], { HEARTH_URL: h.url }); // no token
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^hearth: Unauthorized: .*\(set HEARTH_ADMIN_TOKEN to the token the server was started with\)$/m);
    r = await hearth(['invoke', 'nope'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('hearth: FunctionNotFound: function "nope" does not exist\n');
    r = await hearth(['rm', 'nope'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('hearth: nope: FunctionNotFound');
    r = await hearth(['invoke', 'x', '{not json'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/the payload is not JSON .*give JSON, @FILE or -/);
    r = await hearth(['deploy', '/no/such/thing'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('hearth: /no/such/thing: no such file or folder\n');
    const closed = await startHearth({ args: ['--no-docker'] });
    await closed.stop(); // a port nobody listens on now
    r = await hearth(['ls', '--url', closed.url], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot reach Hearth at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\): is `hearth serve` running there\? Point --url or HEARTH_URL at it/);
    r = await hearth(['deploy'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("error: missing required argument 'path'");
    r = await hearth(['invoke', '--help'], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: hearth invoke [options] <name> [payload]');
  });
});
