// Content-Type and Accept → the payload encodings a call crosses with (runtime/protocol.ts).

import { CONTENT_TYPES, Encoding, type EncodingCode } from '../../runtime/protocol.js';

/** The type curl gives a body passed with -d. */
const CURL_DEFAULT = 'application/x-www-form-urlencoded';

/**
 * Content-Type → encoding code, or -1 when unsupported. An absent type is JSON, and so is
 * `application/x-www-form-urlencoded`: what `curl -d '{"x":1}'` sends when not told otherwise.
 */
export function requestEncoding(contentType: string): number {
  if (contentType === '' || contentType.startsWith(CONTENT_TYPES[Encoding.json]) || contentType.startsWith(CURL_DEFAULT)) return Encoding.json;
  if (contentType.startsWith(CONTENT_TYPES[Encoding.msgpack]) || contentType.startsWith('application/x-msgpack')) return Encoding.msgpack;
  return -1;
}

/** Accept → encoding code: the request's own unless Accept names the other; -1 if neither fits. */
export function responseEncoding(accept: string, reqEnc: EncodingCode): number {
  if (accept === '' || accept === '*/*') return reqEnc;
  const wantsMsgpack = accept.includes('application/msgpack') || accept.includes('application/x-msgpack');
  const wantsJson = accept.includes('application/json');
  if (wantsMsgpack && wantsJson) return reqEnc;
  if (wantsMsgpack) return Encoding.msgpack;
  if (wantsJson) return Encoding.json;
  if (accept.includes('*/*') || accept.includes('application/*')) return reqEnc;
  return -1;
}
