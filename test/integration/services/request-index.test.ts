/**
 * The request index (request-records.ts) against the run's Azurite: the index rows follow every save of a request,
 * a save that loses the ETag race writes none, and the backfill indexes older records once.
 */
import { countingStore, requestIdFor, sampleRequest, seed } from '../../../bench/request-index';
import { ConflictError } from '../../../src/domain/errors';
import {
  registrarActor,
  transition,
  type AppRequest,
  type AuditEvent,
  type RequestEvent,
  type TransitionActor,
} from '../../../src/domain/request';
import type { Store } from '../../../src/services/ports';
import {
  REQUEST_PARTITION,
  annotateRequest,
  commitTransition,
  createRecord,
  ensureRequestIndex,
  indexRowsOf,
  loadRequest,
  moveRequest,
  openRequestCount,
  requestsInState,
  requestsOf,
  revealedBy,
} from '../../../src/services/request-records';
import { createTestStore, type TestStore } from '../../helpers/storage';

const rita = 'aaaaaaaa-0000-4000-8000-000000000001';
const omar = 'aaaaaaaa-0000-4000-8000-000000000002';
const alice: TransitionActor = { aadObjectId: 'bbbbbbbb-0000-4000-8000-00000000000a', name: 'Alice' };
const ritaActor: TransitionActor = { aadObjectId: rita, name: 'Rita' };
const submittedAt = new Date('2026-03-02T09:00:00.000Z');

const stores: TestStore[] = [];
afterAll(async () => {
  await Promise.all(stores.map((s) => s.cleanup()));
});

async function newStore(): Promise<Store> {
  const testStore = await createTestStore();
  stores.push(testStore);
  return testStore.store;
}

const submitAudit = (request: AppRequest): AuditEvent => ({
  at: request.createdAt,
  by: request.requester,
  event: 'submit',
  from: null,
  to: 'submitted',
  detail: 'submitted',
});

/** Every index row in the store (the backfill marker aside), sorted. */
async function indexRows(store: Store): Promise<string[]> {
  const rows: string[] = [];
  for await (const { row, value } of store.requests.index.list(REQUEST_PARTITION))
    if ('requestId' in value) rows.push(row);
  return rows.sort();
}

/** Makes `event` on the stored request at `at`. */
async function move(
  store: Store,
  id: string,
  event: RequestEvent,
  actor: TransitionActor,
  at: Date,
): Promise<AppRequest> {
  const moved = await moveRequest(store, id, event, actor, () => at);
  if (!moved.changed) throw new Error(`${event.type} did not change request ${id}`);
  return moved.request;
}

/** The ix.by row: newest first, as 9999999999999 minus the creation time in ms. */
const byRow = (person: string, request: AppRequest) =>
  `ix.by.${person}.${9_999_999_999_999 - Date.parse(request.createdAt)}.${request.id}`;
const later = (minutes: number) => new Date(submittedAt.getTime() + minutes * 60_000);
const ids = (requests: ReadonlyArray<{ value: AppRequest }>) => requests.map((s) => s.value.id);

describe('the index rows follow the request', () => {
  test('when a request is submitted, approved, provisioned, delivered and its secret hidden, then after each save it has exactly the rows of its state', async () => {
    const store = await newStore();
    const id = requestIdFor(1);
    const submitted = sampleRequest(id, rita, submittedAt);
    await createRecord(store, submitted, submitAudit(submitted));

    expect(await indexRows(store)).toEqual([
      `ix.by.${rita}.8227557999999.${id}`,
      `ix.open.${rita}.${id}`,
      `ix.state.submitted.2026-03-09T09:00:00.000Z.${id}`,
    ]);
    expect(ids(await requestsInState(store, 'submitted'))).toEqual([id]);
    expect(await openRequestCount(store, rita)).toBe(1);

    await move(store, id, { type: 'approve' }, alice, later(1));
    expect(await indexRows(store)).toEqual([
      `ix.by.${rita}.8227557999999.${id}`,
      `ix.state.approved.2026-03-02T09:01:00.000Z.${id}`,
    ]);
    expect(await openRequestCount(store, rita)).toBe(0);

    await move(store, id, { type: 'startProvisioning' }, registrarActor, later(2));
    expect(await indexRows(store)).toEqual([
      `ix.by.${rita}.8227557999999.${id}`,
      `ix.state.provisioning.2026-03-02T09:02:00.000Z.${id}`,
    ]);

    await move(
      store,
      id,
      { type: 'completeStep', result: { step: 'application', applicationObjectId: 'app-object', appId: 'app-id' } },
      registrarActor,
      later(3),
    );
    await move(
      store,
      id,
      { type: 'completeStep', result: { step: 'owners', ownerIds: [rita] } },
      registrarActor,
      later(4),
    );
    await move(
      store,
      id,
      { type: 'completeStep', result: { step: 'servicePrincipal', servicePrincipalId: 'sp' } },
      registrarActor,
      later(5),
    );
    await move(
      store,
      id,
      { type: 'completeStep', result: { step: 'consent', appRoleAssignmentIds: [], oauth2PermissionGrantIds: [] } },
      registrarActor,
      later(6),
    );
    expect(await indexRows(store)).toEqual([
      `ix.by.${rita}.8227557999999.${id}`,
      `ix.state.provisioning.2026-03-02T09:06:00.000Z.${id}`,
    ]);
    expect(ids(await requestsInState(store, 'provisioning'))).toEqual([id]);

    await move(store, id, { type: 'succeed' }, registrarActor, later(7));
    expect(await indexRows(store)).toEqual([
      `ix.by.${rita}.8227557999999.${id}`,
      `ix.state.provisioned.2026-03-02T09:07:00.000Z.${id}`,
    ]);
    expect(ids(await requestsInState(store, 'provisioned'))).toEqual([id]);

    const delivery = {
      kind: 'secret',
      keyId: 'key-1',
      hint: 'abc',
      endDateTime: '2026-09-01T00:00:00.000Z',
      revealedAt: later(8).toISOString(),
    } as const;
    await move(store, id, { type: 'deliver', delivery }, ritaActor, later(8));
    expect(await indexRows(store)).toEqual([
      `ix.by.${rita}.8227557999999.${id}`,
      `ix.revealed.2026-03-02T09:08:00.000Z.${id}`,
    ]);
    expect(ids(await revealedBy(store, later(8)))).toEqual([id]);
    expect(ids(await revealedBy(store, later(7)))).toEqual([]);

    await annotateRequest(store, id, () => ({ redactedAt: later(18).toISOString() }));
    expect(await indexRows(store)).toEqual([`ix.by.${rita}.8227557999999.${id}`]);
    expect(ids(await revealedBy(store, later(60)))).toEqual([]);
    expect(ids(await requestsOf(store, rita, { limit: 10 }))).toEqual([id]);
  });

  test('when requests are rejected, cancelled or expire, then only their ix.by row is left, and an annotation that changes no state keeps the rows', async () => {
    const store = await newStore();
    const [rejected, cancelled, expired, waiting] = [1, 2, 3, 4].map((n) =>
      sampleRequest(requestIdFor(n), rita, later(n)),
    );
    for (const request of [rejected!, cancelled!, expired!, waiting!])
      await createRecord(store, request, submitAudit(request));

    await move(store, rejected!.id, { type: 'reject', reason: 'Not needed.' }, alice, later(10));
    await move(store, cancelled!.id, { type: 'cancel' }, ritaActor, later(10));
    await move(store, expired!.id, { type: 'expire' }, registrarActor, new Date(Date.parse(expired!.expiresAt)));
    await annotateRequest(store, waiting!.id, () => ({ statusCard: { conversationId: 'a:rita', activityId: '1' } }));

    const rows = await indexRows(store);
    for (const request of [rejected!, cancelled!, expired!])
      expect(rows.filter((r) => r.endsWith(request.id))).toEqual([byRow(rita, request)]);
    expect(rows.filter((r) => r.endsWith(waiting!.id))).toEqual(indexRowsOf(waiting!).sort());
    expect(ids(await requestsInState(store, 'submitted'))).toEqual([waiting!.id]);
    expect(await openRequestCount(store, rita)).toBe(1);
  });

  test('when a person has several requests, then requestsOf lists theirs only, newest first, up to the limit', async () => {
    const store = await newStore();
    const requests = [1, 2, 3, 4].map((n) => sampleRequest(requestIdFor(n), n === 3 ? omar : rita, later(n)));
    await seed(store, requests);

    expect(ids(await requestsOf(store, rita, { limit: 10 }))).toEqual([
      requestIdFor(4),
      requestIdFor(2),
      requestIdFor(1),
    ]);
    expect(ids(await requestsOf(store, rita.toUpperCase(), { limit: 2 }))).toEqual([requestIdFor(4), requestIdFor(2)]);
    expect(ids(await requestsOf(store, omar, { limit: 10 }))).toEqual([requestIdFor(3)]);
  });

  test('when the expiry sweep asks for what is due, then it gets the submitted requests whose expiry has come, soonest first, and none other', async () => {
    const store = await newStore();
    const requests = [3, 1, 2].map((n) => sampleRequest(requestIdFor(n), rita, later(n * 60)));
    await seed(store, requests);
    const secondExpiry = new Date(Date.parse(requests[2]!.expiresAt));

    expect(ids(await requestsInState(store, 'submitted', { dueBy: secondExpiry }))).toEqual([
      requestIdFor(1),
      requestIdFor(2),
    ]);
    expect(ids(await requestsInState(store, 'submitted', { dueBy: new Date(secondExpiry.getTime() - 1) }))).toEqual([
      requestIdFor(1),
    ]);
    expect(ids(await requestsInState(store, 'submitted'))).toEqual([requestIdFor(1), requestIdFor(2), requestIdFor(3)]);
  });
});

describe('a save that loses the race', () => {
  test('when a move is saved over a request that changed since it was read, then it fails and writes no index row', async () => {
    const store = await newStore();
    const request = sampleRequest(requestIdFor(1), rita, submittedAt);
    await createRecord(store, request, submitAudit(request));
    const stale = await loadRequest(store, request.id);
    await move(store, request.id, { type: 'approve' }, alice, later(1));
    const approvedRows = await indexRows(store);

    const cancel = transition(request, { type: 'cancel' }, ritaActor, later(2));
    if (!cancel.changed) throw new Error('cancel should move the request');
    await expect(commitTransition(store, stale, cancel.request, cancel.audit)).rejects.toBeInstanceOf(ConflictError);

    expect(await indexRows(store)).toEqual(approvedRows);
    expect(approvedRows.some((r) => r.startsWith('ix.state.approved.'))).toBe(true);
    expect((await loadRequest(store, request.id)).value.status).toBe('approved');
  });

  test('when a request is created with an id that is taken, then it fails with ConflictError "exists" and writes no index row', async () => {
    const store = await newStore();
    const first = sampleRequest(requestIdFor(1), rita, submittedAt);
    await createRecord(store, first, submitAudit(first));
    const before = await indexRows(store);
    const second = sampleRequest(requestIdFor(1), omar, later(5));

    const err: unknown = await createRecord(store, second, submitAudit(second)).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(ConflictError);
    expect((err as ConflictError).reason).toBe('exists');
    expect(await indexRows(store)).toEqual(before);
    expect(await openRequestCount(store, omar)).toBe(0);
  });
});

describe('records saved before the index', () => {
  /** Writes records as the code before the index did: the record alone, with no indexRows. */
  async function legacy(store: Store, requests: readonly AppRequest[]): Promise<void> {
    for (const request of requests) await store.requests.create(REQUEST_PARTITION, request.id, request);
  }

  test('when the backfill runs, then every older record gets the rows of its state once, and a second run reads only the marker', async () => {
    const store = await newStore();
    const revealedAt = later(30).toISOString();
    const old = [
      sampleRequest(requestIdFor(1), rita, submittedAt),
      sampleRequest(requestIdFor(2), rita, later(1), { status: 'provisioned', provisionedAt: later(20).toISOString() }),
      sampleRequest(requestIdFor(3), omar, later(2), {
        status: 'delivered',
        delivery: { kind: 'secret', keyId: 'k', hint: 'abc', endDateTime: '2026-09-01T00:00:00.000Z', revealedAt },
      }),
      sampleRequest(requestIdFor(4), omar, later(3), { status: 'rejected' }),
    ];
    await legacy(store, old);
    await store.requests.create(REQUEST_PARTITION, 'not-a-request', { note: 'left by hand' } as unknown as AppRequest);
    expect(await requestsInState(store, 'submitted')).toEqual([]);

    const first = await ensureRequestIndex(store);

    expect(first).toEqual({ indexed: 4, skipped: ['not-a-request'], ran: true });
    expect(await indexRows(store)).toEqual(old.flatMap(indexRowsOf).sort());
    expect(ids(await requestsInState(store, 'submitted'))).toEqual([requestIdFor(1)]);
    expect(ids(await requestsInState(store, 'provisioned'))).toEqual([requestIdFor(2)]);
    expect(ids(await revealedBy(store, later(30)))).toEqual([requestIdFor(3)]);
    expect((await loadRequest(store, requestIdFor(4))).value.indexRows).toEqual(indexRowsOf(old[3]!));

    const counting = countingStore(store);
    const second = await ensureRequestIndex(counting.store);
    expect(second).toEqual({ indexed: 0, skipped: [], ran: false });
    expect(counting.reads()).toBe(1);
  });

  test('when an older record is saved before any backfill, then its first save creates the rows of its new state', async () => {
    const store = await newStore();
    const request = sampleRequest(requestIdFor(1), rita, submittedAt);
    await legacy(store, [request]);

    await move(store, request.id, { type: 'approve' }, alice, later(1));

    expect(await indexRows(store)).toEqual([
      `ix.by.${rita}.8227557999999.${request.id}`,
      `ix.state.approved.2026-03-02T09:01:00.000Z.${request.id}`,
    ]);
    const outcome = await ensureRequestIndex(store);
    expect(outcome.indexed).toBe(0);
    expect(await indexRows(store)).toHaveLength(2);
  });
});
