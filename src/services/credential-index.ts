/**
 * The expiry scan's copy of the tenant's credentials, in the credentials table, so that the everyday scan reads
 * from Graph only what changed (delta queries, https://learn.microsoft.com/graph/delta-query-overview) and finds
 * what crosses a threshold with one range query on expiry instead of listing every application.
 *
 * Partition 'credential' holds two kinds of rows, the intra-partition secondary index pattern
 * (https://learn.microsoft.com/azure/storage/tables/table-storage-design-patterns#intra-partition-secondary-index-pattern):
 * - e.<expiry>.<holder>.<keyId>: one credential, so that the credentials ending by a date are one range of rows;
 * - o.<holder>: the credential rows its holder (an application or service principal) has now.
 * A credential row counts only while its holder's row lists it. A holder is rewritten by writing its new credential
 * rows, then its holder row, then deleting its old rows (one transaction when they fit in 100 writes): a scan that
 * stops between two writes leaves rows no holder lists, which are never announced, and the next scan reads the same
 * changes again because the delta link it starts from was not advanced.
 *
 * Partition 'sync' holds where the scan stands: the delta links to read the next changes from, when the last full
 * scan finished, and its generation. A full scan stamps every row it writes with its generation, then deletes the
 * rows of other generations: what the delta links could not tell (a reset, a bug, a crash) is repaired there.
 */
import type { CredentialInfo } from '../domain/expiry';
import { createWorkQueue } from '../lib/queues';
import type {
  CredentialChange,
  CredentialHolderRow,
  CredentialIndexRow,
  CredentialSyncRow,
  RangeCollection,
  RowWrite,
  Stored,
} from './ports';

export const CREDENTIAL_PARTITION = 'credential';
const SYNC_PARTITION = 'sync';
const SYNC_ROW = 'expiry-scan';
/** Azure Tables' limit on an entity-group transaction. */
const TRANSACTION_ROWS = 100;
const EXPIRY_PREFIX = 'e.';
const HOLDER_PREFIX = 'o.';

/** A credential's row: its expiry first (ISO 8601 in UTC sorts as time does), then what names it. */
export function expiryRow(credential: Pick<CredentialInfo, 'endDateTime' | 'applicationObjectId' | 'keyId'>): string {
  const end = new Date(credential.endDateTime).toISOString();
  return `${EXPIRY_PREFIX}${end}.${credential.applicationObjectId.toLowerCase()}.${credential.keyId.toLowerCase()}`;
}

export function holderRow(objectId: string): string {
  return `${HOLDER_PREFIX}${objectId.toLowerCase()}`;
}

/** A credential whose end is no date cannot expire, and has no place in the index. */
function indexable(credential: CredentialInfo): boolean {
  return Number.isFinite(Date.parse(credential.endDateTime));
}

export interface CredentialIndex {
  readSync(): Promise<Stored<CredentialSyncRow> | undefined>;
  /** Where the scan stands now; `etag` is the one it was read with (a change meanwhile is a ConflictError). */
  writeSync(value: Omit<CredentialSyncRow, 'type'>, etag?: string): Promise<void>;
  /**
   * A full scan's page: each holder's credential rows and holder row, stamped with the scan's generation, in
   * transactions of 100 writes queued while the next page is read. Rows it replaces are left to sweep().
   */
  put(credentials: readonly CredentialInfo[], generation: string): Promise<void>;
  /** Waits for the writes put() queued; throws the first that failed. */
  flush(): Promise<void>;
  /** A holder that changed: its rows as they are now, its old ones deleted (nothing at all when it is gone). */
  apply(change: CredentialChange, generation: string): Promise<void>;
  /** The credentials that end before `until` (expired ones included), in expiry order, a page at a time. */
  endingBefore(until: Date, pageSize?: number): AsyncIterable<CredentialInfo[]>;
  /** Those of `credentials` whose holders still list them: the credentials the tenant has. */
  listed<C extends { credential: CredentialInfo }>(items: readonly C[]): Promise<C[]>;
  /** After a full scan: deletes every row of another generation. Returns how many went. */
  sweep(generation: string): Promise<number>;
}

export function createCredentialIndex(
  table: RangeCollection<CredentialIndexRow>,
  options: { concurrency?: number } = {},
): CredentialIndex {
  const concurrency = options.concurrency ?? 8;
  let writes = createWorkQueue(concurrency, concurrency * 4);

  const transact = (operations: ReadonlyArray<RowWrite<CredentialIndexRow>>) =>
    table.transact(CREDENTIAL_PARTITION, operations);

  async function inChunks(operations: ReadonlyArray<RowWrite<CredentialIndexRow>>): Promise<void> {
    for (let i = 0; i < operations.length; i += TRANSACTION_ROWS)
      await transact(operations.slice(i, i + TRANSACTION_ROWS));
  }

  /** Credentials grouped by holder, each row once. */
  function byHolder(credentials: readonly CredentialInfo[]): Map<string, Map<string, CredentialInfo>> {
    const holders = new Map<string, Map<string, CredentialInfo>>();
    for (const credential of credentials) {
      if (!indexable(credential)) continue;
      const id = credential.applicationObjectId.toLowerCase();
      let rows = holders.get(id);
      if (!rows) holders.set(id, (rows = new Map()));
      rows.set(expiryRow(credential), credential);
    }
    return holders;
  }

  return {
    async readSync() {
      const stored = await table.get(SYNC_PARTITION, SYNC_ROW);
      if (!stored || stored.value.type !== 'sync') return undefined;
      return { value: stored.value, etag: stored.etag };
    },

    async writeSync(value, etag) {
      const row: CredentialSyncRow = { type: 'sync', ...value };
      if (etag) await table.replace(SYNC_PARTITION, SYNC_ROW, row, etag);
      else await table.upsert(SYNC_PARTITION, SYNC_ROW, row);
    },

    async put(credentials, generation) {
      const operations: Array<RowWrite<CredentialIndexRow>> = [];
      for (const [id, rows] of byHolder(credentials)) {
        const first = rows.values().next().value!;
        for (const [row, credential] of rows)
          operations.push({ op: 'upsert', row, value: { type: 'expiry', credential, generation } });
        const holder: CredentialHolderRow = {
          type: 'holder',
          source: first.source,
          rows: [...rows.keys()],
          generation,
        };
        operations.push({ op: 'upsert', row: holderRow(id), value: holder });
      }
      for (let i = 0; i < operations.length; i += TRANSACTION_ROWS) {
        const chunk = operations.slice(i, i + TRANSACTION_ROWS);
        await writes.push(() => transact(chunk).then(() => undefined));
      }
    },

    async flush() {
      try {
        await writes.drain();
      } finally {
        writes = createWorkQueue(concurrency, concurrency * 4);
      }
    },

    async apply(change, generation) {
      const id = change.holder.applicationObjectId.toLowerCase();
      const stored = await table.get(CREDENTIAL_PARTITION, holderRow(id));
      const before = stored?.value.type === 'holder' ? stored.value.rows : [];
      const rows = byHolder(change.credentials).get(id) ?? new Map<string, CredentialInfo>();
      if (rows.size === 0 && !stored) return;
      const kept = new Set(rows.keys());
      const deletes: Array<RowWrite<CredentialIndexRow>> = before
        .filter((row) => !kept.has(row))
        .map((row) => ({ op: 'delete', row }));
      if (rows.size === 0) {
        // Gone, or holds nothing now: its holder row first, so that its credential rows stop counting at once.
        await inChunks([{ op: 'delete', row: holderRow(id) }, ...deletes]);
        return;
      }
      const upserts: Array<RowWrite<CredentialIndexRow>> = [...rows].map(([row, credential]) => ({
        op: 'upsert',
        row,
        value: { type: 'expiry', credential, generation },
      }));
      const holder: RowWrite<CredentialIndexRow> = {
        op: 'upsert',
        row: holderRow(id),
        value: { type: 'holder', source: change.holder.source, rows: [...kept], generation },
      };
      // New rows, then the holder row that lists them, then the old rows: in order, whatever the chunks.
      await inChunks([...upserts, holder, ...deletes]);
    },

    async *endingBefore(until, pageSize = 500) {
      let page: CredentialInfo[] = [];
      const to = `${EXPIRY_PREFIX}${until.toISOString()}`;
      for await (const { value } of table.listRange(CREDENTIAL_PARTITION, EXPIRY_PREFIX, to)) {
        if (value.type !== 'expiry') continue;
        page.push(value.credential);
        if (page.length >= pageSize) {
          yield page;
          page = [];
        }
      }
      if (page.length > 0) yield page;
    },

    async listed(items) {
      const holders = new Map<string, Promise<Set<string>>>();
      const rowsOf = (id: string) => {
        let read = holders.get(id);
        if (!read) {
          read = table
            .get(CREDENTIAL_PARTITION, holderRow(id))
            .then((stored) => new Set(stored?.value.type === 'holder' ? stored.value.rows : []));
          holders.set(id, read);
        }
        return read;
      };
      const listed = await Promise.all(
        items.map(async ({ credential }) =>
          (await rowsOf(credential.applicationObjectId.toLowerCase())).has(expiryRow(credential)),
        ),
      );
      return items.filter((_, i) => listed[i]);
    },

    async sweep(generation) {
      let swept = 0;
      let batch: Array<RowWrite<CredentialIndexRow>> = [];
      const queue = createWorkQueue(concurrency, concurrency * 4);
      const send = async () => {
        const chunk = batch;
        batch = [];
        swept += chunk.length;
        await queue.push(() => transact(chunk).then(() => undefined));
      };
      try {
        // Holder rows (o.…) sort after credential rows (e.…): a holder left over goes after its credentials.
        for await (const { row, value } of table.list(CREDENTIAL_PARTITION)) {
          if (value.type === 'sync' || value.generation === generation) continue;
          batch.push({ op: 'delete', row });
          if (batch.length >= TRANSACTION_ROWS) await send();
        }
        if (batch.length > 0) await send();
      } catch (err) {
        queue.abandon();
        await queue.drain().catch(() => undefined);
        throw err;
      }
      await queue.drain();
      return swept;
    },
  };
}
