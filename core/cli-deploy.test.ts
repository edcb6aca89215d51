// `hearth deploy PATH`: what a file or folder becomes (runtime, handler, code), and the errors.

import { strToU8, unzipSync, zipSync } from 'fflate';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planDeploy } from './cli-deploy.js';

function tree(files: Record<string, string | Uint8Array>): string {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-deploy-'));
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(join(dir, rel, '..'), { recursive: true });
    writeFileSync(join(dir, rel), content);
  }
  return dir;
}

const zipNames = (b64: string) => Object.keys(unzipSync(Buffer.from(b64, 'base64')));

describe('planDeploy', () => {
  it('takes a folder with function.json as --functions does (name from the folder, code zipped without function.json)', () => {
    const dir = tree({ 'hello/function.json': '{"runtime":"js","handler":"index.main_handler","memoryMb":64}', 'hello/index.js': 'exports.main_handler = async () => 1', 'hello/lib/a.js': '' });
    const p = planDeploy(join(dir, 'hello'));
    expect(p.name).toBe('hello');
    expect(p.spec).toMatchObject({ runtime: 'js', handler: 'index.main_handler', memoryMb: 64 });
    expect(zipNames((p.spec.code as { zip: string }).zip).sort()).toEqual(['index.js', 'lib/a.js']);
  });

  it('keeps what function.json says besides the code: queue triggers, destinations, schedules', () => {
    const trigger = { type: 'nats', url: 'nats://q:4222', stream: 'ORDERS' };
    const dir = tree({ 'f/function.json': JSON.stringify({ runtime: 'js', handler: 'index.handler', triggers: [trigger], onSuccess: { url: 'http://sink/x', format: 'cloudevents' }, schedules: [{ cron: '* * * * *' }] }), 'f/index.js': '' });
    const p = planDeploy(join(dir, 'f'));
    expect(p.spec).toMatchObject({ triggers: [trigger], onSuccess: { url: 'http://sink/x', format: 'cloudevents' }, schedules: [{ cron: '* * * * *' }] });
  });

  it('infers runtime and handler for a folder without function.json', () => {
    const js = tree({ 'api/index.mjs': 'export const handler = async () => 1;', 'api/package.json': '{}' });
    expect(planDeploy(join(js, 'api')).spec).toMatchObject({ runtime: 'js', handler: 'index.handler' });
    const py = tree({ 'py/index.py': 'def main_handler(event, context):\n  return 1\n' });
    expect(planDeploy(join(py, 'py')).spec).toMatchObject({ runtime: 'python3', handler: 'index.main_handler' });
    const def = tree({ 'd/index.js': 'export default async () => 1' });
    expect(planDeploy(join(def, 'd')).spec).toMatchObject({ runtime: 'js', handler: 'index.default' });
  });

  it('takes single files: .js/.mjs under their own name, .py, .jar (handler required), a spec .json, a .zip', () => {
    const d = tree({
      'greet.mjs': 'export const main_handler = async (e) => e;',
      'calc.py': 'def main_handler(e, c):\n  return 1\n',
      'app.jar': 'PK-not-really',
      'full.json': JSON.stringify({ name: 'fromjson', runtime: 'js', handler: 'index.handler', code: { source: 'exports.handler = async () => 1' } }),
      'bundle.zip': zipSync({ 'index.js': strToU8('exports.handler = async () => 1') }),
    });
    const greet = planDeploy(join(d, 'greet.mjs'));
    expect(greet).toMatchObject({ name: 'greet', spec: { runtime: 'js', handler: 'greet.main_handler' } });
    expect(zipNames((greet.spec.code as { zip: string }).zip)).toEqual(['greet.mjs']);
    expect(planDeploy(join(d, 'calc.py'))).toMatchObject({ name: 'calc', spec: { runtime: 'python3', handler: 'calc.main_handler' } });
    expect(() => planDeploy(join(d, 'app.jar'))).toThrow(/cannot tell the handler; add --handler \("pkg\.Class::method"\)/);
    expect(planDeploy(join(d, 'app.jar'), { handler: 'example.App::handle' }).spec).toMatchObject({ runtime: 'java17', handler: 'example.App::handle', code: { jar: expect.any(String) } });
    expect(planDeploy(join(d, 'full.json'))).toMatchObject({ name: 'fromjson', spec: { runtime: 'js', code: { source: expect.any(String) } } });
    expect(planDeploy(join(d, 'bundle.zip'))).toMatchObject({ name: 'bundle', spec: { runtime: 'js', handler: 'index.handler' } });
  });

  it('lets flags override what it found', () => {
    const d = tree({ 'x/index.js': 'exports.handler = async () => 1', 'x/function.json': '{"runtime":"js","handler":"index.handler","env":{"A":"1"}}' });
    const p = planDeploy(join(d, 'x'), { name: 'y', handler: 'index.other', memoryMb: 256, timeoutMs: 500, concurrency: 4, env: { B: '2' } });
    expect(p).toMatchObject({ name: 'y', spec: { handler: 'index.other', memoryMb: 256, timeoutMs: 500, concurrency: 4, env: { A: '1', B: '2' } } });
  });

  it('says what to do when it cannot tell', () => {
    const d = tree({ 'notes.txt': 'hi', 'empty/readme.md': '', 'bad.zip': 'not a zip', 'bad/function.json': '{nope' });
    expect(() => planDeploy(join(d, 'missing'))).toThrow(/missing: no such file or folder/);
    expect(() => planDeploy(join(d, 'notes.txt'))).toThrow(/not a file hearth deploy takes/);
    expect(() => planDeploy(join(d, 'empty'))).toThrow(/cannot tell the runtime from what it holds; add --runtime/);
    expect(() => planDeploy(join(d, 'bad.zip'))).toThrow(/not a readable zip archive/);
    expect(() => planDeploy(join(d, 'bad'))).toThrow(/function\.json: not valid JSON/);
  });
});
