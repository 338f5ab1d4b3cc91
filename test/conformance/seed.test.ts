/**
 * The demo tenant of local mode: Registrar signs in with its local secret and holds the roles it needs, Microsoft
 * Graph's service principal carries the real permission catalog, the people and groups are there, and the demo
 * app registrations have credentials that expire when reminders need them to.
 */
import { X509Certificate } from 'node:crypto';
import { alex, demoBot, demoTeam, demoTenantId, demoUsers } from '../../src/local/demo-identities';
import { graphAppPermissions } from '../../src/domain/graph-app-permissions';
import { GRAPH_APP_ID } from '../../src/local/tenant/identity';
import {
  demoApplicationIds,
  demoApplications,
  demoIds,
  demoTenant,
  REGISTRAR_ROLES,
} from '../../src/local/tenant/seed';
import type { RunningTenant } from '../../src/local/tenant/server';
import { allRoutes } from '../../src/local/tenant/routes';
import { graphClientFor, startTestTenant } from '../helpers/tenant';

const DAY = 86_400_000;

describe('the demo tenant seed', () => {
  const now = new Date('2026-03-01T12:00:00Z');
  const { data, registrar } = demoTenant(now);

  test('when Registrar asks for a token with the local secret, then it gets one with exactly the roles it needs', async () => {
    let tenant: RunningTenant | undefined;
    try {
      tenant = await startTestTenant({ data: demoTenant().data, routes: [] });
      const { credential } = graphClientFor(tenant, registrar.clientId, registrar.clientSecret);

      const token = await credential.getToken(`${tenant.url}/.default`);

      const claims = JSON.parse(Buffer.from(token.token.split('.')[1]!, 'base64url').toString('utf8')) as {
        roles: string[];
        tid: string;
        appid: string;
      };
      expect(claims.tid).toBe(demoTenantId);
      expect(claims.appid).toBe(demoBot.id);
      expect([...claims.roles].sort()).toEqual([...REGISTRAR_ROLES].sort());
      // The list `npm run setup:permissions` grants, the optional directory role permission included (local mode assigns roles).
      expect([...claims.roles].sort()).toEqual(graphAppPermissions.map((p) => p.value).sort());
      expect(claims.roles).toContain('RoleManagement.ReadWrite.Directory');
      expect(claims.roles).not.toContain('Application.ReadWrite.OwnedBy');
    } finally {
      await tenant?.stop();
    }
  });

  test('when Registrar resolves Graph permissions through the real routes, then the ids of the Microsoft permission catalog come back', async () => {
    let tenant: RunningTenant | undefined;
    try {
      tenant = await startTestTenant({ data: demoTenant().data, routes: allRoutes });
      const { client } = graphClientFor(tenant, registrar.clientId, registrar.clientSecret);

      const graph = (await client.api(`/servicePrincipals(appId='${GRAPH_APP_ID}')`).select('id,appRoles').get()) as {
        id: string;
        appRoles: Array<{ value: string; id: string }>;
      };

      expect(graph.id).toBe(demoIds.graphServicePrincipal);
      expect(graph.appRoles.find((r) => r.value === 'AppRoleAssignment.ReadWrite.All')?.id).toBe(
        '06b708a9-e830-4db3-a914-8e69da51d44f',
      );
    } finally {
      await tenant?.stop();
    }
  });

  test('when the Graph service principal is read, then it holds the catalog with the real ids, roles and scopes apart', () => {
    const graph = data.servicePrincipals[demoIds.graphServicePrincipal]!.data as {
      appId: string;
      appRoles: Array<{ value: string; id: string; allowedMemberTypes: string[] }>;
      oauth2PermissionScopes: Array<{ value: string; id: string; type: string }>;
    };

    expect(graph.appId).toBe(GRAPH_APP_ID);
    // The whole catalog Microsoft publishes for Microsoft Graph, delegated scopes and application roles.
    expect(graph.appRoles.length + graph.oauth2PermissionScopes.length).toBe(1132);
    const role = (value: string) => graph.appRoles.find((r) => r.value === value)?.id;
    const scope = (value: string) => graph.oauth2PermissionScopes.find((s) => s.value === value);
    // The ids https://learn.microsoft.com/graph/permissions-reference lists.
    expect(role('Application.ReadWrite.OwnedBy')).toBe('18a4783c-866b-4cc7-a460-3d5e5662c884');
    expect(role('Directory.ReadWrite.All')).toBe('19dbc75e-c2e2-444c-a770-ec69d8559fc7');
    expect(role('User.Read.All')).toBe('df021288-bdef-4463-88db-98f22de89214');
    expect(scope('User.Read.All')).toMatchObject({ id: 'a154be20-db9c-4678-8ab7-66f6cc099a59', type: 'Admin' });
    expect(scope('User.Read')).toMatchObject({ id: 'e1fe6dd8-ba31-4d61-89e7-88639da4683d', type: 'User' });
    expect(graph.appRoles.every((r) => r.allowedMemberTypes.includes('Application'))).toBe(true);
  });

  test('when the people and groups are read, then the Playground users, approvers, admins and a nested group are there', () => {
    expect(Object.keys(data.users).sort()).toEqual([alex, ...demoUsers].map((u) => u.aadObjectId).sort());
    expect(data.users[alex.aadObjectId]!.data).toMatchObject({
      displayName: 'Alex Wilber',
      userPrincipalName: alex.userPrincipalName,
      mail: alex.email,
    });
    const approvers = data.groups[demoIds.approversGroup]!;
    expect(approvers.members).toEqual(
      expect.arrayContaining([demoUsers[0]!.aadObjectId, demoUsers[1]!.aadObjectId, demoIds.securityReviewersGroup]),
    );
    expect(data.groups[demoIds.securityReviewersGroup]!.members).toHaveLength(1);
    expect(data.groups[demoIds.adminsGroup]!.members).toEqual([alex.aadObjectId]);
    expect(data.groups[demoTeam.aadGroupId]!.data).toMatchObject({
      displayName: demoTeam.name,
      groupTypes: ['Unified'],
    });
  });

  test('when the demo apps are read, then their secrets and certificates expire in 60, 30, 7 and 1 days or have expired', () => {
    const daysLeft = (end: unknown) => Math.round((Date.parse(String(end)) - now.getTime()) / DAY);
    const expiries = demoApplications.map((app) => {
      const ids = demoApplicationIds(app.index);
      const record = data.applications[ids.id]!;
      const secrets = record.data.passwordCredentials as Array<{ endDateTime: string; hint: string; secretText: null }>;
      const keys = record.data.keyCredentials as Array<{ endDateTime: string; keyId: string; key: null; type: string }>;
      // Registrar does not own the demo apps: it rotates them for their owners with Application.ReadWrite.All.
      expect(record.owners).toEqual([app.owner.aadObjectId]);
      expect(data.servicePrincipals[ids.servicePrincipalId]!.data.appId).toBe(ids.appId);
      for (const key of keys) {
        // A real certificate, valid until the keyCredential's endDateTime.
        const certificate = new X509Certificate(Buffer.from(record.certificates[key.keyId]!, 'base64'));
        expect(Date.parse(certificate.validTo)).toBe(Date.parse(key.endDateTime));
        expect(key).toMatchObject({ type: 'AsymmetricX509Cert', key: null });
      }
      return {
        name: app.name,
        secrets: secrets.map((s) => daysLeft(s.endDateTime)),
        certificates: keys.map((k) => daysLeft(k.endDateTime)),
      };
    });

    expect(expiries).toEqual([
      { name: 'Contoso HR Portal', secrets: [60], certificates: [] },
      { name: 'Payroll Sync', secrets: [], certificates: [30] },
      { name: 'Expense Bot', secrets: [7], certificates: [] },
      { name: 'Legacy CRM Connector', secrets: [1], certificates: [1] },
      { name: 'Old Reporting Job', secrets: [-3], certificates: [-10] },
    ]);
  });

  test('when Registrar adds a secret with Graph’s default two-year lifetime, then the seed’s tenant default app management policy (passwordLifetime P2Y) allows it', async () => {
    let tenant: RunningTenant | undefined;
    try {
      tenant = await startTestTenant({ data: demoTenant().data, routes: allRoutes });
      const { client } = graphClientFor(tenant, registrar.clientId, registrar.clientSecret);

      const created = (await client.api('/applications').post({ displayName: 'Provisioned in the demo' })) as {
        id: string;
      };
      const secret = (await client.api(`/applications/${created.id}/addPassword`).post({})) as {
        startDateTime: string;
        endDateTime: string;
      };

      expect(data.defaultAppManagementPolicy).toMatchObject({
        id: '00000000-0000-0000-0000-000000000000',
        isEnabled: true,
        applicationRestrictions: {
          passwordCredentials: [{ restrictionType: 'passwordLifetime', maxLifetime: 'P2Y', state: 'enabled' }],
          keyCredentials: [],
        },
      });
      expect(
        Math.round((Date.parse(secret.endDateTime) - Date.parse(secret.startDateTime)) / DAY),
      ).toBeGreaterThanOrEqual(730);
    } finally {
      await tenant?.stop();
    }
  });

  test('when Registrar adds an owner to an app it created and a secret to a demo app it does not own, then its seeded permissions allow both', async () => {
    let tenant: RunningTenant | undefined;
    try {
      tenant = await startTestTenant({ data: demoTenant().data, routes: allRoutes });
      const { client } = graphClientFor(tenant, registrar.clientId, registrar.clientSecret);
      const hrPortal = demoApplicationIds(1);

      const created = (await client.api('/applications').post({ displayName: 'Owned by its requester' })) as {
        id: string;
      };
      await client
        .api(`/applications/${created.id}/owners/$ref`)
        .post({ '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${alex.aadObjectId}` });
      const owners = (await client.api(`/applications/${created.id}/owners`).get()) as { value: Array<{ id: string }> };
      const secret = (await client
        .api(`/applications/${hrPortal.id}/addPassword`)
        .post({ passwordCredential: { displayName: 'rotated' } })) as { keyId: string };

      // Application.ReadWrite.All, not OwnedBy: Graph does not make Registrar an owner of what it creates.
      expect(owners.value.map((o) => o.id)).toEqual([alex.aadObjectId]);
      expect(secret.keyId).toBeDefined();
    } finally {
      await tenant?.stop();
    }
  });

  test('when seeded twice, then the fixed ids are the same, so saved state and the Playground agree', () => {
    const again = demoTenant(now).data;

    expect(Object.keys(again.applications)).toEqual(Object.keys(data.applications));
    expect(Object.keys(again.groups)).toEqual(Object.keys(data.groups));
  });
});
