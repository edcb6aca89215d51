// The load generator's own cost: the same warm loop, at the same concurrency, against a bare
// uWebSockets.js echo (uws-echo.ts) in a child process, so that the echo's work is not on the load
// generator's event loop (as Hearth's is not). A function's warm figures are read against this floor.

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BenchClient, type CallTarget } from './client.js';
import { percentiles } from './stats.js';
import type { CallSample, Overhead } from './types.js';
import { warmLoop } from './warm.js';

const ECHO = fileURLToPath(new URL('./uws-echo.js', import.meta.url));
const WARMUP_MS = 200;

export async function overhead(concurrency: number, durationMs = 1_500, payload = '{}', signal?: AbortSignal): Promise<Overhead> {
  // Its stdin is ours: if we go without killing it (a worker thread terminated, the command killed), it ends itself.
  const child = spawn(process.execPath, [ECHO, '0', '--exit-with-stdin'], { stdio: ['pipe', 'pipe', 'pipe'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      let err = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d;
        const m = /LISTENING (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.stderr!.on('data', (d: Buffer) => (err += d));
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`the uWS echo exited (${code}) before listening: ${err.trim().slice(0, 300)}`)));
    });
    const client = new BenchClient(`http://127.0.0.1:${port}`, concurrency, performance.now(), undefined, signal);
    try {
      const target: CallTarget = { label: 'uws-echo', name: 'uws-echo', qualifier: null, web: null, payload: Buffer.from(payload), token: undefined, rawPath: '/' };
      const call = () => client.call(target, 'warm');
      // Connections opened and code warmed first, as the target's warm-up calls do.
      await warmLoop({ call, concurrency, calls: null, durationMs: WARMUP_MS, samples: null, ...(signal ? { signal } : {}) });
      const samples: CallSample[] = [];
      const r = await warmLoop({ call, concurrency, calls: null, durationMs, samples, ...(signal ? { signal } : {}) });
      return { concurrency, latency: percentiles(samples.map((s) => s.latencyMs)), throughput: r.wallMs > 0 ? (r.done * 1000) / r.wallMs : 0 };
    } finally {
      client.close();
    }
  } finally {
    child.stdin!.end();
    if (child.exitCode === null) child.kill('SIGTERM');
  }
}
