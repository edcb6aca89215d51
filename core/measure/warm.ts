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
  /** Where the samples go (null: counted, not kept, e.g. warm-up calls): an array, or a SampleStore. */
  samples: { push(s: CallSample): unknown } | null;
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
  // An abort ends the calls in flight (the client destroys its sockets: see BenchClient's signal);
  // a call that ends after the abort is dropped, not counted. No per-call race with the signal: a
  // promise raced against one long-lived promise leaves a reaction on it per call (~350 bytes
  // each, measured: 344 MB after a million calls).
  const worker = async (): Promise<void> => {
    for (;;) {
      if (o.signal?.aborted) return;
      if (o.calls !== null && issued >= o.calls) return;
      if (performance.now() >= deadline) return;
      issued++;
      const s = await o.call();
      if (o.signal?.aborted) return;
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
