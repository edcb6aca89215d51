// The deploy pipeline: a request body → checked spec, deployable code (bundled for js), the size
// limit, a custom image pinned to an id, the version digest; then the tier's deploy-time check.
// Stores nothing and changes no table: the registry decides what a built version replaces.

import type { Tiers } from '../backend.js';
import { splitHandler } from '../bundler.js';
import { HearthError } from '../errors.js';
import { checkFunctionName, parseSpec, type FunctionSpec } from '../spec.js';
import { sha256 } from '../store.js';
import type { DeployWork } from './deploy-work.js';
import type { StoredRecord } from './records.js';
import { PREPARING, toVersion } from './versions.js';

/** A deploy's candidate $LATEST, built but not yet prepared on its tier nor stored. */
export interface BuiltVersion {
  /** The spec without its code (what records keep). */
  spec: Omit<FunctionSpec, 'code'>;
  code: Buffer;
  codeDigest: string;
  exportName: string;
  imageId: string | undefined;
  digest: string;
}

export class DeployPipeline {
  constructor(
    private readonly tiers: Tiers,
    private readonly limits: { maxCodeBytes: number },
    /** Where inflating and bundling run (worker threads in Hearth). */
    private readonly work: DeployWork,
  ) {}

  async build(name: string, body: unknown): Promise<BuiltVersion> {
    checkFunctionName(name);
    const spec = parseSpec(body, name);
    const { code, exportName } = await this.buildCode(spec);
    if (code.length > this.limits.maxCodeBytes) {
      throw new HearthError('CodeTooLarge', `the code is ${code.length} bytes, over the ${this.limits.maxCodeBytes}-byte limit`);
    }
    const codeDigest = sha256(code);
    const { code: _omit, ...rest } = spec;
    // A custom image is pinned to what its reference names now: a re-tag changes nothing until redeploy.
    const imageId = spec.runtime === 'image' ? await this.tiers.for(spec.runtime).pinImage?.(spec.image!) : undefined;
    return { spec: rest, code, codeDigest, exportName, imageId, digest: versionDigest(name, rest, codeDigest, imageId) };
  }

  /**
   * A new configuration of `old`'s code (Lambda's UpdateFunctionConfiguration): the body is a spec
   * without `code`; runtime, handler, image, command and args are the old ones unless given, and
   * may not change (that needs the code: a deploy). The code is what `old` runs, not built again.
   */
  reconfigure(name: string, old: StoredRecord, body: unknown, code: Buffer): BuiltVersion {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new HearthError('InvalidSpec', 'the configuration must be a JSON object');
    const given = body as Record<string, unknown>;
    if ('code' in given) throw new HearthError('InvalidSpec', 'code: a configuration takes no code (deploy the code with PUT /v1/functions/{name})', { problems: [{ path: 'code', message: 'not taken here: deploy the code with PUT /v1/functions/{name}' }] });
    const fixed = { runtime: old.spec.runtime, handler: old.spec.handler, image: old.spec.image, command: old.spec.command, args: old.spec.args } as Record<string, unknown>;
    for (const [k, v] of Object.entries(fixed)) {
      if (k in given && JSON.stringify(given[k]) !== JSON.stringify(v)) {
        throw new HearthError('InvalidSpec', `${k}: changes with the code (deploy it with PUT /v1/functions/{name})`, { problems: [{ path: k, message: 'changes with the code: deploy it' }] });
      }
    }
    // The spec's own checks, with a stand-in for the code it already has.
    const standIn = old.spec.runtime === 'image' ? {} : { code: old.spec.runtime === 'java17' ? { jar: 'UEs=' } : { source: '-' } };
    const defined = Object.fromEntries(Object.entries(fixed).filter(([, v]) => v !== undefined));
    const spec = parseSpec({ ...given, ...defined, ...standIn }, name);
    const { code: _omit, ...rest } = spec;
    return { spec: rest, code, codeDigest: old.codeDigest, exportName: old.exportName, imageId: old.imageId, digest: versionDigest(name, rest, old.codeDigest, old.imageId) };
  }

  /** Compiles and loads it once before anyone can call it: bad code is a 400 here, not a 500 later. */
  prepare(record: StoredRecord, code: Buffer): Promise<void> {
    return this.tiers.for(record.spec.runtime).prepare(toVersion(record, 0, PREPARING), code).catch((err: unknown) => {
      throw withSourceProblem(err);
    });
  }

  private async buildCode(spec: FunctionSpec): Promise<{ code: Buffer; exportName: string }> {
    const handler = spec.handler ?? '';
    if (spec.runtime === 'js') {
      const code = spec.code!;
      if ('jar' in code) throw new HearthError('InvalidSpec', 'code: must be {source} or {zip} for runtime "js"');
      const b = await this.work.bundle({ handler, code, maxBytes: this.limits.maxCodeBytes });
      return { code: Buffer.from(b.script), exportName: b.exportName };
    }
    if (!spec.code) return { code: Buffer.alloc(0), exportName: '' };
    const c = spec.code;
    // A container runtime's archive is unpacked by its tier later: measured here first, under the same limits.
    if ('zip' in c) await this.work.checkArchive(c.zip, 'code.zip');
    if ('jar' in c) await this.work.checkArchive(c.jar, 'code.jar');
    const bytes = 'source' in c ? Buffer.from(c.source) : Buffer.from('zip' in c ? c.zip : c.jar, 'base64');
    return { code: bytes, exportName: handler.includes('::') ? handler.split('::')[1]! : splitHandler(handler).exportName };
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
    egress: [...(spec.egress?.allow ?? [])].sort(), schedules: spec.schedules ?? [], triggers: spec.triggers ?? [],
    // How its events run is part of a version too: a redeploy that changes only these is a change.
    async: [spec.maxRetries ?? null, spec.maxEventAgeMs ?? null, spec.asyncConcurrency ?? null, spec.onSuccess ?? null, spec.onFailure ?? null],
    ...(imageId ? { imageId } : {}),
    // A published version's instances are its own (they report its number to the function).
    ...(version ? { version } : {}),
  }));
}

/** Python's own words for what failed where: `SyntaxError: expected ':' (index.py, line 3)`. */
const PYTHON_WHERE = /(\w+(?:Error|Exception)\b[^(]*?)\s*\(([\w./-]+\.py), line (\d+)\)/;

/**
 * A load error that names a place in the function's own files (Python's SyntaxError, say) gets it
 * as a Problem, so an editor can put it at its line; any other error goes on as it is.
 */
export function withSourceProblem(err: unknown): unknown {
  if (!(err instanceof HearthError) || err.type !== 'InitError' || err.problems !== undefined) return err;
  const m = PYTHON_WHERE.exec(err.message);
  if (m === null) return err;
  return new HearthError(err.type, err.message, {
    ...(err.functionStack ? { functionStack: err.functionStack } : {}),
    problems: [{ message: m[1]!, file: m[2]!, line: Number(m[3]) }],
  });
}
