/**
 * One local tenant server, two directories: the demo Teams tenant (Contoso) and the demo B2C tenant (Contoso B2C).
 * A token carries the tid of the tenant whose token endpoint issued it, and a Graph call acts on that tenant's
 * directory only, as Graph does. Driven over https with @azure/identity and the Graph client, as Registrar calls it.
 */
import { demoTenantId } from '../../src/local/demo-identities';
import { allRoutes } from '../../src/local/tenant/routes';
import { DEMO_REGISTRAR_SECRET, demoApplicationIds, demoIds, demoTenant } from '../../src/local/tenant/seed';
import { DEMO_B2C_REGISTRAR_SECRET, demoB2cIds, demoB2cUsers, DEMO_B2C_DOMAIN } from '../../src/local/tenant/seed-b2c';
import type { RunningTenant } from '../../src/local/tenant/server';
import { demoBot } from '../../src/local/demo-identities';
import { ClientSecretCredential } from '@azure/identity';
import { createGraphClient } from '../../src/adapters/graph/graph-client';
import { startTestTenant } from '../helpers/tenant';

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

describe('the local tenant serves a second directory (the demo B2C tenant)', () => {
  let tenant: RunningTenant;

  beforeEach(async () => {
    tenant = await startTestTenant({ data: demoTenant().data, routes: allRoutes });
  });
  afterEach(async () => {
    await tenant.stop();
  });

  const credential = (tenantName: string, clientId: string, secret: string) =>
    new ClientSecretCredential(tenantName, clientId, secret, {
      authorityHost: tenant.url,
      disableInstanceDiscovery: true,
    });
  const graphAs = (tenantName: string, clientId: string, secret: string) =>
    createGraphClient(credential(tenantName, clientId, secret), tenant.url);

  test('when Registrar signs in to the B2C tenant by id or by domain, then the token carries the B2C tid and issuer', async () => {
    for (const name of [demoB2cIds.tenantId, DEMO_B2C_DOMAIN]) {
      const token = await credential(name, demoB2cIds.registrarAppId, DEMO_B2C_REGISTRAR_SECRET).getToken(
        `${tenant.url}/.default`,
      );
      expect(claimsOf(token.token)).toMatchObject({
        tid: demoB2cIds.tenantId,
        iss: `https://sts.windows.net/${demoB2cIds.tenantId}/`,
        appid: demoB2cIds.registrarAppId,
        oid: demoB2cIds.registrarServicePrincipal,
        roles: expect.arrayContaining(['Application.ReadWrite.All', 'RoleManagement.ReadWrite.Directory']),
      });
    }
  });

  test('when an app of one directory asks the token endpoint of the other, then it is not found there (AADSTS700016)', async () => {
    await expect(
      credential(demoTenantId, demoB2cIds.registrarAppId, DEMO_B2C_REGISTRAR_SECRET).getToken(`${tenant.url}/.default`),
    ).rejects.toThrow(/AADSTS700016/);
    await expect(
      credential(demoB2cIds.tenantId, demoBot.id, DEMO_REGISTRAR_SECRET).getToken(`${tenant.url}/.default`),
    ).rejects.toThrow(/AADSTS700016/);
  });

  test("when a token of one tenant reads the other's objects, then Graph answers 404, and each lists only its own", async () => {
    const b2c = graphAs(demoB2cIds.tenantId, demoB2cIds.registrarAppId, DEMO_B2C_REGISTRAR_SECRET);
    const teams = graphAs(demoTenantId, demoBot.id, DEMO_REGISTRAR_SECRET);
    const ana = demoB2cUsers[0]!;

    const found = (await b2c.api(`/users/${ana.id}`).get()) as { userPrincipalName: string };
    expect(found.userPrincipalName).toBe(ana.userPrincipalName);
    await expect(teams.api(`/users/${ana.id}`).get()).rejects.toMatchObject({ statusCode: 404 });
    await expect(teams.api(`/groups/${demoB2cIds.ownersGroup}/members`).get()).rejects.toMatchObject({
      statusCode: 404,
    });
    await expect(b2c.api(`/applications/${demoApplicationIds(1).id}`).get()).rejects.toMatchObject({
      statusCode: 404,
    });
    await expect(b2c.api(`/groups/${demoIds.adminsGroup}`).get()).rejects.toMatchObject({ statusCode: 404 });

    const b2cUsers = (await b2c.api('/users').select('userPrincipalName').get()) as {
      value: Array<{ userPrincipalName: string }>;
    };
    expect(b2cUsers.value.map((u) => u.userPrincipalName).sort()).toEqual(
      demoB2cUsers.map((u) => u.userPrincipalName).sort(),
    );
    const sp = (await b2c.api(`/servicePrincipals(appId='00000003-0000-0000-c000-000000000000')`).get()) as {
      id: string;
      appRoles: unknown[];
    };
    expect(sp.id).toBe(demoB2cIds.graphServicePrincipal);
    expect(sp.appRoles.length).toBeGreaterThan(100);
  });

  test('when the B2C identity creates an application, then it is in the B2C directory and not in the Teams tenant', async () => {
    const b2c = graphAs(demoB2cIds.tenantId, demoB2cIds.registrarAppId, DEMO_B2C_REGISTRAR_SECRET);
    const teamsApps = Object.keys(tenant.state().data.applications).length;

    const created = (await b2c.api('/applications').post({ displayName: 'B2C management app' })) as {
      id: string;
      publisherDomain: string;
    };

    expect(tenant.directory(demoB2cIds.tenantId)!.data.applications[created.id]).toBeDefined();
    expect(tenant.state().data.applications[created.id]).toBeUndefined();
    expect(Object.keys(tenant.state().data.applications)).toHaveLength(teamsApps);
    // Saved with the Teams tenant: the starting tenant's data holds the B2C directory's.
    const saved = JSON.parse(JSON.stringify(tenant.state().data)) as {
      directories: Array<{ tenantId: string; applications: Record<string, unknown> }>;
    };
    expect(saved.directories.find((d) => d.tenantId === demoB2cIds.tenantId)!.applications[created.id]).toBeDefined();
  });
});
