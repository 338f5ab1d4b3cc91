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
 */
import { transition, type AppRequest, type AuditEvent, type RequestEvent, type TransitionActor } from '../domain/request';
import { ConflictError, RegistrarError } from '../domain/errors';
import type { AuditOutbox, RequestRecord } from '../domain/request';
import { auditRow, type Store, type Stored } from './ports';

export const REQUEST_PARTITION = 'request';

export type { AuditOutbox, RequestRecord } from '../domain/request';

/** The request without what only storage needs. */
export function toRequest(record: RequestRecord): AppRequest {
  const { lastAudit: _lastAudit, ...request } = record;
  return request;
}

export class RequestNotFound extends RegistrarError {
  constructor(readonly requestId: string) {
    super('not-found', `Registrar has no request ${requestId}. Check the id, or type \`mine\` to list your requests.`);
  }
}

export async function loadRequest(store: Store, requestId: string): Promise<Stored<RequestRecord>> {
  const stored = await store.requests.get(REQUEST_PARTITION, requestId);
  if (!stored) throw new RequestNotFound(requestId);
  return stored as Stored<RequestRecord>;
}

export async function listRequests(store: Store): Promise<Array<Stored<RequestRecord>>> {
  const out: Array<Stored<RequestRecord>> = [];
  for await (const { value, etag } of store.requests.list(REQUEST_PARTITION)) out.push({ value, etag });
  return out;
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

/** Creates a new request with its first audit row. Throws ConflictError('exists') when the id is taken. */
export async function createRecord(store: Store, request: AppRequest, audit: AuditEvent): Promise<CommitOutcome> {
  const record: RequestRecord = { ...request, lastAudit: { sequence: 1, event: audit } };
  const stored = (await store.requests.create(REQUEST_PARTITION, request.id, record)) as Stored<RequestRecord>;
  return { stored, audited: await flush(store, record) };
}

/**
 * Saves `next` over `current` if it is unchanged (ConflictError otherwise, and nothing written) and appends
 * `audit` as the next row. An audit write that fails after the save does not fail the move.
 */
export async function commitTransition(store: Store, current: Stored<RequestRecord>, next: AppRequest, audit: AuditEvent): Promise<CommitOutcome> {
  // The outbox is about to be overwritten: its row must exist first.
  if (current.value.lastAudit) await writeAuditRow(store, current.value.id, current.value.lastAudit);
  const sequence = (await latestSequence(store, current.value)) + 1;
  const { lastAudit: _previous, ...state } = next as RequestRecord;
  const record: RequestRecord = { ...state, lastAudit: { sequence, event: audit } };
  const stored = (await store.requests.replace(REQUEST_PARTITION, next.id, record, current.etag)) as Stored<RequestRecord>;
  return { stored, audited: await flush(store, record) };
}

export type MoveOutcome =
  /** Saved: `request` as stored, `from` as it was before the move. */
  | { changed: true; request: AppRequest; from: AppRequest; audited: boolean }
  /** Already made (a repeat), or no longer wanted: `request` as found. */
  | { changed: false; request: AppRequest; message?: string };

/**
 * Makes `event` on the request as stored, the one load → transition → commit loop: on a conflict (another copy saved
 * first) the request is read again and the move decided again, up to `attempts` times. `event` may depend on the
 * request (a delivery built from its form); it returns undefined when the move is no longer wanted. Errors of
 * transition() (an illegal move, a person not allowed) are thrown as they are.
 */
export async function moveRequest(
  store: Store,
  requestId: string,
  event: RequestEvent | ((request: AppRequest, now: Date) => RequestEvent | undefined),
  actor: TransitionActor,
  now: () => Date,
  attempts = 5,
): Promise<MoveOutcome> {
  for (let attempt = 1; ; attempt++) {
    const current = await loadRequest(store, requestId);
    const request = toRequest(current.value);
    const at = now();
    const wanted = typeof event === 'function' ? event(request, at) : event;
    if (!wanted) return { changed: false, request };
    const result = transition(request, wanted, actor, at);
    if (!result.changed) return { changed: false, request, message: result.message };
    try {
      const outcome = await commitTransition(store, current, result.request, result.audit);
      return { changed: true, request: toRequest(outcome.stored.value), from: request, audited: outcome.audited };
    } catch (err) {
      if (!(err instanceof ConflictError) || attempt >= attempts) throw err;
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
    try {
      const stored = await store.requests.replace(REQUEST_PARTITION, requestId, { ...current.value, ...annotation }, current.etag);
      return toRequest(stored.value as RequestRecord);
    } catch (err) {
      if (!(err instanceof ConflictError && err.reason === 'changed') || attempt >= 8) throw err;
    }
  }
}
