// The runtime images of the container tier (python3, java17): what goes into each (its recipe:
// packages, environment, command; its bootstrap from container-fallback/runtimes/<runtime>/), the
// tag that follows from that, and which images the engine has. Building them is image-build.ts.
//
// Each image is tagged by a hash of what went into it (bootstrap files, packages, suite, image
// config, the builder's version), e.g. hearth-python3:3f9c0a1b2c4d: a changed bootstrap gets a
// new tag, and an existing tag is never rebuilt (unless forced). Labels: hearth.runtime=<runtime>,
// hearth.inputs=<full hash>, hearth.base=<what the root filesystem came from>.

import type Docker from 'dockerode';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONTAINER_RUNTIMES, FUNCTION_PORT, RUNTIME_LABEL, RUNTIME_USER, type ContainerRuntime } from './contract.js';

export interface ListedRuntimeImage {
  runtime: string;
  tag: string;
  id: string;
  sizeBytes: number;
  created: Date;
  /** The tag this build of Hearth uses for the runtime (false: an older build's). */
  current: boolean;
}

/** Bump when the build itself changes in a way the other inputs do not show. */
export const BUILDER_VERSION = 2;
export const SUITE = 'bookworm';
export const INPUTS_LABEL = 'hearth.inputs';
export const BASE_LABEL = 'hearth.base';
/** The working directory of a runtime image (the one writable place: a tmpfs). */
export const WORKDIR = '/tmp';

export const JAVA_JARS = ['jackson-databind', 'jackson-core', 'jackson-annotations', 'msgpack-core', 'msgpack-jackson']
  .map((j) => `/usr/share/java/${j}.jar`);
/** The bootstrap's class path (the CDS archive is only used with exactly this one). */
const JAVA_CLASSPATH = ['/opt/hearth/hearth-runtime.jar', '/opt/hearth/hearth-bootstrap.jar', ...JAVA_JARS].join(':');

export interface Recipe {
  packages: string[];
  env: Record<string, string>;
  cmd: string[];
}

export const BASE_ENV = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  LANG: 'C.UTF-8',
  HOME: '/tmp',
};

export const RECIPES: Record<ContainerRuntime, Recipe> = {
  python3: {
    // Pillow and boto3: the image functions of the seed's example (examples/thumbnails) use; both
    // are imported only by code that asks for them (a stem cell's start does not load them).
    packages: ['python3', 'python3-msgpack', 'python3-pil', 'python3-boto3'],
    env: { ...BASE_ENV, PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1' },
    cmd: ['python3', '/opt/hearth/bootstrap.py'],
  },
  java17: {
    packages: ['openjdk-17-jre-headless', 'libjackson2-databind-java', 'libmsgpack-java'],
    env: {
      ...BASE_ENV,
      // A small container: serial GC, C1 only (fast start, less memory; slower peak speed for
      // long compute), no perf-data file in /tmp, CDS on, heap up to 60% of the memory limit.
      JAVA_TOOL_OPTIONS: '-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto -XX:-UsePerfData -XX:MaxRAMPercentage=60',
    },
    cmd: ['java', '-XX:SharedArchiveFile=/opt/hearth/hearth.jsa', '-cp', JAVA_CLASSPATH, 'hearth.Bootstrap'],
  },
};

// ---------------------------------------------------------------------------------------------
// Tags

/** Where the bootstraps' sources are: next to this file, or (from dist/) in the source tree. */
export function defaultRuntimesDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, 'runtimes'), join(here, '..', '..', 'container-fallback', 'runtimes')];
  for (const c of candidates) if (existsSync(join(c, 'python3'))) return c;
  throw new Error(`the runtime bootstraps are not found (looked in ${candidates.join(', ')})`);
}

/** The files of a folder, sorted, without build leftovers (.class, .pyc, __pycache__) and dotfiles. */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (e.name.startsWith('.') || e.name === '__pycache__' || e.name.endsWith('.class') || e.name.endsWith('.pyc')) continue;
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(p);
    }
  };
  walk(dir);
  return out;
}

/** The full hash of everything that goes into the runtime's image. */
export function runtimeInputsHash(runtime: ContainerRuntime, runtimesDir = defaultRuntimesDir()): string {
  const recipe = RECIPES[runtime];
  const dir = join(runtimesDir, runtime);
  if (!existsSync(dir)) throw new Error(`no bootstrap for ${runtime} in ${runtimesDir}`);
  const h = createHash('sha256');
  h.update(JSON.stringify({
    builder: BUILDER_VERSION, runtime, suite: SUITE, packages: recipe.packages, env: recipe.env, cmd: recipe.cmd,
    user: RUNTIME_USER, workdir: WORKDIR, port: FUNCTION_PORT,
  }));
  for (const f of listFiles(dir)) {
    h.update(`\0${relative(dir, f)}\0`);
    h.update(readFileSync(f));
  }
  return h.digest('hex');
}

const tagCache = new Map<ContainerRuntime, string>();

/**
 * The tag the runtime's image has for the current inputs (bootstrap files, package list, suite,
 * image config, builder version): `hearth-<runtime>:<12 hex>`. Computed once per process for the
 * default bootstraps' folder.
 */
export function runtimeImageTag(runtime: ContainerRuntime, opts: { runtimesDir?: string } = {}): string {
  if (opts.runtimesDir !== undefined) return `hearth-${runtime}:${runtimeInputsHash(runtime, opts.runtimesDir).slice(0, 12)}`;
  let tag = tagCache.get(runtime);
  if (tag === undefined) {
    tag = `hearth-${runtime}:${runtimeInputsHash(runtime).slice(0, 12)}`;
    tagCache.set(runtime, tag);
  }
  return tag;
}

// ---------------------------------------------------------------------------------------------
// Listing

/** Which runtime images exist in the engine (any build's), newest first. */
export async function listRuntimeImages(docker: Docker): Promise<ListedRuntimeImage[]> {
  const images = await docker.listImages({ filters: JSON.stringify({ label: [RUNTIME_LABEL] }) });
  const out: ListedRuntimeImage[] = [];
  for (const img of images) {
    const runtime = img.Labels?.[RUNTIME_LABEL] ?? '';
    const tags = (img.RepoTags ?? []).filter((t) => t !== '<none>:<none>');
    for (const tag of tags.length > 0 ? tags : ['<none>']) {
      // Images built FROM a runtime image inherit its labels: only hearth-<runtime> repositories.
      if (tag !== '<none>' && !tag.startsWith(`hearth-${runtime}:`)) continue;
      let current = false;
      try {
        current = (CONTAINER_RUNTIMES as readonly string[]).includes(runtime) && runtimeImageTag(runtime as ContainerRuntime) === tag;
      } catch { /* no bootstraps here: nothing is current */ }
      out.push({ runtime, tag, id: img.Id, sizeBytes: img.Size, created: new Date(img.Created * 1000), current });
    }
  }
  return out.sort((a, b) => b.created.getTime() - a.created.getTime());
}

