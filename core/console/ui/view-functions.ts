// The functions: each with its runtime, version, state and figures since start (calls, errors,
// run-time p50 and p99, share of cold starts), refreshed every few seconds.

import { html } from 'htm/preact';
import { api } from './api.js';
import { ErrorBox, href, ms, pct, usePoll } from './kit.js';

interface FnView { name: string; runtime?: string; version?: string; broken?: string; reason?: string; updatedAt?: string }
export interface FnStats {
  calls: number; errors: number; coldStarts: number; coldShare: number; p50Ms: number | null; p99Ms: number | null;
  instances: number; busy: number; tier: string | null; published: number | null;
}

function state(f: FnView, s: FnStats | undefined): string {
  if (f.broken || f.reason) return 'broken';
  if (!s || s.instances === 0) return 'no instance';
  return s.busy > 0 ? `${s.instances} warm, ${s.busy} busy` : `${s.instances} warm`;
}

export function FunctionsList() {
  const { value, error } = usePoll(async () => {
    const [list, stats] = await Promise.all([
      api<{ functions: FnView[] }>('GET', '/v1/functions'),
      api<{ functions: Record<string, FnStats> }>('GET', '/v1/stats'),
    ]);
    return { functions: list.functions, stats: stats.functions };
  }, 3_000);
  return html`<section aria-labelledby="fns-title">
    <div class="row"><h1 id="fns-title">Functions</h1><a class="button" href="#/new">New function</a></div>
    <${ErrorBox} error=${error} />
    ${value && value.functions.length === 0 ? html`<p>No functions yet. <a href="#/new">Create one</a>, or deploy with <code>hearth deploy</code>.</p>` : null}
    ${value && value.functions.length > 0 ? html`<table class="grid" aria-describedby="fns-note">
      <thead><tr><th scope="col">Name</th><th scope="col">Runtime</th><th scope="col">Version</th><th scope="col">State</th>
        <th scope="col" class="num">Calls</th><th scope="col" class="num">Errors</th><th scope="col" class="num">p50 ms</th><th scope="col" class="num">p99 ms</th><th scope="col" class="num">Cold</th></tr></thead>
      <tbody>${value.functions.map((f) => {
        const s = value.stats[f.name];
        return html`<tr key=${f.name}>
          <th scope="row"><a href=${href(f.name)}>${f.name}</a></th>
          <td>${f.runtime ?? '–'}</td>
          <td>${s?.published != null ? `$LATEST · v${s.published} published` : '$LATEST'}</td>
          <td class=${state(f, s) === 'broken' ? 'bad' : ''}>${state(f, s)}</td>
          <td class="num">${s?.calls ?? 0}</td>
          <td class=${`num ${s && s.errors > 0 ? 'bad' : ''}`}>${s?.errors ?? 0}</td>
          <td class="num">${ms(s?.p50Ms)}</td>
          <td class="num">${ms(s?.p99Ms)}</td>
          <td class="num">${s && s.calls > 0 ? pct(s.coldShare) : '–'}</td>
        </tr>`;
      })}</tbody>
    </table>
    <p id="fns-note" class="note">Since Hearth started. p50 and p99 are of run time (X-Hearth-Duration-Ms), from the duration histogram's buckets.</p>` : null}
  </section>`;
}
