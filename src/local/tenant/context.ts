/**
 * What route modules get from the local tenant: the current state (replaced on reset), the clock, the
 * replication delay to stamp on new objects, and a way to say the state changed (so it is saved).
 */
import type { Route } from './http';
import type { TenantState } from './state';

export interface TenantContext {
  state(): TenantState;
  now(): Date;
  /** Epoch ms from which an object written now is visible to other calls (now + the replication delay fault). */
  visibleFrom(): number;
  /** Epoch ms from which a credential added now works at the token endpoint (credential propagation fault). */
  credentialUsableFrom(): number;
  /** The state changed: persist it (debounced) in local mode. */
  changed(): void;
}

/** A group of Graph endpoints, e.g. applications or service principals. */
export type RouteModule = (context: TenantContext) => Route[];

/** Whether another call may see the record yet (spec §13: a new object answers 404 to other calls during replication). */
export function isVisible(record: { visibleFrom: number }, now: Date): boolean {
  return record.visibleFrom <= now.getTime();
}
