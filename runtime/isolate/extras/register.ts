// The one import an extra's entry makes (see ../extras.ts): hands what the extra exports to the
// runtime, through the hook the runtime sets only while the extra's script runs.

import { HostGlobal } from '../../protocol.js';

/**
 * Registers the extra. Pass a function to keep the script's own run trivial: the runtime calls it
 * once the host has returned, on the isolate's thread (the script itself runs inside the host's
 * callback, on the host's event loop, so its top level must only define things).
 */
export function registerExtra(exports: unknown): void {
  const hook = (globalThis as Record<string, unknown>)[HostGlobal.extraHook];
  if (typeof hook === 'function') (hook as (e: unknown) => void)(exports);
}
