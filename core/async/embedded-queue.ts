// The embedded queue: LMDB (the `lmdb` package) in <dataDir>/queue.
//
// Why LMDB: a copy-on-write B+tree that is crash-safe by construction (a commit is one fsync'd
// meta-page flip, so a kill -9 or power cut leaves the last committed state, never a torn one),
// no server, ordered keys for the secondary indexes below, and a Node binding that ships its
// binaries inside npm packages (@lmdb/lmdb-linux-x64 …; nothing is downloaded or compiled at
// install). lmdb-js also batches every write queued while one commit is in progress into the
// next transaction: the group commit that lets many concurrent enqueues share one fsync.
//
// Durability: opened with `overlappingSync: false`, so a write's promise resolves only once its
// transaction is committed and flushed to disk (LMDB's default sync commit); the 202 waits for it.
// Writes that must be atomic together (an outcome and the destination events it causes) are
// issued in one event-loop turn, which lmdb-js puts in one transaction.
//
// Layout: `events` (id → EventRecord, msgpack), `idem` ([function, key] → first id, body hash,
// expiry) and `index`, ordered keys: ['d', function, failedAt, id] dead letters,
// ['x', failedAt, function, id] the same dead letters by age (to expire), both with the dead
// letter's size (deadLetterBytes) as value, so the byte bounds are kept without reading a
// payload; ['f', finishedAt, id]
// finished successes (to expire), ['i', expiresAt, function, key] idempotency keys (to expire).
// What is due is kept in memory (a heap per bucket), rebuilt from `events` at open; so are the
// count and the payload bytes of pending events, and the bytes of each function's dead letters.
//
// Disk: a success is stored without its payload (nothing reads it again: only a dead letter can
// be redriven), and removed after the retention; a dead letter keeps its payload (for a redrive)
// until the dead-letter retention. The sweep that removes them walks only the ordered index, in
// batches, off the call path.

import { open, type Database, type RootDatabase } from 'lmdb';
import { HearthError } from '../errors.js';
import { log } from '../log.js';
import {
  closeInterrupted, DeadLetterDropLog, DEFAULT_DEAD_LETTER_BOUNDS, DEFAULT_DEAD_LETTER_RETENTION_MS, deadLetterBytes, isTerminal, QueueFull, redriven, startAttempt, sweepInterval,
  type DeadLetterBounds, type EnqueueOptions, type EnqueueResult, type EventRecord, type Queue, type QueueStats,
} from './queue.js';

interface IdemEntry { id: string; hash: string | null; expiresAt: number }
/** A dead letter as the index knows it. */
interface Dead { fn: string; at: number; id: string; size: number }
type IndexKey = (string | number)[];

/** At most how many expired records (of each kind) one sweep pass removes; a full batch is followed by another pass at once. */
const SWEEP_BATCH = 1_000;
const NO_BYTES = new Uint8Array(0);

export class EmbeddedQueue implements Queue {
  readonly kind = 'embedded' as const;
  private root!: RootDatabase;
  private events!: Database<EventRecord, string>;
  private idem!: Database<IdemEntry, string[]>;
  private index!: Database<number, IndexKey>;
  /** bucket → due events, earliest first. */
  private readonly due = new Map<string, DueHeap>();
  /** Queued and running events, plus enqueues in progress (what maxQueued bounds). */
  private pending = 0;
  /** Payload bytes of the pending events (what maxBytes bounds). */
  private pendingBytes = 0;
  private held = 0;
  private deadLettersExpired = 0;
  private deadLettersDropped = 0;
  private readonly dropLog = new DeadLetterDropLog();
  /** function → bytes its dead letters hold (stored, or being stored), and their sum. */
  private readonly deadBytes = new Map<string, number>();
  private deadBytesTotal = 0;
  /** Dead letters whose removal (a drop past the byte bounds, or expiry) is being written: not picked again. */
  private readonly removing = new Set<string>();
  /**
   * Events a redrive or discard is changing. lmdb-js shows a write to get() only once it is
   * committed, so the stored status alone cannot keep two overlapping redrives from both queueing
   * (and running) the same dead letter.
   */
  private readonly changing = new Set<string>();
  private waiter: (() => void) | null = null;
  /** Idempotency keys whose first event is being written: a second one waits for it. */
  private readonly keysInFlight = new Map<string, { hash: string | null; written: Promise<string> }>();
  private sweepTimer: NodeJS.Timeout | null = null;
  /** A sweep's write is in progress (the next pass waits for it, so none removes a key twice). */
  private sweeping = false;
  private closed = false;

  constructor(
    private readonly path: string,
    private readonly retentionMs: number,
    private readonly deadLetterRetentionMs: number = DEFAULT_DEAD_LETTER_RETENTION_MS,
    private readonly deadLetterBounds: DeadLetterBounds = DEFAULT_DEAD_LETTER_BOUNDS,
  ) {}

  async open(): Promise<void> {
    this.root = open({ path: this.path, overlappingSync: false, compression: false, maxDbs: 8 });
    this.events = this.root.openDB<EventRecord, string>({ name: 'events' });
    this.idem = this.root.openDB<IdemEntry, string[]>({ name: 'idem' });
    this.index = this.root.openDB<number, IndexKey>({ name: 'index' });
    const now = Date.now();
    const interrupted: EventRecord[] = [];
    const unindexed: Promise<boolean>[] = [];
    for (const { value: rec } of this.events.getRange()) {
      if (rec.status === 'failed') {
        // A dead letter stored before dead letters expired has no age key yet, and one stored
        // before they were bounded no size: both written now (open reads every record anyway).
        const size = deadLetterBytes(rec);
        this.addDead(rec.functionName, size);
        for (const k of this.deadLetterKeys(rec)) if (this.index.get(k) !== size) unindexed.push(this.index.put(k, size));
      }
      if (isTerminal(rec.status)) continue;
      if (rec.status === 'running') {
        closeInterrupted(rec, now, 'Hearth stopped while this attempt ran');
        rec.status = 'queued';
        rec.nextAttemptAt = now;
        interrupted.push(rec);
      }
      this.pending++;
      this.pendingBytes += rec.body.byteLength;
      this.push(rec);
    }
    if (unindexed.length > 0) await this.commit(unindexed);
    // Bounds lowered since the last run: kept from the start.
    await this.dropPastBounds([], [...this.deadBytes.keys()]);
    if (interrupted.length > 0) {
      await this.commit(interrupted.map((r) => this.events.put(r.id, r)));
      log.info({ events: interrupted.length }, 'async events that were running when Hearth stopped are queued again');
    }
    this.sweepTimer = setInterval(() => this.sweep(), sweepInterval(this.retentionMs, this.deadLetterRetentionMs));
    this.sweepTimer.unref();
  }

  async enqueue(rec: EventRecord, opts: EnqueueOptions): Promise<EnqueueResult> {
    if (this.closed) throw new HearthError('BackendUnavailable', 'the async queue is closed');
    const key = opts.idempotencyKey;
    const idemKey = key === undefined ? null : [rec.functionName, key];
    const flat = idemKey === null ? '' : `${rec.functionName}\0${key}`;
    const hash = opts.bodyHash ?? null;
    if (idemKey !== null) {
      const inFlight = this.keysInFlight.get(flat);
      if (inFlight) {
        sameBody(inFlight.hash, hash, key!);
        const id = await inFlight.written.catch((err: Error) => {
          throw new HearthError('BackendUnavailable', `the async queue could not store the event: ${err.message}`);
        });
        return { id, duplicate: true };
      }
      const seen = this.idem.get(idemKey);
      if (seen && seen.expiresAt > Date.now()) {
        sameBody(seen.hash, hash, key!);
        return { id: seen.id, duplicate: true };
      }
    }
    if (this.pending >= opts.maxQueued) {
      throw new QueueFull('events', `the async queue is full: ${this.pending} events are queued or running (--async-queue-size ${opts.maxQueued})`);
    }
    const bytes = rec.body.byteLength;
    if (opts.maxBytes !== undefined && this.pendingBytes + bytes > opts.maxBytes) {
      throw new QueueFull('bytes', `the async queue is full: the events queued or running hold ${this.pendingBytes} payload bytes, and this one (${bytes} bytes) would pass --async-queue-max-bytes ${opts.maxBytes}`);
    }
    this.pending++;
    this.pendingBytes += bytes;
    const expiresAt = Date.now() + opts.idempotencyWindowMs;
    const written = this.commit([
      this.events.put(rec.id, rec),
      ...(idemKey !== null ? [this.idem.put(idemKey, { id: rec.id, hash, expiresAt }), this.index.put(['i', expiresAt, ...idemKey], 1)] : []),
    ]).then(() => rec.id);
    if (idemKey !== null) this.keysInFlight.set(flat, { hash, written });
    try {
      await written;
    } catch (err) {
      this.pending--;
      this.pendingBytes -= bytes;
      log.error({ err: (err as Error).message }, 'could not write an async event');
      throw new HearthError('BackendUnavailable', `the async queue could not store the event: ${(err as Error).message}`);
    } finally {
      if (idemKey !== null) this.keysInFlight.delete(flat);
    }
    this.push(rec);
    this.wake();
    return { id: rec.id, duplicate: false };
  }

  async take(free: (bucket: string) => number, waitMs: number): Promise<EventRecord[]> {
    const now = Date.now();
    const out: EventRecord[] = [];
    let nextDue = Infinity;
    // Ids taken in this call: a heap may hold an id twice, and the running mark below is not
    // visible to get() until it is committed.
    const taken = new Set<string>();
    for (const [bucket, heap] of this.due) {
      let n: number | null = null; // free slots, asked once per bucket (it may be negative)
      while (heap.size > 0 && heap.peek()!.at <= now) {
        if (n === null) n = free(bucket);
        if (n <= 0) break;
        const id = heap.pop()!.id;
        if (taken.has(id) || this.changing.has(id)) continue; // a duplicate entry, or being redriven
        const rec = this.events.get(id);
        if (!rec || rec.status !== 'queued') continue; // taken or redriven twice, or discarded
        taken.add(id);
        startAttempt(rec, now);
        out.push(rec);
        n--;
      }
      if (heap.size === 0) this.due.delete(bucket);
      else if (heap.peek()!.at > now) nextDue = Math.min(nextDue, heap.peek()!.at);
    }
    if (out.length > 0) {
      this.held += out.length;
      // Stored as running before they run (one group commit per take): after a crash the record
      // shows the attempt that was cut, not an event that seems never to have started.
      try {
        await this.commit(out.map((r) => this.events.put(r.id, r)));
      } catch (err) {
        // Not stored: they stay queued, in memory as on disk.
        for (const r of out) {
          r.attempts.pop();
          r.status = 'queued';
          this.push(r);
        }
        this.held -= out.length;
        throw new Error(`could not mark async events running: ${(err as Error).message}`);
      }
      return out;
    }
    if (this.closed) return out;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, Math.max(1, Math.min(waitMs, nextDue - now)));
      function done() { clearTimeout(timer); resolve(); }
      this.waiter = done;
    });
    this.waiter = null;
    return out;
  }

  wake(): void {
    this.waiter?.();
  }

  async settle(rec: EventRecord, followUps: EventRecord[]): Promise<void> {
    const terminal = isTerminal(rec.status);
    const fresh: Dead[] = [rec, ...followUps].filter((r) => r.status === 'failed')
      .map((r) => ({ fn: r.functionName, at: r.finishedAt!, id: r.id, size: deadLetterBytes(r) }));
    try {
      // The new dead letters, and the ones they push past the byte bounds, in one write.
      await this.dropPastBounds(fresh, fresh.map((d) => d.fn), () => [
        // lmdb-js encodes a value when put() is called: the copy without the payload is not kept.
        this.events.put(rec.id, rec.status === 'succeeded' ? { ...rec, body: NO_BYTES } : rec),
        ...(rec.status === 'succeeded' ? [this.index.put(['f', rec.finishedAt!, rec.id], 1)] : []),
        ...followUps.map((f) => this.events.put(f.id, f)),
        ...fresh.flatMap((d) => deadKeys(d).map((k) => this.index.put(k, d.size))),
      ]);
    } finally {
      // Not stored (the disk failed): the stored record still says running or queued, and runs
      // again at the next start; this process lets it go rather than hold its slot forever.
      this.held--;
    }
    if (terminal) {
      this.pending--;
      this.pendingBytes -= rec.body.byteLength;
    } else this.push(rec);
    for (const f of followUps) {
      if (f.status !== 'queued') continue; // a dead letter from the start
      this.pending++;
      this.pendingBytes += f.body.byteLength;
      this.push(f);
    }
    this.wake();
  }

  async get(id: string): Promise<EventRecord | null> {
    return this.events.get(id) ?? null;
  }

  async deadLetters(functionName: string, limit: number): Promise<EventRecord[]> {
    const out: EventRecord[] = [];
    for (const key of this.index.getKeys({ start: ['d', functionName], end: ['d', functionName, Infinity], limit })) {
      const rec = this.events.get(String(key[3]));
      if (rec && rec.status === 'failed') out.push(rec);
    }
    return out;
  }

  async redrive(functionName: string, id: string, now: number): Promise<EventRecord | null> {
    if (this.changing.has(id) || this.removing.has(id)) return null; // another redrive, a discard, a drop or expiry of it is under way
    const rec = this.events.get(id);
    if (!rec || rec.status !== 'failed' || rec.functionName !== functionName) return null;
    const keys = this.deadLetterKeys(rec);
    const size = this.index.get(keys[0]!) ?? deadLetterBytes(rec);
    redriven(rec, now);
    this.changing.add(id);
    try {
      await this.commit([this.events.put(id, rec), ...keys.map((k) => this.index.remove(k))]);
    } finally {
      this.changing.delete(id);
    }
    this.subDead(functionName, size);
    this.pending++;
    this.pendingBytes += rec.body.byteLength;
    this.push(rec);
    this.wake();
    return rec;
  }

  async discard(functionName: string, id: string): Promise<boolean> {
    if (this.changing.has(id) || this.removing.has(id)) return false;
    const rec = this.events.get(id);
    if (!rec || rec.status !== 'failed' || rec.functionName !== functionName) return false;
    const keys = this.deadLetterKeys(rec);
    const size = this.index.get(keys[0]!) ?? deadLetterBytes(rec);
    this.changing.add(id);
    try {
      await this.commit([this.events.remove(id), ...keys.map((k) => this.index.remove(k))]);
    } finally {
      this.changing.delete(id);
    }
    this.subDead(functionName, size);
    return true;
  }

  async stats(): Promise<QueueStats> {
    return {
      pending: this.pending, held: this.held, bytes: this.pendingBytes, deadLettersExpired: this.deadLettersExpired,
      deadLetterBytes: this.deadBytesTotal, deadLettersDropped: this.deadLettersDropped,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.wake();
    await this.root.close();
  }

  /** A dead letter's index keys: by function (to list them), by age (to expire them). */
  private deadLetterKeys(rec: EventRecord): IndexKey[] {
    return deadKeys({ fn: rec.functionName, at: rec.finishedAt!, id: rec.id, size: 0 });
  }

  private addDead(fn: string, size: number): void {
    this.deadBytes.set(fn, (this.deadBytes.get(fn) ?? 0) + size);
    this.deadBytesTotal += size;
  }

  private subDead(fn: string, size: number): void {
    const left = (this.deadBytes.get(fn) ?? 0) - size;
    if (left > 0) this.deadBytes.set(fn, left);
    else this.deadBytes.delete(fn);
    this.deadBytesTotal -= size;
  }

  /**
   * Writes `write()` (new dead letters `fresh` among what it stores) together with the removal of
   * the dead letters they push past the byte bounds, in one transaction: past the per-function
   * bound the oldest of the functions in `storing`; past the total, the oldest of the function
   * holding the most (the storing one on a tie). Picked from the index, whose values are the sizes,
   * so no payload is read; a new dead letter is a candidate too (the newest of its function), so one
   * larger than the per-function bound is not kept.
   */
  private async dropPastBounds(fresh: Dead[], storing: string[], write: () => Promise<boolean>[] = () => []): Promise<void> {
    for (const d of fresh) this.addDead(d.fn, d.size);
    const drops: Dead[] = [];
    // One cursor per function, oldest first, read on as its dead letters are dropped (not a scan
    // from the start per drop: dropping k would read k²/2 keys).
    const removing = this.removing;
    const changing = this.changing;
    const index = this.index;
    function* candidates(fn: string): Generator<Dead> {
      for (const { key, value } of index.getRange({ start: ['d', fn], end: ['d', fn, Infinity] })) {
        const id = String(key[3]);
        if (removing.has(id) || changing.has(id)) continue;
        yield { fn, at: Number(key[2]), id, size: value };
      }
      for (const d of fresh) if (d.fn === fn && !removing.has(d.id)) yield d;
    }
    const cursors = new Map<string, Generator<Dead>>();
    const oldest = (fn: string): Dead | null => {
      let c = cursors.get(fn);
      if (c === undefined) cursors.set(fn, (c = candidates(fn)));
      const next = c.next();
      return next.done === true ? null : next.value;
    };
    const drop = (d: Dead) => {
      this.removing.add(d.id);
      this.subDead(d.fn, d.size);
      drops.push(d);
    };
    for (const fn of new Set(storing)) {
      while ((this.deadBytes.get(fn) ?? 0) > this.deadLetterBounds.perFunction) {
        const d = oldest(fn);
        if (d === null) break; // what remains is being written: the next store sees it
        drop(d);
      }
    }
    while (this.deadBytesTotal > this.deadLetterBounds.total) {
      let fn = storing[0] ?? '';
      let most = this.deadBytes.get(fn) ?? 0;
      for (const [f, b] of this.deadBytes) if (b > most) [fn, most] = [f, b];
      const d = oldest(fn);
      if (d === null) break;
      drop(d);
    }
    for (const c of cursors.values()) c.return(undefined); // the index's read cursors, closed before any await
    const ops = write(); // first: a new dead letter dropped at once is put, then removed, in the same transaction
    for (const d of drops) ops.push(this.events.remove(d.id), ...deadKeys(d).map((k) => this.index.remove(k)));
    try {
      if (ops.length > 0) await this.commit(ops);
    } catch (err) {
      for (const d of drops) this.addDead(d.fn, d.size);
      for (const d of fresh) this.subDead(d.fn, d.size);
      throw err;
    } finally {
      for (const d of drops) this.removing.delete(d.id);
    }
    if (drops.length > 0) {
      this.deadLettersDropped += drops.length;
      this.dropLog.note(drops.length, drops.map((d) => d.fn));
    }
  }

  /**
   * Removes successes and dead letters past their retentions, and expired idempotency keys. Reads
   * only the ordered index (a dead letter's age key exists exactly while it is one: a redrive or a
   * discard removes it in the same write), at most SWEEP_BATCH of each kind per pass; a pass that
   * found a full batch runs again once its write is done.
   */
  private sweep(): void {
    if (this.closed || this.sweeping) return;
    const now = Date.now();
    const finished = [...this.index.getKeys({ start: ['f'], end: ['f', now - this.retentionMs], limit: SWEEP_BATCH })];
    const dead = [...this.index.getRange({ start: ['x'], end: ['x', now - this.deadLetterRetentionMs], limit: SWEEP_BATCH })];
    const keys = [...this.index.getKeys({ start: ['i'], end: ['i', now], limit: SWEEP_BATCH })];
    if (finished.length === 0 && dead.length === 0 && keys.length === 0) return;
    const ops: Promise<boolean>[] = [];
    for (const k of finished) {
      const id = String(k[2]);
      if (this.events.get(id)?.status === 'succeeded') ops.push(this.events.remove(id));
      ops.push(this.index.remove(k));
    }
    const expired: Dead[] = [];
    for (const { key: k, value: size } of dead) {
      const id = String(k[3]);
      if (this.changing.has(id) || this.removing.has(id)) continue; // being redriven, discarded or dropped: that write removes the key
      const d = { fn: String(k[2]), at: Number(k[1]), id, size };
      ops.push(this.events.remove(id), ...deadKeys(d).map((key) => this.index.remove(key)));
      this.removing.add(id);
      this.subDead(d.fn, size);
      expired.push(d);
    }
    for (const k of keys) {
      const idemKey = [String(k[2]), String(k[3])];
      if (this.idem.get(idemKey)?.expiresAt === k[1]) ops.push(this.idem.remove(idemKey));
      ops.push(this.index.remove(k));
    }
    this.sweeping = true;
    this.commit(ops).then(() => {
      this.deadLettersExpired += expired.length;
      if (expired.length > 0) log.info({ deadLetters: expired.length }, 'async dead letters past their retention removed');
    }, (err: Error) => {
      for (const d of expired) this.addDead(d.fn, d.size);
      log.error({ err: err.message }, 'could not expire async records');
    }).finally(() => {
      for (const d of expired) this.removing.delete(d.id);
      this.sweeping = false;
      if (finished.length === SWEEP_BATCH || dead.length === SWEEP_BATCH || keys.length === SWEEP_BATCH) setImmediate(() => this.sweep());
    });
  }

  /**
   * The writes issued in one turn of the event loop (the `ops` passed here are made in the caller's
   * turn) go into one LMDB transaction: lmdb-js commits everything queued in a turn together,
   * atomically. Resolves once that commit is on disk. (Not `transaction(callback)`: its callbacks
   * run on the main thread in step with the write thread, which under load serialised commits on
   * event-loop turns: ~150 events/s over HTTP.)
   */
  private async commit(ops: Promise<boolean>[]): Promise<void> {
    await Promise.all(ops);
  }

  private push(rec: EventRecord): void {
    let heap = this.due.get(rec.bucket);
    if (!heap) this.due.set(rec.bucket, (heap = new DueHeap()));
    heap.push({ at: rec.nextAttemptAt, order: rec.enqueuedAt, id: rec.id });
  }
}

function deadKeys(d: Dead): IndexKey[] {
  return [['d', d.fn, d.at, d.id], ['x', d.at, d.fn, d.id]];
}

function sameBody(first: string | null, now: string | null, key: string): void {
  if (first !== null && now !== null && first !== now) {
    throw new HearthError('Conflict', `Idempotency-Key "${key}" was used for another payload within the idempotency window`);
  }
}

interface Due { at: number; order: number; id: string }

/** A binary min-heap of due events: earliest due first, then first accepted. */
class DueHeap {
  private readonly a: Due[] = [];
  get size(): number { return this.a.length; }
  peek(): Due | undefined { return this.a[0]; }
  push(d: Due): void {
    const a = this.a;
    a.push(d);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }
  pop(): Due | undefined {
    const a = this.a;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < a.length && before(a[l]!, a[m]!)) m = l;
        if (r < a.length && before(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

function before(x: Due, y: Due): boolean {
  return x.at < y.at || (x.at === y.at && x.order < y.order);
}
