// The container tier until a Docker engine is driven (container-fallback/): deploys are stored,
// calls answer 503 and say why.

import type { Backend, BackendStats, FunctionVersion, InstanceInfo } from './backend.js';
import type { CallOutcome, CallRequest } from './call.js';
import { HearthError } from './errors.js';

export class UnavailableBackend implements Backend {
  readonly tier = 'container' as const;
  constructor(private readonly reason: string) {}
  ready(): Promise<void> { return Promise.resolve(); }
  prepare(): Promise<void> { return Promise.resolve(); }
  invoke(fn: FunctionVersion, _req: CallRequest): Promise<CallOutcome> {
    return Promise.reject(new HearthError('BackendUnavailable', `${fn.name} (runtime ${fn.runtime}): ${this.reason}`));
  }
  retire(): void {}
  reserve(): void {}
  instances(): InstanceInfo[] { return []; }
  stats(): BackendStats { return { instances: 0, prewarmed: 0, busy: 0, waiting: 0, memoryMb: 0, evictions: 0, coldStarts: 0, resent: 0, idleReleases: 0 }; }
  close(): Promise<void> { return Promise.resolve(); }
}
