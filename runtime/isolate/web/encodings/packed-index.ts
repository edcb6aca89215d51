// The packed form of the big (multi-byte) indexes, written by scripts/gen-encoding-indexes.mjs:
// an index (pointer → code point or null) as runs of consecutive code points, each run two
// numbers; numbers in base 45 with printable ASCII digits, so the table stays a plain string literal
// of about 3.5 bytes per run (the bundler would write most CJK characters as 6-byte \u escapes).
//   run: v, len-1 — v = 0: `len` null pointers; else v-1 = zigzag(first code point − (previous
//   run's last code point + 1)), then `len` consecutive code points.
//   digit: '#'…'P' (minus "'") end a number, 'Q'…'~' (minus '\') continue it (little-endian).

const DIGITS = '#$%&()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz{|}~';
const BASE = 45;

let digitOf: Int8Array | null = null;

/** A packed list of plain numbers back (index gb18030 ranges is one: pointer, code point, …). */
export function unpackNumbers(s: string): number[] {
  if (digitOf === null) {
    digitOf = new Int8Array(128);
    for (let d = 0; d < DIGITS.length; d++) digitOf[DIGITS.charCodeAt(d)] = d;
  }
  const values: number[] = [];
  let v = 0;
  let scale = 1;
  for (let i = 0; i < s.length; i++) {
    const d = digitOf[s.charCodeAt(i)]!;
    if (d >= BASE) { v += (d - BASE) * scale; scale *= BASE; continue; }
    values.push(v + d * scale);
    v = 0;
    scale = 1;
  }
  return values;
}

/** The index back: code point per pointer, -1 for null. */
export function unpackIndex(packed: string): Int32Array {
  const nums = unpackNumbers(packed);
  let total = 0;
  for (let i = 1; i < nums.length; i += 2) total += nums[i]! + 1;
  const out = new Int32Array(total).fill(-1);
  let p = 0;
  let expected = 0;
  for (let i = 0; i < nums.length; i += 2) {
    const v = nums[i]!;
    const len = nums[i + 1]! + 1;
    if (v !== 0) {
      const z = v - 1;
      const first = expected + (z & 1 ? -(z + 1) / 2 : z / 2);
      for (let k = 0; k < len; k++) out[p + k] = first + k;
      expected = first + len;
    }
    p += len;
  }
  return out;
}
