// Whether an instance's event calls cross synchronously (applySync, on the main thread, under a
// CPU budget) or asynchronously (apply, on isolated-vm's thread). A state machine per instance,
// with one backend-wide count of each function's strikes (overruns of the budget).
//
// Why: an async apply costs the main thread ~13–20 µs and the whole crossing 55–65 µs of CPU,
// most of it isolated-vm's thread hand-off; an applySync of the same call costs ~10 µs in all
// (bench/README.md "Short calls cross synchronously"). But a sync crossing blocks the event loop
// while the function runs, so only calls known to be short go that way, and the budget (the
// crossing's time limit) bounds how long any other call waits behind one:
//
//   async   every instance starts here. Calls that settled within their crossing, well under the
//           budget in the isolate's CPU time (half of it: a young-generation collection of the
//           isolate, 1–3 ms every few hundred calls, lands on one call now and then), add to a
//           streak; FIRST_STREAK in a row make the instance `sync`.
//   sync    calls of one event-loop turn cross together with applySync (at most as many as fit in
//           an eighth of the budget at the recent time per call, and 64). A crossing in which a call did not settle
//           (it waits for a timer or a fetch: it answers later, as a batched call does), or recent
//           calls past an eighth of the budget each (a moving average: one slow first call or
//           collection is not a trend), sends the instance back to `async`, and the streak it
//           needs doubles (up to 65,536).
//   never   past the budget a sync crossing is stopped by V8 midway. Nothing of it has left the
//           isolate (its answers and host requests are dropped with it), so its calls are sent
//           again, to another instance, on the async path, and this instance is killed (its state
//           is not to be trusted after a stop in the middle). When the isolate's own CPU time in
//           the crossing was under three quarters of the budget, the machine (not the function)
//           stretched it; otherwise the function is given a strike: each strike makes its next
//           promotions need 4× the streak, and at 3 it never crosses synchronously again in this
//           process (SyncBudget). This instance is `never` either way (it is being killed). A
//           strike is forgiven after FORGIVE_AFTER_CALLS calls settled in sync crossings: V8's own
//           work (a collection) stops a short function's crossing now and then, a function that
//           runs long does so at once.
//
// The bound: a call waits behind a sync crossing for at most the budget, plus a garbage collection
// of the isolate's heap that started in it (V8 cannot stop one midway; bounded by memoryMb); a
// function costs the other calls at most 3 such waits, plus one for every FORGIVE_AFTER_CALLS of
// its calls that crossed synchronously within the budget.

/** Strikes (CPU overruns of the budget) after which a function never crosses synchronously again. */
export const MAX_STRIKES = 3;

/**
 * Calls of a function that settle in sync crossings, with no overrun, after which one of its
 * strikes is forgiven. V8's own work can land in a crossing of a short function: under 256
 * connections, crossings of ≤ 64 hello calls (~0.6 ms) were stopped with 7–10 ms of the isolate's
 * CPU used, about one in 80,000 calls (a scavenge of 5 ms was traced before one). Without
 * forgiveness those gave hello its three strikes in 15 s; a function that itself runs past the
 * budget overruns far more often than this, and stays struck.
 */
export const FORGIVE_AFTER_CALLS = 16_384;

/** The budget and each function's strikes (shared by every instance of the backend). */
export class SyncBudget {
  private readonly strikes = new Map<string, number>();
  /** Per struck function: calls settled in sync crossings since its last strike (or forgiveness). */
  private readonly goodCalls = new Map<string, number>();

  /** `budgetMs` 0: no sync crossings at all. */
  constructor(readonly budgetMs: number, private readonly onOverrun: (functionName: string) => void = () => {}) {}

  allows(functionName: string): boolean {
    return this.budgetMs > 0 && (this.strikes.size === 0 || (this.strikes.get(functionName) ?? 0) < MAX_STRIKES);
  }

  /** Calls in a row an async instance of the function needs before it crosses synchronously. */
  streakFor(functionName: string): number {
    return FIRST_STREAK << (2 * (this.strikes.get(functionName) ?? 0));
  }

  /** A sync crossing of the function was stopped at the budget; `strike`: its own CPU time used it up. */
  overran(functionName: string, strike: boolean): void {
    if (strike) {
      this.strikes.set(functionName, (this.strikes.get(functionName) ?? 0) + 1);
      this.goodCalls.set(functionName, 0);
    }
    this.onOverrun(functionName);
  }

  /**
   * `n` calls of the function settled in a sync crossing within the budget: one of its strikes is
   * forgiven every FORGIVE_AFTER_CALLS of them (only while it has strikes and is not out of them:
   * a function at MAX_STRIKES never crosses synchronously, so it is never forgiven).
   */
  settled(functionName: string, n: number): void {
    if (this.strikes.size === 0) return;
    const strikes = this.strikes.get(functionName);
    if (strikes === undefined || strikes >= MAX_STRIKES) return;
    const good = (this.goodCalls.get(functionName) ?? 0) + n;
    if (good < FORGIVE_AFTER_CALLS) {
      this.goodCalls.set(functionName, good);
      return;
    }
    this.goodCalls.set(functionName, 0);
    if (strikes <= 1) {
      this.strikes.delete(functionName);
      this.goodCalls.delete(functionName);
    } else this.strikes.set(functionName, strikes - 1);
  }
}

export type SyncState = 'async' | 'sync' | 'never';

/**
 * Short calls in a row before the first sync crossing: enough for V8 to have compiled the hot code
 * (its optimizing compiles finish on the thread that runs the isolate: 1–10 ms on the main thread
 * at a sync crossing, on isolated-vm's thread at an async one).
 */
export const FIRST_STREAK = 1_024;
const MAX_STREAK = 65_536;
/** The most calls one sync crossing carries (SyncMode.maxBatch). */
export const MAX_SYNC_BATCH = 64;

export class SyncMode {
  state: SyncState = 'async';
  private streak = 0;
  private promoteAfter = FIRST_STREAK;
  /** Recent CPU time per call of the sync crossings, ms. */
  private perCallMs = 0.01;

  constructor(private readonly budget: SyncBudget, private readonly functionName: () => string) {}

  /** The version is bound: a function out of strikes stays async; `enabled` false: always. */
  reset(enabled = true): void {
    const name = this.functionName();
    this.state = enabled && this.budget.allows(name) ? 'async' : 'never';
    this.streak = 0;
    this.promoteAfter = this.budget.streakFor(name);
  }

  get budgetMs(): number {
    return this.budget.budgetMs;
  }

  /**
   * Whether the next crossing goes synchronously: in state `sync`, unless another instance of the
   * function overran meanwhile (one Set lookup a crossing, not a call).
   */
  crossesNow(): boolean {
    if (this.state !== 'sync') return false;
    if (this.budget.allows(this.functionName())) return true;
    this.state = 'never';
    return false;
  }

  /**
   * Calls one sync crossing may carry (the rest wait for the next turn): as many as take an eighth
   * of the budget at the recent CPU time per call, and at most MAX_SYNC_BATCH. A batch sized to half
   * the budget (as first built) ran into it under 256 connections: 250 hello calls and the young
   * collection their garbage set off took over 5 ms, and three such stops gave a short function its
   * three strikes.
   */
  get maxBatch(): number {
    return Math.max(1, Math.min(MAX_SYNC_BATCH, Math.floor(this.budget.budgetMs / 8 / this.perCallMs)));
  }

  /**
   * An async crossing of `n` event calls returned, the isolate's CPU time over it `cpuMs` (when
   * crossings overlap, theirs too: an upper bound); `unsettled`: some of its calls answer later.
   */
  asyncCrossing(cpuMs: number, n: number, unsettled: boolean): void {
    if (this.state !== 'async') return;
    if (unsettled || cpuMs / n > this.budget.budgetMs / 2) {
      this.streak = 0;
      return;
    }
    this.streak += n;
    if (this.streak >= this.promoteAfter) {
      this.state = this.budget.allows(this.functionName()) ? 'sync' : 'never';
      this.streak = 0;
    }
  }

  /** A sync crossing of `n` calls used `ms` of the isolate's CPU; `unsettled`: some answer later. */
  syncCrossing(ms: number, n: number, unsettled: boolean): void {
    if (this.state !== 'sync') return;
    this.perCallMs = this.perCallMs * 0.95 + (ms / n) * 0.05;
    this.budget.settled(this.functionName(), n);
    if (unsettled || this.perCallMs > this.budget.budgetMs / 8) {
      this.state = 'async';
      this.streak = 0;
      this.promoteAfter = Math.min(MAX_STREAK, this.promoteAfter * 2);
    }
  }

  /** A sync crossing was stopped at the budget, after `cpuMs` of the isolate's own CPU time. */
  overran(cpuMs: number): void {
    this.state = 'never';
    this.budget.overran(this.functionName(), cpuMs >= this.budget.budgetMs * 0.75);
  }
}
