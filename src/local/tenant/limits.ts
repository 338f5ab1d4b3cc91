/**
 * Limits Microsoft Graph documents for particular queries, as opposed to the faults a test injects (faults.ts):
 * listing applications or service principals with keyCredentials in $select is limited to 150 requests a minute
 * per tenant ("The use of $select to get keyCredentials ... has a throttling limit of 150 requests per minute for
 * every tenant": https://learn.microsoft.com/graph/api/application-list and
 * https://learn.microsoft.com/graph/api/serviceprincipal-list). One budget per directory, shared by both lists.
 */
import { throttledTemporarily } from './http';

export interface TenantLimits {
  /**
   * Requests a minute, per directory, that may list applications or service principals with keyCredentials in
   * $select; beyond it Graph answers 429 with Retry-After. Default 150, as Graph; null turns the limit off.
   */
  keyCredentialsListPerMinute?: number | null;
}

export const KEY_CREDENTIALS_LIST_PER_MINUTE = 150;
const WINDOW_MS = 60_000;

/** A sliding one-minute window of admitted requests per directory. */
export class KeyCredentialsListBudget {
  private readonly admitted = new Map<string, number[]>();
  private perMinute: number | null;

  constructor(limits: TenantLimits = {}) {
    this.perMinute =
      limits.keyCredentialsListPerMinute === undefined
        ? KEY_CREDENTIALS_LIST_PER_MINUTE
        : limits.keyCredentialsListPerMinute;
  }

  /** The limit in force (null: none). */
  limit(): number | null {
    return this.perMinute;
  }

  /** Admits one listing request with keyCredentials selected in the directory, or throws Graph's 429. */
  take(tenantId: string, now: Date): void {
    const limit = this.perMinute;
    if (limit === null) return;
    const key = tenantId.toLowerCase();
    const at = now.getTime();
    const window = (this.admitted.get(key) ?? []).filter((t) => t > at - WINDOW_MS);
    if (window.length >= limit) {
      this.admitted.set(key, window);
      // The window frees when its oldest admitted request leaves it.
      const seconds = Math.max(1, Math.ceil(((window[0] ?? at) + WINDOW_MS - at) / 1000));
      throw throttledTemporarily(seconds, { 'x-ms-throttle-scope': `Tenant/Read/${key}` });
    }
    window.push(at);
    this.admitted.set(key, window);
  }

  reset(): void {
    this.admitted.clear();
  }
}
