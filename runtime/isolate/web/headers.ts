// Headers (WHATWG Fetch §5.2) for the isolate, bound as WebIDL binds it (HeadersInit's union
// conversion, ByteString values, default iterator objects). Names are kept lower-case; iteration is sorted by
// name with repeated values joined by ", ", except Set-Cookie, whose values stay apart (as in
// browsers and workerd, and as getSetCookie() returns them).

export type HeadersInit = Headers | Iterable<Iterable<string>> | Record<string, string>;

/** RFC 9110 token characters. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Leading and trailing HTTP whitespace (tab, LF, CR, space). */
const TRIM = /^[\t\n\r ]+|[\t\n\r ]+$/g;
const BAD_VALUE = /[\0\r\n]/;
/** What a ByteString may not hold (WebIDL): a code unit above U+00FF. */
const ABOVE_LATIN1 = /[^\0-\xff]/;

export type HeadersGuard = 'none' | 'immutable';

const guards = new WeakMap<Headers, HeadersGuard>();

export function normalizeName(name: unknown): string {
  const s = String(name);
  if (!TOKEN.test(s)) throw new TypeError(`Invalid header name: "${s}"`);
  return s.toLowerCase();
}

/** `script`: a value from the function's own code, a ByteString (WebIDL); the host's values are taken as they came. */
export function normalizeValue(value: unknown, script = true): string {
  const s = (script ? byteString(value) : String(value)).replace(TRIM, '');
  if (BAD_VALUE.test(s)) throw new TypeError(`Invalid header value for a header (it contains NUL, CR or LF)`);
  return s;
}

export class Headers {
  /** name → values in insertion order. */
  #map = new Map<string, string[]>();

  /** Bumped by every change: iterators and forEach see the headers as they are at each step. */
  #version = 0;
  #sortedCache: { version: number; list: [string, string][] } | null = null;

  constructor(init?: HeadersInit) {
    if (init === undefined) return;
    if (init instanceof Headers && (init as Headers)[Symbol.iterator] === Headers.prototype.entries) {
      for (const [k, v] of init.#map) this.#map.set(k, v.slice());
      return;
    }
    // WebIDL's conversion to (sequence<sequence<ByteString>> or record<ByteString, ByteString>),
    // whole, before any header is added (Fetch's "fill").
    for (const [name, value] of headersInit(init)) this.append(name, value);
  }

  append(name: string, value: string): void {
    this.#add(normalizeName(name), normalizeValue(value));
  }

  #add(n: string, v: string): void {
    this.#check();
    const list = this.#map.get(n);
    if (list) list.push(v);
    else this.#map.set(n, [v]);
    this.#version++;
  }

  delete(name: string): void {
    const n = normalizeName(name);
    this.#check();
    if (this.#map.delete(n)) this.#version++;
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
    this.#version++;
  }

  /** WebIDL's forEach of a pair iterable: the pairs are read again after each callback. */
  forEach(cb: (value: string, name: string, headers: Headers) => void, thisArg?: unknown): void {
    if (typeof cb !== 'function') throw new TypeError("Failed to execute 'forEach' on 'Headers': parameter 1 is not of type 'Function'.");
    for (let i = 0; i < this.#sorted().length; i++) {
      const [k, v] = this.#sorted()[i]!;
      cb.call(thisArg, v, k, this);
    }
  }

  entries(): IterableIterator<[string, string]> {
    return headersIterator(this, 'key+value') as IterableIterator<[string, string]>;
  }

  keys(): IterableIterator<string> {
    return headersIterator(this, 'key') as IterableIterator<string>;
  }

  values(): IterableIterator<string> {
    return headersIterator(this, 'value') as IterableIterator<string>;
  }

  declare [Symbol.iterator]: () => IterableIterator<[string, string]>;

  /** The sort-and-combine list, as it is now (made again only after a change). */
  static pairs(h: Headers): [string, string][] {
    return h.#sorted();
  }

  #check(): void {
    if (guards.get(this) === 'immutable') throw new TypeError("Can't modify immutable headers.");
  }

  #sorted(): [string, string][] {
    if (this.#sortedCache !== null && this.#sortedCache.version === this.#version) return this.#sortedCache.list;
    const names = [...this.#map.keys()].sort();
    const out: [string, string][] = [];
    for (const n of names) {
      const list = this.#map.get(n)!;
      if (n === 'set-cookie') for (const v of list) out.push([n, v]);
      else out.push([n, list.join(', ')]);
    }
    this.#sortedCache = { version: this.#version, list: out };
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

  /**
   * From the host's flat list; names already lower-case and valid values (checked anyway). A value
   * is taken as the host decoded it, above U+00FF too: a request header is never lost to the
   * ByteString rule, which is for what scripts write.
   */
  static fromFlat(flat: string[], guard: HeadersGuard): Headers {
    const h = new Headers();
    for (let i = 0; i + 1 < flat.length; i += 2) {
      try { h.#add(normalizeName(flat[i]!), normalizeValue(flat[i + 1]!, false)); } catch { /* a header no client could send: dropped */ }
    }
    if (guard !== 'none') guards.set(h, guard);
    return h;
  }

  static setGuard(h: Headers, guard: HeadersGuard): void {
    guards.set(h, guard);
  }
}

// WebIDL: @@iterator is the same function object as entries; the class tag is a data property.
Object.defineProperty(Headers.prototype, Symbol.iterator, { value: Headers.prototype.entries, writable: true, enumerable: false, configurable: true });
Object.defineProperty(Headers.prototype, Symbol.toStringTag, { value: 'Headers', writable: false, enumerable: false, configurable: true });

/** A ByteString (WebIDL): ToString, then every code unit at most 0xFF. */
function byteString(v: unknown): string {
  const s = String(v);
  const i = s.search(ABOVE_LATIN1);
  if (i >= 0) throw new TypeError(`Cannot convert "${s}" to a ByteString: the character at ${i} is above U+00FF`);
  return s;
}

/**
 * HeadersInit converted as WebIDL converts its union: an object with @@iterator is a sequence of
 * sequences (each converted whole, then checked to be a pair); any other object is a record,
 * read key by key in [[OwnPropertyKeys]] order (each key's [[GetOwnProperty]], then its [[Get]]),
 * its enumerable keys only; anything else (null too) is a TypeError.
 */
function headersInit(init: unknown): [string, string][] {
  if (init === null || (typeof init !== 'object' && typeof init !== 'function')) {
    throw new TypeError("Failed to construct 'Headers': The provided value is not of type '(record<ByteString, ByteString> or sequence<sequence<ByteString>>)'");
  }
  const o = init as Record<PropertyKey, unknown>;
  const method = o[Symbol.iterator];
  if (method !== undefined && method !== null) {
    if (typeof method !== 'function') throw new TypeError("Failed to construct 'Headers': @@iterator is not a function");
    const seqs: string[][] = [];
    for (const item of { [Symbol.iterator]: () => (method as () => Iterator<unknown>).call(o) }) {
      if (item === null || (typeof item !== 'object' && typeof item !== 'function')) {
        throw new TypeError("Failed to construct 'Headers': The provided value cannot be converted to a sequence.");
      }
      const inner = (item as Record<PropertyKey, unknown>)[Symbol.iterator];
      if (typeof inner !== 'function') throw new TypeError("Failed to construct 'Headers': The provided value cannot be converted to a sequence.");
      const seq: string[] = [];
      for (const x of { [Symbol.iterator]: () => (inner as () => Iterator<unknown>).call(item) }) seq.push(byteString(x));
      seqs.push(seq);
    }
    return seqs.map((p) => {
      if (p.length !== 2) throw new TypeError("Failed to construct 'Headers': Invalid value (each header must be a [name, value] pair)");
      return [p[0]!, p[1]!];
    });
  }
  const out: [string, string][] = [];
  for (const key of Reflect.ownKeys(o)) {
    const desc = Reflect.getOwnPropertyDescriptor(o, key);
    if (desc === undefined || !desc.enumerable) continue;
    if (typeof key === 'symbol') throw new TypeError("Failed to construct 'Headers': a record's key cannot be a Symbol");
    const name = byteString(key);
    out.push([name, byteString(o[key])]);
  }
  return out;
}

type IterationKind = 'key' | 'value' | 'key+value';
const iterators = new WeakMap<object, { headers: Headers; kind: IterationKind; index: number }>();

/** %IteratorPrototype%: what every built-in iterator's prototype inherits from. */
const IteratorPrototype = Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]())) as object;

/** The "Headers Iterator" prototype (WebIDL's default iterator objects for a pair iterable). */
const HeadersIteratorPrototype = Object.create(IteratorPrototype, {
  next: {
    value: function next(this: unknown): IteratorResult<unknown> {
      const st = typeof this === 'object' && this !== null ? iterators.get(this) : undefined;
      if (st === undefined) throw new TypeError("Failed to execute 'next' on 'Headers Iterator': Illegal invocation");
      const pairs = Headers.pairs(st.headers);
      if (st.index >= pairs.length) return { value: undefined, done: true };
      const [k, v] = pairs[st.index++]!;
      return { value: st.kind === 'key' ? k : st.kind === 'value' ? v : [k, v], done: false };
    },
    writable: true, enumerable: true, configurable: true,
  },
  [Symbol.toStringTag]: { value: 'Headers Iterator', writable: false, enumerable: false, configurable: true },
}) as object;

function headersIterator(headers: Headers, kind: IterationKind): object {
  Headers.pairs(headers); // a Headers, or a TypeError (its private state is the brand)
  const it = Object.create(HeadersIteratorPrototype) as object;
  iterators.set(it, { headers, kind, index: 0 });
  return it;
}
