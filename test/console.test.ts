// The web console in a real browser (Debian's chromium through playwright-core) against a real
// Hearth with an admin token: sign in, create a function in the editor (a compile error shown at
// its line first), deploy, invoke from the form (the result and the cold flag; the same timing line
// `hearth invoke` prints), see a log line arrive live, publish versions and move an alias, redrive
// a dead letter, and check every request the page made stayed on Hearth's origin, that nothing
// went to the page's console as an error, and that every form control has a label.
// Screenshots of the main views go to $HEARTH_SCREENSHOTS (docs/console in the repo) or a temp dir.

import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, watchPage, type PageWatch } from './support/browser.js';
import { runCli, startHearth, type Hearth } from './support/hearth.js';
import { until } from './support/until.js';

const TOKEN = 'console-test-admin-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };
const SHOTS = process.env.HEARTH_SCREENSHOTS ?? mkdtempSync(join(tmpdir(), 'hearth-console-shots-'));

/** Replaces the focused editor's text. CodeMirror closes brackets as one types: it goes in as a paste would. */
async function replaceCode(page: Page, lines: string[]): Promise<void> {
  await page.keyboard.press('Control+a');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(lines.join('\n'));
}

/** Every input, select and textarea the page shows has a label a screen reader reads out. */
async function unlabelled(page: Page): Promise<string[]> {
  return page.evaluate(() => [...document.querySelectorAll('input, select, textarea')]
    .filter((el) => {
      const e = el as HTMLInputElement;
      return (e.labels?.length ?? 0) === 0 && !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby');
    })
    .map((el) => el.outerHTML.slice(0, 120)));
}

const TIMING = /^(cold|warm) {2}init \d+\.\d{3} ms {2}queue \d+\.\d{3} ms {2}run \d+\.\d{3} ms {2}version \S+ {2}request [0-9a-f-]{36}$/;

describe('the web console, in Chromium', () => {
  let h: Hearth;
  let browser: Browser;
  let page: Page;
  let watch: PageWatch;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    h = await startHearth({ env: { HEARTH_ADMIN_TOKEN: TOKEN }, args: ['--async-retry-base-ms', '100'] });
    browser = await launchBrowser();
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    watch = watchPage(page);
  });
  afterAll(async () => {
    await browser?.close();
    await h?.stop();
  });

  it('serves the page from memory, small, with a policy that keeps it on this origin', async () => {
    const r = await fetch(`${h.url}/console/`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-security-policy')).toContain("connect-src 'self'");
    const html = await r.text();
    const script = /src="(assets\/app\.[^"]+\.js)"/.exec(html)![1]!;
    const js = await fetch(`${h.url}/console/${script}`);
    expect(js.headers.get('cache-control')).toContain('immutable');
    expect((await js.arrayBuffer()).byteLength).toBeLessThan(400 * 1024);
    expect((await fetch(`${h.url}/console/assets/nope.js`)).status).toBe(404);
    expect((await fetch(`${h.url}/console/`, { method: "POST" })).status).toBe(405);
    // The management API behind it still wants the token.
    expect((await fetch(`${h.url}/v1/functions`)).status).toBe(401);
  });

  it('asks for the admin token, keeps it in session storage only, and says so', async () => {
    await page.goto(`${h.url}/console`); // redirected to /console/
    await page.getByLabel('Admin token').fill('wrong-token-wrong-token');
    await page.getByLabel('Admin token').press('Enter');
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('Unauthorized');
    await page.getByLabel('Admin token').fill(TOKEN);
    await page.getByLabel('Admin token').press('Enter');
    await page.getByRole('heading', { name: 'Functions' }).waitFor();
    expect(await page.getByRole('status').first().textContent()).toContain('Admin token required');
    const stored = await page.evaluate(() => ({ session: sessionStorage.getItem('hearth.adminToken'), local: localStorage.length, url: location.href }));
    expect(stored.session).toBe(TOKEN);
    expect(stored.local).toBe(0);
    expect(stored.url).not.toContain(TOKEN);
  });

  it('creates a function in the editor: a compile error at its line, then a deploy', async () => {
    await page.getByRole('link', { name: 'New function' }).first().click();
    await page.getByLabel('Name').fill('greet');
    const editor = page.locator('.cm-content');
    await editor.waitFor();
    await editor.click();
    await replaceCode(page, [
      'export async function handler(event, context) {',
      "  console.log('greeting', event.name);",
      '  return { hello: event.name ?? "world" ;',
      '}',
    ]);
    await page.getByRole('button', { name: 'Create and deploy' }).click();
    const problem = page.getByRole('list', { name: 'Deploy problems' });
    await expect.poll(() => problem.textContent()).toMatch(/index\.js, line 3, column \d+: Expected "}"/);
    await page.locator('.cm-lintRange-error').first().waitFor();
    await page.screenshot({ path: join(SHOTS, 'editor-compile-error.png') });
    await page.getByRole('button', { name: /line 3/ }).click();
    await replaceCode(page, [
      'export async function handler(event, context) {',
      "  console.log('greeting', event.name);",
      '  return { hello: event.name ?? "world" };',
      '}',
    ]);
    // From the keyboard: Tab leaves the editor for the button (Ctrl-] indents).
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Create and deploy');
    await page.keyboard.press('Enter');
    await page.waitForURL(/#\/f\/greet\/code$/);
    await page.getByRole('heading', { name: 'greet' }).waitFor();
    await expect.poll(async () => (await fetch(`${h.url}/v1/functions/greet/code`, { headers: auth })).status).toBe(200);
  });

  it('invokes from the Test form: the result, the cold flag, and the timing line hearth invoke prints', async () => {
    await page.getByRole('link', { name: 'Test' }).click();
    await page.getByLabel('Payload (JSON)').fill('{"name":"console"}');
    await page.getByRole('button', { name: 'Invoke' }).click();
    await expect.poll(() => page.getByTestId('result-body').textContent()).toContain('"hello": "console"');
    expect(await page.getByTestId('cold').textContent()).toBe('cold');
    expect(await page.getByTestId('log-tail').textContent()).toContain('greeting console');
    // Saved payloads, kept by Hearth.
    await page.getByLabel('Save as').fill('console payload');
    await page.getByRole('button', { name: 'Save payload' }).click();
    await expect.poll(async () => ((await (await fetch(`${h.url}/v1/functions/greet/test-payloads`, { headers: auth })).json()) as { payloads: unknown[] }).payloads.length).toBe(1);
    // Warm now; sent as msgpack, from the keyboard.
    await page.getByLabel('Send as').selectOption('msgpack');
    await page.getByRole('button', { name: 'Invoke' }).focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByTestId('cold').textContent()).toBe('warm');
    expect(await page.getByTestId('result-body').textContent()).toContain('"hello": "console"');
    const consoleLine = (await page.getByTestId('timing-line').textContent())!;
    expect(consoleLine).toMatch(TIMING);
    await page.screenshot({ path: join(SHOTS, 'test-result.png'), fullPage: true });
    // Force cold: a new instance for this one call.
    await page.getByLabel(/Force cold/).check();
    await page.getByLabel('Send as').selectOption('json');
    await page.getByRole('button', { name: 'Invoke' }).click();
    await expect.poll(() => page.getByTestId('cold').textContent()).toBe('cold');
    await page.getByLabel(/Force cold/).uncheck();

    const cli = await runCli(['invoke', 'greet', '{"name":"cli"}', '--url', h.url], { HEARTH_ADMIN_TOKEN: TOKEN });
    expect(cli.code).toBe(0);
    const cliLine = cli.stderr.trim().split('\n').at(-1)!;
    expect(cliLine).toMatch(TIMING);
    // The same figures in the same words: both lines come from core/timing-line.ts.
    expect(cliLine.replace(/\d+\.\d{3}/g, 'N').replace(/request \S+/, '').replace(/^(cold|warm)/, '')).toBe(consoleLine.replace(/\d+\.\d{3}/g, 'N').replace(/request \S+/, '').replace(/^(cold|warm)/, ''));
  });

  it('shows log lines live, filtered by request id, and the graphs', async () => {
    await page.getByRole('link', { name: 'Watch' }).click();
    await expect.poll(() => page.getByTestId('log-state').textContent()).toBe('live');
    const marker = `live-${Date.now()}`;
    const r = await h.invoke('greet', { name: marker }, auth);
    expect(r.status).toBe(200);
    const id = r.headers.get('x-hearth-request-id')!;
    await expect.poll(() => page.getByTestId('live-logs').textContent(), { timeout: 15_000 }).toContain(`greeting ${marker}`);
    // Filter by the request id: only its lines.
    await h.invoke('greet', { name: 'other' }, auth);
    await expect.poll(() => page.getByTestId('live-logs').textContent()).toContain('greeting other');
    await page.getByLabel('Request id').fill(id);
    await page.getByRole('button', { name: 'Filter' }).click();
    await expect.poll(async () => {
      const text = (await page.getByTestId('live-logs').textContent()) ?? '';
      return text.includes(marker) && !text.includes('greeting other');
    }).toBe(true);
    await page.getByRole('button', { name: 'Show all' }).click();
    // The graphs come with the sampler's next point (every 5 s).
    await page.locator('figure.chart canvas').first().waitFor({ timeout: 15_000 });
    await expect.poll(() => page.getByRole('table').filter({ hasText: 'In flight' }).count()).toBe(1);
    await page.screenshot({ path: join(SHOTS, 'watch.png'), fullPage: true });
  });

  it('publishes versions and moves an alias from the page', async () => {
    await page.getByLabel('Description of the new version').fill('first');
    await page.getByRole('button', { name: 'Publish $LATEST' }).click();
    const published = async () => ((await (await fetch(`${h.url}/v1/functions/greet/versions`, { headers: auth })).json()) as { versions: { version: string; description?: string }[] })
      .versions.filter((v) => v.version !== '$LATEST').map((v) => `${v.version}:${v.description}`).join();
    await expect.poll(published).toBe('1:first');
    // A second version, deployed from outside the page.
    const spec = { runtime: 'js', handler: 'index.handler', code: { source: 'export async function handler(e) { return { hello: "v2" }; }' } };
    expect((await fetch(`${h.url}/v1/functions/greet`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(spec) })).status).toBe(200);
    await page.getByLabel('Description of the new version').fill('second');
    await page.getByRole('button', { name: 'Publish $LATEST' }).click();
    await expect.poll(published).toBe('1:first,2:second');
    await expect.poll(() => page.getByRole('cell', { name: 'second', exact: true }).count()).toBe(1);
    // A new alias on version 1, then moved to 2 with 10% still on 1.
    const create = page.getByRole('form', { name: 'New alias' });
    await create.getByLabel('New alias').fill('live');
    await create.getByLabel('Version', { exact: true }).selectOption('1');
    await create.getByRole('button', { name: 'Create alias' }).click();
    await page.getByRole('form', { name: 'Alias live' }).waitFor();
    // Reserved instances set elsewhere (the API) stay when the page moves the alias.
    expect((await fetch(`${h.url}/v1/functions/greet/aliases/live`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ version: '1', minInstances: 1 }) })).status).toBe(200);
    await page.reload();
    const form = page.getByRole('form', { name: 'Alias live' });
    await form.waitFor();
    await form.getByLabel('Version', { exact: true }).selectOption('2');
    await form.getByLabel('Also route to').selectOption('1');
    await form.getByLabel('Its share (%)').fill('10');
    await form.getByRole('button', { name: 'Move alias' }).click();
    await expect.poll(async () => {
      const a = (await (await fetch(`${h.url}/v1/functions/greet/aliases/live`, { headers: auth })).json()) as { version: string; additionalVersionWeights: Record<string, number> };
      return `${a.version} ${JSON.stringify(a.additionalVersionWeights)} min ${(a as { minInstances?: number }).minInstances}`;
    }).toBe('2 {"1":0.1} min 1');
  });

  it('redrives a dead letter', async () => {
    const failing = { runtime: 'js', handler: 'index.handler', maxRetries: 0, code: { source: 'export async function handler(e) { throw new Error("not yet"); }' } };
    const put = (spec: unknown) => fetch(`${h.url}/v1/functions/flaky`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(spec) });
    expect((await put(failing)).status).toBe(201);
    const r = await h.invoke('flaky', { n: 1 }, { ...auth, 'x-hearth-invocation-type': 'Event' });
    expect(r.status).toBe(202);
    const id = r.headers.get('x-hearth-request-id')!;
    await until(async () => (await (await fetch(`${h.url}/v1/invocations/${id}`, { headers: auth })).json() as { status: string }).status === 'failed', 20_000, 'the event to be a dead letter');
    // Fixed meanwhile: the redriven event succeeds.
    expect((await put({ ...failing, code: { source: 'export async function handler(e) { console.log("redriven", e.n); return { ok: e.n }; }' } })).status).toBe(200);
    await page.goto(`${h.url}/console/#/f/flaky/watch`);
    const table = page.getByTestId('dead-letters');
    await expect.poll(() => table.textContent(), { timeout: 15_000 }).toContain(id);
    await page.screenshot({ path: join(SHOTS, 'dead-letters.png'), fullPage: true });
    await page.getByRole('button', { name: `Redrive ${id}` }).click();
    await expect.poll(async () => (await (await fetch(`${h.url}/v1/invocations/${id}`, { headers: auth })).json() as { status: string }).status, { timeout: 20_000 }).toBe('succeeded');
    await expect.poll(() => page.getByTestId('live-logs').textContent(), { timeout: 15_000 }).toContain('redriven 1');
  });

  it('lists the functions with their figures, and edits settings as a checked form', async () => {
    await page.getByRole('link', { name: 'Functions' }).click();
    const row = page.getByRole('row').filter({ hasText: 'greet' });
    await expect.poll(() => row.textContent()).toMatch(/greet\s*js\s*\$LATEST · v2 published/);
    await page.screenshot({ path: join(SHOTS, 'functions.png'), fullPage: true });
    await page.getByRole('link', { name: 'greet' }).click();
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('button', { name: 'Add schedule' }).click();
    await page.getByLabel('Schedule 1 cron').fill('not a cron');
    await page.getByRole('button', { name: 'Save and deploy' }).click();
    // Hearth's own check, shown at the field.
    await expect.poll(() => page.locator('#schedules\\.0\\.cron-error').textContent()).toContain('is not a cron expression');
    expect(await page.getByLabel('Schedule 1 cron').getAttribute('aria-invalid')).toBe('true');
    await page.getByLabel('Schedule 1 cron').fill('*/10 * * * *');
    await page.getByLabel('Memory (MiB)').fill('256');
    await page.getByRole('button', { name: 'Save and deploy' }).click();
    await expect.poll(async () => {
      const v = (await (await fetch(`${h.url}/v1/functions/greet`, { headers: auth })).json()) as { memoryMb: number; schedules: { cron: string }[] };
      return `${v.memoryMb} ${v.schedules.map((s) => s.cron).join()}`;
    }).toBe('256 */10 * * * *');
    await page.screenshot({ path: join(SHOTS, 'settings.png'), fullPage: true });
    expect(await unlabelled(page)).toEqual([]);
  });

  it('made no request to another host, and wrote no error to its console', () => {
    const origin = new URL(h.url).origin;
    const elsewhere = watch.requests.filter((u) => !u.startsWith(`${origin}/`) && !u.startsWith('data:'));
    expect(elsewhere).toEqual([]);
    expect(watch.requests.length).toBeGreaterThan(10);
    // The refusals the steps above asked for, and no other: the wrong token (401), the deploy with
    // a compile error and the settings with a bad cron (400). Chromium writes each such response to
    // the console as "Failed to load resource"; the page itself wrote nothing.
    expect(watch.refused).toEqual(['401 GET /v1/functions', '400 PUT /v1/functions/greet', '400 PUT /v1/functions/greet/configuration']);
    expect(watch.errors.filter((e) => !/^console: Failed to load resource: the server responded with a status of (400|401) /.test(e))).toEqual([]);
  });
});

describe('the web console without an admin token', () => {
  it('asks for none, says Hearth is on loopback only, and asks for the invoke token where calls need one', async () => {
    const invokeToken = 'console-test-invoke-token-0123456789';
    const h = await startHearth({ env: { HEARTH_INVOKE_TOKEN: invokeToken } });
    const browser = await launchBrowser();
    try {
      expect((await h.deploy('open', { runtime: 'js', handler: 'index.handler', code: { source: 'export async function handler(e) { return { n: e.n }; }' } })).status).toBe(201);
      const page = await browser.newPage();
      const watch = watchPage(page);
      await page.goto(`${h.url}/console/`);
      await page.getByRole('heading', { name: 'Functions' }).waitFor();
      const banner = (await page.getByRole('status').first().textContent())!;
      expect(banner).toContain('No admin token is set');
      expect(banner).toContain('loopback only (127.0.0.1)');
      expect(await page.getByLabel('Admin token').count()).toBe(0);
      await page.screenshot({ path: join(SHOTS, 'no-token.png') });
      // Calls need the invoke token: refused without it (shown with the result), answered with it.
      await page.getByRole('link', { name: 'open' }).click();
      await page.getByRole('link', { name: 'Test' }).click();
      await page.getByLabel('Payload (JSON)').fill('{"n":7}');
      await page.getByRole('button', { name: 'Invoke' }).click();
      await expect.poll(() => page.getByTestId('status').textContent()).toBe('401');
      await page.getByLabel('Invoke token').fill(invokeToken);
      await page.getByRole('button', { name: 'Invoke' }).click();
      await expect.poll(() => page.getByTestId('result-body').textContent()).toContain('"n": 7');
      expect(await page.evaluate(() => sessionStorage.getItem('hearth.invokeToken'))).toBe(invokeToken);
      expect(await unlabelled(page)).toEqual([]);
      expect(watch.refused).toEqual(['401 POST /v1/functions/open/invoke']);
      expect(watch.errors.filter((e) => !/^console: Failed to load resource: the server responded with a status of 401 /.test(e))).toEqual([]);
    } finally {
      await browser.close();
      await h.stop();
    }
  });
});
