// A web call to a python3 or java17 function: the handler gets the Lambda function URL event
// (payload 2.0) as its JSON event, as js event functions do (runtime/lambda-url.ts), and its
// result ({statusCode, headers, body, …} or any value) is the web response.

import type { FunctionVersion } from '../core/backend.js';
import { asEventCall, functionError, ranOutcome, WebAnswer, type CallOutcome, type CallRequest } from '../core/call.js';
import { checkedHeaders } from '../core/web-headers.js';
import { lambdaUrlEvent, lambdaUrlResult, type Codecs } from '../runtime/lambda-url.js';
import { Encoding } from '../runtime/protocol.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });
const NODE_CODECS: Codecs = {
  decodeUtf8: (b) => utf8.decode(b),
  encodeUtf8: (t) => Buffer.from(t, 'utf8'),
  toBase64: (b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64'),
  fromBase64: (t) => Buffer.from(t, 'base64'),
};

/** The web call as an event call of its own, with the function URL event as its JSON body. */
export function urlEventCall(req: CallRequest): CallRequest {
  const web = req.web;
  if (web === null) return req;
  const event = lambdaUrlEvent(NODE_CODECS, web.method, web.url, web.headers, req.body, req.requestId, web.remoteAddress);
  const bytes = Buffer.from(JSON.stringify(event));
  return asEventCall(req, bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer, Encoding.json);
}

/**
 * The outcome of the event call as the web call's: the handler's JSON result as the response, or
 * an InvalidResponse error (the function's) when it is not one. Timings and errors stay as they are.
 */
export function urlOutcome(fn: FunctionVersion, out: CallOutcome): CallOutcome {
  if (out.result === null) return out;
  const invalid = (why: string) => ranOutcome(out.version, out, functionError('InvalidResponse', `${fn.name}: ${why}`, []));
  let r;
  try {
    r = lambdaUrlResult(NODE_CODECS, JSON.parse(Buffer.from(out.result).toString('utf8')));
  } catch (err) {
    return invalid(`the result is not a function URL response: ${(err as Error).message}`);
  }
  // Final statuses only (a 1xx would leave clients and proxies waiting), as for js functions.
  if (r.status < 200) return invalid(`statusCode ${r.status} is not a final HTTP status`);
  const headers = checkedHeaders(r.headers);
  if (headers === null) return invalid('the response has a header name or value HTTP does not allow');
  const body = r.body.buffer.slice(r.body.byteOffset, r.body.byteOffset + r.body.byteLength) as ArrayBuffer;
  return ranOutcome(out.version, out, new WebAnswer({ status: r.status, statusText: '', headers }, body, null));
}
