// Function folders whose files are symbolic links: a Kubernetes ConfigMap volume (the kubelet's
// atomic-writer layout) mounted as a function's folder, a link cycle, a dangling link.

import { unzipSync } from 'fflate';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readFunctionFolder, zipFolder } from './deploy-dir.js';

const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'hearth-deploy-dir-'));
  dirs.push(d);
  return d;
}
const names = (zipB64: string) => Object.keys(unzipSync(Buffer.from(zipB64, 'base64'))).sort();

describe('function folders with symbolic links', () => {
  it('a ConfigMap volume mounted as the folder zips as its keys (links followed, the kubelet\'s ..data machinery left out)', () => {
    const dir = tmp();
    const stamp = '..2026_12_05_06_40_20.123456789';
    mkdirSync(join(dir, stamp, 'lib'), { recursive: true });
    writeFileSync(join(dir, stamp, 'function.json'), JSON.stringify({ runtime: 'js', handler: 'index.handler' }));
    writeFileSync(join(dir, stamp, 'index.js'), 'exports.handler = async () => require("./lib/x.js");');
    writeFileSync(join(dir, stamp, 'lib', 'x.js'), 'module.exports = 1;');
    symlinkSync(stamp, join(dir, '..data'));
    for (const key of ['function.json', 'index.js', 'lib']) symlinkSync(join('..data', key), join(dir, key));
    const f = readFunctionFolder(dir);
    expect(f.spec.runtime).toBe('js');
    expect(names((f.spec.code as { zip: string }).zip)).toEqual(['index.js', 'lib/x.js']);
  });

  it('a link back to a folder being walked is left out; a dangling link is an error naming it', () => {
    const dir = tmp();
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'a.js'), '1');
    symlinkSync('..', join(dir, 'sub', 'up'));
    expect(names(zipFolder(dir))).toEqual(['sub/a.js']);
    symlinkSync('missing.js', join(dir, 'gone.js'));
    expect(() => zipFolder(dir)).toThrow(/gone\.js: a symbolic link to nothing \(ENOENT\)/);
  });
});
