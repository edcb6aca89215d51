// Container functions the measuring tests share: a java17 jar compiled against the runtime image's
// own hearth-runtime.jar, and a custom image (runtime "image") built on the python3 runtime image.
// Both need the Docker engine and the runtime images (scripts/setup-images.sh); javac and jar too.

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runtimeImageTag } from '../../container-fallback/images.js';

/** Copies the java17 runtime image's hearth-runtime.jar (hearth.Context, to compile against) to `to`. */
export function copyRuntimeJar(to: string): void {
  const name = `hearth-test-cp-${process.pid}-${Date.now()}`;
  execFileSync('docker', ['create', '--name', name, runtimeImageTag('java17')], { stdio: 'pipe' });
  try {
    execFileSync('docker', ['cp', `${name}:/opt/hearth/hearth-runtime.jar`, to], { stdio: 'pipe' });
  } finally {
    execFileSync('docker', ['rm', '-f', name], { stdio: 'pipe' });
  }
}

/** A java17 function spec: demo.Echo::handle answers {ok: true, name}, or throws when the event says fail. */
export function javaEcho(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-java-fn-'));
  try {
    copyRuntimeJar(join(dir, 'hearth-runtime.jar'));
    mkdirSync(join(dir, 'src/demo'), { recursive: true });
    writeFileSync(join(dir, 'src/demo/Echo.java'), `package demo;
import java.util.Map;
public class Echo {
  public Map<String, Object> handle(Map<String, Object> event, hearth.Context ctx) {
    if (Boolean.TRUE.equals(event.get("fail"))) throw new IllegalStateException("failing on purpose");
    return Map.of("ok", true, "name", String.valueOf(event.get("name")));
  }
}
`);
    execFileSync('javac', ['--release', '17', '-cp', join(dir, 'hearth-runtime.jar'), '-d', join(dir, 'classes'), join(dir, 'src/demo/Echo.java')], { stdio: 'pipe' });
    execFileSync('jar', ['cf', join(dir, 'echo.jar'), '-C', join(dir, 'classes'), '.'], { stdio: 'pipe' });
    const jar = readFileSync(join(dir, 'echo.jar')).toString('base64');
    return { runtime: 'java17', handler: 'demo.Echo::handle', code: { jar }, timeoutMs: 10_000, ...extra };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Builds `tag`: a custom image whose server on :9000 answers POST /event-invoke with {ok: true, name}
 * and any GET with {path}. Remove it with removeImage(tag).
 */
export function buildEchoImage(tag: string): void {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-image-fn-'));
  try {
    writeFileSync(join(dir, 'server.py'), `
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def reply(self, body):
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def do_GET(self):
        self.reply({"path": self.path})
    def do_POST(self):
        n = int(self.headers.get("content-length") or 0)
        event = json.loads(self.rfile.read(n) or b"{}")
        self.reply({"ok": True, "name": event.get("name")})
ThreadingHTTPServer(("0.0.0.0", 9000), H).serve_forever()
`);
    writeFileSync(join(dir, 'Dockerfile'), `FROM ${runtimeImageTag('python3')}\nCOPY server.py /app/server.py\nCMD ["python3", "/app/server.py"]\n`);
    execFileSync('docker', ['build', '-q', '-t', tag, dir], { stdio: 'pipe' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function removeImage(tag: string): void {
  try { execFileSync('docker', ['rmi', '-f', tag], { stdio: 'pipe' }); } catch { /* gone */ }
}
