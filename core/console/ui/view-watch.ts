// Watch: a function's live logs (Server-Sent Events, filterable by request id), graphs of the
// last minutes (calls, errors, run-time p50/p99, cold starts: GET /v1/functions/{name}/stats),
// its instances, versions and aliases (publish; move an alias and its weights), async dead letters
// (redrive, discard), schedule runs and queue triggers.

import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, fnPath, readEvents } from './api.js';
import { Chart } from './chart.js';
import { ago, ErrorBox, ms, usePoll } from './kit.js';

interface LogLine { time: number; requestId: string; stream: string; message: string }
interface Series { intervalMs: number; t: number[]; calls: number[]; errors: number[]; coldStarts: number[]; p50Ms: (number | null)[]; p99Ms: (number | null)[] }

const MAX_LINES = 2_000;

function LiveLogs(props: { name: string }) {
  const [lines, setLines] = useState<LogLine[]>([]);
  const [filter, setFilter] = useState('');
  const [applied, setApplied] = useState('');
  const [state, setState] = useState('connecting');
  const [dropped, setDropped] = useState(0);
  const [error, setError] = useState<unknown>(null);
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const ctl = new AbortController();
    setLines([]);
    setDropped(0);
    setState('connecting');
    const q = `?tail=100${applied ? `&requestId=${encodeURIComponent(applied)}` : ''}`;
    let buffered: LogLine[] = [];
    let flush = 0;
    let retry: number | undefined;
    const again = () => {
      if (ctl.signal.aborted) return;
      setState('reconnecting');
      retry = window.setTimeout(open, 2_000);
    };
    const open = () => {
      buffered = [];
      readEvents(fnPath(props.name, `/logs/stream${q}`), ctl.signal, (type, data) => {
        if (type === 'dropped') { setDropped((d) => d + (JSON.parse(data) as { lines: number }).lines); return; }
        buffered.push(JSON.parse(data) as LogLine);
        // Lines that come together are drawn together (one render a frame).
        flush ||= requestAnimationFrame(() => {
          flush = 0;
          const add = buffered;
          buffered = [];
          setLines((ls) => { const next = ls.concat(add); return next.length > MAX_LINES ? next.slice(next.length - MAX_LINES) : next; });
        });
      }, () => {
        // Connected (200): the stream starts with the last lines kept, so what was shown goes.
        setLines([]);
        setError(null);
        setState('live');
      }).then(again, (e: Error) => {
        if (ctl.signal.aborted) return;
        setError(e);
        again();
      });
    };
    open();
    return () => { ctl.abort(); cancelAnimationFrame(flush); window.clearTimeout(retry); };
  }, [props.name, applied]);
  useEffect(() => { const el = box.current; if (el) el.scrollTop = el.scrollHeight; }, [lines]);
  return html`<section class="card" aria-labelledby="logs-title">
    <div class="row"><h2 id="logs-title">Live logs</h2><span class=${`pill ${state === 'live' ? 'warm' : 'cold'}`} data-testid="log-state">${state}</span>
      ${dropped > 0 ? html`<span class="bad">${dropped} lines skipped (this page read slower than they came)</span>` : null}</div>
    <form class="fields" onSubmit=${(e: Event) => { e.preventDefault(); setApplied(filter.trim()); }}>
      <div class="field grow"><label for="log-filter">Request id</label>
        <input id="log-filter" placeholder="all requests" value=${filter} onInput=${(e: Event) => setFilter((e.target as HTMLInputElement).value)} /></div>
      <div class="field buttons"><button type="submit">Filter</button>
        <button type="button" class="secondary" onClick=${() => { setFilter(''); setApplied(''); }}>Show all</button>
        <button type="button" class="secondary" onClick=${() => setLines([])}>Clear</button></div>
    </form>
    <${ErrorBox} error=${error} />
    <div class="logview" ref=${box} role="log" aria-live="polite" aria-label="Log lines" data-testid="live-logs" tabindex="0">
      ${lines.length === 0 ? html`<p class="muted">No lines yet: they appear here as the function writes them.</p>` : null}
      ${lines.map((l) => html`<div class=${`line ${l.stream}`}><time>${new Date(l.time).toISOString().slice(11, 23)}</time>
        <button type="button" class="link rid" title="filter by this request id" onClick=${() => { setFilter(l.requestId); setApplied(l.requestId); }}>${l.requestId.slice(0, 8)}</button>
        <span class="msg">${l.message}</span></div>`)}
    </div>
  </section>`;
}

function Graphs(props: { name: string }) {
  const { value, error } = usePoll(() => api<{ series: Series }>('GET', fnPath(props.name, '/stats')).then((r) => r.series), 5_000, [props.name]);
  const s = value;
  return html`<section class="card" aria-labelledby="graphs-title">
    <h2 id="graphs-title">The last minutes</h2>
    <${ErrorBox} error=${error} />
    ${s && s.t.length === 0 ? html`<p class="muted">No points yet: one comes every ${s.intervalMs / 1000} s while the function has calls.</p>` : null}
    ${s && s.t.length > 0 ? html`<div class="charts">
      <${Chart} title=${`Invocations and errors per ${s.intervalMs / 1000} s`} x=${s.t} ys=${[s.calls, s.errors]} series=${[{ label: 'calls', color: '#2b6cb0' }, { label: 'errors', color: '#c53030' }]} />
      <${Chart} title="Run time (ms)" x=${s.t} ys=${[s.p50Ms, s.p99Ms]} series=${[{ label: 'p50', color: '#2f855a', unit: ' ms' }, { label: 'p99', color: '#b7791f', unit: ' ms' }]} />
      <${Chart} title="Cold starts" x=${s.t} ys=${[s.coldStarts]} series=${[{ label: 'cold starts', color: '#6b46c1' }]} />
    </div>` : null}
  </section>`;
}

interface Instance { id: string; tier: string; state: string; version: string; inFlight: number; callsServed: number; ageMs: number; idleMs: number; memoryMb: number }

function Instances(props: { name: string }) {
  const { value, error } = usePoll(() => api<{ instances: Instance[] }>('GET', fnPath(props.name, '/instances')).then((r) => r.instances), 3_000, [props.name]);
  return html`<section class="card" aria-labelledby="inst-title">
    <h2 id="inst-title">Instances</h2>
    <${ErrorBox} error=${error} />
    ${value && value.length === 0 ? html`<p class="muted">None warm.</p>` : null}
    ${value && value.length > 0 ? html`<table class="grid"><thead><tr><th scope="col">Id</th><th scope="col">Tier</th><th scope="col">State</th><th scope="col">Version</th>
      <th scope="col" class="num">In flight</th><th scope="col" class="num">Calls</th><th scope="col" class="num">Age</th><th scope="col" class="num">Idle</th><th scope="col" class="num">Memory MiB</th></tr></thead>
      <tbody>${value.map((i) => html`<tr key=${i.id}><td><code>${String(i.id).slice(0, 12)}</code></td><td>${i.tier}</td><td>${i.state}</td><td>${i.version}</td>
        <td class="num">${i.inFlight}</td><td class="num">${i.callsServed}</td><td class="num">${ago(i.ageMs)}</td><td class="num">${ago(i.idleMs)}</td><td class="num">${ms(i.memoryMb)}</td></tr>`)}</tbody></table>` : null}
  </section>`;
}

interface Version { version: string; description: string; createdAt: string; digest: string }
interface Alias { name: string; version: string; additionalVersionWeights: Record<string, number>; description: string; minInstances?: number }

function AliasForm(props: { name: string; alias: Alias | null; versions: Version[]; onDone: () => void }) {
  const a = props.alias;
  const extra = a ? Object.entries(a.additionalVersionWeights ?? {})[0] : undefined;
  const [aliasName, setAliasName] = useState(a?.name ?? '');
  const [version, setVersion] = useState(a?.version ?? props.versions[props.versions.length - 1]?.version ?? '$LATEST');
  const [extraVersion, setExtraVersion] = useState(extra?.[0] ?? '');
  const [weight, setWeight] = useState(extra ? String(Math.round(extra[1] * 100)) : '0');
  const [error, setError] = useState<unknown>(null);
  const id = a ? `alias-${a.name}` : 'alias-new';
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!(e.target as HTMLFormElement).reportValidity()) return;
    const w = Number(weight) / 100;
    try {
      await api('PUT', fnPath(props.name, `/aliases/${encodeURIComponent(aliasName)}`), {
        version, ...(extraVersion && w > 0 ? { additionalVersionWeights: { [extraVersion]: w } } : { additionalVersionWeights: {} }),
        // What the form does not show stays as it was.
        ...(a?.description ? { description: a.description } : {}),
        ...(a?.minInstances ? { minInstances: a.minInstances } : {}),
      });
      setError(null);
      props.onDone();
    } catch (err) { setError(err); }
  };
  const options = ['$LATEST', ...props.versions.map((v) => v.version)];
  return html`<form class="fields alias" onSubmit=${submit} aria-label=${a ? `Alias ${a.name}` : 'New alias'}>
    ${a ? html`<div class="field"><span class="label">Alias</span><strong>${a.name}</strong></div>`
      : html`<div class="field"><label for=${`${id}-name`}>New alias</label><input id=${`${id}-name`} required pattern="[A-Za-z][A-Za-z0-9_\\-]{0,63}" value=${aliasName} onInput=${(e: Event) => setAliasName((e.target as HTMLInputElement).value)} /></div>`}
    <div class="field"><label for=${`${id}-version`}>Version</label>
      <select id=${`${id}-version`} value=${version} onChange=${(e: Event) => setVersion((e.target as HTMLSelectElement).value)}>${options.map((v) => html`<option value=${v}>${v}</option>`)}</select></div>
    <div class="field"><label for=${`${id}-extra`}>Also route to</label>
      <select id=${`${id}-extra`} value=${extraVersion} onChange=${(e: Event) => setExtraVersion((e.target as HTMLSelectElement).value)}><option value="">(no other version)</option>${props.versions.map((v) => html`<option value=${v.version}>${v.version}</option>`)}</select></div>
    <div class="field"><label for=${`${id}-weight`}>Its share (%)</label>
      <input id=${`${id}-weight`} type="number" min="0" max="99" step="1" value=${weight} onInput=${(e: Event) => setWeight((e.target as HTMLInputElement).value)} /></div>
    <div class="field buttons"><button type="submit">${a ? 'Move alias' : 'Create alias'}</button></div>
    <${ErrorBox} error=${error} />
  </form>`;
}

function Versions(props: { name: string }) {
  const { value, error, reload } = usePoll(async () => {
    const [v, a] = await Promise.all([
      api<{ versions: Version[] }>('GET', fnPath(props.name, '/versions')),
      api<{ aliases: Alias[] }>('GET', fnPath(props.name, '/aliases')),
    ]);
    // $LATEST comes first in the list; aliases route to published versions (or $LATEST itself).
    return { latest: v.versions.find((x) => x.version === '$LATEST') ?? null, versions: v.versions.filter((x) => x.version !== '$LATEST'), aliases: a.aliases };
  }, 10_000, [props.name]);
  const [err, setErr] = useState<unknown>(null);
  const [description, setDescription] = useState('');
  const publish = async (e: Event) => {
    e.preventDefault();
    try { await api('POST', fnPath(props.name, '/versions'), { description }); setDescription(''); setErr(null); reload(); } catch (x) { setErr(x); }
  };
  return html`<section class="card" aria-labelledby="versions-title">
    <h2 id="versions-title">Versions and aliases</h2>
    <${ErrorBox} error=${error ?? err} />
    <form class="fields" onSubmit=${publish} aria-label="Publish a version">
      <div class="field grow"><label for="publish-description">Description of the new version</label>
        <input id="publish-description" maxlength="256" value=${description} onInput=${(e: Event) => setDescription((e.target as HTMLInputElement).value)} /></div>
      <div class="field buttons"><button type="submit">Publish $LATEST</button></div>
    </form>
    ${value ? html`<table class="grid"><thead><tr><th scope="col">Version</th><th scope="col">Digest</th><th scope="col">Published</th><th scope="col">Description</th></tr></thead>
      <tbody>${[...(value.latest ? [value.latest] : []), ...value.versions].map((v) => html`<tr key=${v.version}><td>${v.version}</td><td><code>${v.digest.slice(0, 12)}</code></td><td>${v.version === '$LATEST' ? '(not published)' : new Date(v.createdAt).toLocaleString()}</td><td>${v.description ?? ''}</td></tr>`)}</tbody></table>
      <h3>Aliases</h3>
      ${value.aliases.length === 0 ? html`<p class="muted">No aliases.</p>` : null}
      <ul class="aliases">${value.aliases.map((a) => html`<li key=${a.name}>
        <p><strong>${a.name}</strong> → ${a.version}${Object.entries(a.additionalVersionWeights ?? {}).map(([v, w]) => html`, ${v} at ${Math.round(w * 100)}%`)}</p>
        <${AliasForm} key=${`${a.name}:${a.version}`} name=${props.name} alias=${a} versions=${value.versions} onDone=${reload} />
      </li>`)}</ul>
      <${AliasForm} key=${`new:${value.versions.length}`} name=${props.name} alias=${null} versions=${value.versions} onDone=${reload} />` : null}
  </section>`;
}

interface DeadLetter { requestId: string; status: string; attempts: unknown[]; error?: { errorType?: string; errorMessage?: string }; condition?: string; enqueuedAt: string; finishedAt?: string; redrives?: number }

function DeadLetters(props: { name: string }) {
  const { value, error, reload } = usePoll(() => api<{ deadLetters: DeadLetter[] }>('GET', fnPath(props.name, '/dead-letters')).then((r) => r.deadLetters), 5_000, [props.name]);
  const [err, setErr] = useState<unknown>(null);
  const [note, setNote] = useState('');
  const act = async (what: string, f: () => Promise<unknown>) => {
    try { await f(); setErr(null); setNote(what); reload(); } catch (x) { setErr(x); }
  };
  return html`<section class="card" aria-labelledby="dl-title">
    <div class="row"><h2 id="dl-title">Dead letters</h2>
      ${value && value.length > 0 ? html`<button type="button" onClick=${() => act('Redrove all', () => api('POST', fnPath(props.name, '/dead-letters/redrive')))}>Redrive all</button>` : null}
      <span role="status" class="muted">${note}</span></div>
    <${ErrorBox} error=${error ?? err} />
    ${value && value.length === 0 ? html`<p class="muted">None: async events that fail for good (retries spent, too old) land here.</p>` : null}
    ${value && value.length > 0 ? html`<table class="grid" data-testid="dead-letters"><thead><tr><th scope="col">Request</th><th scope="col">Queued</th><th scope="col" class="num">Attempts</th><th scope="col">Why</th><th scope="col">Actions</th></tr></thead>
      <tbody>${value.map((d) => {
        const e = d.error;
        return html`<tr key=${d.requestId}><td><code>${d.requestId}</code></td><td>${new Date(d.enqueuedAt).toLocaleString()}</td><td class="num">${d.attempts.length}</td>
          <td>${d.condition ? html`<span class="pill">${d.condition}</span> ` : null}${e ? `${e.errorType ?? ''}: ${e.errorMessage ?? ''}` : ''}</td>
          <td><button type="button" onClick=${() => act(`Redrove ${d.requestId}`, () => api('POST', fnPath(props.name, `/dead-letters/${encodeURIComponent(d.requestId)}/redrive`)))} aria-label=${`Redrive ${d.requestId}`}>Redrive</button>
            <button type="button" class="secondary" onClick=${() => act(`Discarded ${d.requestId}`, () => api('DELETE', fnPath(props.name, `/dead-letters/${encodeURIComponent(d.requestId)}`)))} aria-label=${`Discard ${d.requestId}`}>Discard</button></td></tr>`;
      })}</tbody></table>` : null}
  </section>`;
}

interface ScheduleView { name: string; cron: string; timezone: string; nextRun: string | null; lastRuns: { requestId: string; scheduledTime: string; status: string }[] }
interface TriggerView { name: string; type: string; state: string; lag: number | null; pending?: number | null; delivered?: number; lastError?: { message: string; at: string } | string | null; [k: string]: unknown }

function SchedulesAndTriggers(props: { name: string }) {
  const { value, error } = usePoll(async () => {
    const [s, t] = await Promise.all([
      api<{ schedules: ScheduleView[] }>('GET', fnPath(props.name, '/schedules')),
      api<{ triggers: TriggerView[] }>('GET', fnPath(props.name, '/triggers')),
    ]);
    return { schedules: s.schedules, triggers: t.triggers };
  }, 5_000, [props.name]);
  return html`<section class="card" aria-labelledby="st-title">
    <h2 id="st-title">Schedules and triggers</h2>
    <${ErrorBox} error=${error} />
    ${value && value.schedules.length === 0 && value.triggers.length === 0 ? html`<p class="muted">None. Add them under Settings.</p>` : null}
    ${value?.schedules.map((s) => html`<div key=${s.name}><h3>${s.name} <code>${s.cron}</code> (${s.timezone})</h3>
      <p>Next run: ${s.nextRun ? new Date(s.nextRun).toLocaleString() : '–'}</p>
      ${s.lastRuns.length > 0 ? html`<table class="grid"><thead><tr><th scope="col">Scheduled</th><th scope="col">Request</th><th scope="col">Status</th></tr></thead>
        <tbody>${s.lastRuns.slice().reverse().map((r) => html`<tr key=${r.requestId}><td>${r.scheduledTime}</td><td><code>${r.requestId.slice(0, 8)}</code></td><td class=${r.status === 'succeeded' || r.status === 'success' ? 'good' : r.status === 'running' ? '' : 'bad'}>${r.status}</td></tr>`)}</tbody></table>` : html`<p class="muted">No runs yet.</p>`}
    </div>`)}
    ${value && value.triggers.length > 0 ? html`<table class="grid"><thead><tr><th scope="col">Trigger</th><th scope="col">Type</th><th scope="col">State</th><th scope="col" class="num">Lag</th><th scope="col" class="num">Delivered</th><th scope="col">Last error</th></tr></thead>
      <tbody>${value.triggers.map((t) => html`<tr key=${t.name}><td>${t.name}</td><td>${t.type}</td><td class=${t.state === 'connected' ? 'good' : 'bad'}>${t.state}</td>
        <td class="num">${t.lag ?? '–'}</td><td class="num">${t.delivered ?? '–'}</td><td>${t.lastError ? (typeof t.lastError === 'string' ? t.lastError : t.lastError.message) : '–'}</td></tr>`)}</tbody></table>` : null}
  </section>`;
}

export function WatchTab(props: { name: string }) {
  return html`<div class="watch">
    <${LiveLogs} name=${props.name} />
    <${Graphs} name=${props.name} />
    <${Instances} name=${props.name} />
    <${Versions} name=${props.name} />
    <${DeadLetters} name=${props.name} />
    <${SchedulesAndTriggers} name=${props.name} />
  </div>`;
}
