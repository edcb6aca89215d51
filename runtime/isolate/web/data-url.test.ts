// The data: URL processor of WHATWG Fetch (what fetch('data:…') answers), from the specification:
// the MIME type before the first comma (text/plain;charset=US-ASCII when there is none or it does
// not parse), the body percent-decoded, ";base64" decoded as forgiving-base64, the fragment left out.

import { describe, expect, test } from 'vitest';
import { processDataUrl } from './data-url.js';

const text = (url: string) => {
  const r = processDataUrl(url);
  return r === null ? null : { mimeType: r.mimeType, body: new TextDecoder().decode(r.body) };
};

describe('processDataUrl', () => {
  test('no MIME type: text/plain;charset=US-ASCII; the body percent-decoded', () => {
    expect(text('data:,Hello%2C%20World!')).toEqual({ mimeType: 'text/plain;charset=US-ASCII', body: 'Hello, World!' });
    expect(text('data:,')).toEqual({ mimeType: 'text/plain;charset=US-ASCII', body: '' });
    expect(text('data:,100%25 %zz')).toEqual({ mimeType: 'text/plain;charset=US-ASCII', body: '100% %zz' });
  });

  test('a MIME type, its case and parameters; one starting with ";" is text/plain\'s; one that does not parse is the default', () => {
    expect(text('data:TEXT/HTML,%3Ch1%3Ehi%3C%2Fh1%3E')).toEqual({ mimeType: 'text/html', body: '<h1>hi</h1>' });
    expect(text('data:;charset=utf-8,x')).toEqual({ mimeType: 'text/plain;charset=utf-8', body: 'x' });
    expect(text('data:text/plain;Charset="UTF-8";charset=x,y')!.mimeType).toBe('text/plain;charset=UTF-8');
    expect(text('data:nonsense,x')!.mimeType).toBe('text/plain;charset=US-ASCII');
    expect(text('data: text/plain ,x')!.mimeType).toBe('text/plain');
  });

  test(';base64 (any case, spaces before it) is forgiving-base64; invalid base64 is a failure', () => {
    expect(text('data:text/plain;base64,SGVsbG8sIFdvcmxkIQ==')).toEqual({ mimeType: 'text/plain', body: 'Hello, World!' });
    expect(text('data:;BASE64,SGk')).toEqual({ mimeType: 'text/plain;charset=US-ASCII', body: 'Hi' });
    expect(text('data:text/plain; base64,SG%20k=')).toEqual({ mimeType: 'text/plain', body: 'Hi' });
    expect(Array.from(processDataUrl('data:application/octet-stream;base64,AAE=')!.body)).toEqual([0, 1]);
    expect(processDataUrl('data:text/plain;base64,%%%')).toBeNull();
    expect(processDataUrl('data:;base64,A')).toBeNull();
  });

  test('no comma is a failure; the fragment is not part of the body', () => {
    expect(processDataUrl('data:text/plain')).toBeNull();
    expect(text('data:,a#b')).toEqual({ mimeType: 'text/plain;charset=US-ASCII', body: 'a' });
  });
});
