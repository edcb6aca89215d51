// Building the runtime images of the container tier (python3, java17) on this machine without a
// registry: debootstrap (minbase, Debian bookworm) into a temp dir, the bootstrap from
// container-fallback/runtimes/<runtime>/ into /opt/hearth/, then `docker import` of the tree with
// the image config (CMD, USER RUNTIME_USER, WORKDIR /tmp, ENV, EXPOSE FUNCTION_PORT, labels). What goes into
// each image, and the tag that follows from it, is images.ts.
//
// Java: the bootstrap is compiled with the host's `javac --release 17` against the Jackson and
// msgpack jars of the image's own Debian packages; a CDS archive of the classes a warm-up run
// loads (-XX:ArchiveClassesAtExit, run in the tree with chroot) makes the JVM start faster.
//
// The root filesystem comes from debootstrap, or from a Debian bookworm base image when the engine
// already has one (HEARTH_BASE_IMAGE or `--base`, else debian:bookworm-slim, debian:bookworm,
// debian:12-slim or debian:12 if present): the image's files are exported into the tree, and the
// packages installed into it with apt-get in a chroot from the same mirror. Everything after that
// is the same. There is no registry to pull a base from, so without one debootstrap is the way.
// The tag stays the hash of the recipe (bootstrap, packages, suite, config), so the server finds
// the image whichever way it was made; the label hearth.base says which (debootstrap, or the base
// image's id).

import type Docker from 'dockerode';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { appendFile, chmod, copyFile, mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { CONTAINER_RUNTIMES, FUNCTION_PORT, RUNTIME_GID, RUNTIME_LABEL, RUNTIME_UID, RUNTIME_USER, type ContainerRuntime } from './contract.js';
import {
  BASE_ENV, BASE_LABEL, defaultRuntimesDir, INPUTS_LABEL, JAVA_JARS, listFiles, listRuntimeImages, RECIPES, runtimeImageTag,
  runtimeInputsHash, SUITE, WORKDIR, type ListedRuntimeImage, type Recipe,
} from './images.js';

export interface RuntimeImage {
  runtime: ContainerRuntime;
  /** e.g. hearth-python3:<12 hex of the inputs' hash> */
  tag: string;
  /** sha256:… */
  id: string;
  sizeBytes: number;
  /** Built now (false: it was there already). */
  built: boolean;
}

/** Base images used when the engine has one and none is named (in this order). */
export const DEFAULT_BASE_IMAGES = ['debian:bookworm-slim', 'debian:bookworm', 'debian:12-slim', 'debian:12'];
const DEFAULT_MIRROR = 'http://deb.debian.org/debian';
/** Sources of the API functions compile against (hearth-runtime.jar); the rest is the bootstrap. */
const JAVA_API = ['hearth/Context.java', 'hearth/Env.java'];

export interface BuildOptions {
  docker: Docker;
  runtimes?: ContainerRuntime[];
  /** Rebuild even when the tag exists. */
  force?: boolean;
  log?: (line: string) => void;
  /** Debian mirror (default: $HEARTH_DEBIAN_MIRROR, else apt's, else deb.debian.org). */
  mirror?: string;
  /** Remove the runtime's images of older inputs after a build (default true; in-use ones stay). */
  prune?: boolean;
  /**
   * A Debian bookworm image in the engine to build from instead of debootstrap (default:
   * $HEARTH_BASE_IMAGE, else the first of DEFAULT_BASE_IMAGES the engine has); false: debootstrap.
   */
  base?: string | false;
  /** Where the bootstraps' sources are (default: defaultRuntimesDir()). */
  runtimesDir?: string;
}

/**
 * Builds the runtime images that are missing (idempotent: an existing tag is not rebuilt unless
 * `force`). Runtimes build in turn; a file lock per runtime makes concurrent callers (other
 * processes) wait for the one that builds. Needs root (debootstrap, chroot) only when it builds.
 */
export async function buildRuntimeImages(opts: BuildOptions): Promise<RuntimeImage[]> {
  const { docker } = opts;
  const log = opts.log ?? (() => undefined);
  const runtimes = [...new Set(opts.runtimes ?? CONTAINER_RUNTIMES)];
  // One after the other: two debootstraps at once on a small machine take longer than in turn.
  const out: RuntimeImage[] = [];
  const failed: string[] = [];
  for (const runtime of runtimes) {
    try {
      out.push(await ensureImage(docker, runtime, { ...opts, log }));
    } catch (err) {
      failed.push(`${runtime}: ${(err as Error)?.message ?? err}`);
    }
  }
  if (failed.length > 0) throw new Error(`runtime image build failed:\n${failed.join('\n')}`);
  return out;
}

async function inspectImage(docker: Docker, ref: string): Promise<{ id: string; size: number } | null> {
  try {
    const info = await docker.getImage(ref).inspect();
    return { id: info.Id, size: info.Size };
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return null;
    throw err;
  }
}

async function ensureImage(docker: Docker, runtime: ContainerRuntime, opts: BuildOptions & { log: (line: string) => void }): Promise<RuntimeImage> {
  const runtimesDir = opts.runtimesDir ?? defaultRuntimesDir();
  const tag = runtimeImageTag(runtime, opts.runtimesDir !== undefined ? { runtimesDir } : {});
  const say = (line: string) => opts.log(`[${runtime}] ${line}`);
  const have = await inspectImage(docker, tag);
  if (have && !opts.force) {
    say(`${tag} is there (${mb(have.size)})`);
    return { runtime, tag, id: have.id, sizeBytes: have.size, built: false };
  }
  const base = await baseImage(docker, opts.base);
  preflight(runtime, base !== null);
  return withLock(`image-${runtime}`, say, async (waited) => {
    // Another process may have built it while this one waited.
    const now = await inspectImage(docker, tag);
    if (now && (!opts.force || waited)) {
      say(`${tag} is there (${mb(now.size)})`);
      return { runtime, tag, id: now.id, sizeBytes: now.size, built: false };
    }
    await removeStaleBuildDirs(runtime, say);
    const t0 = Date.now();
    const hash = runtimeInputsHash(runtime, runtimesDir);
    await buildImage(docker, runtime, { tag, hash, mirror: opts.mirror ?? debianMirror(), base, runtimesDir }, say);
    const built = await inspectImage(docker, tag);
    if (!built) throw new Error(`the import said it made ${tag}, but the engine does not have it`);
    if (now && now.id !== built.id) await removeImage(docker, now.id, say);
    say(`built ${tag} (${mb(built.size)}) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    if (opts.prune !== false) await pruneOlder(docker, runtime, tag, say);
    return { runtime, tag, id: built.id, sizeBytes: built.size, built: true };
  });
}

function mb(bytes: number): string {
  return `${Math.round(bytes / 1e6)} MB`;
}

/**
 * The base image to build from: the one asked for (which must be in the engine), else the first
 * default the engine has; null: debootstrap.
 */
async function baseImage(docker: Docker, asked: string | false | undefined): Promise<{ ref: string; id: string } | null> {
  if (asked === false) return null;
  const named = asked ?? process.env.HEARTH_BASE_IMAGE;
  if (named) {
    const img = await inspectImage(docker, named);
    if (!img) throw new Error(`the base image "${named}" is not in the Docker engine (there is no registry to pull it from: load it, or leave the base unset to use debootstrap)`);
    return { ref: named, id: img.id };
  }
  for (const ref of DEFAULT_BASE_IMAGES) {
    const img = await inspectImage(docker, ref);
    if (img) return { ref, id: img.id };
  }
  return null;
}

/** The tools a build needs; fails with what to do. */
function preflight(runtime: ContainerRuntime, fromBase: boolean): void {
  if (process.platform !== 'linux') throw new Error('the runtime images are built with chroot: Linux only');
  if (process.getuid?.() !== 0) {
    throw new Error('building the runtime images needs root (debootstrap and chroot): run `sudo hearth images build`, or `sudo bash scripts/setup-images.sh`');
  }
  const need = [...(fromBase ? [] : ['debootstrap']), 'tar', 'chroot', 'mount', 'umount', ...(runtime === 'java17' ? ['javac', 'jar'] : [])];
  const missing = need.filter((t) => !onPath(t));
  if (missing.length > 0) {
    const pkgs = missing.map((t) => (t === 'javac' || t === 'jar' ? 'openjdk-17-jdk-headless' : t === 'debootstrap' ? 'debootstrap' : 'coreutils'));
    throw new Error(`missing ${missing.join(', ')}: \`apt-get install -y ${[...new Set(pkgs)].join(' ')}\` (or run scripts/setup-images.sh)`);
  }
}

function onPath(tool: string): boolean {
  const dirs = (process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin').split(':');
  for (const d of [...dirs, '/usr/sbin', '/sbin']) {
    try {
      if (statSync(join(d, tool)).isFile()) return true;
    } catch { /* not here */ }
  }
  return false;
}

/** apt's Debian mirror (deb822 .sources or sources.list), else deb.debian.org. */
export function debianMirror(): string {
  if (process.env.HEARTH_DEBIAN_MIRROR) return process.env.HEARTH_DEBIAN_MIRROR;
  const candidates: string[] = [];
  try {
    for (const f of readdirSync('/etc/apt/sources.list.d')) {
      if (!f.endsWith('.sources')) continue;
      const text = readFileSync(join('/etc/apt/sources.list.d', f), 'utf8');
      for (const stanza of text.split(/\n\s*\n/)) {
        if (!/^Suites:.*\bbookworm\b/m.test(stanza)) continue;
        const uris = /^URIs:\s*(.+)$/m.exec(stanza)?.[1]?.trim().split(/\s+/) ?? [];
        candidates.push(...uris);
      }
    }
  } catch { /* none */ }
  try {
    for (const line of readFileSync('/etc/apt/sources.list', 'utf8').split('\n')) {
      const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+bookworm\s/.exec(line.trim());
      if (m?.[1]) candidates.push(m[1]);
    }
  } catch { /* none */ }
  return candidates.find((u) => /^https?:\/\//.test(u) && !/security/.test(u)) ?? DEFAULT_MIRROR;
}

const BUILD_ROOT = '/var/tmp';

interface Build {
  tag: string;
  hash: string;
  mirror: string;
  base: { ref: string; id: string } | null;
  runtimesDir: string;
}

async function buildImage(docker: Docker, runtime: ContainerRuntime, b: Build, say: (l: string) => void): Promise<void> {
  const recipe = RECIPES[runtime];
  const { tag, hash, mirror } = b;
  const work = await mkdtemp(join(BUILD_ROOT, `hearth-image-${runtime}-`));
  const rootfs = join(work, 'rootfs');
  try {
    let t = Date.now();
    if (b.base) {
      say(`from the base image ${b.base.ref} (${b.base.id.slice(7, 19)}), with ${recipe.packages.join(', ')} from ${mirror}`);
      await exportImage(docker, b.base.ref, rootfs);
      await aptInstall(rootfs, recipe.packages, mirror, say);
      say(`base tree and packages ready in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    } else {
      say(`debootstrap --variant=minbase ${SUITE} (${recipe.packages.join(', ')}) from ${mirror} into ${rootfs}`);
      await run('debootstrap', ['--variant=minbase', `--include=${recipe.packages.join(',')}`, SUITE, rootfs, mirror], {
        onLine: (line) => { if (/^[WE]: |^I: (Retrieving Release|Installing core|Base system installed)/.test(line)) say(line); },
      });
      say(`debootstrap done in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    }
    await trimTree(rootfs);
    await addUser(rootfs);
    const src = join(b.runtimesDir, runtime);
    const opt = join(rootfs, 'opt', 'hearth');
    await mkdir(opt, { recursive: true });
    if (runtime === 'python3') {
      await copyTree(src, opt);
      await run('chroot', [rootfs, 'python3', '-c', 'import msgpack, http.server, json, zipfile, asyncio, logging'], { env: chrootEnv(recipe) });
    } else {
      t = Date.now();
      await buildJava(rootfs, src, opt, work, recipe, say);
      say(`bootstrap compiled and CDS archive made in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    }
    t = Date.now();
    say(`importing ${tag}`);
    await importTree(docker, rootfs, tag, runtime, hash, recipe, b.base?.id ?? `debootstrap:${SUITE}`);
    say(`imported in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  } finally {
    await removeBuildDir(work, say);
  }
}

/** The files of an image (a created, never started container's export) into dir. */
async function exportImage(docker: Docker, ref: string, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const c = await docker.createContainer({ Image: ref, Cmd: ['true'], Labels: { 'hearth.build': String(process.pid) }, NetworkDisabled: true });
  try {
    const stream = await c.export();
    const tar = spawn('tar', ['--numeric-owner', '-C', dir, '-xf', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    tar.stderr.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-2000); });
    stream.pipe(tar.stdin);
    await new Promise<void>((resolve, reject) => {
      stream.on('error', reject);
      tar.on('error', reject);
      tar.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`tar -x of ${ref} exited with ${code}: ${err.trim()}`))));
    });
  } finally {
    await c.remove({ force: true }).catch(() => undefined);
  }
  let release = '';
  try { release = readFileSync(join(dir, 'etc', 'os-release'), 'utf8'); } catch { /* none */ }
  const codename = /^VERSION_CODENAME=(.*)$/m.exec(release)?.[1]?.replace(/"/g, '') ?? '';
  if (!/^ID=debian$/m.test(release) || codename !== SUITE) {
    throw new Error(`the base image ${ref} is not Debian ${SUITE} (its /etc/os-release says ${JSON.stringify(codename || release.split('\n')[0] || 'nothing')})`);
  }
}

/** apt-get install of the recipe's packages into a Debian tree, in a chroot, from the mirror. */
async function aptInstall(rootfs: string, packages: string[], mirror: string, say: (l: string) => void): Promise<void> {
  // Only the mirror (the image's own sources may name hosts this machine cannot reach).
  await rm(join(rootfs, 'etc', 'apt', 'sources.list.d'), { recursive: true, force: true });
  await mkdir(join(rootfs, 'etc', 'apt', 'sources.list.d'), { recursive: true });
  writeFileSync(join(rootfs, 'etc', 'apt', 'sources.list'), `deb ${mirror} ${SUITE} main\n`);
  // Docker left an empty resolv.conf (the engine mounts one at run time); apt needs the host's.
  await rm(join(rootfs, 'etc', 'resolv.conf'), { force: true });
  await copyFile('/etc/resolv.conf', join(rootfs, 'etc', 'resolv.conf'));
  const env: NodeJS.ProcessEnv = { PATH: BASE_ENV.PATH, LANG: 'C.UTF-8', HOME: '/root', DEBIAN_FRONTEND: 'noninteractive' };
  const proc = join(rootfs, 'proc');
  await mkdir(proc, { recursive: true });
  await run('mount', ['-t', 'proc', 'proc', proc]);
  try {
    await run('chroot', [rootfs, 'apt-get', 'update', '-q'], { env, onLine: (l) => { if (/^(E|W):/.test(l)) say(l); } });
    await run('chroot', [rootfs, 'apt-get', 'install', '-y', '-q', '--no-install-recommends', ...packages], { env, onLine: (l) => { if (/^(E|W):/.test(l)) say(l); } });
    await run('chroot', [rootfs, 'apt-get', 'clean'], { env });
  } finally {
    await run('umount', ['-l', proc]).catch(() => undefined);
  }
  writeFileSync(join(rootfs, 'etc', 'resolv.conf'), '');
}

function chrootEnv(recipe: Recipe): NodeJS.ProcessEnv {
  return { ...recipe.env, HOME: '/root' };
}

/** What a function's container never needs: downloaded .debs, apt lists, docs, man pages, translations. */
async function trimTree(rootfs: string): Promise<void> {
  const empty = ['var/cache/apt/archives', 'var/lib/apt/lists', 'usr/share/doc', 'usr/share/man', 'usr/share/info', 'usr/share/locale', 'var/log', 'var/cache/debconf'];
  for (const rel of empty) {
    const dir = join(rootfs, rel);
    let entries: string[] = [];
    try { entries = await readdir(dir); } catch { continue; }
    for (const e of entries) {
      if (e === 'partial' || e === 'lock') continue;
      await rm(join(dir, e), { recursive: true, force: true });
    }
  }
}

/** The uid functions run as gets a name and a home (/tmp), like a regular user. */
async function addUser(rootfs: string): Promise<void> {
  const passwd = join(rootfs, 'etc', 'passwd');
  if (!readFileSync(passwd, 'utf8').includes(`:${RUNTIME_UID}:`)) {
    await appendFile(passwd, `hearth:x:${RUNTIME_UID}:${RUNTIME_GID}:Hearth function:/tmp:/usr/sbin/nologin\n`);
    await appendFile(join(rootfs, 'etc', 'group'), `hearth:x:${RUNTIME_GID}:\n`);
  }
}

async function copyTree(from: string, to: string): Promise<void> {
  for (const f of listFiles(from)) {
    const dest = join(to, relative(from, f));
    await mkdir(dirname(dest), { recursive: true });
    await copyFile(f, dest);
    await chmod(dest, 0o644);
  }
}

async function buildJava(rootfs: string, src: string, opt: string, work: string, recipe: Recipe, say: (l: string) => void): Promise<void> {
  const jars = JAVA_JARS.map((j) => join(rootfs, j));
  for (const j of jars) if (!existsSync(j)) throw new Error(`${j.slice(rootfs.length)} is not in the tree (did the Debian packages change?)`);
  const sources = listFiles(src).filter((f) => f.endsWith('.java'));
  const api = sources.filter((f) => JAVA_API.includes(relative(src, f)));
  const impl = sources.filter((f) => !JAVA_API.includes(relative(src, f)));
  if (api.length !== JAVA_API.length) throw new Error(`the Java API sources (${JAVA_API.join(', ')}) are not all in ${src}`);
  const apiOut = join(work, 'classes-api');
  const implOut = join(work, 'classes-bootstrap');
  // Host's javac: the image has a JRE only.
  await run('javac', ['--release', '17', '-nowarn', '-encoding', 'UTF-8', '-d', apiOut, ...api]);
  await run('javac', ['--release', '17', '-nowarn', '-encoding', 'UTF-8', '-cp', [apiOut, ...jars].join(':'), '-d', implOut, ...impl]);
  await run('jar', ['--create', '--date=2024-01-01T00:00:00Z', '--file', join(opt, 'hearth-runtime.jar'), '-C', apiOut, '.']);
  await run('jar', ['--create', '--date=2024-01-01T00:00:00Z', '--file', join(opt, 'hearth-bootstrap.jar'), '-C', implOut, '.']);
  await copyTree(src, join(opt, 'src'));
  for (const j of ['hearth-runtime.jar', 'hearth-bootstrap.jar']) await chmod(join(opt, j), 0o644);

  // Not needed by a JRE with a heap under 32 GB: javac's symbol file, the uncompressed-oops CDS archive.
  for (const e of await readdir(join(rootfs, 'usr', 'lib', 'jvm'), { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    const jvm = e.name;
    await rm(join(rootfs, 'usr', 'lib', 'jvm', jvm, 'lib', 'ct.sym'), { force: true });
    await rm(join(rootfs, 'usr', 'lib', 'jvm', jvm, 'lib', 'server', 'classes_nocoops.jsa'), { force: true });
  }

  // The CDS archive: a warm-up run (one of each request against itself) records its classes.
  const cmd = recipe.cmd.map((a) => (a.startsWith('-XX:SharedArchiveFile=') ? a.replace('SharedArchiveFile', 'ArchiveClassesAtExit') : a));
  const proc = join(rootfs, 'proc');
  await run('mount', ['-t', 'proc', 'proc', proc]);
  try {
    await run('chroot', [rootfs, ...cmd, '--warmup'], { env: chrootEnv(recipe), onLine: (l) => { if (/error|exception/i.test(l)) say(`warm-up: ${l}`); } });
  } finally {
    await run('umount', ['-l', proc]).catch(() => undefined);
  }
  const jsa = join(opt, 'hearth.jsa');
  if (!existsSync(jsa)) throw new Error('the warm-up run made no CDS archive');
  await chmod(jsa, 0o644);
  say(`CDS archive ${mb((await stat(jsa)).size)}`);
}

/** `tar` of the tree into the engine's image import, with the image config. */
async function importTree(docker: Docker, rootfs: string, tag: string, runtime: ContainerRuntime, hash: string, recipe: Recipe, base: string): Promise<void> {
  const [repo, version] = tag.split(':') as [string, string];
  const changes = [
    `CMD ${JSON.stringify(recipe.cmd)}`,
    `WORKDIR ${WORKDIR}`,
    `USER ${RUNTIME_USER}`,
    `EXPOSE ${FUNCTION_PORT}`,
    ...Object.entries(recipe.env).map(([k, v]) => `ENV ${k}=${JSON.stringify(v)}`),
    `LABEL ${RUNTIME_LABEL}=${runtime} ${INPUTS_LABEL}=${hash} ${BASE_LABEL}=${base}`,
  ];
  const tar = spawn('tar', ['--numeric-owner', '-C', rootfs, '-cf', '-', '.'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let tarErr = '';
  tar.stderr.on('data', (d: Buffer) => { tarErr = (tarErr + d.toString()).slice(-2000); });
  const tarDone = new Promise<void>((resolve, reject) => {
    tar.on('error', reject);
    tar.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`tar exited with ${code}: ${tarErr.trim()}`))));
  });
  tarDone.catch(() => undefined);
  const imported = (async () => {
    const stream = await docker.importImage(tar.stdout, { repo, tag: version, changes } as object) as NodeJS.ReadableStream;
    const events = await new Promise<{ status?: string; error?: string; errorDetail?: { message?: string } }[]>((resolve, reject) => {
      docker.modem.followProgress(stream, (err: Error | null, out: unknown[]) => (err ? reject(err) : resolve(out as never)));
    });
    const bad = events.find((e) => e.error || e.errorDetail);
    if (bad) throw new Error(`docker import: ${bad.error ?? bad.errorDetail?.message}`);
  })();
  try {
    await Promise.all([tarDone, imported]);
  } catch (err) {
    tar.kill();
    // A torn tar must not leave a tagged image behind.
    await docker.getImage(tag).remove({ force: true }).catch(() => undefined);
    throw err;
  }
}

async function removeImage(docker: Docker, id: string, say: (l: string) => void): Promise<void> {
  try {
    await docker.getImage(id).remove();
    say(`removed the previous image ${id.slice(7, 19)}`);
  } catch (err) {
    say(`kept the previous image ${id.slice(7, 19)} (${(err as Error).message.split('\n')[0]})`);
  }
}

/** Untags the runtime's images of older inputs (an image in use, or a parent of others, stays). */
async function pruneOlder(docker: Docker, runtime: ContainerRuntime, keep: string, say: (l: string) => void): Promise<void> {
  let list: ListedRuntimeImage[] = [];
  try { list = await listRuntimeImages(docker); } catch { return; }
  for (const img of list) {
    if (img.runtime !== runtime || img.tag === keep || img.tag === '<none>') continue;
    try {
      await docker.getImage(img.tag).remove();
      say(`removed the older image ${img.tag}`);
    } catch (err) {
      say(`kept the older image ${img.tag} (${(err as Error).message.split('\n')[0]})`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Build dirs and locks

/** Mount points at or under dir (deepest first). */
function mountsUnder(dir: string): string[] {
  let text = '';
  try { text = readFileSync('/proc/self/mounts', 'utf8'); } catch { return []; }
  return text.split('\n').map((l) => (l.split(' ')[1] ?? '').replace(/\\040/g, ' '))
    .filter((m) => m === dir || m.startsWith(`${dir}/`)).sort((a, b) => b.length - a.length);
}

/** Removes a build dir: never while something is mounted in it (a proc mount must not be walked). */
async function removeBuildDir(work: string, say: (l: string) => void): Promise<void> {
  for (const m of mountsUnder(work)) await run('umount', ['-l', m]).catch(() => undefined);
  const left = mountsUnder(work);
  if (left.length > 0) {
    say(`left ${work} in place: still mounted there: ${left.join(', ')}`);
    return;
  }
  await rm(work, { recursive: true, force: true });
}

/** Build dirs an interrupted build of this runtime left (this process holds the runtime's lock). */
async function removeStaleBuildDirs(runtime: ContainerRuntime, say: (l: string) => void): Promise<void> {
  let entries: string[] = [];
  try { entries = await readdir(BUILD_ROOT); } catch { return; }
  for (const e of entries) {
    if (!e.startsWith(`hearth-image-${runtime}-`)) continue;
    say(`removing ${join(BUILD_ROOT, e)} (an interrupted build's)`);
    await removeBuildDir(join(BUILD_ROOT, e), say);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // A zombie (exited, not reaped yet) holds nothing.
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

/** A lock dir in /var/tmp held by this process while fn runs; waits for a live holder. */
async function withLock<T>(name: string, say: (l: string) => void, fn: (waited: boolean) => Promise<T>): Promise<T> {
  const path = join(BUILD_ROOT, `hearth-${name}.lock`);
  let waited = false;
  for (;;) {
    try {
      mkdirSync(path);
      writeFileSync(join(path, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let pid = 0;
    try { pid = Number(readFileSync(join(path, 'pid'), 'utf8')); } catch { /* being written */ }
    let age = 0;
    try { age = Date.now() - statSync(path).mtimeMs; } catch { continue; }
    if ((pid > 0 && !alive(pid)) || (pid === 0 && age > 10_000)) {
      rmSync(path, { recursive: true, force: true });
      continue;
    }
    if (!waited) say(`waiting for process ${pid || '?'}, which is building it (lock ${path})`);
    waited = true;
    await new Promise((r) => setTimeout(r, 1_000));
  }
  try {
    return await fn(waited);
  } finally {
    rmSync(path, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Child processes

function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; onLine?: (line: string) => void } = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env });
    const tail: string[] = [];
    let partial = '';
    const onData = (d: Buffer) => {
      const lines = (partial + d.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        tail.push(line);
        if (tail.length > 40) tail.shift();
        opts.onLine?.(line);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (err) => reject(new Error(`${cmd}: ${err.message}`)));
    child.on('close', (code, signal) => {
      if (partial) tail.push(partial);
      if (code === 0) resolve();
      else reject(new Error(`${cmd} ${args.slice(0, 3).join(' ')}… failed (${signal ?? `exit ${code}`}):\n${tail.join('\n')}`));
    });
  });
}
