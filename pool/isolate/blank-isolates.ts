// Pre-warmed blank isolates (the isolate tier's stem cells): the runtime is loaded and a cold call
// rehearsed (boot.ts BlankKind), no function code. A cold start takes one and loads its function
// into it; the reserve (pool/reserve.ts) refills in the background, one isolate at a time.

import type { ReserveLevel } from '../../core/backend.js';
import { Reserve } from '../reserve.js';
import type { ReadyKind, RuntimeScript } from './boot.js';
import { IsolateInstance, type IsolateSettings } from './instance.js';

/**
 * Refill a little later, not at once: making an isolate blocks the main thread for ~2.5 ms and
 * loading the runtime takes a core for several ms, which would land on the cold call that just
 * took a blank (measured: init 4–7 ms with an immediate refill, 0.7–1.1 ms with this delay).
 */
const REFILL_DELAY_MS = 25;

/** Kinds of blank kept at most (sizes × event/apis/web); past it a new kind is made on demand only. */
const MAX_KINDS = 8;

/** The reserve's key of a blank: its memory limit and its kind. */
function keyOf(memoryMb: number, kind: ReadyKind): string {
  return `${memoryMb}${kind}`;
}

/** A kind of blank the reserve keeps, and how many. */
interface Target {
  readonly memoryMb: number;
  readonly kind: ReadyKind;
  readonly count: number;
}

export class BlankIsolates {
  /**
   * How many to keep per kind: event blanks of the default size get the configured count; other
   * sizes, apis blanks (code that names URL or crypto) and web blanks (Workers modules), 1 each once asked
   * for (none when the count is 0).
   */
  private readonly targets = new Map<string, Target>();
  private readonly otherKinds: number;
  private readonly reserve: Reserve<IsolateInstance>;
  private readonly filledOnce: Promise<void>;

  constructor(
    private readonly runtime: RuntimeScript,
    private readonly settings: IsolateSettings,
    defaultMemoryMb: number,
    count: number,
  ) {
    this.targets.set(keyOf(defaultMemoryMb, 'event'), { memoryMb: defaultMemoryMb, kind: 'event', count });
    this.otherKinds = Math.min(1, count);
    this.reserve = new Reserve<IsolateInstance>({
      next: (have) => {
        for (const [key, target] of this.targets) if (have(key) < target.count) return key;
        return null;
      },
      // Made ahead of need: preloaded and rehearsed. setImmediate: the call that took one goes first.
      make: (key) => new Promise<void>((r) => setImmediate(r)).then(() => {
        const t = this.targets.get(key)!;
        return IsolateInstance.prewarm(t.memoryMb, this.runtime, this.settings, t.kind);
      }),
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

  /**
   * A blank isolate of this size and kind: from the reserve when there is one; else an event blank
   * of the size (what the kind adds then loads on first use), else one made now (bare: a rehearsal
   * would only delay this call). `scratch`: made now whatever the reserve holds (the start a call
   * meets when the reserve is empty; X-Hearth-Force-Cold: scratch), and the reserve left as it is.
   */
  async take(memoryMb: number, kind: ReadyKind = 'event', scratch = false): Promise<IsolateInstance> {
    const key = keyOf(memoryMb, kind);
    this.want(key, memoryMb, kind);
    const ready = scratch ? undefined : this.reserve.take(key)
      ?? (kind === 'event' ? undefined : this.reserve.take(keyOf(memoryMb, 'event')));
    if (ready === undefined) return IsolateInstance.prewarm(memoryMb, this.runtime, this.settings);
    ready.startedFrom = 'reserve';
    return ready;
  }

  /** Blanks ready against blanks kept, per kind kept ("128MiB:event"): a cold start of that kind meets a full reserve when ready = target. */
  levels(): Record<string, ReserveLevel> {
    const out: Record<string, ReserveLevel> = {};
    for (const [key, t] of this.targets) {
      out[`${t.memoryMb}MiB:${t.kind}`] = { ready: Math.min(t.count, this.reserve.count(key)), target: t.count, memoryMb: t.memoryMb };
    }
    return out;
  }

  /** Cold starts of this kind are coming (code of this kind was deployed): keep one ready. */
  expect(memoryMb: number, kind: ReadyKind): void {
    if (this.want(keyOf(memoryMb, kind), memoryMb, kind)) this.reserve.soon();
  }

  /** Keeps blanks of this kind from now on; true when it is new. */
  private want(key: string, memoryMb: number, kind: ReadyKind): boolean {
    if (this.targets.has(key) || this.targets.size >= MAX_KINDS) return false;
    this.targets.set(key, { memoryMb, kind, count: this.otherKinds });
    return true;
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
