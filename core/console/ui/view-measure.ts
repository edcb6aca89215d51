// Measure (the Test tab): the same measurement as `hearth bench`, run by Hearth on itself in a
// worker thread (POST /v1/functions/{name}/bench): cold calls, warm calls at a concurrency, for an
// event or a web path; a progress bar while it runs (GET polled), then the picture (the SVG Hearth
// drew, shown as an image: it runs nothing) and the table. A run started elsewhere (another tab)
// shows here too: the function's last run is read when the panel opens.

import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { BenchResult, PhaseSummary, Progress } from '../../measure/types.js';
import { api, ApiError, fnPath } from './api.js';
import { ErrorBox, ms, pct } from './kit.js';

interface Run {
  /** none: no run of this function is kept. */
  state: 'none' | 'running' | 'done' | 'stopped' | 'failed';
  startedAt: string;
  progress: Progress | null;
  error: { errorType: string; errorMessage: string } | null;
  result: BenchResult | null;
  svg: string | null;
}

const POLL_MS = 400;

function progressText(p: Progress | null): string {
  if (p === null) return 'starting…';
  if (p.phase === 'baseline') return 'measuring the load generator against a bare echo…';
  const of = p.total !== null ? ` of ${p.total}` : '';
  return `${p.phase} calls to ${p.target}: ${p.done}${of} (${(p.elapsedMs / 1000).toFixed(1)} s)`;
}

function Row(props: { target: string; phase: 'cold' | 'warm'; s: PhaseSummary }) {
  const s = props.s;
  const errors = Object.entries(s.errors).map(([k, n]) => `${k} ${n}`).join(', ');
  return html`<tr>
    <td>${props.target}</td><td><span class=${`pill ${props.phase}`}>${props.phase}</span></td>
    <td class="num">${s.calls}</td><td class=${`num ${errors ? 'bad' : ''}`}>${errors || '0'}</td>
    <td class="num">${ms(s.latency.p50)}</td><td class="num">${ms(s.latency.p90)}</td><td class="num">${ms(s.latency.p99)}</td><td class="num">${ms(s.latency.max)}</td>
    <td class="num">${s.throughput === null ? '–' : Math.round(s.throughput)}</td>
    <td class="num">${ms(s.init.p50)}</td><td class="num">${ms(s.queue.p50)}</td><td class="num">${ms(s.run.p50)}</td>
    <td class="num">${pct(s.coldShare)}</td>
  </tr>`;
}

function Table(props: { result: BenchResult }) {
  const r = props.result;
  return html`<table class="grid" data-testid="measure-table">
    <thead><tr><th>target</th><th>phase</th><th class="num">calls</th><th class="num">errors</th>
      <th class="num">p50 ms</th><th class="num">p90 ms</th><th class="num">p99 ms</th><th class="num">max ms</th><th class="num">calls/s</th>
      <th class="num">init p50</th><th class="num">queue p50</th><th class="num">run p50</th><th class="num">cold</th></tr></thead>
    <tbody>${r.targets.flatMap((t) => [
      t.cold.calls > 0 ? html`<${Row} target=${t.target} phase="cold" s=${t.cold} />` : null,
      t.warm.calls > 0 ? html`<${Row} target=${t.target} phase="warm" s=${t.warm} />` : null,
    ])}</tbody>
  </table>
  ${r.overhead ? html`<p class="note">The load generator alone (a bare uWebSockets.js echo, concurrency ${r.overhead.concurrency}): p50 ${ms(r.overhead.latency.p50)} ms, ${Math.round(r.overhead.throughput)} calls/s. Latencies are client side, from a worker thread of this Hearth: they include its HTTP handling.</p>` : null}`;
}

/** `payload`: the event's JSON text (invoke) or the body (web); `web`: the web path, or null for invoke. */
export function MeasurePanel(props: { name: string; qualifier: string; payload: string; web: string | null }) {
  const [cold, setCold] = useState(10);
  const [warm, setWarm] = useState(1000);
  const [concurrency, setConcurrency] = useState(8);
  const [run, setRun] = useState<Run | null>(null);
  const [error, setError] = useState<unknown>(null);
  const timer = useRef<number | undefined>(undefined);
  const alive = useRef(true);

  const follow = () => {
    window.clearTimeout(timer.current);
    api<Run>('GET', fnPath(props.name, '/bench')).then((r) => {
      if (!alive.current) return;
      setRun(r.state === 'none' ? null : r);
      if (r.state === 'running') timer.current = window.setTimeout(follow, POLL_MS);
    }, (e: unknown) => { if (alive.current) setError(e); });
  };
  // The function's last run, if any (one may be running from another tab).
  useEffect(() => {
    alive.current = true;
    setRun(null);
    follow();
    return () => { alive.current = false; window.clearTimeout(timer.current); };
  }, [props.name]);

  const start = async (e: Event) => {
    e.preventDefault();
    setError(null);
    let payload: unknown;
    if (props.web === null) {
      try { payload = JSON.parse(props.payload); } catch (err) {
        return setError(new ApiError(0, 'InvalidPayload', `the payload is not JSON: ${(err as Error).message}`));
      }
    } else payload = props.payload;
    try {
      const r = await api<Run>('POST', fnPath(props.name, '/bench'), {
        cold, warm, concurrency, payload, ...(props.qualifier ? { qualifier: props.qualifier } : {}), ...(props.web !== null ? { web: props.web } : {}),
      });
      setRun(r);
      timer.current = window.setTimeout(follow, POLL_MS);
    } catch (err) { setError(err); }
  };
  const stop = async () => {
    try { await api('DELETE', fnPath(props.name, '/bench')); } catch (err) { setError(err); }
  };

  const running = run?.state === 'running';
  const p = run?.progress ?? null;
  const num = (set: (n: number) => void) => (e: Event) => set(Number((e.target as HTMLInputElement).value));
  return html`<section class="card measure" aria-labelledby="measure-title">
    <h2 id="measure-title">Measure</h2>
    <p class="note">Cold calls each on a fresh instance, then warm calls at a concurrency: latency percentiles, throughput, errors and the init / queue / run split, as <code>hearth bench</code> reports them. Hearth runs it on itself, one measurement at a time${props.web !== null ? `, on the web path ${props.web}` : ', with the payload above'}.</p>
    <form onSubmit=${start} aria-label="Measure">
      <div class="fields">
        <div class="field"><label for="bench-cold">Cold calls</label><input id="bench-cold" type="number" min="0" max="100" value=${cold} onInput=${num(setCold)} /></div>
        <div class="field"><label for="bench-warm">Warm calls</label><input id="bench-warm" type="number" min="0" max="100000" value=${warm} onInput=${num(setWarm)} /></div>
        <div class="field"><label for="bench-concurrency">Concurrency</label><input id="bench-concurrency" type="number" min="1" max="256" value=${concurrency} onInput=${num(setConcurrency)} /></div>
        <div class="field buttons"><button type="submit" disabled=${running}>Measure</button>
          ${running ? html`<button type="button" class="secondary" onClick=${stop}>Stop</button>` : null}</div>
      </div>
    </form>
    <${ErrorBox} error=${error} />
    ${running ? html`<div class="measure-progress" data-testid="measure-progress">
      <progress max=${p?.total ?? undefined} value=${p?.total ? p.done : undefined} aria-label="Measurement progress"></progress>
      <span class="note">${progressText(p)}</span></div>` : null}
    ${run?.error ? html`<div class="error" role="alert"><strong>${run.error.errorType}</strong>: ${run.error.errorMessage}</div>` : null}
    ${run && !running && run.result ? html`<div data-testid="measure-result" aria-live="polite">
      ${run.state === 'stopped' ? html`<p class="note">Stopped before the end: the figures are of the calls made until then.</p>` : null}
      ${run.svg ? html`<img class="measure-picture" data-testid="measure-picture" alt="Latency CDF of cold against warm calls, and the init / queue / run split"
        src=${`data:image/svg+xml;charset=utf-8,${encodeURIComponent(run.svg)}`} />` : null}
      <${Table} result=${run.result} />
      <p class="note">Started ${run.startedAt}. The same run from a shell: <code>hearth bench ${props.name}${props.qualifier ? `:${props.qualifier}` : ''} --cold ${run.result.settings.cold} --warm ${run.result.settings.warm} --concurrency ${run.result.settings.concurrency}${run.result.settings.web !== null ? ` --web /${run.result.settings.web}` : ''} --svg bench.svg</code></p>
    </div>` : null}
  </section>`;
}
