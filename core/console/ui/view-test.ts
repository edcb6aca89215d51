// Test: invoke the function with a JSON payload (sent as JSON, or as msgpack bytes), with saved
// named payloads kept by Hearth per function; the result, the status, cold or warm and the
// init/queue/run figures (the same line `hearth invoke` prints: core/timing-line.ts) and the call's
// log tail. "Force cold" (admins) makes the call start a new instance. For web functions (and any
// function, through the Lambda function URL contract), a request builder sends an HTTP request.
// Under them, Measure (view-measure.ts) runs `hearth bench`'s measurement with the same inputs.

import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { pack, unpack } from 'msgpackr';
import { api, ApiError, fnPath, invokeToken, request, type Session } from './api.js';
import { ErrorBox, usePoll } from './kit.js';
import { MeasurePanel } from './view-measure.js';
import { callTiming, timingLine, type CallTiming } from '../../timing-line.js';

interface Saved { name: string; encoding: 'json' | 'msgpack'; body: string; savedAt: string }

interface Outcome {
  status: number;
  timing: CallTiming | null;
  functionError: string | null;
  body: string;
  contentType: string;
  logs: string;
  headers?: [string, string][];
}

const decodeTail = (h: Headers): string => {
  const b64 = h.get('x-hearth-log-result');
  if (!b64) return '';
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
};

function pretty(bytes: Uint8Array, contentType: string): string {
  if (contentType.includes('msgpack')) {
    try { return JSON.stringify(unpack(bytes), null, 2); } catch { /* shown as text below */ }
  }
  const text = new TextDecoder().decode(bytes);
  if (contentType.includes('json')) {
    try { return JSON.stringify(JSON.parse(text), null, 2); } catch { /* as it came */ }
  }
  return text;
}

/** What a call answered, as the Result shows it; `withHeaders`: a web call's (its headers are its answer too). */
async function outcomeOf(res: Response, withHeaders: boolean): Promise<Outcome> {
  const bytes = new Uint8Array(await res.arrayBuffer());
  const contentType = res.headers.get('content-type') ?? '';
  return {
    status: res.status,
    timing: res.headers.get('x-hearth-request-id') ? callTiming(res.headers) : null,
    functionError: res.headers.get('x-hearth-function-error'),
    body: pretty(bytes, contentType), contentType, logs: decodeTail(res.headers),
    ...(withHeaders ? { headers: [...res.headers.entries()] } : {}),
  };
}

/** Looks like a Workers module (export default { fetch }): the request builder comes first. */
const looksWeb = (source: string | null) => source !== null && /export\s+default\s*\{[\s\S]*\bfetch\b/.test(source);

function Result(props: { outcome: Outcome | null; error: unknown }) {
  const o = props.outcome;
  if (props.error) return html`<${ErrorBox} error=${props.error} />`;
  if (!o) return null;
  const t = o.timing;
  return html`<section class="result card" aria-labelledby="result-title" aria-live="polite">
    <h2 id="result-title">Result</h2>
    <dl class="figures">
      <div><dt>Status</dt><dd data-testid="status" class=${o.status >= 400 || o.functionError ? 'bad' : 'good'}>${o.status}${o.functionError ? ` (function error: ${o.functionError})` : ''}</dd></div>
      ${t ? html`
        <div><dt>Start</dt><dd data-testid="cold"><span class=${t.cold ? 'pill cold' : 'pill warm'}>${t.cold ? 'cold' : 'warm'}</span></dd></div>
        <div><dt>Init</dt><dd>${t.initMs} ms</dd></div>
        <div><dt>Queue</dt><dd>${t.queueMs} ms</dd></div>
        <div><dt>Run</dt><dd>${t.durationMs} ms</dd></div>
        <div><dt>Version</dt><dd>${t.version}</dd></div>` : null}
    </dl>
    ${t ? html`<p class="timing"><code data-testid="timing-line">${timingLine(t)}</code></p>` : null}
    ${o.headers ? html`<details><summary>Response headers</summary><pre>${o.headers.map(([k, v]) => `${k}: ${v}`).join('\n')}</pre></details>` : null}
    <h3>Body</h3>
    <pre data-testid="result-body" class="body">${o.body}</pre>
    <h3>Log tail</h3>
    <pre data-testid="log-tail" class="logs">${o.logs || '(no log lines)'}</pre>
  </section>`;
}

export function TestTab(props: { name: string; view: Record<string, unknown>; session: Session }) {
  const name = props.name;
  const [mode, setMode] = useState<'event' | 'web'>('event');
  const [payload, setPayload] = useState('{\n  "name": "Hearth"\n}');
  const [encoding, setEncoding] = useState<'json' | 'msgpack'>('json');
  const [qualifier, setQualifier] = useState('');
  const [forceCold, setForceCold] = useState(false);
  const [saveAs, setSaveAs] = useState('');
  const [chosen, setChosen] = useState('');
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [callToken, setCallToken] = useState(invokeToken.get() ?? '');
  const [webReq, setWebReq] = useState({ method: 'GET', path: '/', headers: 'accept: application/json', body: '' });
  const saved = usePoll(() => api<{ payloads: Saved[] }>('GET', fnPath(name, '/test-payloads')).then((r) => r.payloads), 0, [name]);

  useEffect(() => {
    api<{ source: string }>('GET', fnPath(name, '/code')).then((c) => { if (looksWeb(c.source)) setMode('web'); }, () => undefined);
  }, [name]);

  const invoke = async (e: Event) => {
    e.preventDefault();
    setError(null);
    let body: Uint8Array;
    try {
      const value = JSON.parse(payload) as unknown;
      body = encoding === 'msgpack' ? pack(value) : new TextEncoder().encode(JSON.stringify(value));
    } catch (err) {
      setError(new ApiError(0, 'InvalidPayload', `the payload is not JSON: ${(err as Error).message}`));
      return;
    }
    setBusy(true);
    try {
      const q = qualifier ? `?qualifier=${encodeURIComponent(qualifier)}` : '';
      const res = await request('POST', fnPath(name, `/invoke${q}`), {
        call: true,
        body: body as Uint8Array<ArrayBuffer>,
        headers: {
          'content-type': encoding === 'msgpack' ? 'application/msgpack' : 'application/json',
          accept: encoding === 'msgpack' ? 'application/msgpack' : 'application/json',
          'x-hearth-log-type': 'Tail',
          ...(forceCold ? { 'x-hearth-force-cold': 'true' } : {}),
        },
      });
      setOutcome(await outcomeOf(res, false));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const sendWeb = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setBusy(true);
    try {
      const headers: Record<string, string> = { 'x-hearth-log-type': 'Tail' };
      for (const line of webReq.headers.split('\n')) {
        const i = line.indexOf(':');
        if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      const path = webReq.path.startsWith('/') ? webReq.path : `/${webReq.path}`;
      const target = `/v1/web/${encodeURIComponent(name)}${qualifier ? `:${encodeURIComponent(qualifier)}` : ''}${path}`;
      const res = await request(webReq.method, target, { call: true, headers, ...(webReq.method !== 'GET' && webReq.method !== 'HEAD' && webReq.body !== '' ? { body: webReq.body } : {}) });
      setOutcome(await outcomeOf(res, true));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const save = async () => {
    if (!saveAs.trim()) return setError(new ApiError(0, 'InvalidName', 'give the payload a name to save it under'));
    try {
      JSON.parse(payload);
      await api('PUT', fnPath(name, `/test-payloads/${encodeURIComponent(saveAs.trim())}`), { encoding, body: payload });
      setChosen(saveAs.trim());
      saved.reload();
      setError(null);
    } catch (err) {
      setError(err instanceof SyntaxError ? new ApiError(0, 'InvalidPayload', `the payload is not JSON: ${err.message}`) : err);
    }
  };
  const choose = (n: string) => {
    setChosen(n);
    const p = saved.value?.find((s) => s.name === n);
    if (p) { setPayload(p.body); setEncoding(p.encoding); setSaveAs(p.name); }
  };
  const remove = async () => {
    if (!chosen) return;
    try {
      await api('DELETE', fnPath(name, `/test-payloads/${encodeURIComponent(chosen)}`));
      setChosen('');
      saved.reload();
    } catch (err) { setError(err); }
  };

  // With an invoke token and no admin token, calls need the invoke token (management calls need none).
  const needsInvokeToken = props.session.invokeTokenRequired && !props.session.adminTokenRequired;
  const common = html`
    ${needsInvokeToken ? html`<div class="field"><label for="invoke-token">Invoke token</label>
      <input id="invoke-token" type="password" autocomplete="off" value=${callToken} aria-describedby="invoke-token-hint"
        onInput=${(e: Event) => { const v = (e.target as HTMLInputElement).value; setCallToken(v); invokeToken.set(v); }} />
      <span class="hint" id="invoke-token-hint">HEARTH_INVOKE_TOKEN; kept in this tab's session storage</span></div>` : null}
    <div class="field"><label for="qualifier">Version or alias</label>
      <input id="qualifier" placeholder="$LATEST" value=${qualifier} onInput=${(e: Event) => setQualifier((e.target as HTMLInputElement).value)} /></div>`;

  return html`<div class="test">
    <div class="segmented" role="radiogroup" aria-label="Kind of call">
      <label><input type="radio" name="mode" checked=${mode === 'event'} onChange=${() => setMode('event')} /> Invoke with an event</label>
      <label><input type="radio" name="mode" checked=${mode === 'web'} onChange=${() => setMode('web')} /> Web request</label>
    </div>
    ${mode === 'event' ? html`<form class="card" onSubmit=${invoke} aria-label="Invoke">
      <div class="fields">
        <div class="field"><label for="saved">Saved payloads</label>
          <select id="saved" value=${chosen} onChange=${(e: Event) => choose((e.target as HTMLSelectElement).value)}>
            <option value="">(choose one)</option>
            ${(saved.value ?? []).map((p) => html`<option value=${p.name}>${p.name} (${p.encoding})</option>`)}
          </select></div>
        <div class="field"><label for="save-as">Save as</label>
          <input id="save-as" value=${saveAs} maxlength="64" onInput=${(e: Event) => setSaveAs((e.target as HTMLInputElement).value)} /></div>
        <div class="field buttons"><button type="button" class="secondary" onClick=${save}>Save payload</button>
          <button type="button" class="secondary" disabled=${!chosen} onClick=${remove}>Delete saved</button></div>
      </div>
      <div class="field"><label for="payload">Payload (JSON)</label>
        <textarea id="payload" class="mono" rows="8" spellcheck="false" value=${payload} onInput=${(e: Event) => setPayload((e.target as HTMLTextAreaElement).value)}></textarea></div>
      <div class="fields">
        <div class="field"><label for="encoding">Send as</label>
          <select id="encoding" value=${encoding} onChange=${(e: Event) => setEncoding((e.target as HTMLSelectElement).value as 'json' | 'msgpack')}>
            <option value="json">JSON (application/json)</option><option value="msgpack">msgpack (application/msgpack)</option>
          </select></div>
        ${common}
        <div class="field check"><input id="force-cold" type="checkbox" checked=${forceCold} onChange=${(e: Event) => setForceCold((e.target as HTMLInputElement).checked)} />
          <label for="force-cold">Force cold (admin): start a new instance for this call</label></div>
      </div>
      <button type="submit" disabled=${busy}>Invoke</button>
    </form>` : html`<form class="card" onSubmit=${sendWeb} aria-label="Web request">
      <div class="fields">
        <div class="field"><label for="web-method">Method</label>
          <select id="web-method" value=${webReq.method} onChange=${(e: Event) => setWebReq({ ...webReq, method: (e.target as HTMLSelectElement).value })}>
            ${['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'].map((m) => html`<option value=${m}>${m}</option>`)}
          </select></div>
        <div class="field grow"><label for="web-path">Path and query</label>
          <input id="web-path" value=${webReq.path} onInput=${(e: Event) => setWebReq({ ...webReq, path: (e.target as HTMLInputElement).value })} /></div>
        ${common}
      </div>
      <div class="field"><label for="web-headers">Headers (one "name: value" a line)</label>
        <textarea id="web-headers" class="mono" rows="3" spellcheck="false" value=${webReq.headers} onInput=${(e: Event) => setWebReq({ ...webReq, headers: (e.target as HTMLTextAreaElement).value })}></textarea></div>
      <div class="field"><label for="web-body">Body</label>
        <textarea id="web-body" class="mono" rows="5" spellcheck="false" value=${webReq.body} onInput=${(e: Event) => setWebReq({ ...webReq, body: (e.target as HTMLTextAreaElement).value })}></textarea></div>
      <button type="submit" disabled=${busy}>Send</button>
    </form>`}
    <${Result} outcome=${outcome} error=${error} />
    <${MeasurePanel} name=${name} qualifier=${qualifier} payload=${mode === 'web' ? webReq.body : payload} web=${mode === 'web' ? webReq.path : null} />
  </div>`;
}
