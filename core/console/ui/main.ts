// The console's shell: the auth banner, asking for the admin token when Hearth has one, and the
// routes (#/ the functions, #/new, #/f/{name}/{code|settings|test|watch}).

import { render } from 'preact';
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { api, onUnauthorized, session, token, type Session } from './api.js';
import { ErrorBox, parseRoute, type Route } from './kit.js';
import { FunctionsList } from './view-functions.js';
import { FunctionPage } from './view-function.js';
import './style.css';

function Banner(props: { session: Session; onSignOut: () => void }) {
  const s = props.session;
  if (s.adminTokenRequired) {
    return html`<div class="banner secure" role="status">
      <span>Admin token required. It is kept in this tab's session storage only and sent as a Bearer header; closing the tab forgets it.</span>
      <button type="button" onClick=${props.onSignOut}>Sign out</button>
    </div>`;
  }
  return html`<div class="banner open" role="status">
    No admin token is set: Hearth listens on loopback only (${s.host}), and so does this console. Anyone who can reach it on this machine can manage functions. Start Hearth with HEARTH_ADMIN_TOKEN to require a token.
  </div>`;
}

function SignIn(props: { onDone: () => void; refused: boolean }) {
  const [value, setValue] = useState('');
  const [error, setError] = useState<unknown>(props.refused ? new Error('the token was refused; enter it again') : null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    token.set(value);
    try {
      await api('GET', '/v1/functions');
      props.onDone();
    } catch (err) {
      token.clear();
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return html`<form class="signin card" onSubmit=${submit} aria-labelledby="signin-title">
    <h2 id="signin-title">Sign in</h2>
    <p>This Hearth was started with an admin token (HEARTH_ADMIN_TOKEN). Enter it to manage functions.</p>
    <label for="admin-token">Admin token</label>
    <input id="admin-token" type="password" autocomplete="current-password" required value=${value} onInput=${(e: Event) => setValue((e.target as HTMLInputElement).value)} />
    <button type="submit" disabled=${busy}>Sign in</button>
    <${ErrorBox} error=${error} />
  </form>`;
}

function App() {
  const [sess, setSess] = useState<Session | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [signedIn, setSignedIn] = useState(token.get() !== null);
  const [refused, setRefused] = useState(false);
  const [route, setRoute] = useState<Route>(parseRoute(location.hash));
  useEffect(() => {
    session().then(setSess, setError);
    const onHash = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', onHash);
    const off = onUnauthorized(() => { token.clear(); setRefused(true); setSignedIn(false); });
    return () => { removeEventListener('hashchange', onHash); off(); };
  }, []);
  if (error) return html`<main><${ErrorBox} error=${error} /></main>`;
  if (!sess) return html`<main><p aria-busy="true">Loading…</p></main>`;
  const signOut = () => { token.clear(); setRefused(false); setSignedIn(false); };
  const needsToken = sess.adminTokenRequired && !signedIn;
  return html`
    <header class="top">
      <a class="brand" href="#/">Hearth</a>
      <nav aria-label="Main"><a href="#/" aria-current=${route.view === 'list' ? 'page' : null}>Functions</a> <a href="#/new" aria-current=${route.view === 'new' ? 'page' : null}>New function</a></nav>
    </header>
    <${Banner} session=${sess} onSignOut=${signOut} />
    <main>
      ${needsToken ? html`<${SignIn} refused=${refused} onDone=${() => { setRefused(false); setSignedIn(true); }} />`
        : route.view === 'list' ? html`<${FunctionsList} />`
        : route.view === 'new' ? html`<${FunctionPage} key="new" name=${null} tab="code" session=${sess} />`
        : html`<${FunctionPage} key=${route.name} name=${route.name} tab=${route.tab} session=${sess} />`}
    </main>`;
}

render(html`<${App} />`, document.getElementById('app')!);
