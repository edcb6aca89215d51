// examples/gateway/Dockerfile builds and runs here: the image starts Hearth as its own user on
// 0.0.0.0:8080, refuses to start without HEARTH_ADMIN_TOKEN, becomes healthy (its HEALTHCHECK asks
// /readyz), serves a call, and on `docker stop` drains and exits 0.
//
// There is no registry on this machine, so the Dockerfile's NODE_IMAGE is a local stand-in for
// node:20-bookworm-slim: the runtime image Hearth builds for python3 (Debian 12, from Debian's
// packages) plus this machine's Node 20 (node, npm and its headers, at /usr/local as in the official
// image), tagged hearth-local/node:20-bookworm and kept between runs (it is rebuilt when Node or
// that image changes). The Dockerfile's build stage (npm install, which compiles isolated-vm for
// minutes, then tsc) is not run: APP_IMAGE stands in for it with an image of this checkout's own
// build (its dist/ and production node_modules, made on this Debian 12 + Node 20 machine), and
// BuildKit skips the build stage. Everything else in the image is the Dockerfile's.

import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './support/hearth.js';
import { waitFor } from './support/until.js';

const BASE = 'hearth-local/node:20-bookworm';
const RUN_ID = `${process.pid}-${Date.now().toString(36)}`;
const APP = `hearth-local/hearth-app:test-${RUN_ID}`;
const IMAGE = `hearth-local/hearth:test-${RUN_ID}`;
const TOKEN = 'gateway-image-test-admin-token-0123456789';

interface Run { status: number | null; stdout: string; stderr: string }

function sh(cmd: string, args: string[], opts: SpawnSyncOptions = {}): Run {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 240_000, ...opts });
  return { status: r.status, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') + (r.error ? String(r.error) : '') };
}

function must(cmd: string, args: string[], opts: SpawnSyncOptions = {}): string {
  const r = sh(cmd, args, opts);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stderr.slice(-4000)}${r.stdout.slice(-2000)}`);
  return r.stdout.trim();
}

const docker = (...args: string[]) => must('docker', args);

/**
 * A docker build that uses BuildKit: `docker buildx build --load`, or a client from before Docker 23
 * (Debian 12's docker.io) with DOCKER_BUILDKIT=1. The Dockerfile needs BuildKit (RUN --mount, and
 * skipping the build stage that APP_IMAGE replaces).
 */
function buildkit(): (args: string[]) => string {
  if (sh('docker', ['buildx', 'version']).status === 0) return (args) => must('docker', ['buildx', 'build', '--load', ...args]);
  for (const client of ['docker', '/usr/bin/docker']) {
    const v = sh(client, ['version', '--format', '{{.Client.Version}}']).stdout.trim();
    const major = Number(v.split('.')[0]);
    if (major > 0 && major < 23) return (args) => must(client, ['build', ...args], { env: { ...process.env, DOCKER_BUILDKIT: '1' } });
  }
  throw new Error('building examples/gateway/Dockerfile needs BuildKit: install Docker\'s buildx plugin, or keep Debian 12\'s docker.io client (/usr/bin/docker, 20.10), which has it with DOCKER_BUILDKIT=1');
}

/** What this test needs, each missing piece said plainly (never a skip). */
function prerequisites(): { build: (args: string[]) => string; python3Image: string } {
  if (sh('docker', ['version']).status !== 0) throw new Error('no Docker engine answers: run `bash scripts/setup-images.sh` (as root) to install and start one');
  if (!existsSync(join(ROOT, 'dist/core/cli.js')) || !existsSync(join(ROOT, 'dist/runtime/isolate-runtime.js'))) throw new Error('dist/ is not built: run `npm run build`');
  const build = buildkit();
  // The newest python3 runtime image `hearth images build` made (Debian 12 from Debian's packages).
  const python3Image = docker('images', '--filter', 'label=hearth.runtime=python3', '--format', '{{.Repository}}:{{.Tag}}')
    .split('\n').find((r) => r.startsWith('hearth-python3:'));
  if (!python3Image) throw new Error('the hearth-python3 runtime image is missing: run `bash scripts/setup-images.sh` (as root), or `hearth images build --runtime python3`');
  return { build, python3Image };
}

/** hearth-local/node:20-bookworm, unless it is there already for this Node and that image. */
function baseImage(build: (args: string[]) => string, python3Image: string): string {
  const python3Id = docker('image', 'inspect', '--format', '{{.Id}}', python3Image);
  const stamp = `${process.version} ${python3Id}`;
  const current = sh('docker', ['image', 'inspect', '--format', '{{index .Config.Labels "hearth.local-base"}}', BASE]);
  if (current.status === 0 && current.stdout.trim() === stamp) return BASE;
  const node = process.execPath;
  const ctx = mkdtempSync(join(tmpdir(), 'hearth-node-base-'));
  try {
    const prefix = dirname(dirname(node)); // /usr for /usr/bin/node
    cpSync(node, join(ctx, 'node'));
    cpSync(join(prefix, 'lib/node_modules/npm'), join(ctx, 'npm'), { recursive: true });
    cpSync(join(prefix, 'include/node'), join(ctx, 'include'), { recursive: true });
    writeFileSync(join(ctx, 'Dockerfile'), [
      `FROM ${python3Image} AS debian`,
      // Only its files (Debian 12 from Debian's packages): none of its settings, labels or user.
      'FROM scratch',
      'COPY --from=debian / /',
      'COPY node /usr/local/bin/node',
      'COPY npm /usr/local/lib/node_modules/npm',
      'COPY include /usr/local/include/node',
      'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8',
      'RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx && node --version && npm --version',
      `LABEL hearth.local-base="${stamp}"`,
      'CMD ["node"]',
    ].join('\n'));
    build(['-q', '-t', BASE, ctx]);
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
  return BASE;
}

/**
 * What the Dockerfile's build stage leaves in /app/hearth, from this checkout's own build: package.json,
 * dist, bin, examples, the container bootstraps and the production dependencies (npm ls --omit=dev).
 */
function appImage(): string {
  const listed = must('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: ROOT }).split('\n').slice(1)
    .map((p) => relative(ROOT, p)).filter((p) => p.startsWith('node_modules/')).sort();
  // A package inside another one's folder is in the tar with it.
  const deps = listed.filter((p, i) => !listed.slice(0, i).some((q) => p.startsWith(`${q}/`)));
  const paths = ['package.json', 'dist', 'bin', 'examples', 'container-fallback/runtimes', ...deps];
  const tar = spawnSync('sh', ['-c', 'tar -C "$0" -c --owner=0 --group=0 --transform "s,^,app/hearth/," -- "$@" | docker import - "$APP"', ROOT, ...paths], {
    encoding: 'utf8', env: { ...process.env, APP }, timeout: 240_000,
  });
  if (tar.status !== 0) throw new Error(`could not make ${APP}: ${tar.stderr}`);
  return APP;
}

/** The builder's cache records (BuildKit keeps one per step, also after the image is gone). */
function buildCache(): Set<string> {
  const r = sh('docker', ['system', 'df', '-v', '--format', '{{json .BuildCache}}']);
  try {
    return new Set(((JSON.parse(r.stdout.trim() || '[]') ?? []) as { ID: string }[]).map((c) => c.ID));
  } catch {
    return new Set();
  }
}

/** Removes the cache records this run added (one id at a time: a child goes before its parent). */
function pruneBuildCache(before: Set<string>): void {
  for (let round = 0; round < 10; round++) {
    const added = [...buildCache()].filter((id) => !before.has(id));
    if (added.length === 0) return;
    for (const id of added) sh('docker', ['builder', 'prune', '-f', '--filter', `id=${id}`]);
  }
}

describe('examples/gateway/Dockerfile', () => {
  it('builds; the image runs Hearth as its own user, needs an admin token, turns healthy, serves a call, drains and exits 0 on docker stop', async () => {
    const t0 = performance.now();
    const { build, python3Image } = prerequisites();
    const cacheBefore = buildCache();
    const containers: string[] = [];
    const marks: string[] = [];
    const mark = (what: string) => marks.push(`${what} ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    try {
      const base = baseImage(build, python3Image);
      mark('base image');
      const app = appImage();
      mark('app image');
      build(['-q', '-f', join(ROOT, 'examples/gateway/Dockerfile'), '--build-arg', `NODE_IMAGE=${base}`, '--build-arg', `APP_IMAGE=${app}`, '-t', IMAGE, ROOT]);
      mark('docker build');
      const config = JSON.parse(docker('image', 'inspect', '--format', '{{json .Config}}', IMAGE)) as {
        User: string; StopSignal?: string; ExposedPorts: Record<string, unknown>; Volumes: Record<string, unknown>; Healthcheck?: { Test: string[] };
      };
      expect(config.User).toBe('hearth');
      expect(config.StopSignal).toBe('SIGTERM');
      expect(Object.keys(config.ExposedPorts)).toEqual(['8080/tcp']);
      expect(Object.keys(config.Volumes)).toEqual(['/data']);
      expect(config.Healthcheck?.Test.join(' ')).toContain('/readyz');

      // Without an admin token it does not start: it would listen beyond loopback.
      const refused = sh('docker', ['run', '--rm', IMAGE, 'serve', '--no-docker']);
      expect(refused.status).not.toBe(0);
      expect(refused.stderr + refused.stdout).toMatch(/HEARTH_ADMIN_TOKEN|admin token/i);
      console.log(`without a token: exit ${refused.status}, ${(refused.stderr + refused.stdout).trim().split('\n').at(-1)}`);
      mark('refused without a token');

      const name = `hearth-gateway-image-${RUN_ID}`;
      containers.push(name);
      docker('run', '-d', '--name', name, '--init', '-p', '127.0.0.1::8080', '--health-interval', '1s', '-e', `HEARTH_ADMIN_TOKEN=${TOKEN}`,
        IMAGE, 'serve', '--deploy', '/hearth/examples', '--no-docker', '--drain-timeout-ms', '5000');
      const port = Number(docker('port', name, '8080/tcp').split('\n')[0]!.split(':').pop());
      const health = await waitFor(() => {
        const s = sh('docker', ['inspect', '--format', '{{.State.Status}} {{.State.Health.Status}}', name]).stdout.trim();
        if (s.startsWith('exited')) throw new Error(`the container exited:\n${sh('docker', ['logs', name]).stderr}`);
        return s === 'running healthy' ? s : null;
      }, 60_000, 'the container turns healthy', 250);
      expect(health).toBe('running healthy');
      mark('healthy');
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
      const r = await fetch(`http://127.0.0.1:${port}/v1/functions/hello/invoke`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"Ada"}' });
      expect(r.status).toBe(200);
      expect(await r.json()).toMatchObject({ hello: 'Ada' });
      expect(r.headers.get('x-hearth-cold')).toBe('true');
      // Management needs the token.
      expect((await fetch(`http://127.0.0.1:${port}/v1/functions`)).status).toBe(401);
      expect((await fetch(`http://127.0.0.1:${port}/v1/functions`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
      // Hearth runs as the image's user, not root, and keeps its functions on the volume.
      expect(docker('exec', name, 'id', '-un')).toBe('hearth');
      expect(docker('exec', name, 'ls', '/data/functions')).toContain('hello.json');

      // docker stop: SIGTERM, the drain, exit 0 (well within the stop timeout).
      docker('stop', '-t', '30', name);
      expect(docker('inspect', '--format', '{{.State.ExitCode}}', name)).toBe('0');
      const logs = sh('docker', ['logs', name]);
      expect(logs.stdout + logs.stderr).toContain('"msg":"drained');
      mark('stopped, exit 0');
      console.log(`gateway image: ${marks.join(', ')}`);
    } finally {
      for (const c of containers) sh('docker', ['rm', '-f', '-v', c]);
      sh('docker', ['rmi', '-f', IMAGE, APP]);
      pruneBuildCache(cacheBefore);
    }
  }, 240_000);
});
