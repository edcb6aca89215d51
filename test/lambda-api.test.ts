// The AWS Lambda Invoke API (POST /2015-03-31/functions/{FunctionName}/invocations) on real Hearth
// processes, called with the real AWS SDK (@aws-sdk/client-lambda) and with raw HTTP.

import { InvokeCommand, LambdaClient, type InvokeCommandInput, type LambdaClientConfig } from '@aws-sdk/client-lambda';
import { SignatureV4 } from '@smithy/signature-v4';
import { createHash, createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployOk, jsSource, startHearth, type Hearth } from './support/hearth.js';

const te = new TextEncoder();
const td = new TextDecoder();
const json = (v: unknown) => te.encode(JSON.stringify(v));
const text = (p: Uint8Array | undefined) => td.decode(p ?? new Uint8Array());

function lambda(h: Hearth, config: Partial<LambdaClientConfig> = {}): LambdaClient {
  return new LambdaClient({
    endpoint: h.url, region: 'us-east-1', maxAttempts: 1,
    credentials: { accessKeyId: 'AKIDHEARTHTEST', secretAccessKey: 'any-secret-without-a-token' },
    ...config,
  });
}

/** The SDK's error for a call that must fail: its name, status and message. */
async function failure(client: LambdaClient, input: InvokeCommandInput): Promise<{ name: string; status: number | undefined; message: string }> {
  try {
    const out = await client.send(new InvokeCommand(input));
    throw new Error(`expected an error, got ${out.StatusCode}: ${text(out.Payload)}`);
  } catch (err) {
    const e = err as Error & { $metadata?: { httpStatusCode?: number } };
    if (e.message.startsWith('expected an error')) throw e;
    return { name: e.name, status: e.$metadata?.httpStatusCode, message: e.message };
  }
}

const invocationsUrl = (h: Hearth, name: string) => `${h.url}/2015-03-31/functions/${encodeURIComponent(name)}/invocations`;

describe('without tokens', () => {
  let h: Hearth;
  let client: LambdaClient;

  beforeAll(async () => {
    h = await startHearth({ args: ['--no-docker'] });
    client = lambda(h);
    await deployOk(h, 'echo', jsSource('exports.handler = async (event, ctx) => ({ event, requestId: ctx.awsRequestId })'));
    await deployOk(h, 'talk', jsSource('exports.handler = async (event) => { console.log("hello from lambda", JSON.stringify(event)); return "said it"; }'));
    await deployOk(h, 'throws', jsSource('exports.handler = async () => { throw new TypeError("the input was not what I wanted"); }'));
    await deployOk(h, 'hangs', jsSource('exports.handler = () => new Promise(() => {})', { timeoutMs: 300 }));
  });
  afterAll(async () => {
    client?.destroy();
    await h?.stop();
  });

  it('RequestResponse: the result, status and headers as Lambda gives them', async () => {
    const out = await client.send(new InvokeCommand({ FunctionName: 'echo', Payload: json({ a: [1, 'two'], u: 'héllo ☃' }) }));
    expect(out.StatusCode).toBe(200);
    expect(out.ExecutedVersion).toBe('$LATEST');
    expect(out.FunctionError).toBeUndefined();
    expect(out.LogResult).toBeUndefined();
    const body = JSON.parse(text(out.Payload));
    expect(body.event).toEqual({ a: [1, 'two'], u: 'héllo ☃' });
    // x-amzn-RequestId is Hearth's request id, the one the function saw.
    expect(out.$metadata.requestId).toBe(body.requestId);
    expect(body.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('every response also carries Hearth\'s own headers (raw HTTP)', async () => {
    const r = await fetch(invocationsUrl(h, 'echo'), { method: 'POST', body: '{"raw":true}' });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/json');
    const id = r.headers.get('x-amzn-requestid');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.headers.get('x-hearth-request-id')).toBe(id);
    expect(r.headers.get('x-amz-executed-version')).toBe('$LATEST');
    expect(r.headers.get('x-hearth-executed-version')).toBe('$LATEST');
    expect(['true', 'false']).toContain(r.headers.get('x-hearth-cold'));
    expect(Number(r.headers.get('x-hearth-duration-ms'))).toBeGreaterThanOrEqual(0);
    expect(r.headers.get('x-hearth-init-ms')).not.toBeNull();
    expect(r.headers.get('x-hearth-queue-ms')).not.toBeNull();
    expect(await r.json()).toEqual({ event: { raw: true }, requestId: id });
    // Errors answered before running carry the request ids too.
    const missing = await fetch(invocationsUrl(h, 'nobody'), { method: 'POST', body: '{}' });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('x-amzn-errortype')).toBe('ResourceNotFoundException');
    expect(missing.headers.get('x-amzn-requestid')).toBe(missing.headers.get('x-hearth-request-id'));
    expect(await missing.json()).toMatchObject({ Type: 'User', message: expect.stringContaining('nobody') });
  });

  it('no payload is the empty object', async () => {
    const out = await client.send(new InvokeCommand({ FunctionName: 'echo' }));
    expect(out.StatusCode).toBe(200);
    expect(JSON.parse(text(out.Payload)).event).toEqual({});
  });

  it('Event: 202 at once; the call runs in the background and its record says it is done', async () => {
    const out = await client.send(new InvokeCommand({ FunctionName: 'echo', InvocationType: 'Event', Payload: json({ background: 1 }) }));
    expect(out.StatusCode).toBe(202);
    expect(text(out.Payload)).toBe('');
    const id = out.$metadata.requestId!;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    let rec: any = null;
    for (let i = 0; i < 200; i++) {
      const r = await fetch(`${h.url}/v1/invocations/${id}`);
      if (r.status === 200) {
        rec = await r.json();
        if (rec.status === 'succeeded' || rec.status === 'failed') break; // queued, then running, then one of these
      }
      await new Promise((res) => setTimeout(res, 50));
    }
    expect(rec).toMatchObject({ requestId: id, functionName: 'echo', status: 'succeeded', result: { event: { background: 1 }, requestId: id } });
  });

  it('DryRun: 204 once the function resolves, and the function does not run', async () => {
    const marker = `dry-run-${Date.now()}`;
    const out = await client.send(new InvokeCommand({ FunctionName: 'talk', InvocationType: 'DryRun', Payload: json({ marker }) }));
    expect(out.StatusCode).toBe(204);
    expect(text(out.Payload)).toBe('');
    // Not on record, and nothing logged.
    expect((await fetch(`${h.url}/v1/invocations/${out.$metadata.requestId}`)).status).toBe(404);
    const logs = await (await fetch(`${h.url}/v1/functions/talk/logs?limit=1000`)).json() as { lines: { message: string }[] };
    expect(logs.lines.some((l) => l.message.includes(marker))).toBe(false);
    // A DryRun still validates: the function and the payload.
    expect((await failure(client, { FunctionName: 'nobody', InvocationType: 'DryRun' })).name).toBe('ResourceNotFoundException');
    expect((await failure(client, { FunctionName: 'talk', InvocationType: 'DryRun', Payload: te.encode('{oops') })).name).toBe('InvalidRequestContentException');
  });

  it('an unknown function or qualifier is ResourceNotFoundException', async () => {
    const fn = await failure(client, { FunctionName: 'nobody', Payload: json({}) });
    expect(fn).toMatchObject({ name: 'ResourceNotFoundException', status: 404 });
    expect(fn.message).toContain('nobody');
    const q = await failure(client, { FunctionName: 'echo', Qualifier: 'prod', Payload: json({}) });
    expect(q).toMatchObject({ name: 'ResourceNotFoundException', status: 404 });
    expect(q.message).toContain('prod');
    expect((await failure(client, { FunctionName: 'arn:aws:lambda:us-east-1:123456789012:function:echo:7' })).name).toBe('ResourceNotFoundException');
  });

  it('the name as a full ARN, a partial ARN, NAME:$LATEST, and with Qualifier=$LATEST', async () => {
    const names = [
      'arn:aws:lambda:us-east-1:123456789012:function:echo',
      'arn:aws:lambda:eu-west-1:210987654321:function:echo:$LATEST',
      '123456789012:function:echo',
      '123456789012:function:echo:$LATEST',
      'echo:$LATEST',
    ];
    for (const FunctionName of names) {
      const out = await client.send(new InvokeCommand({ FunctionName, Payload: json({ FunctionName }) }));
      expect(out.StatusCode).toBe(200);
      expect(out.ExecutedVersion).toBe('$LATEST');
      expect(JSON.parse(text(out.Payload)).event).toEqual({ FunctionName });
    }
    const q = await client.send(new InvokeCommand({ FunctionName: 'echo', Qualifier: '$LATEST', Payload: json({ q: 1 }) }));
    expect(JSON.parse(text(q.Payload)).event).toEqual({ q: 1 });
    // The ARN's qualifier and Qualifier must agree.
    const both = await failure(client, { FunctionName: 'arn:aws:lambda:us-east-1:123456789012:function:echo:$LATEST', Qualifier: 'prod' });
    expect(both).toMatchObject({ name: 'InvalidParameterValueException', status: 400 });
    // Not a name in any form.
    expect((await failure(client, { FunctionName: 'a:b:c:d:e' })).name).toBe('InvalidParameterValueException');
  });

  it('Qualifier and ARN qualifiers reach published versions and aliases; ExecutedVersion says which ran', async () => {
    const post = (path: string, method: string, body?: unknown) => fetch(`${h.url}${path}`, { method, headers: { 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
    await deployOk(h, 'versioned', jsSource('exports.handler = async () => 1'));
    expect((await post('/v1/functions/versioned/versions', 'POST')).status).toBe(201);
    await deployOk(h, 'versioned', jsSource('exports.handler = async () => 2'));
    expect((await post('/v1/functions/versioned/versions', 'POST')).status).toBe(201);
    expect((await post('/v1/functions/versioned/aliases/prod', 'PUT', { version: '1' })).status).toBe(201);
    const run = async (input: InvokeCommandInput) => {
      const out = await client.send(new InvokeCommand(input));
      return [out.ExecutedVersion, text(out.Payload)];
    };
    expect(await run({ FunctionName: 'versioned', Qualifier: 'prod' })).toEqual(['1', '1']);
    expect(await run({ FunctionName: 'versioned', Qualifier: '2' })).toEqual(['2', '2']);
    expect(await run({ FunctionName: 'arn:aws:lambda:us-east-1:123456789012:function:versioned:prod' })).toEqual(['1', '1']);
    expect(await run({ FunctionName: 'versioned' })).toEqual(['$LATEST', '2']);
    expect(await failure(client, { FunctionName: 'versioned', Qualifier: 'staging' })).toMatchObject({ name: 'ResourceNotFoundException', status: 404 });
  });

  it('LogType Tail: LogResult is the base64 of the call\'s log', async () => {
    const out = await client.send(new InvokeCommand({ FunctionName: 'talk', LogType: 'Tail', Payload: json({ n: 42 }) }));
    expect(out.StatusCode).toBe(200);
    expect(JSON.parse(text(out.Payload))).toBe('said it');
    const log = Buffer.from(out.LogResult!, 'base64').toString('utf8');
    expect(log).toContain('hello from lambda {"n":42}');
    expect(log).toContain(out.$metadata.requestId!);
    expect(Buffer.byteLength(log)).toBeLessThanOrEqual(4096);
  });

  it('a handler that throws: FunctionError Unhandled, and the error as the payload', async () => {
    const out = await client.send(new InvokeCommand({ FunctionName: 'throws', Payload: json({}) }));
    expect(out.StatusCode).toBe(200);
    expect(out.FunctionError).toBe('Unhandled');
    expect(out.ExecutedVersion).toBe('$LATEST');
    const err = JSON.parse(text(out.Payload));
    expect(err).toMatchObject({ errorType: 'TypeError', errorMessage: 'the input was not what I wanted' });
    expect(Array.isArray(err.stackTrace)).toBe(true);
  });

  it('a timeout is a function error too', async () => {
    const out = await client.send(new InvokeCommand({ FunctionName: 'hangs', Payload: json({}) }));
    expect(out.StatusCode).toBe(200);
    expect(out.FunctionError).toBe('Unhandled');
    const err = JSON.parse(text(out.Payload));
    expect(err.errorType).toBe('Sandbox.Timedout');
    expect(err.errorMessage).toMatch(/timed out/);
  });

  it('a payload that is not JSON is InvalidRequestContentException', async () => {
    // A sync call's payload is decoded where the function runs (not on Hearth's main thread too);
    // an Event's and a DryRun's are checked before the answer.
    for (const InvocationType of ['RequestResponse', 'Event', 'DryRun'] as const) {
      const e = await failure(client, { FunctionName: 'echo', InvocationType, Payload: te.encode('{"a": ') });
      expect(e, InvocationType).toMatchObject({ name: 'InvalidRequestContentException', status: 400 });
      expect(e.message).toMatch(/json/i);
    }
    // JSON that is not an object is still JSON.
    const s = await client.send(new InvokeCommand({ FunctionName: 'echo', Payload: te.encode('"just a string"') }));
    expect(JSON.parse(text(s.Payload)).event).toBe('just a string');
  });

  it('payloads over the limits are RequestTooLargeException: 6 MiB sync, 256 KiB Event', async () => {
    const sync = await failure(client, { FunctionName: 'echo', Payload: json({ big: 'x'.repeat(6 * 1024 * 1024) }) });
    expect(sync).toMatchObject({ name: 'RequestTooLargeException', status: 413 });
    const event = await failure(client, { FunctionName: 'echo', InvocationType: 'Event', Payload: json({ big: 'x'.repeat(300 * 1024) }) });
    expect(event).toMatchObject({ name: 'RequestTooLargeException', status: 413 });
    // Under the Event limit is fine.
    const ok = await client.send(new InvokeCommand({ FunctionName: 'echo', InvocationType: 'Event', Payload: json({ big: 'x'.repeat(200 * 1024) }) }));
    expect(ok.StatusCode).toBe(202);
  });

  it('an unknown invocation or log type is InvalidParameterValueException', async () => {
    for (const headers of [{ 'x-amz-invocation-type': 'Sometimes' }, { 'x-amz-log-type': 'Everything' }] as Record<string, string>[]) {
      const r = await fetch(invocationsUrl(h, 'echo'), { method: 'POST', headers, body: '{}' });
      expect(r.status).toBe(400);
      expect(r.headers.get('x-amzn-errortype')).toBe('InvalidParameterValueException');
      expect(await r.json()).toMatchObject({ Type: 'User', message: expect.any(String) });
    }
  });
});

describe('with an invoke token', () => {
  const ADMIN = 'admin-token-for-lambda-0123';
  const INVOKE = 'invoke-token-for-lambda-0123';
  let h: Hearth;
  const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

  beforeAll(async () => {
    h = await startHearth({ args: ['--no-docker'], env: { HEARTH_ADMIN_TOKEN: ADMIN, HEARTH_INVOKE_TOKEN: INVOKE } });
    const r = await fetch(`${h.url}/v1/functions/hello`, {
      method: 'PUT', headers: { 'content-type': 'application/json', ...bearer(ADMIN) },
      body: JSON.stringify(jsSource('exports.handler = async (e) => ({ hello: e.name ?? null })')),
    });
    expect(r.status).toBe(201);
  });
  afterAll(async () => { await h?.stop(); });

  const withSecret = (secretAccessKey: string, config: Partial<LambdaClientConfig> = {}) =>
    lambda(h, { credentials: { accessKeyId: 'AKIDANYTHING', secretAccessKey }, ...config });

  it('the SDK signing with the invoke token (or the admin token) as the secret key is let in', async () => {
    for (const secret of [INVOKE, ADMIN]) {
      const client = withSecret(secret);
      const out = await client.send(new InvokeCommand({ FunctionName: 'hello', Payload: json({ name: 'sigv4' }) }));
      expect(out.StatusCode).toBe(200);
      expect(JSON.parse(text(out.Payload))).toEqual({ hello: 'sigv4' });
      // An ARN with a qualifier: the signature covers the encoded path and the query.
      const arn = await client.send(new InvokeCommand({ FunctionName: 'arn:aws:lambda:us-east-1:123456789012:function:hello:$LATEST', Qualifier: '$LATEST', LogType: 'Tail', Payload: json({ name: 'arn' }) }));
      expect(JSON.parse(text(arn.Payload))).toEqual({ hello: 'arn' });
      const event = await client.send(new InvokeCommand({ FunctionName: 'hello', InvocationType: 'Event' }));
      expect(event.StatusCode).toBe(202);
      client.destroy();
    }
  });

  it('a wrong secret key is InvalidSignatureException', async () => {
    const client = withSecret('not-the-invoke-token-0123');
    expect(await failure(client, { FunctionName: 'hello', Payload: json({}) })).toMatchObject({ name: 'InvalidSignatureException', status: 403 });
    // Before the signature is checked, nothing about functions is told.
    expect(await failure(client, { FunctionName: 'nobody', Payload: json({}) })).toMatchObject({ name: 'InvalidSignatureException', status: 403 });
    client.destroy();
  });

  it('a signature more than 15 minutes old is refused', async () => {
    const client = withSecret(INVOKE, { systemClockOffset: -20 * 60 * 1000 });
    const e = await failure(client, { FunctionName: 'hello', Payload: json({}) });
    expect(e).toMatchObject({ name: 'InvalidSignatureException', status: 403 });
    expect(e.message).toMatch(/expired/i);
    client.destroy();
  });

  it('a signed request whose body was changed is refused (signed with a payload hash, and over the body itself)', async () => {
    const url = new URL(invocationsUrl(h, 'hello'));
    for (const applyChecksum of [true, false]) {
      const signer = new SignatureV4({ service: 'lambda', region: 'us-east-1', credentials: { accessKeyId: 'AKID', secretAccessKey: INVOKE }, sha256: Sha256, applyChecksum });
      const body = '{"name":"signed"}';
      const signed = await signer.sign({
        method: 'POST', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: url.pathname, query: {},
        headers: { host: url.host, 'content-type': 'application/json', 'content-length': String(body.length) }, body,
      });
      expect('x-amz-content-sha256' in signed.headers).toBe(applyChecksum);
      const send = (b: string) => fetch(url, { method: 'POST', headers: signed.headers as Record<string, string>, body: b });
      const good = await send(body);
      expect(good.status).toBe(200);
      expect(await good.json()).toEqual({ hello: 'signed' });
      const bad = await send('{"name":"forged"}');
      expect(bad.status).toBe(403);
      expect(bad.headers.get('x-amzn-errortype')).toBe('InvalidSignatureException');
    }
  });

  it('Bearer works; a wrong Bearer or no credentials at all is a 403', async () => {
    const post = (headers: Record<string, string>) => fetch(invocationsUrl(h, 'hello'), { method: 'POST', headers, body: '{"name":"bearer"}' });
    for (const t of [INVOKE, ADMIN]) {
      const ok = await post(bearer(t));
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({ hello: 'bearer' });
    }
    const wrong = await post(bearer('wrong-token-0123456789abc'));
    expect(wrong.status).toBe(403);
    expect(wrong.headers.get('x-amzn-errortype')).toBe('UnrecognizedClientException');
    const none = await post({});
    expect(none.status).toBe(403);
    expect(none.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');
    expect(await none.json()).toMatchObject({ Type: 'User', message: expect.stringContaining('Missing Authentication Token') });
    // The SDK without credentials Hearth knows sees the same.
    const anon = withSecret('some-other-secret-0123');
    expect((await failure(anon, { FunctionName: 'hello' })).status).toBe(403);
    anon.destroy();
  });

  it('neither token nor any signature appears in Hearth\'s log', async () => {
    const client = withSecret('not-the-invoke-token-0123');
    await failure(client, { FunctionName: 'hello', Payload: json({}) });
    client.destroy();
    expect(h.log()).not.toContain(INVOKE);
    expect(h.log()).not.toContain(ADMIN);
    expect(h.log()).not.toMatch(/Signature=[0-9a-f]{64}/);
  });
});

/** SHA-256 / HMAC-SHA-256 from node:crypto for the test's own signer. */
class Sha256 {
  private readonly h;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(d: string | ArrayBuffer | ArrayBufferView): void {
    this.h.update(bytes(d));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.h.digest()));
  }
}

function bytes(d: string | ArrayBuffer | ArrayBufferView): string | Buffer {
  return typeof d === 'string' ? d : d instanceof ArrayBuffer ? Buffer.from(d) : Buffer.from(d.buffer, d.byteOffset, d.byteLength);
}
