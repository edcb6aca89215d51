// Warm instances per function version (keyed by the version's immutable digest), for either tier:
// the isolate backend and the container backend each plug an InstanceFactory into this pool, and
// the decisions come from policy.ts. The hot path is acquire() finding a warm slot synchronously.

import { LRUCache } from 'lru-cache';
import type { BackendStats, FunctionVersion, InstanceInfo, Tier } from '../core/backend.js';
import { failedOutcome, ranOutcome, SUPERSEDED, type CallOutcome, type CallRequest, type ColdStart, type Superseded } from '../core/call.js';
import { HearthError, toHearthError } from '../core/errors.js';
import { log } from '../core/log.js';
import { InstanceState, isOver, transition } from './lifecycle.js';
import type { CallableInstance, PooledInstance } from './pool-member.js';
import { packLimit, pickEvictions, pickInstance, placeCall, releasable, shouldScaleUp } from './policy.js';
import { WaitQueue } from './wait-queue.js';

export interface InstanceFactory<I extends PooledInstance> {
  /**
   * A cold start: an instance with the version's code loaded. `requestId` is the call that caused
   * it ('' for reserved). `scratch`: made from nothing, not from the tier's reserve (what a call
   * meets when the reserve is empty); the instance's startedFrom says which it was.
   */
  create(version: FunctionVersion, requestId: string, scratch: boolean): Promise<I>;
  /** Tear down (synchronously start to; never throws). */
  dispose(inst: I, reason: string): void;
  /** Memory expected of a new instance of this version, MiB, before it exists. */
  estimateMb(version: FunctionVersion): number;
  /** Measures an instance's memory now, MiB (heaps grow after init). */
  measure?(inst: I): number;
  /**
   * Whether the instance still works underneath. One that died on its own, unseen (an isolate V8
   * disposed for its memory limit 20–40 ms before the call that did it has its answer), is moved
   * to broken by the tier, so no call is given to it meanwhile.
   */
  check?(inst: I): boolean;
  /**
   * Whether a call's failure proves the call never reached the instance's function (e.g. its
   * container refused the connection: it died before anything of the call was written). Such a
   * call is sent once more, to another instance: the function never saw it, so a sync call's
   * at-most-once still holds. The instance is broken by then.
   */
  undelivered?(err: unknown): boolean;
  /**
   * Gives back what an instance idle for idleReleaseMs holds but does not use (an isolate's empty
   * heap pages), off the main thread; resolves true if it did. The pool runs one at a time and at
   * most once an idle period.
   */
  releaseIdle?(inst: I): Promise<boolean>;
}

export interface PoolSettings {
  maxTotalInstances: number;
  memoryBudgetMb: number;
  waitQueueSize: number;
  waitQueueTimeoutMs: number;
  /** Start one more instance when in-flight calls pass this share of the version's slots; calls are packed up to it. */
  scaleUpThreshold: number;
  /** Below this share of the version's slots in use, it has surplus instances (policy.ts releasable). */
  scaleDownThreshold: number;
  /** How long a surplus instance must have been idle before it goes. */
  scaleDownDelayMs: number;
  sweepIntervalMs: number;
  /** After this long without a call, an idle instance gives back the memory it does not use (factory.releaseIdle); 0: never. */
  idleReleaseMs?: number;
}

export interface PoolEvents {
  coldStart?(version: FunctionVersion, initMs: number): void;
  evicted?(reason: string): void;
}

/** An instance a call got after waiting or starting one, and what that cost. */
export interface Acquired<I> {
  inst: I;
  cold: boolean;
  /** A cold start's instance: from the reserve or from scratch; null when the call waited for a warm one. */
  coldStart: ColdStart | null;
  initMs: number;
  queueMs: number;
}

/** What the pool tells of one version's instances (tests, the backends' checks). */
export interface SlotView<I> {
  readonly instances: readonly I[];
  readonly starting: number;
  readonly waiting: number;
}

/** One version's instances, its starts in progress and its waiting calls. */
class VersionSlot<I extends PooledInstance> {
  readonly instances: I[] = [];
  starting = 0;
  /** Starts made for a call, which takes the new instance's first slot. */
  startingForCalls = 0;
  inFlight = 0;
  retired = false;
  /** A start failed with this and nothing is running: waiting calls get it too. */
  lastStartError: unknown = null;
  readonly waiters: WaitQueue<I>;

  constructor(public version: FunctionVersion, queueLimit: number) {
    this.waiters = new WaitQueue<I>(queueLimit);
  }
}

export class InstancePool<I extends PooledInstance> {
  private readonly slots = new Map<string, VersionSlot<I>>();
  /** Instances in least-recently-used order (touched when they go idle), for eviction. */
  private readonly lru: LRUCache<string, I>;
  private readonly sweeper: NodeJS.Timeout;
  private totalInstances = 0;
  private totalStarting = 0;
  private usedMb = 0;
  /** What the instances starting now are expected to take (MiB): counted against the memory budget until they are measured. */
  private startingMb = 0;
  evictions = 0;
  coldStarts = 0;
  /** Calls sent again to another instance because the first never got them (factory.undelivered). */
  resent = 0;
  /** Idle instances that gave back their unused memory (factory.releaseIdle). */
  idleReleases = 0;
  /** Idle instances due a release, oldest first, and whether one runs now (one at a time). */
  private readonly toRelease: I[] = [];
  private releasing = false;
  private closed = false;

  constructor(
    private readonly factory: InstanceFactory<I>,
    private readonly settings: PoolSettings,
    private readonly events: PoolEvents = {},
  ) {
    this.lru = new LRUCache<string, I>({ max: Math.max(16, settings.maxTotalInstances * 2) });
    this.sweeper = setInterval(() => this.sweep(), settings.sweepIntervalMs);
    this.sweeper.unref();
  }

  private slot(version: FunctionVersion): VersionSlot<I> {
    let s = this.slots.get(version.digest);
    if (s === undefined) {
      s = new VersionSlot<I>(version, this.settings.waitQueueSize);
      this.slots.set(version.digest, s);
    }
    return s;
  }

  /** A version's instances, starts and waiting calls, as they are now (undefined: none). */
  peek(digest: string): SlotView<I> | undefined {
    const s = this.slots.get(digest);
    return s === undefined ? undefined : { instances: s.instances, starting: s.starting, waiting: s.waiters.length };
  }

  /** Every instance the pool holds that is not over (routed or draining). */
  *live(): Generator<I> {
    for (const slot of this.slots.values()) for (const inst of slot.instances) if (!isOver(inst.state)) yield inst;
  }

  /**
   * One call on an instance of the version, for either tier: acquire (maybe waiting or starting
   * one), run, time it, release, and say what happened. Errors before an instance took the call
   * (no capacity, a start that failed) are thrown; from then on the outcome carries them with the
   * call's timings. A call whose ctx.waitUntil work goes on (outcome.tail) keeps its slot on the
   * instance until that ends.
   */
  async serve(this: InstancePool<I & CallableInstance>, version: FunctionVersion, req: CallRequest): Promise<CallOutcome | Superseded> {
    // Time spent on an instance that never got the call (resent below) counts as waiting.
    let lostMs = 0;
    for (let attempt = 0; ; attempt++) {
      const got = this.acquire(version, req);
      if (got === SUPERSEDED) return SUPERSEDED;
      let inst: I & CallableInstance, cold = false, coldStart: ColdStart | null = null, initMs = 0, queueMs = lostMs;
      if (got instanceof Promise) {
        const a = await got;
        inst = a.inst; cold = a.cold; coldStart = a.coldStart; initMs = a.initMs; queueMs += a.queueMs;
      } else {
        inst = got;
      }
      const t0 = performance.now();
      let out: CallOutcome;
      try {
        const r = await inst.call(req);
        out = ranOutcome(version.version, { cold, coldStart, initMs, queueMs, durationMs: performance.now() - t0 }, r);
      } catch (err) {
        // Never reached the function (its instance was dead before the call was written): once
        // more, on another instance. Only once: a second such failure is the call's.
        if (attempt === 0 && this.factory.undelivered?.(err) === true) {
          this.release(inst);
          lostMs = queueMs + initMs + (performance.now() - t0);
          this.resent++;
          continue;
        }
        out = failedOutcome(version.version, toHearthError(err), { cold, coldStart, initMs, queueMs, durationMs: performance.now() - t0 });
      }
      if (out.tail === null) this.release(inst);
      else out.tail.then(() => this.release(inst));
      return out;
    }
  }

  /**
   * An instance with a free slot for this call, counted in. Synchronous when a warm one has room;
   * otherwise a promise (cold start or a wait in the queue) that says what it cost. SUPERSEDED when
   * the version was replaced since the call resolved it and no warm instance of it is left.
   */
  acquire(version: FunctionVersion, req: CallRequest): I | Promise<Acquired<I>> | Superseded {
    const slot = this.slot(version);
    const conc = version.spec.concurrency;
    if (req.forceCold === 'no') {
      const idx = this.pick(slot, conc, packLimit(conc, this.settings.scaleUpThreshold));
      if (idx >= 0) {
        const inst = slot.instances[idx]!;
        this.take(slot, inst);
        if (shouldScaleUp(slot.inFlight, slot.instances.length, slot.starting, conc, version.spec.maxInstances, this.settings.scaleUpThreshold)) {
          this.startInBackground(slot);
        }
        return inst;
      }
    }
    // The cold path only: a version replaced since the call resolved it starts nothing (the
    // dispatcher resolves the call again); its warm instances above were draining, so not picked.
    if (slot.retired || version.lifecycle?.retired === true) return SUPERSEDED;
    const placement = req.forceCold !== 'no'
      ? this.placeForcedCold(slot)
      : placeCall({
          instances: slot.instances.length,
          starting: slot.starting,
          claimed: slot.startingForCalls,
          waiting: slot.waiters.length,
          concurrency: conc,
          maxInstances: version.spec.maxInstances,
          queueLimit: this.settings.waitQueueSize,
        });
    if (placement === 'start') return this.coldStart(slot, req.requestId, req.forceCold === 'scratch');
    if (placement === 'wait') return this.wait(slot);
    if (req.forceCold !== 'no') {
      throw new HearthError('TooManyRequests', `${version.name}: no room for a fresh instance (X-Hearth-Force-Cold): all ${slot.instances.length} instances are busy or starting and maxInstances is ${version.spec.maxInstances}`);
    }
    throw new HearthError(
      'TooManyRequests',
      `${version.name}: all ${slot.instances.length} instances are busy (concurrency ${conc}, maxInstances ${version.spec.maxInstances}) and ${slot.waiters.length} calls are already waiting`,
    );
  }

  /** The instance a call goes to (policy.ts pickInstance), skipping one the tier finds dead underneath. */
  private pick(slot: VersionSlot<I>, conc: number, pack: number): number {
    for (;;) {
      const idx = pickInstance(slot.instances, conc, pack);
      if (idx < 0 || this.factory.check === undefined || this.factory.check(slot.instances[idx]!)) return idx;
    }
  }

  /** The call is over. A broken instance (timed out, out of memory, crashed) is disposed. */
  release(inst: I): void {
    const slot = this.slots.get(inst.digest);
    inst.inFlight--;
    inst.callsServed++;
    inst.lastUsedAt = performance.now();
    if (slot) slot.inFlight--;
    this.factory.check?.(inst);
    if (inst.state === InstanceState.broken) {
      this.remove(inst, 'broken');
      if (slot) {
        this.serveWaiters(slot);
        this.refill(slot);
      }
      return;
    }
    if (inst.state === InstanceState.disposed) return;
    if (slot && slot.waiters.length > 0) {
      const w = slot.waiters.shift();
      if (w) {
        this.take(slot, inst);
        w.resolve(inst);
        return;
      }
    }
    if (inst.inFlight === 0) {
      if (inst.state === InstanceState.draining || !slot || slot.retired) {
        this.remove(inst, 'drained');
      } else {
        transition(inst, 'release');
        this.lru.set(inst.id, inst);
      }
    }
  }

  /**
   * Drops the instances that broke underneath them (a container killed from outside, an engine
   * that restarted): idle ones now, busy ones when their call ends. Reserved ones are started again
   * at once, without waiting for a call.
   */
  dropBroken(reason: string): void {
    for (const slot of [...this.slots.values()]) {
      let dropped = false;
      for (const inst of [...slot.instances]) {
        if (inst.state === InstanceState.broken && inst.inFlight === 0) { this.remove(inst, reason); dropped = true; }
      }
      if (dropped) this.refill(slot);
    }
  }

  /** New calls no longer come to this digest: idle instances go now, busy ones when done. */
  retire(digest: string, gone = false): void {
    const slot = this.slots.get(digest);
    if (!slot) return;
    slot.retired = true;
    // Deleted, not replaced: calls still waiting for it will not be served.
    if (gone) slot.waiters.rejectAll(new HearthError('FunctionNotFound', `${slot.version.name} was deleted`));
    for (const inst of [...slot.instances]) {
      if (inst.inFlight === 0) this.remove(inst, 'retired');
      else if (inst.state === InstanceState.busy) transition(inst, 'retire');
    }
    if (slot.instances.length === 0 && slot.starting === 0 && slot.waiters.length === 0) this.slots.delete(digest);
  }

  /** The version takes calls (again, if it was retired); keep its `minInstances` ready. */
  reserve(version: FunctionVersion): void {
    const slot = this.slot(version);
    slot.version = version;
    if (slot.retired) {
      slot.retired = false;
      for (const i of slot.instances) {
        if (i.state === InstanceState.draining) transition(i, i.inFlight > 0 ? 'reviveBusy' : 'reviveIdle');
      }
    }
    this.refill(slot);
  }

  /** Starts what the version lacks of its minInstances (not counting instances that broke). */
  private refill(slot: VersionSlot<I>): void {
    if (slot.retired || this.closed || slot.version.spec.minInstances === 0) return;
    let have = slot.starting;
    for (const i of slot.instances) if (i.state !== InstanceState.broken) have++;
    for (; have < slot.version.spec.minInstances; have++) this.startInBackground(slot);
  }

  usage(): { instances: number; starting: number; memoryMb: number; busy: number; waiting: number } {
    let busy = 0;
    let waiting = 0;
    for (const s of this.slots.values()) {
      waiting += s.waiters.length;
      for (const i of s.instances) if (i.inFlight > 0) busy++;
    }
    return { instances: this.totalInstances, starting: this.totalStarting, memoryMb: this.usedMb, busy, waiting };
  }

  /** The instances (of one digest, or all) as the management API shows them; `detail` adds the tier's facts. */
  describe(tier: Tier, detail: (inst: I) => Record<string, unknown>, digest?: string): InstanceInfo[] {
    const out: InstanceInfo[] = [];
    const now = performance.now();
    const epoch = Date.now();
    for (const slot of this.slots.values()) {
      if (digest && slot.version.digest !== digest) continue;
      for (const i of slot.instances) {
        out.push({
          id: i.id, tier, state: i.state, digest: i.digest, version: i.version,
          inFlight: i.inFlight, callsServed: i.callsServed,
          createdAt: Math.round(epoch - (now - i.createdAt)), lastUsedAt: Math.round(epoch - (now - i.lastUsedAt)),
          ageMs: Math.round(now - i.createdAt),
          idleMs: i.inFlight > 0 ? 0 : Math.round(now - i.lastUsedAt),
          memoryMb: Math.round(i.footprintMb * 100) / 100,
          detail: detail(i),
        });
      }
    }
    return out;
  }

  /** The pool's figures for readiness and metrics; `prewarmed` is the tier's reserve. */
  stats(prewarmed: number): BackendStats {
    const u = this.usage();
    return {
      instances: u.instances, prewarmed, busy: u.busy, waiting: u.waiting,
      memoryMb: u.memoryMb, evictions: this.evictions, coldStarts: this.coldStarts, resent: this.resent,
      idleReleases: this.idleReleases,
    };
  }

  /**
   * Periodic: drop instances that broke while idle, release idle ones past their keepalive and
   * surplus ones (policy.ts releasable), start reserved ones that are missing.
   */
  sweep(now = performance.now()): void {
    for (const [digest, slot] of this.slots) {
      const spec = slot.version.spec;
      const min = slot.retired ? 0 : spec.minInstances;
      for (let k = slot.instances.length - 1; k >= 0; k--) {
        const inst = slot.instances[k]!;
        if (inst.inFlight === 0 && (inst.state === InstanceState.broken || this.factory.check?.(inst) === false)) this.remove(inst, 'broken');
      }
      if (this.factory.measure) {
        for (const inst of slot.instances) {
          // Only what ran since it was last measured: with 1,000 idle instances, asking each
          // isolate every sweep blocked the main thread ~19 ms a second.
          if (inst.state !== InstanceState.idle || inst.measuredAtCalls === inst.callsServed) continue;
          inst.measuredAtCalls = inst.callsServed;
          const mb = this.factory.measure(inst);
          this.usedMb += mb - inst.footprintMb;
          inst.footprintMb = mb;
        }
      }
      const { expired, surplus } = releasable(slot.instances, slot.inFlight, now, {
        concurrency: spec.concurrency, minInstances: min, keepAliveMs: spec.keepAliveMs,
        pack: packLimit(spec.concurrency, this.settings.scaleUpThreshold),
        scaleDownThreshold: this.settings.scaleDownThreshold, scaleDownDelayMs: this.settings.scaleDownDelayMs,
      });
      for (const inst of expired) this.remove(inst, 'keepalive');
      for (const inst of surplus) this.remove(inst, 'scale-down');
      // The ones that stay, idle long enough: queued to give back what they hold unused.
      if (this.factory.releaseIdle && (this.settings.idleReleaseMs ?? 0) > 0) {
        const before = now - this.settings.idleReleaseMs!;
        for (const inst of slot.instances) {
          if (inst.state !== InstanceState.idle || inst.releasedAtCalls === inst.callsServed || inst.lastUsedAt > before) continue;
          inst.releasedAtCalls = inst.callsServed;
          this.toRelease.push(inst);
        }
      }
      this.refill(slot);
      if (slot.instances.length === 0 && slot.starting === 0 && slot.waiters.length === 0 && (slot.retired || spec.minInstances === 0)) {
        this.slots.delete(digest);
      }
    }
    if (!this.releasing) this.releaseNext();
    // What idle instances took while they ran (a heap that grew, WebAssembly memory a call made)
    // is known from the measures above: past the budget, the least recently used idle ones go now,
    // not only when the next instance starts.
    if (this.factory.measure) this.enforceMemoryBudget(null);
  }

  /**
   * The next idle instance due a release, if it is still idle and has run nothing since it was
   * queued; then the one after. Measured again at the next sweep (its footprint shrank).
   */
  private releaseNext(): void {
    for (;;) {
      const inst = this.toRelease.shift();
      if (inst === undefined || this.closed) return;
      if (inst.state !== InstanceState.idle || inst.releasedAtCalls !== inst.callsServed) continue;
      this.releasing = true;
      void this.factory.releaseIdle!(inst).then((done) => {
        this.releasing = false;
        if (done) {
          this.idleReleases++;
          inst.measuredAtCalls = -1;
        }
        this.releaseNext();
      });
      return;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.toRelease.length = 0;
    clearInterval(this.sweeper);
    for (const slot of this.slots.values()) {
      slot.waiters.rejectAll(new HearthError('Draining', 'Hearth is shutting down'));
      for (const inst of [...slot.instances]) this.remove(inst, 'shutdown');
    }
    this.slots.clear();
  }

  private take(slot: VersionSlot<I>, inst: I): void {
    inst.inFlight++;
    slot.inFlight++;
    // idle → busy; a busy one stays busy, a draining one draining while it finishes what it holds.
    transition(inst, 'acquire');
  }

  private async coldStart(slot: VersionSlot<I>, requestId: string, scratch: boolean): Promise<Acquired<I>> {
    const t0 = performance.now();
    const inst = await this.start(slot, requestId, scratch);
    const initMs = performance.now() - t0;
    // The new instance may have room for calls that queued behind this one.
    this.serveWaiters(slot);
    return { inst, cold: true, coldStart: inst.startedFrom ?? 'scratch', initMs, queueMs: 0 };
  }

  private wait(slot: VersionSlot<I>): Promise<Acquired<I>> {
    const t0 = performance.now();
    const name = slot.version.name;
    const timeout = this.settings.waitQueueTimeoutMs;
    return slot.waiters
      .push(timeout, () => new HearthError('QueueTimeout', `${name}: waited ${timeout} ms for a free instance`))
      .then((inst) => ({ inst, cold: false, coldStart: null, initMs: 0, queueMs: performance.now() - t0 }));
  }

  private startInBackground(slot: VersionSlot<I>): void {
    this.start(slot, '').then(
      () => this.serveWaiters(slot),
      () => undefined, // recorded in slot.lastStartError; waiting calls were told
    );
  }

  /** Creates an instance for the slot, making room in the global budget first. */
  private async start(slot: VersionSlot<I>, requestId: string, scratch = false): Promise<I> {
    if (this.closed) throw new HearthError('Draining', 'Hearth is shutting down');
    const expectMb = this.expectedMb(slot);
    this.makeRoom(expectMb);
    const forCall = requestId !== '';
    slot.starting++;
    if (forCall) slot.startingForCalls++;
    this.totalStarting++;
    this.startingMb += expectMb;
    let inst: I;
    try {
      inst = await this.factory.create(slot.version, requestId, scratch);
      // Died between loading its code and now (a timer of its module init that ran too long):
      // a start that failed.
      if (isOver(inst.state) || this.factory.check?.(inst) === false) {
        const cause = inst.endCause ?? 'gone';
        this.factory.dispose(inst, 'broken');
        throw new HearthError('InstanceFailed', `${slot.version.name}: the new instance stopped as it started (${cause}); it was replaced`);
      }
    } catch (err) {
      slot.lastStartError = err;
      if (slot.instances.length === 0 && slot.starting === 1) slot.waiters.rejectAll(err);
      throw err;
    } finally {
      slot.starting--;
      if (forCall) slot.startingForCalls--;
      this.totalStarting--;
      this.startingMb -= expectMb;
    }
    slot.lastStartError = null;
    this.coldStarts++;
    if (this.closed || (slot.retired && requestId === '')) {
      this.factory.dispose(inst, 'retired');
      throw new HearthError('Draining', `${slot.version.name}: the version was retired while an instance started`);
    }
    slot.instances.push(inst);
    this.totalInstances++;
    this.usedMb += inst.footprintMb;
    transition(inst, 'ready');
    this.lru.set(inst.id, inst);
    // The call that started it takes its first slot now, before anything else can.
    if (forCall) this.take(slot, inst);
    // Replaced while starting: it serves the call that started it, then goes.
    if (slot.retired) transition(inst, 'retire');
    this.enforceMemoryBudget(inst);
    return inst;
  }

  private serveWaiters(slot: VersionSlot<I>): void {
    const conc = slot.version.spec.concurrency;
    const pack = packLimit(conc, this.settings.scaleUpThreshold);
    while (slot.waiters.length > 0) {
      const idx = this.pick(slot, conc, pack);
      if (idx < 0) break;
      const w = slot.waiters.shift();
      if (!w) break;
      const inst = slot.instances[idx]!;
      this.take(slot, inst);
      w.resolve(inst);
    }
    // Still waiting and nothing coming: start one more if the version may grow.
    if (slot.waiters.length > 0 && !slot.retired && slot.starting * conc < slot.waiters.length &&
        slot.instances.length + slot.starting < slot.version.spec.maxInstances) {
      this.startInBackground(slot);
    }
  }

  /**
   * What a new instance of the version will take: the most one of its instances measured (a
   * function that holds 48 MiB of WebAssembly memory takes it again), else the tier's estimate.
   */
  private expectedMb(slot: VersionSlot<I>): number {
    let most = 0;
    for (const i of slot.instances) if (i.state !== InstanceState.broken && i.footprintMb > most) most = i.footprintMb;
    return Math.max(most, this.factory.estimateMb(slot.version));
  }

  private makeRoom(expectMb: number): void {
    const { evict, fits } = pickEvictions(
      this.lruIdle(),
      { instances: this.totalInstances + this.totalStarting, memoryMb: this.usedMb + this.startingMb },
      { maxInstances: this.settings.maxTotalInstances, memoryMb: this.settings.memoryBudgetMb },
      { instances: 1, memoryMb: expectMb },
      (i) => this.evictable(i),
    );
    for (const i of evict) this.evict(i);
    if (!fits && this.totalInstances + this.totalStarting + 1 > this.settings.maxTotalInstances) {
      throw new HearthError('TooManyRequests', `the instance budget (${this.settings.maxTotalInstances}) is in use by busy or reserved instances`);
    }
    // The memory the instances measured (heap, WebAssembly memory, a container's use) is a bound
    // too, not only a reason to evict: with nothing idle left to evict, no instance is added to it.
    if (!fits) {
      throw new HearthError('TooManyRequests', `the memory budget (${this.settings.memoryBudgetMb} MiB) is in use by busy or reserved instances (${Math.round(this.usedMb)} MiB measured, ${Math.round(this.startingMb)} MiB starting)`);
    }
  }

  private enforceMemoryBudget(keep: I | null): void {
    if (this.usedMb <= this.settings.memoryBudgetMb) return;
    const { evict } = pickEvictions(
      this.lruIdle(),
      { instances: this.totalInstances, memoryMb: this.usedMb },
      { maxInstances: this.settings.maxTotalInstances, memoryMb: this.settings.memoryBudgetMb },
      { instances: 0, memoryMb: 0 },
      (i) => i !== keep && this.evictable(i),
    );
    for (const i of evict) this.evict(i);
  }

  /** Instances least recently used first. */
  private *lruIdle(): Generator<I> {
    for (const i of this.lru.rvalues()) if (i !== undefined) yield i;
  }

  private evictable(inst: I): boolean {
    const slot = this.slots.get(inst.digest);
    if (!slot || slot.retired) return true;
    return slot.instances.length > slot.version.spec.minInstances;
  }

  private evict(inst: I): void {
    this.evictions++;
    this.events.evicted?.('lru');
    this.remove(inst, 'evicted');
  }

  private remove(inst: I, reason: string): void {
    if (inst.state === InstanceState.disposed) return;
    const slot = this.slots.get(inst.digest);
    if (slot) {
      const idx = slot.instances.indexOf(inst);
      if (idx >= 0) {
        slot.instances.splice(idx, 1);
        this.totalInstances--;
        this.usedMb -= inst.footprintMb;
      }
      if (slot.retired && slot.instances.length === 0 && slot.starting === 0 && slot.waiters.length === 0) {
        this.slots.delete(inst.digest);
      }
    }
    this.lru.delete(inst.id);
    transition(inst, 'dispose');
    this.factory.dispose(inst, reason);
    log.debug({ function: slot?.version.name, version: inst.version, instance: inst.id, reason }, 'instance released');
  }

  /**
   * X-Hearth-Force-Cold: a fresh instance for this call, within maxInstances. At the limit, the
   * least recently used idle instance goes to make room; with none idle the call is refused.
   */
  private placeForcedCold(slot: VersionSlot<I>): 'start' | 'reject' {
    if (slot.instances.length + slot.starting < slot.version.spec.maxInstances) return 'start';
    let oldest: I | undefined;
    for (const i of slot.instances) {
      if (i.state === InstanceState.idle && i.inFlight === 0 && (oldest === undefined || i.lastUsedAt < oldest.lastUsedAt)) oldest = i;
    }
    if (oldest === undefined) return 'reject';
    this.remove(oldest, 'force-cold');
    return 'start';
  }
}
