// URL and URLSearchParams of url.ts against Node's own. In Node, core-js-pure hands out the native
// classes, so url.ts is bundled and run in a fresh node:vm context (only ECMAScript built-ins, no
// URL, no TextEncoder), where it must use its polyfill, as in a bare isolate.

import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { createContext, runInContext } from 'node:vm';
import { beforeAll, describe, expect, test } from 'vitest';
import type { URLConstructor, URLSearchParamsConstructor } from './url.js';

let PURL: URLConstructor;
let PURLSearchParams: URLSearchParamsConstructor;

beforeAll(async () => {
  const { outputFiles } = await build({
    entryPoints: [fileURLToPath(new URL('./url.ts', import.meta.url))],
    bundle: true, write: false, format: 'iife', globalName: 'web', platform: 'browser', target: 'es2022',
  });
  const context = createContext({});
  expect(runInContext('typeof URL + typeof URLSearchParams + typeof TextEncoder', context)).toBe('undefinedundefinedundefined');
  runInContext(outputFiles[0]!.text, context);
  PURL = runInContext('web.URL', context);
  PURLSearchParams = runInContext('web.URLSearchParams', context);
  expect(PURL).not.toBe(URL);
});

const KEYS = ['href', 'origin', 'protocol', 'username', 'password', 'host', 'hostname', 'port', 'pathname', 'search', 'hash'] as const;

function parts(Ctor: URLConstructor | typeof URL, input: string, base?: string): Record<string, string> | string {
  try {
    const u = new Ctor(input, base) as unknown as Record<string, string>;
    return Object.fromEntries(KEYS.map((k) => [k, u[k]!]));
  } catch (e) {
    return `throws ${(e as Error).name}`;
  }
}

const R = 'http://a/b/c/d;p?q';
const CASES: [string, string?][] = [
  ['https://EXAMPLE.com/a/../b?x=1#h'],
  // IDN hostnames
  ['http://münchen.de/'], ['https://☃.net/'], ['http://Bücher.example/ß'], ['http://faß.de/'], ['http://ＥＸＡＭＰＬＥ.com/'],
  ['http://xn--mnchen-3ya.de/'], ['http://ex%41mple.com/'], ['http://EXAMPLE.COM./'], ['http://ab\u00ADc.com/'], ['http://日本語。ＪＰ/'],
  // IPv4 and IPv6
  ['http://192.168.0.1/'], ['http://0x7f.1/'], ['http://3232235521/'], ['http://1.2.3.4.5/'], ['http://0300.0250.0.1/'],
  ['http://999.1.1.1/'], ['http://1.2.3.09/'], ['http://foo.09/'], ['http://foo.0x4/'], ['http://[::1]/'],
  ['http://[2001:db8::0:1]:8080/p'], ['http://[::ffff:192.168.0.1]/'], ['http://[1:0:0:2:0:0:0:3]/'], ['http://[0:0:0:0:0:0:0:0]/'],
  ['http://[::1'], ['http://[::1.2.3]/'], ['http://[1::2::3]/'],
  // ports and credentials
  ['http://example.com:80/'], ['https://example.com:443/'], ['HTTP://EXAMPLE.COM:0080/'], ['https://a:99999/'],
  ['http://a:b@c/'], ['http://a@b@c/'], ['http://:@c/'], ['http://us er:pa ss@c/'],
  // percent-encoding
  ['http://example.com/ä?ä#ä'], ['http://example.com/%7e/%7E'], ['http://example.com/a b?c d#e f'], ["http://x/?'\"<>`"],
  ["foo://x/?'\"<>`"], ['http://x/#`"<> '], ['http://x/\ud800'], ['http://x/%zz'], ['http://x/?q=%zz&é=ü'],
  // schemes
  ['file:///C:/x/../y'], ['file://host/share/a'], ['file:///'], ['file://localhost/etc'], ['file:c:\\foo\\bar'],
  ['data:text/plain,hello world'], ['mailto:a@b.c'], ['javascript:alert(1)'], ['non-special://host/a/../b'], ['foo://ex ample'],
  ['foo:/a/../b'], ['foo:a/../b'], ['sc://ñ/x'], ['sc://%/'], ['blob:https://a.com/uuid'], ['ws://x/'], ['wss://x:443/'],
  // parser leniency and failures
  ['http:\\\\example.com\\a\\b'], ['ht\ttp://exa\nmple.com/'], ['  http://x.com/  '], ['http://'], ['http://exa mple.com'],
  [''], ['//x'], ['http://a<b/'], ['http://a%00b/'], ['http://%zz/'], ['http://example.com/./a/%2e%2E/b'],
  ['http://example.com?a=1&b=2#x'], ['http://example.com/a/..'], ['http://example.com/a/.%2e/b'],
  // relative resolution (RFC 3986 §5.4 and more)
  ['../c?d#e', R], ['g', R], ['./g', R], ['g/', R], ['/g', R], ['//g', R], ['?y', R], ['g?y', R], ['#s', R], ['', R],
  ['../../../g', R], ['g;x=1/../y', R], ['g:h', R], ['http:g', R], ['\\\\x\\y', 'http://a/b'], ['x', 'data:text/plain,a'],
  ['x', 'file:///a/b'], ['..', 'file:///C:/'], ['?q', 'foo:opaque'], ['#f', 'foo:opaque'], ['x', 'not a url'],
];

describe('URL (core-js polyfill) against Node', () => {
  test('href and every component of tricky URLs', () => {
    for (const [input, base] of CASES) {
      expect({ input, base, got: parts(PURL, input, base) }).toEqual({ input, base, got: parts(URL, input, base) });
    }
  });

  test('where core-js follows the newer URL Standard or deviates', () => {
    // whatwg/url#846 (2025): `^` is percent-encoded in paths; Node 20 predates it.
    expect(new PURL('http://x/a^b').pathname).toBe('/a%5Eb');
  });
});

// The URL Standard's parts that core-js got wrong, patched in patches/core-js-pure+3.51.0.patch.
describe('URL Standard conformance (patched core-js)', () => {
  test('§4.4 path state: a file URL keeps its leading empty path segments (the old "remove them" step is gone)', () => {
    expect(new PURL('file:////x').pathname).toBe('//x');
    expect(new PURL('file:////x').href).toBe('file:////x');
    expect(new PURL('/..//', 'file:///').href).toBe('file:////');
    expect(new PURL('file:///a//b').pathname).toBe('/a//b');
    // Windows drive letters stay as the file host and path states say.
    expect(new PURL('file:///C|/foo').href).toBe('file:///C:/foo');
    expect(new PURL('/C:/x', 'file:///D:/y').href).toBe('file:///C:/x');
    expect(new PURL('..', 'file:///C:/').href).toBe('file:///C:/');
    expect(new PURL('file://localhost/C:/x').href).toBe('file:///C:/x');
  });

  test('§4.4 path state: a Windows drive letter after a file host keeps the host (the step that emptied it is gone)', () => {
    expect(new PURL('file://srv/D:').href).toBe('file://srv/D:');
    expect(new PURL('E|', 'file://srv/share/doc').href).toBe('file://srv/E:');
    expect(new PURL('/e:/a/b', 'file://srv/share').href).toBe('file://srv/e:/a/b');
  });

  // URL Standard §3.3 "domain to ASCII" runs UTS #46 ToASCII (CheckBidi, CheckJoiners, Nontransitional).
  test('§3.3 domain to ASCII: UTS #46 mapping (compatibility forms, NFC, lower case)', () => {
    expect(new PURL('http://x.\ufb00.com/').hostname).toBe('x.ff.com'); // LATIN SMALL LIGATURE FF
    expect(new PURL('http://\u2167.example/').hostname).toBe('viii.example'); // ROMAN NUMERAL EIGHT
    expect(new PURL('http://\u2122.example/').hostname).toBe('tm.example'); // TRADE MARK SIGN
    expect(new PURL('http://\u2110.example/').hostname).toBe('i.example'); // SCRIPT CAPITAL I
    expect(new PURL('http://o\u0308.example/').hostname).toBe(new PURL('http://\u00f6.example/').hostname); // NFC
    expect(new PURL('http://\u3393.example/').hostname).toBe('ghz.example'); // SQUARE GHZ
    // Nontransitional: sharp s and final sigma stay (punycoded), they are not mapped to ss / sigma.
    expect(new PURL('http://stra\u00dfe.example/').hostname).toBe('xn--strae-oqa.example');
  });

  test('§3.3 domain to ASCII: disallowed and invalid labels fail', () => {
    expect(parts(PURL, 'http://\u0379.example/')).toBe('throws TypeError'); // unassigned
    expect(parts(PURL, 'http://a\u2025b/')).toBe('throws TypeError'); // TWO DOT LEADER maps onto full stops
    expect(parts(PURL, 'http://\u0308o.example/')).toBe('throws TypeError'); // label begins with a combining mark
    expect(parts(PURL, 'http://x\u200dy.example/')).toBe('throws TypeError'); // CheckJoiners: ZWJ without a virama
    expect(new PURL('http://\u0915\u094d\u200d.example/').hostname).toMatch(/^xn--/); // ZWJ after a virama
    expect(parts(PURL, 'http://\u05d1b.example/')).toBe('throws TypeError'); // CheckBidi: Hebrew and Latin letters in one label
    expect(new PURL('http://\u05d1\u05d2.b.example/').hostname).toMatch(/^xn--/); // RTL label beside LTR labels
  });

  test('§3.3 domain to ASCII: "xn--" labels are Punycode-decoded and checked (UTS #46 §4 step 4)', () => {
    expect(new PURL('http://XN--STRAE-OQA.example/').hostname).toBe('xn--strae-oqa.example');
    expect(new PURL('http://xn--i-7iq.example/').hostname).toBe('xn--i-7iq.example'); // "i\u2665"
    expect(parts(PURL, 'http://xn--ca.example/')).toBe('throws TypeError'); // decodes to U+0082, a control
    expect(parts(PURL, 'http://xn--xyz-.example/')).toBe('throws TypeError'); // decodes to ASCII only
    expect(parts(PURL, 'http://xn--.example/')).toBe('throws TypeError'); // empty
    expect(parts(PURL, 'http://xn--!!.example/')).toBe('throws TypeError'); // not Punycode
    expect(parts(PURL, 'http://xn--mnchen-3ya\u00e9.example/')).toBe('throws TypeError'); // non-ASCII in an xn-- label
    expect(parts(PURL, 'http://xn--7ba.example/')).toBe('throws TypeError'); // decodes to U+00C4, which maps (to U+00E4)
  });

  test('§6.1 origin of a blob: URL: its path URL\'s origin if that is http, https or file; otherwise opaque', () => {
    expect(new PURL('blob:https://a.com/uuid').origin).toBe('https://a.com');
    expect(new PURL('blob:http://[::1]:8080/x').origin).toBe('http://[::1]:8080');
    expect(new PURL('blob:ftp://host/path').origin).toBe('null');
    expect(new PURL('blob:blob:https://a.com/').origin).toBe('null');
    expect(new PURL('blob:d3958f5c-0777-0845-9dcf-2cb28783acaf').origin).toBe('null');
    expect(new PURL('blob:file:///x').origin).toBe('null');
  });

  test('§6.2 URLSearchParams takes USVStrings: lone surrogates become U+FFFD on the way in', () => {
    const lone = 'a\ud800b\udc00';
    const fixed = 'a\ufffdb\ufffd';
    const p = new PURLSearchParams();
    p.append(lone, lone);
    expect([...p]).toEqual([[fixed, fixed]]);
    expect(p.get(fixed)).toBe(fixed);
    expect(p.has(lone)).toBe(true);
    expect([...new PURLSearchParams([[lone, lone]])]).toEqual([[fixed, fixed]]);
    expect([...new PURLSearchParams({ [lone]: lone })]).toEqual([[fixed, fixed]]);
    expect([...new PURLSearchParams(`${lone}=${lone}`)]).toEqual([[fixed, fixed]]);
    p.set(lone, 'x');
    expect(p.toString()).toBe('a%EF%BF%BDb%EF%BF%BD=x');
    // A well-formed pair is left alone.
    expect(new PURLSearchParams([['\ud83d\ude00', '1']]).get('\ud83d\ude00')).toBe('1');
  });

  test('setters', () => {
    const run = (C: URLConstructor) => {
      const u = new C('http://user@example.com:8080/a?b#c');
      const out: string[] = [];
      const set = (key: 'pathname' | 'hostname' | 'port' | 'protocol' | 'hash' | 'search' | 'username' | 'password' | 'host' | 'href', value: string) => {
        try { u[key] = value; } catch (e) { out.push(`${key} throws ${(e as Error).name}`); }
        out.push(u.href);
      };
      set('pathname', '/x y/é?#');
      set('hostname', 'München.de');
      set('port', '80');
      set('port', '99999');
      set('port', '81abc');
      set('protocol', 'https');
      set('protocol', 'foo');
      set('hash', 'frag ment');
      set('search', 'q=1 2');
      set('username', 'us:er');
      set('password', 'p@ss');
      set('host', 'example.org:443');
      set('hostname', '[::1]');
      set('href', 'not a url');
      set('href', 'ws://z/');
      return out;
    };
    expect(run(PURL)).toEqual(run(URL as unknown as URLConstructor));
  });

  test('searchParams mutation updates the URL, and search updates searchParams', () => {
    const hrefs = (C: URLConstructor) => {
      const u = new C('http://x/?a=1&b=2&a=3');
      const sp = u.searchParams;
      const out: string[] = [];
      sp.append('c', '4 5+&é');
      out.push(u.href);
      sp.delete('a');
      out.push(u.href);
      sp.set('b', '~!*()\'');
      out.push(u.href);
      sp.append('a', '0');
      sp.sort();
      out.push(u.href);
      u.search = '?z=1&y=%20+';
      out.push(JSON.stringify([...u.searchParams]), String(u.searchParams.get('y')));
      u.searchParams.delete('z');
      u.searchParams.delete('y');
      out.push(u.href, String(sp === u.searchParams));
      return out;
    };
    expect(hrefs(PURL)).toEqual(hrefs(URL as unknown as URLConstructor));
  });

  test('canParse, parse, toJSON', () => {
    expect(PURL.canParse('http://x/')).toBe(true);
    expect(PURL.canParse('nope')).toBe(false);
    expect(PURL.canParse('/p', 'http://x')).toBe(true);
    expect(PURL.parse('nope')).toBe(null);
    expect(PURL.parse('/p', 'http://x')!.href).toBe('http://x/p');
    expect(JSON.stringify({ u: new PURL('http://x/a b') })).toBe('{"u":"http://x/a%20b"}');
    expect(String(new PURL('http://x'))).toBe('http://x/');
  });
});

describe('URLSearchParams (core-js polyfill) against Node', () => {
  const inits: unknown[] = [
    '', '?', '?a=b', 'a=b&a=c&&d', 'a+b=c+d&%20=%2B', 'a=%zz&b=%', 'é=ü&x=%C3%A9', '=x&y=', 'a=b=c',
    { a: '1', b: 'two words' }, [['a', '1'], ['a', '2'], ['b', '']],
  ];

  test('parsing, serializing, getters', () => {
    for (const init of inits) {
      const ours = new PURLSearchParams(init as string);
      const node = new URLSearchParams(init as string);
      expect({ init, s: ours.toString(), e: [...ours], size: ours.size })
        .toEqual({ init, s: node.toString(), e: [...node], size: node.size });
      expect([ours.get('a'), ours.getAll('a'), ours.has('a'), ours.has('a', '2'), ours.has('zz')])
        .toEqual([node.get('a'), node.getAll('a'), node.has('a'), node.has('a', '2'), node.has('zz')]);
      expect([...ours.keys()]).toEqual([...node.keys()]);
      expect([...ours.values()]).toEqual([...node.values()]);
    }
  });

  test('mutation and serialization of every ASCII character', () => {
    let all = '';
    for (let c = 0; c < 128; c++) all += String.fromCharCode(c);
    const run = (C: URLSearchParamsConstructor) => {
      const p = new C('b=2&a=1&a=3&c=x');
      p.append(all, all + 'é\ud83d\ude00');
      p.delete('a', '3');
      p.set('c', 'y');
      p.sort();
      const seen: string[] = [];
      p.forEach((v, k) => seen.push(`${k}=${v}`));
      return [p.toString(), seen, p.size];
    };
    expect(run(PURLSearchParams)).toEqual(run(URLSearchParams as unknown as URLSearchParamsConstructor));
  });
});
