// The in-container bootstraps (python3, java17) in real containers of the runtime images, with the
// isolation the host uses (read-only root, /tmp tmpfs, uid 10001, no capabilities), spoken to
// over HTTP exactly as the host does: /health, /init, /invoke and their answers.
//
// Needs a Docker engine; builds the runtime images first when they are missing (as root, ~1-2 min).

import Docker from 'dockerode';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pack, unpack } from 'msgpackr';
import { zipSync, strToU8 } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContainerRuntime } from './contract.js';
import { buildRuntimeImages } from './image-build.js';
import { runtimeImageTag } from './images.js';

const docker = new Docker();
const containers: string[] = [];
const work = mkdtempSync(join(tmpdir(), 'hearth-bootstrap-test-'));
const TEST_LABEL = 'hearth.test';

beforeAll(async () => {
  await buildRuntimeImages({ docker, log: (line) => process.stderr.write(`${line}\n`) });
}, 900_000);

afterAll(async () => {
  await Promise.all(containers.map((id) => docker.getContainer(id).remove({ force: true }).catch(() => undefined)));
  rmSync(work, { recursive: true, force: true });
}, 60_000);

interface Box { id: string; base: string; readyMs: number }

/** A container of the runtime's image with the host's isolation settings, answering /health. */
async function start(runtime: ContainerRuntime, memoryMb = 128): Promise<Box> {
  const t0 = Date.now();
  const c = await docker.createContainer({
    Image: runtimeImageTag(runtime),
    User: '10001:10001',
    Labels: { [TEST_LABEL]: String(process.pid) },
    HostConfig: {
      NetworkMode: 'bridge',
      ReadonlyRootfs: true,
      Tmpfs: { '/tmp': `rw,nosuid,nodev,size=${memoryMb}m` },
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      PidsLimit: 256,
      Memory: memoryMb * 1024 * 1024,
      MemorySwap: memoryMb * 1024 * 1024,
      Init: true,
    },
  });
  containers.push(c.id);
  await c.start();
  const info = await c.inspect();
  const ip = Object.values(info.NetworkSettings.Networks).map((n) => n.IPAddress).find((a) => a);
  expect(ip).toBeTruthy();
  const base = `http://${ip}:9000`;
  for (;;) {
    try {
      const r = await fetch(`${base}/health`);
      expect(r.status).toBe(200);
      expect(await r.text()).toBe('ok');
      break;
    } catch (err) {
      if (Date.now() - t0 > 30_000) throw new Error(`${runtime} container did not answer /health in 30 s: ${(err as Error).message}\n${await logsOf(c.id)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  return { id: c.id, base, readyMs: Date.now() - t0 };
}

async function logsOf(id: string): Promise<string> {
  const b = await docker.getContainer(id).logs({ stdout: true, stderr: true }) as unknown as Buffer;
  return b.toString('utf8');
}

/** The container's output once it holds `text` (Docker's log driver may lag the process under load), or as it is after 5 s. */
async function logsWith(id: string, text: string): Promise<string> {
  let out = await logsOf(id);
  for (let i = 0; i < 100 && !out.includes(text); i++) {
    await new Promise((r) => setTimeout(r, 50));
    out = await logsOf(id);
  }
  return out;
}

type InitCode = { source: string; filename?: string } | { zip: string } | { jar: string };

async function init(box: Box, handler: string, code: InitCode, env: Record<string, string> = {}): Promise<{ status: number; body: { ok?: boolean; errorType?: string; errorMessage?: string; stackTrace?: string[] } }> {
  const r = await fetch(`${box.base}/init`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ functionName: 'f', version: '$LATEST', handler, code, env, timeoutMs: 3000, memoryMb: 128 }),
  });
  return { status: r.status, body: await r.json() as never };
}

interface Called { status: number; outcome: string; logs: [number, number, string][]; rest: Buffer; contentType: string }

async function invoke(box: Box, body: Uint8Array | string, opts: { type?: string; accept?: string; requestId?: string; deadline?: number } = {}): Promise<Called> {
  const headers: Record<string, string> = { 'content-type': opts.type ?? 'application/json' };
  if (opts.accept) headers.accept = opts.accept;
  headers['x-hearth-request-id'] = opts.requestId ?? `req-${Math.random().toString(36).slice(2)}`;
  headers['x-hearth-deadline-ms'] = String(opts.deadline ?? Date.now() + 3000);
  const r = await fetch(`${box.base}/invoke`, { method: 'POST', headers, body: typeof body === 'string' ? body : new Uint8Array(body) });
  const all = Buffer.from(await r.arrayBuffer());
  const n = Number(r.headers.get('x-hearth-log-bytes') ?? 0);
  const logs = n > 0 ? JSON.parse(all.subarray(0, n).toString('utf8')) as [number, number, string][] : [];
  return { status: r.status, outcome: r.headers.get('x-hearth-outcome') ?? '', logs, rest: all.subarray(n), contentType: r.headers.get('content-type') ?? '' };
}

const json = (c: Called) => JSON.parse(c.rest.toString('utf8'));
const lines = (c: Called) => c.logs.map(([s, , l]) => [s, l]);

describe.each([['python3'], ['java17']] as const)('%s image', (runtime) => {
  it('runs as uid 10001 on a read-only root with a writable /tmp, and starts its bootstrap from CMD', async () => {
    const img = await docker.getImage(runtimeImageTag(runtime)).inspect();
    expect(img.Config.User).toBe('10001:10001');
    expect(img.Config.WorkingDir).toBe('/tmp');
    expect(Object.keys(img.Config.ExposedPorts ?? {})).toEqual(['9000/tcp']);
    expect(img.Config.Labels).toMatchObject({ 'hearth.runtime': runtime });
    expect(img.Config.Labels?.['hearth.inputs']?.slice(0, 12)).toBe(runtimeImageTag(runtime).split(':')[1]);
    const box = await start(runtime);
    process.stderr.write(`${runtime}: container started to /health answering in ${box.readyMs} ms\n`);
  }, 60_000);
});

describe('python3 bootstrap', () => {
  let box: Box;
  const SOURCE = `
import json, logging, os, sys, threading, time
print("module init")
calls = 0
def main_handler(event, context):
    global calls
    calls += 1
    if event.get("sleep"):
        for i in range(3):
            print(f"{event['tag']} line {i}")
            time.sleep(event["sleep"])
        return event["tag"]
    print("hello from python", event.get("name"))
    print("to stderr", file=sys.stderr)
    logging.getLogger("app").warning("a warning")
    sys.stdout.write("no newline at the end")
    if event.get("fail"):
        raise ValueError("boom: " + str(event["fail"]))
    if event.get("set"):
        return {1, 2}
    if event.get("flood"):
        chunk = "x" * 1000
        for _ in range(2000):
            print(chunk)
        return "flooded"
    if event.get("write"):
        with open("/tmp/out.txt", "w") as f:
            f.write("w")
        try:
            open("/etc/hearth-test", "w")
        except OSError as e:
            return {"tmp": os.path.exists("/tmp/out.txt"), "root": type(e).__name__, "uid": os.getuid()}
    return {
        "hello": event.get("name"), "echo": event, "calls": calls,
        "requestId": context.request_id, "camel": context.requestId, "aws": context.aws_request_id,
        "dict": context["request_id"], "function": context.function_name, "version": context.function_version,
        "memory": context.memory_limit_in_mb, "timeLimit": context.time_limit_in_ms,
        "left": context.get_remaining_time_in_millis(), "env": os.environ.get("GREETING"),
    }
`;

  beforeAll(async () => {
    box = await start('python3');
    const r = await init(box, 'index.main_handler', { source: SOURCE, filename: 'index.py' }, { GREETING: 'hi there' });
    expect(r).toEqual({ status: 200, body: { ok: true } });
  }, 60_000);

  it('invokes with JSON: the result, the call\'s own logs (stream, time, line), the context, env', async () => {
    const before = Date.now();
    const c = await invoke(box, JSON.stringify({ name: 'Ada', n: [1, 2.5, null, true] }), { requestId: 'req-json-1', deadline: Date.now() + 2500 });
    expect(c.status).toBe(200);
    expect(c.outcome).toBe('ok');
    expect(c.contentType).toBe('application/json');
    const out = json(c);
    expect(out).toMatchObject({
      hello: 'Ada', echo: { name: 'Ada', n: [1, 2.5, null, true] }, calls: 1,
      requestId: 'req-json-1', camel: 'req-json-1', aws: 'req-json-1', dict: 'req-json-1',
      function: 'f', version: '$LATEST', memory: 128, timeLimit: 3000, env: 'hi there',
    });
    expect(out.left).toBeGreaterThan(0);
    expect(out.left).toBeLessThanOrEqual(2500);
    // Module init's print is in no call's logs.
    expect(lines(c)).toEqual([
      [0, 'hello from python Ada'], [1, 'to stderr'], [1, '[WARNING] app: a warning'], [0, 'no newline at the end'],
    ]);
    for (const [, t] of c.logs) expect(t).toBeGreaterThanOrEqual(before - 1000);
    // Nor in Docker's log: once listening, the bootstrap's fds 1 and 2 are /dev/null (output outside
    // calls is dropped rather than copied by containerd-shim and dockerd); what came before is there.
    const dockerLog = await logsWith(box.id, 'listening on');
    expect(dockerLog).toContain('hearth python bootstrap listening on');
    expect(dockerLog).not.toContain('module init');
  });

  it('invokes with msgpack, and answers in the encoding Accept asks for', async () => {
    const event = { name: 'Mo', bin: new Uint8Array([1, 2, 3]), big: 2 ** 40, nested: { a: [1, 'b'] } };
    const c = await invoke(box, pack(event), { type: 'application/msgpack' });
    expect(c.outcome).toBe('ok');
    expect(c.contentType).toBe('application/msgpack');
    const out = unpack(c.rest) as { echo: typeof event; hello: string };
    expect(out.hello).toBe('Mo');
    expect(out.echo.big).toBe(2 ** 40);
    expect(Buffer.from(out.echo.bin)).toEqual(Buffer.from([1, 2, 3]));
    expect(out.echo.nested).toEqual({ a: [1, 'b'] });
    expect(lines(c)[0]).toEqual([0, 'hello from python Mo']);

    const j2m = await invoke(box, JSON.stringify({ name: 'J' }), { accept: 'application/msgpack' });
    expect(j2m.contentType).toBe('application/msgpack');
    expect(unpack(j2m.rest)).toMatchObject({ hello: 'J' });
    const m2j = await invoke(box, pack({ name: 'M' }), { type: 'application/msgpack', accept: 'application/json' });
    expect(json(m2j)).toMatchObject({ hello: 'M' });
    // An empty body is the event {}.
    const empty = await invoke(box, '');
    expect(json(empty).echo).toEqual({});
  });

  it('a handler that raises: outcome error with type, message and stack; its logs still come', async () => {
    const c = await invoke(box, JSON.stringify({ fail: 7 }));
    expect(c.status).toBe(200);
    expect(c.outcome).toBe('error');
    const e = json(c);
    expect(e.errorType).toBe('ValueError');
    expect(e.errorMessage).toBe('boom: 7');
    expect(e.stackTrace.join('\n')).toMatch(/index\.py", line \d+, in main_handler/);
    expect(e.stackTrace.join('\n')).not.toContain('bootstrap.py');
    expect(lines(c)[0]).toEqual([0, 'hello from python undefined'.replace('undefined', 'None')]);
  });

  it('a body that does not decode is bad-payload; a result that does not encode is ResultNotSerializable', async () => {
    const bad = await invoke(box, '{"a":');
    expect(bad.status).toBe(200);
    expect(bad.outcome).toBe('bad-payload');
    expect(json(bad).errorMessage).toMatch(/not valid JSON/);
    // What JSON.parse refuses in the isolate is refused here too (the Lambda API relies on it).
    for (const body of ['{"a": NaN}', '-Infinity', '\ufeff{}', '  ']) expect((await invoke(box, body)).outcome, body).toBe('bad-payload');
    const badMp = await invoke(box, Buffer.from([0xc1]), { type: 'application/msgpack' });
    expect(badMp.outcome).toBe('bad-payload');
    const set = await invoke(box, JSON.stringify({ set: true }));
    expect(set.outcome).toBe('error');
    expect(json(set).errorType).toBe('ResultNotSerializable');
    expect(json(set).errorMessage).toMatch(/set/);
  });

  it('a second /init is 409', async () => {
    const r = await init(box, 'index.main_handler', { source: SOURCE });
    expect(r.status).toBe(409);
    expect(r.body.errorType).toBe('AlreadyInitialized');
  });

  it('attributes log lines to their own call when calls run at the same time', async () => {
    const [a, b] = await Promise.all([
      invoke(box, JSON.stringify({ sleep: 0.05, tag: 'A' })),
      invoke(box, JSON.stringify({ sleep: 0.05, tag: 'B' })),
    ]);
    expect(json(a!)).toBe('A');
    expect(lines(a!)).toEqual([[0, 'A line 0'], [0, 'A line 1'], [0, 'A line 2']]);
    expect(lines(b!)).toEqual([[0, 'B line 0'], [0, 'B line 1'], [0, 'B line 2']]);
  });

  it('keeps at most 1 MiB of a call\'s logs, then says they were truncated', async () => {
    const c = await invoke(box, JSON.stringify({ flood: true }));
    expect(c.outcome).toBe('ok');
    expect(json(c)).toBe('flooded');
    const n = c.logs.length;
    expect(n).toBeGreaterThan(500);
    expect(n).toBeLessThan(1100);
    expect(c.logs[n - 1]![2]).toBe('…[logs truncated]');
    expect(Buffer.byteLength(JSON.stringify(c.logs))).toBeLessThanOrEqual(1024 * 1024);
  });

  it('can write /tmp, not the root filesystem, as uid 10001', async () => {
    const c = await invoke(box, JSON.stringify({ write: true }));
    expect(json(c)).toEqual({ tmp: true, root: 'OSError', uid: 10001 });
  });

  it('loads a zip with a package folder (handler app/main.handler), an async handler', async () => {
    const z = await start('python3');
    const zip = zipSync({
      'app/main.py': strToU8('import asyncio\nfrom app.lib.helpers import shout\nfrom . import VERSION\nasync def handler(event, context):\n    await asyncio.sleep(0)\n    return {"shout": shout(event["word"]), "v": VERSION}\n'),
      'app/__init__.py': strToU8('VERSION = 3\n'),
      'app/lib/__init__.py': strToU8(''),
      'app/lib/helpers.py': strToU8('def shout(s):\n    return s.upper() + "!"\n'),
    });
    const r = await init(z, 'app/main.handler', { zip: Buffer.from(zip).toString('base64') });
    expect(r).toEqual({ status: 200, body: { ok: true } });
    expect(json(await invoke(z, JSON.stringify({ word: 'hey' })))).toEqual({ shout: 'HEY!', v: 3 });
  }, 60_000);

  it('/init of code that does not load is 400 InitError naming the problem', async () => {
    const [syntax, missing, nomodule, importErr, shadowed] = await Promise.all([start('python3'), start('python3'), start('python3'), start('python3'), start('python3')]);
    const s = await init(syntax!, 'index.main_handler', { source: 'def main_handler(event, context)\n    return 1\n' });
    expect(s.status).toBe(400);
    expect(s.body.errorType).toBe('InitError');
    expect(s.body.errorMessage).toMatch(/SyntaxError.*index\.py, line 1/);

    const m = await init(missing!, 'index.main_handler', { source: 'def other(event, context):\n    return 1\n' });
    expect(m.status).toBe(400);
    expect(m.body.errorMessage).toMatch(/module 'index' has no function 'main_handler'/);

    const n = await init(nomodule!, 'nothere.main_handler', { zip: Buffer.from(zipSync({ 'index.py': strToU8('x = 1\n') })).toString('base64') });
    expect(n.status).toBe(400);
    expect(n.body.errorMessage).toMatch(/no module 'nothere'.*nothere\.py not found/);

    const i = await init(importErr!, 'index.main_handler', { source: 'import requests_that_do_not_exist\ndef main_handler(e, c):\n    return 1\n' });
    expect(i.status).toBe(400);
    expect(i.body.errorMessage).toMatch(/ModuleNotFoundError: No module named 'requests_that_do_not_exist'/);
    expect(i.body.stackTrace?.join('\n')).toMatch(/index\.py", line 1/);

    // A module name the standard library has taken.
    const j = await init(shadowed!, 'json.handler', { source: 'def handler(e, c):\n    return 1\n' });
    expect(j.status).toBe(400);
    expect(j.body.errorMessage).toMatch(/'json' is the Python installation's module .*rename json\.py/);

    // Calls after a failed init are refused (the host replaces the container).
    const after = await invoke(syntax!, '{}');
    expect(after.status).toBe(409);
  }, 60_000);
});

describe('java17 bootstrap', () => {
  let box: Box;
  let jarB64 = '';
  const HELLO = `
package demo;

import hearth.Context;
import hearth.Env;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

public class Hello {
    private int calls;

    static {
        System.out.println("class init");
    }

    public Map<String, Object> handle(Map<String, Object> event, Context ctx) throws Exception {
        calls++;
        if (event.containsKey("sleep")) {
            for (int i = 0; i < 3; i++) {
                System.out.println(event.get("tag") + " line " + i);
                Thread.sleep(((Number) event.get("sleep")).longValue());
            }
            return Map.of("tag", event.get("tag"));
        }
        System.out.println("hello from java " + event.get("name"));
        System.err.println("to stderr");
        System.out.print("no newline at the end");
        if (event.containsKey("fail")) throw new IllegalStateException("boom: " + event.get("fail"));
        if (event.containsKey("object")) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("thing", new Object());
            return m;
        }
        if (event.containsKey("flood")) {
            String chunk = "x".repeat(1000);
            for (int i = 0; i < 2000; i++) System.out.println(chunk);
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("hello", event.get("name"));
        out.put("echo", event);
        out.put("calls", calls);
        out.put("requestId", ctx.getRequestId());
        out.put("function", ctx.getFunctionName());
        out.put("version", ctx.getFunctionVersion());
        out.put("memory", ctx.getMemoryLimitInMb());
        out.put("timeLimit", ctx.getTimeLimitInMs());
        out.put("left", ctx.getRemainingTimeInMillis());
        out.put("env", Env.get("GREETING"));
        out.put("ctxEnv", ctx.getEnv().get("GREETING"));
        out.put("processEnv", System.getenv("GREETING"));
        out.put("list", List.of(1, 2.5, "three"));
        return out;
    }

    public static class Greeting {
        public String name;
        public int times;
    }

    /** A POJO event and a static method without a context. */
    public static String greet(Greeting g) {
        return ("Hi " + g.name + " ").repeat(g.times).trim();
    }
}
`;

  beforeAll(async () => {
    // hearth-runtime.jar out of the image, a function compiled against it with the host's javac.
    const tag = runtimeImageTag('java17');
    const dir = join(work, 'java');
    mkdirSync(join(dir, 'src', 'demo'), { recursive: true });
    const holder = await docker.createContainer({ Image: tag, Labels: { [TEST_LABEL]: String(process.pid) } });
    containers.push(holder.id);
    execFileSync('docker', ['cp', `${holder.id}:/opt/hearth/hearth-runtime.jar`, join(dir, 'hearth-runtime.jar')]);
    writeFileSync(join(dir, 'src', 'demo', 'Hello.java'), HELLO);
    execFileSync('javac', ['--release', '17', '-cp', join(dir, 'hearth-runtime.jar'), '-d', join(dir, 'classes'), join(dir, 'src', 'demo', 'Hello.java')]);
    execFileSync('jar', ['--create', '--file', join(dir, 'hello.jar'), '-C', join(dir, 'classes'), '.']);
    jarB64 = readFileSync(join(dir, 'hello.jar')).toString('base64');

    box = await start('java17');
    const r = await init(box, 'demo.Hello::handle', { jar: jarB64 }, { GREETING: 'hi there' });
    expect(r).toEqual({ status: 200, body: { ok: true } });
  }, 120_000);

  it('invokes with JSON: the result, the call\'s own logs, the context, env through hearth.Env and the context', async () => {
    const c = await invoke(box, JSON.stringify({ name: 'Ada', n: [1, 2.5, null, true] }), { requestId: 'req-java-1', deadline: Date.now() + 2500 });
    expect(c.status).toBe(200);
    expect(c.outcome).toBe('ok');
    expect(c.contentType).toBe('application/json');
    const out = json(c);
    expect(out).toMatchObject({
      hello: 'Ada', echo: { name: 'Ada', n: [1, 2.5, null, true] }, calls: 1, requestId: 'req-java-1',
      function: 'f', version: '$LATEST', memory: 128, timeLimit: 3000,
      env: 'hi there', ctxEnv: 'hi there', processEnv: null, list: [1, 2.5, 'three'],
    });
    expect(out.left).toBeGreaterThan(0);
    expect(out.left).toBeLessThanOrEqual(2500);
    expect(lines(c)).toEqual([[0, 'hello from java Ada'], [1, 'to stderr'], [0, 'no newline at the end']]);
    expect(await logsWith(box.id, 'class init')).toContain('class init');
  });

  it('invokes with msgpack, and answers in the encoding Accept asks for', async () => {
    const event = { name: 'Mo', big: 2 ** 40, nested: { a: [1, 'b'] } };
    const c = await invoke(box, pack(event), { type: 'application/msgpack' });
    expect(c.outcome).toBe('ok');
    expect(c.contentType).toBe('application/msgpack');
    const out = unpack(c.rest) as { echo: typeof event; hello: string; list: unknown[] };
    expect(out.hello).toBe('Mo');
    expect(out.echo).toEqual(event);
    expect(out.list).toEqual([1, 2.5, 'three']);
    const j2m = await invoke(box, JSON.stringify({ name: 'J' }), { accept: 'application/msgpack' });
    expect(j2m.contentType).toBe('application/msgpack');
    expect(unpack(j2m.rest)).toMatchObject({ hello: 'J' });
    const m2j = await invoke(box, pack({ name: 'M' }), { type: 'application/msgpack', accept: 'application/json' });
    expect(json(m2j)).toMatchObject({ hello: 'M' });
    expect(json(await invoke(box, '')).echo).toEqual({});
  });

  it('a handler that throws: outcome error with the simple class name, message and stack', async () => {
    const c = await invoke(box, JSON.stringify({ fail: 7 }));
    expect(c.outcome).toBe('error');
    const e = json(c);
    expect(e.errorType).toBe('IllegalStateException');
    expect(e.errorMessage).toBe('boom: 7');
    expect(e.stackTrace[0]).toMatch(/^at demo\.Hello\.handle\(Hello\.java:\d+\)$/);
    expect(e.stackTrace.join('\n')).not.toMatch(/hearth\.Bootstrap|reflect/);
    expect(lines(c)).toEqual([[0, 'hello from java null'], [1, 'to stderr'], [0, 'no newline at the end']]);
  });

  it('a body that does not decode is bad-payload; a result that does not encode is ResultNotSerializable', async () => {
    const bad = await invoke(box, '{"a":');
    expect(bad.outcome).toBe('bad-payload');
    expect(json(bad).errorMessage).toMatch(/not valid JSON/);
    // What JSON.parse refuses in the isolate is refused here too (the Lambda API relies on it).
    for (const body of ['{"a": NaN}', '-Infinity', '\ufeff{}', '  ']) expect((await invoke(box, body)).outcome, body).toBe('bad-payload');
    const badMp = await invoke(box, Buffer.from([0xc1]), { type: 'application/msgpack' });
    expect(badMp.outcome).toBe('bad-payload');
    // Valid JSON that is not a Map<String, Object>.
    const wrongShape = await invoke(box, '[1,2]');
    expect(wrongShape.outcome).toBe('bad-payload');
    expect(json(wrongShape).errorMessage).toMatch(/parameter type java\.util\.Map/);
    const obj = await invoke(box, JSON.stringify({ object: true }));
    expect(obj.outcome).toBe('error');
    expect(json(obj).errorType).toBe('ResultNotSerializable');
  });

  it('a second /init is 409', async () => {
    const r = await init(box, 'demo.Hello::handle', { jar: jarB64 });
    expect(r.status).toBe(409);
    expect(r.body.errorType).toBe('AlreadyInitialized');
  });

  it('attributes log lines to their own call when calls run at the same time', async () => {
    const [a, b] = await Promise.all([
      invoke(box, JSON.stringify({ sleep: 50, tag: 'A' })),
      invoke(box, JSON.stringify({ sleep: 50, tag: 'B' })),
    ]);
    expect(json(a!)).toEqual({ tag: 'A' });
    expect(lines(a!)).toEqual([[0, 'A line 0'], [0, 'A line 1'], [0, 'A line 2']]);
    expect(lines(b!)).toEqual([[0, 'B line 0'], [0, 'B line 1'], [0, 'B line 2']]);
  });

  it('keeps at most 1 MiB of a call\'s logs, then says they were truncated', async () => {
    const c = await invoke(box, JSON.stringify({ flood: true }));
    expect(c.outcome).toBe('ok');
    const n = c.logs.length;
    expect(n).toBeGreaterThan(500);
    expect(n).toBeLessThan(1100);
    expect(c.logs[n - 1]![2]).toBe('…[logs truncated]');
    expect(Buffer.byteLength(JSON.stringify(c.logs))).toBeLessThanOrEqual(1024 * 1024);
  });

  it('a POJO event and a static method without a context', async () => {
    const z = await start('java17');
    expect((await init(z, 'demo.Hello::greet', { jar: jarB64 })).status).toBe(200);
    const c = await invoke(z, JSON.stringify({ name: 'Ada', times: 2, extra: 'ignored' }));
    expect(c.outcome).toBe('ok');
    expect(json(c)).toBe('Hi Ada Hi Ada');
  }, 60_000);

  it('/init of code that does not load is 400 InitError naming the problem', async () => {
    const [noClass, noMethod, notJar] = await Promise.all([start('java17'), start('java17'), start('java17')]);
    const c = await init(noClass!, 'demo.Nope::handle', { jar: jarB64 });
    expect(c.status).toBe(400);
    expect(c.body.errorType).toBe('InitError');
    expect(c.body.errorMessage).toMatch(/class demo\.Nope is not in the code/);
    const m = await init(noMethod!, 'demo.Hello::missing', { jar: jarB64 });
    expect(m.status).toBe(400);
    expect(m.body.errorMessage).toMatch(/class demo\.Hello has no public method missing\(event\) or missing\(event, hearth\.Context\)/);
    const j = await init(notJar!, 'demo.Hello::handle', { jar: Buffer.from('not a jar').toString('base64') });
    expect(j.status).toBe(400);
    expect(j.body.errorType).toBe('InitError');
    expect((await invoke(noClass!, '{}')).status).toBe(409);
  }, 60_000);
});
