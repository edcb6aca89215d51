// A function's settings as a form: the browser checks each field's range first (the same bounds
// as the spec's), then Hearth checks the whole spec on deploy and each problem it finds is shown
// next to its field (matched by the problem's path, e.g. "schedules.0.cron").

import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api, ApiError, fnPath, type Problem } from './api.js';
import { ErrorBox } from './kit.js';
import { specOf } from './view-function.js';

interface Schedule { name?: string; cron: string; timezone?: string; message?: string }
type Trigger = Record<string, string | number | undefined> & { type: string };

interface NumberField { key: string; label: string; min: number; max: number; hint: string; containerOnly?: boolean }
const NUMBERS: NumberField[] = [
  { key: 'memoryMb', label: 'Memory (MiB)', min: 16, max: 8192, hint: 'the isolate\'s heap limit, or the container\'s memory' },
  { key: 'timeoutMs', label: 'Timeout (ms)', min: 1, max: 900_000, hint: 'a call running longer is stopped (504)' },
  { key: 'concurrency', label: 'Concurrency', min: 1, max: 1_000, hint: 'calls one instance runs at once' },
  { key: 'minInstances', label: 'Min instances', min: 0, max: 1_000, hint: 'kept warm (reserved) at all times' },
  { key: 'maxInstances', label: 'Max instances', min: 1, max: 1_000, hint: 'scale-up stops here; calls past it wait, then 429' },
  { key: 'keepAliveMs', label: 'Keep alive (ms)', min: 0, max: 86_400_000, hint: 'how long an idle instance stays warm' },
  { key: 'maxRetries', label: 'Async retries', min: 0, max: 10, hint: 'retries of an async event after a function error' },
];

/** The fields a trigger of each type has, after type and name. */
const TRIGGER_FIELDS: Record<string, { key: string; label: string; required?: boolean; placeholder?: string }[]> = {
  redis: [{ key: 'url', label: 'URL', required: true, placeholder: 'redis://127.0.0.1:6379' }, { key: 'stream', label: 'Stream', required: true }, { key: 'group', label: 'Group', placeholder: 'hearth' }],
  nats: [{ key: 'url', label: 'URL', required: true, placeholder: 'nats://127.0.0.1:4222' }, { key: 'stream', label: 'Stream', required: true }, { key: 'consumer', label: 'Consumer', placeholder: 'hearth' }, { key: 'subject', label: 'Subject' }],
  amqp: [{ key: 'url', label: 'URL', required: true, placeholder: 'amqp://127.0.0.1:5672' }, { key: 'queue', label: 'Queue', required: true }],
};

/**
 * Each problem's message by the id of the field it is about: its path, except an env variable's
 * ("env.NAME"), which goes to the row holding that name.
 */
function problemsByPath(problems: Problem[], env: [string, string][]): Map<string, string> {
  const m = new Map<string, string>();
  for (const p of problems) {
    if (p.path === undefined) continue;
    let id = p.path;
    if (id.startsWith('env.')) {
      const row = env.findIndex(([k]) => k === id.slice(4));
      if (row >= 0) id = `env.${row}.name`;
    }
    m.set(id, m.has(id) ? `${m.get(id)}; ${p.message}` : p.message);
  }
  return m;
}

function FieldError(props: { id: string; message: string | undefined }) {
  return props.message ? html`<span class="field-error" id=${`${props.id}-error`}>${props.message}</span>` : null;
}

const describedBy = (id: string, errors: Map<string, string>, hint = false) =>
  [errors.has(id) ? `${id}-error` : '', hint ? `${id}-hint` : ''].filter(Boolean).join(' ') || undefined;

export function SettingsForm(props: { name: string; view: Record<string, unknown>; onDeployed: () => void }) {
  const v = props.view;
  const [nums, setNums] = useState<Record<string, string>>(Object.fromEntries(NUMBERS.map((f) => [f.key, v[f.key] === undefined ? '' : String(v[f.key])])));
  const [env, setEnv] = useState<[string, string][]>(Object.entries((v.env as Record<string, string>) ?? {}));
  const [egress, setEgress] = useState(((v.egress as { allow?: string[] })?.allow ?? []).join('\n'));
  const [schedules, setSchedules] = useState<Schedule[]>((v.schedules as Schedule[]) ?? []);
  const [triggers, setTriggers] = useState<Trigger[]>((v.triggers as Trigger[]) ?? []);
  const [errors, setErrors] = useState<Map<string, string>>(new Map());
  const [error, setError] = useState<unknown>(null);
  const [status, setStatus] = useState('');
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (!(e.target as HTMLFormElement).reportValidity()) return;
    const spec = specOf(v);
    for (const f of NUMBERS) {
      if (nums[f.key] === '') delete spec[f.key];
      else spec[f.key] = Number(nums[f.key]);
    }
    spec.env = Object.fromEntries(env.filter(([k]) => k !== ''));
    spec.egress = { allow: egress.split('\n').map((s) => s.trim()).filter(Boolean) };
    spec.schedules = schedules.map((s) => Object.fromEntries(Object.entries(s).filter(([, x]) => x !== '' && x !== undefined)));
    spec.triggers = triggers.map((t) => Object.fromEntries(Object.entries(t).filter(([, x]) => x !== '' && x !== undefined)));
    // The code stays as it is: the configuration alone goes (PUT …/configuration), and only onto the
    // $LATEST this page loaded (If-Match), so a change made elsewhere meanwhile is not undone.
    delete spec.code;
    setBusy(true);
    setErrors(new Map());
    setError(null);
    setStatus('Deploying…');
    try {
      const r = await api('PUT', fnPath(props.name, '/configuration'), spec, { 'if-match': `"${String(v.digest)}"` });
      setStatus(`Saved and deployed (${String(r.digest).slice(0, 12)}) at ${new Date().toLocaleTimeString()}`);
      props.onDeployed();
    } catch (err) {
      setStatus('');
      setError(err);
      if (err instanceof ApiError) setErrors(problemsByPath(err.problems, env));
    } finally {
      setBusy(false);
    }
  };

  const num = (f: NumberField) => html`<div class="field">
    <label for=${f.key}>${f.label}</label>
    <input id=${f.key} type="number" inputmode="numeric" min=${f.min} max=${f.max} step="1" value=${nums[f.key]}
      aria-invalid=${errors.has(f.key) ? 'true' : null} aria-describedby=${describedBy(f.key, errors, true)}
      onInput=${(e: Event) => setNums({ ...nums, [f.key]: (e.target as HTMLInputElement).value })} />
    <span class="hint" id=${`${f.key}-hint`}>${f.hint} (${f.min}–${f.max})</span>
    <${FieldError} id=${f.key} message=${errors.get(f.key)} />
  </div>`;

  const text = (id: string, label: string, value: string | undefined, set: (v: string) => void, opts: { required?: boolean; placeholder?: string } = {}) => html`<div class="field">
    <label for=${id}>${label}</label>
    <input id=${id} value=${value ?? ''} required=${opts.required ?? false} placeholder=${opts.placeholder ?? ''}
      aria-invalid=${errors.has(id) ? 'true' : null} aria-describedby=${describedBy(id, errors)}
      onInput=${(e: Event) => set((e.target as HTMLInputElement).value)} />
    <${FieldError} id=${id} message=${errors.get(id)} />
  </div>`;

  return html`<form class="settings" onSubmit=${submit} aria-label="Settings" novalidate=${false}>
    <fieldset><legend>Resources and scaling</legend><div class="fields">${NUMBERS.map(num)}</div></fieldset>

    <fieldset><legend>Environment</legend>
      <${FieldError} id="env" message=${errors.get('env')} />
      ${env.map(([k, val], i) => html`<div class="fields" key=${i}>
        ${text(`env.${i}.name`, `Variable ${i + 1} name`, k, (x) => setEnv(env.map((p, j) => (j === i ? [x, p[1]] : p))), { required: true })}
        ${text(`env.${i}.value`, `Variable ${i + 1} value`, val, (x) => setEnv(env.map((p, j) => (j === i ? [p[0], x] : p))))}
        <button type="button" class="secondary" onClick=${() => setEnv(env.filter((_, j) => j !== i))}>Remove variable ${i + 1}</button>
      </div>`)}
      <button type="button" class="secondary" onClick=${() => setEnv([...env, ['', '']])}>Add variable</button>
    </fieldset>

    <fieldset><legend>Egress</legend>
      <div class="field"><label for="egress.allow">Hosts the function may fetch, one a line</label>
        <textarea id="egress.allow" rows="3" value=${egress} placeholder=${'api.example.com\n*.example.org:8443'}
          aria-invalid=${errors.has('egress.allow') ? 'true' : null} aria-describedby=${describedBy('egress.allow', errors)}
          onInput=${(e: Event) => setEgress((e.target as HTMLTextAreaElement).value)}></textarea>
        <${FieldError} id="egress.allow" message=${errors.get('egress.allow')} /></div>
    </fieldset>

    <fieldset><legend>Schedules</legend>
      ${schedules.map((s, i) => {
        const set = (k: keyof Schedule) => (x: string) => setSchedules(schedules.map((o, j) => (j === i ? { ...o, [k]: x } : o)));
        return html`<div class="fields" key=${i}>
          ${text(`schedules.${i}.name`, `Schedule ${i + 1} name`, s.name, set('name'))}
          ${text(`schedules.${i}.cron`, `Schedule ${i + 1} cron`, s.cron, set('cron'), { required: true, placeholder: '*/5 * * * *' })}
          ${text(`schedules.${i}.timezone`, `Schedule ${i + 1} time zone`, s.timezone, set('timezone'), { placeholder: 'UTC' })}
          <button type="button" class="secondary" onClick=${() => setSchedules(schedules.filter((_, j) => j !== i))}>Remove schedule ${i + 1}</button>
        </div>`;
      })}
      <button type="button" class="secondary" onClick=${() => setSchedules([...schedules, { cron: '' }])}>Add schedule</button>
    </fieldset>

    <fieldset><legend>Queue triggers</legend>
      ${triggers.map((t, i) => {
        const set = (k: string) => (x: string) => setTriggers(triggers.map((o, j) => (j === i ? { ...o, [k]: x } : o)));
        return html`<div class="fields" key=${i}>
          <div class="field"><label for=${`triggers.${i}.type`}>Trigger ${i + 1} type</label>
            <select id=${`triggers.${i}.type`} value=${t.type} onChange=${(e: Event) => setTriggers(triggers.map((o, j) => (j === i ? { type: (e.target as HTMLSelectElement).value, name: o.name } : o)))}>
              <option value="redis">Redis Streams</option><option value="nats">NATS JetStream</option><option value="amqp">AMQP (RabbitMQ)</option>
            </select></div>
          ${text(`triggers.${i}.name`, `Trigger ${i + 1} name`, t.name as string | undefined, set('name'))}
          ${(TRIGGER_FIELDS[t.type] ?? []).map((f) => text(`triggers.${i}.${f.key}`, `Trigger ${i + 1} ${f.label.toLowerCase()}`, t[f.key] as string | undefined, set(f.key), f))}
          <button type="button" class="secondary" onClick=${() => setTriggers(triggers.filter((_, j) => j !== i))}>Remove trigger ${i + 1}</button>
        </div>`;
      })}
      <button type="button" class="secondary" onClick=${() => setTriggers([...triggers, { type: 'redis' }])}>Add trigger</button>
    </fieldset>

    <div class="row"><button type="submit" disabled=${busy}>Save and deploy</button><span role="status" class="muted">${status}</span></div>
    <${ErrorBox} error=${error} />
  </form>`;
}
