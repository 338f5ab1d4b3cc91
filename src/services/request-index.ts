/**
 * The request index: rows in the Requests table's partition beside the records, written in the same entity-group
 * transaction as each save (request-records.ts), and the reads that follow them, so that the sweeps, `mine`,
 * `pending`, resume and catch-up read the rows they need instead of every request ever made. The intra-partition
 * secondary index pattern:
 * https://learn.microsoft.com/azure/storage/tables/table-storage-design-patterns#intra-partition-secondary-index-pattern
 */
import { ConflictError } from '../domain/errors';
import type { AppRequest } from '../domain/request';
import {
  REQUEST_INDEX_PREFIX,
  REQUEST_PARTITION,
  type IndexedRequestRecord,
  type RequestIndexRow,
  type RequestTableWrite,
  type Store,
  type Stored,
} from './ports';

// The index. Record rows are request ids ([0-9A-Z]{8}); index rows start with REQUEST_INDEX_PREFIX, lowercase, so
// they never collide and sort after them. Keys are made of characters the table stores as they are (ISO times,
// GUIDs, ids), so they sort as written and a prefix is a range:
//   ix.state.<status>.<due>.<id>    open statuses only, by when they are due: submitted by expiresAt (the expiry
//                                   sweep reads only what is due), approved and provisioning by updatedAt (resume),
//                                   provisioned by provisionedAt (catch-up, the delivery TTL)
//   ix.revealed.<revealedAt>.<id>   a revealed secret still on its card (the redaction sweep)
//   ix.by.<requester>.<newest>.<id> every request, the person's newest first (mine)
//   ix.open.<requester>.<id>        undecided requests of one person (OPEN_REQUESTS_PER_USER)
// Decided requests (delivered, rejected, expired, cancelled, failed: a failed one is retried from its card, by id)
// keep only their ix.by row, so what the sweeps, pending and resume read does not grow with them.

/** The open statuses, each with an ix.state row. */
export type IndexedStatus = 'submitted' | 'approved' | 'provisioning' | 'provisioned';

const IX = REQUEST_INDEX_PREFIX;
/** After every character a key holds: prefix + END ends the range of the keys that start with prefix. */
const END = '\uffff';
/** 9999999999999 ms is in the year 2286: newest-first keys subtract from it and keep 13 digits. */
const LAST_MS = 9_999_999_999_999;
/** Records read at once when following index rows. */
const LOAD_CONCURRENCY = 8;
/** Azure Tables' limit on an entity-group transaction. */
const MAX_TRANSACTION = 100;
/** The marker row of the backfill (ensureRequestIndex). */
const BACKFILL_MARKER = `${IX}backfilled`;

/** A time as toISOString writes it, so that keys compare as times do (a value that is no time is kept as it is). */
function isoKey(time: string): string {
  const ms = Date.parse(time);
  return Number.isNaN(ms) ? time : new Date(ms).toISOString();
}

/**
 * Newest first in ascending key order: the log tail pattern's inverted time,
 * https://learn.microsoft.com/azure/storage/tables/table-storage-design-patterns#log-tail-pattern
 */
function newestFirstKey(time: string): string {
  const ms = Date.parse(time);
  return String(LAST_MS - (Number.isNaN(ms) ? 0 : Math.min(Math.max(ms, 0), LAST_MS))).padStart(13, '0');
}

const personKey = (aadObjectId: string) => aadObjectId.toLowerCase();

/** When a request in an open status is due: the time its ix.state row sorts by. */
function dueOf(request: AppRequest): string | undefined {
  switch (request.status) {
    case 'submitted':
      return request.expiresAt;
    case 'approved':
    case 'provisioning':
      return request.updatedAt;
    case 'provisioned':
      return request.provisionedAt ?? request.updatedAt;
    default:
      return undefined;
  }
}

/** The index rows a request has in its current state (pure). */
export function indexRowsOf(request: AppRequest): string[] {
  const { id } = request;
  const person = personKey(request.requester.aadObjectId);
  const rows = [`${IX}by.${person}.${newestFirstKey(request.createdAt)}.${id}`];
  const due = dueOf(request);
  if (due !== undefined) rows.push(`${IX}state.${request.status}.${isoKey(due)}.${id}`);
  if (request.status === 'submitted') rows.push(`${IX}open.${person}.${id}`);
  if (request.delivery?.kind === 'secret' && !request.redactedAt)
    rows.push(`${IX}revealed.${isoKey(request.delivery.revealedAt)}.${id}`);
  return rows;
}

/**
 * The writes that take the index from the rows saved with the record (`previous`) to those of `next`. A record
 * older than the index (`previous` undefined) has no rows to delete: its rows are created, by upsert, in case
 * the backfill got there first.
 */
export function indexWrites(
  requestId: string,
  previous: readonly string[] | undefined,
  next: readonly string[],
): RequestTableWrite[] {
  const had = new Set(previous ?? []);
  const keep = new Set(next);
  const pointer: RequestIndexRow = { requestId };
  return [
    ...(previous ?? [])
      .filter((row) => !keep.has(row))
      .map((row): RequestTableWrite => ({ on: 'index', op: 'delete', row })),
    ...next
      .filter((row) => !had.has(row))
      .map((row): RequestTableWrite => ({ on: 'index', op: 'upsert', row, value: pointer })),
  ];
}

/** Index rows from `from` up to `to` (excluded), at most `limit`. */
async function indexRange(
  store: Store,
  from: string,
  to: string,
  limit?: number,
): Promise<Array<{ row: string; requestId: string }>> {
  const out: Array<{ row: string; requestId: string }> = [];
  for await (const { row, value } of store.requests.index.listRange(
    REQUEST_PARTITION,
    from,
    to,
    limit === undefined ? {} : { limit },
  )) {
    if ('requestId' in value) out.push({ row, requestId: value.requestId });
  }
  return out;
}

/**
 * The requests the rows point to, in the order of the rows. An index row is a pointer: it counts only when the
 * record, read now, lists it among the rows saved with it (a row left by a crash or an older copy is skipped).
 */
async function follow(
  store: Store,
  pointers: ReadonlyArray<{ row: string; requestId: string }>,
): Promise<Array<Stored<IndexedRequestRecord>>> {
  const found: Array<Stored<IndexedRequestRecord> | undefined> = [];
  for (let start = 0; start < pointers.length; start += LOAD_CONCURRENCY) {
    const slice = pointers.slice(start, start + LOAD_CONCURRENCY);
    const loaded = await Promise.all(slice.map(({ requestId }) => store.requests.get(REQUEST_PARTITION, requestId)));
    loaded.forEach((stored, i) => found.push(stored?.value.indexRows?.includes(slice[i]!.row) ? stored : undefined));
  }
  const seen = new Set<string>();
  return found.filter((stored): stored is Stored<IndexedRequestRecord> => {
    if (!stored || seen.has(stored.value.id)) return false;
    seen.add(stored.value.id);
    return true;
  });
}

/**
 * The requests in an open status, soonest due first (submitted: by expiresAt; approved and provisioning: by
 * updatedAt; provisioned: by provisionedAt); with `dueBy`, only those due at or before it.
 */
export async function requestsInState(
  store: Store,
  status: IndexedStatus,
  options: { dueBy?: Date } = {},
): Promise<Array<Stored<IndexedRequestRecord>>> {
  const prefix = `${IX}state.${status}.`;
  const to = options.dueBy ? `${prefix}${options.dueBy.toISOString()}${END}` : `${prefix}${END}`;
  return (await follow(store, await indexRange(store, prefix, to))).filter((s) => s.value.status === status);
}

/** Requests whose secret was revealed at or before `cutoff` and is still on its card, earliest first. */
export async function revealedBy(store: Store, cutoff: Date): Promise<Array<Stored<IndexedRequestRecord>>> {
  const prefix = `${IX}revealed.`;
  return follow(store, await indexRange(store, prefix, `${prefix}${cutoff.toISOString()}${END}`));
}

/** One person's requests, newest first, at most `limit`. */
export async function requestsOf(
  store: Store,
  aadObjectId: string,
  options: { limit: number },
): Promise<Array<Stored<IndexedRequestRecord>>> {
  const prefix = `${IX}by.${personKey(aadObjectId)}.`;
  const mine = await follow(store, await indexRange(store, prefix, `${prefix}${END}`, options.limit));
  return mine.filter((s) => personKey(s.value.requester.aadObjectId) === personKey(aadObjectId));
}

/** How many undecided (submitted) requests one person has: one index row each, and a read of each to check it. */
export async function openRequestCount(store: Store, aadObjectId: string): Promise<number> {
  const prefix = `${IX}open.${personKey(aadObjectId)}.`;
  const open = await follow(store, await indexRange(store, prefix, `${prefix}${END}`));
  return open.filter(
    (s) => s.value.status === 'submitted' && personKey(s.value.requester.aadObjectId) === personKey(aadObjectId),
  ).length;
}

export interface BackfillOutcome {
  /** Records given their index rows by this call. */
  indexed: number;
  /** Records that could not be indexed (not a request: no requester, no id); readers never find them. */
  skipped: string[];
  /** False when the marker said the backfill had already run: nothing was read. */
  ran: boolean;
}

/**
 * Gives the records saved before the index their index rows, once: a marker row records that it ran, so a later
 * start reads one row. Safe to run in several processes at once and beside saves: each record is indexed in one
 * transaction guarded by its ETag, and one that a save indexed meanwhile is left as it is.
 */
export async function ensureRequestIndex(store: Store, now: Date = new Date()): Promise<BackfillOutcome> {
  if (await store.requests.index.get(REQUEST_PARTITION, BACKFILL_MARKER))
    return { indexed: 0, skipped: [], ran: false };
  const outcome: BackfillOutcome = { indexed: 0, skipped: [], ran: true };
  // Several records to a transaction: a store of 10,000 old requests is indexed in a few hundred round trips.
  let batch: Array<{ stored: Stored<IndexedRequestRecord>; writes: RequestTableWrite[] }> = [];
  let writesInBatch = 0;
  const flushBatch = async () => {
    if (batch.length > 0) outcome.indexed += await indexLegacy(store, batch);
    batch = [];
    writesInBatch = 0;
  };
  for await (const { row, value, etag } of store.requests.list(REQUEST_PARTITION)) {
    if (value.indexRows) continue;
    const writes = legacyWrites(row, value, etag);
    if (!writes) {
      outcome.skipped.push(row);
      continue;
    }
    if (writesInBatch + writes.length > MAX_TRANSACTION) await flushBatch();
    batch.push({ stored: { value, etag }, writes });
    writesInBatch += writes.length;
  }
  await flushBatch();
  await store.requests.index.upsert(REQUEST_PARTITION, BACKFILL_MARKER, {
    backfilledAt: now.toISOString(),
    records: outcome.indexed,
  });
  return outcome;
}

/** The record with its index rows listed, and those rows; undefined when the row holds no request. */
function legacyWrites(row: string, value: IndexedRequestRecord, etag: string): RequestTableWrite[] | undefined {
  if (value.id !== row || typeof value.requester?.aadObjectId !== 'string' || typeof value.createdAt !== 'string')
    return undefined;
  const indexRows = indexRowsOf(value);
  return [
    { on: 'record', op: 'replace', row, value: { ...value, indexRows }, etag },
    ...indexWrites(row, undefined, indexRows),
  ];
}

/** Indexes a batch in one transaction; when a record changed meanwhile, each is read again and indexed on its own. */
async function indexLegacy(
  store: Store,
  batch: ReadonlyArray<{ stored: Stored<IndexedRequestRecord>; writes: RequestTableWrite[] }>,
): Promise<number> {
  try {
    await store.requests.transactWithIndex(
      REQUEST_PARTITION,
      batch.flatMap((b) => b.writes),
    );
    return batch.length;
  } catch (err) {
    if (!(err instanceof ConflictError)) throw err;
  }
  let indexed = 0;
  for (const { stored } of batch) indexed += await indexOne(store, stored.value.id);
  return indexed;
}

async function indexOne(store: Store, requestId: string): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const current = await store.requests.get(REQUEST_PARTITION, requestId);
    if (!current || current.value.indexRows) return 0;
    const writes = legacyWrites(requestId, current.value, current.etag);
    if (!writes) return 0;
    try {
      await store.requests.transactWithIndex(REQUEST_PARTITION, writes);
      return 1;
    } catch (err) {
      if (!(err instanceof ConflictError) || attempt >= 5) throw err;
    }
  }
}
