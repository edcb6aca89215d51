// The host's log gate with a fake owner: what a (possibly tampered) isolate sends is checked, the
// limits hold whatever the runtime says, and a call that dropped lines ends with one marker line.

import { describe, expect, it } from 'vitest';
import { LOG_DROPPED } from '../../runtime/protocol.js';
import { LogGate, type LogLimits } from './log-gate.js';

function gate(limits: Partial<LogLimits> = {}) {
  const lines: [string, number, string][] = [];
  const dropped = { lines: 0, bytes: 0 };
  const g = new LogGate({ bytesPerCall: 1024 * 1024, linesPerCall: 10_000, bytesPerSecond: 1024 * 1024, ...limits }, {
    line: (rid, stream, _t, text) => lines.push([rid, stream, text]),
    dropped: (l, b) => { dropped.lines += l; dropped.bytes += b; },
    requestIdOf: (rid) => (typeof rid === 'string' && rid !== '' ? rid : 'init'),
  });
  return { g, lines, dropped };
}

describe('LogGate', () => {
  it('passes lines within the limits, with their streams and request ids', () => {
    const { g, lines } = gate();
    g.batch(['r1', 0, Date.now(), 'hello', 'r1', 1, Date.now(), 'oops', '', 0, Date.now(), 'at init']);
    g.end('r1');
    expect(lines).toEqual([['r1', 0, 'hello'], ['r1', 1, 'oops'], ['init', 0, 'at init']]);
  });

  it('drops past a call\'s lines even when the runtime drops nothing, and ends the call with one marker', () => {
    const { g, lines, dropped } = gate({ linesPerCall: 3 });
    const batch: unknown[] = [];
    for (let i = 0; i < 10; i++) batch.push('r', 0, Date.now(), `l${i}`);
    g.batch(batch);
    expect(lines.map((l) => l[2])).toEqual(['l0', 'l1', 'l2']);
    expect(dropped).toEqual({ lines: 7, bytes: 14 });
    g.end('r');
    expect(lines.at(-1)).toEqual(['r', 2, expect.stringMatching(/^… 7 lines \/ 14 bytes dropped: log limit \(3 lines/)]);
    g.end('r'); // once
    expect(lines.length).toBe(4);
  });

  it('holds the bytes a call and a second; reads no more than a batch\'s entries; ignores junk', () => {
    const { g, lines, dropped } = gate({ bytesPerCall: 2048, bytesPerSecond: 1024 });
    g.batch(['a', 0, 0, 'x'.repeat(1500), 'a', 0, 0, 'x'.repeat(1500)]);
    expect(lines.length).toBe(1);
    g.batch(['b', 0, 0, 'y'.repeat(1500)]); // another call, but the instance's second is spent
    expect(lines.length).toBe(1);
    expect(dropped.lines).toBe(2);
    const huge = new Array(4 * 1000).fill('z');
    g.batch(huge);
    expect(dropped.lines).toBeGreaterThan(2);
    g.batch('not an array');
    g.batch([{ toString: () => 'evil' }, 0, 'nan', { length: 1 }]);
  });

  it('the runtime\'s reported drops count once each (cumulative reports), and make the marker', () => {
    const { g, lines, dropped } = gate();
    g.batch(['r', LOG_DROPPED, 100, 5000, 'r', LOG_DROPPED, 250, 9000, 'r', LOG_DROPPED, 10, 10]);
    expect(dropped).toEqual({ lines: 250, bytes: 9000 });
    g.end('r');
    expect(lines[0]![2]).toMatch(/^… 250 lines \/ 9000 bytes dropped/);
  });
});
