// InstancePool with a fake factory (a small collaborator): queueing, start failures, draining.
import { afterEach, describe, expect, it } from 'vitest';
import type { FunctionVersion } from '../core/backend.js';
import { newCall, SUPERSEDED, type CallRequest } from '../core/call.js';
import { InstancePool, type Acquired, type InstanceFactory } from './instance-pool.js';
import { InstanceState, transition } from './lifecycle.js';
import type { PooledInstance } from './pool-member.js';

const version = (digest: string, over: Partial<FunctionVersion['spec']> = {}): FunctionVersion => ({
  name: 'f', version: '$LATEST', digest, codeDigest: 'c', runtime: 'js', handler: 'index.handler', exportName: 'handler', imageId: null, createdAt: '',
  spec: { runtime: 'js', handler: 'index.handler', env: {}, memoryMb: 128, timeoutMs: 1000, concurrency: 1, minInstances: 0, maxInstances: 1, keepAliveMs: 1000, ...over } as FunctionVersion['spec'],
});
const inv = (forceCold = false): CallRequest => newCall({ requestId: 'r', functionName: 'f', source: 'v1', body: new ArrayBuffer(0), reqEnc: 0, resEnc: 0, forceCold: forceCold ? 'fresh' : 'no' });

type Got = PooledInstance | Promise<Acquired<PooledInstance>> | typeof SUPERSEDED;
/** What acquire() gave: the instance, and what it cost (a warm one: nothing). */
async function acquired(g: Got): Promise<Acquired<PooledInstance>> {
  if (g === SUPERSEDED) throw new Error('superseded');
  return g instanceof Promise ? g : { inst: g, cold: false, coldStart: null, initMs: 0, queueMs: 0 };
}
const instance = async (g: Got): Promise<PooledInstance> => (await acquired(g)).inst;

class Fake implements InstanceFactory<PooledInstance> {
  made: PooledInstance[] = [];
  disposed: string[] = [];
  fail: unknown = null;
  n = 0;
  async create(v: FunctionVersion): Promise<PooledInstance> {
    await new Promise((r) => setTimeout(r, 5));
    if (this.fail) throw this.fail;
    const i = { id: `x${++this.n}`, digest: v.digest, version: v.version, state: InstanceState.initializing, inFlight: 0, callsServed: 0, createdAt: 0, lastUsedAt: 0, footprintMb: 1 } as PooledInstance;
    this.made.push(i);
    return i;
  }
  dispose(i: PooledInstance, reason: string) { this.disposed.push(`${i.id}:${reason}`); }
  estimateMb() { return 1; }
}

const settings = { maxTotalInstances: 10, memoryBudgetMb: 1000, waitQueueSize: 2, waitQueueTimeoutMs: 200, scaleUpThreshold: 0.8, scaleDownThreshold: 0.5, scaleDownDelayMs: 100, sweepIntervalMs: 10_000 };
let pool: InstancePool<PooledInstance>;
afterEach(() => pool?.close());

describe('InstancePool', () => {
  it('a cold start, then warm; a waiting call gets the instance when it is released', async () => {
    const f = new Fake();
    pool = new InstancePool(f, settings);
    const v = version('a');
    const first = await acquired(pool.acquire(v, inv()));
    expect(first.cold).toBe(true);
    const a = first.inst;
    const waiting = pool.acquire(v, inv());
    expect(waiting).toBeInstanceOf(Promise);
    pool.release(a);
    const second = await acquired(waiting);
    expect(second.inst).toBe(a);
    expect(second.cold).toBe(false);
    pool.release(a);
    expect(pool.acquire(v, inv())).toBe(a);
  });

  it('a full queue rejects with 429, a long wait with QueueTimeout', async () => {
    const f = new Fake();
    pool = new InstancePool(f, settings);
    const v = version('b');
    await instance(pool.acquire(v, inv()));
    const w1 = pool.acquire(v, inv()) as Promise<unknown>;
    const w2 = pool.acquire(v, inv()) as Promise<unknown>;
    expect(() => pool.acquire(v, inv())).toThrow(expect.objectContaining({ status: 429, type: 'TooManyRequests' }));
    await expect(w1).rejects.toMatchObject({ status: 429, type: 'QueueTimeout' });
    await expect(w2).rejects.toMatchObject({ type: 'QueueTimeout' });
  });

  it('a start that fails fails the calls waiting on it', async () => {
    const f = new Fake();
    f.fail = new Error('init broke');
    pool = new InstancePool(f, settings);
    const v = version('c', { concurrency: 4 });
    const first = pool.acquire(v, inv()) as Promise<unknown>;
    const second = pool.acquire(v, inv()) as Promise<unknown>;
    await expect(first).rejects.toThrow('init broke');
    await expect(second).rejects.toThrow('init broke');
  });

  it('a retired version finishes what it holds, then its instances go', async () => {
    const f = new Fake();
    pool = new InstancePool(f, settings);
    const v = version('d', { maxInstances: 2 });
    const busy = await instance(pool.acquire(v, inv()));
    const idle = await instance(pool.acquire(v, inv()));
    pool.release(idle);
    pool.retire('d');
    expect(f.disposed).toEqual([`${idle.id}:retired`]);
    expect(busy.state).toBe(InstanceState.draining);
    pool.release(busy);
    expect(f.disposed).toEqual([`${idle.id}:retired`, `${busy.id}:drained`]);
    expect(pool.peek('d')).toBeUndefined();
  });

  it('a replaced version with no warm instance answers SUPERSEDED (the dispatcher resolves again), not an error', async () => {
    const f = new Fake();
    pool = new InstancePool(f, settings);
    const life = { retired: false };
    const v = { ...version('g'), lifecycle: life };
    const a = await instance(pool.acquire(v, inv()));
    pool.release(a);
    life.retired = true; // redeployed: the registry marks the digest's lifecycle
    expect(pool.acquire(v, inv())).toBe(a); // a warm one still serves what already resolved to it
    pool.release(a);
    pool.retire('g');
    expect(pool.acquire(v, inv())).toBe(SUPERSEDED);
  });

  it('an instance the tier finds dead underneath (check) gets no call: it is broken at once and replaced', async () => {
    const f = new Fake();
    const gone = new Set<string>();
    // As an isolate V8 disposed for its memory limit before the call that did it has its answer.
    const checked = Object.assign(f, { check: (i: PooledInstance) => { if (!gone.has(i.id)) return true; if (i.state !== 'broken') transition(i, 'break'); return false; } });
    pool = new InstancePool(checked, settings);
    const v = version('h', { concurrency: 4, maxInstances: 2 });
    const a = await instance(pool.acquire(v, inv()));
    gone.add(a.id);
    const next = await acquired(pool.acquire(v, inv()));
    expect(next.inst).not.toBe(a);
    expect(next.cold).toBe(true);
    expect(a.state).toBe(InstanceState.broken);
    pool.release(a);
    expect(f.disposed).toEqual([`${a.id}:broken`]);
  });

  it('an instance that died between loading its code and joining the pool is a failed start, not a pooled one', async () => {
    const f = new Fake();
    const create = f.create.bind(f);
    f.create = async (v) => { const i = await create(v); transition(i, 'break'); return i; };
    pool = new InstancePool(f, settings);
    const v = version('k');
    await expect(acquired(pool.acquire(v, inv()))).rejects.toMatchObject({ type: 'InstanceFailed' });
    expect(f.disposed).toEqual(['x1:broken']);
    expect(pool.peek('k')?.instances ?? []).toEqual([]);
  });

  it('a broken instance is replaced by the next call', async () => {
    const f = new Fake();
    pool = new InstancePool(f, settings);
    const v = version('e');
    const a = await instance(pool.acquire(v, inv()));
    transition(a, 'break');
    pool.release(a);
    expect(f.disposed).toEqual([`${a.id}:broken`]);
    expect(a.state).toBe(InstanceState.disposed);
    const b = await acquired(pool.acquire(v, inv()));
    expect(b.inst).not.toBe(a);
    expect(b.cold).toBe(true);
  });

  it('keeps its memory total in step with what the factory measures, and back to 0 when the instances go', async () => {
    const f = new Fake();
    const now: Record<string, number> = {};
    // measure() reports without touching footprintMb: the pool moves the figure in (as both tiers do).
    const measured = Object.assign(f, { measure: (i: PooledInstance) => now[i.id] ?? i.footprintMb });
    pool = new InstancePool(measured, settings);
    const v = version('m', { maxInstances: 3, keepAliveMs: 0 });
    const held = [await instance(pool.acquire(v, inv())), await instance(pool.acquire(v, inv())), await instance(pool.acquire(v, inv()))];
    expect(pool.stats(0).memoryMb).toBe(3);
    for (const i of held) { now[i.id] = 20; pool.release(i); }
    pool.sweep(-1); // measures, and releases nothing yet (nothing is idle past its keepalive at t = -1)
    expect(pool.stats(0).memoryMb).toBe(60);
    for (const i of held) now[i.id] = 30;
    pool.sweep(-1);
    expect(pool.stats(0).memoryMb).toBe(60); // none has run since it was measured: none is asked again
    const again = pool.acquire(v, inv()) as PooledInstance; // one serves a call
    pool.release(again);
    pool.sweep(-1);
    expect(pool.stats(0).memoryMb).toBe(70); // only that one was measured again
    pool.sweep(performance.now() + 1_000); // keepalive 0: all go
    expect(pool.stats(0).memoryMb).toBe(0);
  });

  it('an instance idle past idleReleaseMs gives back its unused memory once an idle period, one instance at a time, and is measured again after', async () => {
    const f = new Fake();
    const releasing: PooledInstance[] = [];
    const finish: (() => void)[] = [];
    let measures = 0;
    const factory = Object.assign(f, {
      measure: (i: PooledInstance) => { measures++; return i.footprintMb; },
      releaseIdle: (i: PooledInstance) => { releasing.push(i); return new Promise<boolean>((r) => finish.push(() => r(true))); },
    });
    pool = new InstancePool(factory, { ...settings, scaleDownThreshold: 0, idleReleaseMs: 500 });
    const v = version('r', { maxInstances: 3, keepAliveMs: 60_000 });
    const [a, b, c] = [await instance(pool.acquire(v, inv())), await instance(pool.acquire(v, inv())), await instance(pool.acquire(v, inv()))];
    pool.release(a);
    pool.release(b);
    // c stays busy. Not idle long enough yet: nothing.
    pool.sweep(a.lastUsedAt + 100);
    expect(releasing).toEqual([]);
    const later = Math.max(a.lastUsedAt, b.lastUsedAt) + 600;
    pool.sweep(later);
    expect(releasing).toEqual([a]); // one at a time
    pool.sweep(later + 1);
    expect(releasing).toEqual([a]); // a is not queued again; b waits for a
    const m0 = measures;
    finish.shift()!();
    await new Promise((r) => setImmediate(r));
    expect(releasing).toEqual([a, b]);
    finish.shift()!();
    await new Promise((r) => setImmediate(r));
    expect(pool.stats(0).idleReleases).toBe(2);
    pool.sweep(later + 2);
    expect(measures).toBe(m0 + 2); // both measured again after their release
    expect(releasing).toEqual([a, b]); // idle since, with no call: not again
    // a serves a call: after another idle period it is released again; b, idle since, is not.
    expect(pool.acquire(v, inv())).toBe(a);
    pool.release(a);
    pool.sweep(a.lastUsedAt + 600);
    expect(releasing).toEqual([a, b, a]);
    finish.shift()!();
    pool.release(c);
  });

  it('past the memory budget by what it measured, the sweep evicts idle instances least recently used first; with none idle, a start is refused 429', async () => {
    const f = new Fake();
    const now: Record<string, number> = {};
    const measured = Object.assign(f, { measure: (i: PooledInstance) => now[i.id] ?? i.footprintMb });
    pool = new InstancePool(measured, { ...settings, memoryBudgetMb: 100 });
    const v = version('b', { maxInstances: 3 });
    const a = await instance(pool.acquire(v, inv()));
    const b = await instance(pool.acquire(v, inv()));
    pool.release(a);
    pool.release(b);
    now[a.id] = 60; now[b.id] = 100; // what they took while they ran (e.g. WebAssembly memory)
    pool.sweep(-1);
    expect(f.disposed).toEqual([`${a.id}:evicted`]);
    expect(pool.stats(0).memoryMb).toBe(100);
    expect(pool.acquire(v, inv())).toBe(b); // busy now: nothing idle to evict
    await expect(acquired(pool.acquire(v, inv()))).rejects.toMatchObject({ type: 'TooManyRequests', message: expect.stringContaining('memory budget') });
    pool.release(b);
    // b idle again: a new start evicts it to make room.
    const c = await acquired(pool.acquire(version('c'), inv()));
    expect(c.cold).toBe(true);
    expect(f.disposed).toEqual([`${a.id}:evicted`, `${b.id}:evicted`]);
  });

  it('scales up past the threshold, packs calls, and releases the surplus once the load drops, the last one at its keepalive', async () => {
    const f = new Fake();
    pool = new InstancePool(f, settings);
    // Concurrency 4 at threshold 0.8: 3 calls an instance before the next gets any.
    const v = version('s', { concurrency: 4, maxInstances: 3, keepAliveMs: 1_000 });
    const held: PooledInstance[] = [await instance(pool.acquire(v, inv()))];
    for (let i = 0; i < 2; i++) held.push(pool.acquire(v, inv()) as PooledInstance);
    expect(new Set(held).size).toBe(1); // packed on the first
    expect(pool.peek('s')!.starting).toBe(0);
    held.push(pool.acquire(v, inv()) as PooledInstance); // 4 > 0.8 × 4: one more starts ahead of demand
    expect(pool.peek('s')!.starting).toBe(1);
    await new Promise((r) => setTimeout(r, 20));
    const [first, second] = pool.peek('s')!.instances;
    held.push(pool.acquire(v, inv()) as PooledInstance); // the first is full to its pack limit: the new one
    expect(held.at(-1)).toBe(second);
    for (const i of held) pool.release(i);
    // A trickle: every call goes to the first; the second stays idle.
    for (let i = 0; i < 3; i++) pool.release(pool.acquire(v, inv()) as PooledInstance);
    expect(second!.callsServed).toBe(1);
    const t = second!.lastUsedAt;
    pool.sweep(t + 50); // not idle for scaleDownDelayMs yet
    expect(pool.peek('s')!.instances).toHaveLength(2);
    first!.lastUsedAt = t + 500; // the trickle went on
    pool.sweep(t + 600);
    expect(f.disposed).toEqual([`${second!.id}:scale-down`]);
    pool.sweep(t + 1_400); // the last one: not before its keepalive …
    expect(pool.peek('s')!.instances).toEqual([first]);
    // … then it goes too (1 ms past: t is a fractional performance.now(), and (t + 1500) - (t + 500)
    // can come out a hair under 1000 in floating point, which failed a CI run)
    pool.sweep(t + 1_501);
    expect(f.disposed).toEqual([`${second!.id}:scale-down`, `${first!.id}:keepalive`]);
  });

  it('a reserved instance that breaks is replaced at once, without a call', async () => {
    const f = new Fake();
    pool = new InstancePool(f, settings);
    const v = version('r', { minInstances: 1, maxInstances: 2 });
    pool.reserve(v);
    await new Promise((r) => setTimeout(r, 20));
    const [a] = pool.peek('r')!.instances;
    // Broken while idle (e.g. its container was killed): the backend drops it, a new one starts.
    transition(a!, 'break');
    pool.dropBroken('exited');
    expect(f.disposed).toEqual([`${a!.id}:exited`]);
    expect(pool.peek('r')!.starting).toBe(1);
    await new Promise((r) => setTimeout(r, 20));
    const [b] = pool.peek('r')!.instances;
    expect(b!.state).toBe(InstanceState.idle);
    // Broken by a call (out of memory): replaced when that call ends.
    const got = pool.acquire(v, inv()) as PooledInstance;
    expect(got).toBe(b);
    transition(b!, 'break');
    pool.release(b!);
    expect(pool.peek('r')!.starting).toBe(1);
    await new Promise((r) => setTimeout(r, 20));
    expect(pool.peek('r')!.instances.map((i) => i.state)).toEqual([InstanceState.idle]);
    // Broken while idle and nobody told: the sweep finds it.
    const [c] = pool.peek('r')!.instances;
    transition(c!, 'break');
    pool.sweep();
    expect(f.disposed.at(-1)).toBe(`${c!.id}:broken`);
    expect(pool.peek('r')!.starting).toBe(1);
  });

  it('a forced cold start stays within maxInstances: an idle instance makes room, or the call is refused', async () => {
    const f = new Fake();
    pool = new InstancePool(f, settings);
    const v = version('f', { maxInstances: 1 });
    const a = await instance(pool.acquire(v, inv()));
    pool.release(a);
    const forced = await acquired(pool.acquire(v, inv(true)));
    expect(forced.cold).toBe(true);
    const b = forced.inst;
    expect(b).not.toBe(a);
    expect(f.disposed).toEqual([`${a.id}:force-cold`]);
    expect(pool.peek('f')!.instances).toEqual([b]);
    // b is busy: no room for another fresh one.
    expect(() => pool.acquire(v, inv(true))).toThrow(expect.objectContaining({ status: 429, type: 'TooManyRequests' }));
  });
  it('X-Hearth-Force-Cold: scratch asks the factory for an instance from scratch (only for a forced start), and the acquire says where it came from', async () => {
    class Reserving extends Fake {
      asked: boolean[] = [];
      override async create(v: FunctionVersion, _rid = '', scratch = false): Promise<PooledInstance> {
        this.asked.push(scratch);
        const i = await super.create(v);
        return Object.assign(i, { startedFrom: scratch ? 'scratch' : 'reserve' });
      }
    }
    const f = new Reserving();
    pool = new InstancePool(f, settings);
    const v = version('s', { maxInstances: 3 });
    const scratchOnly = (forceCold: boolean) => newCall({ requestId: 'r', functionName: 'f', source: 'v1', body: new ArrayBuffer(0), reqEnc: 0, resEnc: 0, forceCold: forceCold ? 'scratch' : 'no' });
    // Not forced: an ordinary cold start, from the reserve.
    const a = await acquired(pool.acquire(v, scratchOnly(false)));
    expect([a.cold, a.coldStart]).toEqual([true, 'reserve']);
    const b = await acquired(pool.acquire(v, scratchOnly(true)));
    expect([b.cold, b.coldStart]).toEqual([true, 'scratch']);
    const c = await acquired(pool.acquire(v, inv(true)));
    expect([c.cold, c.coldStart]).toEqual([true, 'reserve']);
    expect(f.asked).toEqual([false, true, false]);
    // A warm one: no cold start to tell of.
    pool.release(a.inst);
    expect(pool.acquire(v, inv())).toBe(a.inst);
  });

  it('a call that never reached its instance (factory.undelivered) is sent once more, to another; a second such failure is the call\'s', async () => {
    const undelivered = new Error('connection refused');
    /** Instances whose call fails as never delivered (and which are broken by then, as a tier does). */
    const dead = new Set<string>();
    class Calling extends Fake {
      calls: string[] = [];
      undelivered = (err: unknown) => err === undelivered;
      override async create(v: FunctionVersion): Promise<PooledInstance> {
        const i = await super.create(v) as PooledInstance & { call(r: CallRequest): Promise<ArrayBuffer> };
        i.call = async () => {
          this.calls.push(i.id);
          if (dead.has(i.id)) { transition(i, 'break'); throw undelivered; }
          return new TextEncoder().encode(i.id).buffer as ArrayBuffer;
        };
        return i;
      }
    }
    const f = new Calling();
    const callable = new InstancePool(f, settings) as unknown as InstancePool<PooledInstance & { call(r: CallRequest): Promise<ArrayBuffer> }>;
    pool = callable as unknown as InstancePool<PooledInstance>;
    const v = version('u', { maxInstances: 2 });
    const first = await callable.serve(v, inv());
    expect(first === SUPERSEDED ? null : new TextDecoder().decode(first.result!)).toBe('x1');
    // x1 died unseen: the call goes to a fresh x2; x1 is gone.
    dead.add('x1');
    const second = await callable.serve(v, inv());
    expect(second === SUPERSEDED ? null : { error: second.error, result: new TextDecoder().decode(second.result!) }).toEqual({ error: null, result: 'x2' });
    expect(f.calls).toEqual(['x1', 'x1', 'x2']);
    expect(f.disposed).toContain('x1:broken');
    expect(pool.resent).toBe(1);
    // Both attempts on dead instances: sent once more only, then the call fails.
    dead.add('x2');
    dead.add('x3');
    const third = await callable.serve(v, inv());
    expect(third === SUPERSEDED ? null : third.error?.errorMessage).toBe('connection refused');
    expect(f.calls).toEqual(['x1', 'x1', 'x2', 'x2', 'x3']);
    expect(pool.resent).toBe(2);
  });
});
