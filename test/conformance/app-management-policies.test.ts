/**
 * The app management policy reads Registrar makes before a form, a Submit, a provisioning run and a rotation, as
 * the local tenant answers them: GET /policies/defaultAppManagementPolicy
 * (https://learn.microsoft.com/graph/api/tenantappmanagementpolicy-get), GET /policies/appManagementPolicies
 * (https://learn.microsoft.com/graph/api/appmanagementpolicy-list) and GET /applications/{id}/appManagementPolicies
 * (https://learn.microsoft.com/graph/api/application-list-appmanagementpolicies), with their permissions and errors,
 * and the demo tenant's policies: the tenant default's passwordLifetime and "Secretless apps" on Payroll Sync alone.
 * policies.test.ts covers writing policies and their enforcement in general.
 */
import type { Client } from '@microsoft/microsoft-graph-client';
import { demoBot } from '../../src/local/demo-identities';
import { allRoutes } from '../../src/local/tenant/routes';
import {
  DEMO_REGISTRAR_SECRET,
  demoApplicationIds,
  demoPolicyRestrictsAppsCreatedAfter,
  demoSecretlessPolicy,
  demoTenant,
} from '../../src/local/tenant/seed';
import type { RunningTenant } from '../../src/local/tenant/server';
import { graphClientFor, startTestTenant } from '../helpers/tenant';
import {
  ApplicationsFixture,
  clientFor,
  failure,
  raw,
  startApplicationsTenant,
  type Caller,
} from '../helpers/tenant-fixtures';

const DAY = 86_400_000;
const DEFAULT_POLICY_ID = '00000000-0000-0000-0000-000000000000';
const payrollSync = demoApplicationIds(2);
const expenseBot = demoApplicationIds(3);

describe("the demo tenant's app management policies", () => {
  let tenant: RunningTenant;
  let graph: Client;

  beforeAll(async () => {
    tenant = await startTestTenant({ data: demoTenant().data, routes: allRoutes });
    graph = graphClientFor(tenant, demoBot.id, DEMO_REGISTRAR_SECRET).client;
  });

  afterAll(async () => {
    await tenant.stop();
  });

  test('when Registrar reads the tenant default, then it is enabled with a passwordLifetime of P2Y for apps created since 2024, in Graph’s shape', async () => {
    const policy = (await graph.api('/policies/defaultAppManagementPolicy').get()) as Record<string, unknown>;

    expect(policy).toEqual({
      '@odata.context': `${tenant.url}/v1.0/$metadata#policies/defaultAppManagementPolicy/$entity`,
      id: DEFAULT_POLICY_ID,
      displayName: 'Default app management tenant policy',
      description: expect.stringContaining('Default tenant policy'),
      isEnabled: true,
      applicationRestrictions: {
        passwordCredentials: [
          {
            restrictionType: 'passwordLifetime',
            state: 'enabled',
            maxLifetime: 'P2Y',
            restrictForAppsCreatedAfterDateTime: demoPolicyRestrictsAppsCreatedAfter,
            excludeActors: null,
          },
        ],
        keyCredentials: [],
      },
      servicePrincipalRestrictions: { passwordCredentials: [], keyCredentials: [] },
    });
  });

  test('when Registrar lists the policies assigned to Payroll Sync and to Expense Bot, then Payroll Sync has “Secretless apps” and Expense Bot none', async () => {
    const payroll = (await graph.api(`/applications/${payrollSync.id}/appManagementPolicies`).get()) as {
      '@odata.context': string;
      value: Array<Record<string, unknown>>;
    };
    const expense = (await graph.api(`/applications/${expenseBot.id}/appManagementPolicies`).get()) as {
      value: unknown[];
    };
    const all = (await graph.api('/policies/appManagementPolicies').get()) as { value: Array<{ id: string }> };

    expect(payroll['@odata.context']).toBe(`${tenant.url}/v1.0/$metadata#appManagementPolicies`);
    expect(payroll.value).toEqual([
      {
        id: demoSecretlessPolicy.id,
        displayName: 'Secretless apps',
        description: expect.stringContaining('no new client secrets'),
        isEnabled: true,
        restrictions: {
          passwordCredentials: [
            {
              restrictionType: 'passwordAddition',
              state: 'enabled',
              maxLifetime: null,
              restrictForAppsCreatedAfterDateTime: null,
              excludeActors: null,
            },
          ],
          keyCredentials: [],
        },
      },
    ]);
    expect(expense.value).toEqual([]);
    expect(all.value.map((p) => p.id)).toEqual([demoSecretlessPolicy.id]);
  });

  test('when a secret is added to Payroll Sync, then Graph refuses it as per the assigned policy and the app keeps no new secret', async () => {
    const before = tenant.state().data.applications[payrollSync.id]!.data.passwordCredentials as unknown[];

    const refused = await failure(
      graph.api(`/applications/${payrollSync.id}/addPassword`).post({ passwordCredential: { displayName: 'x' } }),
    );

    expect(refused.statusCode).toBe(400);
    expect(refused.body.error).toMatchObject({
      code: 'CredentialTypeNotAllowedAsPerAppPolicy',
      message: `Credential type not allowed as per assigned policy '${demoSecretlessPolicy.id}'.`,
    });
    expect(tenant.state().data.applications[payrollSync.id]!.data.passwordCredentials).toEqual(before);
  });

  test('when secrets of 730 days and of Graph’s implicit two years are added to Expense Bot, then both pass the tenant default, and one a day past two years is refused', async () => {
    const now = Date.now();
    const add = (passwordCredential: Record<string, string>) =>
      graph.api(`/applications/${expenseBot.id}/addPassword`).post({ passwordCredential }) as Promise<{
        keyId: string;
        endDateTime: string;
      }>;
    const twoYearsOn = new Date(now);
    twoYearsOn.setUTCFullYear(twoYearsOn.getUTCFullYear() + 2);

    const days730 = await add({ endDateTime: new Date(now + 730 * DAY).toISOString() });
    const implicit = await add({});
    const tooLong = await failure(add({ endDateTime: new Date(twoYearsOn.getTime() + DAY).toISOString() }));

    expect(Date.parse(days730.endDateTime)).toBeGreaterThan(now + 729 * DAY);
    expect(Date.parse(implicit.endDateTime)).toBeGreaterThanOrEqual(twoYearsOn.getTime() - 60_000);
    expect(tooLong.statusCode).toBe(400);
    expect(tooLong.body.error).toMatchObject({
      code: 'CredentialInvalidLifetimeAsPerAppPolicy',
      message: `Credential lifetime exceeds the max value allowed as per assigned policy '${DEFAULT_POLICY_ID}'.`,
    });
  });
});

describe("listing an application's app management policies", () => {
  let tenant: RunningTenant;
  let fixture: ApplicationsFixture;
  let admin: Caller;

  beforeEach(() => {
    fixture = new ApplicationsFixture();
    admin = fixture.addCaller('Admin tool', ['Application.ReadWrite.All', 'Policy.ReadWrite.ApplicationConfiguration']);
  });

  afterEach(async () => {
    await tenant.stop();
  });

  test('when the caller lacks Policy.Read.All or lacks an application read permission, then Graph answers 403; with both it lists', async () => {
    const app = fixture.addApp('Governed');
    const policyOnly = fixture.addCaller('Policy reader', ['Policy.Read.All']);
    const appsOnly = fixture.addCaller('Apps reader', ['Application.Read.All']);
    const both = fixture.addCaller('Registrar-like', ['Policy.Read.All', 'Application.Read.All']);
    tenant = await startApplicationsTenant(fixture);
    const path = `/applications/${String(app.data.id)}/appManagementPolicies`;

    const noApps = await failure(clientFor(tenant, policyOnly).api(path).get());
    const noPolicy = await failure(clientFor(tenant, appsOnly).api(path).get());
    const noDefault = await failure(clientFor(tenant, appsOnly).api('/policies/defaultAppManagementPolicy').get());
    const listed = (await clientFor(tenant, both).api(path).get()) as { value: unknown[] };

    for (const refused of [noApps, noPolicy, noDefault]) {
      expect(refused.statusCode).toBe(403);
      expect(refused.body.error).toMatchObject({
        code: 'Authorization_RequestDenied',
        message: 'Insufficient privileges to complete the operation.',
      });
    }
    expect(listed.value).toEqual([]);
  });

  test('when the application does not exist or its id is not a GUID, then Graph answers 404 and 400', async () => {
    tenant = await startApplicationsTenant(fixture);
    const graph = clientFor(tenant, admin);
    const missing = 'b1e5c0de-0000-4000-8000-00000000dead';

    const unknown = await failure(graph.api(`/applications/${missing}/appManagementPolicies`).get());
    const bad = await failure(graph.api('/applications/not-a-guid/appManagementPolicies').get());

    expect(unknown.statusCode).toBe(404);
    expect(unknown.body.error).toMatchObject({ code: 'Request_ResourceNotFound' });
    expect(unknown.body.error?.message).toContain(missing);
    expect(bad.statusCode).toBe(400);
    expect(bad.body.error?.message).toBe("Invalid object identifier 'not-a-guid'.");
  });

  test('when a policy is assigned and then disabled, then the listing shows it with isEnabled false, and unassigned it is gone', async () => {
    const app = fixture.addApp('Governed');
    tenant = await startApplicationsTenant(fixture);
    const graph = clientFor(tenant, admin);
    const appPath = `/applications/${String(app.data.id)}/appManagementPolicies`;
    const created = (await graph.api('/policies/appManagementPolicies').post({
      displayName: 'Short secrets',
      description: 'Client secrets at most 90 days',
      isEnabled: true,
      restrictions: { passwordCredentials: [{ restrictionType: 'passwordLifetime', maxLifetime: 'P90D' }] },
    })) as { id: string };
    await raw(graph, `${appPath}/$ref`, 'POST', {
      '@odata.id': `https://graph.microsoft.com/v1.0/policies/appManagementPolicies/${created.id}`,
    });

    const assigned = (await graph.api(appPath).get()) as { value: Array<{ id: string; isEnabled: boolean }> };
    await graph.api(`/policies/appManagementPolicies/${created.id}`).patch({ isEnabled: false });
    const disabled = (await graph.api(appPath).get()) as { value: Array<{ id: string; isEnabled: boolean }> };
    const removed = await raw(graph, `${appPath}/${created.id}/$ref`, 'DELETE');
    const after = (await graph.api(appPath).get()) as { value: unknown[] };

    expect(assigned.value).toMatchObject([{ id: created.id, isEnabled: true }]);
    expect(disabled.value).toMatchObject([{ id: created.id, isEnabled: false }]);
    expect(removed.status).toBe(204);
    expect(after.value).toEqual([]);
  });
});
