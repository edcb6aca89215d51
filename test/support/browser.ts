// A real browser for the console's tests: Debian's chromium (/usr/bin/chromium, installed by
// scripts/setup-system.sh) driven by playwright-core, which downloads no browser of its own.
// The flags keep Chromium off the network it would otherwise reach for at start (this machine's
// closed network refuses it, loudly); --no-sandbox because the suite runs as root.

import { chromium, type Browser, type ConsoleMessage, type Page } from 'playwright-core';

export const CHROMIUM = process.env.HEARTH_CHROMIUM ?? '/usr/bin/chromium';

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}

/** What a page did that a test checks at the end: every URL it asked for, and its errors. */
export interface PageWatch {
  requests: string[];
  /** Responses of 400 and up: "STATUS METHOD PATH". */
  refused: string[];
  errors: string[];
  /**
   * Loads Chromium itself cut with net::ERR_NETWORK_CHANGED: it aborts requests in flight when the
   * machine's network interfaces change, which the container tests running beside these do (every
   * container start adds a veth to Docker's bridge). The host's doing, not the page's: counted
   * apart from `errors` (a fresh-clone CI run failed on two such lines from the console's polling).
   */
  networkChanged: number;
}

export function watchPage(page: Page): PageWatch {
  const w: PageWatch = { requests: [], refused: [], errors: [], networkChanged: 0 };
  page.on('request', (r) => { w.requests.push(r.url()); });
  page.on('response', (r) => { if (r.status() >= 400) w.refused.push(`${r.status()} ${r.request().method()} ${new URL(r.url()).pathname}`); });
  page.on('console', (m: ConsoleMessage) => {
    if (m.type() !== 'error') return;
    if (/^Failed to load resource: net::ERR_NETWORK_CHANGED$/.test(m.text())) w.networkChanged++;
    else w.errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => { w.errors.push(`pageerror: ${e.message}`); });
  return w;
}
