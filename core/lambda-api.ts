// POST /2015-03-31/functions/{FunctionName}/invocations: the AWS Lambda Invoke API, so the AWS
// SDKs and CLI can call Hearth's functions as they call Lambda. Its own semantics, not /v1's:
// the payload is JSON only; a function error is a 200 with X-Amz-Function-Error; Hearth-side
// failures use Lambda's service-error shape (status, `x-amzn-ErrorType`, `{Type, message}`), which
// the SDK turns into its named exceptions. With an invoke token, a SigV4 signature made with the
// token as the secret access key is accepted (the SDK's own signing), as is `Bearer <token>`.
//
// Not supported (ignored): X-Amz-Client-Context reaches no function (Hearth's invocation has no
// place for it yet; it is checked for shape only), X-Amz-Durable-Execution-Name, X-Amz-Tenant-Id,
// presigned (query-string) signatures.

import { createHash, createHmac, randomUUID, timingSafeEqual, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import type { AsyncInvoker } from './async/invoker.js';
import { Encoding } from '../runtime/protocol.js';
import { newInvocation, type FunctionVersion, type Invocation } from './backend.js';
import type { Config } from './config.js';
import type { Dispatcher } from './dispatcher.js';
import { errorJson, HearthError, StatusLine, toHearthError, type ErrorType } from './errors.js';
import { endWithoutBody, finish, readBody, type Exchange } from './http-io.js';
import { writeCallHeaders, writeInvocationHeaders, type FrontEnd } from './http.js';
import { log } from './log.js';
import { tailBase64 } from './logs.js';
import type { Registry } from './registry.js';

export interface LambdaApiDeps {
  config: Config;
  registry: Registry;
  dispatcher: Dispatcher;
  /** Event calls go to the durable queue (core/async/). */
  asyncInvoker: AsyncInvoker;
}
/** How far a SigV4 request's X-Amz-Date may be from this machine's clock. */
const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;
/** Lambda's limit for X-Amz-Client-Context (base64 characters). */
const CLIENT_CONTEXT_MAX = 3583;

const INVOCATION_TYPES = new Set(['RequestResponse', 'Event', 'DryRun']);

/** One Lambda service error: the exception's name (x-amzn-ErrorType) and its status. */
interface LambdaException { exception: string; status: number }
/** A function error: 200 with X-Amz-Function-Error; `errorType` replaces Hearth's when set. */
interface LambdaFunctionError { functionError: true; errorType: string | null }
type LambdaOutcome = LambdaException | LambdaFunctionError;

const fault = (exception: string, status: number): LambdaException => ({ exception, status });
const fnError = (errorType: string | null = null): LambdaFunctionError => ({ functionError: true, errorType });

/**
 * Hearth's error types → what the Lambda API answers, in one place. Errors the function itself
 * raised (functionError on the invocation) are always function errors with their own errorType.
 * Types not listed (management-only ones) fall back to ServiceException for 5xx and
 * InvalidParameterValueException otherwise.
 */
const LAMBDA_ERRORS: Partial<Record<ErrorType, LambdaOutcome>> = {
  InvalidRequestContent: fault('InvalidRequestContentException', 400),
  InvalidRequest: fault('InvalidRequestContentException', 400),
  NotFound: fault('ResourceNotFoundException', 404),
  FunctionNotFound: fault('ResourceNotFoundException', 404),
  VersionNotFound: fault('ResourceNotFoundException', 404),
  RequestTooLarge: fault('RequestTooLargeException', 413),
  UnsupportedMediaType: fault('UnsupportedMediaTypeException', 415),
  TooManyRequests: fault('TooManyRequestsException', 429),
  Conflict: fault('ResourceConflictException', 409),
  QueueTimeout: fault('TooManyRequestsException', 429),
  InternalError: fault('ServiceException', 500),
  BackendUnavailable: fault('ServiceException', 503),
  Draining: fault('ServiceException', 503),
  // What Lambda reports as function errors (HTTP 200), with Lambda's errorType where it has one.
  Unhandled: fnError(),
  ResultNotSerializable: fnError(),
  FunctionInitError: fnError(),
  WrongFunctionKind: fnError('Runtime.HandlerNotFound'),
  Timeout: fnError('Sandbox.Timedout'),
  OutOfMemory: fnError('Runtime.OutOfMemory'),
  InstanceFailed: fnError('Runtime.ExitError'),
};

function lambdaOutcome(type: string, status: number, functionError: boolean): LambdaOutcome {
  if (functionError) return fnError();
  return LAMBDA_ERRORS[type as ErrorType] ?? (status >= 500 ? fault('ServiceException', 500) : fault('InvalidParameterValueException', 400));
}

/** An error answered before (or instead of) running: a Lambda service error. */
class LambdaFault {
  constructor(readonly exception: string, readonly status: number, readonly message: string) {}
  static of(err: HearthError): LambdaFault {
    const o = lambdaOutcome(err.type, err.status, false);
    // A function-error type refused before running (none today) is still the caller's answer.
    return 'exception' in o ? new LambdaFault(o.exception, o.status, err.message) : new LambdaFault('ServiceException', 500, err.message);
  }
}

const invalidParameter = (message: string) => new LambdaFault('InvalidParameterValueException', 400, message);

export function mountLambda(fe: FrontEnd, deps: LambdaApiDeps): void {
  fe.app.post('/2015-03-31/functions/:name/invocations', (res, req) => serveInvoke(fe, deps, res, req));
}

interface Call {
  ex: Exchange;
  requestId: string;
  rawName: string;
  queryQualifier: string;
  invocationType: string;
  logType: string;
  clientContext: string;
  /** Event calls: Hearth's Idempotency-Key header (not Lambda's API; the same as on /v1). */
  idempotencyKey: string;
}

function serveInvoke(fe: FrontEnd, deps: LambdaApiDeps, res: HttpResponse, req: HttpRequest): void {
  // receive: everything from `req` is read now (it is invalid after this function returns)
  const ex = fe.track(res);
  // The raw query first: uWS's getQuery(key) decodes the query in place, leaving bytes behind.
  const rawQuery = req.getQuery() ?? '';
  const call: Call = {
    ex,
    requestId: randomUUID(),
    rawName: req.getParameter(0) ?? '',
    queryQualifier: req.getQuery('Qualifier') ?? '',
    invocationType: req.getHeader('x-amz-invocation-type') || 'RequestResponse',
    logType: req.getHeader('x-amz-log-type'),
    clientContext: req.getHeader('x-amz-client-context'),
    idempotencyKey: req.getHeader('idempotency-key'),
  };
  const contentLength = req.getHeader('content-length');

  let signed: SignedRequest | null = null;
  if (fe.invokeToken !== null) {
    const authorization = req.getHeader('authorization');
    if (authorization === '') {
      return sendFault(call, new LambdaFault('MissingAuthenticationTokenException', 403, 'Missing Authentication Token: sign the request with the invoke token as the secret access key, or send "Authorization: Bearer <HEARTH_INVOKE_TOKEN>"'));
    }
    if (authorization.startsWith('Bearer ')) {
      if (!fe.mayInvoke(authorization)) return sendFault(call, new LambdaFault('UnrecognizedClientException', 403, 'The security token included in the request is invalid.'));
    } else {
      const parsed = parseSignature(authorization, req, rawQuery, Date.now());
      if (parsed instanceof LambdaFault) return sendFault(call, parsed);
      signed = parsed;
    }
  }

  const limit = call.invocationType === 'Event' ? Math.min(deps.config.asyncMaxBodyBytes, deps.config.maxBodyBytes) : deps.config.maxBodyBytes;
  readBody(ex, contentLength, limit, (body) => {
    if (signed === null) return proceed(deps, call, body);
    const secrets = [deps.config.invokeToken, deps.config.adminToken].filter((s): s is string => typeof s === 'string');
    signatureMatches(signed, body, secrets).then(
      (ok) => {
        if (ex.aborted) return;
        if (!ok) return sendFault(call, new LambdaFault('InvalidSignatureException', 403, 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key (the invoke token) and signing method.'));
        proceed(deps, call, body);
      },
      (err) => {
        log.error({ err: (err as Error).message, requestId: call.requestId }, 'could not check a request signature');
        sendFault(call, new LambdaFault('ServiceException', 500, 'the request signature could not be checked'));
      },
    );
  }, (err, close) => sendFault(call, LambdaFault.of(err), null, close));
}

/** Validate and resolve (all of DryRun), then run the call or hand it to the background. */
function proceed(deps: LambdaApiDeps, call: Call, received: ArrayBuffer): void {
  const { ex, requestId } = call;
  if (!INVOCATION_TYPES.has(call.invocationType)) {
    return sendFault(call, invalidParameter(`X-Amz-Invocation-Type "${call.invocationType}" is not one of RequestResponse, Event, DryRun`));
  }
  if (call.logType !== '' && call.logType !== 'None' && call.logType !== 'Tail') {
    return sendFault(call, invalidParameter(`X-Amz-Log-Type "${call.logType}" is not one of None, Tail`));
  }
  const target = parseFunctionName(call.rawName, call.queryQualifier);
  if (target instanceof LambdaFault) return sendFault(call, target);
  if (call.clientContext !== '') {
    const bad = checkClientContext(call.clientContext);
    if (bad !== null) return sendFault(call, new LambdaFault('InvalidRequestContentException', 400, bad));
  }
  let fn: FunctionVersion;
  try {
    fn = deps.registry.resolve(target.name, target.qualifier);
  } catch (err) {
    return sendFault(call, LambdaFault.of(toHearthError(err)));
  }
  // Lambda's rule: the payload is JSON. No payload is the empty object (as Lambda hands it on).
  // A call that runs now on a runtime that decodes the payload itself (in the isolate or the
  // container: InvalidRequestContent when it is not JSON) is not parsed here as well: up to 6 MiB
  // parsed on the main thread holds every other call up (a 3.4 MB payload of objects: 44 ms). An
  // Event is checked before its 202 (it would only fail later), and so are DryRun and custom
  // images (their server gets the bytes as they are).
  let body = received;
  if (body.byteLength === 0) {
    body = new TextEncoder().encode('{}').buffer as ArrayBuffer;
  } else if (call.invocationType !== 'RequestResponse' || fn.runtime === 'image') {
    try {
      JSON.parse(Buffer.from(body).toString('utf8'));
    } catch (err) {
      return sendFault(call, new LambdaFault('InvalidRequestContentException', 400, `Could not parse request body into json: ${(err as Error).message}`), fn.version);
    }
  }

  if (call.invocationType === 'DryRun') {
    if (ex.aborted) return;
    ex.res.cork(() => {
      ex.res.writeStatus(StatusLine[204]!);
      writeLambdaHeaders(ex.res, requestId, fn.version);
      writeInvocationHeaders(ex.res, requestId, false, 0, 0, 0);
      endWithoutBody(ex);
    });
    return finish(ex);
  }

  if (call.invocationType === 'Event') {
    // 202 once the durable queue has it (a repeated Idempotency-Key: 202 with the first id).
    if (call.idempotencyKey !== '' && !/^[\x21-\x7e]{1,255}$/.test(call.idempotencyKey)) {
      return sendFault(call, new LambdaFault('InvalidRequestContentException', 400, 'Idempotency-Key must be 1-255 visible ASCII characters'), fn.version);
    }
    deps.asyncInvoker.enqueue({
      fn, qualifier: target.qualifier, body, enc: Encoding.json, source: 'lambda', requestId,
      ...(call.idempotencyKey !== '' ? { idempotencyKey: call.idempotencyKey } : {}),
    }).then((r) => {
      if (ex.aborted) return;
      ex.res.cork(() => {
        ex.res.writeStatus(StatusLine[202]!);
        writeLambdaHeaders(ex.res, r.id, fn.version);
        writeInvocationHeaders(ex.res, r.id, false, 0, 0, 0);
        ex.res.end('', ex.server.draining);
      });
      finish(ex);
    }, (err) => sendFault(call, LambdaFault.of(toHearthError(err)), fn.version));
    return;
  }

  const inv = newInvocation(requestId, fn, body, Encoding.json, Encoding.json);

  const tail = call.logType === 'Tail';
  deps.dispatcher.invoke(fn, inv).then(() => respond(deps, ex, inv, tail)).catch((err) => {
    // respond() failed part-way (it must not, but a request must never go unanswered).
    log.error({ err, requestId }, 'could not write a Lambda invoke response');
    sendFault(call, new LambdaFault('ServiceException', 500, toHearthError(err).message), inv.version);
  });
}

function respond(deps: LambdaApiDeps, ex: Exchange, inv: Invocation, tail: boolean): void {
  if (!ex.aborted) {
    const res = ex.res;
    const err = inv.error;
    const outcome = err ? lambdaOutcome(err.errorType, err.status, err.functionError) : null;
    // Everything that could throw is computed before the first write.
    if (outcome !== null && 'exception' in outcome) {
      const body = faultBody(outcome.status, err!.errorMessage);
      res.cork(() => {
        res.writeStatus(StatusLine[outcome.status] ?? String(outcome.status));
        res.writeHeader('Content-Type', 'application/json');
        res.writeHeader('x-amzn-ErrorType', outcome.exception);
        writeLambdaHeaders(res, inv.requestId, inv.version);
        writeCallHeaders(res, inv, false, null);
        res.end(body, ex.server.draining);
      });
    } else {
      const logResult = tail ? tailBase64(inv.logs) : null;
      const functionError = outcome !== null;
      const body = functionError ? errorJson(outcome.errorType ?? err!.errorType, err!.errorMessage, err!.stackTrace) : inv.result ?? 'null';
      res.cork(() => {
        res.writeStatus(StatusLine[200]!);
        res.writeHeader('Content-Type', 'application/json');
        writeLambdaHeaders(res, inv.requestId, inv.version);
        if (functionError) res.writeHeader('X-Amz-Function-Error', 'Unhandled');
        if (logResult !== null && logResult !== '') res.writeHeader('X-Amz-Log-Result', logResult);
        writeCallHeaders(res, inv, functionError, null);
        res.end(body, ex.server.draining);
      });
    }
    finish(ex);
  }
  deps.dispatcher.settle(inv);
}

function writeLambdaHeaders(res: HttpResponse, requestId: string, version: string | null): void {
  res.writeHeader('x-amzn-RequestId', requestId);
  if (version !== null) res.writeHeader('X-Amz-Executed-Version', version);
}

/** Lambda's service-error body; `Type` says whose fault it is. */
function faultBody(status: number, message: string): string {
  return JSON.stringify({ Type: status >= 500 ? 'Service' : 'User', message });
}

function sendFault(call: Call, f: LambdaFault, version: string | null = null, close = false): void {
  const ex = call.ex;
  if (ex.aborted) return;
  const body = faultBody(f.status, f.message);
  ex.res.cork(() => {
    ex.res.writeStatus(StatusLine[f.status] ?? String(f.status));
    ex.res.writeHeader('Content-Type', 'application/json');
    ex.res.writeHeader('x-amzn-ErrorType', f.exception);
    writeLambdaHeaders(ex.res, call.requestId, version);
    writeInvocationHeaders(ex.res, call.requestId, false, 0, 0, 0);
    ex.res.end(body, close || ex.server.draining);
  });
  finish(ex);
}

// ---- FunctionName and qualifier ---------------------------------------------------------------

/**
 * `NAME`, `NAME:QUALIFIER`, `ACCOUNT:function:NAME[:QUALIFIER]` or
 * `arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]` (URL-encoded in the path).
 * Region and account are not checked: this node is every region and account.
 */
function parseFunctionName(raw: string, queryQualifier: string): { name: string; qualifier: string } | LambdaFault {
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return invalidParameter(`FunctionName "${raw}" is not a valid URL-encoded string`);
  }
  const p = decoded.split(':');
  let name: string | undefined;
  let qualifier: string | undefined;
  if (p[0] === 'arn' && (p.length === 7 || p.length === 8) && p[2] === 'lambda' && p[5] === 'function') [name, qualifier] = [p[6], p[7]];
  else if ((p.length === 3 || p.length === 4) && p[1] === 'function') [name, qualifier] = [p[2], p[3]];
  else if (p.length <= 2) [name, qualifier] = [p[0], p[1]];
  if (!name || qualifier === '') {
    return invalidParameter(`FunctionName "${decoded}" is not a function name, NAME:QUALIFIER, a partial ARN (ACCOUNT:function:NAME) or a function ARN`);
  }
  if (qualifier !== undefined && queryQualifier !== '' && qualifier !== queryQualifier) {
    return invalidParameter(`The derived qualifier from the function name ("${qualifier}") does not match the specified qualifier ("${queryQualifier}").`);
  }
  return { name, qualifier: qualifier ?? queryQualifier };
}

/** Lambda's check of X-Amz-Client-Context: base64 of a JSON object, at most 3,583 characters. */
function checkClientContext(value: string): string | null {
  if (value.length > CLIENT_CONTEXT_MAX) return `X-Amz-Client-Context is ${value.length} characters, over the ${CLIENT_CONTEXT_MAX}-character limit`;
  try {
    const v: unknown = JSON.parse(Buffer.from(value, 'base64').toString('utf8'));
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) return null;
  } catch { /* answered below */ }
  return 'X-Amz-Client-Context must be a base64-encoded JSON object';
}

// ---- SigV4 --------------------------------------------------------------------------------------

/** What a SigV4 Authorization header and the request say, read before the body arrives. */
interface SignedRequest {
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
function parseSignature(authorization: string, req: HttpRequest, rawQuery: string, now: number): SignedRequest | LambdaFault {
  const incomplete = (why: string) => new LambdaFault('IncompleteSignatureException', 400, `The request signature does not conform to AWS standards: ${why}`);
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
    return new LambdaFault('InvalidSignatureException', 403, skew < 0
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
async function signatureMatches(s: SignedRequest, body: ArrayBuffer, secrets: string[]): Promise<boolean> {
  const bytes = new Uint8Array(body);
  // A signed x-amz-content-sha256 stands for the body in the signature: it must be the body's hash.
  const declared = s.headers['x-amz-content-sha256'];
  if (declared !== undefined && declared !== createHash('sha256').update(bytes).digest('hex')) return false;
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
