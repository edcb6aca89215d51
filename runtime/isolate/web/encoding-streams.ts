// TextDecoderStream and TextEncoderStream (WHATWG Encoding §7.4, §7.5): a TextDecoder or a UTF-8
// encoder run as the transform of a TransformStream (web-streams-polyfill's, the global one).

import { TransformStream } from 'web-streams-polyfill';
import { encodeUtf8 } from '../utf8.js';
import { markUncloneable } from './clone.js';
import { TextDecoder, type TextDecoderOptions } from './encoding.js';

function defineTag(cls: { prototype: object }, name: string): void {
  Object.defineProperty(cls.prototype, Symbol.toStringTag, { value: name, configurable: true });
  Object.defineProperty(cls, 'name', { value: name, configurable: true });
}

export class TextDecoderStream {
  #decoder: TextDecoder;
  #transform: TransformStream<unknown, string>;

  constructor(label: unknown = 'utf-8', options?: TextDecoderOptions | null) {
    // The label and options are checked as TextDecoder's (RangeError, TypeError).
    const decoder = new TextDecoder(label, options);
    this.#decoder = decoder;
    this.#transform = new TransformStream<unknown, string>({
      // "Decode and enqueue a chunk": a chunk that is no BufferSource is a TypeError (the
      // decoder's), which errors the stream; an empty result enqueues nothing.
      transform(chunk, controller) {
        const s = decoder.decode(chunk as Uint8Array, { stream: true });
        if (s.length > 0) controller.enqueue(s);
      },
      // "Flush and enqueue": the end of the stream (a pending partial sequence is an error).
      flush(controller) {
        const s = decoder.decode();
        if (s.length > 0) controller.enqueue(s);
      },
    });
  }

  get encoding(): string { return this.#decoder.encoding; }
  get fatal(): boolean { return this.#decoder.fatal; }
  get ignoreBOM(): boolean { return this.#decoder.ignoreBOM; }
  get readable(): TransformStream<unknown, string>['readable'] { return this.#transform.readable; }
  get writable(): TransformStream<unknown, string>['writable'] { return this.#transform.writable; }
}
defineTag(TextDecoderStream, 'TextDecoderStream');

export class TextEncoderStream {
  #transform: TransformStream<unknown, Uint8Array>;

  constructor() {
    // §7.5 "encode and enqueue a chunk": a lead surrogate at the end of a chunk waits for the next
    // chunk (it may start with the trail); one left at the end of the stream becomes U+FFFD.
    let pending = '';
    this.#transform = new TransformStream<unknown, Uint8Array>({
      transform(chunk, controller) {
        let s = pending + String(chunk);
        pending = '';
        const last = s.charCodeAt(s.length - 1);
        if (last >= 0xd800 && last <= 0xdbff) { pending = s[s.length - 1]!; s = s.slice(0, -1); }
        if (s.length > 0) controller.enqueue(new Uint8Array(encodeUtf8(s)));
      },
      flush(controller) {
        if (pending !== '') controller.enqueue(new Uint8Array([0xef, 0xbf, 0xbd]));
      },
    });
  }

  get encoding(): string { return 'utf-8'; }
  get readable(): TransformStream<unknown, Uint8Array>['readable'] { return this.#transform.readable; }
  get writable(): TransformStream<unknown, Uint8Array>['writable'] { return this.#transform.writable; }
}
defineTag(TextEncoderStream, 'TextEncoderStream');
// Platform objects: structuredClone throws DataCloneError for them, as for TextDecoder.
markUncloneable(TextDecoderStream, TextEncoderStream);
