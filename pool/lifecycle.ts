// The instance lifecycle of both tiers, written as states (ARCHITECTURE.md "Instance lifecycle").
// Every state change of an isolate or a container goes through transition(), which follows
// LIFECYCLE; an instance's `state` is readonly everywhere else. The diagram below is generated from
// the table (lifecycleDiagram(); pool/lifecycle.test.ts checks it and ARCHITECTURE.md's copy).
//
//   prewarmed ──specialize──▶ initializing
//   initializing ──ready──▶ idle
//   initializing ──break──▶ broken
//   initializing ──dispose──▶ disposed
//   idle ──acquire──▶ busy
//   idle ──retire──▶ draining
//   idle ──break──▶ broken
//   idle ──dispose──▶ disposed
//   busy ──acquire──▶ busy
//   busy ──release──▶ idle
//   busy ──retire──▶ draining
//   busy ──break──▶ broken
//   busy ──dispose──▶ disposed
//   draining ──acquire──▶ draining
//   draining ──reviveIdle──▶ idle
//   draining ──reviveBusy──▶ busy
//   draining ──break──▶ broken
//   draining ──dispose──▶ disposed
//   broken ──dispose──▶ disposed
//   prewarmed ──dispose──▶ disposed

export const InstanceState = {
  /** Started with the runtime loaded, no function code: a blank isolate, a stem cell. */
  prewarmed: 'prewarmed',
  /** Loading one version's code. */
  initializing: 'initializing',
  /** Warm, routed, no call in flight. */
  idle: 'idle',
  /** Warm, routed, calls in flight. */
  busy: 'busy',
  /** Not routed any more (its version was replaced): finishes what it holds, then goes. */
  draining: 'draining',
  /** Dead underneath (timed out, out of memory, crashed, its container gone): never routed again. */
  broken: 'broken',
  disposed: 'disposed',
} as const;
export type InstanceState = (typeof InstanceState)[keyof typeof InstanceState];

export type LifecycleEvent =
  /** A version's code starts loading into it. */
  | 'specialize'
  /** The code is loaded. */
  | 'ready'
  /** A call takes a slot on it. */
  | 'acquire'
  /** Its last call in flight ended. */
  | 'release'
  /** Its version takes no new calls. */
  | 'retire'
  /** Its version is routed again before it drained: with no call in flight, and with some. */
  | 'reviveIdle'
  | 'reviveBusy'
  /** It died underneath. */
  | 'break'
  /** Torn down. */
  | 'dispose';

/** State × event → next state. A pair not listed is a bug (transition() throws). */
export const LIFECYCLE: Readonly<Record<InstanceState, Readonly<Partial<Record<LifecycleEvent, InstanceState>>>>> = {
  prewarmed: { specialize: 'initializing', dispose: 'disposed' },
  initializing: { ready: 'idle', break: 'broken', dispose: 'disposed' },
  idle: { acquire: 'busy', retire: 'draining', break: 'broken', dispose: 'disposed' },
  busy: { acquire: 'busy', release: 'idle', retire: 'draining', break: 'broken', dispose: 'disposed' },
  // A draining instance may still take a waiting call of its version; revived when the version is
  // routed again (e.g. a deploy rolled back) before it is gone.
  draining: { acquire: 'draining', reviveIdle: 'idle', reviveBusy: 'busy', break: 'broken', dispose: 'disposed' },
  broken: { dispose: 'disposed' },
  disposed: {},
};

/** Why an instance ended (data that comes with `break` and `dispose`, not a state). */
export type EndCause = 'timeout' | 'memory' | 'crash' | 'shutdown';

/** What every instance carries for the lifecycle. */
export interface HasLifecycle {
  readonly id: string;
  readonly state: InstanceState;
}

/** The next state, or null when the table has no such move. */
export function nextState(from: InstanceState, event: LifecycleEvent): InstanceState | null {
  return LIFECYCLE[from][event] ?? null;
}

/** The one way an instance changes state. Throws on a move the table does not have. */
export function transition(inst: HasLifecycle, event: LifecycleEvent): InstanceState {
  const to = LIFECYCLE[inst.state][event];
  if (to === undefined) throw new Error(`instance ${inst.id}: no transition from ${inst.state} on ${event}`);
  (inst as { state: InstanceState }).state = to;
  return to;
}

/** Routed: a call may be given to it. */
export function isRouted(state: InstanceState): boolean {
  return state === InstanceState.idle || state === InstanceState.busy;
}

/** Over: broken or disposed (nothing more runs on it). */
export function isOver(state: InstanceState): boolean {
  return state === InstanceState.broken || state === InstanceState.disposed;
}

/** The table as the lines of the diagram above (and ARCHITECTURE.md's). */
export function lifecycleDiagram(): string[] {
  const lines: string[] = [];
  const order = Object.keys(LIFECYCLE) as InstanceState[];
  for (const from of order) {
    for (const [event, to] of Object.entries(LIFECYCLE[from])) {
      // The prewarmed → disposed edge last: the main path reads first.
      if (from === 'prewarmed' && event === 'dispose') continue;
      lines.push(`${from} ──${event}──▶ ${to}`);
    }
  }
  lines.push('prewarmed ──dispose──▶ disposed');
  return lines;
}
