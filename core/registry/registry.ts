// The registry: every change to the functions (deploy, delete, publish, aliases, restore at start),
// serialized per name. It composes the deploy pipeline (deploy.ts), the stored records (records.ts),
// the catalog calls resolve through (catalog.ts) and the API views (views.ts), and is the one place
// that tells the tiers to reserve or retire a digest and tells listeners a function changed.

import type { FunctionVersion, Tiers } from '../backend.js';
import { HearthError } from '../errors.js';
import type { DataDir } from '../store.js';
import { checkAliasName, parseAliasSpec } from './aliases.js';
import { LATEST, type Catalog } from './catalog.js';
import { DeployPipeline, versionDigest } from './deploy.js';
import { FunctionRecords, type StoredAlias, type StoredRecord, type StoredVersion } from './records.js';
import { catalogEntry, Lifecycles } from './versions.js';
import { aliasView, versionView, view } from './views.js';

/** Told when a function's $LATEST changes or goes (e.g. to re-arm its timer triggers). */
export interface FunctionListener {
  /** `latest`: the function's $LATEST now, or null once it is deleted. */
  functionChanged(name: string, latest: FunctionVersion | null): void;
}

export interface RegistryOptions {
  /** Made first (empty): the registry fills it. */
  catalog: Catalog;
  data: DataDir;
  tiers: Tiers;
  limits: { maxCodeBytes: number };
  listeners: readonly FunctionListener[];
}

export interface DeployResult {
  created: boolean;
  changed: boolean;
  view: Record<string, unknown>;
}

export class Registry {
  readonly catalog: Catalog;
  private readonly records: FunctionRecords;
  private readonly pipeline: DeployPipeline;
  private readonly tiers: Tiers;
  private readonly listeners: readonly FunctionListener[];
  private readonly lifecycles = new Lifecycles();
  /** Changes of one name run one after another. */
  private readonly deploying = new Map<string, Promise<unknown>>();

  constructor(o: RegistryOptions) {
    this.catalog = o.catalog;
    this.records = new FunctionRecords(o.data);
    this.pipeline = new DeployPipeline(o.tiers, o.limits);
    this.tiers = o.tiers;
    this.listeners = [...o.listeners];
  }

  /** Loads the stored functions (at start). */
  restore(): FunctionVersion[] {
    const out: FunctionVersion[] = [];
    for (const rec of this.records.load()) out.push(this.publishEntry(rec));
    this.records.collectGarbage();
    for (const v of out) this.tell(v.name, v);
    return out;
  }

  // ---- reads (what calls resolve to is the catalog's: registry.catalog) ----------------------

  list(): Record<string, unknown>[] {
    return [...this.records.all()].map(view).sort((a, b) => String(a.name).localeCompare(String(b.name)));
  }

  get(name: string): Record<string, unknown> {
    return view(this.record(name));
  }

  /** The functions last loaded from this functions folder. */
  namesFrom(origin: string): string[] {
    return [...this.records.all()].filter((r) => r.origin === origin).map((r) => r.name);
  }

  // ---- functions ------------------------------------------------------------------------------

  /** `origin`: the functions folder it came from (none for an API deploy). */
  deploy(name: string, body: unknown, origin?: string): Promise<DeployResult> {
    return this.serially(name, () => this.deployNow(name, body, origin));
  }

  delete(name: string): void {
    const rec = this.record(name);
    const latest = this.catalog.latest(name)!;
    this.catalog.remove(name);
    this.records.delete(name);
    this.retire(latest, true);
    for (const v of rec.versions ?? []) this.retire(v, true);
    this.records.dropIfUnused(rec.codeDigest);
    for (const v of rec.versions ?? []) this.records.dropIfUnused(v.codeDigest);
    this.tell(name, null);
  }

  // ---- versions -------------------------------------------------------------------------------

  /**
   * Publishes $LATEST as the next numbered version. When $LATEST is what the last published version
   * already is, that version is returned (created: false), as Lambda does.
   */
  publish(name: string, body: unknown): Promise<{ created: boolean; view: Record<string, unknown> }> {
    return this.serially(name, async () => {
      const rec = this.record(name);
      const { description } = parsePublish(body);
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
      const next: StoredRecord = { ...rec, versions: [...(rec.versions ?? []), v], lastVersion: n };
      this.save(next);
      return { created: true, view: versionView(next, v) };
    });
  }

  /** $LATEST first, then the published versions, oldest first. */
  versions(name: string): Record<string, unknown>[] {
    const rec = this.record(name);
    return [view(rec), ...(rec.versions ?? []).map((v) => versionView(rec, v))];
  }

  /** Refused (409) while an alias points to it; its instances finish their calls and go. */
  deleteVersion(name: string, version: string): void {
    const rec = this.record(name);
    if (version === LATEST) throw new HearthError('InvalidRequest', `$LATEST is not deleted on its own: delete the function`);
    const v = rec.versions?.find((x) => x.version === version);
    if (!v) throw new HearthError('VersionNotFound', `function "${name}" has no version "${version}"`);
    const users = (rec.aliases ?? []).filter((a) => a.version === version || version in a.additionalVersionWeights).map((a) => a.name);
    if (users.length > 0) {
      throw new HearthError('Conflict', `version ${version} of "${name}" is used by alias${users.length > 1 ? 'es' : ''} ${users.map((u) => `"${u}"`).join(', ')}: point ${users.length > 1 ? 'them' : 'it'} elsewhere first`);
    }
    this.save({ ...rec, versions: rec.versions!.filter((x) => x !== v) });
    this.retire(v, true);
    this.records.dropIfUnused(v.codeDigest);
  }

  // ---- aliases --------------------------------------------------------------------------------

  /** Creates or moves an alias. New calls follow it at once; calls in flight finish where they are. */
  putAlias(name: string, alias: string, body: unknown): Promise<{ created: boolean; view: Record<string, unknown> }> {
    return this.serially(name, async () => {
      const rec = this.record(name);
      checkAliasName(alias);
      const spec = parseAliasSpec(body);
      const published = new Set((rec.versions ?? []).map((v) => v.version));
      if (spec.version !== LATEST && !published.has(spec.version)) {
        throw new HearthError('VersionNotFound', `function "${name}" has no version "${spec.version}" (publish one with POST /v1/functions/${name}/versions)`);
      }
      for (const extra of Object.keys(spec.additionalVersionWeights)) {
        if (!published.has(extra)) throw new HearthError('VersionNotFound', `additionalVersionWeights: function "${name}" has no version "${extra}"`);
        if (extra === spec.version) throw new HearthError('InvalidSpec', `additionalVersionWeights: version ${extra} is already the alias's version`);
        if (spec.version === LATEST) throw new HearthError('InvalidSpec', 'additionalVersionWeights: a weighted alias must point to a published version, not $LATEST');
      }
      const now = new Date().toISOString();
      const aliases = rec.aliases ?? [];
      const old = aliases.find((a) => a.name === alias);
      const next: StoredAlias = { name: alias, ...spec, createdAt: old?.createdAt ?? now, updatedAt: now };
      this.save({ ...rec, aliases: [...aliases.filter((a) => a !== old), next].sort((a, b) => a.name.localeCompare(b.name)) });
      return { created: !old, view: aliasView(name, next) };
    });
  }

  aliases(name: string): Record<string, unknown>[] {
    return (this.record(name).aliases ?? []).map((a) => aliasView(name, a));
  }

  alias(name: string, alias: string): Record<string, unknown> {
    const a = this.record(name).aliases?.find((x) => x.name === alias);
    if (!a) throw new HearthError('NotFound', `function "${name}" has no alias "${alias}"`);
    return aliasView(name, a);
  }

  deleteAlias(name: string, alias: string): void {
    const rec = this.record(name);
    const a = rec.aliases?.find((x) => x.name === alias);
    if (!a) throw new HearthError('NotFound', `function "${name}" has no alias "${alias}"`);
    this.save({ ...rec, aliases: rec.aliases!.filter((x) => x !== a) });
  }

  // ---- internals ------------------------------------------------------------------------------

  private record(name: string): StoredRecord {
    const rec = this.records.get(name);
    if (!rec) throw new HearthError('FunctionNotFound', `function "${name}" does not exist`);
    return rec;
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

  private async deployNow(name: string, body: unknown, origin: string | undefined): Promise<DeployResult> {
    const built = await this.pipeline.build(name, body);
    const { spec, code, codeDigest, exportName, imageId, digest } = built;
    const now = new Date().toISOString();
    const old = this.records.get(name);
    if (old && old.digest === digest) {
      if (old.origin !== origin) {
        // Same code and spec, now owned by a folder (or by the API): only the record changes (what
        // calls resolve to is the same version, so the catalog keeps it).
        const { origin: _was, ...kept } = old;
        this.records.put({ ...kept, ...(origin ? { origin } : {}), updatedAt: now });
      }
      return { created: false, changed: false, view: view(this.records.get(name)!) };
    }
    const record: StoredRecord = {
      name, spec, codeDigest, codeSize: code.length, digest, exportName, ...(imageId ? { imageId } : {}),
      ...(origin ? { origin } : {}),
      ...(old?.versions ? { versions: old.versions, lastVersion: old.lastVersion } : {}),
      ...(old?.aliases ? { aliases: old.aliases } : {}),
      createdAt: old?.createdAt ?? now, updatedAt: now,
    };
    // The $LATEST this deploy replaces, read before the await (a delete meanwhile has retired it
    // already; retiring a digest twice is harmless).
    const was = this.catalog.latest(name);
    await this.pipeline.prepare(record, code);
    this.records.putCode(code);
    this.save(record);
    if (was) {
      // Calls in flight on the old $LATEST finish there; its instances then go.
      this.retire(was, false);
      if (was.codeDigest !== codeDigest) this.records.dropIfUnused(was.codeDigest);
    }
    this.tell(name, this.catalog.latest(name));
    return { created: !old, changed: true, view: view(record) };
  }

  /** Writes the record, then makes it what calls resolve to. */
  private save(record: StoredRecord): void {
    this.records.put(record);
    this.publishEntry(record);
  }

  /**
   * Makes the record's versions and aliases what calls resolve to, and tells the tiers, which start
   * missing reserved instances and let surplus ones idle out. Returns the new $LATEST.
   */
  private publishEntry(record: StoredRecord): FunctionVersion {
    const { entry, all } = catalogEntry(record, this.lifecycles);
    this.catalog.put(record.name, entry);
    for (const v of all) this.tiers.for(v.runtime).reserve(v);
    return entry.latest;
  }

  /** New calls no longer reach this digest; calls that resolved it just before are re-resolved. */
  private retire(v: { digest: string; spec: { runtime: FunctionVersion['runtime'] } }, gone: boolean): void {
    this.lifecycles.retire(v.digest);
    this.tiers.for(v.spec.runtime).retire(v.digest, gone);
  }

  private tell(name: string, latest: FunctionVersion | null): void {
    for (const l of this.listeners) l.functionChanged(name, latest);
  }
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
