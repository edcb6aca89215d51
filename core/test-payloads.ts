// Saved test payloads: named events a person keeps per function to invoke again (the console's
// Test tab; Lambda's "saved test events", Nuclio's function events). Kept in the data dir as one
// JSON file a function, so every browser (and a restart) sees the same ones; gone with the function.
//
// Bounds: MAX_PER_FUNCTION names a function, MAX_PAYLOAD_BYTES a payload's text in UTF-8 bytes,
// MAX_BYTES_PER_FUNCTION all of a function's together (so a file is read and written whole in a
// few ms), names of 1-64 [A-Za-z0-9 _.-].

import { z } from 'zod';
import type { FunctionVersion } from './backend.js';
import { HearthError } from './errors.js';
import type { FunctionListener } from './registry/index.js';
import { FunctionFiles } from './store.js';

export const MAX_PER_FUNCTION = 50;
export const MAX_PAYLOAD_BYTES = 256 * 1024;
/** All of one function's payloads: its file stays small enough to read and write whole. */
export const MAX_BYTES_PER_FUNCTION = 1024 * 1024;
const NAME = /^[A-Za-z0-9 _.-]{1,64}$/;

const Payload = z.strictObject({
  /** json: `body` is the JSON text; msgpack: the JSON text the console encodes as msgpack when it sends it (JSON either way). */
  encoding: z.enum(['json', 'msgpack']).default('json'),
  body: z.string().refine((b) => Buffer.byteLength(b) <= MAX_PAYLOAD_BYTES, `must be at most ${MAX_PAYLOAD_BYTES} bytes (UTF-8)`),
});

export type TestPayload = z.output<typeof Payload> & { name: string; savedAt: string };

export class TestPayloads implements FunctionListener {
  private readonly files: FunctionFiles;

  constructor(dataRoot: string) {
    this.files = new FunctionFiles(dataRoot, 'test-payloads');
  }

  functionChanged(name: string, latest: FunctionVersion | null): void {
    if (latest === null) this.files.remove(name);
  }

  list(functionName: string): TestPayload[] {
    return Object.values(this.read(functionName)).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Saves (or replaces) one; true when it is new. */
  put(functionName: string, name: string, body: unknown): { created: boolean; payload: TestPayload } {
    if (!NAME.test(name)) throw new HearthError('InvalidRequestContent', 'a test payload\'s name is 1-64 letters, digits, spaces, _ . or -', { problems: [{ path: 'name', message: 'must be 1-64 letters, digits, spaces, _ . or -' }] });
    const r = Payload.safeParse(body);
    if (!r.success) {
      const problems = r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
      throw new HearthError('InvalidRequestContent', problems.map((p) => `${p.path || '(payload)'}: ${p.message}`).join('; '), { problems });
    }
    try {
      JSON.parse(r.data.body);
    } catch (err) {
      throw new HearthError('InvalidRequestContent', `body: not JSON (${(err as Error).message})`, { problems: [{ path: 'body', message: `not JSON (${(err as Error).message})` }] });
    }
    const all = this.read(functionName);
    const created = !Object.hasOwn(all, name);
    if (created && Object.keys(all).length >= MAX_PER_FUNCTION) {
      throw new HearthError('TooManyRequests', `function "${functionName}" has ${MAX_PER_FUNCTION} saved test payloads already; delete one first`);
    }
    const payload: TestPayload = { name, ...r.data, savedAt: new Date().toISOString() };
    let total = Buffer.byteLength(payload.body);
    for (const p of Object.values(all)) if (p.name !== name) total += Buffer.byteLength(p.body);
    if (total > MAX_BYTES_PER_FUNCTION) {
      throw new HearthError('RequestTooLarge', `function "${functionName}"'s saved test payloads would hold ${total} bytes, over the ${MAX_BYTES_PER_FUNCTION}-byte bound; delete some first`);
    }
    all[name] = payload;
    this.files.write(functionName, all);
    return { created, payload };
  }

  delete(functionName: string, name: string): boolean {
    const all = this.read(functionName);
    if (!Object.hasOwn(all, name)) return false;
    delete all[name];
    if (Object.keys(all).length === 0) this.files.remove(functionName);
    else this.files.write(functionName, all);
    return true;
  }

  /** The function's payloads by name, in an object without a prototype (names like "__proto__" are plain keys). */
  private read(functionName: string): Record<string, TestPayload> {
    const all = Object.create(null) as Record<string, TestPayload>;
    const stored = this.files.read(functionName);
    return stored !== null && typeof stored === 'object' && !Array.isArray(stored) ? Object.assign(all, stored) : all;
  }
}
