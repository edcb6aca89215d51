// The registry: every change to the functions (deploy, delete, publish, aliases, restore at start),
// serialized per name. It composes the deploy pipeline (deploy.ts), the stored records (records.ts),
// the catalog calls resolve through (catalog.ts) and the API views (views.ts), and is the one place
// that tells the tiers to reserve or retire a digest and tells listeners a function changed.

import type { FunctionVersion, Tiers } from '../backend.js';
import { HearthError } from '../errors.js';
import type { DataDir } from '../store.js';
import { log } from '../log.js';
import { scheduleProblem } from '../spec.js';
import { checkAliasName, parseAliasSpec } from './aliases.js';
import { LATEST, type Catalog } from './catalog.js';
import { DeployPipeline, versionDigest, type BuiltVersion } from './deploy.js';
import { InlineDeployWork, type DeployWork } from './deploy-work.js';
import { FunctionRecords, type StoredAlias, type StoredRecord, type StoredVersion } from './records.js';
import { catalogEntry, Lifecycles, reservations } from './versions.js';
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
  /** Where a deploy's inflating and bundling run: Hearth gives worker threads; by default in-process (unit tests, benches). */
  work?: DeployWork;
  /** Told of each deploy a deploy limit refused (hearth_deploys_refused_total). */
  onRefused?: (reason: string) => void;
}

/** Deploy errors that are a deploy limit, as hearth_deploys_refused_total's reason. */
const REFUSALS: Partial<Record<string, string>> = {
  ArchiveTooLarge: 'archive_too_large', TooManyFiles: 'too_many_files', CodeTooLarge: 'code_too_large',
  TooManyRequests: 'queue_full', DeployTimeout: 'timeout',
};

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
  private readonly onRefused: (reason: string) => void;
  /** Changes of one name run one after another. */
  private readonly deploying = new Map<string, Promise<unknown>>();
  private readonly data: DataDir;

  constructor(o: RegistryOptions) {
    this.catalog = o.catalog;
    this.data = o.data;
    this.records = new FunctionRecords(o.data);
    this.pipeline = new DeployPipeline(o.tiers, o.limits, o.work ?? new InlineDeployWork());
    this.onRefused = o.onRefused ?? (() => undefined);
    this.tiers = o.tiers;
    this.listeners = [...o.listeners];
  }

  /**
   * Loads the stored functions (at start). A record that cannot be loaded never stops the start:
   * it is logged, left on disk, reported by get() and broken(), and the others are served.
   */
  restore(): FunctionVersion[] {
    const out: FunctionVersion[] = [];
    const { loaded } = this.records.load(storedSchedulesProblem);
    for (const rec of loaded) {
      try {
        out.push(this.publishEntry(rec));
      } catch (err) {
        this.unpublish(rec);
        this.records.markBroken({ name: rec.name, reason: `cannot be loaded: ${(err as Error).message}`, codeDigests: [] });
      }
    }
    if (!this.records.collectGarbage()) log.warn('a stored record is unreadable: unused code is not collected at this start');
    const served: FunctionVersion[] = [];
    for (const v of out) {
      try {
        this.tell(v.name, v);
        served.push(v);
      } catch (err) {
        this.unpublish(this.records.get(v.name)!);
        this.records.markBroken({ name: v.name, reason: `cannot be loaded: ${(err as Error).message}`, codeDigests: [] });
        this.tellQuietly(v.name, null);
      }
    }
    for (const b of this.records.allBroken()) log.error({ function: b.name, reason: b.reason }, 'stored function not loaded: it is broken (redeploy or delete it)');
    return served;
  }

  /** Stored records that could not be loaded (name, reason), for /readyz and the operator. */
  broken(): { name: string; reason: string }[] {
    return this.records.allBroken().map(({ name, reason }) => ({ name, reason }));
  }

  // ---- reads (what calls resolve to is the catalog's: registry.catalog) ----------------------

  list(): Record<string, unknown>[] {
    return [...[...this.records.all()].map(view), ...this.records.allBroken().map(brokenView)]
      .sort((a, b) => String(a.name).localeCompare(String(b.name)));
  }

  get(name: string): Record<string, unknown> {
    const b = this.records.broken(name);
    if (b) return brokenView(b);
    return view(this.record(name));
  }

  /** The functions last loaded from this functions folder. */
  namesFrom(origin: string): string[] {
    return [...this.records.all()].filter((r) => r.origin === origin).map((r) => r.name);
  }

  // ---- functions ------------------------------------------------------------------------------

  /** `origin`: the functions folder it came from (none for an API deploy). */
  deploy(name: string, body: unknown, origin?: string): Promise<DeployResult> {
    return this.serially(name, () => this.deployNow(name, body, origin)).catch((err: unknown) => {
      const reason = err instanceof HearthError ? REFUSALS[err.type] : undefined;
      if (reason) this.onRefused(reason);
      throw err;
    });
  }

  /** A new configuration of the function's code (no code in `body`): PUT /v1/functions/{name}/configuration. */
  configure(name: string, body: unknown): Promise<DeployResult> {
    return this.serially(name, async () => {
      const old = this.record(name);
      const built = this.pipeline.reconfigure(name, old, body, this.data.getCode(old.codeDigest));
      return this.commit(name, built, undefined);
    });
  }

  /** Serialized with the name's other changes: a delete that arrives during a deploy waits for it, then deletes. */
  delete(name: string): Promise<void> {
    return this.serially(name, async () => this.deleteNow(name));
  }

  private deleteNow(name: string): void {
    if (this.records.broken(name)) return this.records.deleteBroken(name);
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
  deleteVersion(name: string, version: string): Promise<void> {
    return this.serially(name, async () => this.deleteVersionNow(name, version));
  }

  private deleteVersionNow(name: string, version: string): void {
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
      const record = { ...rec, aliases: [...aliases.filter((a) => a !== old), next].sort((a, b) => a.name.localeCompare(b.name)) };
      checkReservations(record, 'minInstances');
      this.save(record);
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

  deleteAlias(name: string, alias: string): Promise<void> {
    return this.serially(name, async () => this.deleteAliasNow(name, alias));
  }

  private deleteAliasNow(name: string, alias: string): void {
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
    return this.commit(name, await this.pipeline.build(name, body), origin);
  }

  /** A built $LATEST: prepared on its tier, stored, made what calls resolve to (unless nothing changed). */
  private async commit(name: string, built: BuiltVersion, origin: string | undefined): Promise<DeployResult> {
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
    // Aliases on $LATEST keep their reservations: the new maxInstances must still hold them.
    checkReservations(record, 'maxInstances');
    // The $LATEST this deploy replaces (changes of one name are serialized: nothing retires it meanwhile).
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

  /** Tells every listener, logging (not throwing) a listener's failure: for undoing a broken load. */
  private tellQuietly(name: string, latest: FunctionVersion | null): void {
    for (const l of this.listeners) {
      try {
        l.functionChanged(name, latest);
      } catch (err) {
        log.warn({ err: (err as Error).message, function: name }, 'a listener failed');
      }
    }
  }

  /** Undoes publishEntry for a record that failed to load: no calls, no reserved instances. */
  private unpublish(rec: StoredRecord): void {
    this.catalog.remove(rec.name);
    for (const v of [rec, ...(Array.isArray(rec.versions) ? rec.versions : [])]) {
      if (typeof v?.digest !== 'string' || !v.spec) continue;
      try {
        this.retire(v, true);
      } catch {
        // a runtime the tiers do not know: nothing was reserved for it
      }
    }
  }
}

/** GET /v1/functions/{name} of a stored function that could not be loaded. */
function brokenView(b: { name: string; reason: string }): Record<string, unknown> {
  return { name: b.name, status: 'broken', reason: b.reason };
}

/** A loaded record's schedules, checked as a deploy checks them (a time zone this host lacks, say). */
function storedSchedulesProblem(rec: StoredRecord): string | null {
  for (const c of [rec, ...(rec.versions ?? [])]) {
    for (const [i, sc] of (c.spec.schedules ?? []).entries()) {
      const p = scheduleProblem(String(sc?.cron), sc?.timezone);
      if (p !== null) return `${'version' in c ? `version ${c.version}` : '$LATEST'}: schedules.${i}.${p}`;
    }
  }
  return null;
}

/**
 * Instances an alias reserves are taken from what its versions may run: the reservations on one
 * version (its aliases' minInstances split by weight, summed) never pass its maxInstances.
 * `field`: what the error names (the alias's minInstances, or the deploy's maxInstances).
 */
function checkReservations(rec: StoredRecord, field: 'minInstances' | 'maxInstances'): void {
  const max = new Map<string, number>([[LATEST, rec.spec.maxInstances], ...(rec.versions ?? []).map((v): [string, number] => [v.version, v.spec.maxInstances])]);
  for (const [version, n] of reservations(rec)) {
    const limit = max.get(version);
    if (limit !== undefined && n > limit) {
      const by = (rec.aliases ?? []).filter((a) => a.minInstances > 0 && (a.version === version || version in a.additionalVersionWeights)).map((a) => `"${a.name}"`);
      throw new HearthError('InvalidSpec', `${field}: alias${by.length > 1 ? 'es' : ''} ${by.join(', ')} reserve${by.length > 1 ? '' : 's'} ${n} instances of version ${version}, over its maxInstances ${limit}`);
    }
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
