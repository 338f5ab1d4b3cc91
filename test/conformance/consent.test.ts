/**
 * Admin consent as Graph serves it (https://learn.microsoft.com/graph/api/serviceprincipal-post-approleassignedto, https://learn.microsoft.com/graph/api/oauth2permissiongrant-post): app role assignments, which the token endpoint turns into
 * the `roles` claim, and delegated permission grants. Driven by the real Graph SDK over https.
 */
import { type Client, ResponseType } from '@microsoft/microsoft-graph-client';
import type { RunningTenant } from '../../src/local/tenant/server';
import {
  clientFor,
  DirectoryFixture,
  type FixtureApp,
  GRAPH_SP_ID,
  GRAPH_TIMESTAMP,
  graphFailure,
  OPAQUE_ID,
  ROLES,
  startDirectoryTenant,
  TestClock,
  tokenClaims,
} from '../helpers/tenant-directory-fixtures';

const ASSIGNED_TO = `/servicePrincipals/${GRAPH_SP_ID}/appRoleAssignedTo`;

describe('app role assignments (application permissions)', () => {
  let fixture: DirectoryFixture;
  let clock: TestClock;
  let tenant: RunningTenant | undefined;
  let admin: FixtureApp;
  let payroll: FixtureApp;
  let fresh: FixtureApp;
  let assigner: FixtureApp;
  let client: Client;

  beforeEach(async () => {
    fixture = new DirectoryFixture();
    clock = new TestClock();
    admin = fixture.app('Registrar', {
      roles: ['AppRoleAssignment.ReadWrite.All', 'Application.Read.All', 'Application.ReadWrite.All'],
    });
    payroll = fixture.app('Payroll');
    fresh = fixture.app('Fresh', { servicePrincipal: false });
    assigner = fixture.app('Assigner', { roles: ['AppRoleAssignment.ReadWrite.All'] });
    tenant = await startDirectoryTenant(fixture, clock);
    client = clientFor(tenant, admin);
  });

  afterEach(async () => {
    await tenant?.stop();
    tenant = undefined;
  });

  const grant = (principalId: string, role: keyof typeof ROLES) => ({
    principalId,
    resourceId: GRAPH_SP_ID,
    appRoleId: ROLES[role],
  });

  test('when an admin assigns a Graph app role to an app, then Graph answers 201 with the assignment, and the app’s next token carries the role', async () => {
    const before = await graphFailure(clientFor(tenant!, payroll).api('/servicePrincipals').get());

    const response = (await client
      .api(ASSIGNED_TO)
      .responseType(ResponseType.RAW)
      .post(grant(payroll.spId, 'Application.Read.All'))) as Response;
    const assignment = (await response.json()) as Record<string, unknown>;
    const claims = await tokenClaims(tenant!, payroll);
    const after = (await clientFor(tenant!, payroll).api('/servicePrincipals').get()) as { value: unknown[] };

    expect(before.status).toBe(403);
    expect(response.status).toBe(201);
    expect(assignment).toEqual({
      '@odata.context': `${tenant!.url}/v1.0/$metadata#servicePrincipals('${GRAPH_SP_ID}')/appRoleAssignedTo/$entity`,
      id: expect.stringMatching(OPAQUE_ID),
      deletedDateTime: null,
      appRoleId: ROLES['Application.Read.All'],
      createdDateTime: expect.stringMatching(GRAPH_TIMESTAMP),
      principalDisplayName: 'Payroll',
      principalId: payroll.spId,
      principalType: 'ServicePrincipal',
      resourceDisplayName: 'Microsoft Graph',
      resourceId: GRAPH_SP_ID,
    });
    expect(claims.roles).toEqual(['Application.Read.All']);
    expect(after.value.length).toBeGreaterThan(0);
  });

  test('when the same role is assigned twice, then the second answers 400 "Permission being assigned already exists on the object."', async () => {
    await client.api(ASSIGNED_TO).post(grant(payroll.spId, 'Mail.Send'));

    const failure = await graphFailure(client.api(ASSIGNED_TO).post(grant(payroll.spId, 'Mail.Send')));

    expect(failure).toMatchObject({
      status: 400,
      code: 'Request_BadRequest',
      message: 'Permission being assigned already exists on the object.',
    });
  });

  test('when the role is not one of the resource’s app roles, or the principal does not exist, then Graph refuses the assignment', async () => {
    const unknownRole = await graphFailure(
      client.api(ASSIGNED_TO).post({
        principalId: payroll.spId,
        resourceId: GRAPH_SP_ID,
        appRoleId: '11111111-2222-4333-8444-555555555555',
      }),
    );
    const unknownPrincipal = await graphFailure(
      client.api(ASSIGNED_TO).post(grant('0b1c2d3e-4f50-4617-8283-949596979899', 'Mail.Send')),
    );

    expect(unknownRole).toMatchObject({
      status: 400,
      code: 'Request_BadRequest',
      message: 'Permission being assigned was not found on application.',
    });
    expect(unknownPrincipal).toMatchObject({ status: 404, code: 'Request_ResourceNotFound' });
  });

  test('when the principal is a service principal still replicating, then Graph answers 400 "Not a valid reference update", and 201 once it has replicated', async () => {
    tenant!.faults.configure({ replicationDelayMs: 20_000 });
    const sp = (await client.api('/servicePrincipals').post({ appId: fresh.appId })) as { id: string };
    tenant!.faults.configure({ replicationDelayMs: 0 });

    const failure = await graphFailure(client.api(ASSIGNED_TO).post(grant(sp.id, 'Mail.Send')));
    clock.advance(21_000);
    const assignment = (await client.api(ASSIGNED_TO).post(grant(sp.id, 'Mail.Send'))) as { principalId: string };

    expect(failure).toMatchObject({ status: 400, code: 'Request_BadRequest', message: 'Not a valid reference update' });
    expect(assignment.principalId).toBe(sp.id);
  });

  test('when assignments are listed from either side and one is removed, then both lists show it until the DELETE (204), after which it is 404', async () => {
    const created = (await client
      .api(`/servicePrincipals/${payroll.spId}/appRoleAssignments`)
      .post(grant(payroll.spId, 'Mail.Send'))) as { id: string };

    const toResource = (await client.api(ASSIGNED_TO).filter(`principalId eq '${payroll.spId}'`).get()) as {
      value: Array<{ id: string }>;
    };
    const ofPrincipal = (await client.api(`/servicePrincipals/${payroll.spId}/appRoleAssignments`).get()) as {
      value: Array<{ id: string }>;
    };
    const deleted = (await client
      .api(`${ASSIGNED_TO}/${created.id}`)
      .responseType(ResponseType.RAW)
      .delete()) as Response;
    const again = await graphFailure(client.api(`${ASSIGNED_TO}/${created.id}`).delete());
    const afterwards = (await client.api(`/servicePrincipals/${payroll.spId}/appRoleAssignments`).get()) as {
      value: unknown[];
    };

    expect(toResource.value.map((a) => a.id)).toEqual([created.id]);
    expect(ofPrincipal.value.map((a) => a.id)).toEqual([created.id]);
    expect(deleted.status).toBe(204);
    expect(again.status).toBe(404);
    expect(afterwards.value).toEqual([]);
  });

  test('when the caller has AppRoleAssignment.ReadWrite.All but no Application.Read.All or Directory.Read.All, then Graph answers 403', async () => {
    const failure = await graphFailure(
      clientFor(tenant!, assigner).api(ASSIGNED_TO).post(grant(payroll.spId, 'Mail.Send')),
    );

    expect(failure).toMatchObject({
      status: 403,
      code: 'Authorization_RequestDenied',
      message: 'Insufficient privileges to complete the operation.',
    });
  });
});

describe('oauth2PermissionGrants (delegated permissions)', () => {
  let fixture: DirectoryFixture;
  let tenant: RunningTenant | undefined;
  let client: Client;
  let payroll: FixtureApp;
  let reader: FixtureApp;

  beforeEach(async () => {
    fixture = new DirectoryFixture();
    const admin = fixture.app('Registrar', { roles: ['DelegatedPermissionGrant.ReadWrite.All'] });
    payroll = fixture.app('Payroll');
    reader = fixture.app('Reader', { roles: ['Application.Read.All'] });
    tenant = await startDirectoryTenant(fixture);
    client = clientFor(tenant, admin);
  });

  afterEach(async () => {
    await tenant?.stop();
    tenant = undefined;
  });

  const body = (scope = 'User.Read openid') => ({
    clientId: payroll.spId,
    consentType: 'AllPrincipals',
    resourceId: GRAPH_SP_ID,
    scope,
  });

  test('when an admin grants delegated scopes for all principals, then Graph answers 201 with the grant', async () => {
    const response = (await client
      .api('/oauth2PermissionGrants')
      .responseType(ResponseType.RAW)
      .post(body())) as Response;

    expect(response.status).toBe(201);
    expect(await response.json()).toEqual({
      '@odata.context': `${tenant!.url}/v1.0/$metadata#oauth2PermissionGrants/$entity`,
      id: expect.stringMatching(OPAQUE_ID),
      clientId: payroll.spId,
      consentType: 'AllPrincipals',
      principalId: null,
      resourceId: GRAPH_SP_ID,
      scope: 'User.Read openid',
    });
  });

  test('when a second AllPrincipals grant is posted for the same client and resource, then Graph answers 409 "Permission entry already exists."', async () => {
    await client.api('/oauth2PermissionGrants').post(body());

    const failure = await graphFailure(client.api('/oauth2PermissionGrants').post(body('Mail.Send')));

    expect(failure).toMatchObject({
      status: 409,
      code: 'Request_MultipleObjectsWithSameKeyValue',
      message: 'Permission entry already exists.',
    });
  });

  test('when the grant is found with $filter and its scope is PATCHed, then the list shows the new scope; after DELETE it is 404', async () => {
    const created = (await client.api('/oauth2PermissionGrants').post(body())) as { id: string };

    const found = (await client
      .api('/oauth2PermissionGrants')
      .filter(`clientId eq '${payroll.spId}' and consentType eq 'AllPrincipals' and resourceId eq '${GRAPH_SP_ID}'`)
      .get()) as {
      value: Array<{ id: string }>;
    };
    const other = (await client.api('/oauth2PermissionGrants').filter(`clientId eq '${GRAPH_SP_ID}'`).get()) as {
      value: unknown[];
    };
    const patched = (await client
      .api(`/oauth2PermissionGrants/${created.id}`)
      .responseType(ResponseType.RAW)
      .patch({ scope: 'User.Read openid Mail.Send' })) as Response;
    const read = (await client.api(`/oauth2PermissionGrants/${created.id}`).get()) as { scope: string };
    const deleted = (await client
      .api(`/oauth2PermissionGrants/${created.id}`)
      .responseType(ResponseType.RAW)
      .delete()) as Response;
    const gone = await graphFailure(client.api(`/oauth2PermissionGrants/${created.id}`).get());

    expect(found.value.map((g) => g.id)).toEqual([created.id]);
    expect(other.value).toEqual([]);
    expect(patched.status).toBe(204);
    expect(read.scope).toBe('User.Read openid Mail.Send');
    expect(deleted.status).toBe(204);
    expect(gone).toMatchObject({ status: 404, code: 'Request_ResourceNotFound' });
  });

  test('when a scope is not one the resource publishes, or the client does not exist, then Graph refuses the grant', async () => {
    const badScope = await graphFailure(client.api('/oauth2PermissionGrants').post(body('User.Read Teleport.All')));
    const badClient = await graphFailure(
      client.api('/oauth2PermissionGrants').post({ ...body(), clientId: '0b1c2d3e-4f50-4617-8283-949596979899' }),
    );

    expect(badScope).toMatchObject({ status: 400, code: 'Request_BadRequest' });
    expect(badClient).toMatchObject({ status: 404, code: 'Request_ResourceNotFound' });
  });

  test('when the caller lacks DelegatedPermissionGrant.ReadWrite.All, then Graph answers 403', async () => {
    const failure = await graphFailure(clientFor(tenant!, reader).api('/oauth2PermissionGrants').post(body()));

    expect(failure).toMatchObject({ status: 403, code: 'Authorization_RequestDenied' });
  });

  test.todo(
    'when an app role whose allowedMemberTypes lacks Application is assigned to a service principal, then Graph refuses it (message unverified)',
  );
  test.todo('when a Principal-type grant names a user, then it is unique per (client, user, resource)');
});
