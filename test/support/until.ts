// Polling with a deadline, for the tests' waits on a state change (tests never assert how long it
// took). The one copy: every test file imports it.

type Why = string | (() => string | Promise<string>);

/**
 * Polls `probe` every `everyMs` until it gives a value (anything but undefined, null or false), and
 * returns it; past `ms`, fails saying what was waited for. A probe that throws fails at once.
 */
export async function waitFor<T>(
  probe: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  ms: number, why: Why, everyMs = 25,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() >= end) break;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`not reached in ${ms} ms: ${typeof why === 'string' ? why : await why()}`);
}

/** Polls a condition until it holds (see waitFor). */
export async function until(what: () => boolean | Promise<boolean>, ms: number, why: Why, everyMs = 25): Promise<void> {
  await waitFor(async () => (await what()) || undefined, ms, why, everyMs);
}
