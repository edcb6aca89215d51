// The distributed queue: Redis Streams, shared by every replica pointed at the same Redis
// (`--queue redis --queue-url redis://host:6379/0`).
//
// - Each bucket (a function, or URL deliveries) is a stream `<p>:s:<bucket>` with one consumer
//   group; a replica reads with XREADGROUP only the buckets where it has free slots, so one
//   function's backlog never holds up another's.
// - An event's record is a JSON string `<p>:ev:<id>`; the stream entry only names it.
// - A replica holds what it read in the group's pending list and refreshes it (XCLAIM … JUSTID)
//   while it runs. Entries idle longer than the claim timeout, i.e. held by a replica that died,
//   are taken over by another with XAUTOCLAIM; their open attempt is recorded as interrupted.
//   The taker marks an event running only if its entry is still there and its record has not
//   changed since it read it (a compare-and-set in Lua), so a stalled holder that comes back and
//   stores an outcome in between is not overridden. One that comes back later, while the taker
//   runs the event, finds the record changed and drops its outcome: the event ran twice (at
//   least once, as for a kill) and the taker's run settles it.
// - Each process is a consumer of its own (host name, pid, random bytes), so a restarted replica
//   never inherits what its previous run held (that is taken over like a dead replica's). At close
//   it leaves each group where it holds nothing (LEAVE); a replica that was killed stays in them,
//   holding nothing once its entries were taken over.
// - An attempt's outcome is one Lua script: the record, XACK + XDEL of the entry, and a retry in
//   the sorted set `<p>:delayed` (moved back into its stream when due, by whichever replica looks
//   first, atomically in Lua), or the dead-letter set `<p>:dead:<function>`, plus the events it
//   causes. So an event that succeeded is never handed out again.
// - Enqueue is one Lua script: idempotency key check, the bounds on pending events and on their
//   payload bytes (two counters), the record, XADD.
// - A success is stored without its payload and expires (PX) after the retention; a dead letter
//   keeps its payload (for a redrive) until the dead-letter retention, when a periodic sweep (a
//   Lua script per function with dead letters, a bounded batch each) removes it.
// - Dead letters are bounded in bytes: each one's size (deadLetterBytes) is kept in a hash beside
//   it (`<p>:dlsize:<function>`), with the sum per function (`<p>:deadbytes`) and in all
//   (`<p>:deadBytesTotal`); the script that stores a dead letter removes, in the same atomic step,
//   those it pushes past the bounds (see DeadLetterBounds). Every removal goes through dlRemove,
//   whose ZREM decides, so replicas never remove (or count) one twice.
//
// Durability is Redis's: run it with `appendonly yes` and `appendfsync always` for a 202 to mean
// "on disk" (the tests do); `everysec` can lose the last second on a power cut. Not for Redis
// Cluster (the scripts touch keys of several slots).

import { hostname } from 'node:os';
import { createHash, randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { HearthError } from '../errors.js';
import { log } from '../log.js';
import {
  closeInterrupted, DeadLetterDropLog, DEFAULT_DEAD_LETTER_BOUNDS, DEFAULT_DEAD_LETTER_RETENTION_MS, deadLetterBytes, isTerminal, QueueFull, redriven, startAttempt, sweepInterval,
  type DeadLetterBounds, type EnqueueOptions, type EnqueueResult, type EventRecord, type Queue, type QueueStats,
} from './queue.js';

const GROUP = 'hearth';

/**
 * Dead-letter bookkeeping shared by the scripts (p: the key prefix). dlRemove takes one dead
 * letter of fn out of its set (and its record unless keep), its size out of the sums; false if it
 * was not one (any more). dlEnforce removes what passes the bounds after fn stored one: fn's
 * oldest past perFn, then the oldest of the function holding the most (fn on a tie) past total;
 * the number removed. A size never recorded (a dead letter older than the bounds, before open()
 * recorded it) counts 0, as it does in the sums.
 */
const DL_LIB = `
local function dlAdd(p, fn, id, at, size)
  redis.call('ZADD', p .. ':dead:' .. fn, at, id)
  redis.call('HSET', p .. ':dlsize:' .. fn, id, size)
  redis.call('HINCRBY', p .. ':deadbytes', fn, size)
  redis.call('INCRBY', p .. ':deadBytesTotal', size)
  redis.call('SADD', p .. ':deadfns', fn)
end
local function dlRemove(p, fn, id, keep)
  if redis.call('ZREM', p .. ':dead:' .. fn, id) == 0 then return false end
  local size = tonumber(redis.call('HGET', p .. ':dlsize:' .. fn, id) or '0')
  redis.call('HDEL', p .. ':dlsize:' .. fn, id)
  if not keep then redis.call('DEL', p .. ':ev:' .. id) end
  redis.call('INCRBY', p .. ':deadBytesTotal', -size)
  if redis.call('ZCARD', p .. ':dead:' .. fn) == 0 then
    redis.call('SREM', p .. ':deadfns', fn)
    redis.call('HDEL', p .. ':deadbytes', fn)
  else
    redis.call('HINCRBY', p .. ':deadbytes', fn, -size)
  end
  return true
end
local function dlEnforce(p, fn, perFn, total)
  local n = 0
  while tonumber(redis.call('HGET', p .. ':deadbytes', fn) or '0') > perFn do
    local o = redis.call('ZRANGE', p .. ':dead:' .. fn, 0, 0)
    if #o == 0 or not dlRemove(p, fn, o[1], false) then break end
    n = n + 1
  end
  while tonumber(redis.call('GET', p .. ':deadBytesTotal') or '0') > total do
    local best, most = fn, tonumber(redis.call('HGET', p .. ':deadbytes', fn) or '0')
    local all = redis.call('HGETALL', p .. ':deadbytes')
    for i = 1, #all, 2 do
      local b = tonumber(all[i + 1])
      if b > most then best, most = all[i], b end
    end
    local o = redis.call('ZRANGE', p .. ':dead:' .. best, 0, 0)
    if #o == 0 or not dlRemove(p, best, o[1], false) then break end
    n = n + 1
  end
  return n
end
`;
/** Longest a take() blocks in XREADGROUP (a bucket whose slot frees meanwhile waits this long). */
const BLOCK_MS = 100;
/** How often due retries are moved back into their streams. */
const PROMOTE_MS = 100;

const ENQUEUE = `
if KEYS[4] ~= '' then
  local seen = redis.call('GET', KEYS[4])
  if seen then return {'dup', seen} end
end
local n = tonumber(redis.call('GET', KEYS[3]) or '0')
if n >= tonumber(ARGV[3]) then return {'full', tostring(n)} end
local b = math.max(0, tonumber(redis.call('GET', KEYS[6]) or '0'))
if tonumber(ARGV[8]) >= 0 and b + tonumber(ARGV[7]) > tonumber(ARGV[8]) then return {'fullbytes', tostring(b)} end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('XADD', KEYS[2], '*', 'id', ARGV[2])
redis.call('INCR', KEYS[3])
redis.call('INCRBY', KEYS[6], ARGV[7])
redis.call('SADD', KEYS[5], ARGV[6])
if KEYS[4] ~= '' then redis.call('SET', KEYS[4], ARGV[4], 'PX', ARGV[5]) end
return {'ok', ARGV[2]}`;

/** Moves due retries (member "bucket\\nid") back into their streams. */
const PROMOTE = `
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 500)
for _, m in ipairs(due) do
  local nl = string.find(m, '\\n', 1, true)
  redis.call('XADD', ARGV[2] .. string.sub(m, 1, nl - 1), '*', 'id', string.sub(m, nl + 1))
  redis.call('ZREM', KEYS[1], m)
end
return #due`;

/**
 * Marks taken events running, each only if its stream entry is still there and its record is
 * still the one that was read (same SHA-1): a replica that stalled past the claim timeout may
 * store its outcome between another's take and write (a success must not be overwritten by
 * "running" and run again; a retry must wait for its backoff, not run at once beside the entry
 * it was given). 1 or 0 each. KEYS: records; ARGV: SHA-1s, new records, streams, entry ids.
 */
const MARK = `
local n = #KEYS
local out = {}
for i = 1, n do
  local cur = redis.call('GET', KEYS[i])
  local entry = redis.call('XRANGE', ARGV[2 * n + i], ARGV[3 * n + i], ARGV[3 * n + i])
  if cur and #entry == 1 and redis.sha1hex(cur) == ARGV[i] then
    redis.call('SET', KEYS[i], ARGV[n + i])
    out[i] = 1
  else
    out[i] = 0
  end
end
return out`;

/**
 * An attempt's outcome, stored only if the record is still the one this replica marked running
 * (ARGV[1], its SHA-1; '' = unconditionally): if another replica took the event over meanwhile,
 * its run settles it, and this one's outcome and follow-ups are dropped. {1, dead letters removed
 * past the byte bounds} stored, {0, 0} dropped.
 * KEYS: record, pending counter, delayed set, dead letters, bucket set, pending bytes counter,
 * set of functions with dead letters. ARGV: sha1, record, status, retention ms, stream ('' =
 * none), entry id, retry score, retry member, finishedAt, id, record key prefix, stream prefix,
 * payload bytes, function, key prefix, dead-letter size, per-function bound, total bound, then
 * per follow-up (id, bucket, record, payload bytes, status, finishedAt, function, dead-letter
 * size): queued, or failed (a dead letter from the start).
 */
const SETTLE = DL_LIB + `
if ARGV[1] ~= '' then
  local cur = redis.call('GET', KEYS[1])
  if not cur or redis.sha1hex(cur) ~= ARGV[1] then return {0, 0} end
end
local p, perFn, total = ARGV[15], tonumber(ARGV[17]), tonumber(ARGV[18])
local storing = {}
local status = ARGV[3]
if status == 'succeeded' then redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[4])
else redis.call('SET', KEYS[1], ARGV[2]) end
if ARGV[5] ~= '' then
  redis.call('XACK', ARGV[5], '${GROUP}', ARGV[6])
  redis.call('XDEL', ARGV[5], ARGV[6])
end
if status == 'queued' then redis.call('ZADD', KEYS[3], ARGV[7], ARGV[8]) end
if status == 'succeeded' or status == 'failed' then
  redis.call('DECR', KEYS[2])
  redis.call('DECRBY', KEYS[6], ARGV[13])
end
if status == 'failed' then
  dlAdd(p, ARGV[14], ARGV[10], ARGV[9], ARGV[16])
  storing[#storing + 1] = ARGV[14]
end
for i = 19, #ARGV, 8 do
  redis.call('SET', ARGV[11] .. ARGV[i], ARGV[i + 2])
  if ARGV[i + 4] == 'failed' then
    dlAdd(p, ARGV[i + 6], ARGV[i], ARGV[i + 5], ARGV[i + 7])
    storing[#storing + 1] = ARGV[i + 6]
  else
    redis.call('XADD', ARGV[12] .. ARGV[i + 1], '*', 'id', ARGV[i])
    redis.call('INCR', KEYS[2])
    redis.call('INCRBY', KEYS[6], ARGV[i + 3])
    redis.call('SADD', KEYS[5], ARGV[i + 1])
  end
end
local dropped = 0
for _, fn in ipairs(storing) do dropped = dropped + dlEnforce(p, fn, perFn, total) end
return {1, dropped}`;

/** Redrive: out of the dead letters (once: dlRemove's ZREM decides), queued again. ARGV: id, record, payload bytes, key prefix, function. */
const REDRIVE = DL_LIB + `
if not dlRemove(ARGV[4], ARGV[5], ARGV[1], true) then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('INCR', KEYS[2])
redis.call('INCRBY', KEYS[4], ARGV[3])
redis.call('XADD', KEYS[3], '*', 'id', ARGV[1])
return 1`;

/**
 * Removes a function's dead letters older than ARGV[1] (at most ARGV[3]), each through dlRemove
 * (its ZREM decides, so two replicas sweeping at once remove each once). KEYS: dead letters.
 * ARGV: cutoff, key prefix, limit, function. The number removed.
 */
const EXPIRE_DEAD = DL_LIB + `
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local n = 0
for _, id in ipairs(ids) do
  if dlRemove(ARGV[2], ARGV[4], id, false) then n = n + 1 end
end
if redis.call('ZCARD', KEYS[1]) == 0 then redis.call('SREM', ARGV[2] .. ':deadfns', ARGV[4]) end
return n`;

/** Discard: one dead letter removed (1), or 0 if it is not one of the function's. ARGV: key prefix, function, id. */
const DISCARD = DL_LIB + `
if dlRemove(ARGV[1], ARGV[2], ARGV[3], false) then return 1 end
return 0`;

/**
 * Records the sizes of a function's dead letters stored before they were bounded (ARGV[3] of
 * them from rank ARGV[2]): the length of the record as stored (more than deadLetterBytes: the
 * payload is base64 there), so the bounds count them conservatively. HSETNX decides, so replicas
 * starting together count each once. ARGV: key prefix, start rank, count, function. How many
 * dead letters it looked at.
 */
const SIZE_LEGACY = `
local p, fn = ARGV[1], ARGV[4]
local ids = redis.call('ZRANGE', p .. ':dead:' .. fn, tonumber(ARGV[2]), tonumber(ARGV[2]) + tonumber(ARGV[3]) - 1)
for _, id in ipairs(ids) do
  local size = redis.call('STRLEN', p .. ':ev:' .. id)
  if redis.call('HSETNX', p .. ':dlsize:' .. fn, id, size) == 1 then
    redis.call('HINCRBY', p .. ':deadbytes', fn, size)
    redis.call('INCRBY', p .. ':deadBytesTotal', size)
  end
end
return #ids`;

/**
 * Takes this replica's consumer out of a stream's group if it holds no entry there: a new process
 * is a new consumer (its name has the pid and random bytes), so without this every restart would
 * leave one behind in every group, forever. Atomic, so an entry still pending for it (an event
 * cut by the drain deadline) is never dropped with it: then it stays, and the entry is taken over
 * after the claim timeout. 1 left, 0 stayed. KEYS: stream. ARGV: group, consumer.
 */
const LEAVE = `
if #redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2]) > 0 then return 0 end
redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
return 1`;

/** Dead letters one sweep removes per function at most (the rest go in the next sweeps). */
const EXPIRE_BATCH = 500;
const NO_BYTES = new Uint8Array(0);

interface ScriptedRedis extends Redis {
  hearthEnqueue(...args: (string | number)[]): Promise<[string, string]>;
  hearthPromote(...args: (string | number)[]): Promise<number>;
  hearthRedrive(...args: (string | number)[]): Promise<number>;
  hearthMark(n: number, ...args: string[]): Promise<number[]>;
  hearthSettle(...args: (string | number)[]): Promise<[number, number]>;
  hearthExpireDead(...args: (string | number)[]): Promise<number>;
  hearthDiscard(...args: (string | number)[]): Promise<number>;
  hearthSizeLegacy(...args: (string | number)[]): Promise<number>;
  hearthLeave(stream: string, group: string, consumer: string): Promise<number>;
}

type StreamEntry = [entryId: string, fields: string[]];

/** An event this replica runs: its stream entry, and the SHA-1 of the record it marked running. */
interface Hold { stream: string; entryId: string; sha1: string }

export interface RedisQueueOptions {
  url: string;
  /** Finished successes are kept this long. */
  retentionMs: number;
  /** Dead letters are kept this long (default: 14 days). */
  deadLetterRetentionMs?: number;
  /** Byte bounds on dead letters (default: 1 GiB in all, 256 MiB per function). */
  deadLetterBounds?: DeadLetterBounds;
  /** An event held this long without a refresh is taken over (its replica is taken for dead). */
  claimTimeoutMs: number;
  /** Key prefix (several Hearth clusters may share one Redis). */
  prefix?: string;
}

export class RedisQueue implements Queue {
  readonly kind = 'redis' as const;
  private readonly p: string;
  private readonly consumer = `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
  private redis!: ScriptedRedis;
  /** XREADGROUP BLOCK holds its connection: it gets its own. */
  private reader!: Redis;
  /** id → the stream entry this replica holds for it. */
  private readonly held = new Map<string, Hold>();
  private readonly groups = new Set<string>();
  private buckets: string[] = [];
  private bucketsAt = 0;
  private promotedAt = 0;
  private autoclaimedAt = 0;
  private heartbeat: NodeJS.Timeout | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private sweeping = false;
  private deadLettersExpired = 0;
  private deadLettersDropped = 0;
  private readonly dropLog = new DeadLetterDropLog();
  private waiter: (() => void) | null = null;
  private closed = false;

  constructor(private readonly opts: RedisQueueOptions) {
    this.p = opts.prefix ?? 'hearth';
  }

  async open(): Promise<void> {
    const common = { lazyConnect: true, maxRetriesPerRequest: 2, enableOfflineQueue: false, connectTimeout: 5_000 };
    this.redis = new Redis(this.opts.url, common) as ScriptedRedis;
    this.reader = new Redis(this.opts.url, { ...common, maxRetriesPerRequest: 0 });
    for (const c of [this.redis, this.reader]) c.on('error', (err: Error) => log.warn({ err: err.message }, 'redis queue connection'));
    this.redis.defineCommand('hearthEnqueue', { numberOfKeys: 6, lua: ENQUEUE });
    this.redis.defineCommand('hearthPromote', { numberOfKeys: 1, lua: PROMOTE });
    this.redis.defineCommand('hearthRedrive', { numberOfKeys: 4, lua: REDRIVE });
    this.redis.defineCommand('hearthDiscard', { numberOfKeys: 0, lua: DISCARD });
    this.redis.defineCommand('hearthSizeLegacy', { numberOfKeys: 0, lua: SIZE_LEGACY });
    this.redis.defineCommand('hearthMark', { lua: MARK });
    this.redis.defineCommand('hearthSettle', { numberOfKeys: 7, lua: SETTLE });
    this.redis.defineCommand('hearthExpireDead', { numberOfKeys: 1, lua: EXPIRE_DEAD });
    this.redis.defineCommand('hearthLeave', { numberOfKeys: 1, lua: LEAVE });
    try {
      await Promise.all([this.redis.connect(), this.reader.connect()]);
    } catch (err) {
      this.redis.disconnect();
      this.reader.disconnect();
      throw new Error(`cannot reach the Redis queue at ${redact(this.opts.url)}: ${(err as Error).message}`);
    }
    await this.sizeLegacyDeadLetters();
    // Refresh what this replica holds well within the claim timeout, so no other takes it over.
    this.heartbeat = setInterval(() => void this.refreshHeld(), Math.max(100, Math.floor(this.opts.claimTimeoutMs / 3)));
    this.heartbeat.unref();
    this.sweepTimer = setInterval(() => void this.expireDeadLetters(), sweepInterval(this.deadLetterRetentionMs));
    this.sweepTimer.unref();
  }

  /** Dead letters stored before they were bounded get their sizes recorded, once per store. */
  private async sizeLegacyDeadLetters(): Promise<void> {
    const done = `${this.p}:dlsized`;
    if (await this.redis.exists(done) === 1) return;
    const batch = 1_000;
    for (const fn of await this.redis.smembers(`${this.p}:deadfns`)) {
      for (let start = 0; ; start += batch) if (await this.redis.hearthSizeLegacy(this.p, start, batch, fn) < batch) break;
    }
    await this.redis.set(done, '1');
  }

  private get deadLetterBounds(): DeadLetterBounds {
    return this.opts.deadLetterBounds ?? DEFAULT_DEAD_LETTER_BOUNDS;
  }

  private get deadLetterRetentionMs(): number {
    return this.opts.deadLetterRetentionMs ?? DEFAULT_DEAD_LETTER_RETENTION_MS;
  }

  /** Removes dead letters past their retention, a bounded batch per function per pass. */
  private async expireDeadLetters(): Promise<void> {
    if (this.closed || this.sweeping) return;
    this.sweeping = true;
    try {
      const cutoff = Date.now() - this.deadLetterRetentionMs;
      let n = 0;
      for (const fn of await this.redis.smembers(`${this.p}:deadfns`)) {
        n += await this.redis.hearthExpireDead(this.k('dead', fn), cutoff, this.p, EXPIRE_BATCH, fn);
      }
      this.deadLettersExpired += n;
      if (n > 0) log.info({ deadLetters: n }, 'async dead letters past their retention removed');
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'could not expire async dead letters');
    } finally {
      this.sweeping = false;
    }
  }

  async enqueue(rec: EventRecord, opts: EnqueueOptions): Promise<EnqueueResult> {
    const key = opts.idempotencyKey;
    const idemKey = key === undefined ? '' : `${this.p}:idem:${rec.functionName}:${key}`;
    let r: [string, string];
    try {
      r = await this.redis.hearthEnqueue(
        this.k('ev', rec.id), this.stream(rec.bucket), `${this.p}:pending`, idemKey, `${this.p}:buckets`, `${this.p}:pendingBytes`,
        encode(rec), rec.id, opts.maxQueued, JSON.stringify({ id: rec.id, hash: opts.bodyHash ?? null }), opts.idempotencyWindowMs, rec.bucket,
        rec.body.byteLength, opts.maxBytes ?? -1,
      );
    } catch (err) {
      throw unavailable(err);
    }
    if (r[0] === 'full') throw new QueueFull('events', `the async queue is full: ${r[1]} events are queued or running (--async-queue-size ${opts.maxQueued})`);
    if (r[0] === 'fullbytes') {
      throw new QueueFull('bytes', `the async queue is full: the events queued or running hold ${r[1]} payload bytes, and this one (${rec.body.byteLength} bytes) would pass --async-queue-max-bytes ${opts.maxBytes}`);
    }
    if (r[0] === 'dup') {
      const seen = JSON.parse(r[1]) as { id: string; hash: string | null };
      if (seen.hash !== null && opts.bodyHash !== undefined && seen.hash !== opts.bodyHash) {
        throw new HearthError('Conflict', `Idempotency-Key "${key}" was used for another payload within the idempotency window`);
      }
      return { id: seen.id, duplicate: true };
    }
    return { id: rec.id, duplicate: false };
  }

  async take(free: (bucket: string) => number, waitMs: number): Promise<EventRecord[]> {
    if (this.closed) return [];
    const now = Date.now();
    if (now - this.promotedAt >= PROMOTE_MS) {
      this.promotedAt = now;
      await this.redis.hearthPromote(`${this.p}:delayed`, now, `${this.p}:s:`);
    }
    if (now - this.bucketsAt >= 1_000) {
      this.bucketsAt = now;
      this.buckets = await this.redis.smembers(`${this.p}:buckets`);
      for (const b of this.buckets) await this.ensureGroup(b);
    }
    const open = this.buckets.map((b) => [b, free(b)] as const).filter(([, n]) => n > 0);
    if (open.length === 0) {
      // Every slot is taken: wait for one to free (wake) rather than poll.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(waitMs, BLOCK_MS));
        function done() { clearTimeout(timer); resolve(); }
        this.waiter = done;
      });
      this.waiter = null;
      return [];
    }
    const got: { stream: string; entry: StreamEntry; reclaimed: boolean }[] = [];
    // Events a dead replica held, taken over once they have been idle past the claim timeout.
    if (now - this.autoclaimedAt >= Math.min(1_000, this.opts.claimTimeoutMs / 2)) {
      this.autoclaimedAt = now;
      for (const [b, n] of open) {
        const r = await this.redis.call('XAUTOCLAIM', this.stream(b), GROUP, this.consumer, this.opts.claimTimeoutMs, '0-0', 'COUNT', n) as [string, StreamEntry[], string[]];
        for (const e of r[1]) if (e && e[1]) got.push({ stream: this.stream(b), entry: e, reclaimed: true });
      }
    }
    if (got.length === 0) {
      const count = Math.min(...open.map(([, n]) => n));
      const streams = open.map(([b]) => this.stream(b));
      const r = await this.reader.xreadgroup('GROUP', GROUP, this.consumer, 'COUNT', count, 'BLOCK', Math.max(1, Math.min(waitMs, BLOCK_MS)),
        'STREAMS', ...streams, ...streams.map(() => '>')) as [string, StreamEntry[]][] | null;
      for (const [stream, entries] of r ?? []) for (const e of entries) got.push({ stream, entry: e, reclaimed: false });
    }
    if (got.length === 0) return [];
    const ids = got.map((g) => fieldOf(g.entry[1], 'id'));
    const raw = await this.redis.mget(...ids.map((id) => this.k('ev', id)));
    const marked: { rec: EventRecord; read: string; text: string; stream: string; entryId: string }[] = [];
    const finished: [stream: string, entryId: string][] = [];
    const at = Date.now();
    got.forEach((g, i) => {
      const text = raw[i];
      const rec = text ? decode(text) : null;
      if (!rec || isTerminal(rec.status) || this.held.has(rec.id)) {
        // Gone, or already finished (its entry outlived the outcome): nothing to run.
        if (!rec || isTerminal(rec.status)) finished.push([g.stream, g.entry[0]]);
        return;
      }
      if (rec.status === 'running') closeInterrupted(rec, at, 'the replica running this attempt stopped answering');
      startAttempt(rec, at);
      marked.push({ rec, read: text!, text: encode(rec), stream: g.stream, entryId: g.entry[0] });
    });
    if (finished.length > 0) {
      const multi = this.redis.multi();
      for (const [stream, entryId] of finished) multi.xack(stream, GROUP, entryId).xdel(stream, entryId);
      await multi.exec();
    }
    if (marked.length === 0) return [];
    // Held (and refreshed) only once marked running: entries of a failed write stay idle in the
    // group's pending list, and are taken over after the claim timeout. An event whose record
    // changed since it was read (its holder came back and stored the outcome) is left alone.
    const ok = await this.redis.hearthMark(marked.length,
      ...marked.map((m) => this.k('ev', m.rec.id)),
      ...marked.map((m) => sha1(m.read)),
      ...marked.map((m) => m.text),
      ...marked.map((m) => m.stream),
      ...marked.map((m) => m.entryId),
    ).catch((err: Error) => { throw new Error(`could not mark async events running: ${err.message}`); });
    const out: EventRecord[] = [];
    marked.forEach((m, i) => {
      if (ok[i] !== 1) return;
      out.push(m.rec);
      this.held.set(m.rec.id, { stream: m.stream, entryId: m.entryId, sha1: sha1(m.text) });
    });
    return out;
  }

  /** Ends a take() waiting for a free slot (one blocked in XREADGROUP returns within BLOCK_MS). */
  wake(): void {
    this.waiter?.();
  }

  async settle(rec: EventRecord, followUps: EventRecord[]): Promise<void> {
    const h = this.held.get(rec.id);
    try {
      const [stored, dropped] = await this.redis.hearthSettle(
        this.k('ev', rec.id), `${this.p}:pending`, `${this.p}:delayed`, this.k('dead', rec.functionName), `${this.p}:buckets`,
        `${this.p}:pendingBytes`, `${this.p}:deadfns`,
        h?.sha1 ?? '', encode(rec.status === 'succeeded' ? { ...rec, body: NO_BYTES } : rec), rec.status, this.opts.retentionMs,
        h?.stream ?? '', h?.entryId ?? '', rec.nextAttemptAt, `${rec.bucket}\n${rec.id}`, rec.finishedAt ?? 0, rec.id,
        `${this.p}:ev:`, `${this.p}:s:`, rec.body.byteLength, rec.functionName, this.p,
        rec.status === 'failed' ? deadLetterBytes(rec) : 0, this.deadLetterBounds.perFunction, this.deadLetterBounds.total,
        ...followUps.flatMap((f) => [f.id, f.bucket, encode(f), f.body.byteLength, f.status, f.finishedAt ?? 0, f.functionName, f.status === 'failed' ? deadLetterBytes(f) : 0]),
      ).catch((err: Error) => { throw new Error(`could not store an async event's outcome: ${err.message}`); });
      if (dropped > 0) {
        this.deadLettersDropped += dropped;
        this.dropLog.note(dropped, [rec, ...followUps].filter((r) => r.status === 'failed').map((r) => r.functionName));
      }
      if (stored === 0) {
        log.warn({ requestId: rec.id, function: rec.functionName }, 'an async event was taken over by another replica while this one ran it (it stalled past the claim timeout), or its record is gone: this outcome is dropped');
      }
    } finally {
      // Not refreshed any more either way: if the outcome was not stored, its entry goes idle and
      // is taken over after the claim timeout (by this replica or another), and runs again.
      this.held.delete(rec.id);
    }
  }

  async get(id: string): Promise<EventRecord | null> {
    const text = await this.redis.get(this.k('ev', id)).catch((err) => { throw unavailable(err); });
    return text ? decode(text) : null;
  }

  async deadLetters(functionName: string, limit: number): Promise<EventRecord[]> {
    const ids = await this.redis.zrange(this.k('dead', functionName), 0, limit - 1);
    if (ids.length === 0) return [];
    const raw = await this.redis.mget(...ids.map((id) => this.k('ev', id)));
    return raw.flatMap((t) => (t ? [decode(t)] : [])).filter((r) => r.status === 'failed');
  }

  async redrive(functionName: string, id: string, now: number): Promise<EventRecord | null> {
    const rec = await this.get(id);
    if (!rec || rec.status !== 'failed' || rec.functionName !== functionName) return null;
    redriven(rec, now);
    const done = await this.redis.hearthRedrive(this.k('ev', id), `${this.p}:pending`, this.stream(rec.bucket), `${this.p}:pendingBytes`,
      id, encode(rec), rec.body.byteLength, this.p, functionName);
    return done === 1 ? rec : null;
  }

  async discard(functionName: string, id: string): Promise<boolean> {
    return await this.redis.hearthDiscard(this.p, functionName, id) === 1;
  }

  async stats(): Promise<QueueStats> {
    const [pending, bytes, deadBytes] = await this.redis.mget(`${this.p}:pending`, `${this.p}:pendingBytes`, `${this.p}:deadBytesTotal`);
    return {
      pending: Number(pending ?? 0), held: this.held.size, bytes: Math.max(0, Number(bytes ?? 0)), deadLettersExpired: this.deadLettersExpired,
      deadLetterBytes: Math.max(0, Number(deadBytes ?? 0)), deadLettersDropped: this.deadLettersDropped,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.reader.disconnect();
    // Nothing more is read: leave the groups where this replica holds nothing (see LEAVE).
    for (const bucket of this.groups) {
      await this.redis.hearthLeave(this.stream(bucket), GROUP, this.consumer)
        .catch((err: Error) => log.warn({ err: err.message, bucket }, 'could not leave the async queue\'s consumer group'));
    }
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  private async refreshHeld(): Promise<void> {
    if (this.held.size === 0 || this.closed) return;
    const byStream = new Map<string, string[]>();
    for (const h of this.held.values()) {
      const list = byStream.get(h.stream);
      if (list) list.push(h.entryId);
      else byStream.set(h.stream, [h.entryId]);
    }
    try {
      for (const [stream, ids] of byStream) await this.redis.call('XCLAIM', stream, GROUP, this.consumer, 0, ...ids, 'JUSTID');
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'could not refresh the async events this replica holds');
    }
  }

  private async ensureGroup(bucket: string): Promise<void> {
    if (this.groups.has(bucket)) return;
    try {
      await this.redis.xgroup('CREATE', this.stream(bucket), GROUP, '0', 'MKSTREAM');
    } catch (err) {
      if (!String((err as Error).message).includes('BUSYGROUP')) throw err;
    }
    this.groups.add(bucket);
  }

  private k(kind: string, id: string): string {
    return `${this.p}:${kind}:${id}`;
  }

  private stream(bucket: string): string {
    return `${this.p}:s:${bucket}`;
  }
}

/** Records as JSON, bytes as base64. */
function encode(rec: EventRecord): string {
  return JSON.stringify(rec, (_k, v: unknown) => (v instanceof Uint8Array ? { $b64: Buffer.from(v).toString('base64') } : v));
}

function decode(text: string): EventRecord {
  return JSON.parse(text, (_k, v: unknown) => (v !== null && typeof v === 'object' && '$b64' in v ? new Uint8Array(Buffer.from((v as { $b64: string }).$b64, 'base64')) : v)) as EventRecord;
}

function fieldOf(fields: string[], name: string): string {
  const i = fields.indexOf(name);
  return i >= 0 && i % 2 === 0 ? fields[i + 1]! : '';
}

function unavailable(err: unknown): HearthError {
  return new HearthError('BackendUnavailable', `the async queue (Redis) did not answer: ${(err as Error).message}`);
}

/** A URL without its password, for messages. */
function redact(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function sha1(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}
