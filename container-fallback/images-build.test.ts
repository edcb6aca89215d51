// Building a runtime image from a base image the engine already has (the other way, debootstrap,
// is what npm test's set-up runs, so every test run starts from images it built). Real engine,
// real apt-get from the mirror, as root.

import Docker from 'dockerode';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildRuntimeImages } from './image-build.js';
import { BASE_LABEL, defaultRuntimesDir, INPUTS_LABEL, runtimeImageTag, runtimeInputsHash } from './images.js';

const docker = new Docker();
const dirs: string[] = [];
const images: string[] = [];

afterAll(async () => {
  for (const i of images) await docker.getImage(i).remove({ force: true }).catch(() => undefined);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tmp(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

/** A copy of the bootstraps with one more file, so its tag is not the one the other tests use. */
let copies = 0;
function runtimesCopy(): string {
  const d = tmp('hearth-runtimes-base-');
  cpSync(defaultRuntimesDir(), d, { recursive: true });
  writeFileSync(join(d, 'python3', 'built-from-base.txt'), `${process.pid}-${++copies}\n`);
  return d;
}

describe('runtime images from a base image', () => {
  it('exports the base, installs the packages with apt-get, and labels the image with the base it came from', async () => {
    // The java17 runtime image is a Debian bookworm tree without python3: a base for python3
    // that makes apt-get install something.
    const base = runtimeImageTag('java17');
    const baseId = (await docker.getImage(base).inspect()).Id;
    const runtimesDir = runtimesCopy();
    const tag = runtimeImageTag('python3', { runtimesDir });
    images.push(tag);
    const lines: string[] = [];
    const [img] = await buildRuntimeImages({ docker, runtimes: ['python3'], base, runtimesDir, prune: false, log: (l) => lines.push(l) });
    expect(img).toMatchObject({ runtime: 'python3', tag, built: true });
    expect(lines.join('\n')).toContain(`from the base image ${base}`);

    const info = await docker.getImage(tag).inspect();
    expect(info.Config.Labels[BASE_LABEL]).toBe(baseId);
    expect(info.Config.Labels[INPUTS_LABEL]).toBe(runtimeInputsHash('python3', runtimesDir));
    expect(info.Config.User).toBe('10001:10001');

    // What apt-get installed works, and the bootstrap is in place.
    const out = execFileSync('docker', ['run', '--rm', '--network', 'none', tag, 'python3', '-c',
      'import msgpack, os; print(msgpack.unpackb(msgpack.packb({"a": 1})), open("/opt/hearth/built-from-base.txt").read().strip(), os.path.exists("/opt/hearth/bootstrap.py"), os.getuid())'], { encoding: 'utf8' });
    expect(out.trim()).toBe(`{'a': 1} ${process.pid}-1 True 10001`);

    // Idempotent: the same inputs again build nothing.
    const [again] = await buildRuntimeImages({ docker, runtimes: ['python3'], base, runtimesDir, prune: false });
    expect(again).toMatchObject({ tag, built: false, id: img!.id });
  }, 240_000);

  it('refuses a base that is not Debian bookworm, and one the engine does not have', async () => {
    const tree = tmp('hearth-notdebian-');
    mkdirSync(join(tree, 'etc'));
    writeFileSync(join(tree, 'etc', 'os-release'), 'ID=alpine\nVERSION_ID=3.20.0\n');
    writeFileSync(join(tree, 'true'), '');
    const ref = `hearth-test-notdebian:${process.pid}`;
    images.push(ref);
    execFileSync('sh', ['-c', `tar -C '${tree}' -c . | docker import - ${ref}`]);
    const runtimesDir = runtimesCopy();
    await expect(buildRuntimeImages({ docker, runtimes: ['python3'], base: ref, runtimesDir, prune: false }))
      .rejects.toThrow(/is not Debian bookworm/);
    await expect(buildRuntimeImages({ docker, runtimes: ['python3'], base: 'hearth-no-such-base:1', runtimesDir, prune: false }))
      .rejects.toThrow(/"hearth-no-such-base:1" is not in the Docker engine/);
    // Nothing was tagged for those inputs.
    await expect(docker.getImage(runtimeImageTag('python3', { runtimesDir })).inspect()).rejects.toMatchObject({ statusCode: 404 });
  }, 60_000);
});
