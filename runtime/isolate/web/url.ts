// URL and URLSearchParams (WHATWG URL) for bare V8 isolates, from core-js-pure, whose polyfill
// needs no web globals (it has its own UTF-8 percent-encoding and punycode). It uses the native
// classes where they exist (in Node, for instance), so only a bare isolate gets the polyfill;
// bare-isolate.test.ts and url.test.ts test that one. The interfaces below are declared here
// because the runtime is type-checked without the DOM library and core-js-pure has no types.
// core-js implements URL.canParse, URL.parse, toJSON and URLSearchParams size, has(name, value)
// and delete(name, value), and follows the current URL Standard where Node 20 does not yet (`^` is
// percent-encoded in paths). Deviation: hostnames get UTS #46 without its mapping table — the
// mapping is approximated by NFKC + lower case (x.ﬀ.com is x.ff.com), xn-- labels are decoded and
// checked, CheckJoiners and CheckBidi are approximated (a virama before U+200C/U+200D, or U+200C
// between letters of a joining script; no label mixing right-to-left and left-to-right letters).
// Fixed in patches/core-js-pure+3.51.0.patch: file URLs keep leading empty path segments (file:////x)
// and their host before a drive letter (file://h/C:), UTS #46 as above,
// a blob: URL's origin is its path URL's only for http, https and file, and URLSearchParams takes
// USVStrings (lone surrogates become U+FFFD on the way in).
// Fixed here: core-js's href setter wipes the URL before it finds the new value invalid (the URL
// then reads ":"); the spec leaves the URL as it was, so the value is checked first.

// @ts-ignore -- core-js-pure ships no type declarations
import CoreURL from 'core-js-pure/stable/url/index.js';
// @ts-ignore -- core-js-pure ships no type declarations
import CoreURLSearchParams from 'core-js-pure/stable/url-search-params/index.js';

export interface URLSearchParams {
  readonly size: number;
  append(name: string, value: string): void;
  delete(name: string, value?: string): void;
  get(name: string): string | null;
  getAll(name: string): string[];
  has(name: string, value?: string): boolean;
  set(name: string, value: string): void;
  sort(): void;
  toString(): string;
  forEach(callback: (value: string, key: string, parent: URLSearchParams) => void, thisArg?: unknown): void;
  entries(): IterableIterator<[string, string]>;
  keys(): IterableIterator<string>;
  values(): IterableIterator<string>;
  [Symbol.iterator](): IterableIterator<[string, string]>;
}

export type URLSearchParamsInit = string | URLSearchParams | Iterable<readonly [string, string]> | Record<string, string>;

export interface URLSearchParamsConstructor {
  new (init?: URLSearchParamsInit): URLSearchParams;
  readonly prototype: URLSearchParams;
}

export interface URL {
  hash: string;
  host: string;
  hostname: string;
  href: string;
  readonly origin: string;
  password: string;
  pathname: string;
  port: string;
  protocol: string;
  search: string;
  readonly searchParams: URLSearchParams;
  username: string;
  toString(): string;
  toJSON(): string;
}

export interface URLConstructor {
  new (url: string | URL, base?: string | URL): URL;
  readonly prototype: URL;
  canParse(url: string | URL, base?: string | URL): boolean;
  parse(url: string | URL, base?: string | URL): URL | null;
}

export const URL: URLConstructor = CoreURL;
export const URLSearchParams: URLSearchParamsConstructor = CoreURLSearchParams;

if (URL !== (globalThis as { URL?: unknown }).URL) { // the polyfill, not a native URL
  const href = Object.getOwnPropertyDescriptor(URL.prototype, 'href')!;
  const setHref = href.set!;
  const canParse = URL.canParse;
  Object.defineProperty(URL.prototype, 'href', {
    ...href,
    set(this: URL, value: unknown) {
      const s = String(value);
      if (!canParse(s)) throw new TypeError(`Invalid URL: ${s}`);
      setHref.call(this, s);
    },
  });
}
