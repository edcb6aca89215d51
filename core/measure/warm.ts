// The load generator: C async workers on one keep-alive agent, each calling back to back (a closed
// loop: a worker's next call starts when its last one ended), until N calls in all or S seconds.
// Samples go into an array as they come; nothing is summed up until the end (stats.ts).

import type { CallSample } from './types.js';

export interface WarmLoopOptions {
  /** One call (the client's, bound to its target); it never throws. */
  call: () => Promise<CallSample>;
  concurrency: number;
  /** Stop after this many calls in all (null: bounded by durationMs). */
  calls: number | null;
  /** Stop starting calls after this long (null: bounded by calls). */
  durationMs: number | null;
  /** Where the samples go (null: counted, not kept, e.g. warm-up calls). */
  samples: CallSample[] | null;
  signal?: AbortSignal;
  /** At most ~10 times a second, and once at the end. */
  onProgress?: (done: number, elapsedMs: number) => void;
}

export interface WarmLoopResult {
  /** Calls recorded. */
  done: number;
  /** First call started → last call ended (ms). */
  wallMs: number;
}

const PROGRESS_EVERY_MS = 100;

export async function warmLoop(o: WarmLoopOptions): Promise<WarmLoopResult> {
  if (o.calls === null && o.durationMs === null) throw new Error('warmLoop: calls or durationMs is needed');
  const start = performance.now();
  const deadline = o.durationMs === null ? Infinity : start + o.durationMs;
  let issued = 0;
  let done = 0;
  let lastProgress = start;
  // An abort stops the workers at once: calls still in flight are dropped, not waited for.
  const aborted = new Promise<null>((resolve) => {
    if (o.signal?.aborted) resolve(null);
    o.signal?.addEventListener('abort', () => resolve(null), { once: true });
  });
  const worker = async (): Promise<void> => {
    for (;;) {
      if (o.signal?.aborted) return;
      if (o.calls !== null && issued >= o.calls) return;
      if (performance.now() >= deadline) return;
      issued++;
      const s = await Promise.race([o.call(), aborted]);
      if (s === null) return;
      o.samples?.push(s);
      done++;
      if (o.onProgress) {
        const now = performance.now();
        if (now - lastProgress >= PROGRESS_EVERY_MS) {
          lastProgress = now;
          o.onProgress(done, now - start);
        }
      }
    }
  };
  const n = Math.max(1, o.concurrency);
  await Promise.all(Array.from({ length: n }, worker));
  const wallMs = performance.now() - start;
  o.onProgress?.(done, wallMs);
  return { done, wallMs };
}
