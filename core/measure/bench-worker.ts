// A measurement Hearth runs on itself (the console's Measure panel), in a worker thread: the load
// generator's calls, their timers and the sums at the end must not share the event loop that
// serves the calls they time. The parent sends 'stop' to end it early (what was measured is
// still summed up and drawn); progress comes at most every PROGRESS_MS.

import { parentPort, workerData } from 'node:worker_threads';
import { benchSvg } from './chart.js';
import { BenchTargetError, runBench } from './run.js';
import type { BenchResult, BenchSettings, Progress } from './types.js';

const PROGRESS_MS = 100;
/**
 * Calls sent back with the result (for GET …/bench?samples=true). The message is copied onto
 * Hearth's event loop, which serves calls: 200,000 samples took ~300 ms to receive there, so a
 * uniform sample of at most this many goes; the summaries and the picture are of every kept call.
 */
export const MAX_SAMPLES_SENT = 20_000;

function thinned(r: BenchResult): BenchResult {
  const all = r.samples;
  if (all.length <= MAX_SAMPLES_SENT) return r;
  // A uniform sample in arrival order: each index kept with probability k/n, by selection sampling.
  const kept = [];
  let need = MAX_SAMPLES_SENT;
  for (let i = 0; i < all.length && need > 0; i++) {
    if (Math.random() * (all.length - i) < need) {
      kept.push(all[i]!);
      need--;
    }
  }
  return { ...r, samples: kept, notes: [...(r.notes ?? []), `samples: ${kept.length.toLocaleString('en-US')} of the ${all.length.toLocaleString('en-US')} kept calls, chosen at random, come with this result`] };
}

export interface BenchWorkerData {
  settings: BenchSettings;
  adminToken?: string;
  invokeToken?: string;
}

export type BenchWorkerMessage =
  | { kind: 'progress'; progress: Progress }
  | { kind: 'done'; result: BenchResult; svg: string }
  | { kind: 'failed'; errorType: string; errorMessage: string };

const port = parentPort!;
const data = workerData as BenchWorkerData;
const stop = new AbortController();
port.on('message', (m) => { if (m === 'stop') stop.abort(); });
const post = (m: BenchWorkerMessage) => port.postMessage(m);

let last = 0;
let pending: Progress | null = null;
let timer: NodeJS.Timeout | null = null;
const onProgress = (p: Progress) => {
  pending = p;
  const now = performance.now();
  if (now - last >= PROGRESS_MS) {
    last = now;
    pending = null;
    post({ kind: 'progress', progress: p });
  } else {
    timer ??= setTimeout(() => {
      timer = null;
      if (pending) { last = performance.now(); post({ kind: 'progress', progress: pending }); pending = null; }
    }, PROGRESS_MS);
  }
};

try {
  const result = await runBench(data.settings, {
    ...(data.adminToken ? { adminToken: data.adminToken } : {}),
    ...(data.invokeToken ? { invokeToken: data.invokeToken } : {}),
    onProgress,
    signal: stop.signal,
  });
  if (timer) clearTimeout(timer);
  const svg = await benchSvg(result); // drawn from every kept call, here, off Hearth's event loop
  post({ kind: 'done', result: thinned(result), svg });
} catch (err) {
  const e = err as Error;
  post({ kind: 'failed', errorType: err instanceof BenchTargetError ? 'BenchTargetError' : e.name || 'Error', errorMessage: e.message });
}
