// A bounded FIFO of calls waiting for a slot, each with a deadline.

export interface Waiter<T> {
  resolve(value: T): void;
  reject(err: unknown): void;
  timer: NodeJS.Timeout | null;
  enqueuedAt: number;
  done: boolean;
}

export class WaitQueue<T> {
  private items: Waiter<T>[] = [];
  private head = 0;

  constructor(readonly limit: number) {}

  get length(): number {
    return this.items.length - this.head;
  }

  /** Queues a waiter; `onTimeout` runs if it is still waiting after `timeoutMs`. */
  push(timeoutMs: number, onTimeout: () => unknown): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const w: Waiter<T> = { resolve, reject, timer: null, enqueuedAt: performance.now(), done: false };
      w.timer = setTimeout(() => {
        if (w.done) return;
        w.done = true;
        this.compact();
        reject(onTimeout());
      }, timeoutMs);
      this.items.push(w);
    });
  }

  /** The oldest waiter still waiting, removed from the queue. */
  shift(): Waiter<T> | undefined {
    while (this.head < this.items.length) {
      const w = this.items[this.head++]!;
      if (this.head > 64 && this.head * 2 > this.items.length) this.compact();
      if (w.done) continue;
      w.done = true;
      if (w.timer) clearTimeout(w.timer);
      return w;
    }
    return undefined;
  }

  /** Rejects every waiter (e.g. the version was deleted, or its instances cannot start). */
  rejectAll(err: unknown): void {
    for (let w = this.shift(); w; w = this.shift()) w.reject(err);
  }

  private compact(): void {
    this.items = this.items.slice(this.head).filter((w) => !w.done);
    this.head = 0;
  }
}
