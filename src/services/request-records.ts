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
import {
  transition,
  type AppRequest,
  type AuditEvent,
  type RequestEvent,
  type TransitionActor,
} from '../domain/request';
import { ConflictError, RegistrarError } from '../domain/errors';
import type { AuditOutbox, RequestRecord } from '../domain/request';
import { indexRowsOf, indexWrites } from './request-index';
import {
  REQUEST_PARTITION,
  auditRow,
  type IndexedRequestRecord,
  type RequestTableWrite,
  type Store,
  type Stored,
} from './ports';

export { REQUEST_PARTITION };

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
export async function commitTransition(
  store: Store,
  current: Stored<IndexedRequestRecord>,
  next: AppRequest,
  audit: AuditEvent,
): Promise<CommitOutcome> {
  // The outbox is about to be overwritten: its row must exist first.
  if (current.value.lastAudit) await writeAuditRow(store, current.value.id, current.value.lastAudit);
  const sequence = (await latestSequence(store, current.value)) + 1;
  const record: IndexedRequestRecord = {
    ...toRequest(next),
    lastAudit: { sequence, event: audit },
    indexRows: indexRowsOf(next),
  };
  const stored = await save(
    store,
    { on: 'record', op: 'replace', row: next.id, value: record, etag: current.etag },
    current.value.indexRows,
  );
  return { stored, audited: await flush(store, record) };
}

export type MoveOutcome =
  /** Saved: `request` as stored (`stored` with its ETag), `from` as it was before the move. */
  | { changed: true; request: AppRequest; stored: Stored<IndexedRequestRecord>; from: AppRequest; audited: boolean }
  /** Already made (a repeat), or no longer wanted: `request` as found. */
  | { changed: false; request: AppRequest; stored: Stored<IndexedRequestRecord>; message?: string };

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
  /** The request as the caller just read it: the first attempt decides on it instead of reading it again. */
  known?: Stored<IndexedRequestRecord>,
): Promise<MoveOutcome> {
  for (let attempt = 1; ; attempt++) {
    const current = attempt === 1 && known ? known : await loadRequest(store, requestId);
    const request = toRequest(current.value);
    const at = now();
    const wanted = typeof event === 'function' ? event(request, at) : event;
    if (!wanted) return { changed: false, request, stored: current };
    if ('unchanged' in wanted) return { changed: false, request, stored: current, message: wanted.unchanged };
    const result = transition(request, wanted, actor, at);
    if (!result.changed) return { changed: false, request, stored: current, message: result.message };
    try {
      const outcome = await commitTransition(store, current, result.request, result.audit);
      return {
        changed: true,
        request: toRequest(outcome.stored.value),
        stored: outcome.stored,
        from: request,
        audited: outcome.audited,
      };
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
export type RequestAnnotation = Partial<
  Pick<
    AppRequest,
    'approvalCards' | 'reviewCards' | 'statusCard' | 'deliveryCard' | 'redactedAt' | 'requesterAddress' | 'rotation'
  >
>;

/**
 * Saves an annotation on a request, ETag-guarded and read again on a conflict, without a move and so without an
 * audit row. `change` sees the latest request and returns what to set, or undefined when nothing needs saving.
 * Returns the request as saved (or as found, when nothing changed).
 */
export async function annotateRequest(
  store: Store,
  requestId: string,
  change: (request: AppRequest) => RequestAnnotation | undefined,
): Promise<AppRequest> {
  for (let attempt = 1; ; attempt++) {
    const current = await loadRequest(store, requestId);
    const annotation = change(toRequest(current.value));
    if (!annotation || Object.keys(annotation).length === 0) return toRequest(current.value);
    const next: AppRequest = { ...toRequest(current.value), ...annotation };
    const record: IndexedRequestRecord = { ...current.value, ...annotation, indexRows: indexRowsOf(next) };
    try {
      const stored = await save(
        store,
        { on: 'record', op: 'replace', row: requestId, value: record, etag: current.etag },
        current.value.indexRows,
      );
      return toRequest(stored.value);
    } catch (err) {
      if (!(err instanceof ConflictError && err.reason === 'changed') || attempt >= SAVE_ATTEMPTS) throw err;
    }
  }
}

/** Writes the record (its indexRows already set) and its index rows in one transaction, the record's ETag guarding both. */
async function save(
  store: Store,
  write: Extract<RequestTableWrite, { on: 'record'; op: 'create' | 'replace' }>,
  previousRows: readonly string[] | undefined,
): Promise<Stored<IndexedRequestRecord>> {
  const { value } = write;
  const [etag] = await store.requests.transactWithIndex(REQUEST_PARTITION, [
    write,
    ...indexWrites(value.id, previousRows, value.indexRows ?? []),
  ]);
  if (!etag) throw new Error(`saving request ${value.id} returned no ETag`);
  return { value, etag };
}

export {
  type BackfillOutcome,
  type IndexedStatus,
  ensureRequestIndex,
  indexRowsOf,
  openRequestCount,
  requestsInState,
  requestsOf,
  revealedBy,
} from './request-index';
