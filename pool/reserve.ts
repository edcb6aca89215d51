// Instances made ahead of need, by key, for either tier: blank isolates by memory size, stem-cell
// containers by runtime. One is made at a time, in the background, so refilling never competes
// hard with serving; a take schedules a refill a little later (the cold call that took one goes
// first). What to make next, and what a failure means, is the owner's call.

export interface ReserveSource<T> {
  /** The key that needs one more (given how many each key has), or null when the reserve is full. */
  next(count: (key: string) => number): string | null;
  make(key: string): Promise<T>;
  dispose(item: T): void;
  /** A make failed: retry after this many ms, or null not to (next() must then stop offering that key until something changes). */
  failed(key: string, err: unknown): number | null;
}

export class Reserve<T> {
  private readonly ready = new Map<string, T[]>();
  private making = false;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  /** The make in progress (awaited at close, so nothing made is left behind). */
  private current: Promise<void> = Promise.resolve();
  private readonly fullWaiters: (() => void)[] = [];

  constructor(private readonly source: ReserveSource<T>, private readonly delayMs: number) {}

  get size(): number {
    let n = 0;
    for (const list of this.ready.values()) n += list.length;
    return n;
  }

  /** One ready item of this key that `accept` takes (the newest first), or undefined. */
  take(key: string, accept: (item: T) => boolean = () => true): T | undefined {
    const list = this.ready.get(key);
    let item: T | undefined;
    if (list) {
      for (let i = list.length - 1; i >= 0; i--) {
        if (accept(list[i]!)) { item = list.splice(i, 1)[0]; break; }
      }
    }
    this.soon();
    return item;
  }

  /** Resolves when the reserve is full (at once if it is). */
  full(): Promise<void> {
    if (this.source.next((k) => this.count(k)) === null) return Promise.resolve();
    return new Promise((r) => this.fullWaiters.push(r));
  }

  /** Refills a little later (not on the path of the call that just took one). */
  soon(delayMs = this.delayMs): void {
    if (this.timer !== null || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.fill();
    }, delayMs);
    this.timer.unref();
  }

  /** Makes what is missing now, one at a time. */
  fill(): void {
    if (this.making || this.closed) return;
    const key = this.source.next((k) => this.count(k));
    if (key === null) {
      for (const w of this.fullWaiters.splice(0)) w();
      return;
    }
    this.making = true;
    this.current = this.source.make(key).then(
      (item) => {
        this.making = false;
        if (this.closed) return this.source.dispose(item);
        let list = this.ready.get(key);
        if (!list) this.ready.set(key, (list = []));
        list.push(item);
        this.fill();
      },
      (err: unknown) => {
        this.making = false;
        const retry = this.source.failed(key, err);
        if (retry !== null && !this.closed) this.soon(retry);
        // Not retried (e.g. its image is missing; next() no longer offers that key): go on with the
        // other keys, or tell the waiters it is as full as it gets.
        else if (retry === null) this.fill();
      },
    );
  }

  /** Drops the ready items `drop` picks, every one by default (e.g. the engine under them went away). */
  clear(drop: (item: T) => boolean = () => true): void {
    for (const list of this.ready.values()) {
      for (let i = list.length - 1; i >= 0; i--) {
        if (drop(list[i]!)) this.source.dispose(list.splice(i, 1)[0]!);
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.current;
    this.clear();
  }

  /** Ready items of this key. */
  count(key: string): number {
    return this.ready.get(key)?.length ?? 0;
  }
}
