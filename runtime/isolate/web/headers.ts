// Headers (WHATWG Fetch §5.2) for the isolate. Names are kept lower-case; iteration is sorted by
// name with repeated values joined by ", ", except Set-Cookie, whose values stay apart (as in
// browsers and workerd, and as getSetCookie() returns them).

export type HeadersInit = Headers | Iterable<Iterable<string>> | Record<string, string>;

/** RFC 9110 token characters. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Leading and trailing HTTP whitespace (tab, LF, CR, space). */
const TRIM = /^[\t\n\r ]+|[\t\n\r ]+$/g;
const BAD_VALUE = /[\0\r\n]/;

export type HeadersGuard = 'none' | 'immutable';

const guards = new WeakMap<Headers, HeadersGuard>();

export function normalizeName(name: unknown): string {
  const s = String(name);
  if (!TOKEN.test(s)) throw new TypeError(`Invalid header name: "${s}"`);
  return s.toLowerCase();
}

export function normalizeValue(value: unknown): string {
  const s = String(value).replace(TRIM, '');
  if (BAD_VALUE.test(s)) throw new TypeError(`Invalid header value for a header (it contains NUL, CR or LF)`);
  return s;
}

export class Headers {
  /** name → values in insertion order. */
  #map = new Map<string, string[]>();

  constructor(init?: HeadersInit) {
    if (init === undefined || init === null) return;
    if (init instanceof Headers) {
      for (const [k, v] of init.#map) this.#map.set(k, v.slice());
      return;
    }
    if (typeof init !== 'object' && typeof init !== 'function') {
      throw new TypeError("Failed to construct 'Headers': The provided value is not of type '(record<ByteString, ByteString> or sequence<sequence<ByteString>>)'");
    }
    if (typeof (init as Iterable<unknown>)[Symbol.iterator] === 'function') {
      for (const pair of init as Iterable<Iterable<string>>) {
        if (typeof pair !== 'object' || pair === null || typeof (pair as Iterable<string>)[Symbol.iterator] !== 'function') {
          throw new TypeError("Failed to construct 'Headers': The provided value cannot be converted to a sequence.");
        }
        const p = [...pair];
        if (p.length !== 2) throw new TypeError("Failed to construct 'Headers': Invalid value (each header must be a [name, value] pair)");
        this.append(p[0]!, p[1]!);
      }
      return;
    }
    for (const k of Object.keys(init)) this.append(k, (init as Record<string, string>)[k]!);
  }

  append(name: string, value: string): void {
    const n = normalizeName(name);
    const v = normalizeValue(value);
    this.#check();
    const list = this.#map.get(n);
    if (list) list.push(v);
    else this.#map.set(n, [v]);
  }

  delete(name: string): void {
    const n = normalizeName(name);
    this.#check();
    this.#map.delete(n);
  }

  get(name: string): string | null {
    const list = this.#map.get(normalizeName(name));
    return list === undefined ? null : list.join(', ');
  }

  getSetCookie(): string[] {
    return this.#map.get('set-cookie')?.slice() ?? [];
  }

  /** workerd's older name for getSetCookie, kept for scripts written against it. */
  getAll(name: string): string[] {
    const n = normalizeName(name);
    if (n !== 'set-cookie') throw new TypeError('getAll() can only be used with the header name "Set-Cookie".');
    return this.getSetCookie();
  }

  has(name: string): boolean {
    return this.#map.has(normalizeName(name));
  }

  set(name: string, value: string): void {
    const n = normalizeName(name);
    const v = normalizeValue(value);
    this.#check();
    this.#map.set(n, [v]);
  }

  forEach(cb: (value: string, name: string, headers: Headers) => void, thisArg?: unknown): void {
    for (const [k, v] of this.#sorted()) cb.call(thisArg, v, k, this);
  }

  *entries(): IterableIterator<[string, string]> {
    yield* this.#sorted();
  }

  *keys(): IterableIterator<string> {
    for (const [k] of this.#sorted()) yield k;
  }

  *values(): IterableIterator<string> {
    for (const [, v] of this.#sorted()) yield v;
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }

  get [Symbol.toStringTag](): string {
    return 'Headers';
  }

  #check(): void {
    if (guards.get(this) === 'immutable') throw new TypeError("Can't modify immutable headers.");
  }

  #sorted(): [string, string][] {
    const names = [...this.#map.keys()].sort();
    const out: [string, string][] = [];
    for (const n of names) {
      const list = this.#map.get(n)!;
      if (n === 'set-cookie') for (const v of list) out.push([n, v]);
      else out.push([n, list.join(', ')]);
    }
    return out;
  }

  /** Flat [name, value, ...] for the host, one entry per Set-Cookie value. */
  static toFlat(h: Headers): string[] {
    const out: string[] = [];
    for (const [k, list] of h.#map) {
      if (k === 'set-cookie') for (const v of list) out.push(k, v);
      else out.push(k, list.join(', '));
    }
    return out;
  }

  /** From the host's flat list; names already lower-case and valid values (checked anyway). */
  static fromFlat(flat: string[], guard: HeadersGuard): Headers {
    const h = new Headers();
    for (let i = 0; i + 1 < flat.length; i += 2) {
      try { h.append(flat[i]!, flat[i + 1]!); } catch { /* a header no client could send: dropped */ }
    }
    if (guard !== 'none') guards.set(h, guard);
    return h;
  }

  static setGuard(h: Headers, guard: HeadersGuard): void {
    guards.set(h, guard);
  }
}
