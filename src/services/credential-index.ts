/**
 * The expiry scan's copy of the tenant's credentials, in the credentials table, so that the everyday scan reads
 * from Graph only what changed (delta queries, https://learn.microsoft.com/graph/delta-query-overview) and finds
 * what crosses a threshold with a range query on expiry instead of listing every application.
 *
 * Layout. Each holder (an application or service principal) belongs to one of PARTITIONS partitions,
 * credential-0 to credential-f, by a hash of its object id; its rows live there together, the intra-partition
 * secondary index pattern
 * (https://learn.microsoft.com/azure/storage/tables/table-storage-design-patterns#intra-partition-secondary-index-pattern):
 * - e.<expiry>.<holder>.<keyId>: one credential, so that the credentials ending by a date are one range of rows;
 * - o.<holder>: the credential rows its holder has now, a fingerprint of them, and the full scan that last saw it.
 * Why sixteen partitions and not one: Azure Tables' target is 2,000 entities a second per partition
 * (https://learn.microsoft.com/azure/storage/tables/scalability-targets), so one partition would put a floor of
 * minutes under a large tenant's first scan, the hot-partition trouble the design guide warns of
 * (https://learn.microsoft.com/azure/storage/tables/table-storage-design-patterns#prepend-append-anti-pattern).
 * Why not one partition per holder: a holder's rows stay in one partition, so that rewriting a holder is one
 * entity-group transaction (all or none) whenever it fits in 100 writes, and the question "what ends by this date"
 * stays a range query on a fixed, small number of partitions: endingBefore() asks the sixteen at once and merges
 * their answers in expiry order. Sixteen partitions take 32,000 entities a second together, more than the
 * account's target of 20,000, so the account, not a partition, is the bound.
 *
 * What is indexed. Only credentials ending before the sync row's `indexedUntil`: the widest reminder threshold and
 * the days to the next full scan past the full scan's time (the expiry service picks it, and lists the tenant
 * again before any scan would look further). A credential ending later cannot cross a threshold before the next
 * full scan, so it needs no row; a holder with nothing to index has no rows at all. Most credentials end months
 * out, so the table holds a small share of the tenant (a tenant full of credentials about to end, or expired and
 * never removed, holds them all; the design stays correct, and costs what the rows cost).
 *
 * A full scan, page by page: the holders with something to index are read with point queries (their holder rows,
 * in their partitions, in parallel), and compared by fingerprint (a hash of what their credential rows hold); a
 * holder that changed is rewritten, one that did not gets its holder row stamped with the scan's generation, and
 * a holder with nothing to index is neither read nor written. No credential row is read. After the last page,
 * sweep() lists the holder rows only (the range o. of each partition), and removes those the scan did not stamp,
 * with the credential rows they list: drift (a change delta never reported, a holder gone) is repaired without
 * reading the credential rows. Memory holds a page, never the tenant.
 *
 * Invariants. A credential row counts only while its holder row lists it (listed()). A holder is rewritten by
 * writing its new credential rows, then its holder row, then deleting its old rows, in one transaction when they
 * fit in 100 writes: a scan that stops between two transactions leaves rows no holder lists (never announced),
 * and the rows a holder row stopped listing are kept on it as `retired` until a transaction that deletes them has
 * gone through, so that the next full scan deletes what a crash left. The next scan reads the same changes again,
 * because the delta links and generation it starts from were not advanced.
 *
 * Partition 'sync' holds where the scan stands: the delta links to read the next changes from, when the last full
 * scan finished, its generation and `indexedUntil`. Partition 'credential', where an earlier version kept every
 * row, is emptied by the next sweep.
 */
import { createHash } from 'node:crypto';
import type { CredentialInfo } from '../domain/expiry';
import { createLimiter, createWorkQueue, type Limiter } from '../lib/queues';
import type {
  CredentialChange,
  CredentialHolderRow,
  CredentialIndexRow,
  CredentialSyncRow,
  RangeCollection,
  RowWrite,
  Stored,
} from './ports';

/** How many partitions the holders are spread over (a power of two up to 16: one hex digit of the hash). */
export const PARTITIONS = 16;
/** Where an earlier version kept every row in one partition: emptied by sweep(). */
export const LEGACY_PARTITION = 'credential';
const SYNC_PARTITION = 'sync';
const SYNC_ROW = 'expiry-scan';
/** Azure Tables' limit on an entity-group transaction. */
const TRANSACTION_ROWS = 100;
const EXPIRY_PREFIX = 'e.';
const HOLDER_PREFIX = 'o.';
/** The first key after every holder row ('/' follows '.'). */
const HOLDER_END = 'o/';
/** Point reads of holder rows in flight at once, across the pages being worked on. */
const READS_AT_ONCE = 32;

/** A credential's row: its expiry first (ISO 8601 in UTC sorts as time does), then what names it. */
export function expiryRow(credential: Pick<CredentialInfo, 'endDateTime' | 'applicationObjectId' | 'keyId'>): string {
  const end = new Date(credential.endDateTime).toISOString();
  return `${EXPIRY_PREFIX}${end}.${credential.applicationObjectId.toLowerCase()}.${credential.keyId.toLowerCase()}`;
}

export function holderRow(objectId: string): string {
  return `${HOLDER_PREFIX}${objectId.toLowerCase()}`;
}

/** The partition of a holder's rows: credential-<first hex digit of the SHA-256 of its lower-case object id>. */
export function credentialPartition(objectId: string): string {
  const digest = createHash('sha256').update(objectId.toLowerCase()).digest();
  return `credential-${(digest[0]! % PARTITIONS).toString(16)}`;
}

/** Every partition holders are spread over, in order. */
export const CREDENTIAL_PARTITIONS: readonly string[] = Array.from(
  { length: PARTITIONS },
  (_, i) => `credential-${i.toString(16)}`,
);

/** What a holder's credential rows hold, in 22 characters: equal fingerprints, equal rows (SHA-256). */
export function fingerprintOf(rows: ReadonlyMap<string, CredentialInfo>): string {
  const hash = createHash('sha256');
  for (const row of [...rows.keys()].sort())
    hash
      .update(row)
      .update('\0')
      .update(JSON.stringify(rows.get(row)));
  return hash.digest('base64url').slice(0, 22);
}

/** A credential whose end is no date cannot expire, and has no place in the index. */
function indexable(credential: CredentialInfo, until: number): boolean {
  const end = Date.parse(credential.endDateTime);
  return Number.isFinite(end) && end < until;
}

export interface CredentialIndex {
  readSync(): Promise<Stored<CredentialSyncRow> | undefined>;
  /** Where the scan stands now; `etag` is the one it was read with (a change meanwhile is a ConflictError). */
  writeSync(value: Omit<CredentialSyncRow, 'type'>, etag?: string): Promise<void>;
  /**
   * A full scan's page: the holders with credentials ending before `until` are compared with their rows, and
   * those that changed rewritten, the others stamped with `generation`; worked on while the next page is read.
   * Rows of holders the scan does not stamp are left to sweep().
   */
  put(credentials: readonly CredentialInfo[], generation: string, until: Date): Promise<void>;
  /** Waits for the work put() queued; throws the first that failed. */
  flush(): Promise<void>;
  /** A holder that changed: its rows (those ending before `until`) as they are now, its old ones deleted. */
  apply(change: CredentialChange, generation: string, until: Date): Promise<void>;
  /** The credentials that end before `until` (expired ones included), in expiry order, a page at a time. */
  endingBefore(until: Date, pageSize?: number): AsyncIterable<CredentialInfo[]>;
  /** Those of `credentials` whose holders still list them: the credentials the tenant has. */
  listed<C extends { credential: CredentialInfo }>(items: readonly C[]): Promise<C[]>;
  /** After a full scan: deletes every holder the scan did not stamp with `generation`, and its rows. Returns how many rows went. */
  sweep(generation: string): Promise<number>;
}

/** A holder's credentials as its rows will be: row key to credential, each once. */
type HolderRows = Map<string, CredentialInfo>;

export function createCredentialIndex(
  table: RangeCollection<CredentialIndexRow>,
  options: { concurrency?: number } = {},
): CredentialIndex {
  const concurrency = options.concurrency ?? 8;
  let work = createWorkQueue(concurrency, concurrency * 4);
  const reads: Limiter = createLimiter(READS_AT_ONCE);

  /** In transactions of 100, in order: a holder's writes stay in one transaction when they fit. */
  async function inChunks(partition: string, operations: ReadonlyArray<RowWrite<CredentialIndexRow>>): Promise<void> {
    for (let i = 0; i < operations.length; i += TRANSACTION_ROWS)
      await table.transact(partition, operations.slice(i, i + TRANSACTION_ROWS));
  }

  /** Transactions of whole holders' writes (a holder split only when it alone needs more than 100). */
  function packed(
    holders: ReadonlyArray<ReadonlyArray<RowWrite<CredentialIndexRow>>>,
  ): Array<Array<RowWrite<CredentialIndexRow>>> {
    const transactions: Array<Array<RowWrite<CredentialIndexRow>>> = [];
    let current: Array<RowWrite<CredentialIndexRow>> = [];
    for (const writes of holders) {
      if (current.length > 0 && current.length + writes.length > TRANSACTION_ROWS) {
        transactions.push(current);
        current = [];
      }
      for (let i = 0; i < writes.length; i += TRANSACTION_ROWS) {
        const part = writes.slice(i, i + TRANSACTION_ROWS);
        if (current.length + part.length > TRANSACTION_ROWS) {
          transactions.push(current);
          current = [];
        }
        current.push(...part);
      }
    }
    if (current.length > 0) transactions.push(current);
    return transactions;
  }

  /** Credentials grouped by holder (lower-case id), only those ending before `until`. */
  function byHolder(credentials: readonly CredentialInfo[], until: Date): Map<string, HolderRows> {
    const holders = new Map<string, HolderRows>();
    const limit = until.getTime();
    for (const credential of credentials) {
      if (!indexable(credential, limit)) continue;
      const id = credential.applicationObjectId.toLowerCase();
      let rows = holders.get(id);
      if (!rows) holders.set(id, (rows = new Map()));
      rows.set(expiryRow(credential), credential);
    }
    return holders;
  }

  async function readHolder(id: string): Promise<CredentialHolderRow | undefined> {
    const stored = await reads.run(() => table.get(credentialPartition(id), holderRow(id)));
    return stored?.value.type === 'holder' ? stored.value : undefined;
  }

  /**
   * The writes that make a holder's rows `rows` (none: the holder goes), given its holder row `before`:
   * new credential rows, then the holder row, then the old rows' deletes (the holder row first when it goes, so
   * that its rows stop counting at once). `unchanged`: only the holder row, stamped.
   */
  function rewrite(
    id: string,
    source: CredentialInfo['source'],
    rows: HolderRows,
    before: CredentialHolderRow | undefined,
    generation: string,
  ): Array<RowWrite<CredentialIndexRow>> {
    const old = new Set([...(before?.rows ?? []), ...(before?.retired ?? [])]);
    for (const row of rows.keys()) old.delete(row);
    const deletes: Array<RowWrite<CredentialIndexRow>> = [...old].map((row) => ({ op: 'delete', row }));
    if (rows.size === 0) return before ? [{ op: 'delete', row: holderRow(id) }, ...deletes] : [];
    const fingerprint = fingerprintOf(rows);
    const holder: CredentialHolderRow = { type: 'holder', source, rows: [...rows.keys()], fingerprint, generation };
    if (before && before.fingerprint === fingerprint) {
      // Unchanged: stamped. Rows a crash left retired are deleted first, then the holder row forgets them.
      const retired = (before.retired ?? []).filter((row) => !rows.has(row));
      return [
        ...retired.map((row) => ({ op: 'delete' as const, row })),
        { op: 'upsert', row: holderRow(id), value: holder },
      ];
    }
    const upserts: Array<RowWrite<CredentialIndexRow>> = [...rows].map(([row, credential]) => ({
      op: 'upsert',
      row,
      value: { type: 'expiry', credential, generation },
    }));
    // More than one transaction: the holder row keeps the rows it stops listing, for the next full scan to delete
    // should this one stop before its deletes went through.
    if (upserts.length + 1 + deletes.length > TRANSACTION_ROWS && deletes.length > 0) holder.retired = [...old];
    return [...upserts, { op: 'upsert', row: holderRow(id), value: holder }, ...deletes];
  }

  /** One partition's holders of a page: read, compared, written. */
  async function reconcile(
    partition: string,
    holders: ReadonlyArray<[string, HolderRows]>,
    generation: string,
  ): Promise<void> {
    const befores = await Promise.all(holders.map(([id]) => readHolder(id)));
    const writes = holders.map(([id, rows], i) =>
      rewrite(id, rows.values().next().value!.source, rows, befores[i], generation),
    );
    for (const transaction of packed(writes)) await table.transact(partition, transaction);
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

    async put(credentials, generation, until) {
      const partitions = new Map<string, Array<[string, HolderRows]>>();
      for (const entry of byHolder(credentials, until)) {
        const partition = credentialPartition(entry[0]);
        let list = partitions.get(partition);
        if (!list) partitions.set(partition, (list = []));
        list.push(entry);
      }
      for (const [partition, holders] of partitions) await work.push(() => reconcile(partition, holders, generation));
    },

    async flush() {
      try {
        await work.drain();
      } finally {
        work = createWorkQueue(concurrency, concurrency * 4);
      }
    },

    async apply(change, generation, until) {
      const id = change.holder.applicationObjectId.toLowerCase();
      const before = await readHolder(id);
      const rows = byHolder(change.credentials, until).get(id) ?? new Map<string, CredentialInfo>();
      await inChunks(credentialPartition(id), rewrite(id, change.holder.source, rows, before, generation));
    },

    async *endingBefore(until, pageSize = 500) {
      const to = `${EXPIRY_PREFIX}${until.toISOString()}`;
      // The sixteen ranges read at once, merged by row key: the expiry order.
      const streams = CREDENTIAL_PARTITIONS.map((partition) =>
        table.listRange(partition, EXPIRY_PREFIX, to)[Symbol.asyncIterator](),
      );
      type Head = { row: string; credential: CredentialInfo } | undefined;
      const next = async (i: number): Promise<Head> => {
        for (;;) {
          const read = await streams[i]!.next();
          if (read.done) return undefined;
          if (read.value.value.type === 'expiry')
            return { row: read.value.row, credential: read.value.value.credential };
        }
      };
      const heads = await Promise.all(streams.map((_, i) => next(i)));
      let page: CredentialInfo[] = [];
      for (;;) {
        let least = -1;
        heads.forEach((head, i) => {
          if (head && (least < 0 || head.row < heads[least]!.row)) least = i;
        });
        if (least < 0) break;
        page.push(heads[least]!.credential);
        heads[least] = await next(least);
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
          read = readHolder(id).then((holder) => new Set(holder?.rows ?? []));
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
      const queue = createWorkQueue(concurrency, concurrency * 4);
      const send = (partition: string, transaction: ReadonlyArray<RowWrite<CredentialIndexRow>>) => {
        swept += transaction.length;
        return queue.push(() => table.transact(partition, transaction).then(() => undefined));
      };
      const sweepPartition = async (partition: string) => {
        // Holder rows only: a holder not stamped goes first, then the rows it lists, in one transaction when they fit.
        let holders: Array<Array<RowWrite<CredentialIndexRow>>> = [];
        const sendHolders = async () => {
          for (const transaction of packed(holders)) await send(partition, transaction);
          holders = [];
        };
        for await (const { row, value } of table.listRange(partition, HOLDER_PREFIX, HOLDER_END)) {
          if (value.type !== 'holder' || value.generation === generation) continue;
          const rows = new Set([...value.rows, ...(value.retired ?? [])]);
          holders.push([{ op: 'delete', row }, ...[...rows].map((r) => ({ op: 'delete' as const, row: r }))]);
          if (holders.length >= TRANSACTION_ROWS) await sendHolders();
        }
        await sendHolders();
      };
      // What an earlier version kept in one partition: every row goes (the full scan has just rewritten its own).
      const sweepLegacy = async () => {
        let batch: Array<RowWrite<CredentialIndexRow>> = [];
        for await (const { row } of table.list(LEGACY_PARTITION)) {
          batch.push({ op: 'delete', row });
          if (batch.length >= TRANSACTION_ROWS) {
            await send(LEGACY_PARTITION, batch);
            batch = [];
          }
        }
        if (batch.length > 0) await send(LEGACY_PARTITION, batch);
      };
      try {
        const listing = createLimiter(concurrency);
        await Promise.all([
          ...CREDENTIAL_PARTITIONS.map((partition) => listing.run(() => sweepPartition(partition))),
          listing.run(sweepLegacy),
        ]);
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
