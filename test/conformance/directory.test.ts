/**
 * Users, groups, membership checks through nested groups, and directory role assignments (https://learn.microsoft.com/graph/api/rbacapplication-post-roleassignments) as Graph
 * serves them, driven by the real Graph SDK over https.
 */
import { type Client, ResponseType } from '@microsoft/microsoft-graph-client';
import type { RunningTenant } from '../../src/local/tenant/server';
import {
  clientFor,
  DirectoryFixture,
  type FixtureApp,
  graphFailure,
  ROLE_TEMPLATES,
  startDirectoryTenant,
} from '../helpers/tenant-directory-fixtures';

const CONFLICT = 'A conflicting object with one or more of the specified property values is present in the directory.';

describe('users, groups and membership', () => {
  let fixture: DirectoryFixture;
  let tenant: RunningTenant | undefined;
  let client: Client;
  let usersOnly: FixtureApp;
  let alice: string;
  let bob: string;
  let inner: string;
  let outer: string;
  let other: string;
  let loopA: string;

  beforeEach(async () => {
    fixture = new DirectoryFixture();
    const reader = fixture.app('Registrar', { roles: ['User.Read.All', 'GroupMember.Read.All'] });
    usersOnly = fixture.app('UsersOnly', { roles: ['User.Read.All'] });
    alice = fixture.user('Alice Adams');
    bob = fixture.user('Bob Brown');
    inner = fixture.group('App Approvers', [alice]);
    outer = fixture.group('Identity Team', [inner, bob]);
    other = fixture.group('Finance', [bob]);
    // Two groups that contain each other: the walk must end.
    loopA = fixture.group('Loop A', [alice]);
    const loopB = fixture.group('Loop B', [loopA]);
    fixture.data.groups[loopA]!.members.push(loopB);
    tenant = await startDirectoryTenant(fixture);
    client = clientFor(tenant, reader);
  });

  afterEach(async () => {
    await tenant?.stop();
    tenant = undefined;
  });

  test('when a user is read by id or by userPrincipalName, then Graph answers the user, honouring $select', async () => {
    const byId = (await client.api(`/users/${alice}`).get()) as Record<string, unknown>;
    const byUpn = (await client
      .api('/users/aliceadams@contoso.onmicrosoft.com')
      .select(['id', 'displayName'])
      .get()) as Record<string, unknown>;
    const missing = await graphFailure(client.api('/users/0b1c2d3e-4f50-4617-8283-949596979899').get());

    expect(byId).toMatchObject({
      '@odata.context': `${tenant!.url}/v1.0/$metadata#users/$entity`,
      id: alice,
      userPrincipalName: 'aliceadams@contoso.onmicrosoft.com',
    });
    expect(byUpn).toEqual({
      '@odata.context': `${tenant!.url}/v1.0/$metadata#users(id,displayName)/$entity`,
      id: alice,
      displayName: 'Alice Adams',
    });
    expect(missing).toMatchObject({ status: 404, code: 'Request_ResourceNotFound' });
  });

  test('when users are listed with startsWith on displayName, then only the matching users are returned', async () => {
    const list = (await client.api('/users').filter("startsWith(displayName,'bob')").get()) as {
      value: Array<{ id: string }>;
    };

    expect(list.value.map((u) => u.id)).toEqual([bob]);
  });

  test('when a user’s membership is checked, then checkMemberGroups answers the groups it belongs to, also through nested groups, in request order', async () => {
    const result = (await client
      .api(`/users/${alice}/checkMemberGroups`)
      .post({ groupIds: [other, outer, inner, loopA] })) as Record<string, unknown>;
    const viaDirectoryObjects = (await client
      .api(`/directoryObjects/${bob}/checkMemberGroups`)
      .post({ groupIds: [inner, outer, other] })) as { value: string[] };

    expect(result).toEqual({
      '@odata.context': `${tenant!.url}/v1.0/$metadata#Collection(Edm.String)`,
      value: [outer, inner, loopA],
    });
    expect(viaDirectoryObjects.value).toEqual([outer, other]);
  });

  test('when more than 20 group ids are checked at once, then Graph answers 400', async () => {
    const groupIds = Array.from({ length: 21 }, () => inner);

    const failure = await graphFailure(client.api(`/users/${alice}/checkMemberGroups`).post({ groupIds }));

    expect(failure).toMatchObject({ status: 400, code: 'Request_BadRequest' });
  });

  test('when a user’s transitive memberships are listed, then every group it reaches is returned as #microsoft.graph.group', async () => {
    const list = (await client.api(`/users/${alice}/transitiveMemberOf`).get()) as {
      value: Array<Record<string, unknown>>;
    };

    expect(list.value.map((g) => g.id).sort()).toEqual(
      [inner, outer, loopA, fixture.data.groups[loopA]!.members[1]].sort(),
    );
    expect(new Set(list.value.map((g) => g['@odata.type']))).toEqual(new Set(['#microsoft.graph.group']));
  });

  test('when a group’s members are listed, then users and nested groups come with their @odata.type', async () => {
    const members = (await client.api(`/groups/${outer}/members`).get()) as { value: Array<Record<string, unknown>> };

    expect(members.value).toEqual([
      expect.objectContaining({ '@odata.type': '#microsoft.graph.group', id: inner }),
      expect.objectContaining({ '@odata.type': '#microsoft.graph.user', id: bob }),
    ]);
  });

  test('when the caller has no group permission, then checkMemberGroups answers 403', async () => {
    const failure = await graphFailure(
      clientFor(tenant!, usersOnly)
        .api(`/users/${alice}/checkMemberGroups`)
        .post({ groupIds: [inner] }),
    );

    expect(failure).toMatchObject({ status: 403, code: 'Authorization_RequestDenied' });
  });
});

describe('directory role assignments', () => {
  let fixture: DirectoryFixture;
  let tenant: RunningTenant | undefined;
  let client: Client;
  let payroll: FixtureApp;
  let readOnly: FixtureApp;

  beforeEach(async () => {
    fixture = new DirectoryFixture();
    const admin = fixture.app('Registrar', { roles: ['RoleManagement.ReadWrite.Directory'] });
    readOnly = fixture.app('Reader', { roles: ['RoleManagement.Read.Directory', 'Directory.Read.All'] });
    payroll = fixture.app('Payroll');
    tenant = await startDirectoryTenant(fixture);
    client = clientFor(tenant, admin);
  });

  afterEach(async () => {
    await tenant?.stop();
    tenant = undefined;
  });

  const body = (roleDefinitionId: string = ROLE_TEMPLATES.userAdministrator) => ({
    '@odata.type': '#microsoft.graph.unifiedRoleAssignment',
    roleDefinitionId,
    principalId: payroll.spId,
    directoryScopeId: '/',
  });

  test('when the built-in role definitions are listed, then they carry their template ids', async () => {
    const list = (await client.api('/roleManagement/directory/roleDefinitions').get()) as {
      value: Array<{ id: string; displayName: string; templateId: string }>;
    };

    expect(list.value).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          displayName: 'User Administrator',
          id: ROLE_TEMPLATES.userAdministrator,
          templateId: ROLE_TEMPLATES.userAdministrator,
        }),
        expect.objectContaining({
          displayName: 'Application Administrator',
          id: ROLE_TEMPLATES.applicationAdministrator,
        }),
        expect.objectContaining({
          displayName: 'Cloud Application Administrator',
          id: ROLE_TEMPLATES.cloudApplicationAdministrator,
        }),
      ]),
    );
  });

  // Graph's ids are 43 base64url characters and "-1"; state.ts's newRoleAssignmentId makes 40 (reported).
  test('when a role is assigned to a service principal, then Graph answers 201 with an id ending in -1', async () => {
    const response = (await client
      .api('/roleManagement/directory/roleAssignments')
      .responseType(ResponseType.RAW)
      .post(body())) as Response;

    expect(response.status).toBe(201);
    expect(await response.json()).toEqual({
      '@odata.context': `${tenant!.url}/v1.0/$metadata#roleManagement/directory/roleAssignments/$entity`,
      id: expect.stringMatching(/^[A-Za-z0-9_-]{40,43}-1$/),
      roleDefinitionId: ROLE_TEMPLATES.userAdministrator,
      principalId: payroll.spId,
      directoryScopeId: '/',
    });
  });

  test('when the same role is assigned twice, then the second answers 400 with the conflicting-object message', async () => {
    await client.api('/roleManagement/directory/roleAssignments').post(body());

    const failure = await graphFailure(client.api('/roleManagement/directory/roleAssignments').post(body()));

    expect(failure).toMatchObject({ status: 400, code: 'Request_BadRequest', message: CONFLICT });
  });

  test('when assignments are filtered by principalId, read and deleted, then Graph answers them and 404 after the DELETE', async () => {
    const created = (await client.api('/roleManagement/directory/roleAssignments').post(body())) as { id: string };
    await client
      .api('/roleManagement/directory/roleAssignments')
      .post(body(ROLE_TEMPLATES.cloudApplicationAdministrator));

    const filtered = (await clientFor(tenant!, readOnly)
      .api('/roleManagement/directory/roleAssignments')
      .filter(`principalId eq '${payroll.spId}'`)
      .get()) as {
      value: Array<{ roleDefinitionId: string }>;
    };
    const one = (await client.api(`/roleManagement/directory/roleAssignments/${created.id}`).get()) as { id: string };
    const deleted = (await client
      .api(`/roleManagement/directory/roleAssignments/${created.id}`)
      .responseType(ResponseType.RAW)
      .delete()) as Response;
    const gone = await graphFailure(client.api(`/roleManagement/directory/roleAssignments/${created.id}`).get());

    expect(filtered.value.map((a) => a.roleDefinitionId).sort()).toEqual(
      [ROLE_TEMPLATES.cloudApplicationAdministrator, ROLE_TEMPLATES.userAdministrator].sort(),
    );
    expect(one.id).toBe(created.id);
    expect(deleted.status).toBe(204);
    expect(gone).toMatchObject({ status: 404, code: 'Request_ResourceNotFound' });
  });

  test('when the role definition or the principal does not exist, then Graph answers 404', async () => {
    const role = await graphFailure(
      client.api('/roleManagement/directory/roleAssignments').post(body('0b1c2d3e-4f50-4617-8283-949596979899')),
    );
    const principal = await graphFailure(
      client
        .api('/roleManagement/directory/roleAssignments')
        .post({ ...body(), principalId: '0b1c2d3e-4f50-4617-8283-949596979899' }),
    );

    expect(role).toMatchObject({ status: 404, code: 'Request_ResourceNotFound' });
    expect(principal).toMatchObject({ status: 404, code: 'Request_ResourceNotFound' });
  });

  test('when the caller lacks RoleManagement.ReadWrite.Directory, then assigning answers 403', async () => {
    const failure = await graphFailure(
      clientFor(tenant!, readOnly).api('/roleManagement/directory/roleAssignments').post(body()),
    );

    expect(failure).toMatchObject({ status: 403, code: 'Authorization_RequestDenied' });
  });
});
