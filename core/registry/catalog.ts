// The catalog: what calls resolve to. Owns the in-memory tables only (name → $LATEST, published
// versions and alias routes); nothing here stores, deploys or tells a tier anything. It is made
// first, empty and without dependencies, so the dispatcher and the timer triggers can be built on it
// before the registry (the one writer, through put/remove) exists.

import type { FunctionVersion } from '../backend.js';
import type { Resolver } from '../dispatcher.js';
import { HearthError } from '../errors.js';
import { AliasRoute } from './aliases.js';

export const LATEST = '$LATEST';

/** One function as calls see it: a new object replaces it whole on every change. */
export interface CatalogEntry {
  readonly latest: FunctionVersion;
  /** Published versions and aliases by qualifier: what resolve() looks up. */
  readonly targets: ReadonlyMap<string, FunctionVersion | AliasRoute>;
}

export class Catalog implements Resolver {
  private readonly fns = new Map<string, CatalogEntry>();

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
    const e = this.fns.get(name);
    if (!e) throw new HearthError('FunctionNotFound', `function "${name}" does not exist`);
    if (qualifier === '') return [e.latest, ...[...e.targets.values()].filter((t): t is FunctionVersion => !(t instanceof AliasRoute))];
    if (qualifier === LATEST) return [e.latest];
    const t = e.targets.get(qualifier);
    if (t === undefined) throw new HearthError('VersionNotFound', `function "${name}" has no version or alias "${qualifier}"`);
    return t instanceof AliasRoute ? (t.extra ? [t.primary, t.extra] : [t.primary]) : [t];
  }

  /** Every function's name (not the hot path). */
  names(): IterableIterator<string> {
    return this.fns.keys();
  }

  has(name: string): boolean {
    return this.fns.has(name);
  }

  /** $LATEST of a function, or null: for listeners and tests, not the hot path. */
  latest(name: string): FunctionVersion | null {
    return this.fns.get(name)?.latest ?? null;
  }

  /** The registry's: makes `entry` what calls to `name` resolve to from now on. */
  put(name: string, entry: CatalogEntry): void {
    this.fns.set(name, entry);
  }

  /** The registry's: calls to `name` find no function from now on. */
  remove(name: string): void {
    this.fns.delete(name);
  }
}
