// The shape each algorithm module of the 'subtle' extra implements: WebCrypto §18 "registered
// algorithms", one method per supported operation, all synchronous (SubtleCrypto settles a promise
// with the result). Keys go in and out as KeyParts; the dispatcher turns them into CryptoKeys.

import type { Ctx, Jwk, KeyParts, Params } from './context.js';

export type KeyPair = { publicKey: KeyParts; privateKey: KeyParts };

export interface Algorithm {
  generateKey?(ctx: Ctx, p: Params, extractable: boolean, usages: unknown): KeyParts | KeyPair;
  importKey?(ctx: Ctx, format: string, data: unknown, p: Params, extractable: boolean, usages: unknown): KeyParts;
  exportKey?(ctx: Ctx, format: string, key: KeyParts): Uint8Array | Jwk;
  encrypt?(ctx: Ctx, p: Params, key: KeyParts, data: Uint8Array): Uint8Array;
  decrypt?(ctx: Ctx, p: Params, key: KeyParts, data: Uint8Array): Uint8Array;
  sign?(ctx: Ctx, p: Params, key: KeyParts, data: Uint8Array): Uint8Array;
  verify?(ctx: Ctx, p: Params, key: KeyParts, signature: Uint8Array, data: Uint8Array): boolean;
  /** `length` null when the caller gave none (deriveBits' optional length, Level 2). */
  deriveBits?(ctx: Ctx, p: Params, key: KeyParts, length: number | null): Uint8Array;
  /** "get key length" (§14.3.7 deriveKey step): bits, or null for "no fixed length". */
  keyLength?(ctx: Ctx, p: Params): number | null;
  /** AES-KW's own wrap and unwrap (it has no encrypt/decrypt). */
  wrapKey?(ctx: Ctx, p: Params, key: KeyParts, data: Uint8Array): Uint8Array;
  unwrapKey?(ctx: Ctx, p: Params, key: KeyParts, data: Uint8Array): Uint8Array;
}

export function unsupportedFormat(ctx: Ctx, format: string): Error {
  return ctx.error('NotSupportedError', `Unsupported key format for this algorithm: ${format}`);
}
