// Crypto and encoding: crypto.subtle.digest (SHA-1/256/384/512) of the body as hex, btoa/atob round
// trips, TextEncoder/TextDecoder with non-ASCII text, and — checked inside the script so the output
// is deterministic — randomUUID's format and getRandomValues' length.

const hex = (buf) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, '0')).join('');

function tryName(fn) {
  try { return { value: fn() }; } catch (e) { return { error: e.name }; }
}

async function tryNameAsync(fn) {
  try { return { value: await fn() }; } catch (e) { return { error: e.name }; }
}

const TEXT = 'héllo wörld · ✓ 😀 日本語 ﷺ';

export default {
  async fetch(request) {
    const { pathname } = new URL(request.url);

    if (pathname === '/digest') {
      const data = new Uint8Array(await request.arrayBuffer());
      const out = { length: data.length };
      for (const alg of ['SHA-1', 'SHA-256', 'SHA-384', 'SHA-512']) out[alg] = hex(await crypto.subtle.digest(alg, data));
      out.objectForm = hex(await crypto.subtle.digest({ name: 'SHA-256' }, data));
      out.lowerCase = hex(await crypto.subtle.digest('sha-256', data.buffer));
      out.unknown = await tryNameAsync(() => crypto.subtle.digest('SHA-257', data));
      return Response.json(out);
    }

    if (pathname === '/base64') {
      const latin1 = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join('');
      const b64 = btoa(latin1);
      return Response.json({
        hello: btoa('hello world'),
        back: atob(btoa('hello world')),
        empty: [btoa(''), atob('')],
        allBytes: b64,
        allBytesRoundTrip: atob(b64) === latin1,
        padding: ['a', 'ab', 'abc'].map((s) => btoa(s)),
        noPadding: tryName(() => atob('YWI')),
        whitespace: tryName(() => atob(' YW Jj\n')),
        invalidChar: tryName(() => atob('a*b=')),
        nonLatin1: tryName(() => btoa('✓')),
        utf8ViaBytes: btoa(String.fromCharCode(...new TextEncoder().encode(TEXT))),
        number: btoa(12),
      });
    }

    if (pathname === '/text') {
      const enc = new TextEncoder();
      const bytes = enc.encode(TEXT);
      const dec = new TextDecoder();
      const into = new Uint8Array(8);
      const r = enc.encodeInto('ab✓😀', into);
      const streaming = new TextDecoder();
      const split = enc.encode('✓😀');
      const parts = streaming.decode(split.subarray(0, 2), { stream: true }) + streaming.decode(split.subarray(2, 5), { stream: true }) + streaming.decode(split.subarray(5));
      return Response.json({
        encoding: enc.encoding,
        length: TEXT.length,
        byteLength: bytes.length,
        hex: hex(bytes),
        roundTrip: dec.decode(bytes) === TEXT,
        decoderEncoding: dec.encoding,
        encodeInto: { read: r.read, written: r.written, bytes: hex(into) },
        streaming: parts,
        replacement: new TextDecoder().decode(new Uint8Array([0x61, 0xff, 0x62, 0xe2, 0x82])),
        fatal: tryName(() => new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array([0xff]))),
        bom: [new TextDecoder().decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x41])), new TextDecoder('utf-8', { ignoreBOM: true }).decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x41])).length],
        lone: hex(enc.encode('\ud800x')),
        label: new TextDecoder('UTF8').encoding,
        body: await request.text(),
      });
    }

    if (pathname === '/random') {
      const uuids = Array.from({ length: 20 }, () => crypto.randomUUID());
      const buf = new Uint8Array(64);
      const same = crypto.getRandomValues(buf);
      const u32 = crypto.getRandomValues(new Uint32Array(5));
      return Response.json({
        uuidFormat: uuids.every((u) => /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(u)),
        uuidsDistinct: new Set(uuids).size === uuids.length,
        length: buf.length,
        returnsSameArray: same === buf,
        notAllZero: buf.some((b) => b !== 0),
        u32Length: u32.length,
        tooLarge: tryName(() => crypto.getRandomValues(new Uint8Array(65537)).length),
        float: tryName(() => crypto.getRandomValues(new Float64Array(2)).length),
        maxOk: crypto.getRandomValues(new Uint8Array(65536)).length,
      });
    }

    return new Response('not found', { status: 404 });
  },
};
