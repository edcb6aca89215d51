// Functions by name, each resolving to an immutable version (keyed by digest): $LATEST (mutable:
// a deploy replaces it), published numbered versions (immutable), and aliases that name a version
// or split calls between two by weight. Code is stored content-addressed in the data dir; one record
// per function (its versions and aliases in it) survives a restart.

import { aliasReservations, AliasRoute, checkAliasName, parseAliasSpec, type AliasSpec } from './aliases.js';
import type { Backend, FunctionVersion } from './backend.js';
import { bundleFunction, splitHandler } from './bundler.js';
import { HearthError } from './errors.js';
import { checkFunctionName, parseSpec, type FunctionSpec } from './spec.js';
import { sha256, type DataDir } from './store.js';

export const LATEST = '$LATEST';

/** What instances are made from: $LATEST's record and each published version carry it. */
interface StoredCode {
  spec: Omit<FunctionSpec, 'code'>;
  codeDigest: string;
  codeSize: number;
  digest: string;
  exportName: string;
  /** runtime "image": the image's id when it was deployed (instances are made from it). */
  imageId?: string;
}

interface StoredRecord extends StoredCode {
  name: string;
  /** Loaded from this functions folder (`--functions`): deleted at start once the folder no longer has it. */
  origin?: string;
  /** Published versions, oldest first, and the last number given (numbers are never reused). */
  versions?: StoredVersion[];
  lastVersion?: number;
  aliases?: StoredAlias[];
  createdAt: string;
  updatedAt: string;
}

/** A published version: $LATEST as it was, frozen. */
interface StoredVersion extends StoredCode {
  version: string;
  description: string;
  createdAt: string;
}

interface StoredAlias extends AliasSpec {
  name: string;
  createdAt: string;
  updatedAt: string;
}

interface Entry {
  latest: FunctionVersion;
  record: StoredRecord;
  /** Published versions and aliases by qualifier: what resolve() looks up. */
  targets: Map<string, FunctionVersion | AliasRoute>;
  /** One per live digest, shared by its FunctionVersion objects; marked when the digest is retired. */
  lifecycles: Map<string, { retired: boolean }>;
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
      const e: Entry = { latest: toVersion(rec, 0, RESTORING), record: rec, targets: new Map(), lifecycles: new Map() };
      this.fns.set(rec.name, e);
      this.rebuild(e);
      out.push(e.latest);
    }
    // What a crash between writes, or an older V8's cached data, left behind.
    this.data.collectGarbage(this.liveCode());
    for (const v of out) this.onChange(v.name);
    return out;
  }

  /**
   * Name + qualifier (none or $LATEST, a version number, an alias) → immutable version. The hot
   * path: one map lookup, a second for a qualifier, and a Math.random for a weighted alias.
   */
  resolve(name: string, qualifier: string): FunctionVersion {
    const e = this.fns.get(name);
    if (e === undefined) throw new HearthError('FunctionNotFound', `function "${name}" does not exist`);
    if (qualifier === '' || qualifier === LATEST) return e.latest;
    const t = e.targets.get(qualifier);
    if (t === undefined) throw new HearthError('VersionNotFound', `function "${name}" has no version or alias "${qualifier}"`);
    return t instanceof AliasRoute ? t.pick() : t;
  }

  /**
   * The versions a qualifier stands for (not the hot path): none → $LATEST and every published
   * version; a version → it; an alias → the version(s) it routes to.
   */
  versionsFor(name: string, qualifier: string): FunctionVersion[] {
    const e = this.entry(name);
    if (qualifier === '') return [e.latest, ...[...e.targets.values()].filter((t): t is FunctionVersion => !(t instanceof AliasRoute))];
    if (qualifier === LATEST) return [e.latest];
    const t = e.targets.get(qualifier);
    if (t === undefined) throw new HearthError('VersionNotFound', `function "${name}" has no version or alias "${qualifier}"`);
    return t instanceof AliasRoute ? (t.extra ? [t.primary, t.extra] : [t.primary]) : [t];
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
    return this.serially(name, () => this.deployNow(name, body, origin));
  }

  delete(name: string): void {
    const e = this.entry(name);
    this.fns.delete(name);
    this.data.deleteRecord(name);
    this.retire(e, e.latest, true);
    for (const v of e.record.versions ?? []) this.retire(e, v, true);
    this.dropIfUnused(e.record.codeDigest);
    for (const v of e.record.versions ?? []) this.dropIfUnused(v.codeDigest);
    this.onChange(name);
  }

  // ---- versions -----------------------------------------------------------------------------

  /**
   * Publishes $LATEST as the next numbered version. When $LATEST is what the last published version
   * already is, that version is returned (created: false), as Lambda does.
   */
  publish(name: string, body: unknown): Promise<{ created: boolean; view: Record<string, unknown> }> {
    return this.serially(name, async () => {
      const e = this.entry(name);
      const { description } = parsePublish(body);
      const rec = e.record;
      const last = rec.versions?.at(-1);
      if (last && versionDigest(name, last.spec, last.codeDigest, last.imageId) === rec.digest) {
        return { created: false, view: versionView(rec, last) };
      }
      const n = (rec.lastVersion ?? 0) + 1;
      const version = String(n);
      const v: StoredVersion = {
        version, spec: rec.spec, codeDigest: rec.codeDigest, codeSize: rec.codeSize,
        digest: versionDigest(name, rec.spec, rec.codeDigest, rec.imageId, version),
        exportName: rec.exportName, ...(rec.imageId ? { imageId: rec.imageId } : {}), description,
        createdAt: new Date().toISOString(),
      };
      this.save(e, { ...rec, versions: [...(rec.versions ?? []), v], lastVersion: n });
      return { created: true, view: versionView(e.record, v) };
    });
  }

  /** $LATEST first, then the published versions, oldest first. */
  versions(name: string): Record<string, unknown>[] {
    const e = this.entry(name);
    return [view(e.record), ...(e.record.versions ?? []).map((v) => versionView(e.record, v))];
  }

  /** Refused (409) while an alias points to it; its instances finish their calls and go. */
  deleteVersion(name: string, version: string): void {
    const e = this.entry(name);
    if (version === LATEST) throw new HearthError('InvalidRequest', `$LATEST is not deleted on its own: delete the function`);
    const v = e.record.versions?.find((x) => x.version === version);
    if (!v) throw new HearthError('VersionNotFound', `function "${name}" has no version "${version}"`);
    const users = (e.record.aliases ?? []).filter((a) => a.version === version || version in a.additionalVersionWeights).map((a) => a.name);
    if (users.length > 0) {
      throw new HearthError('Conflict', `version ${version} of "${name}" is used by alias${users.length > 1 ? 'es' : ''} ${users.map((u) => `"${u}"`).join(', ')}: point ${users.length > 1 ? 'them' : 'it'} elsewhere first`);
    }
    this.save(e, { ...e.record, versions: e.record.versions!.filter((x) => x !== v) });
    this.retire(e, v, true);
    this.dropIfUnused(v.codeDigest);
  }

  // ---- aliases ------------------------------------------------------------------------------

  /** Creates or moves an alias. New calls follow it at once; calls in flight finish where they are. */
  putAlias(name: string, alias: string, body: unknown): Promise<{ created: boolean; view: Record<string, unknown> }> {
    return this.serially(name, async () => {
      const e = this.entry(name);
      checkAliasName(alias);
      const spec = parseAliasSpec(body);
      const published = new Set((e.record.versions ?? []).map((v) => v.version));
      if (spec.version !== LATEST && !published.has(spec.version)) {
        throw new HearthError('VersionNotFound', `function "${name}" has no version "${spec.version}" (publish one with POST /v1/functions/${name}/versions)`);
      }
      for (const extra of Object.keys(spec.additionalVersionWeights)) {
        if (!published.has(extra)) throw new HearthError('VersionNotFound', `additionalVersionWeights: function "${name}" has no version "${extra}"`);
        if (extra === spec.version) throw new HearthError('InvalidSpec', `additionalVersionWeights: version ${extra} is already the alias's version`);
        if (spec.version === LATEST) throw new HearthError('InvalidSpec', 'additionalVersionWeights: a weighted alias must point to a published version, not $LATEST');
      }
      const now = new Date().toISOString();
      const aliases = e.record.aliases ?? [];
      const old = aliases.find((a) => a.name === alias);
      const next: StoredAlias = { name: alias, ...spec, createdAt: old?.createdAt ?? now, updatedAt: now };
      this.save(e, { ...e.record, aliases: [...aliases.filter((a) => a !== old), next].sort((a, b) => a.name.localeCompare(b.name)) });
      return { created: !old, view: aliasView(name, next) };
    });
  }

  aliases(name: string): Record<string, unknown>[] {
    const e = this.entry(name);
    return (e.record.aliases ?? []).map((a) => aliasView(name, a));
  }

  alias(name: string, alias: string): Record<string, unknown> {
    const a = this.entry(name).record.aliases?.find((x) => x.name === alias);
    if (!a) throw new HearthError('NotFound', `function "${name}" has no alias "${alias}"`);
    return aliasView(name, a);
  }

  deleteAlias(name: string, alias: string): void {
    const e = this.entry(name);
    const a = e.record.aliases?.find((x) => x.name === alias);
    if (!a) throw new HearthError('NotFound', `function "${name}" has no alias "${alias}"`);
    this.save(e, { ...e.record, aliases: e.record.aliases!.filter((x) => x !== a) });
  }

  private entry(name: string): Entry {
    const e = this.fns.get(name);
    if (!e) throw new HearthError('FunctionNotFound', `function "${name}" does not exist`);
    return e;
  }

  /** Changes of one function (deploys, publishes, alias moves) run one after another. */
  private serially<T>(name: string, work: () => Promise<T>): Promise<T> {
    const prev = this.deploying.get(name) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(work);
    this.deploying.set(name, next);
    return next.finally(() => {
      if (this.deploying.get(name) === next) this.deploying.delete(name);
    });
  }

  /** New calls no longer reach this digest; calls that resolved it just before are re-resolved. */
  private retire(e: Entry, v: { digest: string; spec: { runtime: FunctionVersion['runtime'] } }, gone: boolean): void {
    const life = e.lifecycles.get(v.digest);
    if (life) life.retired = true;
    e.lifecycles.delete(v.digest);
    this.backendFor(v.spec.runtime).retire(v.digest, gone);
  }

  /** Writes the record, then makes it what calls resolve to. */
  private save(e: Entry, record: StoredRecord): void {
    this.data.putRecord(record.name, record);
    e.record = record;
    this.rebuild(e);
  }

  /**
   * The entry's versions and aliases as resolve() uses them, from its record; each version's
   * reserved instances are the most its own minInstances or its aliases ask for. Tells the
   * backends, which start missing reserved instances and let surplus ones idle out.
   */
  private rebuild(e: Entry): void {
    const rec = e.record;
    const reserved = new Map<string, number>();
    for (const a of rec.aliases ?? []) {
      for (const [v, n] of aliasReservations(a)) reserved.set(v, (reserved.get(v) ?? 0) + n);
    }
    const life = (digest: string) => {
      let l = e.lifecycles.get(digest);
      if (!l) e.lifecycles.set(digest, (l = { retired: false }));
      return l;
    };
    e.latest = toVersion(rec, reserved.get(LATEST) ?? 0, life(rec.digest));
    const targets = new Map<string, FunctionVersion | AliasRoute>();
    const all = [e.latest];
    for (const v of rec.versions ?? []) {
      const fv = publishedVersion(rec, v, reserved.get(v.version) ?? 0, life(v.digest));
      targets.set(v.version, fv);
      all.push(fv);
    }
    for (const a of rec.aliases ?? []) {
      const primary = a.version === LATEST ? e.latest : (targets.get(a.version) as FunctionVersion);
      const [extra, weight] = Object.entries(a.additionalVersionWeights)[0] ?? [null, 0];
      targets.set(a.name, new AliasRoute(a.name, primary, extra === null ? null : (targets.get(extra) as FunctionVersion), weight));
    }
    e.targets = targets;
    for (const v of all) this.backendFor(v.runtime).reserve(v);
  }

  /** The functions last loaded from this functions folder. */
  namesFrom(origin: string): string[] {
    return [...this.fns.values()].filter((e) => e.record.origin === origin).map((e) => e.record.name);
  }

  private async deployNow(name: string, body: unknown, origin: string | undefined): Promise<DeployResult> {
    checkFunctionName(name);
    const spec = parseSpec(body, name);
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
      ...(origin ? { origin } : {}),
      ...(old?.record.versions ? { versions: old.record.versions, lastVersion: old.record.lastVersion } : {}),
      ...(old?.record.aliases ? { aliases: old.record.aliases } : {}),
      createdAt: old?.record.createdAt ?? now, updatedAt: now,
    };
    // Compile and load it once before anyone can call it: bad code is a 400 here, not a 500 later.
    await this.backendFor(spec.runtime).prepare(toVersion(record, 0, PREPARING), code);
    this.data.putCode(code);
    const e: Entry = old ?? { latest: toVersion(record, 0, PREPARING), record, targets: new Map(), lifecycles: new Map() };
    this.fns.set(name, e);
    const was = old?.latest;
    this.save(e, record);
    if (was) {
      // Calls in flight on the old $LATEST finish there; its instances then go.
      this.retire(e, was, false);
      if (was.codeDigest !== codeDigest) this.dropIfUnused(was.codeDigest);
    }
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
    const live = new Set<string>();
    for (const e of this.fns.values()) {
      live.add(e.record.codeDigest);
      for (const v of e.record.versions ?? []) live.add(v.codeDigest);
    }
    return live;
  }

  /**
   * A function let go of this code: its file and cached data go unless another function has the
   * same code. One pass over the functions in memory, no directory listing (with 10,000 functions
   * a listing per delete cost 17 ms of a blocked event loop).
   */
  private dropIfUnused(codeDigest: string): void {
    for (const e of this.fns.values()) {
      if (e.record.codeDigest === codeDigest) return;
      for (const v of e.record.versions ?? []) if (v.codeDigest === codeDigest) return;
    }
    this.data.dropCode(codeDigest);
  }
}

/**
 * The digest covers everything an instance is made from (its name too: instances of two functions
 * with the same code are never shared), so equal digests are interchangeable instances.
 */
export function versionDigest(name: string, spec: Omit<FunctionSpec, 'code'>, codeDigest: string, imageId?: string, version?: string): string {
  const env = Object.fromEntries(Object.entries(spec.env).sort(([a], [b]) => a.localeCompare(b)));
  return sha256(JSON.stringify({
    name, runtime: spec.runtime, handler: spec.handler ?? null, codeDigest, image: spec.image ?? null,
    command: spec.command ?? null, args: spec.args ?? null, env, memoryMb: spec.memoryMb,
    timeoutMs: spec.timeoutMs, concurrency: spec.concurrency, minInstances: spec.minInstances,
    maxInstances: spec.maxInstances, keepAliveMs: spec.keepAliveMs,
    egress: [...(spec.egress?.allow ?? [])].sort(), schedules: spec.schedules ?? [],
    ...(imageId ? { imageId } : {}),
    // A published version's instances are its own (they report its number to the function).
    ...(version ? { version } : {}),
  }));
}

/** $LATEST as calls run it; `reserved`: instances aliases keep for it (its spec's minInstances at least). */
function toVersion(rec: StoredRecord, reserved: number, lifecycle: { retired: boolean }): FunctionVersion {
  return frozenVersion(rec.name, LATEST, rec, rec.updatedAt, reserved, lifecycle);
}

function publishedVersion(rec: StoredRecord, v: StoredVersion, reserved: number, lifecycle: { retired: boolean }): FunctionVersion {
  return frozenVersion(rec.name, v.version, v, v.createdAt, reserved, lifecycle);
}

/** For versions that never take calls: the deploy-time check, the placeholder before rebuild(). */
const PREPARING = Object.freeze({ retired: false });
const RESTORING = PREPARING;

function frozenVersion(
  name: string, version: string,
  v: StoredCode,
  createdAt: string, reserved: number, lifecycle: { retired: boolean },
): FunctionVersion {
  return Object.freeze({
    name,
    version,
    digest: v.digest,
    codeDigest: v.codeDigest,
    runtime: v.spec.runtime,
    handler: v.spec.handler ?? '',
    exportName: v.exportName,
    imageId: v.imageId ?? null,
    // Records written before a field existed get its default.
    spec: Object.freeze({
      ...v.spec, egress: v.spec.egress ?? { allow: [] }, schedules: v.spec.schedules ?? [],
      minInstances: Math.max(v.spec.minInstances, reserved),
    }),
    createdAt,
    lifecycle,
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

function versionView(rec: StoredRecord, v: StoredVersion): Record<string, unknown> {
  return {
    name: rec.name,
    version: v.version,
    digest: v.digest,
    codeDigest: v.codeDigest,
    codeSize: v.codeSize,
    description: v.description,
    ...v.spec,
    ...(v.imageId ? { imageId: v.imageId } : {}),
    createdAt: v.createdAt,
  };
}

function aliasView(functionName: string, a: StoredAlias): Record<string, unknown> {
  return {
    functionName, name: a.name, version: a.version, additionalVersionWeights: a.additionalVersionWeights,
    minInstances: a.minInstances, description: a.description, createdAt: a.createdAt, updatedAt: a.updatedAt,
  };
}

function parsePublish(body: unknown): { description: string } {
  if (body === undefined || body === null) return { description: '' };
  if (typeof body !== 'object' || Array.isArray(body)) throw new HearthError('InvalidSpec', 'the body must be a JSON object: {"description": "…"} (or empty)');
  const extra = Object.keys(body).filter((k) => k !== 'description');
  if (extra.length > 0) throw new HearthError('InvalidSpec', `unknown field${extra.length > 1 ? 's' : ''}: ${extra.join(', ')} (only "description")`);
  const d = (body as { description?: unknown }).description;
  if (d !== undefined && (typeof d !== 'string' || d.length > 256)) throw new HearthError('InvalidSpec', 'description: must be a string of at most 256 characters');
  return { description: (d as string | undefined) ?? '' };
}
