// What the HTTP front end refused or dropped to keep a caller or a function within its bounds, as
// plain numbers: the front end and the web renderer count here, core/metrics.ts scrapes them.

export type BodyRefusal = 'capacity' | 'timeout';
export type HeaderDrop = 'reserved' | 'invalid' | 'limit';

export class HttpCounters {
  /** Request bodies answered 503 (the in-flight cap) or 408 (not arrived in time). */
  readonly bodiesRefused: Record<BodyRefusal, number> = { capacity: 0, timeout: 0 };
  /**
   * Headers of functions' web responses the host dropped: `reserved` (framing, hop-by-hop and
   * X-Hearth-*, Hearth's to write), `invalid` (not an RFC 9110 token / field value), `limit` (past
   * the count or byte bound).
   */
  readonly headersDropped: Record<HeaderDrop, number> = { reserved: 0, invalid: 0, limit: 0 };
  /** Full collections the body intake asked V8 for, to give back dropped bodies' memory. */
  bodyCollections = 0;
  /** Request bytes held right now for bodies in flight (set by the body intake). */
  bodyBytesInFlight = 0;
}
