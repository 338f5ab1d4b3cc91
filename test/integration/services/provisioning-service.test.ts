/**
 * The provisioning service against the real GraphProvisioner on the local tenant and the real TableStore on the
 * run's Azurite. The tenant's state is the judge: whatever happens (a failure and Retry, two copies of Registrar
 * on one request, a process that stops at any step boundary), each request ends with exactly one application,
 * one service principal, its owners, one assignment per application permission and one AllPrincipals grant.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NotAuthorized, RegistrarError } from '../../../src/domain/errors';
import { stepsFor, type AppRequest, type ProvisioningStep } from '../../../src/domain/request';
import { auditTrail, loadRequest } from '../../../src/services/request-records';
import {
  approver,
  deferred,
  extraOwnerId,
  grantDirectoryReadAll,
  inventory,
  interceptedProvisioner,
  outsider,
  startHarness,
  tenantData,
  typicalForm,
  typicalGrants,
  typicalOwners,
  typicalRoleIds,
  USER_ADMINISTRATOR,
  type Harness,
  type ProvisionerMethod,
} from '../../helpers/provisioning';

jest.setTimeout(120_000);

let shared: Harness;
const harnesses: Harness[] = [];

beforeAll(async () => {
  shared = await startHarness();
  harnesses.push(shared);
});

afterAll(async () => {
  await Promise.all(harnesses.map((h) => h.cleanup()));
});

async function isolated(options: Parameters<typeof startHarness>[0] = {}): Promise<Harness> {
  const h = await startHarness(options);
  harnesses.push(h);
  return h;
}

async function stored(h: Harness, requestId: string): Promise<AppRequest> {
  return (await loadRequest(h.testStore.store, requestId)).value;
}

async function auditOf(h: Harness, requestId: string) {
  return auditTrail(h.testStore.store, (await loadRequest(h.testStore.store, requestId)).value);
}

/** The request as provisioned must name exactly the objects the tenant holds for it, and no more. */
function expectExactlyOneOfEverything(
  h: Harness,
  request: AppRequest,
  extra: { certificate?: string; directoryRole?: boolean } = {},
): void {
  const found = inventory(h.tenant, request.id);
  expect(found).toMatchObject({
    applications: 1,
    servicePrincipals: 1,
    applicationOwners: typicalOwners,
    servicePrincipalOwners: typicalOwners,
    appRoleIds: typicalRoleIds,
    grants: [expect.objectContaining(typicalGrants[0])],
    roleAssignments: extra.directoryRole
      ? [expect.objectContaining({ roleDefinitionId: USER_ADMINISTRATOR, directoryScopeId: '/' })]
      : [],
    keyCredentials: extra.certificate ? [extra.certificate] : [],
    passwordCredentials: 0,
  });
  const done = request.provisioning;
  expect(done.application).toMatchObject({ applicationObjectId: found.applicationObjectId, appId: found.appId });
  expect(done.servicePrincipal?.servicePrincipalId).toBe(found.servicePrincipalId);
  expect([...(done.consent?.appRoleAssignmentIds ?? [])].sort()).toEqual(found.appRoleAssignmentIds);
  expect(done.consent?.oauth2PermissionGrantIds).toEqual(found.grants.map((g) => g.id));
  if (extra.directoryRole) expect(done.directoryRole?.roleAssignmentId).toBe(found.roleAssignments[0]?.id);
  if (extra.certificate) expect(done.certificate?.thumbprint).toBe(extra.certificate);
}

const thumbprintOf = (request: AppRequest) =>
  request.form.credential.kind === 'certificate' ? request.form.credential.certificate.thumbprint : undefined;

describe('provisioning an approved request', () => {
  test('when an approved request is started, then it ends provisioned with every step checkpointed, audited and announced in order', async () => {
    const changes: Array<{ status: string; done: ProvisioningStep[] }> = [];
    const service = shared.service({
      onChange: (r) => void changes.push({ status: r.status, done: stepsFor(r).filter((s) => r.provisioning[s]) }),
    });
    const request = await shared.approved();

    service.start(request.id);
    await service.idle();

    const saved = await stored(shared, request.id);
    expect(saved.status).toBe('provisioned');
    expect(saved.provisioning.attempts).toBe(1);
    expect(stepsFor(saved)).toEqual(['application', 'owners', 'servicePrincipal', 'consent']);
    expectExactlyOneOfEverything(shared, saved);
    expect(saved.provisioning.owners?.ownerIds).toEqual([saved.requester.aadObjectId, extraOwnerId]);
    const audit = await auditOf(shared, request.id);
    expect(audit.map((a) => a.event)).toEqual([
      'submit',
      'approve',
      'startProvisioning',
      'completeStep',
      'completeStep',
      'completeStep',
      'completeStep',
      'succeed',
    ]);
    expect(audit.slice(2).every((a) => a.by.aadObjectId === 'registrar')).toBe(true);
    expect(audit[3]!.detail).toBe(`application done (appId ${saved.provisioning.application!.appId})`);
    expect(audit[5]!.objectIds).toEqual([saved.provisioning.servicePrincipal!.servicePrincipalId]);
    expect(changes).toEqual([
      { status: 'provisioning', done: [] },
      { status: 'provisioning', done: ['application'] },
      { status: 'provisioning', done: ['application', 'owners'] },
      { status: 'provisioning', done: ['application', 'owners', 'servicePrincipal'] },
      { status: 'provisioning', done: ['application', 'owners', 'servicePrincipal', 'consent'] },
      { status: 'provisioned', done: ['application', 'owners', 'servicePrincipal', 'consent'] },
    ]);
    const stepLogs = shared.logs.find('provisioning step done').filter((e) => e.requestId === request.id);
    expect(stepLogs.map((e) => e.step)).toEqual(['application', 'owners', 'servicePrincipal', 'consent']);
    expect(stepLogs.every((e) => typeof e.durationMs === 'number')).toBe(true);
  });

  test('when a request asks for a certificate and a directory role, then those steps run too, after consent', async () => {
    const service = shared.service();
    const request = await shared.approved(typicalForm({ certificate: true, directoryRole: true }));

    service.start(request.id);
    await service.idle();

    const saved = await stored(shared, request.id);
    expect(saved.status).toBe('provisioned');
    expect(stepsFor(saved)).toEqual([
      'application',
      'owners',
      'servicePrincipal',
      'consent',
      'directoryRole',
      'certificate',
    ]);
    expectExactlyOneOfEverything(shared, saved, { certificate: thumbprintOf(saved), directoryRole: true });
  });

  test('when a typical request is provisioned and start is called twice, then it runs once; the Graph calls are counted', async () => {
    const service = shared.service();
    const request = await shared.approved();
    shared.tenant.counters.reset();

    service.start(request.id);
    service.start(request.id);
    await service.idle();

    expect((await stored(shared, request.id)).status).toBe('provisioned');
    const calls = shared.tenant.counters.snapshot();
    const total = shared.tenant.counters.total();
    // The numbers the README can quote: 3 application permissions, 2 delegated, one extra owner, a secret (made at reveal).
    mkdirSync(join(__dirname, '../../../test-results'), { recursive: true });
    writeFileSync(
      join(__dirname, '../../../test-results/provisioning-calls.json'),
      `${JSON.stringify({ calls, total }, null, 2)}\n`,
    );
    console.log(`Graph calls of one typical provisioning (${total}):\n${JSON.stringify(calls, null, 2)}`);
    expect(calls).toEqual({
      'GET /applications': 1,
      "PATCH /applications(uniqueName='{uniqueName}')": 1,
      'GET /applications/{id}/owners': 1,
      'POST /applications/{id}/owners/$ref': 2,
      "PATCH /servicePrincipals(appId='{appId}')": 1,
      'GET /servicePrincipals/{id}/owners': 1,
      'POST /servicePrincipals/{id}/owners/$ref': 2,
      'GET /servicePrincipals/{id}/appRoleAssignments': 1,
      'POST /servicePrincipals/{id}/appRoleAssignedTo': 3,
      'GET /oauth2PermissionGrants': 1,
      'POST /oauth2PermissionGrants': 1,
    });
    expect(total).toBe(15);
  });

  test('when a request is not approved, or already provisioned, then start leaves it as it is', async () => {
    const service = shared.service();
    const submitted = await shared.requests.submit(outsider, typicalForm());
    if (!submitted.ok) throw new Error('submission refused');
    const done = await shared.approved();
    service.start(done.id);
    await service.idle();
    const before = await auditOf(shared, done.id);

    service.start(submitted.request.id);
    service.start(done.id);
    service.start('no-such-request');
    await service.idle();

    expect((await stored(shared, submitted.request.id)).status).toBe('submitted');
    expect(inventory(shared.tenant, submitted.request.id).applications).toBe(0);
    expect(await auditOf(shared, done.id)).toEqual(before);
    expect(shared.logs.find('provisioning found no such request')).toHaveLength(1);
  });
});

describe('failure and retry', () => {
  test("when Registrar lacks a permission, then the request fails with a message naming it; a non-approver cannot retry; after the grant an approver's retry finishes it", async () => {
    const h = await isolated({ data: tenantData({ directoryReadAll: false }) });
    const changes: string[] = [];
    const service = h.service({ onChange: (r) => void changes.push(r.status) });
    const request = await h.approved();

    service.start(request.id);
    await service.idle();

    const failed = await stored(h, request.id);
    expect(failed.status).toBe('failed');
    expect(failed.provisioning.application).toBeDefined();
    expect(failed.provisioning.owners).toBeUndefined();
    expect(failed.provisioning.lastError?.message).toContain('An administrator needs to grant it a missing permission');
    expect(failed.provisioning.lastError?.message).toContain('Directory.Read.All');
    expect(failed.provisioning.lastError?.message).toContain('owners step');
    expect(changes).toEqual(['provisioning', 'provisioning', 'failed']);
    expect(h.logs.find('provisioning step failed')[0]).toMatchObject({
      requestId: request.id,
      step: 'owners',
      code: 'not-authorized',
    });

    const refused = await service.retry(outsider, request.id).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(NotAuthorized);
    expect((refused as RegistrarError).userMessage).toContain('Only approvers can retry provisioning.');
    expect((refused as RegistrarError).userMessage).toContain(h.approvers.describe());
    expect((await stored(h, request.id)).status).toBe('failed');

    // An administrator grants the permission; a token issued from now on carries it (a new provisioner's).
    grantDirectoryReadAll(h.tenant);
    const afterGrant = h.service({ provisioner: h.provisioner(), onChange: (r) => void changes.push(r.status) });
    const retried = await afterGrant.retry(approver, request.id, 'conversation-1');
    await afterGrant.idle();

    expect(retried).toMatchObject({ changed: true, request: { status: 'provisioning' } });
    const saved = await stored(h, request.id);
    expect(saved.status).toBe('provisioned');
    expect(saved.provisioning.attempts).toBe(2);
    expectExactlyOneOfEverything(h, saved);
    const audit = await auditOf(h, request.id);
    expect(audit.filter((a) => a.event === 'retry')).toEqual([
      expect.objectContaining({
        by: { aadObjectId: approver.aadObjectId, name: approver.name },
        conversationId: 'conversation-1',
        from: 'failed',
        to: 'provisioning',
      }),
    ]);
    expect(changes.slice(3)).toEqual(['provisioning', 'provisioning', 'provisioning', 'provisioning', 'provisioned']);
  });

  test('when an administrator grants the missing permission, then Retry in the same process finishes the request', async () => {
    const h = await isolated({ data: tenantData({ directoryReadAll: false }) });
    const service = h.service();
    const request = await h.approved();
    service.start(request.id);
    await service.idle();
    expect((await stored(h, request.id)).status).toBe('failed');

    // Same service, same provisioner, same Graph connection: the token cached before the grant must not be reused.
    grantDirectoryReadAll(h.tenant);
    await service.retry(approver, request.id);
    await service.idle();

    const saved = await stored(h, request.id);
    expect(saved.status).toBe('provisioned');
    expectExactlyOneOfEverything(h, saved);
  });

  test('when the consent step fails half-way with an unexpected error, then retry finishes it without a second grant; a repeated retry changes nothing', async () => {
    const h = shared;
    let failOnce = true;
    const proceed = deferred();
    let gateRetry = false;
    const provisioner = interceptedProvisioner(h.provisioner(), async (method, phase) => {
      if (method === 'grantApplicationPermissions' && phase === 'after' && failOnce) {
        failOnce = false;
        throw new TypeError('Cannot read properties of undefined (reading "id")');
      }
      if (method === 'grantApplicationPermissions' && phase === 'before' && gateRetry) await proceed.promise;
    });
    const service = h.service({ provisioner });
    const request = await h.approved();

    service.start(request.id);
    await service.idle();

    const failed = await stored(h, request.id);
    expect(failed.status).toBe('failed');
    expect(failed.provisioning.lastError?.message).toMatch(
      /^Registrar hit an unexpected error: Cannot read properties of undefined \(reading "id"\) \(in the admin consent step\)/,
    );
    expect(inventory(h.tenant, request.id).appRoleIds).toEqual(typicalRoleIds);
    expect(
      h.logs.find('provisioning step hit an unexpected error').filter((e) => e.requestId === request.id)[0],
    ).toMatchObject({ step: 'consent', level: 50 });

    gateRetry = true;
    const first = await service.retry(approver, request.id);
    const repeat = await service.retry(approver, request.id);
    proceed.resolve();
    await service.idle();

    expect(first.changed).toBe(true);
    expect(repeat).toMatchObject({ changed: false, message: `Request ${request.id} is already being provisioned.` });
    const saved = await stored(h, request.id);
    expect(saved.status).toBe('provisioned');
    expectExactlyOneOfEverything(h, saved);
    expect((await auditOf(h, request.id)).filter((a) => a.event === 'retry')).toHaveLength(1);
  });

  test('when onChange throws, then provisioning still ends provisioned and the failure is logged', async () => {
    const service = shared.service({
      onChange: async () => {
        throw new Error('card update failed');
      },
    });
    const request = await shared.approved();

    service.start(request.id);
    await service.idle();

    expect((await stored(shared, request.id)).status).toBe('provisioned');
    expect(
      shared.logs.find('provisioning change listener failed').filter((e) => e.requestId === request.id),
    ).toHaveLength(6);
  });
});

describe('more than one runner', () => {
  test('when two services on one store start the same request at once, then there is one application, one service principal, no duplicate grant and one audit row per step', async () => {
    // Both reach the first step before either takes it, so that they race from there on.
    const bothThere = deferred();
    let arrived = 0;
    const racing = () =>
      interceptedProvisioner(shared.provisioner(), async (method, phase) => {
        if (method !== 'upsertApplication' || phase !== 'before') return;
        if ((arrived += 1) === 2) bothThere.resolve();
        await bothThere.promise;
      });
    const one = shared.service({ provisioner: racing() });
    const two = shared.service({ provisioner: racing() });
    const request = await shared.approved(typicalForm({ certificate: true, directoryRole: true }));

    shared.tenant.counters.reset();

    one.start(request.id);
    two.start(request.id);
    await Promise.all([one.idle(), two.idle()]);

    // Both really ran: each upserted the application.
    expect(shared.tenant.counters.snapshot()["PATCH /applications(uniqueName='{uniqueName}')"]).toBe(2);

    const saved = await stored(shared, request.id);
    expect(saved.status).toBe('provisioned');
    expectExactlyOneOfEverything(shared, saved, { certificate: thumbprintOf(saved), directoryRole: true });
    const audit = await auditOf(shared, request.id);
    expect(audit.map((a) => a.event)).toEqual([
      'submit',
      'approve',
      'startProvisioning',
      ...stepsFor(saved).map(() => 'completeStep'),
      'succeed',
    ]);
    expect(saved.provisioning.attempts).toBe(1);
  });
});

describe('stopping and resuming', () => {
  const landed: ProvisionerMethod[] = [
    'upsertApplication',
    'ensureApplicationOwners',
    'ensureServicePrincipal',
    'grantApplicationPermissions',
    'grantDelegatedPermissions',
    'assignDirectoryRole',
    'addCertificate',
  ];

  test.each(landed)(
    'when the process stops right after %s landed in Graph but before its checkpoint, then a new process resumes it and nothing is duplicated',
    async (method) => {
      const h = shared;
      const reached = deferred();
      const die = deferred();
      const dying = interceptedProvisioner(h.provisioner(), async (m, phase) => {
        if (m !== method || phase !== 'after') return;
        reached.resolve();
        await die.promise;
        throw new Error('the process died');
      });
      const first = h.service({ provisioner: dying });
      const request = await h.approved(typicalForm({ certificate: true, directoryRole: true }));

      first.start(request.id);
      await reached.promise;
      const stopped = first.stop();
      die.resolve();
      await stopped;

      const paused = await stored(h, request.id);
      expect(paused.status).toBe('provisioning');
      expect(paused.provisioning.lastError).toBeUndefined();
      const second = h.service({ provisioner: h.provisioner() });
      const resumed = await second.resumeUnfinished();
      await second.idle();

      expect(resumed).toContain(request.id);
      const saved = await stored(h, request.id);
      expect(saved.status).toBe('provisioned');
      expect(saved.provisioning.attempts).toBe(1);
      expectExactlyOneOfEverything(h, saved, { certificate: thumbprintOf(saved), directoryRole: true });
      expect((await auditOf(h, request.id)).filter((a) => a.event === 'completeStep')).toHaveLength(6);
    },
  );

  test('when a new process resumes just after the application checkpoint while Entra ID still replicates it, then the owners step waits instead of failing', async () => {
    const h = await isolated();
    h.tenant.faults.configure({ replicationDelayMs: 3000 });
    const reached = deferred();
    const die = deferred();
    const dying = interceptedProvisioner(h.provisioner(), async (m, phase) => {
      if (m !== 'ensureApplicationOwners' || phase !== 'before') return;
      reached.resolve();
      await die.promise;
      throw new Error('the process died');
    });
    const first = h.service({ provisioner: dying });
    const request = await h.approved();

    first.start(request.id);
    await reached.promise;
    const stopped = first.stop();
    die.resolve();
    await stopped;
    // A new process: a provisioner that never saw the application being created.
    const second = h.service({ provisioner: h.provisioner() });
    await second.resumeUnfinished();
    await second.idle();

    const saved = await stored(h, request.id);
    expect(saved.provisioning.lastError).toBeUndefined();
    expect(saved.status).toBe('provisioned');
  });

  test('when stop() is called while a step runs, then that step ends and is checkpointed, nothing more starts, and resumeUnfinished finishes it', async () => {
    const h = await isolated();
    const inStep = deferred();
    const letGo = deferred();
    const slow = interceptedProvisioner(h.provisioner(), async (method, phase) => {
      if (method !== 'ensureServicePrincipal' || phase !== 'before') return;
      inStep.resolve();
      await letGo.promise;
    });
    const first = h.service({ provisioner: slow, maxConcurrentRuns: 1 });
    const request = await h.approved();
    const queued = await h.approved();

    first.start(request.id);
    first.start(queued.id);
    await inStep.promise;
    const stopped = first.stop();
    first.start((await h.approved()).id);
    letGo.resolve();
    await stopped;

    const paused = await stored(h, request.id);
    expect(paused.status).toBe('provisioning');
    expect(paused.provisioning.servicePrincipal).toBeDefined();
    expect(paused.provisioning.consent).toBeUndefined();
    expect((await stored(h, queued.id)).status).toBe('approved');

    const second = h.service({ provisioner: h.provisioner() });
    const resumed = await second.resumeUnfinished();
    await second.idle();

    expect(resumed).toHaveLength(3);
    expect(resumed).toEqual(expect.arrayContaining([request.id, queued.id]));
    for (const id of resumed) {
      const saved = await stored(h, id);
      expect(saved.status).toBe('provisioned');
      expectExactlyOneOfEverything(h, saved);
    }
  });
});
