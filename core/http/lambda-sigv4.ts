// SigV4 for the Lambda API: a request signed with the invoke token (or the admin token) as the
// secret access key is accepted, as the AWS SDKs and CLI sign it. The header is parsed before the
// body arrives; the signature, which covers the body's hash, is checked once it is read.

import { createHash, createHmac, timingSafeEqual, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import type { HttpRequest } from 'uWebSockets.js';
import { HearthError } from '../errors.js';

/** How far a SigV4 request's X-Amz-Date may be from this machine's clock. */
const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;

/** What a SigV4 Authorization header and the request say, read before the body arrives. */
export interface SignedRequest {
  accessKeyId: string;
  region: string;
  service: string;
  date: Date;
  signedHeaders: Set<string>;
  signature: string;
  /** The signed headers as received (repeated ones joined with commas). */
  headers: Record<string, string>;
  /** The path and query as received (still URL-encoded). */
  path: string;
  query: string;
}

const SIGV4 = 'AWS4-HMAC-SHA256 ';
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/**
 * Parses `AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request, SignedHeaders=a;b,
 * Signature=HEX` and X-Amz-Date, and checks the clock skew; the signature itself is checked once
 * the body is read (it covers the body's hash). Nothing of it is ever logged.
 */
export function parseSignature(authorization: string, req: HttpRequest, rawQuery: string, now: number): SignedRequest | HearthError {
  const incomplete = (why: string) => new HearthError('IncompleteSignature', `The request signature does not conform to AWS standards: ${why}`);
  if (!authorization.startsWith(SIGV4)) return incomplete('the Authorization header is neither "AWS4-HMAC-SHA256 ..." nor "Bearer <token>"');
  const fields = new Map<string, string>();
  for (const part of authorization.slice(SIGV4.length).split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = fields.get('Credential')?.split('/') ?? [];
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (credential.length !== 5 || credential[4] !== 'aws4_request' || !credential[0]) return incomplete('Credential= must be ACCESS_KEY/DATE/REGION/SERVICE/aws4_request');
  if (!signedHeaders) return incomplete('SignedHeaders= is missing');
  if (!signature || !/^[0-9a-f]{64}$/.test(signature)) return incomplete('Signature= must be 64 hex digits');
  const amzDate = req.getHeader('x-amz-date');
  const m = AMZ_DATE.exec(amzDate);
  if (m === null) return incomplete('X-Amz-Date must be present, as YYYYMMDDTHHMMSSZ');
  const date = new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
  if (Number.isNaN(date.getTime())) return incomplete('X-Amz-Date is not a date');
  if (credential[1] !== amzDate.slice(0, 8)) return incomplete('the Credential date is not the date of X-Amz-Date');
  const names = new Set(signedHeaders.split(';'));
  if (!names.has('host') || !names.has('x-amz-date')) return incomplete('SignedHeaders must include host and x-amz-date');
  const skew = date.getTime() - now;
  if (Math.abs(skew) > MAX_CLOCK_SKEW_MS) {
    const stamp = (t: number) => new Date(t).toISOString().replace(/[-:]|\.\d{3}/g, '');
    return new HearthError('InvalidSignature', skew < 0
      ? `Signature expired: ${amzDate} is now earlier than ${stamp(now - MAX_CLOCK_SKEW_MS)} (${stamp(now)} - 15 min.)`
      : `Signature not yet current: ${amzDate} is still later than ${stamp(now + MAX_CLOCK_SKEW_MS)} (${stamp(now)} + 15 min.)`);
  }
  const headers: Record<string, string> = {};
  req.forEach((k, v) => {
    if (names.has(k)) headers[k] = k in headers ? `${headers[k]},${v}` : v;
  });
  return {
    accessKeyId: credential[0], date, region: credential[2]!, service: credential[3]!, signedHeaders: names, signature, headers,
    path: req.getUrl(), query: rawQuery,
  };
}

/**
 * Re-signs the request as received with each accepted secret (any access key id) and compares
 * the signatures in constant time. The signer computes the canonical request itself: the signed
 * headers as sent, the path as sent (escaped once more, as SigV4 wants for every service but S3),
 * the query decoded (it escapes it again) and the body's hash.
 */
export async function signatureMatches(s: SignedRequest, body: ArrayBuffer | null, secrets: readonly string[]): Promise<boolean> {
  const bytes = body === null ? undefined : new Uint8Array(body);
  // A signed x-amz-content-sha256 stands for the body in the signature: it must be the body's hash.
  // (body null: checked before the body arrives, on the declared hash alone; see signedPayloadHash.)
  const declared = s.headers['x-amz-content-sha256'];
  if (body === null && signedPayloadHash(s) === null) return false;
  if (bytes !== undefined && declared !== undefined && declared !== createHash('sha256').update(bytes).digest('hex')) return false;
  const query = parseQuery(s.query);
  if (query === null) return false;
  const request = { method: 'POST', protocol: 'http:', hostname: s.headers.host ?? '', path: s.path, query, headers: { ...s.headers }, body: bytes };
  const want = Buffer.from(s.signature);
  let ok = false;
  for (const secret of secrets) {
    const signer = new SignatureV4({
      service: s.service, region: s.region, sha256: NodeSha256, applyChecksum: false, uriEscapePath: true,
      credentials: { accessKeyId: s.accessKeyId, secretAccessKey: secret },
    });
    const out = await signer.sign(request, { signingDate: s.date, signableHeaders: s.signedHeaders });
    const got = Buffer.from(/Signature=([0-9a-f]{64})/.exec(String(out.headers.authorization ?? ''))?.[1] ?? '');
    if (got.length === want.length && timingSafeEqual(got, want)) ok = true;
  }
  return ok;
}

/** The body is the one a signed payload hash names (the signature itself checked before the body, on that hash). */
export function payloadHashMatches(s: SignedRequest, body: ArrayBuffer): boolean {
  const declared = signedPayloadHash(s);
  return declared !== null && declared === createHash('sha256').update(new Uint8Array(body)).digest('hex');
}

/**
 * The payload hash a signature covers, when the request signs one (x-amz-content-sha256, as the
 * AWS SDKs for JavaScript send it): the signature can then be checked before the body is read,
 * and the body's hash once it is. Null: only the body itself can complete the check (the AWS CLI
 * signs without the header).
 */
export function signedPayloadHash(s: SignedRequest): string | null {
  const declared = s.headers['x-amz-content-sha256'];
  return declared !== undefined && /^[0-9a-f]{64}$/.test(declared) ? declared : null;
}

/** A raw query string → decoded keys and values (repeated keys → arrays); null if malformed. */
function parseQuery(raw: string): Record<string, string | string[]> | null {
  const out: Record<string, string | string[]> = {};
  if (raw === '') return out;
  try {
    for (const pair of raw.split('&')) {
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      const k = decodeURIComponent(eq < 0 ? pair : pair.slice(0, eq));
      const v = eq < 0 ? '' : decodeURIComponent(pair.slice(eq + 1));
      const prev = out[k];
      out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
  } catch {
    return null;
  }
  return out;
}

type SourceData = string | ArrayBuffer | ArrayBufferView;

const toBuffer = (d: SourceData): Buffer | string =>
  typeof d === 'string' ? d : d instanceof ArrayBuffer ? Buffer.from(d) : Buffer.from(d.buffer, d.byteOffset, d.byteLength);

/** SHA-256 (or HMAC-SHA-256 with a secret) from node:crypto, in the shape the signer takes. */
class NodeSha256 {
  private readonly hash: Hash | Hmac;
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(secret));
  }
  update(data: SourceData): void {
    this.hash.update(toBuffer(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }
}
