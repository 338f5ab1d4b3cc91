/**
 * The request service against the real TableStore on the run's Azurite: submission, decisions, cancellation,
 * visibility, listings, expiry, and the audit trail each move leaves. Each test has a store of its own.
 */
import { ConflictError, NotAuthorized, RegistrarError } from '../../../src/domain/errors';
import type { Actor } from '../../../src/domain/conversation';
import { IllegalTransition } from '../../../src/domain/request';
import { newRequestId } from '../../../src/domain/request-id';
import { createLogger } from '../../../src/lib/logger';
import type { Config } from '../../../src/config';
import { auditRow, type Store } from '../../../src/services/ports';
import { createApproverPolicy } from '../../../src/services/request-approvers';
import { commitTransition, loadRequest, type RequestRecord } from '../../../src/services/request-records';
import { createRequestService, type RequestService } from '../../../src/services/request-service';
import { FakeDirectory, FakeProvisioner, FixedClock, deterministicRandom, ordersApi } from '../../helpers/fakes';
import { roleIds, scopeIds } from '../../helpers/graph-catalog';
import { LogCapture } from '../../helpers/logs';
import { createTestStore, type TestStore } from '../../helpers/storage';

const requesterId = 'aaaaaaaa-0000-4000-8000-000000000001';
const otherRequesterId = 'aaaaaaaa-0000-4000-8000-000000000002';
const approverA = 'bbbbbbbb-0000-4000-8000-00000000000a';
const approverB = 'bbbbbbbb-0000-4000-8000-00000000000b';
const operatorId = 'cccccccc-0000-4000-8000-000000000001';
const outsiderId = 'dddddddd-0000-4000-8000-000000000001';
const requesterGroup = 'eeeeeeee-0000-4000-8000-000000000001';

const person = (aadObjectId: string, name = aadObjectId.slice(0, 8)): Actor => ({
  id: `29:${name}`,
  name,
  aadObjectId,
});
const requester = person(requesterId, 'Rita');
const otherRequester = person(otherRequesterId, 'Omar');
const alice = person(approverA, 'Alice');
const bob = person(approverB, 'Bob');
const operator = person(operatorId, 'Olga');
const outsider = person(outsiderId, 'Xavier');

const { 'User.Read': userRead } = scopeIds(['User.Read'] as const);
const { 'Mail.Send': mailSend, 'User.Read.All': userReadAll } = roleIds(['Mail.Send', 'User.Read.All'] as const);

const policy: Config['policy'] = {
  approvalsByRisk: { low: 1, medium: 1, high: 2 },
  pendingTtlDays: 7,
  secretMaxDays: 730,
  secretDefaultDays: 180,
  revealTtlMinutes: 10,
  rotationNeedsApproval: 'privileged',
  deliveryTtlDays: 7,
  openRequestsPerUser: 10,
  approvers: { ids: [approverA, approverB] },
};

const dayMs = 24 * 60 * 60 * 1000;
const stores: TestStore[] = [];

afterAll(async () => {
  await Promise.all(stores.map((s) => s.cleanup()));
});

interface Setup {
  service: RequestService;
  store: Store;
  clock: FixedClock;
  provisioner: FakeProvisioner;
  logs: LogCapture;
  random: (n: number) => Uint8Array;
}

async function setup(options: { policy?: Partial<Config['policy']>; directory?: FakeDirectory } = {}): Promise<Setup> {
  const testStore = await createTestStore();
  stores.push(testStore);
  const clock = new FixedClock();
  const provisioner = new FakeProvisioner();
  const logs = new LogCapture();
  const random = deterministicRandom(testStore.tablePrefix);
  const service = createRequestService({
    store: testStore.store,
    provisioner,
    approvers: createApproverPolicy(policy.approvers, undefined),
    clock,
    random,
    policy: { ...policy, ...options.policy },
    logger: createLogger({ level: 'debug', destination: logs }),
    ...(options.directory ? { directory: options.directory } : {}),
    isOperator: async (actor) => actor.aadObjectId === operatorId,
  });
  return { service, store: testStore.store, clock, provisioner, logs, random };
}

function form(fields: Record<string, string> = {}): Record<string, string> {
  return {
    name: 'Orders sync',
    purpose: 'Reads the signed-in user to sync orders.',
    platform: 'none',
    permissions: userRead,
    credential: 'secret',
    ...fields,
  };
}

async function submitted(s: Setup, fields: Record<string, string> = {}, by: Actor = requester) {
  const result = await s.service.submit(by, form(fields));
  if (!result.ok) throw new Error(`submission refused: ${JSON.stringify(result.errors)}`);
  return result.request;
}

async function rowsOf(store: Store, requestId: string) {
  const rows: Array<{ row: string; event: string; to: string }> = [];
  for await (const { row, value } of store.audit.list(requestId)) rows.push({ row, event: value.event, to: value.to });
  return rows.sort((a, b) => (a.row < b.row ? -1 : 1));
}

async function requestCount(store: Store): Promise<number> {
  let n = 0;
  for await (const _ of store.requests.list('request')) n += 1;
  return n;
}

async function refusal(operation: Promise<unknown>): Promise<RegistrarError> {
  const err: unknown = await operation.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof RegistrarError)) throw new Error(`expected a RegistrarError, got ${String(err)}`);
  return err;
}

describe('submitting', () => {
  test('when a valid form is submitted, then a submitted request is stored with its risk, approvals needed, expiry and one audit row', async () => {
    const s = await setup();
    const result = await s.service.submit(requester, form());

    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const { request } = result;
    expect(request).toMatchObject({
      status: 'submitted',
      requester: { aadObjectId: requesterId, name: 'Rita' },
      approvalsRequired: 1,
      approvals: [],
    });
    // User.Read alone is low; its client secret, which can leak, makes the request medium (risk.ts).
    expect(request.risk.level).toBe('medium');
    expect(request.expiresAt).toBe(new Date(s.clock.now().getTime() + 7 * dayMs).toISOString());
    expect((await loadRequest(s.store, request.id)).value.status).toBe('submitted');
    expect(await rowsOf(s.store, request.id)).toEqual([{ row: auditRow(1), event: 'submit', to: 'submitted' }]);
    expect(s.logs.find('request submitted')[0]).toMatchObject({ requestId: request.id, risk: 'medium' });
  });

  test('when the form is invalid, then the errors and values come back and nothing is stored or resolved', async () => {
    const s = await setup();
    const result = await s.service.submit(
      requester,
      form({ name: '', otherPermissions: `${ordersApi.resourceAppId} Orders.Read delegated` }),
    );

    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.name).toBe('The app name is required.');
    expect(result.values.purpose).toBe(form().purpose);
    expect(await requestCount(s.store)).toBe(0);
    expect(s.provisioner.calls.filter((c) => c.startsWith('resolve'))).toEqual([]);
  });

  test('when another API permission is unknown, then it is a field error and nothing is stored; a known one is resolved into the request', async () => {
    const s = await setup();
    const bad = await s.service.submit(
      requester,
      form({ otherPermissions: `${ordersApi.resourceAppId} Orders.Delete delegated` }),
    );
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.errors.otherPermissions).toContain('Orders.Delete');
    expect(await requestCount(s.store)).toBe(0);

    const good = await submitted(s, {
      otherPermissions: `${ordersApi.resourceAppId} Orders.ReadWrite.All application`,
    });
    expect(good.permissions.map((p) => `${p.resourceDisplayName}:${p.value}`)).toEqual([
      'Microsoft Graph:User.Read',
      'Contoso Orders API:Orders.ReadWrite.All',
    ]);
    expect(good.risk.level).toBe('high');
    expect(good.approvalsRequired).toBe(2);
  });

  test('when a medium-risk permission is asked for, then the policy for medium sets the approvals needed', async () => {
    const s = await setup({ policy: { approvalsByRisk: { low: 1, medium: 2, high: 3 } } });
    const request = await submitted(s, { permissions: userReadAll });

    expect(request.risk.level).toBe('medium');
    expect(request.approvalsRequired).toBe(2);
  });

  test('when the same form (same requestId) is submitted twice, then the second returns the first request and creates nothing', async () => {
    const s = await setup();
    const { requestId } = await s.service.newForm(requester);
    const first = await s.service.submit(requester, form({ requestId }));
    const second = await s.service.submit(requester, form({ requestId }));

    expect(first).toMatchObject({ ok: true, created: true, request: { id: requestId } });
    expect(second).toMatchObject({ ok: true, created: false, request: { id: requestId } });
    expect(await requestCount(s.store)).toBe(1);
    expect(await rowsOf(s.store, requestId)).toHaveLength(1);
  });

  test('when someone else submits a form carrying an existing request id, then it is refused and the request is untouched', async () => {
    const s = await setup();
    const request = await submitted(s, { requestId: (await s.service.newForm(requester)).requestId });
    const result = await s.service.submit(otherRequester, form({ requestId: request.id, name: 'Hijack' }));

    expect(result.ok).toBe(false);
    expect((await loadRequest(s.store, request.id)).value.form.displayName).toBe('Orders sync');
  });

  test('when a form carries an id this store never gave the person, then it is refused and nothing is stored', async () => {
    const s = await setup();
    const othersForm = await s.service.newForm(otherRequester);

    for (const requestId of [newRequestId(s.random), othersForm.requestId]) {
      const result = await s.service.submit(requester, form({ requestId }));
      expect(result).toMatchObject({ ok: false, errors: { form: expect.stringMatching(/open a new one/i) } });
    }
    expect(await requestCount(s.store)).toBe(0);
  });

  test('when REQUESTER_GROUP_ID is set, then only its members may submit', async () => {
    const s = await setup({
      policy: { requesterGroupId: requesterGroup },
      directory: new FakeDirectory({ [requesterGroup]: [requesterId] }),
    });

    expect((await s.service.submit(requester, form())).ok).toBe(true);
    const err = await refusal(s.service.submit(otherRequester, form()));
    expect(err).toBeInstanceOf(NotAuthorized);
    expect(err.userMessage).toContain('REQUESTER_GROUP_ID');
  });

  test('when the form context and a search are asked for, then they come from the Microsoft Graph catalog', async () => {
    const s = await setup();
    const context = await s.service.formContext();
    const { requestId } = await s.service.newForm(requester);
    const found = await s.service.searchPermissions('mail.send', { type: 'Role' });

    expect(context.catalog.byKey(userRead)?.value).toBe('User.Read');
    expect(requestId).toMatch(/^[0-9A-Z]{8}$/);
    expect(found.items[0]?.id).toBe(mailSend);
  });
});

describe('approving and rejecting', () => {
  test('when the requester approves their own request, then it is refused and nothing changes', async () => {
    const s = await setup({ policy: { approvers: { ids: [requesterId] } } });
    const request = await submitted(s);
    const err = await refusal(s.service.approve(requester, request.id));

    expect(err).toBeInstanceOf(NotAuthorized);
    expect(err.userMessage).toContain('someone else');
    expect((await loadRequest(s.store, request.id)).value.approvals).toEqual([]);
  });

  test('when a non-approver approves or rejects, then it is refused with who can', async () => {
    const s = await setup();
    const request = await submitted(s);

    for (const attempt of [s.service.approve(outsider, request.id), s.service.reject(outsider, request.id, 'no')]) {
      const err = await refusal(attempt);
      expect(err).toBeInstanceOf(NotAuthorized);
      expect(err.userMessage).toContain('APPROVER_IDS');
    }
    expect(await rowsOf(s.store, request.id)).toHaveLength(1);
  });

  test('when an approver approves a low-risk request, then it is approved with one approval and reachedApproval is true', async () => {
    const s = await setup();
    const request = await submitted(s);
    const result = await s.service.approve(alice, request.id, 'conv-approvals');

    expect(result).toMatchObject({ changed: true, reachedApproval: true, request: { status: 'approved' } });
    expect(result.request.approvals.map((a) => a.aadObjectId)).toEqual([approverA]);
    expect(await rowsOf(s.store, request.id)).toEqual([
      { row: auditRow(1), event: 'submit', to: 'submitted' },
      { row: auditRow(2), event: 'approve', to: 'approved' },
    ]);
  });

  test('when a high-risk request is approved, then it needs two distinct approvers and the same approver twice counts once', async () => {
    const s = await setup();
    const request = await submitted(s, { permissions: mailSend });
    expect(request.approvalsRequired).toBe(2);

    const first = await s.service.approve(alice, request.id);
    const again = await s.service.approve(alice, request.id);
    expect(first).toMatchObject({ changed: true, reachedApproval: false, request: { status: 'submitted' } });
    expect(again).toMatchObject({ changed: false, reachedApproval: false, request: { status: 'submitted' } });
    expect(again.message).toContain('already approved');

    const second = await s.service.approve(bob, request.id);
    expect(second).toMatchObject({ changed: true, reachedApproval: true, request: { status: 'approved' } });
    expect(second.request.approvals.map((a) => a.aadObjectId)).toEqual([approverA, approverB]);
    expect((await rowsOf(s.store, request.id)).map((r) => r.row)).toEqual([auditRow(1), auditRow(2), auditRow(3)]);
  });

  test.each([
    ['medium', userRead],
    ['high', mailSend],
  ])(
    'when two approvers approve a %s-risk request at once, then there is one consistent result and exactly one reachedApproval',
    async (_risk, permissions) => {
      const s = await setup();
      const request = await submitted(s, { permissions });
      const results = await Promise.all([s.service.approve(alice, request.id), s.service.approve(bob, request.id)]);

      expect(results.filter((r) => r.reachedApproval)).toHaveLength(1);
      const stored = (await loadRequest(s.store, request.id)).value;
      expect(stored.status).toBe('approved');
      expect(stored.approvals).toHaveLength(request.approvalsRequired);
      const rows = await rowsOf(s.store, request.id);
      expect(rows.map((r) => r.row)).toEqual(
        Array.from({ length: 1 + request.approvalsRequired }, (_, i) => auditRow(i + 1)),
      );
      expect(rows.filter((r) => r.to === 'approved')).toHaveLength(1);
    },
  );

  test('when an approver rejects with a reason, then the request is rejected with it; a second rejection is a repeat', async () => {
    const s = await setup();
    const request = await submitted(s);
    const result = await s.service.reject(alice, request.id, 'Use the shared orders app instead.');
    const again = await s.service.reject(alice, request.id, 'Use the shared orders app instead.');

    expect(result).toMatchObject({
      changed: true,
      reachedApproval: false,
      request: { status: 'rejected', rejection: { reason: 'Use the shared orders app instead.' } },
    });
    expect(again.changed).toBe(false);
    expect(await rowsOf(s.store, request.id)).toHaveLength(2);
    const late = await refusal(s.service.approve(bob, request.id));
    expect(late).toBeInstanceOf(IllegalTransition);
  });

  test('when an approver rejects without a reason, then it is refused as invalid input and nothing changes', async () => {
    const s = await setup();
    const request = await submitted(s);
    const err = await refusal(s.service.reject(alice, request.id, '   '));

    expect(err.code).toBe('invalid-input');
    expect((await loadRequest(s.store, request.id)).value.status).toBe('submitted');
  });

  test('when an unknown request is approved, then it is not-found', async () => {
    const s = await setup();
    expect((await refusal(s.service.approve(alice, 'ZZZZZZZZ'))).code).toBe('not-found');
  });
});

describe('cancelling', () => {
  test('when the requester cancels before a decision, then it is cancelled; after a decision, or by someone else, it is refused', async () => {
    const s = await setup();
    const open = await submitted(s);
    const decided = await submitted(s);
    await s.service.approve(alice, decided.id);

    expect((await refusal(s.service.cancel(alice, open.id))).code).toBe('not-authorized');
    expect(await s.service.cancel(requester, open.id)).toMatchObject({
      changed: true,
      request: { status: 'cancelled' },
    });
    expect((await s.service.cancel(requester, open.id)).changed).toBe(false);
    expect(await refusal(s.service.cancel(requester, decided.id))).toBeInstanceOf(IllegalTransition);
    expect((await loadRequest(s.store, decided.id)).value.status).toBe('approved');
  });
});

describe('reading', () => {
  test('when status is asked, then the requester, approvers and operators see the request and its audit trail in order; others are refused', async () => {
    const s = await setup();
    const request = await submitted(s);
    await s.service.approve(alice, request.id);

    for (const reader of [requester, bob, operator]) {
      const view = await s.service.status(reader, request.id);
      expect(view.request.status).toBe('approved');
      expect(view.audit.map((e) => e.event)).toEqual(['submit', 'approve']);
    }
    expect(await refusal(s.service.status(outsider, request.id))).toBeInstanceOf(NotAuthorized);
  });

  test('when mine is asked, then it lists only the requester’s requests, newest first', async () => {
    const s = await setup();
    const first = await submitted(s);
    s.clock.advance(60_000);
    await submitted(s, {}, otherRequester);
    s.clock.advance(60_000);
    const third = await submitted(s);

    expect((await s.service.mine(requester)).requests.map((r) => r.id)).toEqual([third.id, first.id]);
    expect(await s.service.mine(outsider)).toMatchObject({ apps: [], appsNotShown: 0, requests: [] });
  });

  test('when pending is asked, then it lists undecided requests excluding the approver’s own and those they approved', async () => {
    const s = await setup();
    const open = await submitted(s);
    const approvedByAlice = await submitted(s, { permissions: mailSend });
    await s.service.approve(alice, approvedByAlice.id);
    const alicesOwn = await submitted(s, {}, alice);
    const decided = await submitted(s);
    await s.service.reject(bob, decided.id, 'No.');

    expect((await s.service.pending(alice)).map((r) => r.id)).toEqual([open.id]);
    expect((await s.service.pending(bob)).map((r) => r.id).sort()).toEqual(
      [open.id, approvedByAlice.id, alicesOwn.id].sort(),
    );
    expect(await refusal(s.service.pending(requester))).toBeInstanceOf(NotAuthorized);
  });
});

describe('expiry', () => {
  test('when expireDue runs, then only overdue submitted requests expire, with an audit row, and a second run moves nothing', async () => {
    const s = await setup();
    const overdue = await submitted(s);
    const decided = await submitted(s);
    await s.service.approve(alice, decided.id);
    s.clock.advance(3 * dayMs);
    const recent = await submitted(s);
    const now = new Date(s.clock.now().getTime() + 4 * dayMs + 1);

    const moved = await s.service.expireDue(now);
    expect(moved.map((r) => [r.id, r.status])).toEqual([[overdue.id, 'expired']]);
    expect(await s.service.expireDue(now)).toEqual([]);
    expect((await loadRequest(s.store, recent.id)).value.status).toBe('submitted');
    expect((await loadRequest(s.store, decided.id)).value.status).toBe('approved');
    expect(await rowsOf(s.store, overdue.id)).toEqual([
      { row: auditRow(1), event: 'submit', to: 'submitted' },
      { row: auditRow(2), event: 'expire', to: 'expired' },
    ]);
  });
});

describe('audit consistency', () => {
  test('when a save succeeds but its audit row is not written, then the next move writes it first and the trail has no gap or duplicate', async () => {
    const s = await setup();
    const request = await submitted(s, { permissions: mailSend });
    // Simulate a crash after the save of Alice's approval: the record holds the event, the row is missing.
    await s.service.approve(alice, request.id);
    await s.store.audit.delete(request.id, auditRow(2));
    expect((await rowsOf(s.store, request.id)).map((r) => r.row)).toEqual([auditRow(1)]);

    await s.service.approve(bob, request.id);
    const rows = await rowsOf(s.store, request.id);
    expect(rows.map((r) => `${r.row}:${r.event}:${r.to}`)).toEqual([
      `${auditRow(1)}:submit:submitted`,
      `${auditRow(2)}:approve:submitted`,
      `${auditRow(3)}:approve:approved`,
    ]);
  });

  test('when the audit row is missing after a save, then status writes it before answering', async () => {
    const s = await setup();
    const request = await submitted(s);
    await s.service.approve(alice, request.id);
    await s.store.audit.delete(request.id, auditRow(2));

    expect((await s.service.status(requester, request.id)).audit.map((e) => e.event)).toEqual(['submit', 'approve']);
    expect(await rowsOf(s.store, request.id)).toHaveLength(2);
  });

  test('when a save loses the ETag race, then it throws ConflictError and writes no audit row', async () => {
    const s = await setup();
    const request = await submitted(s);
    const stale = await loadRequest(s.store, request.id);
    await s.service.approve(alice, request.id);
    const next: RequestRecord = { ...stale.value, status: 'cancelled' };

    await expect(
      commitTransition(s.store, stale, next, {
        at: 'x',
        by: { aadObjectId: requesterId, name: 'Rita' },
        event: 'cancel',
        from: 'submitted',
        to: 'cancelled',
        detail: 'x',
      }),
    ).rejects.toBeInstanceOf(ConflictError);
    expect((await rowsOf(s.store, request.id)).map((r) => r.event)).toEqual(['submit', 'approve']);
  });
});
