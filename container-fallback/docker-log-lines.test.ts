// Docker's stamped log frames back into lines (no Docker needed: the frames are written here as
// the engine sends them once demultiplexed).

import { describe, expect, it } from 'vitest';
import { containerChannels } from './channel-counters.js';
import { LogRate, logLines } from './docker-log-lines.js';

type Got = [stream: number, timeMs: number, line: string];

function reader(): { got: Got[]; frame: (stream: 0 | 1, text: string | Buffer) => void } {
  const got: Got[] = [];
  const read = logLines((stream, timeMs, line) => got.push([stream, timeMs, line]));
  return { got, frame: (stream, text) => read(stream, typeof text === 'string' ? Buffer.from(text) : text) };
}

const T1 = '2026-01-02T03:04:05.123456789Z';
const T2 = '2026-01-02T03:04:06.500000000Z';

describe('logLines', () => {
  it('takes each line\'s time from its frame, per stream', () => {
    const { got, frame } = reader();
    frame(0, `${T1} first\n`);
    frame(1, `${T2} on stderr\n`);
    frame(0, `${T2} second\n`);
    expect(got).toEqual([[0, Date.parse(T1), 'first'], [1, Date.parse(T2), 'on stderr'], [0, Date.parse(T2), 'second']]);
  });

  it('joins a long line\'s pieces, stamped with the first, and keeps its first 16 KiB', () => {
    const { got, frame } = reader();
    frame(0, `${T1} ${'a'.repeat(16 * 1024)}`);
    frame(0, `${T2} ${'b'.repeat(100)}\n`);
    expect(got.length).toBe(1);
    expect(got[0]![1]).toBe(Date.parse(T1));
    expect(got[0]![2]).toBe('a'.repeat(16 * 1024));
  });

  it('a frame without a stamp is read now; a line cut inside a character ends in U+FFFD', () => {
    const { got, frame } = reader();
    const before = Date.now();
    frame(1, 'no stamp here\n');
    expect(got[0]![2]).toBe('no stamp here');
    expect(got[0]![1]).toBeGreaterThanOrEqual(before);
    frame(0, Buffer.concat([Buffer.from(`${T1} ${'x'.repeat(16 * 1024 - 1)}`), Buffer.from('é\n')]));
    expect(got[1]![2]).toBe(`${'x'.repeat(16 * 1024 - 1)}\ufffd`);
  });
});

describe('LogRate', () => {
  it('passes a second\'s worth of bytes, drops (and counts) the rest, asks to pause, and marks the gap when lines pass again', async () => {
    const got: string[] = [];
    const pauses: number[] = [];
    const rate = new LogRate(10_000, (ms) => pauses.push(ms));
    const read = logLines((_s, _t, line) => got.push(line), rate);
    const before = containerChannels.logLinesDropped;
    const line = 'x'.repeat(999);
    for (let i = 0; i < 100; i++) read(0, Buffer.from(`${T1} ${line}\n`));
    expect(got.length).toBe(10);
    expect(containerChannels.logLinesDropped - before).toBe(90);
    expect(pauses.length).toBe(1);
    await new Promise((r) => setTimeout(r, 300));
    read(0, Buffer.from(`${T2} after\n`));
    expect(got.at(-2)).toMatch(/^\[hearth\] 90 line\(s\) of output \(89910 bytes\) dropped/);
    expect(got.at(-1)).toBe('after');
  });
});
