// What the channel bounds (issue 15) dropped or refused, counted by function: the bounds are
// enforced deep in the tiers (an isolate's log gate, a result crossing back), the metrics are
// scraped in core/metrics.ts. One object, made by the composition root and handed to both.

/** Every counter, with its Prometheus name and help. */
export const LIMIT_METRICS = {
  logDroppedLines: ['hearth_log_dropped_lines_total', 'Log lines a function wrote past the log limits (per call, per second) and dropped, by function.'],
  logDroppedBytes: ['hearth_log_dropped_bytes_total', 'Bytes of log text a function wrote past the log limits and dropped, by function.'],
  resultsTooLarge: ['hearth_results_too_large_total', 'Results (and web response bodies) past --max-result-bytes: the call failed with ResultTooLarge, by function.'],
  errorsTruncated: ['hearth_error_messages_truncated_total', 'Error messages and stack traces of a function cut to --max-error-bytes, by function.'],
  syncBudgetOverruns: ['hearth_sync_budget_overruns_total', 'Synchronous isolate crossings stopped at their budget (--sync-budget-ms): their calls ran again asynchronously on another instance; after 3 stops that used the budget in CPU the function crosses asynchronously for good (one is forgiven after 16,384 calls that crossed synchronously within it). By function.'],
  wasmMemoryRefused: ['hearth_wasm_memory_refused_total', 'WebAssembly memories refused because they would pass the function\'s memoryMb (the instance replaced), by function.'],
} as const;

export type LimitMetric = keyof typeof LIMIT_METRICS;

export class LimitCounters {
  private readonly counts = new Map<LimitMetric, Map<string, number>>();

  count(metric: LimitMetric, functionName: string, n = 1): void {
    if (!(n > 0)) return;
    let m = this.counts.get(metric);
    if (m === undefined) this.counts.set(metric, (m = new Map()));
    m.set(functionName, (m.get(functionName) ?? 0) + n);
  }

  /** The counter's series: one per function that has a count. */
  series(metric: LimitMetric): { labels: { function: string }; value: number }[] {
    return [...(this.counts.get(metric) ?? [])].map(([fn, value]) => ({ labels: { function: fn }, value }));
  }

  get(metric: LimitMetric, functionName: string): number {
    return this.counts.get(metric)?.get(functionName) ?? 0;
  }

  /** A deleted function's series go. */
  forget(functionName: string): void {
    for (const m of this.counts.values()) m.delete(functionName);
  }
}
