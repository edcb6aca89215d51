// Pre-warmed blank isolates (the isolate tier's stem cells): the runtime is loaded, no function
// code. A cold start takes one and loads its function into it; the reserve refills in the
// background, one isolate at a time so that refilling never competes hard with serving.

import type { HostLog, RuntimeScript } from './isolate-instance.js';
import { IsolateInstance } from './isolate-instance.js';

const REFILL_DELAY_MS = 25;

export class BlankIsolates {
  /** Ready blanks by memory size (an isolate's memory limit is fixed when it is made). */
  private readonly ready = new Map<number, IsolateInstance[]>();
  /** How many to keep per size: the default size gets the configured count, others 1 once used. */
  private readonly targets = new Map<number, number>();
  private refilling = false;
  private refillTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private filledOnce: Promise<void>;
  private resolveFilled!: () => void;

  constructor(
    private readonly runtime: RuntimeScript,
    private readonly hostLog: HostLog,
    defaultMemoryMb: number,
    count: number,
  ) {
    this.targets.set(defaultMemoryMb, count);
    this.filledOnce = new Promise((r) => (this.resolveFilled = r));
    this.refill();
  }

  /** Resolves once the reserve has been filled the first time. */
  filled(): Promise<void> {
    return this.filledOnce;
  }

  get size(): number {
    let n = 0;
    for (const list of this.ready.values()) n += list.length;
    return n;
  }

  /** A blank isolate of this size: from the reserve when there is one, else made now. */
  async take(memoryMb: number): Promise<IsolateInstance> {
    if (!this.targets.has(memoryMb) && this.targets.size < 8) this.targets.set(memoryMb, 1);
    const list = this.ready.get(memoryMb);
    const inst = list?.pop();
    this.refillSoon();
    return inst ?? IsolateInstance.prewarm(memoryMb, this.runtime, this.hostLog);
  }

  /**
   * A fresh blank isolate made now, not taken from the reserve (deploy-time checks use this: a
   * deploy must not eat the reserve that cold calls draw on). It loads URL and crypto on first use.
   */
  fresh(memoryMb: number): Promise<IsolateInstance> {
    return IsolateInstance.prewarm(memoryMb, this.runtime, this.hostLog);
  }

  /**
   * Refill a little later, not at once: making an isolate blocks the main thread for ~2.5 ms and
   * loading the runtime takes a core for ~3 ms, which would land on the cold call that just took a
   * blank (measured: init 4–7 ms with an immediate refill, 0.7–1.1 ms with this delay).
   */
  private refillSoon(): void {
    if (this.refillTimer !== null || this.closed) return;
    this.refillTimer = setTimeout(() => {
      this.refillTimer = null;
      this.refill();
    }, REFILL_DELAY_MS);
    this.refillTimer.unref();
  }

  close(): void {
    this.closed = true;
    if (this.refillTimer) clearTimeout(this.refillTimer);
    for (const list of this.ready.values()) for (const i of list) i.dispose();
    this.ready.clear();
  }

  private refill(): void {
    if (this.refilling || this.closed) return;
    const want = this.nextSize();
    if (want === null) {
      this.resolveFilled();
      return;
    }
    this.refilling = true;
    // setImmediate: let the call that took a blank go first.
    setImmediate(() => {
      IsolateInstance.prewarm(want, this.runtime, this.hostLog, true).then(
        (inst) => {
          this.refilling = false;
          if (this.closed) return inst.dispose();
          let list = this.ready.get(want);
          if (!list) this.ready.set(want, (list = []));
          list.push(inst);
          this.refill();
        },
        (err) => {
          this.refilling = false;
          process.emitWarning(`could not pre-warm an isolate: ${(err as Error).message}`);
          setTimeout(() => this.refill(), 1000).unref();
        },
      );
    });
  }

  private nextSize(): number | null {
    for (const [size, target] of this.targets) {
      if ((this.ready.get(size)?.length ?? 0) < target) return size;
    }
    return null;
  }
}
