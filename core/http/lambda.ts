// POST /2015-03-31/functions/{FunctionName}/invocations: the AWS Lambda Invoke API, so the AWS
// SDKs and CLI can call Hearth's functions as they call Lambda. Its own semantics, not /v1's:
// the payload is JSON only; a function error is a 200 with X-Amz-Function-Error; Hearth-side
// failures use Lambda's service-error shape (status, `x-amzn-ErrorType`, `{Type, message}`), which
// the SDK turns into its named exceptions (this file's renderer: LAMBDA_ERRORS). With an invoke
// token, a SigV4 signature made with the token as the secret access key is accepted (the SDK's own
// signing, lambda-sigv4.ts), as is `Bearer <token>`; the body is read before anything else is
// checked, since the signature covers it.
//
// Not supported (ignored): X-Amz-Client-Context reaches no function (Hearth's invocation has no
// place for it yet; it is checked for shape only), X-Amz-Durable-Execution-Name, X-Amz-Tenant-Id,
// presigned (query-string) signatures.

import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { Encoding } from '../../runtime/protocol.js';
import { badIdempotencyKey, eventBodyLimit } from '../async/invoker.js';
import type { EnqueueResult } from '../async/queue.js';
import type { FunctionVersion } from '../backend.js';
import { newCall, type CallOutcome } from '../call.js';
import type { Config } from '../config.js';
import { errorJson, HearthError, type ErrorType } from '../errors.js';
import { tailBase64 } from '../logs.js';
import { endWithoutBody, finish, type Exchange } from './exchange.js';
import type { Gate } from './gate.js';
import { parseSignature, payloadHashMatches, signatureMatches, signedPayloadHash, type SignedRequest } from './lambda-sigv4.js';
import { DRY_RUN, Enqueue, type CallProtocol, type ErrorContext, type LogSource, type Plan, type Received, type Target } from './pipeline.js';
import { statusLine, writeCallHeaders, writeInvocationHeaders } from './render-v1.js';

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
 * raised (functionError on the outcome) are always function errors with their own errorType.
 * Types not listed (management-only ones) fall back to ServiceException for 5xx and
 * InvalidParameterValueException otherwise.
 */
const LAMBDA_ERRORS: Partial<Record<ErrorType, LambdaOutcome>> = {
  InvalidRequestContent: fault('InvalidRequestContentException', 400),
  InvalidRequest: fault('InvalidRequestContentException', 400),
  InvalidParameterValue: fault('InvalidParameterValueException', 400),
  IncompleteSignature: fault('IncompleteSignatureException', 400),
  MissingAuthenticationToken: fault('MissingAuthenticationTokenException', 403),
  UnrecognizedClient: fault('UnrecognizedClientException', 403),
  InvalidSignature: fault('InvalidSignatureException', 403),
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
  BodyCapacity: fault('ServiceException', 503),
  RequestTimeout: fault('RequestTimeoutException', 408),
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

const badSignature = () => new HearthError('InvalidSignature', 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key (the invoke token) and signing method.');

const invalidParameter = (message: string) => new HearthError('InvalidParameterValue', message);

interface LambdaCall extends Received {
  readonly invocationType: string;
  readonly logType: string;
  readonly clientContext: string;
  /** Event calls: Hearth's Idempotency-Key header (not Lambda's API; the same as on /v1). */
  readonly idempotencyKey: string;
  readonly authorization: string;
  /** The FunctionName (and Qualifier) parsed, or why it cannot be. */
  readonly target: Target | HearthError;
  /** A SigV4 Authorization header as parsed (null: none, or Bearer). */
  readonly signed: SignedRequest | HearthError | null;
}

export class LambdaApi implements CallProtocol<LambdaCall> {
  readonly bodyFirst = true;

  constructor(private readonly config: Pick<Config, 'maxBodyBytes' | 'asyncMaxBodyBytes'>, private readonly gate: Gate) {}

  receive(req: HttpRequest, _res: HttpResponse, requestId: string): LambdaCall {
    // The raw query first: uWS's getQuery(key) decodes the query in place, leaving bytes behind.
    const rawQuery = req.getQuery() ?? '';
    const authorization = req.getHeader('authorization');
    const signed = this.gate.invokeTokenSet && authorization !== '' && !authorization.startsWith('Bearer ')
      ? parseSignature(authorization, req, rawQuery, Date.now())
      : null;
    return {
      requestId,
      contentLength: req.getHeader('content-length'),
      target: parseFunctionName(req.getParameter(0) ?? '', req.getQuery('Qualifier') ?? ''),
      invocationType: req.getHeader('x-amz-invocation-type') || 'RequestResponse',
      logType: req.getHeader('x-amz-log-type'),
      clientContext: req.getHeader('x-amz-client-context'),
      idempotencyKey: req.getHeader('idempotency-key'),
      authorization,
      signed,
    };
  }

  authorize(r: LambdaCall, gate: Gate): HearthError | null {
    if (!gate.invokeTokenSet) return null;
    if (r.authorization === '') {
      return new HearthError('MissingAuthenticationToken', 'Missing Authentication Token: sign the request with the invoke token as the secret access key, or send "Authorization: Bearer <HEARTH_INVOKE_TOKEN>"');
    }
    if (r.signed === null) {
      return gate.mayInvoke(r.authorization) ? null : new HearthError('UnrecognizedClient', 'The security token included in the request is invalid.');
    }
    return r.signed instanceof HearthError ? r.signed : null;
  }

  /**
   * Before the body: the credential's scope (service lambda) and, when the request signs its
   * payload's hash (the JS SDKs do), the whole signature over that hash. An unknown caller is
   * refused without a byte of its body read; the body's hash is checked once it is in
   * (authorizeBody). Any access key id is accepted (the README's contract: the token is the
   * secret), so it cannot refuse anything here.
   */
  async authorizeHead(r: LambdaCall, gate: Gate): Promise<HearthError | null> {
    const s = r.signed;
    if (s === null || s instanceof HearthError) return null;
    if (s.service !== 'lambda') return new HearthError('InvalidSignature', `Credential should be scoped to correct service: 'lambda'.`);
    if (signedPayloadHash(s) === null) return null;
    return (await signatureMatches(s, null, gate.signingSecrets)) ? null : badSignature();
  }

  verifiedByBody(r: LambdaCall): boolean {
    return r.signed !== null && !(r.signed instanceof HearthError) && signedPayloadHash(r.signed) === null;
  }

  async authorizeBody(r: LambdaCall, body: ArrayBuffer, gate: Gate): Promise<HearthError | null> {
    if (r.signed === null || r.signed instanceof HearthError) return null;
    // Signed over a payload hash: authorizeHead checked the signature on it; the body must be what it names.
    if (signedPayloadHash(r.signed) !== null) return payloadHashMatches(r.signed, body) ? null : badSignature();
    if (await signatureMatches(r.signed, body, gate.signingSecrets)) return null;
    return badSignature();
  }

  check(r: LambdaCall): HearthError | null {
    if (!INVOCATION_TYPES.has(r.invocationType)) {
      return invalidParameter(`X-Amz-Invocation-Type "${r.invocationType}" is not one of RequestResponse, Event, DryRun`);
    }
    if (r.logType !== '' && r.logType !== 'None' && r.logType !== 'Tail') {
      return invalidParameter(`X-Amz-Log-Type "${r.logType}" is not one of None, Tail`);
    }
    if (r.target instanceof HearthError) return r.target;
    if (r.clientContext !== '') {
      const bad = checkClientContext(r.clientContext);
      if (bad !== null) return new HearthError('InvalidRequestContent', bad);
    }
    return null;
  }

  target(r: LambdaCall): Target {
    return r.target as Target;
  }

  bodyLimit(r: LambdaCall): number {
    return r.invocationType === 'Event' ? eventBodyLimit(this.config) : this.config.maxBodyBytes;
  }

  plan(r: LambdaCall, fn: FunctionVersion, received: ArrayBuffer): Plan {
    // Lambda's rule: the payload is JSON. No payload is the empty object (as Lambda hands it on).
    // A call that runs now on a runtime that decodes the payload itself (in the isolate or the
    // container: InvalidRequestContent when it is not JSON) is not parsed here as well: up to 6 MiB
    // parsed on the main thread holds every other call up (a 3.4 MB payload of objects: 44 ms). An
    // Event is checked before its 202 (it would only fail later), and so are DryRun and custom
    // images (their server gets the bytes as they are).
    let body = received;
    if (body.byteLength === 0) {
      body = new TextEncoder().encode('{}').buffer as ArrayBuffer;
    } else if (r.invocationType !== 'RequestResponse' || fn.runtime === 'image') {
      try {
        JSON.parse(Buffer.from(body).toString('utf8'));
      } catch (err) {
        throw new HearthError('InvalidRequestContent', `Could not parse request body into json: ${(err as Error).message}`);
      }
    }
    if (r.invocationType === 'DryRun') return DRY_RUN;
    const qualifier = (r.target as Target).qualifier;
    if (r.invocationType === 'Event') {
      // 202 once the durable queue has it (a repeated Idempotency-Key: 202 with the first id).
      const bad = badIdempotencyKey(r.idempotencyKey);
      if (bad !== null) throw bad;
      return new Enqueue([{
        fn, qualifier, body, enc: Encoding.json, source: 'lambda', requestId: r.requestId,
        ...(r.idempotencyKey !== '' ? { idempotencyKey: r.idempotencyKey } : {}),
      }]);
    }
    return newCall({ requestId: r.requestId, functionName: fn.name, qualifier, source: 'lambda', body, reqEnc: Encoding.json, resEnc: Encoding.json });
  }

  renderOutcome(ex: Exchange, r: LambdaCall, out: CallOutcome, logs: LogSource): void {
    const res = ex.res;
    const err = out.error;
    const outcome = err ? lambdaOutcome(err.errorType, err.status, err.functionError) : null;
    // Everything that could throw is computed before the first write.
    if (outcome !== null && 'exception' in outcome) {
      const body = faultBody(outcome.status, err!.errorMessage);
      res.cork(() => {
        res.writeStatus(statusLine(outcome.status));
        res.writeHeader('Content-Type', 'application/json');
        res.writeHeader('x-amzn-ErrorType', outcome.exception);
        writeLambdaHeaders(res, r.requestId, out.version);
        writeCallHeaders(res, r.requestId, out, false, null);
        res.end(body, ex.server.draining);
      });
    } else {
      const logResult = r.logType === 'Tail' ? tailBase64(logs.logsOf(r.requestId)) : null;
      const functionError = outcome !== null;
      const body = functionError ? errorJson(outcome.errorType ?? err!.errorType, err!.errorMessage, err!.stackTrace as string[] | undefined) : out.result ?? 'null';
      res.cork(() => {
        res.writeStatus(statusLine(200));
        res.writeHeader('Content-Type', 'application/json');
        writeLambdaHeaders(res, r.requestId, out.version);
        if (functionError) res.writeHeader('X-Amz-Function-Error', 'Unhandled');
        if (logResult !== null && logResult !== '') res.writeHeader('X-Amz-Log-Result', logResult);
        writeCallHeaders(res, r.requestId, out, functionError, null);
        res.end(body, ex.server.draining);
      });
    }
    finish(ex);
  }

  renderQueued(ex: Exchange, _r: LambdaCall, fn: FunctionVersion, [q]: readonly EnqueueResult[]): void {
    if (q === undefined) throw new Error('an Event invocation queues one event');
    ex.res.cork(() => {
      ex.res.writeStatus(statusLine(202));
      writeLambdaHeaders(ex.res, q.id, fn.version);
      writeInvocationHeaders(ex.res, q.id, false, 0, 0, 0);
      ex.res.end('', ex.server.draining);
    });
    finish(ex);
  }

  /** DryRun: everything checked, nothing run. */
  renderChecked(ex: Exchange, r: LambdaCall, fn: FunctionVersion): void {
    if (ex.aborted) return;
    ex.res.cork(() => {
      ex.res.writeStatus(statusLine(204));
      writeLambdaHeaders(ex.res, r.requestId, fn.version);
      writeInvocationHeaders(ex.res, r.requestId, false, 0, 0, 0);
      endWithoutBody(ex);
    });
    finish(ex);
  }

  /** A Lambda service error: `{Type, message}` with its exception's name and status. */
  renderError(ex: Exchange, r: LambdaCall, err: HearthError, at: ErrorContext): void {
    const o = lambdaOutcome(err.type, err.status, false);
    // A function-error type refused before running (none today) is still the caller's answer.
    const f = 'exception' in o ? o : fault('ServiceException', 500);
    const body = faultBody(f.status, err.message);
    ex.res.cork(() => {
      ex.res.writeStatus(statusLine(f.status));
      ex.res.writeHeader('Content-Type', 'application/json');
      ex.res.writeHeader('x-amzn-ErrorType', f.exception);
      if (err.retryAfterS !== undefined) ex.res.writeHeader('Retry-After', String(err.retryAfterS));
      writeLambdaHeaders(ex.res, r.requestId, at.version);
      writeInvocationHeaders(ex.res, r.requestId, false, 0, 0, 0);
      ex.res.end(body, at.close || ex.server.draining);
    });
    finish(ex);
  }
}

function writeLambdaHeaders(res: HttpResponse, requestId: string, version: string | null): void {
  res.writeHeader('x-amzn-RequestId', requestId);
  if (version !== null) res.writeHeader('X-Amz-Executed-Version', version);
}

/** Lambda's service-error body; `Type` says whose fault it is. */
function faultBody(status: number, message: string): string {
  return JSON.stringify({ Type: status >= 500 ? 'Service' : 'User', message });
}

// ---- FunctionName and qualifier ---------------------------------------------------------------

/**
 * `NAME`, `NAME:QUALIFIER`, `ACCOUNT:function:NAME[:QUALIFIER]` or
 * `arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]` (URL-encoded in the path).
 * Region and account are not checked: this node is every region and account.
 */
function parseFunctionName(raw: string, queryQualifier: string): Target | HearthError {
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
