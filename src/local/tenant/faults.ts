/**
 * Fault injection for the local tenant: what a test or a person at the command line can make Graph do.
 * This file holds the contract and the call counters; the behaviours (token-bucket throttling, 503s at a
 * rate, replication delay, lost responses, concurrency conflicts, latency) implement FaultPolicy.
 */
import type { Caller, GraphError, Route } from './http';

export interface FaultSettings {
  /**
   * Token bucket per (app, tenant): capacity in resource units and refill per second; undefined = no throttling.
   * Graph's small-tenant numbers are 3,500 RU per 10 s and 3,000 writes per 150 s (https://learn.microsoft.com/graph/throttling-limits). `writes` adds the
   * write quota; `retryAfterSeconds` fixes Retry-After instead of computing it from the bucket.
   */
  throttle?: {
    capacity: number;
    refillPerSecond: number;
    retryAfterSeconds?: number;
    writes?: { capacity: number; refillPerSecond: number };
  };
  /** Fraction (0..1) of Graph calls answered 503 serviceNotAvailable; optionally only the next N calls. */
  unavailable?: { rate: number; retryAfterSeconds?: number; count?: number };
  /** New and changed objects stay invisible to other calls for this long (Entra's replication). */
  replicationDelayMs?: number;
  /** A new credential works at the token endpoint only after this long, as a new secret or key may not work for a while in Entra. */
  credentialDelayMs?: number;
  /** The next N write calls are applied, then the connection drops before the response. */
  loseResponses?: number;
  /**
   * The next N writes to an application's credentials (addPassword, removePassword, PATCH keyCredentials) answer
   * 409 Directory_ConcurrencyViolation and apply nothing, as Graph does when writes to one app race (https://learn.microsoft.com/graph/api/application-addpassword).
   */
  concurrencyViolations?: number;
  /** Added to every Graph call. */
  latencyMs?: number;
}

export interface FaultPolicy {
  settings(): FaultSettings;
  configure(settings: FaultSettings): void;
  reset(): void;
  /** Before the handler: a 429 or 503 to answer instead, with its headers, or undefined. */
  refuse(
    caller: Caller,
    route: Route,
    request: { method: string; path: string; query: URLSearchParams },
  ): GraphError | undefined;
  /** After a write was applied: true to drop the connection instead of answering. */
  loseResponse(route: Route): boolean;
  /** Before a credential write is applied: true to refuse it with 409 Directory_ConcurrencyViolation (uses one). */
  concurrencyViolation(): boolean;
  /** Extra response headers for a served call (x-ms-resource-unit, x-ms-throttle-limit-percentage). */
  responseHeaders(
    caller: Caller,
    route: Route,
    request?: { method: string; path: string; query: URLSearchParams },
  ): Record<string, string>;
}

/** No faults: every call is served at once. */
export function noFaults(): FaultPolicy {
  let current: FaultSettings = {};
  return {
    settings: () => current,
    configure: (settings) => (current = { ...current, ...settings }),
    reset: () => (current = {}),
    refuse: () => undefined,
    loseResponse: () => false,
    concurrencyViolation: () => false,
    responseHeaders: () => ({}),
  };
}

/** Calls by method and route pattern ("GET /applications"), so tests can assert how many Graph calls the bot made. */
export class CallCounters {
  private counts = new Map<string, number>();

  record(method: string, pattern: string): void {
    const key = `${method} ${pattern}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.counts.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }

  total(): number {
    let sum = 0;
    for (const n of this.counts.values()) sum += n;
    return sum;
  }

  reset(): void {
    this.counts.clear();
  }
}
