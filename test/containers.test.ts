// The container tier end to end: a real Hearth process, a real Docker engine, the locally built
// runtime images (`hearth images build`; npm test's set-up makes them), real containers.

import Docker from 'dockerode';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pack, unpack } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runtimeImageTag } from '../container-fallback/images.js';
import { copyRuntimeJar } from './support/container-fixtures.js';
import { deployOk, startHearth, type Hearth } from './support/hearth.js';

const docker = new Docker();
let h: Hearth;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const py = (source: string, extra: Record<string, unknown> = {}) => ({ runtime: 'python3', handler: 'index.main_handler', code: { source }, ...extra });

async function instanceOf(name: string): Promise<{ id: string; detail: { container: string; address: string } }[]> {
  const r = await fetch(`${h.url}/v1/functions/${name}/instances`);
  return ((await r.json()) as { instances: { id: string; detail: { container: string; address: string } }[] }).instances;
}

beforeAll(async () => {
  h = await startHearth({ env: { HEARTH_STEM_CELLS: '1' } });
}, 120_000);

afterAll(async () => {
  await h?.stop();
  // Nothing Hearth made is left behind.
  const left = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [`hearth.managed=${h?.proc.pid}`] }) });
  expect(left).toEqual([]);
});

describe('python3 functions in containers', () => {
  it('runs main_handler(event, context) with JSON and msgpack, cold then warm, with its logs', async () => {
    await deployOk(h, 'pyhello', py(`
import sys
def main_handler(event, context):
    print("hello from python", event.get("name"))
    print("to stderr", file=sys.stderr)
    return {"hello": event.get("name"), "requestId": context.request_id, "left": context.get_remaining_time_in_millis() > 0}
`));
    const r = await h.invoke('pyhello', { name: 'Ada' });
    expect(r.status).toBe(200);
    const id = r.headers.get('x-hearth-request-id')!;
    expect(await r.json()).toEqual({ hello: 'Ada', requestId: id, left: true });
    const warm = await h.invoke('pyhello', { name: 'Bob' });
    expect(warm.headers.get('x-hearth-cold')).toBe('false');
    await warm.arrayBuffer();

    const m = await fetch(`${h.url}/v1/functions/pyhello/invoke`, { method: 'POST', headers: { 'content-type': 'application/msgpack' }, body: new Uint8Array(pack({ name: 'Mo' })) });
    expect(m.headers.get('content-type')).toBe('application/msgpack');
    expect(unpack(Buffer.from(await m.arrayBuffer()))).toMatchObject({ hello: 'Mo' });

    const rec = await (await fetch(`${h.url}/v1/invocations/${id}`)).json() as { logs: { stream: string; message: string; requestId: string }[] };
    expect(rec.logs.map((l) => [l.stream, l.message])).toEqual([['stdout', 'hello from python Ada'], ['stderr', 'to stderr']]);
  });

  it('answers web calls with the Lambda function URL contract (payload 2.0), as js event functions do', async () => {
    await deployOk(h, 'pyweb', py(`
import base64, json
def main_handler(event, context):
    if event["rawPath"] == "/bad":
        return {"statusCode": 1000}
    if event["rawPath"] == "/plain":
        return {"hello": "world"}
    body = base64.b64decode(event["body"]) if event.get("isBase64Encoded") else (event.get("body") or "").encode()
    return {
        "statusCode": 201,
        "headers": {"X-Seen": event["requestContext"]["http"]["method"] + " " + event["rawPath"], "Content-Type": "application/json"},
        "cookies": ["a=1; Path=/", "b=2"],
        "body": json.dumps({"q": event.get("queryStringParameters"), "cookies": event.get("cookies"), "len": len(body), "first": body[:1].hex(), "rid": event["requestContext"]["requestId"] == context.request_id}),
    }
`));
    const r = await fetch(`${h.url}/v1/web/pyweb/items/7?x=1&y=two`, { method: 'POST', headers: { cookie: 'c=3; d=4' }, body: new Uint8Array([0xff, 0, 1]) });
    expect(r.status).toBe(201);
    expect(r.headers.get('x-seen')).toBe('POST /items/7');
    expect(r.headers.getSetCookie()).toEqual(['a=1; Path=/', 'b=2']);
    expect(await r.json()).toEqual({ q: { x: '1', y: 'two' }, cookies: ['c=3', 'd=4'], len: 3, first: 'ff', rid: true });

    const plain = await fetch(`${h.url}/v1/web/pyweb/plain`);
    expect([plain.status, plain.headers.get('content-type'), await plain.json()]).toEqual([200, 'application/json', { hello: 'world' }]);
    const bad = await fetch(`${h.url}/v1/web/pyweb/bad`);
    expect(bad.status).toBe(500);
    expect(await bad.json()).toMatchObject({ errorType: 'InvalidResponse' });
  });

  it('reports a thrown exception as a 500 with its type and stack, and bad code at deploy as a 400', async () => {
    await deployOk(h, 'pythrow', py(`
def main_handler(event, context):
    raise ValueError("bad value " + str(event.get("x")))
`));
    const r = await h.invoke('pythrow', { x: 1 });
    expect(r.status).toBe(500);
    expect(r.headers.get('x-hearth-function-error')).toBe('Unhandled');
    const body = await r.json() as { errorType: string; errorMessage: string; stackTrace: string[] };
    expect(body.errorType).toBe('ValueError');
    expect(body.errorMessage).toBe('bad value 1');
    expect(body.stackTrace.join('\n')).toContain('main_handler');
    // A body that is not JSON is decoded (and refused) in the container, as the Lambda route relies on.
    const notJson = await fetch(`${h.url}/v1/functions/pythrow/invoke`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"x": ' });
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toMatchObject({ errorType: 'InvalidRequestContent', errorMessage: expect.stringMatching(/not valid JSON/) });
    expect((await h.invoke('pythrow', { x: 2 })).status).toBe(500);

    const bad = await h.deploy('pybad', py('def main_handler(event, context)\n    return 1\n'));
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { errorType: string }).errorType).toBe('InitError');
    const missing = await h.deploy('pymissing', py('def other(event, context):\n    return 1\n'));
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { errorMessage: string }).errorMessage).toContain('main_handler');
  });

  it('is isolated: no egress, read-only root, no other function\'s container, not the host', async () => {
    await deployOk(h, 'pyvictim', py(`def main_handler(event, context):\n    return "victim"\n`));
    expect(await (await h.invoke('pyvictim', {})).json()).toBe('victim');
    const victim = (await instanceOf('pyvictim'))[0]!.detail.address;
    await deployOk(h, 'pyprobe', py(`
import socket, os
def try_connect(host, port):
    try:
        s = socket.create_connection((host, port), timeout=1.5)
        s.close()
        return "connected"
    except Exception as e:
        return type(e).__name__
def main_handler(event, context):
    out = {}
    out["outside"] = try_connect("1.1.1.1", 80)
    out["victim"] = try_connect(event["victim"], 9000)
    out["gateway"] = try_connect(event["gateway"], event["hearthPort"])
    try:
        open("/etc/hearth-was-here", "w").write("x")
        out["rootfs"] = "written"
    except Exception as e:
        out["rootfs"] = type(e).__name__
    open("/tmp/ok", "w").write("x")
    out["tmp"] = "written"
    out["uid"] = os.getuid()
    return out
`, { timeoutMs: 10_000 }));
    const gateway = victim.replace(/\.\d+$/, '.1');
    const r = await h.invoke('pyprobe', { victim, gateway, hearthPort: h.port });
    const out = await r.json() as Record<string, string | number>;
    expect(out.outside).not.toBe('connected');
    expect(out.victim).not.toBe('connected');
    expect(out.gateway).not.toBe('connected');
    expect(out.rootfs).not.toBe('written');
    expect(out.tmp).toBe('written');
    expect(out.uid).toBe(10001);
  }, 30_000);

  it('takes memory, CPU and pids limits from the spec, and a function cannot go past them', async () => {
    const bomb = `
import threading, time
def main_handler(event, context):
    started = 0
    stop = threading.Event()
    try:
        for _ in range(event["threads"]):
            threading.Thread(target=stop.wait, daemon=True).start()
            started += 1
    except RuntimeError as e:
        return {"started": started, "error": str(e)}
    finally:
        stop.set()
    return {"started": started, "error": None}
`;
    await deployOk(h, 'pylimits', py(bomb, { memoryMb: 96, cpus: 0.5, pids: 32 }));
    const r = await h.invoke('pylimits', { threads: 100 });
    const out = await r.json() as { started: number; error: string | null };
    expect(out.error).toContain("can't start new thread");
    expect(out.started).toBeLessThan(32);

    const [inst] = await instanceOf('pylimits');
    const hc = (await docker.getContainer(inst!.detail.container).inspect()).HostConfig;
    expect([hc.Memory, hc.NanoCpus, hc.PidsLimit]).toEqual([96 * 1024 * 1024, 5e8, 32]);
    expect(inst!.detail).toMatchObject({ memoryLimitMb: 96, cpus: 0.5, pids: 32 });

    // The defaults: the server's CPU share and 256 pids, enough for the same 100 threads.
    await deployOk(h, 'pydefaults', py(bomb));
    expect(await (await h.invoke('pydefaults', { threads: 100 })).json()).toEqual({ started: 100, error: null });
    const dflt = (await docker.getContainer((await instanceOf('pydefaults'))[0]!.detail.container).inspect()).HostConfig;
    expect([dflt.NanoCpus, dflt.PidsLimit]).toEqual([1e9, 256]);

    // They are container settings: a js function that asks for them is told so.
    const js = await h.deploy('jslimits', { runtime: 'js', handler: 'index.handler', code: { source: 'export const handler = () => 1' }, cpus: 1 });
    expect(js.status).toBe(400);
    expect(((await js.json()) as { errorMessage: string }).errorMessage).toContain('cpus: applies to container runtimes');
  }, 30_000);
});

describe('faults in the container tier', () => {
  it('a timeout is a 504 and the container is replaced; the next call works', async () => {
    await deployOk(h, 'pyslow', py(`
import time
def main_handler(event, context):
    if event.get("sleep"):
        time.sleep(event["sleep"])
    return "done"
`, { timeoutMs: 800 }));
    expect(await (await h.invoke('pyslow', {})).json()).toBe('done');
    const before = (await instanceOf('pyslow'))[0]!.id;
    const r = await h.invoke('pyslow', { sleep: 5 });
    expect(r.status).toBe(504);
    expect(((await r.json()) as { errorType: string }).errorType).toBe('Timeout');
    const next = await h.invoke('pyslow', {});
    expect(await next.json()).toBe('done');
    expect((await instanceOf('pyslow')).map((i) => i.id)).not.toContain(before);
  }, 30_000);

  it('a crash mid-call is a clear error for that call, and the next call gets a new container', async () => {
    await deployOk(h, 'pycrash', py(`
import os
def main_handler(event, context):
    if event.get("crash"):
        os._exit(3)
    return "alive"
`));
    expect(await (await h.invoke('pycrash', {})).json()).toBe('alive');
    const r = await h.invoke('pycrash', { crash: true });
    expect(r.status).toBe(500);
    expect(((await r.json()) as { errorType: string }).errorType).toBe('InstanceFailed');
    expect(await (await h.invoke('pycrash', {})).json()).toBe('alive');
  }, 30_000);

  it('a container killed from outside during a call fails that call, not the next', async () => {
    await deployOk(h, 'pykilled', py(`
import time
def main_handler(event, context):
    time.sleep(event.get("sleep", 0))
    return "ok"
`, { timeoutMs: 10_000 }));
    expect(await (await h.invoke('pykilled', {})).json()).toBe('ok');
    const container = (await instanceOf('pykilled'))[0]!.detail.container;
    const call = h.invoke('pykilled', { sleep: 3 });
    await sleep(500);
    await docker.getContainer(container).kill();
    const r = await call;
    expect(r.status).toBe(500);
    await r.arrayBuffer();
    expect(await (await h.invoke('pykilled', {})).json()).toBe('ok');
  }, 30_000);

  it('the Docker engine going away is a 503 for container functions while JS keeps serving, and it recovers', async () => {
    // This Hearth reaches the engine through a socket the test controls: closing it is, for
    // Hearth, the engine stopping (the real engine goes on serving the other tests).
    const proxy = await engineProxy();
    const own = await startHearth({ env: { DOCKER_HOST: `unix://${proxy.path}`, HEARTH_STEM_CELLS: '0' } });
    try {
      await deployOk(own, 'pyengine', py(`def main_handler(event, context):\n    return "up"\n`));
      await deployOk(own, 'jsengine', { runtime: 'js', handler: 'index.handler', code: { source: 'exports.handler = async () => "js up"' } });
      expect(await (await own.invoke('pyengine', {})).json()).toBe('up');
      await proxy.stop();
      await sleep(3_000); // the watcher pings every 2 s
      const r = await own.invoke('pyengine', {});
      expect(r.status).toBe(503);
      expect(((await r.json()) as { errorMessage: string }).errorMessage).toMatch(/Docker engine/);
      expect(await (await own.invoke('jsengine', {})).json()).toBe('js up');
      await proxy.start();
      let status = 0;
      for (let i = 0; i < 40 && status !== 200; i++) {
        await sleep(500);
        const again = await own.invoke('pyengine', {});
        status = again.status;
        await again.arrayBuffer();
      }
      expect(status).toBe(200);
    } finally {
      await own.stop();
      await proxy.stop();
    }
  }, 90_000);
});

/** A unix socket that forwards to the real engine's, and can be closed and opened again. */
async function engineProxy(): Promise<{ path: string; stop(): Promise<void>; start(): Promise<void> }> {
  const path = join(tmpdir(), `hearth-docker-proxy-${process.pid}-${Date.now()}.sock`);
  const sockets = new Set<net.Socket>();
  let server: net.Server | null = null;
  const start = () => new Promise<void>((resolve) => {
    rmSync(path, { force: true });
    server = net.createServer((client) => {
      const upstream = net.connect('/var/run/docker.sock');
      sockets.add(client); sockets.add(upstream);
      client.pipe(upstream).pipe(client);
      const drop = () => { client.destroy(); upstream.destroy(); sockets.delete(client); sockets.delete(upstream); };
      client.on('error', drop); upstream.on('error', drop); client.on('close', drop); upstream.on('close', drop);
    });
    server.listen(path, () => resolve());
  });
  const stop = () => new Promise<void>((resolve) => {
    for (const s of sockets) s.destroy();
    sockets.clear();
    if (!server) return resolve();
    const s = server;
    server = null;
    s.close(() => resolve());
  });
  await start();
  return { path, start, stop };
}

describe('without a Docker engine', () => {
  it('Hearth starts, JS works, and container functions answer 503 saying how to get an engine', async () => {
    const bare = await startHearth({ env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' } });
    try {
      await deployOk(bare, 'pyno', py(`def main_handler(event, context):\n    return 1\n`));
      const r = await bare.invoke('pyno', {});
      expect(r.status).toBe(503);
      const body = await r.json() as { errorType: string; errorMessage: string };
      expect(body.errorType).toBe('BackendUnavailable');
      expect(body.errorMessage).toMatch(/docker\.io|DOCKER_HOST/);
      await deployOk(bare, 'jsyes', { runtime: 'js', handler: 'index.handler', code: { source: 'exports.handler = async () => 2' } });
      expect(await (await bare.invoke('jsyes', {})).json()).toBe(2);
    } finally {
      await bare.stop();
    }
  });
});

describe('custom images (runtime "image")', () => {
  const dir = join(tmpdir(), `hearth-custom-image-${process.pid}`);
  const build = (tag: string, greeting: string) => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'server.py'), `
import json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def reply(self, status, body, ctype="application/json", extra=()):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", ctype)
        for k, v in extra:
            self.send_header(k, v)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def do_GET(self):
        if self.path.startswith("/hello"):
            print("web call", self.path, flush=True)
            return self.reply(200, {"greeting": "${greeting}", "path": self.path, "x": self.headers.get("x-thing")}, extra=[("x-from-image", "yes")])
        self.reply(404, {"error": "no"})
    def do_POST(self):
        n = int(self.headers.get("content-length") or 0)
        event = json.loads(self.rfile.read(n) or b"{}")
        if self.path == "/event-invoke":
            print("event call", event.get("name"), flush=True)
            print("on stderr", file=sys.stderr, flush=True)
            if event.get("long"):
                print("L" * 40000, flush=True)
            return self.reply(200, {"greeting": "${greeting}", "name": event.get("name"), "rid": self.headers.get("x-hearth-request-id")})
        self.reply(404, {"error": "no"})
ThreadingHTTPServer(("0.0.0.0", 9000), H).serve_forever()
`);
    writeFileSync(join(dir, 'Dockerfile'), `FROM ${runtimeImageTag('python3')}\nCOPY server.py /app/server.py\nCMD ["python3", "/app/server.py"]\n`);
    execFileSync('docker', ['build', '-q', '-t', tag, dir], { stdio: 'pipe' });
  };

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    try { execFileSync('docker', ['rmi', '-f', 'hearth-test-custom:v1'], { stdio: 'pipe' }); } catch { /* gone */ }
  });

  it('runs an image whose server listens on 9000: event calls, web calls passed through, logs, pinned at deploy', async () => {
    build('hearth-test-custom:v1', 'first');
    const d = await deployOk(h, 'custom', { runtime: 'image', image: 'hearth-test-custom:v1', timeoutMs: 10_000 });
    expect(String(d.imageId)).toMatch(/^sha256:/);
    const r = await h.invoke('custom', { name: 'Ada' });
    expect(r.status).toBe(200);
    const id = r.headers.get('x-hearth-request-id')!;
    expect(await r.json()).toEqual({ greeting: 'first', name: 'Ada', rid: id });
    type Rec = { logs: { stream: string; message: string }[] };
    const logsOf = async (rid: string, n: number): Promise<string[][]> => {
      let rec: Rec = { logs: [] };
      for (let i = 0; i < 100 && rec.logs.length < n; i++) {
        await sleep(50);
        rec = await (await fetch(`${h.url}/v1/invocations/${rid}`)).json() as Rec;
      }
      // stdout and stderr are two pipes: their lines keep their order within each, not across.
      return rec.logs.map((l) => [l.stream, l.message]).sort();
    };
    // A line goes to the call that had started when Docker read it from the container's pipe. A
    // call made the moment the last one answered could get that one's lines if Docker read them
    // late (seen under load on the stderr pipe): the test waits for them, as the contract allows.
    expect(await logsOf(id, 2)).toEqual([['stderr', 'on stderr'], ['stdout', 'event call Ada']]);
    const w = await fetch(`${h.url}/v1/web/custom/hello?q=1`, { headers: { 'x-thing': 'thing' } });
    expect(w.status).toBe(200);
    expect(w.headers.get('x-from-image')).toBe('yes');
    const webId = w.headers.get('x-hearth-request-id')!;
    expect(await w.json()).toEqual({ greeting: 'first', path: '/hello?q=1', x: 'thing' });
    expect(await logsOf(webId, 1)).toEqual([['stdout', 'web call /hello?q=1']]);
    // A line over Docker's 16 KiB comes in stamped pieces: it is kept whole up to 16 KiB, unstamped.
    const long = await h.invoke('custom', { name: 'Lu', long: true });
    expect(long.status).toBe(200);
    expect(await logsOf(long.headers.get('x-hearth-request-id')!, 3)).toEqual([['stderr', 'on stderr'], ['stdout', 'L'.repeat(16 * 1024)], ['stdout', 'event call Lu']]);

    // Re-tagging changes nothing until the function is deployed again (the same spec re-pins the tag).
    build('hearth-test-custom:v1', 'second');
    expect(await (await h.invoke('custom', { name: 'Bo' })).json()).toMatchObject({ greeting: 'first' });
    await deployOk(h, 'custom', { runtime: 'image', image: 'hearth-test-custom:v1', timeoutMs: 10_000 });
    expect(await (await h.invoke('custom', { name: 'Cy' })).json()).toMatchObject({ greeting: 'second' });

    const missing = await h.deploy('nosuchimage', { runtime: 'image', image: 'hearth-no-such-image:1' });
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { errorMessage: string }).errorMessage).toContain('not in the Docker engine');
  }, 120_000);
});

describe('java17 functions in containers', () => {
  it('runs pkg.Class::method from a jar with JSON and msgpack, its logs, errors and the context', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearth-java-fn-'));
    try {
      copyRuntimeJar(join(dir, 'hearth-runtime.jar'));
      mkdirSync(join(dir, 'src/demo'), { recursive: true });
      writeFileSync(join(dir, 'src/demo/Greeter.java'), `package demo;
import java.util.Map;
public class Greeter {
  public Map<String, Object> greet(Map<String, Object> event, hearth.Context ctx) {
    System.out.println("hello from java " + event.get("name"));
    System.err.println("java stderr");
    if (Boolean.TRUE.equals(event.get("fail"))) throw new IllegalStateException("failing on purpose");
    return Map.of("hello", String.valueOf(event.get("name")), "requestId", ctx.getRequestId(), "left", ctx.getRemainingTimeInMillis() > 0);
  }
}
`);
      execFileSync('javac', ['--release', '17', '-cp', join(dir, 'hearth-runtime.jar'), '-d', join(dir, 'classes'), join(dir, 'src/demo/Greeter.java')], { stdio: 'pipe' });
      execFileSync('jar', ['cf', join(dir, 'greeter.jar'), '-C', join(dir, 'classes'), '.'], { stdio: 'pipe' });
      const jar = readFileSync(join(dir, 'greeter.jar')).toString('base64');
      await deployOk(h, 'javagreet', { runtime: 'java17', handler: 'demo.Greeter::greet', code: { jar }, timeoutMs: 10_000 });
      const r = await h.invoke('javagreet', { name: 'Ada' });
      expect(r.status).toBe(200);
      const id = r.headers.get('x-hearth-request-id')!;
      expect(await r.json()).toEqual({ hello: 'Ada', requestId: id, left: true });
      const m = await fetch(`${h.url}/v1/functions/javagreet/invoke`, { method: 'POST', headers: { 'content-type': 'application/msgpack' }, body: new Uint8Array(pack({ name: 'Mo' })) });
      expect(unpack(Buffer.from(await m.arrayBuffer()))).toMatchObject({ hello: 'Mo' });
      const rec = await (await fetch(`${h.url}/v1/invocations/${id}`)).json() as { logs: { stream: string; message: string }[] };
      expect(rec.logs.map((l) => [l.stream, l.message])).toEqual([['stdout', 'hello from java Ada'], ['stderr', 'java stderr']]);
      // A web call: the handler gets the function URL event (no "name" in it) and its Map is the JSON body.
      const w = await fetch(`${h.url}/v1/web/javagreet/any`);
      expect(w.status).toBe(200);
      expect(await w.json()).toMatchObject({ hello: 'null', left: true });
      const e = await h.invoke('javagreet', { name: 'X', fail: true });
      expect(e.status).toBe(500);
      expect(await e.json()).toMatchObject({ errorType: 'IllegalStateException', errorMessage: 'failing on purpose' });
      const bad = await h.deploy('javabad', { runtime: 'java17', handler: 'demo.Nope::greet', code: { jar } });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { errorMessage: string }).errorMessage).toContain('demo.Nope');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
