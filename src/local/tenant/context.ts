/**
 * What route modules get from the local tenant: the current state (replaced on reset), the clock, the
 * replication delay to stamp on new objects, the concurrency fault for credential writes, Graph's documented
 * query limits (limits.ts), and a way to say the state changed (so it is saved).
 */
import { GraphError, type Route } from './http';
import type { TenantState } from './state';

export interface TenantContext {
  state(): TenantState;
  now(): Date;
  /** Epoch ms from which an object written now is visible to other calls (now + the replication delay fault). */
  visibleFrom(): number;
  /** Epoch ms from which a credential added now works at the token endpoint (credential propagation fault). */
  credentialUsableFrom(): number;
  /**
   * Called by a credential write (addPassword, removePassword, PATCH keyCredentials) once it is valid and before
   * it is applied: throws 409 Directory_ConcurrencyViolation when the concurrency fault says so.
   */
  beforeCredentialWrite(): void;
  /**
   * Called by a list of applications or service principals that has keyCredentials in $select: throws 429 with
   * Retry-After once the acting directory has used its budget for the minute (limits.ts).
   */
  beforeKeyCredentialsList(now: Date): void;
  /** The state changed: persist it (debounced) in local mode. */
  changed(): void;
}

/** A group of Graph endpoints, e.g. applications or service principals. */
export type RouteModule = (context: TenantContext) => Route[];

/** Whether another call may see the record yet (a new object answers 404 to other calls while Entra replicates it: https://devblogs.microsoft.com/identity/designing-for-eventual-consistency-for-microsoft-entra/). */
export function isVisible(record: { visibleFrom: number }, now: Date): boolean {
  return record.visibleFrom <= now.getTime();
}

/** What Graph answers when writes to one application race (e.g. addKey then addPassword). */
export function concurrencyViolation(): GraphError {
  return new GraphError(
    409,
    'Directory_ConcurrencyViolation',
    'Error due to concurrent requests being made to the tenant. Please wait briefly and retry.',
  );
}
