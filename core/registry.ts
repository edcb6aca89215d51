// Functions by name, each resolving to an immutable version (keyed by digest). Code is stored
// content-addressed in the data dir; records survive a restart.

import type { Backend, FunctionVersion } from './backend.js';
import { bundleFunction, splitHandler } from './bundler.js';
import { HearthError } from './errors.js';
import { checkFunctionName, parseSpec, type FunctionSpec } from './spec.js';
import { sha256, type DataDir } from './store.js';

export const LATEST = '$LATEST';

interface StoredRecord {
  name: string;
  spec: Omit<FunctionSpec, 'code'>;
  codeDigest: string;
  codeSize: number;
  digest: string;
  exportName: string;
  /** runtime "image": the image's id when it was deployed (instances are made from it). */
  imageId?: string;
  /** Loaded from this functions folder (`--functions`): deleted at start once the folder no longer has it. */
  origin?: string;
  createdAt: string;
  updatedAt: string;
}

interface Entry {
  latest: FunctionVersion;
  record: StoredRecord;
}

export interface DeployResult {
  created: boolean;
  changed: boolean;
  view: Record<string, unknown>;
}

export class Registry {
  private readonly fns = new Map<string, Entry>();
  /** Deploys of one name run one after another. */
  private readonly deploying = new Map<string, Promise<unknown>>();
  /** Told when a function's $LATEST changes or goes (e.g. to re-arm its timer triggers). */
  onChange: (name: string) => void = () => undefined;

  constructor(
    private readonly data: DataDir,
    private readonly backendFor: (runtime: FunctionVersion['runtime']) => Backend,
    private readonly limits: { maxCodeBytes: number },
  ) {}

  /** Loads the stored functions (at start). */
  restore(): FunctionVersion[] {
    const out: FunctionVersion[] = [];
    for (const raw of this.data.records()) {
      const rec = raw as StoredRecord;
      const latest = toVersion(rec);
      this.fns.set(rec.name, { latest, record: rec });
      this.backendFor(latest.runtime).reserve(latest);
      out.push(latest);
    }
    // What a crash between writes, or an older V8's cached data, left behind.
    this.data.collectGarbage(this.liveCode());
    for (const v of out) this.onChange(v.name);
    return out;
  }

  /** Name + qualifier → immutable version. The hot path: one map lookup. */
  resolve(name: string, qualifier: string): FunctionVersion {
    const e = this.fns.get(name);
    if (e === undefined) throw new HearthError('FunctionNotFound', `function "${name}" does not exist`);
    if (qualifier === '' || qualifier === LATEST) return e.latest;
    throw new HearthError('VersionNotFound', `function "${name}" has no version or alias "${qualifier}"`);
  }

  has(name: string): boolean {
    return this.fns.has(name);
  }

  list(): Record<string, unknown>[] {
    return [...this.fns.values()].map((e) => view(e.record)).sort((a, b) => String(a.name).localeCompare(String(b.name)));
  }

  get(name: string): Record<string, unknown> {
    const e = this.fns.get(name);
    if (!e) throw new HearthError('FunctionNotFound', `function "${name}" does not exist`);
    return view(e.record);
  }

  /** `origin`: the functions folder it came from (none for an API deploy). */
  deploy(name: string, body: unknown, origin?: string): Promise<DeployResult> {
    const prev = this.deploying.get(name) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(() => this.deployNow(name, body, origin));
    this.deploying.set(name, next);
    return next.finally(() => {
      if (this.deploying.get(name) === next) this.deploying.delete(name);
    });
  }

  delete(name: string): void {
    const e = this.fns.get(name);
    if (!e) throw new HearthError('FunctionNotFound', `function "${name}" does not exist`);
    this.fns.delete(name);
    this.data.deleteRecord(name);
    this.backendFor(e.latest.runtime).retire(e.latest.digest, true);
    this.dropIfUnused(e.record.codeDigest);
    this.onChange(name);
  }

  /** The functions last loaded from this functions folder. */
  namesFrom(origin: string): string[] {
    return [...this.fns.values()].filter((e) => e.record.origin === origin).map((e) => e.record.name);
  }

  private async deployNow(name: string, body: unknown, origin: string | undefined): Promise<DeployResult> {
    checkFunctionName(name);
    const spec = parseSpec(body);
    const { code, exportName } = await this.buildCode(spec);
    if (code.length > this.limits.maxCodeBytes) {
      throw new HearthError('CodeTooLarge', `the code is ${code.length} bytes, over the ${this.limits.maxCodeBytes}-byte limit`);
    }
    const codeDigest = sha256(code);
    const { code: _omit, ...rest } = spec;
    // A custom image is pinned to what its reference names now: a re-tag changes nothing until redeploy.
    const imageId = spec.runtime === 'image' ? await this.backendFor(spec.runtime).pinImage?.(spec.image!) : undefined;
    const digest = versionDigest(name, rest, codeDigest, imageId);
    const now = new Date().toISOString();
    const old = this.fns.get(name);
    if (old && old.record.digest === digest) {
      if (old.record.origin !== origin) {
        // Same code and spec, now owned by a folder (or by the API): only the record changes.
        const { origin: _was, ...kept } = old.record;
        old.record = { ...kept, ...(origin ? { origin } : {}), updatedAt: now };
        this.data.putRecord(name, old.record);
      }
      return { created: false, changed: false, view: view(old.record) };
    }
    const record: StoredRecord = {
      name, spec: rest, codeDigest, codeSize: code.length, digest, exportName, ...(imageId ? { imageId } : {}),
      ...(origin ? { origin } : {}), createdAt: old?.record.createdAt ?? now, updatedAt: now,
    };
    const version = toVersion(record);
    const backend = this.backendFor(spec.runtime);
    // Compile and load it once before anyone can call it: bad code is a 400 here, not a 500 later.
    await backend.prepare(version, code);
    this.data.putCode(code);
    this.data.putRecord(name, record);
    this.fns.set(name, { latest: version, record });
    if (old) {
      this.backendFor(old.latest.runtime).retire(old.latest.digest);
      if (old.record.codeDigest !== codeDigest) this.dropIfUnused(old.record.codeDigest);
    }
    backend.reserve(version);
    this.onChange(name);
    return { created: !old, changed: true, view: view(record) };
  }

  private async buildCode(spec: FunctionSpec): Promise<{ code: Buffer; exportName: string }> {
    const handler = spec.handler ?? '';
    if (spec.runtime === 'js') {
      const code = spec.code!;
      if ('jar' in code) throw new HearthError('InvalidSpec', 'code: must be {source} or {zip} for runtime "js"');
      const b = await bundleFunction({ handler, code, maxBytes: this.limits.maxCodeBytes });
      return { code: Buffer.from(b.script), exportName: b.exportName };
    }
    if (!spec.code) return { code: Buffer.alloc(0), exportName: '' };
    const c = spec.code;
    const bytes = 'source' in c ? Buffer.from(c.source) : Buffer.from('zip' in c ? c.zip : c.jar, 'base64');
    return { code: bytes, exportName: handler.includes('::') ? handler.split('::')[1]! : splitHandler(handler).exportName };
  }

  private liveCode(): Set<string> {
    return new Set([...this.fns.values()].map((e) => e.record.codeDigest));
  }

  /**
   * A function let go of this code: its file and cached data go unless another function has the
   * same code. One pass over the functions in memory, no directory listing (with 10,000 functions
   * a listing per delete cost 17 ms of a blocked event loop).
   */
  private dropIfUnused(codeDigest: string): void {
    for (const e of this.fns.values()) if (e.record.codeDigest === codeDigest) return;
    this.data.dropCode(codeDigest);
  }
}

/**
 * The digest covers everything an instance is made from (its name too: instances of two functions
 * with the same code are never shared), so equal digests are interchangeable instances.
 */
export function versionDigest(name: string, spec: Omit<FunctionSpec, 'code'>, codeDigest: string, imageId?: string): string {
  const env = Object.fromEntries(Object.entries(spec.env).sort(([a], [b]) => a.localeCompare(b)));
  return sha256(JSON.stringify({
    name, runtime: spec.runtime, handler: spec.handler ?? null, codeDigest, image: spec.image ?? null,
    command: spec.command ?? null, args: spec.args ?? null, env, memoryMb: spec.memoryMb,
    timeoutMs: spec.timeoutMs, concurrency: spec.concurrency, minInstances: spec.minInstances,
    maxInstances: spec.maxInstances, keepAliveMs: spec.keepAliveMs,
    egress: [...(spec.egress?.allow ?? [])].sort(), schedules: spec.schedules ?? [],
    ...(imageId ? { imageId } : {}),
  }));
}

function toVersion(rec: StoredRecord): FunctionVersion {
  return Object.freeze({
    name: rec.name,
    version: LATEST,
    digest: rec.digest,
    codeDigest: rec.codeDigest,
    runtime: rec.spec.runtime,
    handler: rec.spec.handler ?? '',
    exportName: rec.exportName,
    imageId: rec.imageId ?? null,
    // Records written before a field existed get its default.
    spec: Object.freeze({ ...rec.spec, egress: rec.spec.egress ?? { allow: [] }, schedules: rec.spec.schedules ?? [] }),
    createdAt: rec.updatedAt,
  });
}

function view(rec: StoredRecord): Record<string, unknown> {
  return {
    name: rec.name,
    version: LATEST,
    digest: rec.digest,
    codeDigest: rec.codeDigest,
    codeSize: rec.codeSize,
    ...rec.spec,
    ...(rec.imageId ? { imageId: rec.imageId } : {}),
    ...(rec.origin ? { origin: rec.origin } : {}),
    createdAt: rec.createdAt,
    updatedAt: rec.updatedAt,
  };
}
