/**
 * GraphProvisioner against the local tenant, through the production code path (createGraphConnection: the real
 * @azure/identity credential and Graph client over HTTPS). The tenant's state is the judge: after a provisioning,
 * a re-run, and provisionings under each fault (throttling, 503s, replication delay, lost responses, concurrency
 * conflicts), there is exactly one application, one service principal, one assignment per permission, one grant
 * per resource and one role assignment; Retry-After is waited in full; a new secret works and is never logged.
 */
import { GraphCaller, type GraphTiming } from '../../../src/adapters/graph/graph-caller';
import { GraphProvisioner } from '../../../src/adapters/graph/graph-provisioner';
import {
  type AppSpec,
  MICROSOFT_GRAPH_APP_ID,
  type PermissionRef,
  type PermissionType,
  uniqueNameFor,
} from '../../../src/domain/app-spec';
import { RegistrarError } from '../../../src/domain/errors';
import { resolvePermissionIn } from '../../../src/domain/resource-apis';
import { createLogger } from '../../../src/lib/logger';
import { alex, demoUsers } from '../../../src/local/demo-identities';
import type { FaultSettings } from '../../../src/local/tenant/faults';
import { allRoutes } from '../../../src/local/tenant/routes/index';
import { demoIds, demoTenant } from '../../../src/local/tenant/seed';
import { selfSignedCertificate } from '../../../src/local/tenant/self-signed';
import type { RunningTenant } from '../../../src/local/tenant/server';
import { type TenantData } from '../../../src/local/tenant/state';
import type { StepContext } from '../../../src/services/ports';
import { LogCapture } from '../../helpers/logs';
import { recordingFaults, type SeenCall } from '../../helpers/provisioning';
import { registrarConnection, startTestTenant } from '../../helpers/tenant';

jest.setTimeout(90_000);

const demo = demoTenant();
const USER_ADMINISTRATOR = 'fe930be7-5e62-47db-91af-98c3a49a38b1';
const DIRECTORY_READ_ALL = '7ab1d382-f21e-4acd-a863-ba3e13f7da61';
const requester = alex.aadObjectId;
const extraOwner = demoUsers[0]!.aadObjectId;

/** A copy of the demo tenant; without Directory.Read.All for Registrar when a test needs that gap (infra/README.md lists the permissions). */
function tenantData(options: { directoryReadAll?: boolean } = {}): TenantData {
  const data = structuredClone(demo.data);
  if (options.directoryReadAll === false) {
    for (const [id, assignment] of Object.entries(data.appRoleAssignments)) {
      if (
        assignment.data.principalId === demoIds.registrarServicePrincipal &&
        assignment.data.appRoleId === DIRECTORY_READ_ALL
      ) {
        delete data.appRoleAssignments[id];
      }
    }
  }
  return data;
}

interface Harness {
  tenant: RunningTenant;
  provisioner: GraphProvisioner;
  logs: LogCapture;
  calls: SeenCall[];
}

const running: RunningTenant[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((t) => t.stop()));
});

async function start(options: { data?: TenantData; provisioner?: GraphTiming } = {}): Promise<Harness> {
  const { policy, calls } = recordingFaults();
  const tenant = await startTestTenant({ data: options.data ?? tenantData(), routes: allRoutes, faults: policy });
  running.push(tenant);
  const logs = new LogCapture();
  const connection = registrarConnection(tenant);
  const provisioner = new GraphProvisioner({
    graph: new GraphCaller({
      connection,
      baseDelayMs: 100,
      maxDelayMs: 1000,
      stepTimeoutMs: 45_000,
      ...options.provisioner,
    }),
    logger: createLogger({ level: 'debug', destination: logs }),
  });
  return { tenant, provisioner, logs, calls };
}

async function permission(provisioner: GraphProvisioner, value: string, type: PermissionType): Promise<PermissionRef> {
  const found = resolvePermissionIn(await provisioner.catalog(MICROSOFT_GRAPH_APP_ID), value, type);
  if (!found) throw new Error(`no ${type} ${value} in the catalog`);
  return found;
}

let sequence = 0;
async function typicalSpec(provisioner: GraphProvisioner): Promise<AppSpec> {
  const now = Date.now();
  const certificate = selfSignedCertificate(
    'registrar-test',
    new Date(now - 3_600_000),
    new Date(now + 180 * 86_400_000),
    'ec',
  );
  sequence += 1;
  return {
    requestId: `req-${now.toString(36)}-${sequence}`,
    displayName: 'Inventory Sync',
    purpose: 'Reads users and groups to keep the inventory up to date.',
    signInAudience: 'AzureADMyOrg',
    platform: 'web',
    redirectUris: ['https://inventory.contoso.com/auth'],
    permissions: [
      await permission(provisioner, 'User.Read.All', 'Role'),
      await permission(provisioner, 'Group.Read.All', 'Role'),
      await permission(provisioner, 'Mail.Send', 'Role'),
      await permission(provisioner, 'User.Read', 'Scope'),
      await permission(provisioner, 'Mail.Send', 'Scope'),
    ],
    ownerIds: [requester, extraOwner],
    directoryRoleTemplateId: USER_ADMINISTRATOR,
    certificate: {
      derBase64: certificate.der,
      thumbprint: certificate.thumbprint,
      subject: 'CN=registrar-test',
      notBefore: certificate.notBefore.toISOString(),
      notAfter: certificate.notAfter.toISOString(),
    },
  };
}

interface Outcome {
  applicationObjectId: string;
  appId: string;
  servicePrincipalId: string;
  assignments: string[];
  grants: string[];
  roleAssignmentId: string;
}

/** A step's context: the request and, once its objects exist, when they were created (now, in these tests). */
const contextOf = (spec: AppSpec, createdAt?: Date): StepContext => ({
  requestId: spec.requestId,
  ...(createdAt ? { createdAt } : {}),
});

/** The steps in order, as the provisioning service runs them, each told when the objects it refers to were created. */
async function provision(
  provisioner: GraphProvisioner,
  spec: AppSpec,
  before?: (step: string) => void,
): Promise<Outcome> {
  before?.('upsertApplication');
  const app = await provisioner.upsertApplication(spec, contextOf(spec));
  const appMade = contextOf(spec, new Date());
  before?.('ensureApplicationOwners');
  await provisioner.ensureApplicationOwners(app.applicationObjectId, spec.ownerIds, appMade);
  before?.('ensureServicePrincipal');
  const servicePrincipalId = await provisioner.ensureServicePrincipal(app.appId, spec.ownerIds, appMade);
  const spMade = contextOf(spec, new Date());
  before?.('grantApplicationPermissions');
  const assignments = await provisioner.grantApplicationPermissions(servicePrincipalId, spec.permissions, spMade);
  before?.('grantDelegatedPermissions');
  const grants = await provisioner.grantDelegatedPermissions(servicePrincipalId, spec.permissions, spMade);
  before?.('assignDirectoryRole');
  const roleAssignmentId = await provisioner.assignDirectoryRole(
    servicePrincipalId,
    spec.directoryRoleTemplateId!,
    spMade,
  );
  before?.('addCertificate');
  await provisioner.addCertificate(app.applicationObjectId, spec.certificate!, spMade);
  return {
    applicationObjectId: app.applicationObjectId,
    appId: app.appId,
    servicePrincipalId,
    assignments,
    grants,
    roleAssignmentId,
  };
}

/** What the tenant holds for the request, counted. */
function inventory(tenant: RunningTenant, spec: AppSpec) {
  const data = tenant.state().data;
  const apps = Object.values(data.applications).filter((a) => a.data.uniqueName === uniqueNameFor(spec.requestId));
  const app = apps[0];
  const sps = Object.values(data.servicePrincipals).filter((sp) => app && sp.data.appId === app.data.appId);
  const spId = String(sps[0]?.data.id);
  const assignments = Object.values(data.appRoleAssignments).filter((a) => a.data.principalId === spId);
  const grants = Object.values(data.oauth2PermissionGrants).filter((g) => g.data.clientId === spId);
  const roles = Object.values(data.roleAssignments).filter((r) => r.data.principalId === spId);
  return {
    applications: apps.length,
    servicePrincipals: sps.length,
    applicationOwners: [...(app?.owners ?? [])].sort(),
    servicePrincipalOwners: [...(sps[0]?.owners ?? [])].sort(),
    appRoleIds: assignments.map((a) => String(a.data.appRoleId)).sort(),
    grants: grants.map((g) => ({
      resourceId: g.data.resourceId,
      consentType: g.data.consentType,
      scope: String(g.data.scope).split(' ').sort().join(' '),
    })),
    roles: roles.map((r) => ({ roleDefinitionId: r.data.roleDefinitionId, directoryScopeId: r.data.directoryScopeId })),
    keyCredentials: ((app?.data.keyCredentials as Array<{ customKeyIdentifier: string }> | undefined) ?? []).map(
      (k) => k.customKeyIdentifier,
    ),
    passwordCredentials: ((app?.data.passwordCredentials as unknown[] | undefined) ?? []).length,
    tags: app?.data.tags,
    requiredResourceAccess: app?.data.requiredResourceAccess,
    redirectUris: (app?.data.web as { redirectUris?: string[] } | undefined)?.redirectUris,
  };
}

function expected(spec: AppSpec) {
  const roles = spec.permissions
    .filter((p) => p.type === 'Role')
    .map((p) => p.id)
    .sort();
  return {
    applications: 1,
    servicePrincipals: 1,
    // Not Registrar: with Application.ReadWrite.All it does not become an owner of what it creates.
    applicationOwners: [requester, extraOwner].sort(),
    servicePrincipalOwners: [requester, extraOwner].sort(),
    appRoleIds: roles,
    grants: [{ resourceId: demoIds.graphServicePrincipal, consentType: 'AllPrincipals', scope: 'Mail.Send User.Read' }],
    roles: [{ roleDefinitionId: USER_ADMINISTRATOR, directoryScopeId: '/' }],
    keyCredentials: [spec.certificate!.thumbprint],
    passwordCredentials: 0,
    tags: ['registrar', `registrar-request:${spec.requestId}`],
    requiredResourceAccess: [
      {
        resourceAppId: MICROSOFT_GRAPH_APP_ID,
        resourceAccess: spec.permissions.map((p) => ({ id: p.id, type: p.type })),
      },
    ],
    redirectUris: ['https://inventory.contoso.com/auth'],
  };
}

const WRITES = /^(POST|PATCH|PUT|DELETE) /;
const writes = (counts: Record<string, number>) =>
  Object.fromEntries(Object.entries(counts).filter(([k]) => WRITES.test(k)));

describe('GraphProvisioner against the local tenant', () => {
  test('when a typical request is provisioned, then the tenant holds exactly one app, one service principal, its owners, grants, role and certificate', async () => {
    const { tenant, provisioner } = await start();
    const spec = await typicalSpec(provisioner);
    tenant.counters.reset();

    const outcome = await provision(provisioner, spec);

    expect(inventory(tenant, spec)).toEqual(expected(spec));
    expect(outcome.assignments).toHaveLength(3);
    expect(outcome.grants).toHaveLength(1);
    // The numbers the README quotes: Graph calls for one typical provisioning (catalog already cached).
    expect(tenant.counters.snapshot()).toEqual({
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
      'GET /roleManagement/directory/roleAssignments': 1,
      'POST /roleManagement/directory/roleAssignments': 1,
      'GET /applications/{id}': 1,
      'PATCH /applications/{id}': 1,
    });
    expect(tenant.counters.total()).toBe(19);
  });

  test('when every step runs a second time, then nothing is created or changed and only the idempotent upserts write', async () => {
    const { tenant, provisioner } = await start();
    const spec = await typicalSpec(provisioner);
    const first = await provision(provisioner, spec);
    const before = inventory(tenant, spec);
    tenant.counters.reset();

    const second = await provision(provisioner, spec);

    expect(inventory(tenant, spec)).toEqual(before);
    expect(second).toEqual(first);
    expect(writes(tenant.counters.snapshot())).toEqual({
      "PATCH /applications(uniqueName='{uniqueName}')": 1,
      "PATCH /servicePrincipals(appId='{appId}')": 1,
    });
    // The application is looked for by uniqueName before its upsert; each upsert's 204 costs a GET for the ids;
    // every other step is one read.
    expect(tenant.counters.total()).toBe(11);
  });

  test('when a fresh provisioner (a restarted process) resumes a finished request, then it adopts everything and creates nothing', async () => {
    const { tenant, provisioner } = await start();
    const spec = await typicalSpec(provisioner);
    await provision(provisioner, spec);
    const before = inventory(tenant, spec);
    const restarted = (await start({ data: tenant.state().toJSON() })) as Harness;

    await provision(restarted.provisioner, spec);

    expect(inventory(restarted.tenant, spec)).toEqual(before);
  });

  const faults: Array<[string, FaultSettings]> = [
    ['throttled (429 with Retry-After)', { throttle: { capacity: 8, refillPerSecond: 4 } }],
    ['30% of calls answered 503', { unavailable: { rate: 0.3, retryAfterSeconds: 1 } }],
    ['new objects replicate for 1.5 s', { replicationDelayMs: 1500 }],
    ['the answers to the first 3 writes are lost', { loseResponses: 3 }],
    ['credential writes race (409 Directory_ConcurrencyViolation)', { concurrencyViolations: 2 }],
    [
      'everything at once',
      {
        unavailable: { rate: 0.15, retryAfterSeconds: 1 },
        replicationDelayMs: 1000,
        loseResponses: 2,
        concurrencyViolations: 1,
        latencyMs: 5,
      },
    ],
  ];

  test.each(faults)(
    'when %s, then provisioning still ends with exactly one of everything, and no call came before its Retry-After ended',
    async (_name, settings) => {
      const { tenant, provisioner, calls } = await start();
      const spec = await typicalSpec(provisioner);
      tenant.faults.configure(settings);

      await provision(provisioner, spec);

      tenant.faults.reset();
      expect(inventory(tenant, spec)).toEqual(expected(spec));
      assertRetryAfterHonoured(calls);
      // The fault did bite: a clean run is 19 calls (the catalog read and the 18 of the provisioning).
      expect(calls.length).toBeGreaterThan(19);
    },
  );

  test("when the answer to each step's create is lost while objects replicate, then the retries adopt what the lost calls made", async () => {
    const { tenant, provisioner } = await start();
    const spec = await typicalSpec(provisioner);
    tenant.faults.configure({ replicationDelayMs: 1000 });

    await provision(provisioner, spec, () => tenant.faults.configure({ loseResponses: 1 }));

    tenant.faults.reset();
    expect(inventory(tenant, spec)).toEqual(expected(spec));
  });

  test('when throttled, then the wait is Retry-After exactly once: the client does not wait too, and never calls early', async () => {
    const { tenant, provisioner, calls, logs } = await start();
    const spec = await typicalSpec(provisioner);
    // Four resource units needed, three in the bucket: the fourth call is refused with Retry-After: 2.
    tenant.faults.configure({ throttle: { capacity: 3, refillPerSecond: 2, retryAfterSeconds: 2 } });
    const started = Date.now();

    const app = await provisioner.upsertApplication(spec, contextOf(spec));
    await provisioner.ensureApplicationOwners(app.applicationObjectId, spec.ownerIds, contextOf(spec, new Date()));
    const elapsed = Date.now() - started;

    const refused = calls.filter((c) => c.status === 429);
    expect(refused).toHaveLength(1);
    assertRetryAfterHonoured(calls);
    // Registrar's policy saw the 429 and waited exactly Retry-After (the Graph client's RetryHandler is off for
    // these calls), and only once in all.
    expect(
      logs.find('graph call retried').map((e) => ({ reason: e.reason, delayMs: e.delayMs, status: e.status })),
    ).toEqual([{ reason: 'retry-after', delayMs: 2000, status: 429 }]);
    expect(elapsed).toBeGreaterThanOrEqual(2000);
    expect(elapsed).toBeLessThan(2000 + 2500);
  });

  test('when a new secret is added, then verifySecret gets a token with it, and the secret never reaches the logs', async () => {
    const { tenant, provisioner, logs } = await start();
    const spec = await typicalSpec(provisioner);
    const app = await provisioner.upsertApplication(spec, contextOf(spec));

    const secret = await provisioner.addPassword(
      app.applicationObjectId,
      { displayName: 'Registrar request', endDateTime: new Date(Date.now() + 90 * 86_400_000) },
      contextOf(spec, new Date()),
    );
    const verdict = await provisioner.verifySecret(app.appId, secret.secretText, new Date(Date.now() + 10_000));

    expect(verdict).toBe('works');
    expect(secret.secretText.length).toBeGreaterThanOrEqual(16);
    expect(secret.hint).toBe(secret.secretText.slice(0, 3));
    expect(inventory(tenant, spec).passwordCredentials).toBe(1);
    expect(logs.find('password added')[0]).toMatchObject({
      keyId: secret.keyId,
      step: 'add-password',
      requestId: spec.requestId,
    });
    expect(logs.text).not.toContain(secret.secretText);
  });

  test('when a new secret takes 1.5 s to propagate, then verifySecret waits and it works', async () => {
    const { tenant, provisioner, logs } = await start();
    const spec = await typicalSpec(provisioner);
    const app = await provisioner.upsertApplication(spec, contextOf(spec));
    tenant.faults.configure({ credentialDelayMs: 1500 });
    const secret = await provisioner.addPassword(
      app.applicationObjectId,
      { displayName: 'Registrar request', endDateTime: new Date(Date.now() + 90 * 86_400_000) },
      contextOf(spec, new Date()),
    );
    const started = Date.now();

    const verdict = await provisioner.verifySecret(app.appId, secret.secretText, new Date(Date.now() + 20_000));

    expect(verdict).toBe('works');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(logs.find('secret not yet usable').length).toBeGreaterThan(0);
    expect(logs.text).not.toContain(secret.secretText);
  });

  test('when the deadline ends before the secret propagates, then verifySecret answers pending', async () => {
    const { tenant, provisioner } = await start();
    const spec = await typicalSpec(provisioner);
    const app = await provisioner.upsertApplication(spec, contextOf(spec));
    tenant.faults.configure({ credentialDelayMs: 10_000 });
    const secret = await provisioner.addPassword(
      app.applicationObjectId,
      { displayName: 'Registrar request', endDateTime: new Date(Date.now() + 90 * 86_400_000) },
      contextOf(spec, new Date()),
    );

    const verdict = await provisioner.verifySecret(app.appId, secret.secretText, new Date(Date.now() + 800));

    expect(verdict).toBe('pending');
  });

  test('when the answer to addPassword is lost, then it is not retried: one secret exists and the error says none can be shown', async () => {
    const { tenant, provisioner, logs } = await start();
    const spec = await typicalSpec(provisioner);
    const app = await provisioner.upsertApplication(spec, contextOf(spec));
    tenant.faults.configure({ loseResponses: 1 });

    const error = await provisioner
      .addPassword(
        app.applicationObjectId,
        { displayName: 'Registrar request', endDateTime: new Date(Date.now() + 90 * 86_400_000) },
        contextOf(spec, new Date()),
      )
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(RegistrarError);
    expect((error as RegistrarError).code).toBe('unavailable');
    expect((error as RegistrarError).message).toContain('not retried');
    expect(inventory(tenant, spec).passwordCredentials).toBe(1);
    expect(tenant.counters.snapshot()['POST /applications/{id}/addPassword']).toBe(1);
    expect(logs.find('secret outcome unknown')).toHaveLength(1);
  });

  test('when a credential write races (409 concurrency), then addPassword retries and makes exactly one secret', async () => {
    const { tenant, provisioner } = await start();
    const spec = await typicalSpec(provisioner);
    const app = await provisioner.upsertApplication(spec, contextOf(spec));
    tenant.faults.configure({ concurrencyViolations: 2 });

    await provisioner.addPassword(
      app.applicationObjectId,
      { displayName: 'Registrar request', endDateTime: new Date(Date.now() + 90 * 86_400_000) },
      contextOf(spec, new Date()),
    );

    expect(inventory(tenant, spec).passwordCredentials).toBe(1);
    expect(tenant.counters.snapshot()['POST /applications/{id}/addPassword']).toBe(3);
  });

  test('when Registrar lacks Directory.Read.All, then adding owners fails at once with a not-authorized error naming the permission', async () => {
    const { tenant, provisioner } = await start({ data: tenantData({ directoryReadAll: false }) });
    const spec = await typicalSpec(provisioner);
    const app = await provisioner.upsertApplication(spec, contextOf(spec));
    tenant.counters.reset();

    const error = await provisioner
      .ensureApplicationOwners(app.applicationObjectId, spec.ownerIds, contextOf(spec, new Date()))
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(RegistrarError);
    expect((error as RegistrarError).code).toBe('not-authorized');
    expect((error as RegistrarError).message).toContain('Directory.Read.All');
    expect((error as RegistrarError).userMessage).not.toContain('403');
    // 403 is never retried.
    expect(tenant.counters.snapshot()['POST /applications/{id}/owners/$ref']).toBe(1);
  });

  test('when an owner does not exist, then the step fails with not-found after one try (a 404 about an old id is real)', async () => {
    const { tenant, provisioner } = await start();
    const spec = await typicalSpec(provisioner);
    const app = await provisioner.upsertApplication(spec, contextOf(spec));
    tenant.counters.reset();
    const ghost = '0badf00d-0000-4000-8000-000000000000';

    const error = await provisioner
      .ensureApplicationOwners(app.applicationObjectId, [ghost], contextOf(spec, new Date()))
      .catch((e: unknown) => e);

    expect((error as RegistrarError).code).toBe('not-found');
    expect((error as RegistrarError).message).toContain(ghost);
    expect(tenant.counters.snapshot()['POST /applications/{id}/owners/$ref']).toBe(1);
  });

  test('when the catalog is read twice, then Graph is asked once', async () => {
    const { tenant, provisioner } = await start();
    tenant.counters.reset();

    const catalog = await provisioner.catalog(MICROSOFT_GRAPH_APP_ID);
    await provisioner.catalog(MICROSOFT_GRAPH_APP_ID);
    const scope = resolvePermissionIn(await provisioner.catalog(MICROSOFT_GRAPH_APP_ID), 'user.read', 'Scope');

    expect(tenant.counters.total()).toBe(1);
    expect(catalog.resourceDisplayName).toBe('Microsoft Graph');
    expect(catalog.permissions.filter((p) => p.type === 'Role').length).toBeGreaterThan(20);
    expect(scope).toMatchObject({
      id: 'e1fe6dd8-ba31-4d61-89e7-88639da4683d',
      value: 'User.Read',
      type: 'Scope',
      adminConsentRequired: false,
      resourceAppId: MICROSOFT_GRAPH_APP_ID,
    });
    expect(
      resolvePermissionIn(await provisioner.catalog(MICROSOFT_GRAPH_APP_ID), 'No.Such.Permission', 'Role'),
    ).toBeUndefined();
  });
});

/** Each refused call's retry (the next call: provisioning is sequential) came after the whole Retry-After. */
function assertRetryAfterHonoured(calls: readonly SeenCall[]): void {
  calls.forEach((call, i) => {
    if (call.retryAfterMs === undefined) return;
    const next = calls[i + 1];
    if (!next) return;
    expect({ method: next.method, path: next.path }).toEqual({ method: call.method, path: call.path });
    expect(next.at - call.at).toBeGreaterThanOrEqual(call.retryAfterMs);
  });
}
