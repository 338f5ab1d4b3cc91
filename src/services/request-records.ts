/**
 * Requests as stored, and the one way to save a transition so that each one appends exactly one audit row.
 *
 * A request and its audit rows live in two tables, so they cannot be written in one transaction. The request
 * save is the commit point: the record carries the audit event of its latest move with its sequence number
 * (an outbox of one), written in the same ETag-guarded replace as the new state. The audit row is then created
 * at auditRow(sequence); a create that finds the row there is a repeat, not an error. So:
 * - a save that loses the ETag race writes no audit row (the row is written only after the save);
 * - a request saved whose audit row failed still has the event in its record: the next save of that request
 *   writes the row before it overwrites the outbox, and reading the trail (auditTrail) writes it too;
 * - sequence numbers come from the committed record, never from counting rows, so two moves in quick
 *   succession cannot take the same number.
 *
 * Every save also writes the request's index rows, in the same entity-group transaction as the record (they share
 * its partition: the intra-partition secondary index pattern,
 * https://learn.microsoft.com/azure/storage/tables/table-storage-design-patterns#intra-partition-secondary-index-pattern),
 * so that the sweeps, `mine`, `pending` and resume read the rows they need instead of every request ever made.
 * indexRowsOf says which rows a request has; the record lists the rows saved with it (indexRows), so the next save
 * deletes exactly those it no longer has. A save that loses the ETag race writes no index row either.
 */
import { transition, type AppRequest, type AuditEvent, type RequestEvent, type TransitionActor } from '../domain/request';
import { ConflictError, RegistrarError } from '../domain/errors';
import type { AuditOutbox, RequestRecord } from '../domain/request';
import {
  REQUEST_INDEX_PREFIX,
  auditRow,
  type IndexedRequestRecord,
  type RequestIndexRow,
  type RequestTableWrite,
  type Store,
  type Stored,
} from './ports';

export const REQUEST_PARTITION = 'request';

export type { AuditOutbox, RequestRecord } from '../domain/request';

/** The request without what only storage needs. */
export function toRequest(record: IndexedRequestRecord): AppRequest {
  const { lastAudit: _lastAudit, indexRows: _indexRows, ...request } = record;
  return request;
}

export class RequestNotFound extends RegistrarError {
  constructor(readonly requestId: string) {
    super('not-found', `Registrar has no request ${requestId}. Check the id, or type \`mine\` to list your requests.`);
  }
}

export async function loadRequest(store: Store, requestId: string): Promise<Stored<IndexedRequestRecord>> {
  const stored = await store.requests.get(REQUEST_PARTITION, requestId);
  if (!stored) throw new RequestNotFound(requestId);
  return stored;
}

async function writeAuditRow(store: Store, requestId: string, outbox: AuditOutbox): Promise<void> {
  try {
    await store.audit.create(requestId, auditRow(outbox.sequence), outbox.event);
  } catch (err) {
    if (!(err instanceof ConflictError && err.reason === 'exists')) throw err;
  }
}

async function auditRows(store: Store, requestId: string): Promise<Array<{ row: string; value: AuditEvent }>> {
  const rows: Array<{ row: string; value: AuditEvent }> = [];
  for await (const { row, value } of store.audit.list(requestId)) rows.push({ row, value });
  return rows.sort((a, b) => (a.row < b.row ? -1 : a.row > b.row ? 1 : 0));
}

/** The sequence of the latest committed move: from the outbox, or for an older record from its rows. */
async function latestSequence(store: Store, record: RequestRecord): Promise<number> {
  if (record.lastAudit) return record.lastAudit.sequence;
  const rows = await auditRows(store, record.id);
  const last = rows.at(-1);
  return last ? Number(last.row) : 0;
}

export interface CommitOutcome {
  stored: Stored<RequestRecord>;
  /** False when the request was saved but its audit row is still only in the outbox (written by the next reader). */
  audited: boolean;
}

/** Creates a new request with its index rows and first audit row. Throws ConflictError('exists') when the id is taken. */
export async function createRecord(store: Store, request: AppRequest, audit: AuditEvent): Promise<CommitOutcome> {
  const indexRows = indexRowsOf(request);
  const record: IndexedRequestRecord = { ...request, lastAudit: { sequence: 1, event: audit }, indexRows };
  const stored = await save(store, { on: 'record', op: 'create', row: request.id, value: record }, undefined);
  return { stored, audited: await flush(store, record) };
}

/**
 * Saves `next` over `current` if it is unchanged (ConflictError otherwise, and nothing written) and appends
 * `audit` as the next row. An audit write that fails after the save does not fail the move.
 */
export async function commitTransition(store: Store, current: Stored<IndexedRequestRecord>, next: AppRequest, audit: AuditEvent): Promise<CommitOutcome> {
  // The outbox is about to be overwritten: its row must exist first.
  if (current.value.lastAudit) await writeAuditRow(store, current.value.id, current.value.lastAudit);
  const sequence = (await latestSequence(store, current.value)) + 1;
  const record: IndexedRequestRecord = { ...toRequest(next), lastAudit: { sequence, event: audit }, indexRows: indexRowsOf(next) };
  const stored = await save(store, { on: 'record', op: 'replace', row: next.id, value: record, etag: current.etag }, current.value.indexRows);
  return { stored, audited: await flush(store, record) };
}

export type MoveOutcome =
  /** Saved: `request` as stored, `from` as it was before the move. */
  | { changed: true; request: AppRequest; from: AppRequest; audited: boolean }
  /** Already made (a repeat), or no longer wanted: `request` as found. */
  | { changed: false; request: AppRequest; message?: string };

/**
 * How many times a save that lost the ETag race is decided again from the request as stored: the one cap of every
 * move and annotation. Card annotations and duplicate runs cause most races; none has needed more than a few.
 */
export const SAVE_ATTEMPTS = 8;

/** What a move decides, given the request as stored: the event, none (no longer wanted), or a repeat with why. */
export type WantedMove = RequestEvent | { unchanged: string } | undefined;

/**
 * Makes `event` on the request as stored, the one load → transition → commit loop: on a conflict (another copy saved
 * first) the request is read again and the move decided again, up to SAVE_ATTEMPTS times. `event` may depend on the
 * request (a delivery built from its form, a check of who may act); it returns undefined when the move is no longer
 * wanted, or `{ unchanged }` to answer a repeat. Errors of `event` and of transition() (an illegal move, a person
 * not allowed) are thrown as they are.
 */
export async function moveRequest(
  store: Store,
  requestId: string,
  event: RequestEvent | ((request: AppRequest, now: Date) => WantedMove),
  actor: TransitionActor,
  now: () => Date,
): Promise<MoveOutcome> {
  for (let attempt = 1; ; attempt++) {
    const current = await loadRequest(store, requestId);
    const request = toRequest(current.value);
    const at = now();
    const wanted = typeof event === 'function' ? event(request, at) : event;
    if (!wanted) return { changed: false, request };
    if ('unchanged' in wanted) return { changed: false, request, message: wanted.unchanged };
    const result = transition(request, wanted, actor, at);
    if (!result.changed) return { changed: false, request, message: result.message };
    try {
      const outcome = await commitTransition(store, current, result.request, result.audit);
      return { changed: true, request: toRequest(outcome.stored.value), from: request, audited: outcome.audited };
    } catch (err) {
      if (!(err instanceof ConflictError) || attempt >= SAVE_ATTEMPTS) throw err;
    }
  }
}

async function flush(store: Store, record: RequestRecord): Promise<boolean> {
  if (!record.lastAudit) return true;
  try {
    await writeAuditRow(store, record.id, record.lastAudit);
    return true;
  } catch {
    return false;
  }
}

/** The request's audit trail in order, with the latest move's row written first if it was still pending. */
export async function auditTrail(store: Store, record: RequestRecord): Promise<AuditEvent[]> {
  let rows = await auditRows(store, record.id);
  const { lastAudit } = record;
  if (lastAudit && !rows.some((r) => r.row === auditRow(lastAudit.sequence))) {
    await writeAuditRow(store, record.id, lastAudit);
    rows = await auditRows(store, record.id);
  }
  return rows.map((r) => r.value);
}

/** What may be saved on a request outside a transition: where its cards are, and bookkeeping that is not a move. */
export type RequestAnnotation = Partial<Pick<AppRequest, 'approvalCards' | 'statusCard' | 'deliveryCard' | 'redactedAt' | 'requesterAddress' | 'rotation'>>;

/**
 * Saves an annotation on a request, ETag-guarded and read again on a conflict, without a move and so without an
 * audit row. `change` sees the latest request and returns what to set, or undefined when nothing needs saving.
 * Returns the request as saved (or as found, when nothing changed).
 */
export async function annotateRequest(store: Store, requestId: string, change: (request: AppRequest) => RequestAnnotation | undefined): Promise<AppRequest> {
  for (let attempt = 1; ; attempt++) {
    const current = await loadRequest(store, requestId);
    const annotation = change(toRequest(current.value));
    if (!annotation || Object.keys(annotation).length === 0) return toRequest(current.value);
    const next: AppRequest = { ...toRequest(current.value), ...annotation };
    const record: IndexedRequestRecord = { ...current.value, ...annotation, indexRows: indexRowsOf(next) };
    try {
      const stored = await save(store, { on: 'record', op: 'replace', row: requestId, value: record, etag: current.etag }, current.value.indexRows);
      return toRequest(stored.value);
    } catch (err) {
      if (!(err instanceof ConflictError && err.reason === 'changed') || attempt >= SAVE_ATTEMPTS) throw err;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
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
  if (request.delivery?.kind === 'secret' && !request.redactedAt) rows.push(`${IX}revealed.${isoKey(request.delivery.revealedAt)}.${id}`);
  return rows;
}

/**
 * The writes that take the index from the rows saved with the record (`previous`) to those of `next`. A record
 * older than the index (`previous` undefined) has no rows to delete: its rows are created, by upsert, in case
 * the backfill got there first.
 */
function indexWrites(requestId: string, previous: readonly string[] | undefined, next: readonly string[]): RequestTableWrite[] {
  const had = new Set(previous ?? []);
  const keep = new Set(next);
  const pointer: RequestIndexRow = { requestId };
  return [
    ...(previous ?? []).filter((row) => !keep.has(row)).map((row): RequestTableWrite => ({ on: 'index', op: 'delete', row })),
    ...next.filter((row) => !had.has(row)).map((row): RequestTableWrite => ({ on: 'index', op: 'upsert', row, value: pointer })),
  ];
}

/** Writes the record (its indexRows already set) and its index rows in one transaction, the record's ETag guarding both. */
async function save(
  store: Store,
  write: Extract<RequestTableWrite, { on: 'record'; op: 'create' | 'replace' }>,
  previousRows: readonly string[] | undefined,
): Promise<Stored<IndexedRequestRecord>> {
  const { value } = write;
  const [etag] = await store.requests.transactWithIndex(REQUEST_PARTITION, [write, ...indexWrites(value.id, previousRows, value.indexRows ?? [])]);
  if (!etag) throw new Error(`saving request ${value.id} returned no ETag`);
  return { value, etag };
}

/** Index rows from `from` up to `to` (excluded), at most `limit`. */
async function indexRange(store: Store, from: string, to: string, limit?: number): Promise<Array<{ row: string; requestId: string }>> {
  const out: Array<{ row: string; requestId: string }> = [];
  for await (const { row, value } of store.requests.index.listRange(REQUEST_PARTITION, from, to, limit === undefined ? {} : { limit })) {
    if ('requestId' in value) out.push({ row, requestId: value.requestId });
  }
  return out;
}

/**
 * The requests the rows point to, in the order of the rows. An index row is a pointer: it counts only when the
 * record, read now, lists it among the rows saved with it (a row left by a crash or an older copy is skipped).
 */
async function follow(store: Store, pointers: ReadonlyArray<{ row: string; requestId: string }>): Promise<Array<Stored<IndexedRequestRecord>>> {
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
export async function requestsInState(store: Store, status: IndexedStatus, options: { dueBy?: Date } = {}): Promise<Array<Stored<IndexedRequestRecord>>> {
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
export async function requestsOf(store: Store, aadObjectId: string, options: { limit: number }): Promise<Array<Stored<IndexedRequestRecord>>> {
  const prefix = `${IX}by.${personKey(aadObjectId)}.`;
  const mine = await follow(store, await indexRange(store, prefix, `${prefix}${END}`, options.limit));
  return mine.filter((s) => personKey(s.value.requester.aadObjectId) === personKey(aadObjectId));
}

/** How many undecided (submitted) requests one person has: one index row each, and a read of each to check it. */
export async function openRequestCount(store: Store, aadObjectId: string): Promise<number> {
  const prefix = `${IX}open.${personKey(aadObjectId)}.`;
  const open = await follow(store, await indexRange(store, prefix, `${prefix}${END}`));
  return open.filter((s) => s.value.status === 'submitted' && personKey(s.value.requester.aadObjectId) === personKey(aadObjectId)).length;
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
  if (await store.requests.index.get(REQUEST_PARTITION, BACKFILL_MARKER)) return { indexed: 0, skipped: [], ran: false };
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
  await store.requests.index.upsert(REQUEST_PARTITION, BACKFILL_MARKER, { backfilledAt: now.toISOString(), records: outcome.indexed });
  return outcome;
}

/** The record with its index rows listed, and those rows; undefined when the row holds no request. */
function legacyWrites(row: string, value: IndexedRequestRecord, etag: string): RequestTableWrite[] | undefined {
  if (value.id !== row || typeof value.requester?.aadObjectId !== 'string' || typeof value.createdAt !== 'string') return undefined;
  const indexRows = indexRowsOf(toRequest(value));
  return [{ on: 'record', op: 'replace', row, value: { ...value, indexRows }, etag }, ...indexWrites(row, undefined, indexRows)];
}

/** Indexes a batch in one transaction; when a record changed meanwhile, each is read again and indexed on its own. */
async function indexLegacy(store: Store, batch: ReadonlyArray<{ stored: Stored<IndexedRequestRecord>; writes: RequestTableWrite[] }>): Promise<number> {
  try {
    await store.requests.transactWithIndex(REQUEST_PARTITION, batch.flatMap((b) => b.writes));
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
