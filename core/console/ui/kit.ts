// Small pieces the views share: polling, formatting, an error box, the route.

import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError } from './api.js';

/** Calls `load` now and every `ms` while mounted (and when `deps` change); the last value or error. */
export function usePoll<T>(load: () => Promise<T>, ms: number, deps: unknown[] = []): { value: T | null; error: Error | null; reload: () => void } {
  const [value, setValue] = useState<T | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    // Each run of the effect has its own flag: a load still in flight when the inputs change (or
    // reload() is called) neither sets a stale value nor keeps its own timer loop going.
    let alive = true;
    let timer: number | undefined;
    const run = () => {
      load().then((v) => { if (alive) { setValue(v); setError(null); } }, (e: Error) => { if (alive) setError(e); })
        .finally(() => { if (alive && ms > 0) timer = window.setTimeout(run, ms); });
    };
    run();
    return () => { alive = false; window.clearTimeout(timer); };
  }, [...deps, tick]);
  return { value, error, reload: () => setTick((t) => t + 1) };
}

export function ErrorBox(props: { error: unknown }) {
  const e = props.error;
  if (!e) return null;
  const type = e instanceof ApiError ? e.type : 'Error';
  const message = e instanceof Error ? e.message : String(e);
  return html`<div class="error" role="alert"><strong>${type}</strong>: ${message}</div>`;
}

export const ms = (v: number | null | undefined): string => (v == null ? '–' : v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0));
export const pct = (v: number): string => `${(v * 100).toFixed(v > 0 && v < 0.01 ? 2 : 0)}%`;
export const ago = (msAgo: number): string => (msAgo < 1_000 ? `${Math.round(msAgo)} ms` : msAgo < 120_000 ? `${Math.round(msAgo / 1000)} s` : `${Math.round(msAgo / 60_000)} min`);

export type Tab = 'code' | 'settings' | 'test' | 'watch';
export const TABS: Tab[] = ['code', 'settings', 'test', 'watch'];
export type Route = { view: 'list' } | { view: 'new' } | { view: 'function'; name: string; tab: Tab };

const decode = (part: string): string => {
  try { return decodeURIComponent(part); } catch { return ''; }
};

/** The route a hash names; one that does not parse is the list. */
export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').map(decode);
  if (parts[0] === 'new') return { view: 'new' };
  if (parts[0] === 'f' && parts[1]) return { view: 'function', name: parts[1], tab: (TABS as string[]).includes(parts[2] ?? '') ? (parts[2] as Tab) : 'code' };
  return { view: 'list' };
}

export const href = (name: string, tab: Tab = 'code'): string => `#/f/${encodeURIComponent(name)}/${tab}`;
