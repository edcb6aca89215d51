// Timer triggers: a function's `schedules` (cron expressions, croner) run it on time, once per
// tick, through the same dispatcher as any call, so each run is an invocation record with its
// logs (GET /v1/invocations/{id}; GET /v1/functions/{name}/schedules lists the last runs).
//
// A Workers module gets scheduled(controller, env, ctx); an event function gets SCF's timer
// event: {Type: "Timer", TriggerName, Time, Message}.

import { Cron } from 'croner';
import { randomUUID } from 'node:crypto';
import { Encoding } from '../runtime/protocol.js';
import type { FunctionVersion } from './backend.js';
import { newCall } from './call.js';
import type { Dispatcher } from './dispatcher.js';
import { log } from './log.js';
import { scheduleProblem } from './spec.js';
import type { Catalog, FunctionListener } from './registry/index.js';

interface Job {
  digest: string;
  cron: Cron;
  name: string;
  expression: string;
  timezone: string | undefined;
  /** The last runs, newest first (bounded). */
  runs: { requestId: string; scheduledTime: string; status: string }[];
}

const KEEP_RUNS = 20;

export class Triggers implements FunctionListener {
  private readonly jobs = new Map<string, Job[]>();
  private closed = false;

  constructor(
    private readonly catalog: Catalog,
    private readonly dispatcher: Dispatcher,
  ) {}

  /** A function's $LATEST changed or went (deploy, delete, restore): its jobs follow. */
  functionChanged(name: string, latest: FunctionVersion | null): void {
    this.sync(name, latest);
  }

  /** Makes the function's jobs match its current version. */
  private sync(name: string, latest: FunctionVersion | null): void {
    const fn = this.closed ? null : latest;
    const old = this.jobs.get(name) ?? [];
    if (fn !== null && old.length > 0 && old[0]!.digest === fn.digest) return;
    for (const j of old) j.cron.stop();
    this.jobs.delete(name);
    if (fn === null || fn.spec.schedules.length === 0) return;
    const jobs = fn.spec.schedules.flatMap((s, i): Job[] => {
      // Specs are checked before they are stored (scheduleProblem); a record that still carries a
      // schedule that cannot be armed loses that schedule only, logged: a listener never throws
      // (at start that would stop Hearth; on a deploy, answer 500 after the record is stored).
      const problem = scheduleProblem(s.cron, s.timezone);
      if (problem !== null) {
        log.error({ function: name, schedule: s.name ?? `schedule-${i}`, problem }, 'schedule not armed');
        return [];
      }
      const job: Job = {
        digest: fn.digest, name: s.name ?? `schedule-${i}`, expression: s.cron, timezone: s.timezone, runs: [],
        cron: null as unknown as Cron,
      };
      job.cron = new Cron(s.cron, { name: undefined, ...(s.timezone ? { timezone: s.timezone } : {}) }, (self: Cron) => {
        const at = self.currentRun() ?? new Date();
        this.fire(name, job, s.message ?? '', at.getTime());
      });
      return [job];
    });
    this.jobs.set(name, jobs);
  }

  /** The function's schedules: next run, and the last runs with their request ids. */
  describe(name: string): Record<string, unknown>[] {
    return (this.jobs.get(name) ?? []).map((j) => ({
      name: j.name, cron: j.expression, timezone: j.timezone ?? 'UTC',
      nextRun: j.cron.nextRun()?.toISOString() ?? null, lastRuns: j.runs,
    }));
  }

  close(): void {
    this.closed = true;
    for (const list of this.jobs.values()) for (const j of list) j.cron.stop();
    this.jobs.clear();
  }

  /** A tick: the timer event (parse), run through the dispatcher like any call, its outcome on the job's last runs (render). */
  private fire(name: string, job: Job, message: string, scheduledTime: number): void {
    const fn = this.catalog.latest(name);
    if (fn === null || fn.digest !== job.digest) return; // replaced or deleted meanwhile
    const time = new Date(scheduledTime).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const event = { Type: 'Timer', TriggerName: job.name, Time: time, Message: message };
    const bytes = Buffer.from(JSON.stringify(event));
    const body = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    const req = newCall({
      requestId: randomUUID(), functionName: fn.name, source: 'timer', body, reqEnc: Encoding.json, resEnc: Encoding.json,
      schedule: { cron: job.expression, scheduledTime, trigger: job.name },
    });
    const run = { requestId: req.requestId, scheduledTime: time, status: 'running' };
    job.runs.unshift(run);
    if (job.runs.length > KEEP_RUNS) job.runs.length = KEEP_RUNS;
    this.dispatcher.run(fn, req).then((out) => {
      run.status = out.error === null ? 'succeeded' : 'failed';
      if (out.error) {
        log.warn({ function: name, trigger: job.name, requestId: req.requestId, errorType: out.error.errorType, err: out.error.errorMessage }, 'scheduled run failed');
      }
    }, (err: unknown) => {
      run.status = 'failed';
      log.error({ err, function: name, requestId: req.requestId }, 'scheduled run could not be dispatched');
    });
  }
}
