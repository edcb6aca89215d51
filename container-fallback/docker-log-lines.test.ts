// Docker's stamped log frames back into lines (no Docker needed: the frames are written here as
// the engine sends them once demultiplexed).

import { describe, expect, it } from 'vitest';
import { logLines } from './docker-log-lines.js';

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
