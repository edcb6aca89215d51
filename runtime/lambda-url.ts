// The Lambda function URL contract (payload format 2.0) for event functions called on the web
// route: the request as the event, and the handler's result back as a response. Used inside the
// isolate (js) and by the host for container functions (python3, java17), so it imports nothing:
// each side passes its own UTF-8 and base64 codecs (the isolate has no Buffer, the host no need
// for the isolate's).

export interface Codecs {
  /** UTF-8 bytes to a string; throws on invalid UTF-8. */
  decodeUtf8(bytes: Uint8Array): string;
  encodeUtf8(text: string): Uint8Array;
  toBase64(bytes: Uint8Array): string;
  fromBase64(text: string): Uint8Array;
}

export interface UrlResponse {
  status: number;
  /** Flat [name, value, ...], lower-case names. */
  headers: string[];
  body: Uint8Array;
}

/** The Lambda function URL event (payload format version 2.0). */
export function lambdaUrlEvent(codecs: Codecs, method: string, url: string, flat: readonly string[], body: ArrayBuffer, requestId: string, sourceIp: string): Record<string, unknown> {
  // The host gives a parsed and serialized URL: split it without loading URL.
  const afterScheme = url.indexOf('://') + 3;
  const pathAt = url.indexOf('/', afterScheme);
  const queryAt = url.indexOf('?', pathAt);
  const u = {
    host: url.slice(afterScheme, pathAt),
    pathname: queryAt < 0 ? url.slice(pathAt) : url.slice(pathAt, queryAt),
    search: queryAt < 0 ? '' : url.slice(queryAt),
  };
  const headers: Record<string, string> = Object.create(null);
  const cookies: string[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const k = flat[i]!, v = flat[i + 1]!;
    if (k === 'cookie') { for (const c of v.split(/;\s*/)) if (c) cookies.push(c); continue; }
    headers[k] = k in headers ? `${headers[k]},${v}` : v;
  }
  const query: Record<string, string> = Object.create(null);
  for (const pair of u.search.slice(1).split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const k = formDecode(eq < 0 ? pair : pair.slice(0, eq)), v = eq < 0 ? '' : formDecode(pair.slice(eq + 1));
    query[k] = k in query ? `${query[k]},${v}` : v;
  }
  const bytes = new Uint8Array(body);
  let text: string | null = null;
  if (bytes.length > 0) { try { text = codecs.decodeUtf8(bytes); } catch { text = null; } }
  const event: Record<string, unknown> = {
    version: '2.0',
    routeKey: '$default',
    rawPath: u.pathname,
    rawQueryString: u.search.slice(1),
    headers,
    requestContext: {
      http: { method, path: u.pathname, protocol: 'HTTP/1.1', sourceIp, userAgent: headers['user-agent'] ?? '' },
      requestId,
      routeKey: '$default',
      stage: '$default',
      timeEpoch: Date.now(),
      domainName: u.host,
    },
    isBase64Encoded: false,
  };
  if (cookies.length) event.cookies = cookies;
  if (Object.keys(query).length) event.queryStringParameters = { ...query };
  event.headers = { ...headers };
  if (bytes.length > 0) {
    if (text !== null) event.body = text;
    else { event.body = codecs.toBase64(bytes); event.isBase64Encoded = true; }
  }
  return event;
}

/**
 * A handler's result as the response: {statusCode, headers, body, isBase64Encoded, cookies}, or
 * any other value as a 200 with its JSON, as Lambda function URLs do. Throws a RangeError for a
 * statusCode that is not an HTTP status.
 */
export function lambdaUrlResult(codecs: Codecs, result: unknown): UrlResponse {
  const r = result as Record<string, unknown> | null;
  if (r === null || typeof r !== 'object' || Array.isArray(r) || typeof r.statusCode !== 'number') {
    const text = result === undefined ? '' : typeof result === 'string' ? result : JSON.stringify(result);
    return { status: 200, headers: ['content-type', 'application/json'], body: codecs.encodeUtf8(text) };
  }
  const flat: string[] = [];
  if (r.headers && typeof r.headers === 'object') {
    for (const [k, v] of Object.entries(r.headers as Record<string, unknown>)) flat.push(k.toLowerCase(), String(v));
  }
  if (Array.isArray(r.cookies)) for (const c of r.cookies) flat.push('set-cookie', String(c));
  let body: Uint8Array = new Uint8Array(0);
  if (typeof r.body === 'string') body = r.isBase64Encoded === true ? codecs.fromBase64(r.body) : codecs.encodeUtf8(r.body);
  else if (r.body !== undefined && r.body !== null) body = codecs.encodeUtf8(JSON.stringify(r.body));
  const status = Math.trunc(r.statusCode as number);
  if (!(status >= 100 && status <= 599)) throw new RangeError(`statusCode ${status} is not an HTTP status`);
  return { status, headers: flat, body };
}

/** application/x-www-form-urlencoded decoding of one name or value ('+' is a space). */
function formDecode(s: string): string {
  const t = s.replace(/\+/g, ' ');
  try { return decodeURIComponent(t); } catch { return t; }
}
