/**
 * Runbook 2, the Azure AD B2C management app, made through the bot as a person would: requested and approved in
 * the Teams tenant, created in another directory, the demo B2C tenant (TARGET_DIRECTORY_B2C), by Registrar's own
 * identity there. Microsoft's guide registers it with Microsoft Graph application permissions granted admin consent,
 * openid and offline_access declared without consent, optionally the User Administrator role for password resets,
 * and a client secret (https://learn.microsoft.com/azure/active-directory-b2c/microsoft-graph-get-started). The B2C
 * directory is the judge, field by field; the Teams tenant must hold nothing of it.
 */
import { ClientSecretCredential } from '@azure/identity';
import { MICROSOFT_GRAPH_APP_ID, uniqueNameFor } from '../../../src/domain/app-spec';
import { demoTenantId } from '../../../src/local/demo-identities';
import { DEMO_B2C_NAME, demoB2cIds, demoB2cTargetSetting, demoB2cUsers } from '../../../src/local/tenant/seed-b2c';
import type { RunningTenant } from '../../../src/local/tenant/server';
import { cardInputs } from '../../helpers/cards';
import { Runbook, permissionChoice, permissionId } from '../../helpers/runbook';
import { cardText } from '../../helpers/teams';

jest.setTimeout(120_000);

const dayMs = 24 * 60 * 60 * 1000;
const USER_ADMINISTRATOR = 'fe930be7-5e62-47db-91af-98c3a49a38b1';
const [ana, ben, chloe] = demoB2cUsers;
const b2c = demoB2cIds.tenantId;

const writesOf = (tenant: RunningTenant) => Object.keys(tenant.counters.snapshot()).filter((k) => !k.startsWith('GET'));

describe('runbook: Azure AD B2C management app', () => {
  const runbook = new Runbook();
  beforeEach(() => runbook.start({ TARGET_DIRECTORY_B2C: demoB2cTargetSetting() }));
  afterEach(() => runbook.stop());

  const fields = (requestId: string, overrides: Record<string, string> = {}) => ({
    requestId,
    name: 'B2C user management',
    purpose: 'A back-office tool that creates B2C users, manages their groups and resets passwords.',
    audience: 'AzureADMyOrg',
    platform: 'none',
    redirectUris: '',
    permissions: [
      permissionChoice('User.ReadWrite.All', 'Role'),
      permissionChoice('Group.ReadWrite.All', 'Role'),
      permissionChoice('openid', 'Scope'),
      permissionChoice('offline_access', 'Scope'),
    ].join(','),
    credential: 'secret',
    secretDays: '180',
    directoryRole: USER_ADMINISTRATOR,
    target: 'b2c',
    targetOwners: `${ana!.userPrincipalName}, ${chloe!.userPrincipalName}`,
    oidcConsent: 'declare',
    ...overrides,
  });

  test('when a B2C management app is asked for in the B2C directory, then it is made there exactly, and nothing in the Teams tenant', async () => {
    const teamsBefore = runbook.data();
    const teamsApps = Object.keys(teamsBefore.applications).length;
    const teamsSps = Object.keys(teamsBefore.servicePrincipals).length;
    const teamsAssignments = Object.keys(teamsBefore.appRoleAssignments).length;
    const teamsRoleAssignments = Object.keys(teamsBefore.roleAssignments).length;

    const { requestId, card: form } = await runbook.openForm();
    expect(cardText(form)).toContain(DEMO_B2C_NAME);
    const submitted = await runbook.submit(requestId, fields(requestId));
    expect(submitted.status).toBe(200);

    const stored = await runbook.stored(requestId);
    expect(stored.target).toEqual({ key: 'b2c', name: DEMO_B2C_NAME, tenantId: b2c });
    expect(stored.targetOwners).toEqual({
      from: 'named',
      owners: [
        { id: ana!.id, displayName: ana!.displayName, userPrincipalName: ana!.userPrincipalName },
        { id: chloe!.id, displayName: chloe!.displayName, userPrincipalName: chloe!.userPrincipalName },
      ],
    });
    expect(stored.form).toMatchObject({ target: 'b2c', oidcConsent: 'declare', additionalOwnerIds: [] });
    expect(stored.risk.level).toBe('high');

    const { approvalCard, approvers } = await runbook.approve(requestId);
    expect(approvers).toBe(2);
    const approval = cardText(approvalCard);
    expect(approval).toContain(`${DEMO_B2C_NAME} (${b2c})`);
    expect(approval).toContain(`${ana!.displayName} (${ana!.userPrincipalName})`);
    expect(approval).toContain(`${chloe!.displayName} (${chloe!.userPrincipalName})`);
    expect(approval).toContain('Declared on the app without admin consent');

    const done = await runbook.provisioned(requestId, b2c);
    const data = runbook.data(b2c);
    const graphSp = Object.values(data.servicePrincipals).find((sp) => sp.data.appId === MICROSOFT_GRAPH_APP_ID)!;
    const ids = {
      userReadWriteAll: permissionId('User.ReadWrite.All', 'Role'),
      groupReadWriteAll: permissionId('Group.ReadWrite.All', 'Role'),
      openid: permissionId('openid', 'Scope'),
      offlineAccess: permissionId('offline_access', 'Scope'),
    };

    // The application: every permission declared, in the B2C directory.
    expect(done.app).toMatchObject({ displayName: 'B2C user management', signInAudience: 'AzureADMyOrg' });
    const declared = (done.app.requiredResourceAccess as Array<{ resourceAppId: string; resourceAccess: unknown[] }>)
      .filter((r) => r.resourceAppId === MICROSOFT_GRAPH_APP_ID)
      .flatMap((r) => r.resourceAccess);
    expect(declared).toEqual(
      expect.arrayContaining([
        { id: ids.userReadWriteAll, type: 'Role' },
        { id: ids.groupReadWriteAll, type: 'Role' },
        { id: ids.openid, type: 'Scope' },
        { id: ids.offlineAccess, type: 'Scope' },
      ]),
    );
    expect(declared).toHaveLength(4);
    const appRecord = Object.values(data.applications).find((a) => a.data.uniqueName === uniqueNameFor(requestId))!;
    expect([...appRecord.owners].sort()).toEqual([ana!.id, chloe!.id].sort());

    // The service principal, owned there by the same people, and made in the B2C tenant.
    expect(done.servicePrincipal).toMatchObject({
      appId: done.app.appId,
      accountEnabled: true,
      appOwnerOrganizationId: b2c,
    });
    const spRecord = Object.values(data.servicePrincipals).find((sp) => sp.data.id === done.servicePrincipal.id)!;
    expect([...spRecord.owners].sort()).toEqual([ana!.id, chloe!.id].sort());

    // Admin consent for the two application permissions only; openid and offline_access have no grant.
    expect(done.assignments.map((a) => a.appRoleId).sort()).toEqual(
      [ids.userReadWriteAll, ids.groupReadWriteAll].sort(),
    );
    for (const assignment of done.assignments)
      expect(assignment).toMatchObject({ principalId: done.servicePrincipal.id, resourceId: graphSp.data.id });
    expect(done.grants).toEqual([]);

    // The User Administrator role, assigned to the app's service principal, directory-wide.
    const roles = Object.values(data.roleAssignments)
      .map((r) => r.data)
      .filter((r) => r.principalId === done.servicePrincipal.id);
    expect(roles).toEqual([expect.objectContaining({ roleDefinitionId: USER_ADMINISTRATOR, directoryScopeId: '/' })]);

    // The delivery card names the directory's tenant, where the app signs in.
    expect(cardText(done.deliveryCard)).toContain(b2c);

    // Reveal: the secret is on the app in B2C, made by Registrar's identity there.
    const revealedAt = Date.now();
    const { secret, credential } = await runbook.reveal(done, b2c);
    expect(secret.length).toBeGreaterThanOrEqual(30);
    const start = Date.parse(String(credential.startDateTime));
    const end = Date.parse(String(credential.endDateTime));
    expect(Math.abs(start - revealedAt)).toBeLessThan(60_000);
    expect(Math.round((end - start) / dayMs)).toBe(180);
    expect(credential.displayName).toBe(`Registrar ${requestId}`);
    // The secret signs the app in to the B2C tenant, with the two consented roles in its token.
    const token = await new ClientSecretCredential(b2c, String(done.app.appId), secret, {
      authorityHost: runbook.tenant.url,
      disableInstanceDiscovery: true,
    }).getToken(`${runbook.tenant.url}/.default`);
    const claims = JSON.parse(Buffer.from(token.token.split('.')[1]!, 'base64url').toString('utf8'));
    expect(claims).toMatchObject({ tid: b2c, appid: done.app.appId });
    expect([...(claims.roles as string[])].sort()).toEqual(['Group.ReadWrite.All', 'User.ReadWrite.All']);

    // Nothing of it in the Teams tenant.
    const teams = runbook.data();
    expect(teams.tenantId).toBe(demoTenantId);
    expect(Object.values(teams.applications).filter((a) => a.data.uniqueName === uniqueNameFor(requestId))).toEqual([]);
    expect(Object.values(teams.servicePrincipals).filter((sp) => sp.data.appId === done.app.appId)).toEqual([]);
    expect(Object.keys(teams.applications)).toHaveLength(teamsApps);
    expect(Object.keys(teams.servicePrincipals)).toHaveLength(teamsSps);
    expect(Object.keys(teams.appRoleAssignments)).toHaveLength(teamsAssignments);
    expect(Object.keys(teams.roleAssignments)).toHaveLength(teamsRoleAssignments);
  });

  test('when no owners are named, then the users of the B2C owners group own the app', async () => {
    const { requestId } = await runbook.openForm();
    const submitted = await runbook.submit(requestId, fields(requestId, { targetOwners: '', directoryRole: ' ' }));
    expect(submitted.status).toBe(200);
    const stored = await runbook.stored(requestId);
    expect(stored.targetOwners).toMatchObject({ from: 'group', groupId: demoB2cIds.ownersGroup });
    expect(stored.targetOwners!.owners.map((o) => o.id).sort()).toEqual([ana!.id, ben!.id].sort());

    // And they are the owners of the application and its service principal in B2C.
    await runbook.approve(requestId);
    const done = await runbook.provisioned(requestId, b2c);
    const data = runbook.data(b2c);
    const appRecord = Object.values(data.applications).find((a) => a.data.uniqueName === uniqueNameFor(requestId))!;
    expect([...appRecord.owners].sort()).toEqual([ana!.id, ben!.id].sort());
    const spRecord = Object.values(data.servicePrincipals).find((sp) => sp.data.id === done.servicePrincipal.id)!;
    expect([...spRecord.owners].sort()).toEqual([ana!.id, ben!.id].sort());
  });

  test('bad input: a user principal name that is not in the B2C directory is refused on the form, values kept, and nothing is written to Graph', async () => {
    const { requestId } = await runbook.openForm();
    const before = runbook.data(b2c);
    const applications = Object.keys(before.applications).length;
    runbook.tenant.counters.reset();
    const stranger = 'nobody@contosob2c.onmicrosoft.com';
    const answer = await runbook.submit(
      requestId,
      fields(requestId, { targetOwners: `${ana!.userPrincipalName}, ${stranger}` }),
    );

    const text = cardText(answer.card);
    expect(text).toContain(`${stranger} is not a user of ${DEMO_B2C_NAME}`);
    const inputs = cardInputs(answer.card);
    expect(inputs.get('targetOwners')?.value).toBe(`${ana!.userPrincipalName}, ${stranger}`);
    expect(inputs.get('name')?.value).toBe('B2C user management');
    expect(inputs.get('target')?.value).toBe('b2c');
    expect(await runbook.registrar.container.store.requests.get('request', requestId)).toBeUndefined();
    expect(writesOf(runbook.tenant)).toEqual([]);
    expect(Object.keys(runbook.data(b2c).applications)).toHaveLength(applications);
  });
});
