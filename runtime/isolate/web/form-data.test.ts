// FormData (XHR §4.3, https://xhr.spec.whatwg.org/#interface-formdata), the multipart/form-data
// encoding algorithm a FormData body is written with (HTML §4.10.21.8), body.formData() (Fetch
// §6.3: multipart/form-data per RFC 7578 and RFC 2046 §5.1, application/x-www-form-urlencoded per
// URL §5.1) and body.blob() (Fetch §6.3, with Fetch §3.1.9 "extract a MIME type"). The isolate's own
// classes, not Node's.

import { describe, expect, test } from 'vitest';
import { Blob, File } from './blob.js';
import { FormData, parseUrlencoded } from './form-data.js';
import { Response } from './response.js';
import { extractMimeType, parseMimeType, serializeMimeType } from './mime-type.js';

const B = 'XyZ';
const crlf = (s: string) => s.replace(/\n/g, '\r\n');
const multipart = (body: string | Uint8Array, boundary = B) =>
  new Response(body, { headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } }).formData();
const urlencoded = (body: string) => new Response(body, { headers: { 'content-type': 'application/x-www-form-urlencoded' } }).formData();

/** Entries with Files as plain objects, for toEqual. */
async function plain(f: FormData): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const [k, v] of f) out.push([k, typeof v === 'string' ? v : { name: v.name, type: v.type, text: await v.text() }]);
  return out;
}

describe('FormData (XHR §4.3)', () => {
  test('append, get, getAll, has, set, delete keep the entry list in order', () => {
    const f = new FormData();
    f.append('a', '1');
    f.append('b', '2');
    f.append('a', '3');
    expect([f.get('a'), f.getAll('a'), f.has('b'), f.has('c'), f.get('c'), f.getAll('c')]).toEqual(['1', ['1', '3'], true, false, null, []]);
    f.set('a', '4'); // replaces the first "a", removes the others, keeps the place
    expect([...f]).toEqual([['a', '4'], ['b', '2']]);
    f.set('c', '5');
    f.delete('b');
    expect([...f]).toEqual([['a', '4'], ['c', '5']]);
    expect([...f.keys()]).toEqual(['a', 'c']);
    expect([...f.values()]).toEqual(['4', '5']);
  });

  test('names and string values are USVStrings (lone surrogates → U+FFFD), others converted with ToString', () => {
    const f = new FormData();
    f.append('\ud800', '\udc00x');
    f.append('n', 1 as never);
    expect([...f]).toEqual([['\ufffd', '\ufffdx'], ['n', '1']]);
  });

  test('"create an entry": a Blob becomes a File named "blob", a filename makes a new File, a File is kept', async () => {
    const f = new FormData();
    const file = new File(['ab'], 'n.txt', { type: 'text/x', lastModified: 7 });
    f.append('blob', new Blob(['x'], { type: 'T/Y' }));
    f.append('named', new Blob(['z']), 'fn');
    f.append('file', file);
    f.append('renamed', file, 'other');
    const [b, named, same, renamed] = f.getAll('blob').concat(f.getAll('named'), f.getAll('file'), f.getAll('renamed')) as File[];
    expect(b).toBeInstanceOf(File);
    expect([b!.name, b!.type, await b!.text()]).toEqual(['blob', 't/y', 'x']);
    expect(named!.name).toBe('fn');
    expect(same).toBe(file);
    expect(renamed).not.toBe(file);
    expect([renamed!.name, renamed!.type, renamed!.lastModified, await renamed!.text()]).toEqual(['other', 'text/x', 7, 'ab']);
  });

  test('argument checks: two arguments needed; a filename with a string value is a TypeError (overload resolution)', () => {
    const f = new FormData();
    expect(() => (f.append as any)('a')).toThrow(TypeError);
    expect(() => (f.set as any)('a')).toThrow(TypeError);
    expect(() => f.append('a', 'b', 'c')).toThrow(TypeError);
    expect(() => f.append('a', 'b', undefined)).not.toThrow();
  });

  test('new FormData(form): no HTMLFormElement exists, so any argument but undefined is a TypeError', () => {
    expect(() => new FormData(undefined)).not.toThrow();
    for (const bad of [null, {}, 'x']) expect(() => new FormData(bad)).toThrow(TypeError);
  });

  test('iterators are WebIDL\'s "FormData Iterator" objects, live over the list; @@iterator is entries', () => {
    const f = new FormData();
    f.append('a', '1');
    const it = f.entries();
    expect(Object.prototype.toString.call(it)).toBe('[object FormData Iterator]');
    expect(FormData.prototype[Symbol.iterator]).toBe(FormData.prototype.entries);
    expect(it.next()).toEqual({ value: ['a', '1'], done: false });
    f.append('b', '2');
    expect(it.next()).toEqual({ value: ['b', '2'], done: false });
    expect(it.next()).toEqual({ value: undefined, done: true });
    const next = Object.getPrototypeOf(it).next;
    expect(() => next.call({})).toThrow(TypeError);
    expect(Object.getPrototypeOf(Object.getPrototypeOf(it))).toBe(Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]())));
  });

  test('forEach(callback, thisArg) reads the list at each step', () => {
    const f = new FormData();
    f.append('a', '1');
    const seen: unknown[] = [];
    const self = {};
    f.forEach(function (this: unknown, v, k, parent) {
      seen.push([k, v, parent === f, this === self]);
      if (k === 'a') f.append('b', '2');
    }, self);
    expect(seen).toEqual([['a', '1', true, true], ['b', '2', true, true]]);
    expect(() => f.forEach(1 as never)).toThrow(TypeError);
  });

  test('names, lengths, class string and brand checks', () => {
    expect([FormData.name, FormData.length]).toEqual(['FormData', 0]);
    const p = FormData.prototype;
    expect([p.append.length, p.delete.length, p.get.length, p.getAll.length, p.has.length, p.set.length, p.forEach.length, p.entries.length])
      .toEqual([2, 1, 1, 1, 1, 2, 1, 0]);
    expect(Object.prototype.toString.call(new FormData())).toBe('[object FormData]');
    expect(() => p.get.call(Object.create(p), 'a')).toThrow(/Illegal invocation/);
    expect(() => p.entries.call({})).toThrow(TypeError);
  });
});

describe('a FormData body: the multipart/form-data encoding algorithm (HTML §4.10.21.8)', () => {
  test('Content-Type multipart/form-data with the boundary; parts as HTML writes them', async () => {
    const f = new FormData();
    f.append('a', '1');
    f.append('f', new File(['data'], 'x.txt'));
    const r = new Response(f);
    const type = r.headers.get('content-type')!;
    const boundary = /^multipart\/form-data; boundary=(.+)$/.exec(type)![1]!;
    expect(await r.text()).toBe(crlf(
      `--${boundary}\nContent-Disposition: form-data; name="a"\n\n1\n` +
      // A File with no type is sent as application/octet-stream.
      `--${boundary}\nContent-Disposition: form-data; name="f"; filename="x.txt"\nContent-Type: application/octet-stream\n\ndata\n` +
      `--${boundary}--\n`));
  });

  test('names and filenames: LF → %0A, CR → %0D, " → %22 and nothing else; newlines in names and string values become CRLF', async () => {
    const f = new FormData();
    f.append('q"\r\nz\rw\n', 'v\nw\rx\r\n');
    f.append('file', new File(['a\nb'], 'a"b\r\nc\\%.txt', { type: 'text/plain' }));
    const r = new Response(f);
    const text = await r.clone().text();
    expect(text).toContain('Content-Disposition: form-data; name="q%22%0D%0Az%0D%0Aw%0D%0A"\r\n\r\nv\r\nw\r\nx\r\n\r\n');
    // A File's bytes are sent as they are; its name is not newline-normalized, only escaped.
    expect(text).toContain('name="file"; filename="a%22b%0D%0Ac\\%.txt"\r\nContent-Type: text/plain\r\n\r\na\nb\r\n');
    // And formData() reads the escapes back.
    expect(await plain(await r.formData())).toEqual([
      ['q"\r\nz\r\nw\r\n', 'v\r\nw\r\nx\r\n'],
      ['file', { name: 'a"b\r\nc\\%.txt', type: 'text/plain', text: 'a\nb' }],
    ]);
  });

  test('round trip: serialize, then parse, gives the same entries (bytes of any value too)', async () => {
    const f = new FormData();
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    f.append('ü 😀', 'value ✓');
    f.append('bin', new File([all, all], 'all.bin', { type: 'application/octet-stream' }));
    f.append('empty', '');
    f.append('emptyFile', new File([], '', { type: 'x/y' }));
    const back = await new Response(f).formData();
    const bin = back.get('bin') as File;
    expect([...new Uint8Array(await bin.arrayBuffer())]).toEqual([...all, ...all]);
    expect(await plain(back)).toEqual(await plain(f));
  });

  test('a Request with a FormData body gets the Content-Type too, unless one is given', () => {
    const f = new FormData();
    expect(new Response(f).headers.get('content-type')).toMatch(/^multipart\/form-data; boundary=/);
    expect(new Response(f, { headers: { 'content-type': 'x/y' } }).headers.get('content-type')).toBe('x/y');
  });
});

describe('a Blob body and body.blob() (Fetch §6.3)', () => {
  test('a Blob body has its bytes, and its type as Content-Type when it has one', async () => {
    const r = new Response(new Blob(['hi'], { type: 'A/B' }));
    expect(r.headers.get('content-type')).toBe('a/b');
    expect(await r.text()).toBe('hi');
    expect(new Response(new Blob(['x'])).headers.get('content-type')).toBeNull();
    expect(new Response(new File(['x'], 'f', { type: 'text/html' })).headers.get('content-type')).toBe('text/html');
  });

  test('blob() has the body\'s MIME type, parsed and serialized (Fetch §3.1.9), or ""', async () => {
    const blob = async (type: string | null) => (await new Response('hi', { headers: type === null ? {} : { 'content-type': type } }).blob()).type;
    expect(await blob('Text/X; A=B')).toBe('text/x;a=B');
    expect(await blob(null)).toBe('text/plain;charset=UTF-8'); // a string body's own type (parameter values keep their case)
    expect(await blob('nonsense')).toBe('');
    expect((await new Response(new Uint8Array(2)).blob()).type).toBe('');
    const b = await new Response(new Uint8Array([1, 2])).blob();
    expect([b.size, b instanceof Blob, b instanceof File]).toEqual([2, true, false]);
  });

  test('blob() and formData() use the body up like the other readers', async () => {
    const r = new Response('a=1', { headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    await r.formData();
    expect(r.bodyUsed).toBe(true);
    await expect(r.formData()).rejects.toThrow(TypeError);
    const r2 = new Response('x', { headers: { 'content-type': 'text/plain' } });
    await expect(r2.formData()).rejects.toThrow(TypeError);
    expect(r2.bodyUsed).toBe(true); // read, then refused
    const r3 = new Response('x');
    await r3.blob();
    await expect(r3.blob()).rejects.toThrow(TypeError);
  });
});

describe('formData() of multipart/form-data (Fetch §6.3, RFC 7578, RFC 2046 §5.1)', () => {
  test('fields and files; a file\'s type is its part\'s Content-Type as sent, text/plain without one', async () => {
    const f = await multipart(crlf(
      `--${B}\nContent-Disposition: form-data; name="a"\n\n1\n` +
      `--${B}\nContent-Disposition: form-data; name="f"; filename="x.txt"\nContent-Type: Text/Plain\n\nhello\nworld\n` +
      `--${B}\ncontent-disposition: form-data; name="g"; filename="y"\n\n\n` +
      `--${B}--\n`));
    expect(await plain(f)).toEqual([
      ['a', '1'],
      ['f', { name: 'x.txt', type: 'Text/Plain', text: 'hello\r\nworld' }],
      ['g', { name: 'y', type: 'text/plain', text: '' }],
    ]);
    expect(f.get('f')).toBeInstanceOf(File);
  });

  test('a filename parameter, even empty, makes a File; without one the value is text (UTF-8, U+FFFD for bad bytes)', async () => {
    const body = new Uint8Array([...new TextEncoder().encode(crlf(`--${B}\nContent-Disposition: form-data; name="s"\nContent-Type: image/png\n\n`)), 0xff, 0x41,
      ...new TextEncoder().encode(crlf(`\n--${B}\nContent-Disposition: form-data; name="e"; filename=""\n\nz\n--${B}--`))]);
    expect(await plain(await multipart(body))).toEqual([['s', '\ufffdA'], ['e', { name: '', type: 'text/plain', text: 'z' }]]);
  });

  test('a quoted boundary parameter, a preamble and an epilogue, transport padding after a boundary, no final CRLF', async () => {
    const body = crlf(`preamble\n--${B}  \nContent-Disposition: form-data; name=a\n\n1\n--${B}--epilogue`);
    const f = await new Response(body, { headers: { 'content-type': `multipart/form-data; boundary="${B}"` } }).formData();
    expect([...f]).toEqual([['a', '1']]);
  });

  test('UTF-8 names and filenames; %22, %0D, %0A in them decoded', async () => {
    const f = await multipart(crlf(`--${B}\nContent-Disposition: form-data; name="ü%22"; filename="😀%0D%0A.txt"\n\nü\n--${B}--`));
    expect(await plain(f)).toEqual([['ü"', { name: '😀\r\n.txt', type: 'text/plain', text: 'ü' }]]);
  });

  test('only a CRLF followed by the whole delimiter ends a part', async () => {
    const content = `x--${B}\n--${B}\r--${B}\r\n-${B}`;
    const f = await multipart(`--${B}\r\nContent-Disposition: form-data; name="a"\r\n\r\n${content}\r\n--${B}--`);
    expect(f.get('a')).toBe(content);
  });

  const bad: [string, string, string?][] = [
    ['no boundary parameter', `--${B}\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--${B}--`, 'multipart/form-data'],
    ['an empty body', ''],
    ['no initial boundary', 'just text'],
    ['no close delimiter', crlf(`--${B}\nContent-Disposition: form-data; name="a"\n\n1\n`)],
    ['LF alone as a line break (RFC 2046 §5.1.1 says CRLF)', `--${B}\nContent-Disposition: form-data; name="a"\n\n1\n--${B}--`],
    ['a part without a name', crlf(`--${B}\nContent-Disposition: form-data\n\n1\n--${B}--`)],
    ['a part without Content-Disposition', crlf(`--${B}\nContent-Type: text/plain\n\n1\n--${B}--`)],
    ['a disposition other than form-data', crlf(`--${B}\nContent-Disposition: attachment; name="a"\n\n1\n--${B}--`)],
    ['a header line without a colon', crlf(`--${B}\nContent-Disposition: form-data; name="a"\nbogus\n\n1\n--${B}--`)],
    ['an unterminated quoted name', crlf(`--${B}\nContent-Disposition: form-data; name="a\n\n1\n--${B}--`)],
    ['a boundary followed by other text', crlf(`--${B}x\nContent-Disposition: form-data; name="a"\n\n1\n--${B}--`)],
    ['headers that never end', crlf(`--${B}\nContent-Disposition: form-data; name="a"`)],
  ];
  for (const [what, body, type] of bad) {
    test(`malformed: ${what} is a TypeError`, async () => {
      const r = new Response(body, { headers: { 'content-type': type ?? `multipart/form-data; boundary=${B}` } });
      await expect(r.formData()).rejects.toThrow(TypeError);
    });
  }

  test('the delimiter search is linear: a body of near-delimiters parses without quadratic work', async () => {
    // Many "\r\n--XyZ" prefixes that are not followed by the boundary: a naive search restarting at
    // each would still be fine here, so the case that matters is a long boundary with a repeated prefix.
    const boundary = 'a'.repeat(200);
    const filler = ('\r\n--' + 'a'.repeat(199) + 'b').repeat(5000);
    const body = `--${boundary}\r\nContent-Disposition: form-data; name="x"\r\n\r\n${filler}\r\n--${boundary}--`;
    const f = await multipart(body, boundary);
    expect((f.get('x') as string).length).toBe(filler.length);
  });
});

describe('formData() of application/x-www-form-urlencoded (URL §5.1)', () => {
  test('"&"-separated, "=" splits once, "+" is a space, percent-decoding to UTF-8 bytes', async () => {
    expect(await plain(await urlencoded('a=1&b=x+y&c=%C3%BC&d&a=2&&=e&f=a=b&g=%2B+'))).toEqual([
      ['a', '1'], ['b', 'x y'], ['c', 'ü'], ['d', ''], ['a', '2'], ['', 'e'], ['f', 'a=b'], ['g', '+ '],
    ]);
  });

  test('bad escapes stay as they are; bytes that are not UTF-8 become U+FFFD; a BOM is kept', () => {
    const p = (s: string) => parseUrlencoded(new TextEncoder().encode(s));
    expect(p('%zz=%4&%=%%41')).toEqual([['%zz', '%4'], ['%', '%A']]);
    expect(p('f=%ff&g=%C3')).toEqual([['f', '\ufffd'], ['g', '\ufffd']]);
    expect(p('%EF%BB%BFa=1')).toEqual([['\ufeffa', '1']]);
    expect(p('')).toEqual([]);
  });

  test('the MIME type decides: essence matched case-insensitively, parameters ignored; anything else a TypeError', async () => {
    const fd = (type: string | null) => new Response('a=1', { headers: type === null ? {} : { 'content-type': type } }).formData();
    expect([...await fd('APPLICATION/X-WWW-FORM-URLENCODED;charset=latin1')]).toEqual([['a', '1']]);
    await expect(fd('text/plain')).rejects.toThrow(TypeError);
    await expect(fd('multipart/mixed; boundary=x')).rejects.toThrow(TypeError);
    await expect(new Response(new Uint8Array([0x61])).formData()).rejects.toThrow(TypeError);
  });
});

describe('MIME types (MIME Sniffing §4.4, §4.5; Fetch §3.1.9)', () => {
  test('parse and serialize', () => {
    const rt = (s: string) => { const m = parseMimeType(s); return m === null ? null : serializeMimeType(m); };
    expect(rt(' Text/HTML ; Charset="utf-8" ; x=y ')).toBe('text/html;charset=utf-8;x=y');
    expect(rt('a/b;p="q \\"r\\"";p=second;bad name=1;empty=')).toBe('a/b;p="q \\"r\\""');
    expect(rt('a/b;k="unterminated')).toBe('a/b;k=unterminated');
    expect(rt('a/b;k=""')).toBe('a/b;k=""');
    for (const bad of ['', 'a', 'a/', '/b', 'a b/c', 'a/b c']) expect(rt(bad)).toBeNull();
  });

  test('extract a MIME type: the last valid value of a combined header, */* skipped, charset carried over', () => {
    const x = (v: string) => { const m = extractMimeType(v); return m === null ? null : serializeMimeType(m); };
    expect(x('text/plain;charset=gbk, text/html')).toBe('text/html');
    expect(x('text/html;charset=gbk, text/html')).toBe('text/html;charset=gbk');
    expect(x('text/html, */*')).toBe('text/html');
    expect(x('a/b;p="x,y"')).toBe('a/b;p="x,y"');
    expect(x('nonsense')).toBeNull();
  });
});
