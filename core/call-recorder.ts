// The record step: what hangs off the end of every call (core/dispatcher.ts CallHooks). The
// invocation record opens before the tier runs the call, so the call's log lines find it, and
// closes with its outcome; the metrics count the outcome.

import type { FunctionVersion } from './backend.js';
import type { CallOutcome, CallRequest } from './call.js';
import type { CallHooks } from './dispatcher.js';
import type { InvocationRecord, InvocationRecords } from './records.js';
import type { Metrics } from './metrics.js';

export class CallRecorder implements CallHooks<InvocationRecord> {
  constructor(
    private readonly records: InvocationRecords,
    private readonly metrics: Metrics | null,
  ) {}

  begin(req: CallRequest, fn: FunctionVersion): InvocationRecord {
    this.metrics?.callStarted();
    return this.records.open(req, fn);
  }

  end(rec: InvocationRecord, req: CallRequest, fn: FunctionVersion, out: CallOutcome): void {
    this.records.close(rec, out);
    this.metrics?.observe(fn.runtime, req.functionName, out);
  }
}
