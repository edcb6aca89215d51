// Polls for a state change with a deadline (tests never assert how long it took).

export async function until(what: () => Promise<boolean>, ms: number, why: string | (() => Promise<string>)): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await what()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`not reached in ${ms} ms: ${typeof why === 'string' ? why : await why()}`);
}
