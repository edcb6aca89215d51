// Writes runtime/isolate/web/encodings/single-byte-indexes.ts: the index (bytes 0x80–0xFF → code
// point) of every legacy single-byte encoding of the WHATWG Encoding Standard (§9, "Legacy
// single-byte encodings"), taken from Node's own TextDecoder (ICU) and corrected where ICU's tables
// differ from the Standard's index-<name>.txt files (the corrections below, each checked against the
// spec's index file and against workerd); and multi-byte-indexes.ts: index gb18030 and index
// gb18030 ranges (§10.2), read from Node's gb18030 decoder one pointer at a time (identical to
// workerd's for all 23,940 two-byte and 39,420 BMP four-byte pointers), and index jis0208 and
// index jis0212 (§11), read from Node's euc-jp and shift_jis decoders (equal to workerd's but for
// the 21 jis0212 pointers corrected below), packed as runtime/isolate/web/encodings/packed-index.ts
// describes. Node's euc-kr (KS X 1001 without the UHC extension) and big5 (no HKSCS) are not the
// Standard's, so index big5 (§12) and index euc-kr (§13) come from iconv-lite's tables instead (the
// devDependency iconv-lite, pinned: cp950.json overlaid with big5-added.json, which is the
// Standard's index big5 less cp950, and cp949.json, which is UHC, the order of index euc-kr),
// re-indexed by the spec's pointer formulas; both equal workerd's for every two-byte sequence.
// The output is committed, not generated at build time: it is reviewable, and a build does not
// depend on the Node it runs on having full ICU, nor on iconv-lite.
// Run: node scripts/gen-encoding-indexes.mjs (Node 20 with full ICU; it refuses otherwise).

import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const NAMES = [
  'ibm866', 'iso-8859-2', 'iso-8859-3', 'iso-8859-4', 'iso-8859-5', 'iso-8859-6', 'iso-8859-7',
  'iso-8859-8', 'iso-8859-10', 'iso-8859-13', 'iso-8859-14', 'iso-8859-15', 'iso-8859-16',
  'koi8-r', 'koi8-u', 'macintosh', 'windows-874', 'windows-1250', 'windows-1251', 'windows-1252',
  'windows-1253', 'windows-1254', 'windows-1255', 'windows-1256', 'windows-1257', 'windows-1258',
  'x-mac-cyrillic',
];

const UNMAPPED = 0xfffd; // no index maps a byte to U+FFFD, so it marks "no code point" (an error)

/** Where ICU (Node 20, ICU 7x) differs from the Standard's indexes: pointer byte → code point. */
const SPEC_CORRECTIONS = {
  // Node decodes windows-1252 as ISO-8859-1 (its latin1 fast path); the Standard's index has
  // the Windows characters at 0x80–0x9F except the five bytes that stay C1 controls.
  'windows-1252': {
    0x80: 0x20ac, 0x82: 0x201a, 0x83: 0x0192, 0x84: 0x201e, 0x85: 0x2026, 0x86: 0x2020, 0x87: 0x2021,
    0x88: 0x02c6, 0x89: 0x2030, 0x8a: 0x0160, 0x8b: 0x2039, 0x8c: 0x0152, 0x8e: 0x017d, 0x91: 0x2018,
    0x92: 0x2019, 0x93: 0x201c, 0x94: 0x201d, 0x95: 0x2022, 0x96: 0x2013, 0x97: 0x2014, 0x98: 0x02dc,
    0x99: 0x2122, 0x9a: 0x0161, 0x9b: 0x203a, 0x9c: 0x0153, 0x9e: 0x017e, 0x9f: 0x0178,
  },
  // The Standard's koi8-u is KOI8-RU: Ў and ў where ICU's KOI8-U has box-drawing characters.
  'koi8-u': { 0xae: 0x045e, 0xbe: 0x040e },
  // ICU maps these unassigned bytes to private-use code points; the Standard leaves them unmapped.
  'windows-874': { 0xdb: UNMAPPED, 0xdc: UNMAPPED, 0xdd: UNMAPPED, 0xde: UNMAPPED, 0xfc: UNMAPPED, 0xfd: UNMAPPED, 0xfe: UNMAPPED, 0xff: UNMAPPED },
  // The Standard leaves 0xAA unmapped in windows-1253 and maps 0xCA to HEBREW POINT HOLAM HASER FOR VAV.
  'windows-1253': { 0xaa: UNMAPPED },
  'windows-1255': { 0xca: 0x05ba },
  // Node has no ISO-8859-16 at all: index-iso-8859-16.txt as ISO-8859-1 plus its 40 differences.
  'iso-8859-16': {
    0xa1: 0x104, 0xa2: 0x105, 0xa3: 0x141, 0xa4: 0x20ac, 0xa5: 0x201e, 0xa6: 0x160, 0xa8: 0x161, 0xaa: 0x218,
    0xac: 0x179, 0xae: 0x17a, 0xaf: 0x17b, 0xb2: 0x10c, 0xb3: 0x142, 0xb4: 0x17d, 0xb5: 0x201d, 0xb8: 0x17e,
    0xb9: 0x10d, 0xba: 0x219, 0xbc: 0x152, 0xbd: 0x153, 0xbe: 0x178, 0xbf: 0x17c, 0xc3: 0x102, 0xc5: 0x106,
    0xd0: 0x110, 0xd1: 0x143, 0xd5: 0x150, 0xd7: 0x15a, 0xd8: 0x170, 0xdd: 0x118, 0xde: 0x21a, 0xe3: 0x103,
    0xe5: 0x107, 0xf0: 0x111, 0xf1: 0x144, 0xf5: 0x151, 0xf7: 0x15b, 0xf8: 0x171, 0xfd: 0x119, 0xfe: 0x21b,
  },
};

const HIGH = new Uint8Array(128).map((_, i) => 0x80 + i);

function index(name) {
  let codes;
  if (name === 'iso-8859-16') codes = Array.from(HIGH);
  else {
    const s = new TextDecoder(name).decode(HIGH);
    if (s.length !== 128) throw new Error(`${name}: ICU gave ${s.length} code units for 128 bytes`);
    codes = Array.from({ length: 128 }, (_, i) => s.charCodeAt(i));
  }
  for (const [byte, cp] of Object.entries(SPEC_CORRECTIONS[name] ?? {})) codes[Number(byte) - 0x80] = cp;
  return codes;
}

const lit = (codes) => "'" + codes.map((c) => (c >= 0x20 && c < 0x7f && c !== 0x27 && c !== 0x5c
  ? String.fromCharCode(c) : `\\u${c.toString(16).padStart(4, '0')}`)).join('') + "'";

const lines = NAMES.map((n) => `  '${n}': ${lit(index(n))},`);
const out = `// GENERATED by scripts/gen-encoding-indexes.mjs — do not edit; change the script and rerun it.
// The WHATWG Encoding Standard's single-byte indexes: for each encoding, the code points of bytes
// 0x80–0xFF in order (bytes 0x00–0x7F are ASCII in all of them); U+FFFD marks a byte the index
// leaves unmapped (a decoding error).

export const SINGLE_BYTE_INDEXES: Readonly<Record<string, string>> = {
${lines.join('\n')}
};
`;
writeFileSync(fileURLToPath(new URL('../runtime/isolate/web/encodings/single-byte-indexes.ts', import.meta.url)), out);
console.log(`single-byte-indexes.ts: ${NAMES.length} encodings, ${out.length} bytes`);

// ---- multi-byte ---------------------------------------------------------------------------------

const DIGITS = '#$%&()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz{|}~';
const BASE = 45;

function packNumbers(values) {
  let out = '';
  for (let v of values) {
    while (v >= BASE) { out += DIGITS[BASE + (v % BASE)]; v = Math.floor(v / BASE); }
    out += DIGITS[v];
  }
  return out;
}

/** An index (code point per pointer, -1 for null) as runs; see packed-index.ts. */
function packIndex(codePoints) {
  const nums = [];
  let expected = 0;
  for (let p = 0; p < codePoints.length;) {
    const first = codePoints[p];
    let len = 1;
    if (first < 0) {
      while (p + len < codePoints.length && codePoints[p + len] < 0) len++;
      nums.push(0, len - 1);
    } else {
      while (p + len < codePoints.length && codePoints[p + len] === first + len) len++;
      const d = first - expected;
      nums.push((d >= 0 ? d * 2 : -d * 2 - 1) + 1, len - 1);
      expected = first + len;
    }
    p += len;
  }
  return packNumbers(nums);
}

/** Each sequence decoded alone by Node's decoder `label`: its one code point, or -1 (an error). */
function decodeEach(label, sequences) {
  const d = new TextDecoder(label, { fatal: true });
  return sequences.map((seq) => {
    try {
      const cps = [...d.decode(new Uint8Array(seq))].map((c) => c.codePointAt(0));
      if (cps.length !== 1) throw new Error(`${label} ${seq}: ${cps.length} code points`);
      return cps[0];
    } catch (e) {
      if (e instanceof TypeError) return -1;
      throw e;
    }
  });
}

// §10.2: pointer (lead − 0x81) × 190 + (trail − (trail < 0x7F ? 0x40 : 0x41)).
const gbTwo = [];
for (let p = 0; p < 23940; p++) {
  const t = p % 190;
  gbTwo.push([Math.floor(p / 190) + 0x81, t + (t < 0x3f ? 0x40 : 0x41)]);
}
// §10.2 index gb18030 ranges, for pointers 0…39419 (four bytes b1 b2 b3 b4:
// ((b1 − 0x81) × 10 × 126 + (b2 − 0x30) × 126 + (b3 − 0x81)) × 10 + b4 − 0x30).
const gbFour = [];
for (let p = 0; p < 39420; p++) {
  const b4 = p % 10, b3 = Math.floor(p / 10) % 126, b2 = Math.floor(p / 1260) % 10, b1 = Math.floor(p / 12600);
  gbFour.push([b1 + 0x81, b2 + 0x30, b3 + 0x81, b4 + 0x30]);
}
const gb18030 = decodeEach('gb18030', gbTwo);
const gbRanges = decodeEach('gb18030', gbFour);
if (gb18030.some((c) => c < 0) || gbRanges.some((c) => c < 0)) throw new Error('gb18030: an unmapped pointer; is this full ICU?');
// The ranges: where the four-byte pointers' code points stop being consecutive.
const gbRangeList = [];
gbRanges.forEach((cp, p) => { if (p === 0 || cp !== gbRanges[p - 1] + 1) gbRangeList.push(p, cp); });

// §11: jis0208 pointer (lead − 0xA1) × 94 + trail − 0xA1 in EUC-JP (pointers 0…8835); the IBM
// extensions at pointers 10716…11103 are reachable only from Shift_JIS:
// (lead − (lead < 0xA0 ? 0x81 : 0xC1)) × 188 + trail − (trail < 0x7F ? 0x40 : 0x41).
const eucPairs = [];
for (let p = 0; p < 8836; p++) eucPairs.push([Math.floor(p / 94) + 0xa1, (p % 94) + 0xa1]);
const jis0208 = decodeEach('euc-jp', eucPairs);
const sjisExt = [];
for (let p = 8836; p < 11104; p++) {
  const lead = Math.floor(p / 188), t = p % 188;
  sjisExt.push([lead + (lead < 0x1f ? 0x81 : 0xc1), t + (t < 0x3f ? 0x40 : 0x41)]);
}
const sjisDecoded = decodeEach('shift_jis', sjisExt);
// 8836…10715 are Shift_JIS's private-use rule (§11.3.1), no index entries.
for (let p = 8836; p < 11104; p++) jis0208.push(p < 10716 ? -1 : sjisDecoded[p - 8836]);
const sjisCheck = decodeEach('shift_jis', eucPairs.map((_, p) => {
  const lead = Math.floor(p / 188), t = p % 188;
  return [lead + (lead < 0x1f ? 0x81 : 0xc1), t + (t < 0x3f ? 0x40 : 0x41)];
}));
if (sjisCheck.some((c, p) => c !== jis0208[p])) throw new Error('jis0208: Node\'s euc-jp and shift_jis disagree');
// index jis0212: EUC-JP's 0x8F lead byte, then the same two-byte pointer.
const jis0212 = decodeEach('euc-jp', eucPairs.map(([a, b]) => [0x8f, a, b]));
// ICU maps IBM's roman numerals (7708–7727) and ㈱ (7730) here; the Standard's index-jis0212 has
// no such pointers (workerd agrees).
for (let p = 7708; p <= 7727; p++) jis0212[p] = -1;
jis0212[7730] = -1;

// ---- big5 and euc-kr, from iconv-lite's tables ---------------------------------------------------

const ICONV_TABLES = join(dirname(createRequire(import.meta.url).resolve('iconv-lite/package.json')), 'encodings/tables');

/**
 * An iconv-lite DBCS table (a list of chunks [start code in hex, part…], a part being a string of
 * consecutive codes' characters or a count of code points following on from the previous one;
 * later chunks override earlier) as a map: two-byte code (lead × 256 + trail) → code point, or
 * the array of code points for iconv-lite's character sequences (U+0FF0…U+0FFF mark one).
 */
function iconvTable(...files) {
  const map = new Map();
  for (const file of files) {
    for (const [start, ...parts] of JSON.parse(readFileSync(join(ICONV_TABLES, file), 'utf8'))) {
      let code = parseInt(start, 16);
      let last = -1;
      for (const part of parts) {
        if (typeof part === 'number') {
          for (let k = 0; k < part; k++) map.set(code++, ++last);
          continue;
        }
        for (let i = 0; i < part.length;) {
          const u = part.charCodeAt(i);
          if (u > 0x0ff0 && u <= 0x0fff) {
            const len = 0xfff - u + 2;
            map.set(code++, Array.from(part.slice(i + 1, i + 1 + len), (c) => c.charCodeAt(0)));
            i += 1 + len;
            last = -1;
            continue;
          }
          last = part.codePointAt(i);
          i += last > 0xffff ? 2 : 1;
          map.set(code++, last);
        }
      }
    }
  }
  return map;
}

// §12: pointer (lead − 0x81) × 157 + (trail − (trail < 0x7F ? 0x40 : 0x62)), leads 0x81–0xFE,
// trails 0x40–0x7E and 0xA1–0xFE. All pointers are kept (decoding uses the HKSCS ones below
// (0xA1 − 0x81) × 157 too; only the encoder, which Hearth does not have, skips them).
const BIG5_TWO_CODE_POINTS = { 1133: [0xca, 0x304], 1135: [0xca, 0x30c], 1164: [0xea, 0x304], 1166: [0xea, 0x30c] };
const big5Table = iconvTable('cp950.json', 'big5-added.json');
const big5 = [];
for (let p = 0; p < 126 * 157; p++) {
  const t = p % 157;
  const v = big5Table.get((Math.floor(p / 157) + 0x81) * 256 + t + (t < 0x3f ? 0x40 : 0x62));
  if (Array.isArray(v)) {
    // The four pointers that decode to two code points are the decoder's (§12.1.1), not the index's.
    if (String(v) !== String(BIG5_TWO_CODE_POINTS[p])) throw new Error(`big5: sequence ${v} at pointer ${p}`);
    big5.push(-1);
  } else big5.push(v ?? -1);
}
// cp950's user-defined area is not in the table, so no private-use code point should be either.
if (big5.some((c) => c >= 0xe000 && c <= 0xf8ff)) throw new Error('big5: a private-use code point');
while (big5[big5.length - 1] < 0) big5.pop();

// §13: pointer (lead − 0x81) × 190 + (trail − 0x41), leads and trails 0x81–0xFE and 0x41–0xFE.
const eucKrTable = iconvTable('cp949.json');
const eucKr = [];
for (let p = 0; p < 126 * 190; p++) {
  const v = eucKrTable.get((Math.floor(p / 190) + 0x81) * 256 + (p % 190) + 0x41);
  if (Array.isArray(v)) throw new Error(`euc-kr: sequence at pointer ${p}`);
  eucKr.push(v ?? -1);
}
while (eucKr[eucKr.length - 1] < 0) eucKr.pop();
const fmt = (n) => n.toLocaleString('en-US');

const multi = `// GENERATED by scripts/gen-encoding-indexes.mjs — do not edit; change the script and rerun it.
// The WHATWG Encoding Standard's multi-byte indexes, packed (see packed-index.ts).

/** index gb18030 (§10.2): 23,940 pointers. */
export const GB18030 = '${packIndex(gb18030)}';
/** index gb18030 ranges (§10.2): pointer, code point, … (${gbRangeList.length / 2} ranges). */
export const GB18030_RANGES = '${packNumbers(gbRangeList)}';
/** index jis0208 (§11): 11,104 pointers. */
export const JIS0208 = '${packIndex(jis0208)}';
/** index jis0212 (§11): 8,836 pointers. */
export const JIS0212 = '${packIndex(jis0212)}';
/** index big5 (§12): ${fmt(big5.length)} pointers (the HKSCS ones below 5,024 included). */
export const BIG5 = '${packIndex(big5)}';
/** index euc-kr (§13): ${fmt(eucKr.length)} pointers. */
export const EUC_KR = '${packIndex(eucKr)}';
`;
writeFileSync(fileURLToPath(new URL('../runtime/isolate/web/encodings/multi-byte-indexes.ts', import.meta.url)), multi);
console.log(`multi-byte-indexes.ts: ${multi.length} bytes`);
