// Invocation records: a call's lines attach to its record while it runs, even when the newest
// `retention` calls have pushed its record out meanwhile; a closed record keeps a small result only.

import { describe, expect, it } from 'vitest';
import type { FunctionVersion } from './backend.js';
import { newCall, ranOutcome } from './call.js';
import { InvocationRecords } from './records.js';

const fn = { name: 'f', version: '$LATEST' } as FunctionVersion;
const call = (requestId: string) => newCall({ requestId, functionName: 'f', source: 'v1', body: new ArrayBuffer(0), reqEnc: 0, resEnc: 0 });
const line = (requestId: string, message: string) => ({ time: 0, requestId, stream: 'stdout' as const, message });
const done = (result: ArrayBuffer) => ranOutcome('$LATEST', { cold: true, initMs: 1, queueMs: 0, durationMs: 2 }, result);

describe('InvocationRecords', () => {
  it('a running call pushed out of the retention keeps its lines until the caller has read them', async () => {
    const records = new InvocationRecords(2);
    const long = records.open(call('long'), fn);
    records.attach(line('long', 'before'));
    for (let i = 0; i < 5; i++) records.close(records.open(call(`quick-${i}`), fn), done(new ArrayBuffer(1)));
    expect(records.get('long')).toBeUndefined(); // out of the retention…
    records.attach(line('long', 'after'));
    records.close(long, done(new ArrayBuffer(1)));
    // … but its caller, right after the outcome, still reads every line.
    expect(records.logsOf('long').map((l) => l.message)).toEqual(['before', 'after']);
    await new Promise((r) => setImmediate(r));
    expect(records.logsOf('long')).toEqual([]);
  });

  it('keeps results up to 64 KiB on the record, not larger ones', () => {
    const records = new InvocationRecords(10);
    records.close(records.open(call('small'), fn), done(new ArrayBuffer(64 * 1024)));
    records.close(records.open(call('big'), fn), done(new ArrayBuffer(64 * 1024 + 1)));
    expect(records.get('small')!.result!.byteLength).toBe(64 * 1024);
    expect(records.get('big')!.result).toBeNull();
    expect(records.get('big')).toMatchObject({ status: 'succeeded', cold: true, initMs: 1, durationMs: 2 });
  });

  it('the log text all records hold stays within its bound: the oldest records give up their lines first, counted', () => {
    const records = new InvocationRecords(1_000, 100 * 1024);
    const text = 'x'.repeat(1_000 - 64); // 1,000 bytes a line with its overhead
    for (let i = 0; i < 20; i++) {
      records.open(call(`c${i}`), fn);
      for (let k = 0; k < 10; k++) records.attach(line(`c${i}`, text));
      expect(records.logBytes).toBeLessThanOrEqual(100 * 1024);
    }
    expect(records.get('c0')!.logs).toEqual([]);
    expect(records.get('c0')!.logsDropped).toBe(true);
    expect(records.get('c19')!.logs!.length).toBe(10);
    expect(records.droppedLogBytes).toBeGreaterThan(0);
    // Later lines of a record that gave its lines up are not kept again.
    records.attach(line('c0', 'late'));
    expect(records.get('c0')!.logs).toEqual([]);
  });

  it('records that leave the retention give back what their lines held; a notice is kept past a record\'s own bound', () => {
    const records = new InvocationRecords(2);
    for (let i = 0; i < 5; i++) {
      records.close(records.open(call(`q${i}`), fn), done(new ArrayBuffer(1)));
      records.attach(line(`q${i}`, 'y'.repeat(100)));
    }
    expect(records.logBytes).toBe(2 * (100 + 64));
    records.open(call('full'), fn);
    for (let k = 0; k < 1_100; k++) records.attach(line('full', 'z'));
    records.attach(line('full', '… dropped'), true);
    const logs = records.get('full')!.logs!;
    expect(logs.length).toBe(1_001);
    expect(logs.at(-1)!.message).toBe('… dropped');
  });
});
