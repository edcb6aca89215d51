// What a failure that came out of isolated-vm means, read from its message (isolated-vm has no
// error codes): the one place V8's and isolated-vm's wording is matched.

/** A CPU-time limit ("Script execution timed out."), memory ("... memory limit ..."), or an isolate already gone. */
export type V8Failure = 'timeout' | 'memory' | 'disposed';

export function classifyV8Failure(err: unknown): V8Failure | null {
  const message = err instanceof Error ? err.message : String(err);
  if (/timed out/i.test(message)) return 'timeout';
  if (/memory limit|allocation failed|out of memory/i.test(message)) return 'memory';
  if (/disposed/i.test(message)) return 'disposed';
  return null;
}
