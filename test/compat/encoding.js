// TextDecoder beyond UTF-8 (WHATWG Encoding): the label table, UTF-16LE/BE with and without a BOM,
// split at every byte, x-user-defined, every single-byte encoding over all 256 bytes, every
// two-byte big5 and euc-kr sequence, fatal errors' names, and TextDecoderStream / TextEncoderStream. Code units are answered as hex, so
// lone surrogates compare exactly.

const hexUnits = (s) => Array.from({ length: s.length }, (_, i) => s.charCodeAt(i).toString(16).padStart(4, '0')).join(' ');
const errorName = (fn) => { try { return hexUnits(fn()); } catch (e) { return `${e.constructor.name}:${e.name}`; } };

// The Encoding Standard's labels (§4.2), and some that are none.
const LABELS = [
  'unicode-1-1-utf-8', 'unicode11utf8', 'unicode20utf8', 'utf-8', 'utf8', 'x-unicode20utf8',
  '866', 'cp866', 'csibm866', 'ibm866',
  'csisolatin2', 'iso-8859-2', 'iso-ir-101', 'iso8859-2', 'iso88592', 'iso_8859-2', 'iso_8859-2:1987', 'l2', 'latin2',
  'csisolatin3', 'iso-8859-3', 'iso-ir-109', 'iso8859-3', 'iso88593', 'iso_8859-3', 'iso_8859-3:1988', 'l3', 'latin3',
  'csisolatin4', 'iso-8859-4', 'iso-ir-110', 'iso8859-4', 'iso88594', 'iso_8859-4', 'iso_8859-4:1988', 'l4', 'latin4',
  'csisolatincyrillic', 'cyrillic', 'iso-8859-5', 'iso-ir-144', 'iso8859-5', 'iso88595', 'iso_8859-5', 'iso_8859-5:1988',
  'arabic', 'asmo-708', 'csiso88596e', 'csiso88596i', 'csisolatinarabic', 'ecma-114', 'iso-8859-6', 'iso-8859-6-e',
  'iso-8859-6-i', 'iso-ir-127', 'iso8859-6', 'iso88596', 'iso_8859-6', 'iso_8859-6:1987',
  'csisolatingreek', 'ecma-118', 'elot_928', 'greek', 'greek8', 'iso-8859-7', 'iso-ir-126', 'iso8859-7', 'iso88597',
  'iso_8859-7', 'iso_8859-7:1987', 'sun_eu_greek',
  'csiso88598e', 'csisolatinhebrew', 'hebrew', 'iso-8859-8', 'iso-8859-8-e', 'iso-ir-138', 'iso8859-8', 'iso88598',
  'iso_8859-8', 'iso_8859-8:1988', 'visual',
  'csiso88598i', 'iso-8859-8-i', 'logical',
  'csisolatin6', 'iso-8859-10', 'iso-ir-157', 'iso8859-10', 'iso885910', 'l6', 'latin6',
  'iso-8859-13', 'iso8859-13', 'iso885913', 'iso-8859-14', 'iso8859-14', 'iso885914',
  'csisolatin9', 'iso-8859-15', 'iso8859-15', 'iso885915', 'iso_8859-15', 'l9', 'iso-8859-16',
  'cskoi8r', 'koi', 'koi8', 'koi8-r', 'koi8_r', 'koi8-ru', 'koi8-u',
  'csmacintosh', 'mac', 'macintosh', 'x-mac-roman',
  'dos-874', 'iso-8859-11', 'iso8859-11', 'iso885911', 'tis-620', 'windows-874',
  'cp1250', 'windows-1250', 'x-cp1250', 'cp1251', 'windows-1251', 'x-cp1251',
  'ansi_x3.4-1968', 'ascii', 'cp1252', 'cp819', 'csisolatin1', 'ibm819', 'iso-8859-1', 'iso-ir-100', 'iso8859-1',
  'iso88591', 'iso_8859-1', 'iso_8859-1:1987', 'l1', 'latin1', 'us-ascii', 'windows-1252', 'x-cp1252',
  'cp1253', 'windows-1253', 'x-cp1253',
  'cp1254', 'csisolatin5', 'iso-8859-9', 'iso-ir-148', 'iso8859-9', 'iso88599', 'iso_8859-9', 'iso_8859-9:1989', 'l5',
  'latin5', 'windows-1254', 'x-cp1254',
  'cp1255', 'windows-1255', 'x-cp1255', 'cp1256', 'windows-1256', 'x-cp1256', 'cp1257', 'windows-1257', 'x-cp1257',
  'cp1258', 'windows-1258', 'x-cp1258', 'x-mac-cyrillic', 'x-mac-ukrainian',
  'chinese', 'csgb2312', 'csiso58gb231280', 'gb2312', 'gb_2312', 'gb_2312-80', 'gbk', 'iso-ir-58', 'x-gbk', 'gb18030',
  'big5', 'big5-hkscs', 'cn-big5', 'csbig5', 'x-x-big5',
  'cseucpkdfmtjapanese', 'euc-jp', 'x-euc-jp', 'csiso2022jp', 'iso-2022-jp',
  'csshiftjis', 'ms932', 'ms_kanji', 'shift-jis', 'shift_jis', 'sjis', 'windows-31j', 'x-sjis',
  'cseuckr', 'csksc56011987', 'euc-kr', 'iso-ir-149', 'korean', 'ks_c_5601-1987', 'ks_c_5601-1989', 'ksc5601',
  'ksc_5601', 'windows-949',
  'csiso2022kr', 'hz-gb-2312', 'iso-2022-cn', 'iso-2022-cn-ext', 'iso-2022-kr', 'replacement',
  'unicodefffe', 'utf-16be', 'csunicode', 'iso-10646-ucs-2', 'ucs-2', 'unicode', 'unicodefeff', 'utf-16', 'utf-16le',
  'x-user-defined',
  // Whitespace and case; and what is no label.
  ' UTF-8 ', '\tLatin1\n', '\f\r Windows-1252', 'UTF-16BE', 'X-User-Defined', 'utf-32', 'utf-7', 'foo', '', '\u00a0utf-8',
  'utf-8\v', 'ut\u212a-8',
];

const SINGLE_BYTE = [
  'ibm866', 'iso-8859-2', 'iso-8859-3', 'iso-8859-4', 'iso-8859-5', 'iso-8859-6', 'iso-8859-7', 'iso-8859-8',
  'iso-8859-8-i', 'iso-8859-10', 'iso-8859-13', 'iso-8859-14', 'iso-8859-15', 'iso-8859-16', 'koi8-r', 'koi8-u',
  'macintosh', 'windows-874', 'windows-1250', 'windows-1251', 'windows-1252', 'windows-1253', 'windows-1254',
  'windows-1255', 'windows-1256', 'windows-1257', 'windows-1258', 'x-mac-cyrillic',
];

const bytes = (...b) => new Uint8Array(b);

export default {
  async fetch(request) {
    const url = new URL(request.url);

    if (url.pathname === '/labels') {
      const out = {};
      for (const label of LABELS) {
        try { out[JSON.stringify(label)] = new TextDecoder(label).encoding; } catch (e) { out[JSON.stringify(label)] = `${e.constructor.name}:${e.name}`; }
      }
      return Response.json(out);
    }

    if (url.pathname === '/single-byte') {
      // Every byte, in replacement mode and (where nothing is unmapped) fatal mode.
      const all = new Uint8Array(256).map((_, i) => i);
      const out = {};
      for (const name of SINGLE_BYTE) {
        out[name] = { replacement: hexUnits(new TextDecoder(name).decode(all)), fatal: errorName(() => new TextDecoder(name, { fatal: true }).decode(all)) };
      }
      return Response.json(out);
    }

    if (url.pathname === '/fixed') {
      const cases = {
        utf16le: [bytes(0x68, 0, 0xe9, 0, 0xac, 0x20, 0x3d, 0xd8, 0x00, 0xde), 'utf-16le'],
        utf16leBom: [bytes(0xff, 0xfe, 0x41, 0, 0xff, 0xfe), 'utf-16le'],
        utf16leOtherBom: [bytes(0xfe, 0xff, 0x41, 0), 'utf-16le'],
        utf16leUtf8Bom: [bytes(0xef, 0xbb, 0xbf, 0x41), 'utf-16'],
        utf16be: [bytes(0, 0x68, 0, 0xe9, 0x20, 0xac, 0xd8, 0x3d, 0xde, 0x00), 'utf-16be'],
        utf16beBom: [bytes(0xfe, 0xff, 0, 0x41), 'utf-16be'],
        utf16beOtherBom: [bytes(0xff, 0xfe, 0, 0x41), 'utf-16be'],
        utf16loneLead: [bytes(0x00, 0xd8, 0x41, 0x00), 'utf-16le'],
        utf16loneTrail: [bytes(0x00, 0xdc, 0x00, 0xd8), 'utf-16le'],
        utf16odd: [bytes(0x41, 0x00, 0x42), 'utf-16le'],
        utf16beOdd: [bytes(0xd8, 0x00, 0x00), 'utf-16be'],
        windows1252: [bytes(0x80, 0x81, 0x8d, 0x9f, 0xe9, 0xff, 0xff, 0xfe), 'windows-1252'],
        latin1Bom: [bytes(0xef, 0xbb, 0xbf, 0x41), 'latin1'],
        iso88592: [bytes(0xa1, 0xa3, 0xb1, 0xe8, 0xf9), 'iso-8859-2'],
        koi8r: [bytes(0xf0, 0xd2, 0xc9, 0xd7, 0xc5, 0xd4), 'koi8-r'],
        koi8u: [bytes(0xae, 0xbe, 0xa4), 'koi8-u'],
        xUserDefined: [bytes(0x41, 0x80, 0xff, 0xef, 0xbb, 0xbf), 'x-user-defined'],
        windows874Unmapped: [bytes(0x41, 0xdb, 0xfc), 'windows-874'],
        gb18030: [bytes(0x41, 0x80, 0x81, 0x41, 0xa1, 0xa1, 0xa8, 0xbc, 0x81, 0x30, 0x81, 0x30, 0x84, 0x31, 0xa4, 0x39, 0x90, 0x30, 0x81, 0x30, 0xe3, 0x32, 0x9a, 0x35), 'gb18030'],
        gb18030Ranges: [bytes(0x81, 0x35, 0xf4, 0x37, 0x84, 0x31, 0xa5, 0x30, 0xe3, 0x32, 0x9a, 0x36), 'gb18030'],
        gb18030Errors: [bytes(0xff, 0x81, 0x7f, 0x81, 0x30, 0x41, 0x81, 0x30, 0x81, 0x41, 0x81), 'gb18030'],
        gbk: [bytes(0xc4, 0xe3, 0xba, 0xc3, 0x80, 0x81, 0x30, 0x81, 0x30), 'gbk'],
        shiftJis: [bytes(0x5c, 0x7e, 0x7f, 0x80, 0xa1, 0xdf, 0x82, 0xa0, 0x88, 0x9f, 0xf0, 0x40, 0xf9, 0xfc, 0xfa, 0x40), 'shift_jis'],
        shiftJisErrors: [bytes(0x81, 0x7f, 0x82, 0x20, 0xfa, 0xfd, 0xa0, 0xeb, 0x40, 0x81), 'sjis'],
        eucJp: [bytes(0x41, 0x5c, 0xa4, 0xa2, 0x8e, 0xb1, 0x8f, 0xb0, 0xa1, 0x8f, 0xf3, 0xf3), 'euc-jp'],
        eucJpErrors: [bytes(0x8e, 0x41, 0x8e, 0xe0, 0x8f, 0xa1, 0x41, 0x80, 0xa1), 'euc-jp'],
        iso2022jp: [bytes(0x41, 0x1b, 0x24, 0x42, 0x24, 0x22, 0x1b, 0x28, 0x4a, 0x5c, 0x7e, 0x1b, 0x28, 0x49, 0x31, 0x1b, 0x28, 0x42, 0x42), 'iso-2022-jp'],
        iso2022jpErrors: [bytes(0x1b, 0x28, 0x42, 0x1b, 0x28, 0x42, 0x1b, 0x28, 0x5a, 0x0e, 0x1b, 0x24, 0x42, 0x24, 0x1b, 0x28, 0x42, 0x41, 0x1b, 0x24), 'iso-2022-jp'],
        // big5: ASCII, index big5 (Big5 proper, HKSCS, an astral code point), the four pointers that
        // decode to two code points; then a null pointer with an ASCII trail, one with a non-ASCII
        // trail, a trail out of range, a bad lead byte and a lead byte at the end.
        big5: [bytes(0x41, 0xa1, 0x40, 0xa4, 0x40, 0xa3, 0xe1, 0xf9, 0xf9, 0x87, 0x40, 0x88, 0x40, 0x87, 0x45, 0x88, 0x62, 0x88, 0x64, 0x88, 0xa3, 0x88, 0xa5), 'big5'],
        big5Errors: [bytes(0x81, 0x40, 0xa3, 0xe2, 0x41, 0xa4, 0x7f, 0xa4, 0x80, 0x80, 0xff, 0xa4), 'big5-hkscs'],
        eucKr: [bytes(0x41, 0xb0, 0xa1, 0xa1, 0xa1, 0xa2, 0xe6, 0xfd, 0xfe, 0x81, 0x41, 0xc6, 0x52), 'euc-kr'],
        eucKrErrors: [bytes(0x81, 0x40, 0x81, 0x5b, 0xc9, 0xa1, 0x41, 0xfe, 0xfe, 0xb0, 0xff, 0x80, 0xb0), 'windows-949'],
      };
      const out = {};
      for (const [k, [b, label]] of Object.entries(cases)) {
        out[k] = {
          text: hexUnits(new TextDecoder(label).decode(b)),
          ignoreBOM: hexUnits(new TextDecoder(label, { ignoreBOM: true }).decode(b)),
          fatal: errorName(() => new TextDecoder(label, { fatal: true }).decode(b)),
        };
      }
      return Response.json(out);
    }

    if (url.pathname === '/pairs') {
      // Every lead byte 0x81–0xFE with every trail byte, each pair decoded alone (?label=, ?fatal).
      const label = url.searchParams.get('label');
      const fatal = url.searchParams.has('fatal');
      const d = new TextDecoder(label, { fatal });
      const out = [];
      for (let lead = 0x81; lead <= 0xfe; lead++) {
        const row = [];
        for (let trail = 0; trail <= 0xff; trail++) row.push(errorName(() => d.decode(bytes(lead, trail))));
        out.push(row.join(','));
      }
      return Response.json(out);
    }

    if (url.pathname === '/split') {
      // UTF-16 text split at every byte position (streaming), with a BOM, surrogate pairs and errors.
      const out = {};
      const samples = {
        le: [bytes(0xff, 0xfe, 0x3d, 0xd8, 0x00, 0xde, 0x41, 0x00, 0x00, 0xd8, 0x42, 0x00, 0x00, 0xdc, 0x43), 'utf-16le'],
        be: [bytes(0xfe, 0xff, 0xd8, 0x3d, 0xde, 0x00, 0x00, 0x41, 0xd8, 0x00, 0x00, 0x42, 0xdc, 0x00, 0x00), 'utf-16be'],
      };
      for (const [k, [b, label]] of Object.entries(samples)) {
        const parts = [];
        for (let cut = 0; cut <= b.length; cut++) {
          const d = new TextDecoder(label);
          parts.push(hexUnits(d.decode(b.subarray(0, cut), { stream: true }) + '|' + d.decode(b.subarray(cut))));
        }
        // (Not compared: what a fatal decoder reads after an error while streaming. The spec reads
        // on from the rest of the I/O queue; workerd, like Node's ICU, keeps one byte of it.)
        out[k] = { parts };
      }
      return Response.json(out);
    }

    if (url.pathname === '/decode') {
      // The request body in the encoding ?label=, split into ?chunk= byte chunks (streaming).
      const label = url.searchParams.get('label');
      const fatal = url.searchParams.has('fatal');
      const chunk = Number(url.searchParams.get('chunk') ?? '0');
      const body = new Uint8Array(await request.arrayBuffer());
      const d = new TextDecoder(label, { fatal });
      let text = '';
      try {
        if (chunk > 0) {
          for (let i = 0; i < body.length; i += chunk) text += d.decode(body.subarray(i, i + chunk), { stream: true });
          text += d.decode();
        } else text = d.decode(body);
      } catch (e) {
        return Response.json({ encoding: d.encoding, error: e.name });
      }
      return new Response(text, { headers: { 'content-type': 'text/plain; charset=utf-8', 'x-encoding': d.encoding, 'x-units': String(text.length) } });
    }

    if (url.pathname === '/streams') {
      const run = async (stream, chunks) => {
        const writer = stream.writable.getWriter();
        const reader = stream.readable.getReader();
        const out = [];
        const reading = (async () => { for (;;) { const { done, value } = await reader.read(); if (done) return; out.push(value); } })();
        try {
          for (const c of chunks) await writer.write(c);
          await writer.close();
          await reading;
          return out.map((v) => (typeof v === 'string' ? hexUnits(v) : Array.from(v)));
        } catch (e) {
          await reading.catch(() => {});
          return `${e.constructor.name}:${e.name}`;
        }
      };
      const euro = new TextEncoder().encode('a€😀');
      const out = {
        globals: [typeof TextDecoderStream, typeof TextEncoderStream],
        tags: [Object.prototype.toString.call(new TextDecoderStream()), Object.prototype.toString.call(new TextEncoderStream())],
        attrs: (() => { const s = new TextDecoderStream('Latin1', { fatal: true }); return [s.encoding, s.fatal, s.ignoreBOM, new TextEncoderStream().encoding]; })(),
        decodeBytes: await run(new TextDecoderStream(), Array.from(euro, (b) => bytes(b))),
        decodeUtf16: await run(new TextDecoderStream('utf-16be'), [bytes(0xfe, 0xff, 0), bytes(0x41, 0xd8)]),
        decodeLatin1: await run(new TextDecoderStream('latin1'), [bytes(0x80, 0xe9)]),
        decodeFatal: await run(new TextDecoderStream('utf-8', { fatal: true }), [bytes(0x41, 0xe2)]),
        decodeNotBytes: await run(new TextDecoderStream(), ['text']),
        encode: await run(new TextEncoderStream(), ['a€', '\ud83d', '\ude00b', '', 'c\ud800']),
        encodeNumbers: await run(new TextEncoderStream(), [12]),
        badLabel: errorName(() => new TextDecoderStream('nope')),
      };
      return Response.json(out);
    }

    return new Response('not found', { status: 404 });
  },
};
