/**
 * The local tenant's app management policies (https://learn.microsoft.com/graph/api/resources/tenantappmanagementpolicy): the tenant default and custom policies, their
 * assignment to applications, and their enforcement when credentials are added or updated (addPassword,
 * PATCH keyCredentials, create with a password), never at the token endpoint. Driven over https by the real
 * ClientSecretCredential and Graph client.
 */
import type { Client } from '@microsoft/microsoft-graph-client';
import { addDuration, parseDuration } from '../../src/local/tenant/app-policies';
import type { RunningTenant } from '../../src/local/tenant/server';
import { graphClientFor } from '../helpers/tenant';
import {
  ApplicationsFixture,
  type Caller,
  clientFor,
  failure,
  raw,
  startApplicationsTenant,
  testCertificate,
} from '../helpers/tenant-fixtures';

const DAY = 86_400_000;
const DEFAULT_POLICY_ID = '00000000-0000-0000-0000-000000000000';

type Restriction = {
  restrictionType: string;
  maxLifetime?: string | null;
  restrictForAppsCreatedAfterDateTime?: string | null;
  state?: string;
};

const days = (n: number, from = new Date()) => new Date(from.getTime() + n * DAY).toISOString();
const lifetime = (maxLifetime: string, restrictionType = 'passwordLifetime'): Restriction => ({
  restrictionType,
  maxLifetime,
  restrictForAppsCreatedAfterDateTime: null,
});

describe('the local tenant app management policies', () => {
  let tenant: RunningTenant;
  let fixture: ApplicationsFixture;
  /** Manages apps and policies. */
  let admin: Caller;
  let graph: Client;

  beforeEach(() => {
    fixture = new ApplicationsFixture();
    admin = fixture.addCaller('Admin tool', ['Application.ReadWrite.All', 'Policy.ReadWrite.ApplicationConfiguration']);
  });

  afterEach(async () => {
    await tenant.stop();
  });

  async function start(): Promise<void> {
    tenant = await startApplicationsTenant(fixture);
    graph = clientFor(tenant, admin);
  }

  async function setDefault(
    passwordCredentials: Restriction[],
    keyCredentials: Restriction[] = [],
    isEnabled = true,
  ): Promise<void> {
    await graph
      .api('/policies/defaultAppManagementPolicy')
      .patch({ isEnabled, applicationRestrictions: { passwordCredentials, keyCredentials } });
  }

  async function createPolicy(
    passwordCredentials: Restriction[],
    keyCredentials: Restriction[] = [],
    isEnabled = true,
  ): Promise<string> {
    const created = (await graph.api('/policies/appManagementPolicies').post({
      displayName: 'Custom',
      description: 'for the test',
      isEnabled,
      restrictions: { passwordCredentials, keyCredentials },
    })) as { id: string };
    return created.id;
  }

  async function assign(appId: string, policyId: string): Promise<Response> {
    return raw(graph, `/applications/${appId}/appManagementPolicies/$ref`, 'POST', {
      '@odata.id': `https://graph.microsoft.com/v1.0/policies/appManagementPolicies/${policyId}`,
    });
  }

  const addPassword = (appId: string, passwordCredential: Record<string, string> = {}) =>
    graph.api(`/applications/${appId}/addPassword`).post({ passwordCredential });

  describe('the tenant default', () => {
    test('when a new tenant is read, then the default policy has Graph’s shape, disabled with empty restrictions', async () => {
      const reader = fixture.addCaller('Policy reader', ['Policy.Read.All']);
      await start();

      const policy = (await clientFor(tenant, reader).api('/policies/defaultAppManagementPolicy').get()) as Record<
        string,
        unknown
      >;

      expect(policy).toEqual({
        '@odata.context': `${tenant.url}/v1.0/$metadata#policies/defaultAppManagementPolicy/$entity`,
        id: DEFAULT_POLICY_ID,
        displayName: 'Default app management tenant policy',
        description: expect.stringMatching(/^Default tenant policy that enforces app management restrictions/),
        isEnabled: false,
        applicationRestrictions: { passwordCredentials: [], keyCredentials: [] },
        servicePrincipalRestrictions: { passwordCredentials: [], keyCredentials: [] },
      });
    });

    test('when the default is patched, then Graph answers 204 and reads back the restrictions with their defaults, other parts unchanged', async () => {
      await start();

      const response = await raw(graph, '/policies/defaultAppManagementPolicy', 'PATCH', {
        isEnabled: true,
        applicationRestrictions: {
          passwordCredentials: [
            {
              restrictionType: 'passwordLifetime',
              maxLifetime: 'P4DT12H30M5S',
              restrictForAppsCreatedAfterDateTime: '2017-01-01T10:37:00Z',
            },
          ],
        },
      });
      const policy = (await graph.api('/policies/defaultAppManagementPolicy').get()) as Record<string, unknown>;

      expect(response.status).toBe(204);
      expect(policy).toMatchObject({
        isEnabled: true,
        displayName: 'Default app management tenant policy',
        applicationRestrictions: {
          passwordCredentials: [
            {
              restrictionType: 'passwordLifetime',
              state: 'enabled',
              maxLifetime: 'P4DT12H30M5S',
              restrictForAppsCreatedAfterDateTime: '2017-01-01T10:37:00Z',
              excludeActors: null,
            },
          ],
          keyCredentials: [],
        },
        servicePrincipalRestrictions: { passwordCredentials: [], keyCredentials: [] },
      });
    });

    test.each([
      [
        'an unknown restrictionType',
        { passwordCredentials: [{ restrictionType: 'passwordForever', maxLifetime: 'P1D' }] },
        /restrictionType/,
      ],
      [
        'a key restriction in the password list',
        { passwordCredentials: [{ restrictionType: 'asymmetricKeyLifetime', maxLifetime: 'P1D' }] },
        /restrictionType/,
      ],
      [
        'a password restriction in the key list',
        { keyCredentials: [{ restrictionType: 'passwordLifetime', maxLifetime: 'P1D' }] },
        /restrictionType/,
      ],
      [
        'a maxLifetime that is not ISO-8601',
        { passwordCredentials: [{ restrictionType: 'passwordLifetime', maxLifetime: '90 days' }] },
        /maxLifetime/,
      ],
      [
        'an empty duration',
        { passwordCredentials: [{ restrictionType: 'passwordLifetime', maxLifetime: 'P' }] },
        /maxLifetime/,
      ],
      [
        'a lifetime restriction without maxLifetime',
        { passwordCredentials: [{ restrictionType: 'passwordLifetime', maxLifetime: null }] },
        /maxLifetime/,
      ],
      [
        'a date that is not a date',
        {
          passwordCredentials: [
            { restrictionType: 'passwordAddition', restrictForAppsCreatedAfterDateTime: 'yesterday' },
          ],
        },
        /restrictForAppsCreatedAfterDateTime/,
      ],
      [
        'an unknown state',
        { passwordCredentials: [{ restrictionType: 'passwordAddition', state: 'paused' }] },
        /state/,
      ],
      ['an unknown property', { passwordCredentials: [], colour: 'blue' }, /The property 'colour' does not exist/],
    ])(
      'when the default is patched with %s, then Graph answers 400 and the policy is unchanged',
      async (_name, applicationRestrictions, message) => {
        await start();

        const error = await failure(
          graph.api('/policies/defaultAppManagementPolicy').patch({ isEnabled: true, applicationRestrictions }),
        );
        const policy = (await graph.api('/policies/defaultAppManagementPolicy').get()) as Record<string, unknown>;

        expect(error.statusCode).toBe(400);
        expect(error.code).toBe('Request_BadRequest');
        expect(error.message).toMatch(message);
        expect(policy).toMatchObject({
          isEnabled: false,
          applicationRestrictions: { passwordCredentials: [], keyCredentials: [] },
        });
      },
    );

    test('when isEnabled is not a boolean, then Graph answers 400', async () => {
      await start();
      const error = await failure(graph.api('/policies/defaultAppManagementPolicy').patch({ isEnabled: 'yes' }));

      expect(error.statusCode).toBe(400);
      expect(error.message).toMatch(/isEnabled/);
    });

    test('when a caller without Policy.Read.All reads, or a mere reader writes, then Graph answers 403 Authorization_RequestDenied', async () => {
      const appsOnly = fixture.addCaller('Apps only', ['Application.ReadWrite.All']);
      const reader = fixture.addCaller('Policy reader', ['Policy.Read.All']);
      await start();

      const read = await failure(clientFor(tenant, appsOnly).api('/policies/defaultAppManagementPolicy').get());
      const write = await failure(
        clientFor(tenant, reader).api('/policies/defaultAppManagementPolicy').patch({ isEnabled: true }),
      );
      const create = await failure(
        clientFor(tenant, reader).api('/policies/appManagementPolicies').post({ displayName: 'x', description: 'y' }),
      );

      expect([read.statusCode, write.statusCode, create.statusCode]).toEqual([403, 403, 403]);
      expect(read.body.error).toMatchObject({
        code: 'Authorization_RequestDenied',
        message: 'Insufficient privileges to complete the operation.',
      });
      expect(fixture.data.defaultAppManagementPolicy.isEnabled).toBe(false);
    });
  });

  describe('enforcement on addPassword', () => {
    test('when passwordLifetime is P90D, then a 180-day secret is refused with Graph’s exact error and a 60-day one is added', async () => {
      const app = fixture.addApp('Billing');
      await start();
      await setDefault([lifetime('P90D')]);

      const refused = await failure(addPassword(String(app.data.id), { displayName: 'long', endDateTime: days(180) }));
      const added = (await addPassword(String(app.data.id), { displayName: 'short', endDateTime: days(60) })) as {
        displayName: string;
        secretText: string;
      };

      const message = `Credential lifetime exceeds the max value allowed as per assigned policy '${DEFAULT_POLICY_ID}'.`;
      expect(refused.statusCode).toBe(400);
      expect(refused.body.error).toEqual({
        code: 'CredentialInvalidLifetimeAsPerAppPolicy',
        message,
        details: [{ code: 'InvalidKeyEndDate', message, target: 'EndDate' }],
        innerError: {
          date: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/),
          'request-id': expect.any(String),
          'client-request-id': expect.any(String),
        },
      });
      expect(added.displayName).toBe('short');
      expect(added.secretText).toHaveLength(40);
      expect((app.data.passwordCredentials as Array<{ displayName: string }>).map((c) => c.displayName)).toEqual([
        'short',
      ]);
    });

    test('when no endDateTime is sent, then the implicit two-year lifetime is judged too and refused', async () => {
      const app = fixture.addApp('Billing');
      await start();
      await setDefault([lifetime('P90D')]);

      const refused = await failure(graph.api(`/applications/${String(app.data.id)}/addPassword`).post({}));

      expect(refused.body.error?.code).toBe('CredentialInvalidLifetimeAsPerAppPolicy');
      expect(app.data.passwordCredentials).toEqual([]);
    });

    test('when maxLifetime has days and times, then a secret exactly that long is added and one a second longer refused', async () => {
      const app = fixture.addApp('Billing');
      await start();
      await setDefault([lifetime('P4DT12H30M5S')]);
      const start_ = '2030-01-01T00:00:00Z';

      const exact = await raw(graph, `/applications/${String(app.data.id)}/addPassword`, 'POST', {
        passwordCredential: { startDateTime: start_, endDateTime: '2030-01-05T12:30:05Z' },
      });
      const longer = await failure(
        addPassword(String(app.data.id), { startDateTime: start_, endDateTime: '2030-01-05T12:30:06Z' }),
      );

      expect(exact.status).toBe(200);
      expect(longer.body.error?.code).toBe('CredentialInvalidLifetimeAsPerAppPolicy');
    });

    test('when maxLifetime is in months, then it is a calendar month from the start date', async () => {
      const app = fixture.addApp('Billing');
      await start();
      await setDefault([lifetime('P1M')]);

      const endOfFebruary = await raw(graph, `/applications/${String(app.data.id)}/addPassword`, 'POST', {
        passwordCredential: { startDateTime: '2027-01-31T00:00:00Z', endDateTime: '2027-02-28T00:00:00Z' },
      });
      const firstOfMarch = await failure(
        addPassword(String(app.data.id), {
          startDateTime: '2027-01-31T00:00:00Z',
          endDateTime: '2027-03-01T00:00:00Z',
        }),
      );

      expect(endOfFebruary.status).toBe(200);
      expect(firstOfMarch.statusCode).toBe(400);
    });

    test('when passwordAddition applies, then addPassword is refused with CredentialTypeNotAllowedAsPerAppPolicy', async () => {
      const app = fixture.addApp('Billing');
      await start();
      await setDefault([
        { restrictionType: 'passwordAddition', maxLifetime: null, restrictForAppsCreatedAfterDateTime: null },
      ]);

      const refused = await failure(addPassword(String(app.data.id), { endDateTime: days(1) }));

      expect(refused.statusCode).toBe(400);
      expect(refused.body.error).toMatchObject({
        code: 'CredentialTypeNotAllowedAsPerAppPolicy',
        message: expect.stringContaining(DEFAULT_POLICY_ID),
      });
      expect(app.data.passwordCredentials).toEqual([]);
    });

    test('when a restriction is for apps created after a date, then older apps are exempt and newer ones are not', async () => {
      const older = fixture.addApp('Legacy', { createdDateTime: '2023-06-01T00:00:00.0000000Z' });
      const newer = fixture.addApp('Fresh', { createdDateTime: '2025-06-01T00:00:00.0000000Z' });
      await start();
      await setDefault([
        {
          restrictionType: 'passwordLifetime',
          maxLifetime: 'P90D',
          restrictForAppsCreatedAfterDateTime: '2024-01-01T00:00:00Z',
        },
      ]);

      const legacy = await raw(graph, `/applications/${String(older.data.id)}/addPassword`, 'POST', {
        passwordCredential: { endDateTime: days(180) },
      });
      const fresh = await failure(addPassword(String(newer.data.id), { endDateTime: days(180) }));

      expect(legacy.status).toBe(200);
      expect(fresh.body.error?.code).toBe('CredentialInvalidLifetimeAsPerAppPolicy');
    });

    test('when the policy is disabled, or the restriction’s state is disabled, then nothing is enforced', async () => {
      const app = fixture.addApp('Billing');
      await start();

      await setDefault([lifetime('P90D')], [], false);
      const policyOff = await raw(graph, `/applications/${String(app.data.id)}/addPassword`, 'POST', {});
      await setDefault([{ ...lifetime('P90D'), state: 'disabled' }], [], true);
      const restrictionOff = await raw(graph, `/applications/${String(app.data.id)}/addPassword`, 'POST', {});

      expect([policyOff.status, restrictionOff.status]).toEqual([200, 200]);
    });

    test('when an app is created with a password the default forbids, then Graph answers 400 and creates nothing', async () => {
      await start();
      await setDefault([lifetime('P90D')]);

      const refused = await failure(
        graph
          .api('/applications')
          .post({ displayName: 'With secret', passwordCredentials: [{ displayName: 'initial' }] }),
      );
      const allowed = (await graph
        .api('/applications')
        .post({ displayName: 'Short secret', passwordCredentials: [{ endDateTime: days(30) }] })) as {
        passwordCredentials: Array<{ secretText: string }>;
      };

      expect(refused.body.error?.code).toBe('CredentialInvalidLifetimeAsPerAppPolicy');
      expect(Object.values(fixture.data.applications).map((a) => a.data.displayName)).not.toContain('With secret');
      expect(allowed.passwordCredentials[0]!.secretText).toHaveLength(40);
    });

    test('when a policy would forbid a credential the caller already has, then that credential still gets tokens and calls Graph', async () => {
      await start();
      // The admin's own secret runs from 2020 to 2099: far beyond a day, and no addition allowed at all.
      await setDefault([
        { restrictionType: 'passwordAddition', maxLifetime: null, restrictForAppsCreatedAfterDateTime: null },
        lifetime('P1D'),
      ]);

      // A new credential object: its token is issued after the policy was enabled.
      const { credential, client } = graphClientFor(tenant, admin.appId, admin.secret);
      const token = await credential.getToken(`${tenant.url}/.default`);
      const policy = (await client.api('/policies/defaultAppManagementPolicy').get()) as { isEnabled: boolean };

      expect(token.token.split('.')).toHaveLength(3);
      expect(policy.isEnabled).toBe(true);
    });
  });

  describe('enforcement on certificates', () => {
    test('when asymmetricKeyLifetime is P30D, then a one-year certificate is refused, a 20-day one is uploaded, and keys sent back unchanged stay', async () => {
      const app = fixture.addApp('Billing');
      const now = new Date();
      const yearLong = await testCertificate(
        'year',
        new Date(now.getTime() - DAY),
        new Date(now.getTime() + 364 * DAY),
      );
      const short = await testCertificate('short', new Date(now.getTime() - DAY), new Date(now.getTime() + 19 * DAY));
      await start();
      // Uploaded before the policy: Graph judges credentials when they are added, not afterwards.
      await graph
        .api(`/applications/${String(app.data.id)}`)
        .patch({ keyCredentials: [{ type: 'AsymmetricX509Cert', usage: 'Verify', key: yearLong.der }] });
      const existing = (await graph
        .api(`/applications/${String(app.data.id)}`)
        .select('keyCredentials')
        .get()) as { keyCredentials: Array<Record<string, unknown>> };
      await setDefault([], [lifetime('P30D', 'asymmetricKeyLifetime')]);

      const second = await testCertificate(
        'year-2',
        new Date(now.getTime() - DAY),
        new Date(now.getTime() + 364 * DAY),
      );
      const refused = await failure(
        graph.api(`/applications/${String(app.data.id)}`).patch({
          keyCredentials: [
            ...existing.keyCredentials,
            { type: 'AsymmetricX509Cert', usage: 'Verify', key: second.der },
          ],
        }),
      );
      const uploaded = await raw(graph, `/applications/${String(app.data.id)}`, 'PATCH', {
        keyCredentials: [...existing.keyCredentials, { type: 'AsymmetricX509Cert', usage: 'Verify', key: short.der }],
      });

      const message = `Credential lifetime exceeds the max value allowed as per assigned policy '${DEFAULT_POLICY_ID}'.`;
      expect(refused.statusCode).toBe(400);
      expect(refused.body.error).toMatchObject({
        code: 'CredentialInvalidLifetimeAsPerAppPolicy',
        message,
        details: [{ code: 'InvalidKeyEndDate', message, target: 'EndDate' }],
      });
      expect(uploaded.status).toBe(204);
      expect((app.data.keyCredentials as Array<{ displayName: string }>).map((k) => k.displayName)).toEqual([
        'CN=year',
        'CN=short',
      ]);
    });
  });

  describe('custom policies', () => {
    test('when a custom policy is created, read, listed, patched and deleted, then each answers as Graph does', async () => {
      await start();

      const created = await raw(graph, '/policies/appManagementPolicies', 'POST', {
        displayName: 'Credential management policy',
        description: 'Cred policy sample',
        isEnabled: true,
        restrictions: { passwordCredentials: [lifetime('P4DT12H30M5S')] },
      });
      const body = (await created.json()) as { id: string } & Record<string, unknown>;
      await graph.api(`/policies/appManagementPolicies/${body.id}`).patch({ isEnabled: false });
      const read = (await graph.api(`/policies/appManagementPolicies/${body.id}`).get()) as Record<string, unknown>;
      const list = (await graph.api('/policies/appManagementPolicies').get()) as { value: Array<{ id: string }> };
      const enabledOnly = (await graph.api('/policies/appManagementPolicies').filter('isEnabled eq true').get()) as {
        value: unknown[];
      };
      const deleted = await raw(graph, `/policies/appManagementPolicies/${body.id}`, 'DELETE');
      const gone = await failure(graph.api(`/policies/appManagementPolicies/${body.id}`).get());

      expect(created.status).toBe(201);
      expect(body).toEqual({
        '@odata.context': `${tenant.url}/v1.0/$metadata#policies/appManagementPolicies/$entity`,
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        displayName: 'Credential management policy',
        description: 'Cred policy sample',
        isEnabled: true,
        restrictions: {
          passwordCredentials: [
            {
              restrictionType: 'passwordLifetime',
              state: 'enabled',
              maxLifetime: 'P4DT12H30M5S',
              restrictForAppsCreatedAfterDateTime: null,
              excludeActors: null,
            },
          ],
          keyCredentials: [],
        },
      });
      expect(read).toMatchObject({
        isEnabled: false,
        restrictions: { passwordCredentials: [{ maxLifetime: 'P4DT12H30M5S' }] },
      });
      expect(list.value.map((p) => p.id)).toEqual([body.id]);
      expect(enabledOnly.value).toEqual([]);
      expect(deleted.status).toBe(204);
      expect(gone.statusCode).toBe(404);
    });

    test('when a custom policy lacks its description or has a bad restriction, then Graph answers 400 and creates nothing', async () => {
      await start();

      const noDescription = await failure(graph.api('/policies/appManagementPolicies').post({ displayName: 'x' }));
      const badLifetime = await failure(
        graph.api('/policies/appManagementPolicies').post({
          displayName: 'x',
          description: 'y',
          restrictions: { keyCredentials: [{ restrictionType: 'asymmetricKeyLifetime', maxLifetime: '30' }] },
        }),
      );

      expect([noDescription.statusCode, badLifetime.statusCode]).toEqual([400, 400]);
      expect(fixture.data.appManagementPolicies).toEqual({});
    });

    test('when a looser custom policy is assigned, then it overrides a stricter default for that app only', async () => {
      const governed = fixture.addApp('Governed');
      const other = fixture.addApp('Other');
      await start();
      await setDefault([lifetime('P90D')]);
      const policyId = await createPolicy([lifetime('P365D')]);

      const assigned = await assign(String(governed.data.id), policyId);
      const looser = await raw(graph, `/applications/${String(governed.data.id)}/addPassword`, 'POST', {
        passwordCredential: { endDateTime: days(180) },
      });
      const stillStrict = await failure(addPassword(String(other.data.id), { endDateTime: days(180) }));
      const listed = (await graph.api(`/applications/${String(governed.data.id)}/appManagementPolicies`).get()) as {
        value: Array<{ id: string }>;
      };

      expect(assigned.status).toBe(204);
      expect(looser.status).toBe(200);
      expect(stillStrict.body.error?.message).toContain(DEFAULT_POLICY_ID);
      expect(listed.value.map((p) => p.id)).toEqual([policyId]);
    });

    test('when a stricter custom policy is assigned, then it refuses what the default allows and names itself; unassigned, the default rules again', async () => {
      const app = fixture.addApp('Governed');
      await start();
      await setDefault([lifetime('P90D')]);
      const policyId = await createPolicy([lifetime('P30D')]);
      await assign(String(app.data.id), policyId);

      const stricter = await failure(addPassword(String(app.data.id), { endDateTime: days(60) }));
      const unassigned = await raw(
        graph,
        `/applications/${String(app.data.id)}/appManagementPolicies/${policyId}/$ref`,
        'DELETE',
      );
      const underDefault = await raw(graph, `/applications/${String(app.data.id)}/addPassword`, 'POST', {
        passwordCredential: { endDateTime: days(60) },
      });

      expect(stricter.body.error?.message).toBe(
        `Credential lifetime exceeds the max value allowed as per assigned policy '${policyId}'.`,
      );
      expect(unassigned.status).toBe(204);
      expect(underDefault.status).toBe(200);
    });

    test('when the assigned custom policy has no password restriction, then it overrides the default completely (no inheritance)', async () => {
      const app = fixture.addApp('Governed');
      await start();
      await setDefault([
        { restrictionType: 'passwordAddition', maxLifetime: null, restrictForAppsCreatedAfterDateTime: null },
      ]);
      const policyId = await createPolicy([], [lifetime('P30D', 'asymmetricKeyLifetime')]);
      await assign(String(app.data.id), policyId);

      const added = await raw(graph, `/applications/${String(app.data.id)}/addPassword`, 'POST', {});

      expect(added.status).toBe(200);
    });

    test('when an app already has a policy, then assigning another is refused; an unknown policy is 404', async () => {
      const app = fixture.addApp('Governed');
      await start();
      const first = await createPolicy([lifetime('P30D')]);
      const second = await createPolicy([lifetime('P60D')]);
      await assign(String(app.data.id), first);

      const again = await assign(String(app.data.id), first);
      const another = await assign(String(app.data.id), second);
      const unknown = await assign(String(app.data.id), '0b1c2d3e-4f50-4617-8283-949596979899');

      expect([again.status, another.status, unknown.status]).toEqual([400, 400, 404]);
      expect(fixture.data.appManagementPolicies[second]!.appliesTo).toEqual([]);
    });

    test('when assigning without both Policy.ReadWrite.ApplicationConfiguration and Application.Read.All, then Graph answers 403', async () => {
      const app = fixture.addApp('Governed');
      const policyOnly = fixture.addCaller('Policy writer', ['Policy.ReadWrite.ApplicationConfiguration']);
      const appsOnly = fixture.addCaller('App reader', ['Application.Read.All']);
      const both = fixture.addCaller('Both', ['Policy.ReadWrite.ApplicationConfiguration', 'Application.Read.All']);
      await start();
      const policyId = await createPolicy([lifetime('P30D')]);
      const reference = { '@odata.id': `https://graph.microsoft.com/v1.0/policies/appManagementPolicies/${policyId}` };
      const path = `/applications/${String(app.data.id)}/appManagementPolicies/$ref`;

      const withPolicyOnly = await failure(clientFor(tenant, policyOnly).api(path).post(reference));
      const withAppsOnly = await failure(clientFor(tenant, appsOnly).api(path).post(reference));
      const withBoth = await raw(clientFor(tenant, both), path, 'POST', reference);

      expect([withPolicyOnly.statusCode, withAppsOnly.statusCode, withBoth.status]).toEqual([403, 403, 204]);
    });
  });
});

describe('ISO-8601 durations for maxLifetime', () => {
  test.each([
    ['P90D', '2026-01-01T00:00:00Z', '2026-04-01T00:00:00.000Z'],
    ['P4DT12H30M5S', '2026-01-01T00:00:00Z', '2026-01-05T12:30:05.000Z'],
    ['PT36H', '2026-01-01T00:00:00Z', '2026-01-02T12:00:00.000Z'],
    ['P2W', '2026-01-01T00:00:00Z', '2026-01-15T00:00:00.000Z'],
    ['P1Y', '2028-02-29T00:00:00Z', '2029-02-28T00:00:00.000Z'],
    ['P1M', '2026-01-31T10:00:00Z', '2026-02-28T10:00:00.000Z'],
    ['P1Y2M3DT4H', '2026-11-30T00:00:00Z', '2028-02-02T04:00:00.000Z'],
    ['PT0.5S', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00.500Z'],
  ])('when %s is added to %s, then the end is %s', (text, start, end) => {
    expect(addDuration(new Date(start), parseDuration(text)!).toISOString()).toBe(end);
  });

  test.each(['', 'P', 'PT', 'P1DT', '90D', 'P-1D', 'P1.5D', 'p90d', 'P90D '])(
    'when %p is parsed, then it is not a duration',
    (text) => {
      expect(parseDuration(text)).toBeUndefined();
    },
  );
});
