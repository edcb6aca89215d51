// HTTP load driver for the project's benchmarks: runs `wrk` (Debian package) as its own process.
//
// A Lua script (temp file) sets method/body/headers and, in wrk's `done` hook, prints one line of JSON
// (`__HEARTH_WRK__{...}`) with the request count, duration, error counts and latency percentiles, which is
// parsed instead of the human-readable table.
//
// non2xx: by default wrk's own status error counter is used (it counts responses with status >= 400;
// wrk prints it as "Non-2xx or 3xx responses"). With `exactStatus: true` a `response()` hook counts every
// status code, so 1xx/3xx are counted too — that costs throughput on the client side (wrk then parses
// each response into Lua), so it is opt-in.

import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface LoadOptions {
  url: string;
  method?: 'GET' | 'POST';
  body?: string;
  headers?: Record<string, string>;
  connections: number;
  durationSec: number;
  /** wrk threads (default 1: on a 2-core box the server under test needs the other core). */
  threads?: number;
  /** Per-request timeout in seconds (wrk default 2). Requests slower than this count as timeout errors. */
  timeoutSec?: number;
  /** Count every status code via a per-response Lua hook (slower client). Default false. */
  exactStatus?: boolean;
  /**
   * Lua that defines `request = function() ... end` (wrk then calls it for every request, e.g. to
   * send unique ids; `wrk.format(method, path, headers, body)` makes one). Replaces the static
   * method, body and headers.
   */
  luaRequest?: string;
}

export interface LoadResult {
  tool: 'wrk' | 'autocannon';
  requestsPerSec: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Responses that were not 2xx (see header comment for the default's precision). */
  non2xx: number;
  /** Socket-level errors: connect + read + write + timeout. */
  errors: number;
  /** Completed requests (any status). */
  total: number;
  /** Per-status counts, only with exactStatus. */
  statusCounts?: Record<string, number>;
  errorDetail?: { connect: number; read: number; write: number; timeout: number };
}

const MARK = '__HEARTH_WRK__';

let wrkPath: string | null | undefined;
function findWrk(): string | null {
  if (wrkPath !== undefined) return wrkPath;
  try {
    const out = execFileSync('sh', ['-c', 'command -v wrk'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    wrkPath = out.trim() || null;
  } catch {
    wrkPath = null;
  }
  return wrkPath;
}

export function haveWrk(): boolean {
  return findWrk() !== null;
}

/** A Lua string literal for arbitrary bytes (decimal escapes; LuaJIT has no \u escapes). */
function luaString(s: string): string {
  let out = '"';
  for (const b of Buffer.from(s, 'utf8')) {
    if (b >= 0x20 && b < 0x7f && b !== 0x22 && b !== 0x5c) out += String.fromCharCode(b);
    else out += `\\${b}`;
  }
  return out + '"';
}

function luaScript(opts: LoadOptions): string {
  const method = opts.method ?? (opts.body !== undefined ? 'POST' : 'GET');
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.body !== undefined && !Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) {
    headers['Content-Type'] = 'application/json';
  }
  const lines: string[] = [`wrk.method = ${luaString(method)}`];
  if (opts.body !== undefined) lines.push(`wrk.body = ${luaString(opts.body)}`);
  for (const [k, v] of Object.entries(headers)) lines.push(`wrk.headers[${luaString(k)}] = ${luaString(v)}`);
  if (opts.luaRequest !== undefined) lines.push(opts.luaRequest);

  if (opts.exactStatus) {
    lines.push(`
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) statuses = {} end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end`);
  }

  lines.push(`
local function statusJson()
  ${
    opts.exactStatus
      ? `local agg = {}
  for _, t in ipairs(threads) do
    local s = t:get("statuses")
    if s then for code, n in pairs(s) do agg[code] = (agg[code] or 0) + n end end
  end
  local parts = {}
  for code, n in pairs(agg) do table.insert(parts, string.format('"%d":%d', code, n)) end
  return "{" .. table.concat(parts, ",") .. "}"`
      : 'return "null"'
  }
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '${MARK}{"requests":%d,"durationUs":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
    '"p50":%.1f,"p90":%.1f,"p99":%.1f,"max":%.1f,"mean":%.1f,"statuses":%s}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    statusJson()))
end
`);
  return lines.join('\n');
}

interface WrkJson {
  requests: number;
  durationUs: number;
  bytes: number;
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
  statuses: Record<string, number> | null;
}

export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const wrk = findWrk();
  if (!wrk) {
    throw new Error('wrk is not installed (needed by bench/load.ts): run `apt-get install -y wrk` (Debian package).');
  }
  const threads = Math.max(1, Math.floor(opts.threads ?? 1));
  const connections = Math.max(threads, Math.floor(opts.connections));
  const duration = Math.max(1, Math.round(opts.durationSec));

  const dir = mkdtempSync(join(tmpdir(), 'hearth-wrk-'));
  const scriptPath = join(dir, 'load.lua');
  writeFileSync(scriptPath, luaScript(opts));
  const args = ['-t', String(threads), '-c', String(connections), '-d', `${duration}s`, '--latency', '-s', scriptPath];
  if (opts.timeoutSec !== undefined) args.push('--timeout', `${opts.timeoutSec}s`);
  args.push(opts.url);

  try {
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
      (resolve, reject) => {
        const child = spawn(wrk, args, { stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
        child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
        const killer = setTimeout(() => child.kill('SIGKILL'), (duration + 30) * 1000);
        child.on('error', (err) => {
          clearTimeout(killer);
          reject(err);
        });
        child.on('close', (c) => {
          clearTimeout(killer);
          resolve({ code: c, stdout, stderr });
        });
      },
    );
    const line = stdout.split('\n').find((l) => l.startsWith(MARK));
    if (code !== 0 || !line) {
      throw new Error(`wrk failed (exit ${code}): ${(stderr || stdout).trim().slice(0, 2000)}`);
    }
    const j = JSON.parse(line.slice(MARK.length)) as WrkJson;
    const seconds = j.durationUs / 1e6;
    let non2xx = j.status;
    if (j.statuses) {
      non2xx = 0;
      for (const [status, n] of Object.entries(j.statuses)) if (!/^2\d\d$/.test(status)) non2xx += n;
    }
    const result: LoadResult = {
      tool: 'wrk',
      requestsPerSec: seconds > 0 ? j.requests / seconds : 0,
      p50Ms: j.p50 / 1000,
      p90Ms: j.p90 / 1000,
      p99Ms: j.p99 / 1000,
      maxMs: j.max / 1000,
      non2xx,
      errors: j.connect + j.read + j.write + j.timeout,
      total: j.requests,
      errorDetail: { connect: j.connect, read: j.read, write: j.write, timeout: j.timeout },
    };
    if (j.statuses) result.statusCounts = j.statuses;
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
