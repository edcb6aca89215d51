// What the console (POST /v1/functions/{name}/bench) may ask of a measurement Hearth runs on
// itself, checked and bounded: the run shares the machine with every other call Hearth serves, so
// its size is capped (400 past a bound, never silently clamped).

import { z } from 'zod';
import { HearthError } from '../errors.js';
import type { BenchSettings } from './types.js';

export const BENCH_BOUNDS = { cold: 100, warm: 100_000, durationS: 60, concurrency: 256, payloadBytes: 256 * 1024 } as const;

const Qualifier = z.string().regex(/^[A-Za-z0-9$_-]{1,128}$/, 'a version number, $LATEST or an alias name');

const BenchRequest = z.strictObject({
  qualifier: Qualifier.nullable().default(null),
  compare: Qualifier.nullable().default(null),
  cold: z.number().int().min(0).max(BENCH_BOUNDS.cold).default(10),
  warm: z.number().int().min(0).max(BENCH_BOUNDS.warm).default(1_000),
  durationS: z.number().positive().max(BENCH_BOUNDS.durationS).nullable().default(null),
  concurrency: z.number().int().min(1).max(BENCH_BOUNDS.concurrency).default(8),
  /** The event (any JSON value; default {}), or for a web call its body (a string; "" for GET). */
  payload: z.unknown().optional(),
  /** A web path (/v1/web/NAME/PATH) instead of invoke. */
  web: z.string().max(2048).regex(/^[\x21-\x7e]*$/, 'a path of visible ASCII characters (percent-encode the rest)').nullable().default(null),
  reserve: z.boolean().default(true),
});
export type BenchRequest = z.input<typeof BenchRequest>;

/** The settings of a run of `name` against Hearth at `url`, from a request body; 400 with its problems when it is out of bounds. */
export function benchSettings(name: string, body: unknown, url: string): BenchSettings {
  const r = BenchRequest.safeParse(body ?? {});
  if (!r.success) {
    const problems = r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    throw new HearthError('InvalidRequestContent', problems.map((p) => `${p.path || '(body)'}: ${p.message}`).join('; '), { problems });
  }
  const b = r.data;
  if (b.cold === 0 && b.warm === 0 && b.durationS === null) {
    throw new HearthError('InvalidRequestContent', 'nothing to measure: ask for cold calls, warm calls or a duration', { problems: [{ path: 'warm', message: 'cold, warm and durationS are all 0' }] });
  }
  // Invoke: the event as JSON ({} when none). Web: a string body as it is ('' when none: a GET).
  const payload = b.web !== null
    ? (b.payload === undefined ? '' : typeof b.payload === 'string' ? b.payload : JSON.stringify(b.payload))
    : JSON.stringify(b.payload ?? {});
  const bytes = Buffer.byteLength(payload);
  if (bytes > BENCH_BOUNDS.payloadBytes) {
    throw new HearthError('RequestTooLarge', `payload: ${bytes} bytes, past ${BENCH_BOUNDS.payloadBytes}`, { problems: [{ path: 'payload', message: `at most ${BENCH_BOUNDS.payloadBytes} bytes` }] });
  }
  return {
    url,
    target: b.qualifier ? `${name}:${b.qualifier}` : name,
    compare: b.compare,
    cold: b.cold,
    warm: b.warm,
    durationS: b.durationS,
    concurrency: b.concurrency,
    payload,
    web: b.web === null ? null : b.web.replace(/^\/+/, ''),
    reserve: b.reserve,
  };
}
