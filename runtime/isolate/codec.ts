// Payload codecs inside the isolate: request bytes -> event, result -> response bytes.

import { Packr } from 'msgpackr';
import { Encoding } from '../protocol.js';
import { decodeUtf8, encodeUtf8 } from './utf8.js';

// useRecords:false keeps the output plain msgpack that any decoder reads.
// encodeUndefinedAsNil: msgpackr's own undefined extension is unreadable by other decoders.
const packr = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number', encodeUndefinedAsNil: true });
const jsonParse = JSON.parse;
const jsonStringify = JSON.stringify;

export function decodeEvent(body: ArrayBuffer, enc: number): unknown {
  if (body.byteLength === 0) return {};
  const bytes = new Uint8Array(body);
  if (enc === Encoding.msgpack) return packr.unpack(bytes);
  return jsonParse(decodeUtf8(bytes));
}

export function encodeResult(value: unknown, enc: number): ArrayBuffer {
  if (enc === Encoding.msgpack) {
    // pack() returns a view of a reused internal buffer: copy out exactly the bytes written
    // (new Uint8Array(view) copies; Buffer#slice, where Buffer exists, would not).
    const view = packr.pack(value === undefined ? null : value) as Uint8Array;
    return new Uint8Array(view).buffer as ArrayBuffer;
  }
  const text = jsonStringify(value);
  return encodeUtf8(text === undefined ? 'null' : text);
}
