// One call's timing figures as a line, from its response headers: what `hearth invoke` prints on
// stderr and what the console shows under a result, written once so the two always agree. No Node
// imports: the console's bundle takes this file as it is.

/** What the line is made from: a response's headers (fetch's Headers has this shape). */
export interface HeaderSource {
  get(name: string): string | null;
}

export interface CallTiming {
  cold: boolean;
  initMs: string;
  queueMs: string;
  durationMs: string;
  version: string;
  requestId: string;
}

export function callTiming(h: HeaderSource): CallTiming {
  return {
    cold: h.get('x-hearth-cold') === 'true',
    initMs: h.get('x-hearth-init-ms') ?? '-',
    queueMs: h.get('x-hearth-queue-ms') ?? '-',
    durationMs: h.get('x-hearth-duration-ms') ?? '-',
    version: h.get('x-hearth-executed-version') ?? '-',
    requestId: h.get('x-hearth-request-id') ?? '-',
  };
}

/** `cold  init 1.234 ms  queue 0.010 ms  run 0.321 ms  version $LATEST  request <id>` */
export function timingLine(t: CallTiming): string {
  return `${t.cold ? 'cold' : 'warm'}  init ${t.initMs} ms  queue ${t.queueMs} ms  run ${t.durationMs} ms  version ${t.version}  request ${t.requestId}`;
}
