// Who may call what: the admin token (management, X-Hearth-Force-Cold), the invoke token (invoke
// and web calls, which the admin token may make too) and the metrics token (GET /metrics, for a
// scrape job that should hold no management rights). Tokens are compared in constant time.

import { timingSafeEqual } from 'node:crypto';
import type { Config } from '../config.js';

export class Gate {
  private readonly admin: Buffer | null;
  private readonly invoker: Buffer | null;
  private readonly scraper: Buffer | null;
  /** The secrets a SigV4 signature may be made with (the invoke token, then the admin token). */
  readonly signingSecrets: readonly string[];

  constructor(config: Pick<Config, 'adminToken' | 'invokeToken'> & Partial<Pick<Config, 'metricsToken'>>) {
    this.admin = config.adminToken ? Buffer.from(`Bearer ${config.adminToken}`) : null;
    this.invoker = config.invokeToken ? Buffer.from(`Bearer ${config.invokeToken}`) : null;
    this.scraper = config.metricsToken ? Buffer.from(`Bearer ${config.metricsToken}`) : null;
    this.signingSecrets = [config.invokeToken, config.adminToken].filter((s): s is string => typeof s === 'string');
  }

  /** Set: management calls need it; unset, Hearth listens on loopback only. */
  get adminTokenSet(): boolean {
    return this.admin !== null;
  }

  /**
   * Without an admin token, a management call's Host must name this machine (localhost, a
   * loopback address): a page elsewhere that rebinds its own name to 127.0.0.1 (DNS rebinding)
   * would otherwise be same-origin with Hearth in the browser and manage its functions.
   */
  hostAllowed(host: string): boolean {
    return this.admin !== null || isLoopbackHost(host);
  }

  /** Set: invoke and web calls need it (or the admin token). */
  get invokeTokenSet(): boolean {
    return this.invoker !== null;
  }

  /** A management call's Authorization header: fine when no admin token is set. */
  isAdmin(authorization: string): boolean {
    if (this.admin === null) return true;
    return sameToken(Buffer.from(authorization), this.admin);
  }

  /** GET /metrics: the admin token, or the metrics token when one is set (fine when no admin token is set). */
  mayScrape(authorization: string): boolean {
    if (this.isAdmin(authorization)) return true;
    return this.scraper !== null && sameToken(Buffer.from(authorization), this.scraper);
  }

  /** Is this Authorization header one of Hearth's own tokens? (Such a header never reaches a function.) */
  isCredential(authorization: string): boolean {
    if (authorization === '') return false;
    const got = Buffer.from(authorization);
    return (this.admin !== null && sameToken(got, this.admin)) || (this.invoker !== null && sameToken(got, this.invoker))
      || (this.scraper !== null && sameToken(got, this.scraper));
  }

  /** An invoke or web call's Authorization header: fine when no invoke token is set. */
  mayInvoke(authorization: string): boolean {
    if (this.invoker === null) return true;
    const got = Buffer.from(authorization);
    return sameToken(got, this.invoker) || (this.admin !== null && sameToken(got, this.admin));
  }
}

/** Equal tokens, in constant time for equal lengths (a length tells nothing a guess could use). */
function sameToken(got: Buffer, want: Buffer): boolean {
  return got.length === want.length && timingSafeEqual(got, want);
}

/** localhost (and *.localhost), 127.0.0.0/8 or [::1], with any port. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase();
  const name = h.startsWith('[') ? h.slice(0, h.indexOf(']') + 1) : h.replace(/:\d*$/, '');
  return name === 'localhost' || name.endsWith('.localhost') || /^127(\.\d{1,3}){3}$/.test(name) || name === '[::1]';
}
