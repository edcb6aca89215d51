// The one seam between the dispatcher and the two tiers (isolates, containers). The dispatcher,
// registry, HTTP layer, logs and metrics never know which tier served a call; `Tiers` is the one
// place that picks a tier for a runtime.

import type { CallOutcome, CallRequest, Superseded } from './call.js';
import { tierOf, type FunctionSpec, type Runtime, type Tier } from './spec.js';

/** An immutable, resolved function version: everything an instance is made from. */
export interface FunctionVersion {
  readonly name: string;
  /** "$LATEST" or a published number. */
  readonly version: string;
  /** sha256 over everything that shapes an instance; warm instances are keyed by it. */
  readonly digest: string;
  /** sha256 of the deployable code (the bundled script for js). */
  readonly codeDigest: string;
  readonly runtime: Runtime;
  readonly handler: string;
  /** For js: the export the handler names. */
  readonly exportName: string;
  /** For runtime "image": the image id pinned at deploy. */
  readonly imageId: string | null;
  readonly spec: Readonly<Omit<FunctionSpec, 'code'>>;
  readonly createdAt: string;
  /**
   * Shared by every object of this digest; `retired` turns true when the digest is replaced or
   * deleted. A call that resolved to it just before, and finds no warm instance, is then re-resolved
   * (its code may be gone) instead of starting an instance of replaced code.
   */
  readonly lifecycle?: { retired: boolean };
}

export interface InstanceInfo {
  id: string;
  tier: Tier;
  state: string;
  digest: string;
  version: string;
  inFlight: number;
  callsServed: number;
  /** Epoch ms. */
  createdAt: number;
  /** Epoch ms: when its last call ended (when it was made, before any). */
  lastUsedAt: number;
  /** Since it was made, ms. */
  ageMs: number;
  /** Since its last call ended, ms (0 while it has calls in flight). */
  idleMs: number;
  memoryMb: number;
  /** Tier-specific facts (e.g. whether V8 cached data was used to load the code). */
  detail?: Record<string, unknown>;
}

export interface BackendStats {
  instances: number;
  prewarmed: number;
  busy: number;
  waiting: number;
  memoryMb: number;
  evictions: number;
  coldStarts: number;
  /** Calls sent once more to another instance because the first never received them (InstanceFactory.undelivered). */
  resent: number;
  /** Idle instances that gave back the memory they held unused (InstanceFactory.releaseIdle). */
  idleReleases: number;
  /** The isolate tier's runtime extras: loads into isolates, and loads refused (pool/isolate/extras.ts). */
  runtimeExtras?: { extra: string; loaded: number; refused: number }[];
}

export type { Tier };

/** One kind of instance a tier makes ahead of need: how many are ready against how many it keeps. */
export interface ReserveLevel {
  ready: number;
  /** 0: none are kept now (none configured, no engine, the runtime image is missing). */
  target: number;
  /** The memory size they are made at: a cold start of another size is made from scratch. */
  memoryMb?: number;
}

export interface Backend {
  readonly tier: Tier;
  /** Ready once pre-warming has filled. */
  ready(): Promise<void>;
  /**
   * Deploy-time check and preparation (compile, produce cached data). Throws HearthError 400s for
   * code that does not load.
   */
  prepare(version: FunctionVersion, code: Buffer): Promise<void>;
  /** runtime "image": the id of the image a reference names now (deploy pins it); throws 400/503. */
  pinImage?(reference: string): Promise<string>;
  /**
   * Runs one call on an instance of the version and says what happened (the function's own error
   * included, with the call's timings). Throws a HearthError for a call no instance took (no
   * capacity, no engine). SUPERSEDED: the version was replaced before an instance took the call.
   */
  invoke(version: FunctionVersion, req: CallRequest): Promise<CallOutcome | Superseded>;
  /** Keep the version's minInstances ready (reserved instances); a no-op when it has none. */
  reserve(version: FunctionVersion): void;
  /**
   * This digest takes no new calls: instances finish what they hold, then go. `gone`: the function
   * was deleted, so calls still waiting for an instance are refused.
   */
  retire(digest: string, gone?: boolean): void;
  instances(digest?: string): InstanceInfo[];
  stats(): BackendStats;
  /** The reserve (blank isolates, stem cells) by kind, for a client that spaces cold calls (GET /readyz); absent: the tier keeps none. */
  reserveLevels?(): Record<string, ReserveLevel>;
  close(): Promise<void>;
}

/** The two tiers' backends; `for` gives the one that runs a runtime (spec.ts tierOf). */
export class Tiers {
  constructor(readonly isolates: Backend, readonly containers: Backend) {}

  for(runtime: Runtime): Backend {
    return tierOf(runtime) === 'isolate' ? this.isolates : this.containers;
  }

  all(): Backend[] {
    return [this.isolates, this.containers];
  }
}
