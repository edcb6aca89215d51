// A deploy's zip (or jar), inflated under limits measured on the bytes that come out, never on
// what its headers claim: a 1 MB archive can declare 10 bytes and inflate to gigabytes, and one
// with 100,000 entries costs as much as its count. fflate's streaming Unzip reads the local
// headers in order and hands each file's inflated chunks over as they come, so the running count
// stops the work at the first byte past a limit. Runs in a deploy worker (deploy-work.ts), not on
// the event loop.

import { Unzip, UnzipInflate, type UnzipFile } from 'fflate';
import { HearthError } from '../errors.js';

export interface ArchiveLimits {
  /** Bytes inflated, all files together (Lambda's unzipped limit is 250 MB). */
  maxUnzippedBytes: number;
  /** Entries (files and folders). */
  maxFiles: number;
  /** Bytes inflated of one file. */
  maxFileBytes: number;
}

export const DEFAULT_ARCHIVE_LIMITS: ArchiveLimits = {
  maxUnzippedBytes: 250 * 1024 * 1024,
  maxFiles: 10_000,
  maxFileBytes: 64 * 1024 * 1024,
};

/** Fed to Unzip this much at a time: it recurses once per entry within a chunk, so a chunk bounds its stack. */
const CHUNK = 64 * 1024;

/**
 * Inflates `zip` entry by entry; `onFile(name, bytes)` gets each file (not folders) once it is
 * complete, or nothing when `keep` is false (a container runtime's archive is only measured here).
 * Throws HearthError: 413 ArchiveTooLarge / TooManyFiles past a limit, 400 InvalidSpec when it is
 * not a zip it can read.
 */
export function unpackZip(
  zip: Uint8Array, limits: ArchiveLimits, what: string,
  onFile?: (name: string, data: Uint8Array) => void,
): { files: number; bytes: number } {
  let files = 0;
  let total = 0;
  let failure: Error | null = null;
  const unzip = new Unzip((file: UnzipFile) => {
    if (++files > limits.maxFiles) {
      throw new HearthError('TooManyFiles', `${what}: more than ${limits.maxFiles} entries (the limit; --deploy-max-files)`);
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    file.ondata = (err, data, final) => {
      if (err) {
        failure = err;
        return;
      }
      size += data.length;
      total += data.length;
      if (size > limits.maxFileBytes) {
        file.terminate();
        throw new HearthError('ArchiveTooLarge', `${what}: "${printable(file.name)}" inflates past ${limits.maxFileBytes} bytes (the per-file limit; --deploy-max-file-bytes)`);
      }
      if (total > limits.maxUnzippedBytes) {
        file.terminate();
        throw new HearthError('ArchiveTooLarge', `${what}: inflates past ${limits.maxUnzippedBytes} bytes (the limit; --deploy-max-unzipped-bytes)`);
      }
      if (onFile) chunks.push(data);
      if (final && onFile && !file.name.endsWith('/')) onFile(file.name, concat(chunks, size));
    };
    file.start();
  });
  unzip.register(UnzipInflate);
  try {
    for (let at = 0; at < zip.length; at += CHUNK) {
      const end = Math.min(at + CHUNK, zip.length);
      unzip.push(zip.subarray(at, end), end === zip.length);
      if (failure) throw failure;
    }
    if (zip.length === 0) throw new Error('empty');
  } catch (err) {
    if (err instanceof HearthError) throw err;
    throw new HearthError('InvalidSpec', `${what}: not a readable zip archive (${(err as Error).message})`);
  }
  if (files === 0) throw new HearthError('InvalidSpec', `${what}: not a readable zip archive (no entries)`);
  return { files, bytes: total };
}

function concat(chunks: Uint8Array[], size: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** An entry's name as an error may quote it: bounded, no control characters. */
function printable(name: string): string {
  const clean = name.replace(/[\u0000-\u001f\u007f]/g, '?');
  return clean.length > 200 ? `${clean.slice(0, 200)}…` : clean;
}
