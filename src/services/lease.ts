/**
 * A lease on a singleton job (the expiry scan) in the store, so that of several running copies of the bot one at a
 * time does the job. One row per job (partition 'lease'), and every change of it ETag-guarded: taking a free or
 * expired lease, renewing one's own, giving it back. Of two processes that race for it, one write wins and the
 * other's fails on the ETag (or on the create), so they never both hold it. A holder that dies keeps the lease
 * until it expires; then anyone may take it over.
 */
import { ConflictError } from '../domain/errors';
import type { Clock, Lease as LeaseRow, Store, Stored } from './ports';

export interface Lease {
  /**
   * Takes the lease when nobody holds it or its holder's time is up, or renews it when this holder has it.
   * False when someone else holds it (or won the race for it).
   */
  acquire(): Promise<boolean>;
  /** Gives the lease back if this holder still has it, so that the next one need not wait for it to expire. */
  release(): Promise<void>;
  /** Whether this holder's last acquire succeeded, it has not released since, and the lease has not expired by the clock. */
  held(): boolean;
}

export interface LeaseOptions {
  store: Pick<Store, 'leases'>;
  /** The job: the lease's row. */
  name: string;
  /** This process, e.g. hostname:pid:random; two processes must never use the same. */
  holder: string;
  ttlMs: number;
  clock: Clock;
}

const PARTITION = 'lease';

export function createLease(options: LeaseOptions): Lease {
  const { store, name, holder, ttlMs, clock } = options;
  let mine: Stored<LeaseRow> | undefined;

  /** A write that loses the race (ConflictError) means someone else has the lease. */
  async function write(operation: () => Promise<Stored<LeaseRow>>): Promise<boolean> {
    try {
      mine = await operation();
      return true;
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      mine = undefined;
      return false;
    }
  }

  return {
    async acquire() {
      const now = clock.now();
      const next: LeaseRow = { holder, expiresAt: new Date(now.getTime() + ttlMs).toISOString() };
      const current = await store.leases.get(PARTITION, name);
      if (!current) {
        return write(() => store.leases.create(PARTITION, name, next));
      }
      const expired = !(Date.parse(current.value.expiresAt) > now.getTime());
      if (current.value.holder !== holder && !expired) {
        mine = undefined;
        return false;
      }
      // Renewing or taking over: only if nobody wrote it since it was read.
      return write(() => store.leases.replace(PARTITION, name, next, current.etag));
    },

    async release() {
      const held = mine;
      mine = undefined;
      if (!held) return;
      // Only the row this holder wrote last: if someone took the lease over since, theirs stays.
      try {
        await store.leases.delete(PARTITION, name, held.etag);
      } catch (err) {
        if (!(err instanceof ConflictError)) throw err;
      }
    },

    held() {
      return mine !== undefined && Date.parse(mine.value.expiresAt) > clock.now().getTime();
    },
  };
}
