// BufferSource as WebIDL converts it, shared by encoding.ts, crypto.ts and the rest. Its own module
// so that crypto.ts (loaded on first use, through esbuild's lazy require) does not pull encoding.ts
// and its decoders into a lazy init that every isolate's boot would then compile.

/**
 * The bytes of an ArrayBuffer or ArrayBufferView (a view on them, not a copy), or undefined for
 * anything else. Uses V8's own brand checks, not instanceof or Symbol.toStringTag.
 */
const abByteLength = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'byteLength')!.get!;
const sabByteLength = typeof SharedArrayBuffer === 'function'
  ? Object.getOwnPropertyDescriptor(SharedArrayBuffer.prototype, 'byteLength')!.get!
  : null;
export function bufferSourceBytes(input: unknown, allowShared = true): Uint8Array | undefined {
  if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  if (input === null || typeof input !== 'object') return undefined;
  try { abByteLength.call(input); return new Uint8Array(input as ArrayBuffer); } catch { /* not one */ }
  if (allowShared && sabByteLength) {
    try { sabByteLength.call(input); return new Uint8Array(input as ArrayBuffer); } catch { /* not one */ }
  }
  return undefined;
}
