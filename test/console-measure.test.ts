// The console's Measure panel in a real browser (Chromium through playwright-core) against a real
// Hearth with an admin token: fill the panel under Test, click Measure, see the progress, then the
// picture (loaded as an image under the page's Content-Security-Policy) and the table; every form
// control labelled, no request elsewhere, no error in the page's console. A screenshot goes to
// $HEARTH_SCREENSHOTS (docs/console in the repo) or a temp dir.

import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, watchPage, type PageWatch } from './support/browser.js';
import { jsSource, startHearth, type Hearth } from './support/hearth.js';

const TOKEN = 'console-measure-admin-token-0123456789';
const SHOTS = process.env.HEARTH_SCREENSHOTS ?? mkdtempSync(join(tmpdir(), 'hearth-console-shots-'));

describe('the console\'s Measure panel, in Chromium', () => {
  let h: Hearth;
  let browser: Browser;
  let page: Page;
  let watch: PageWatch;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    h = await startHearth({ env: { HEARTH_ADMIN_TOKEN: TOKEN } });
    const r = await fetch(`${h.url}/v1/functions/hello`, { method: 'PUT', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(jsSource('export async function handler(e) { return { hello: e.name ?? "world" }; }')) });
    expect(r.status).toBe(201);
    browser = await launchBrowser();
    page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    watch = watchPage(page);
  });
  afterAll(async () => {
    await browser?.close();
    await h?.stop();
  });

  it('measures from the Test tab: progress, then the picture and the table', async () => {
    await page.goto(`${h.url}/console/`);
    await page.getByLabel('Admin token').fill(TOKEN);
    await page.getByLabel('Admin token').press('Enter');
    await page.getByRole('heading', { name: 'Functions' }).waitFor();
    await page.goto(`${h.url}/console/#/f/hello/test`);
    await page.getByRole('heading', { name: 'Measure' }).waitFor();
    await page.getByLabel('Cold calls').fill('3');
    await page.getByLabel('Warm calls').fill('300');
    await page.getByLabel('Concurrency').fill('4');
    await page.getByRole('button', { name: 'Measure' }).click();
    await page.getByTestId('measure-progress').waitFor();
    const picture = page.getByTestId('measure-picture');
    await picture.waitFor({ timeout: 45_000 });
    // The SVG loaded as an image (a data: URL the page's policy allows), drawn at its size.
    await expect.poll(() => picture.evaluate((img) => (img as HTMLImageElement).complete && (img as HTMLImageElement).naturalWidth)).toBeGreaterThan(300);
    const table = page.getByTestId('measure-table');
    const rows = await table.locator('tbody tr').allTextContents();
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(/^hellocold3\s*0/);
    expect(rows[1]).toMatch(/^hellowarm300\s*0/);
    expect(await page.getByTestId('measure-result').textContent()).toContain('hearth bench hello --cold 3 --warm 300 --concurrency 4');
    await page.getByTestId('measure-result').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(SHOTS, 'test-measure.png'), fullPage: true });

    // Every control labelled; nothing asked of another host; no error in the page.
    const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input, select, textarea')]
      .filter((el) => ((el as HTMLInputElement).labels?.length ?? 0) === 0 && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
      .map((el) => el.outerHTML.slice(0, 120)));
    expect(unlabelled).toEqual([]);
    expect(watch.requests.filter((u) => !u.startsWith(h.url) && !u.startsWith('data:'))).toEqual([]);
    expect(watch.errors).toEqual([]);
  });
});
