// Pre-warmed blank isolates (the isolate tier's stem cells): the runtime is loaded, no function
// code. A cold start takes one and loads its function into it; the reserve (pool/reserve.ts)
// refills in the background, one isolate at a time.

import { Reserve } from '../reserve.js';
import type { RuntimeScript } from './boot.js';
import { IsolateInstance, type IsolateSettings } from './instance.js';

/**
 * Refill a little later, not at once: making an isolate blocks the main thread for ~2.5 ms and
 * loading the runtime takes a core for several ms, which would land on the cold call that just
 * took a blank (measured: init 4–7 ms with an immediate refill, 0.7–1.1 ms with this delay).
 */
const REFILL_DELAY_MS = 25;

export class BlankIsolates {
  /** How many to keep per size: the default size gets the configured count, others 1 once used. */
  private readonly targets = new Map<number, number>();
  private readonly reserve: Reserve<IsolateInstance>;
  private readonly filledOnce: Promise<void>;

  constructor(
    private readonly runtime: RuntimeScript,
    private readonly settings: IsolateSettings,
    defaultMemoryMb: number,
    count: number,
  ) {
    this.targets.set(defaultMemoryMb, count);
    this.reserve = new Reserve<IsolateInstance>({
      next: (have) => {
        for (const [size, target] of this.targets) if (have(String(size)) < target) return String(size);
        return null;
      },
      // Made ahead of need: URL and crypto preloaded. setImmediate: the call that took one goes first.
      make: (key) => new Promise<void>((r) => setImmediate(r)).then(() => IsolateInstance.prewarm(Number(key), this.runtime, this.settings, true)),
      dispose: (inst) => inst.dispose(),
      failed: (_key, err) => {
        process.emitWarning(`could not pre-warm an isolate: ${(err as Error).message}`);
        return 1_000;
      },
    }, REFILL_DELAY_MS);
    this.filledOnce = this.reserve.full();
    this.reserve.fill();
  }

  /** Resolves once the reserve has been filled the first time. */
  filled(): Promise<void> {
    return this.filledOnce;
  }

  get size(): number {
    return this.reserve.size;
  }

  /** A blank isolate of this size: from the reserve when there is one, else made now. */
  async take(memoryMb: number): Promise<IsolateInstance> {
    if (!this.targets.has(memoryMb) && this.targets.size < 8) this.targets.set(memoryMb, 1);
    return this.reserve.take(String(memoryMb)) ?? IsolateInstance.prewarm(memoryMb, this.runtime, this.settings);
  }

  /**
   * A fresh blank isolate made now, not taken from the reserve (deploy-time checks use this: a
   * deploy must not eat the reserve that cold calls draw on). It loads URL and crypto on first use.
   */
  fresh(memoryMb: number): Promise<IsolateInstance> {
    return IsolateInstance.prewarm(memoryMb, this.runtime, this.settings);
  }

  close(): Promise<void> {
    return this.reserve.close();
  }
}
