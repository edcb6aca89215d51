// unpackZip's limits are measured on inflated bytes, not on what headers claim.

import { strToU8, zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { unpackZip } from './archive.js';

const limits = { maxUnzippedBytes: 1_000_000, maxFiles: 10, maxFileBytes: 600_000 };

/** Every entry's declared uncompressed size set to `size` (local and central headers). */
function lie(zip: Uint8Array, size: number): Uint8Array {
  const b = Buffer.from(zip);
  for (let i = 0; i + 4 <= b.length; i++) {
    if (b.readUInt32LE(i) === 0x04034b50) b.writeUInt32LE(size, i + 22);
    else if (b.readUInt32LE(i) === 0x02014b50) b.writeUInt32LE(size, i + 24);
  }
  return b;
}

describe('unpackZip', () => {
  it('hands over every file, and counts entries and bytes', () => {
    const got: Record<string, string> = {};
    const r = unpackZip(zipSync({ 'a.js': strToU8('A'), 'd/': new Uint8Array(0), 'd/b.js': strToU8('BB') }), limits, 'code.zip', (n, d) => { got[n] = Buffer.from(d).toString(); });
    expect(got).toEqual({ 'a.js': 'A', 'd/b.js': 'BB' });
    expect(r).toEqual({ files: 3, bytes: 3 });
  });

  it('stops at the per-file limit whatever the header says', () => {
    const z = lie(zipSync({ 'big.bin': new Uint8Array(700_000) }), 1);
    expect(() => unpackZip(z, limits, 'code.zip')).toThrow(expect.objectContaining({ type: 'ArchiveTooLarge', status: 413 }));
  });

  it('stops at the total limit', () => {
    const z = lie(zipSync({ a: new Uint8Array(500_000), b: new Uint8Array(500_000), c: new Uint8Array(500_000) }), 1);
    expect(() => unpackZip(z, limits, 'code.zip')).toThrow(/inflates past 1000000 bytes/);
  });

  it('stops at the file count', () => {
    const files = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`f${i}`, new Uint8Array(0)]));
    expect(() => unpackZip(zipSync(files), limits, 'code.zip')).toThrow(expect.objectContaining({ type: 'TooManyFiles', status: 413 }));
  });

  it('a zip with tens of thousands of entries is read without exhausting the stack (fed in chunks)', () => {
    const files = Object.fromEntries(Array.from({ length: 30_000 }, (_, i) => [`f${i}`, new Uint8Array(0)]));
    expect(() => unpackZip(zipSync(files, { level: 0 }), { ...limits, maxFiles: 100_000 }, 'code.zip')).not.toThrow();
  });

  it('what is not a zip is a 400 InvalidSpec', () => {
    expect(() => unpackZip(strToU8('not a zip at all'), limits, 'code.zip')).toThrow(expect.objectContaining({ type: 'InvalidSpec' }));
    expect(() => unpackZip(new Uint8Array(0), limits, 'code.zip')).toThrow(expect.objectContaining({ type: 'InvalidSpec' }));
  });
});
