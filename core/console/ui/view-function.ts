// One function: its tabs (Code, Settings, Test, Watch), or the form that creates one. Code: the
// editor and Deploy, with a deploy's compile errors at their lines; Settings: the spec as a form,
// checked by the browser first and by Hearth on deploy (each problem next to its field).

import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, fnPath, type Problem, type Session } from './api.js';
import type { CodeEditor } from './editor.js';
import { ErrorBox, href, TABS, type Tab } from './kit.js';
import { SettingsForm } from './view-settings.js';
import { TestTab } from './view-test.js';
import { WatchTab } from './view-watch.js';

export type Spec = Record<string, unknown> & { runtime: string; handler?: string; code?: Record<string, unknown> };

/** The view's fields that are not the spec's (GET answers them; PUT would refuse them). */
const VIEW_ONLY = ['name', 'version', 'digest', 'codeDigest', 'codeSize', 'imageId', 'origin', 'createdAt', 'updatedAt', 'broken', 'reason'];

export function specOf(view: Record<string, unknown>): Spec {
  const spec: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(view)) if (!VIEW_ONLY.includes(k)) spec[k] = v;
  return spec as Spec;
}

const TEMPLATES: Record<string, { handler: string; filename: string; source: string }> = {
  js: {
    handler: 'index.handler',
    filename: 'index.js',
    source: `// An event function: the payload comes in as \`event\`; what it returns is the result.
export async function handler(event, context) {
  console.log('hello from', context.functionName, 'request', context.requestId);
  return { hello: event.name ?? 'world' };
}
`,
  },
  python3: {
    handler: 'index.main_handler',
    filename: 'index.py',
    source: `# An event function: the payload comes in as \`event\`; what it returns is the result.
def main_handler(event, context):
    print("hello from", context.function_name)
    return {"hello": event.get("name", "world")}
`,
  },
};

const TAB_LABEL: Record<Tab, string> = { code: 'Code', settings: 'Settings', test: 'Test', watch: 'Watch' };

export function FunctionPage(props: { name: string | null; tab: Tab; session: Session }) {
  const [view, setView] = useState<Record<string, unknown> | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = () => {
    if (props.name === null) return;
    api('GET', fnPath(props.name)).then((v) => { setView(v); setError(null); }, setError);
  };
  useEffect(load, [props.name]);
  if (props.name === null) return html`<${CodeTab} name=${null} view=${null} onDeployed=${() => undefined} />`;
  const name = props.name;
  return html`<section aria-labelledby="fn-title">
    <div class="row"><h1 id="fn-title">${name}</h1>${view ? html`<span class="pill">${String(view.runtime)}</span><span class="muted" title="the version digest">${String(view.digest ?? '').slice(0, 12)}</span>` : null}</div>
    <nav class="tabs" aria-label="Function">
      ${TABS.map((t) => html`<a href=${href(name, t)} aria-current=${props.tab === t ? 'page' : null}>${TAB_LABEL[t]}</a>`)}
    </nav>
    <${ErrorBox} error=${error} />
    ${view && props.tab === 'code' ? html`<${CodeTab} name=${name} view=${view} onDeployed=${load} />` : null}
    ${view && props.tab === 'settings' ? html`<${SettingsForm} name=${name} view=${view} onDeployed=${load} />` : null}
    ${view && props.tab === 'test' ? html`<${TestTab} name=${name} view=${view} session=${props.session} />` : null}
    ${view && props.tab === 'watch' ? html`<${WatchTab} name=${name} />` : null}
  </section>`;
}

/** Deploy problems: each with a line is a button that puts the cursor there. */
function Problems(props: { problems: Problem[]; onGoTo: (p: Problem) => void }) {
  if (props.problems.length === 0) return null;
  return html`<ul class="problems" aria-label="Deploy problems">${props.problems.map((p) => html`<li>
    ${p.line !== undefined
      ? html`<button type="button" class="link" onClick=${() => props.onGoTo(p)}>${p.file ?? 'code'}, line ${p.line}${p.column !== undefined ? `, column ${p.column}` : ''}</button>: ${p.message}`
      : html`${p.path ? html`<code>${p.path}</code>: ` : null}${p.message}`}
  </li>`)}</ul>`;
}

function CodeTab(props: { name: string | null; view: Record<string, unknown> | null; onDeployed: () => void }) {
  const creating = props.name === null;
  const box = useRef<HTMLDivElement>(null);
  const editor = useRef<CodeEditor | null>(null);
  const [newName, setNewName] = useState('');
  const [runtime, setRuntime] = useState(String(props.view?.runtime ?? 'js'));
  const [source, setSource] = useState<{ text: string; filename?: string } | null>(creating ? { text: TEMPLATES.js!.source } : null);
  const [notEditable, setNotEditable] = useState<string | null>(null);
  const [problems, setProblems] = useState<Problem[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [status, setStatus] = useState('');
  const [busy, setBusy] = useState(false);
  const [dirty, setDirty] = useState(false);
  const [editorReady, setEditorReady] = useState(false);

  useEffect(() => {
    if (creating) return;
    api<{ source: string; filename?: string }>('GET', fnPath(props.name!, '/code')).then(
      (c) => setSource({ text: c.source, ...(c.filename ? { filename: c.filename } : {}) }),
      (e: ApiError) => setNotEditable(e.message),
    );
  }, [props.name]);
  useEffect(() => {
    if (!box.current || source === null) return;
    // CodeMirror is most of the console's bytes: loaded when an editor first opens.
    let gone = false;
    void import('./editor.js').then(({ codeEditor }) => {
      if (gone || !box.current) return;
      editor.current = codeEditor(box.current, source.text, runtime, () => setDirty(true), `Code of ${props.name ?? 'the new function'}`);
      setEditorReady(true);
    }, setError);
    return () => { gone = true; editor.current?.destroy(); editor.current = null; };
  }, [source]);

  const chooseRuntime = (r: string) => {
    setRuntime(r);
    editor.current?.setLanguage(r);
    if (creating && !dirty) editor.current?.setText(TEMPLATES[r]!.source);
  };

  const deploy = async (e: Event) => {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    if (!form.reportValidity()) return;
    const name = creating ? newName : props.name!;
    const template = TEMPLATES[runtime]!;
    const spec: Spec = creating
      ? { runtime, handler: template.handler, code: { source: editor.current!.text(), filename: template.filename } }
      : { ...specOf(props.view!), code: { source: editor.current!.text(), ...(source?.filename ? { filename: source.filename } : {}) } };
    setBusy(true);
    setStatus('Deploying…');
    setProblems([]);
    setError(null);
    editor.current?.showProblems([]);
    try {
      // Create, never replace (If-None-Match: *); a deploy goes onto the $LATEST this page loaded only (If-Match).
      const v = await api('PUT', fnPath(name), spec, creating ? { 'if-none-match': '*' } : { 'if-match': `"${String(props.view!.digest)}"` });
      setDirty(false);
      setStatus(`Deployed: ${name} ${String(v.digest).slice(0, 12)} at ${new Date().toLocaleTimeString()}`);
      if (creating) location.hash = href(name, 'code');
      else props.onDeployed();
    } catch (err) {
      setStatus('');
      setError(err);
      if (err instanceof ApiError) {
        setProblems(err.problems);
        editor.current?.showProblems(err.problems);
      }
    } finally {
      setBusy(false);
    }
  };

  return html`<form class="code" onSubmit=${deploy} aria-label="Code">
    ${creating ? html`<h1>New function</h1><div class="fields">
      <div class="field"><label for="fn-name">Name</label>
        <input id="fn-name" required pattern="[A-Za-z][A-Za-z0-9_\\-]{0,63}" title="a letter, then up to 63 letters, digits, _ or -" value=${newName} onInput=${(e: Event) => setNewName((e.target as HTMLInputElement).value)} /></div>
      <div class="field"><label for="fn-runtime">Runtime</label>
        <select id="fn-runtime" value=${runtime} onChange=${(e: Event) => chooseRuntime((e.target as HTMLSelectElement).value)}>
          <option value="js">js (V8 isolate)</option><option value="python3">python3 (container)</option>
        </select></div>
    </div>` : null}
    ${notEditable ? html`<p class="note">${notEditable}</p>` : null}
    ${source !== null ? html`<div class="editor" ref=${box}></div>
      <p class="note">Tab moves on to the next control, as in any field; Ctrl-] and Ctrl-[ indent and outdent a line.</p>` : notEditable ? null : html`<p aria-busy="true">Loading the code…</p>`}
    <div class="row">
      <button type="submit" disabled=${busy || !editorReady}>${creating ? 'Create and deploy' : 'Deploy'}</button>
      <span role="status" class="muted">${status}${dirty && !busy && !creating ? ' (changed since the last deploy)' : ''}</span>
    </div>
    <${ErrorBox} error=${error} />
    <${Problems} problems=${problems} onGoTo=${(p: Problem) => editor.current?.goTo(p.line!, p.column)} />
  </form>`;
}
