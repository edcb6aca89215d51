// Function code and its V8 cached data, by code digest: in memory (bounded) over the data dir,
// so a repeated cold start neither reads the disk nor parses the script again.

import { LRUCache } from 'lru-cache';
import ivm from 'isolated-vm';
import type { ReadyKind } from './boot.js';

export interface CodeStore {
  getCode(digest: string): Buffer;
  getCache(key: string): Buffer | null;
  putCache(key: string, data: Uint8Array): void;
  dropCache(key: string): void;
}

export interface CompiledCode {
  source: string;
  /** V8 code cache for `source`, or null until an isolate has produced it. */
  cachedData: ivm.ExternalCopy<ArrayBuffer> | null;
  cachedBytes: number;
  /**
   * Whether the module is a Workers module with a fetch handler, once an isolate has loaded it: its
   * cold starts take a blank that rehearsed a web call too (boot.ts BlankKind).
   */
  web?: boolean;
  /** Whether the source names a web API the runtime loads on first use (found once, on first ask). */
  namesLazyApi?: boolean;
}

/**
 * Code that may touch URL, URLSearchParams or crypto (fetch parses its URL with URL): its cold
 * starts take a blank with them loaded. A false match costs only the ~0.25 MiB every instance
 * carried before they were loaded on first use.
 */
const NAMES_LAZY_API = /\bURL\b|URLSearchParams|\bfetch\b|\b[Cc]rypto\b/;

export class CodeCache {
  private readonly entries: LRUCache<string, CompiledCode>;

  constructor(private readonly store: CodeStore, maxBytes = 256 * 1024 * 1024) {
    this.entries = new LRUCache<string, CompiledCode>({
      maxSize: maxBytes,
      sizeCalculation: (c) => Math.max(1, c.source.length * 2 + c.cachedBytes),
    });
  }

  get(digest: string): CompiledCode {
    let c = this.entries.get(digest);
    if (c === undefined) {
      const source = this.store.getCode(digest).toString('utf8');
      const cached = this.store.getCache(digest);
      c = { source, cachedData: cached ? toExternal(cached) : null, cachedBytes: cached?.byteLength ?? 0 };
      this.entries.set(digest, c);
    }
    return c;
  }

  /** Seeds the cache at deploy, before the code reaches the disk reader. */
  put(digest: string, source: string): void {
    if (!this.entries.has(digest)) this.entries.set(digest, { source, cachedData: null, cachedBytes: 0 });
  }

  /** Keeps the cached data an isolate produced (memory and disk). */
  setCachedData(digest: string, data: ivm.ExternalCopy<ArrayBuffer>): void {
    const bytes = Buffer.from(data.copy());
    const c = this.get(digest);
    c.cachedData = data;
    c.cachedBytes = bytes.byteLength;
    this.entries.set(digest, c);
    this.store.putCache(digest, bytes);
  }

  /** The kind of blank the code's cold starts take (boot.ts BlankKind). */
  blankKind(digest: string): ReadyKind {
    const c = this.get(digest);
    if (c.web === true) return 'web';
    return (c.namesLazyApi ??= NAMES_LAZY_API.test(c.source)) ? 'apis' : 'event';
  }

  /** What the code offers, learnt when an isolate loaded it. */
  setOffersFetch(digest: string, web: boolean): void {
    const c = this.entries.peek(digest);
    if (c) c.web = web;
  }

  /** V8 rejected the cached data (e.g. another V8 or flags): forget it; the next start makes new. */
  reject(digest: string): void {
    const c = this.entries.get(digest);
    if (c) { c.cachedData = null; c.cachedBytes = 0; }
    this.store.dropCache(digest);
  }
}

export function toExternal(buf: Uint8Array): ivm.ExternalCopy<ArrayBuffer> {
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
  return new ivm.ExternalCopy(ab);
}
