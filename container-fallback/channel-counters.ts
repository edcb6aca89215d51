// What the container tier's channel bounds dropped or refused, for the metrics (core/metrics.ts):
// counted where the bytes arrive (container.ts, docker-log-lines.ts).

export const containerChannels = {
  /** Container answers refused because their body or head was over its bound, by runtime. */
  oversized: new Map<string, number>(),
  /** Lines of containers' output (Docker's log stream) dropped over the rate bound. */
  logLinesDropped: 0,
};

export function countOversized(runtime: string): void {
  containerChannels.oversized.set(runtime, (containerChannels.oversized.get(runtime) ?? 0) + 1);
}
