/**
 * Microsoft first-party APIs in the local tenant, as in Entra ID: the demo tenant has the resource service principals
 * the runbooks use (Partner Center, Exchange Online, SharePoint Online, Dynamics CRM) with their real appIds and
 * permission ids; a tenant seeded without one lets POST /servicePrincipals {appId} create it from the app Microsoft
 * publishes (https://learn.microsoft.com/graph/api/serviceprincipal-post-serviceprincipals), once; an appId that is
 * neither an application of the tenant nor a Microsoft app answers NoBackingApplicationObject.
 */
import type { Client } from '@microsoft/microsoft-graph-client';
import { demoBot } from '../../src/local/demo-identities';
import {
  EXCHANGE_ONLINE_APP_ID,
  MICROSOFT_SERVICES_TENANT_ID,
  PARTNER_CENTER_APP_ID,
} from '../../src/local/tenant/first-party-apps';
import { allRoutes } from '../../src/local/tenant/routes';
import { DEMO_REGISTRAR_SECRET, demoTenant } from '../../src/local/tenant/seed';
import type { RunningTenant } from '../../src/local/tenant/server';
import { graphFailure } from '../helpers/tenant-directory-fixtures';
import { graphClientFor, startTestTenant } from '../helpers/tenant';

interface ServicePrincipal {
  id: string;
  appId: string;
  displayName: string;
  appOwnerOrganizationId: string;
  appRoles: Array<{ id: string; value: string; allowedMemberTypes: string[] }>;
  oauth2PermissionScopes: Array<{ id: string; value: string; type: string }>;
}

describe('Microsoft first-party APIs', () => {
  let tenant: RunningTenant;
  let client: Client;

  async function start(withoutServicePrincipals: string[] = []): Promise<void> {
    tenant = await startTestTenant({
      data: demoTenant(new Date(), { withoutServicePrincipals }).data,
      routes: allRoutes,
    });
    client = graphClientFor(tenant, demoBot.id, DEMO_REGISTRAR_SECRET).client;
  }

  afterEach(async () => {
    await tenant.stop();
  });

  const byAppId = (appId: string) =>
    client.api(`/servicePrincipals(appId='${appId}')`).get() as Promise<ServicePrincipal>;

  test('when the demo tenant starts, then Partner Center and Exchange Online are there with their real permission ids', async () => {
    await start();

    const partnerCenter = await byAppId(PARTNER_CENTER_APP_ID);
    const exchange = await byAppId(EXCHANGE_ONLINE_APP_ID);

    expect(partnerCenter).toMatchObject({
      displayName: 'Microsoft Partner Center',
      appOwnerOrganizationId: MICROSOFT_SERVICES_TENANT_ID,
    });
    expect(partnerCenter.oauth2PermissionScopes).toEqual([
      expect.objectContaining({
        id: '1cebfa2a-fb4d-419e-b5f9-839b4383e05a',
        value: 'user_impersonation',
        type: 'Admin',
      }),
    ]);
    expect(exchange.displayName).toBe('Office 365 Exchange Online');
    expect(exchange.appRoles).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          id: 'dc890d15-9560-4a4c-9b7f-a736ec74ec40',
          value: 'full_access_as_app',
          allowedMemberTypes: ['Application'],
        }),
        expect.objectContaining({ id: 'b633e1c5-b582-4048-a93e-9f11b44c7e96', value: 'Mail.Send' }),
      ]),
    );
    expect((await byAppId('00000003-0000-0ff1-ce00-000000000000')).displayName).toBe('Office 365 SharePoint Online');
    expect((await byAppId('00000007-0000-0000-c000-000000000000')).oauth2PermissionScopes[0]).toMatchObject({
      id: '78ce3f0f-a1ce-49c2-8cde-64b5c0896db4',
      value: 'user_impersonation',
    });
  });

  test('when a tenant is seeded without Partner Center, then reading it answers 404, and POST /servicePrincipals {appId} creates it with its scope, once', async () => {
    await start([PARTNER_CENTER_APP_ID]);

    const missing = await graphFailure(byAppId(PARTNER_CENTER_APP_ID));
    const created = (await client.api('/servicePrincipals').post({ appId: PARTNER_CENTER_APP_ID })) as ServicePrincipal;
    const again = await graphFailure(client.api('/servicePrincipals').post({ appId: PARTNER_CENTER_APP_ID }));

    expect(missing).toMatchObject({ status: 404, code: 'Request_ResourceNotFound' });
    expect(created).toMatchObject({
      appId: PARTNER_CENTER_APP_ID,
      displayName: 'Microsoft Partner Center',
      appOwnerOrganizationId: MICROSOFT_SERVICES_TENANT_ID,
    });
    expect(created.oauth2PermissionScopes.map((s) => [s.id, s.value])).toEqual([
      ['1cebfa2a-fb4d-419e-b5f9-839b4383e05a', 'user_impersonation'],
    ]);
    expect(again).toMatchObject({ status: 409, code: 'Request_MultipleObjectsWithSameKeyValue' });
    const copies = Object.values(tenant.state().data.servicePrincipals).filter(
      (sp) => sp.data.appId === PARTNER_CENTER_APP_ID,
    );
    expect(copies).toHaveLength(1);
    // No application object of the tenant was made for it.
    expect(Object.values(tenant.state().data.applications).some((a) => a.data.appId === PARTNER_CENTER_APP_ID)).toBe(
      false,
    );
  });

  test('when the appId is neither an application of the tenant nor a Microsoft app, then create answers 400 NoBackingApplicationObject and nothing is made', async () => {
    await start();
    const appId = '6c1f0d9e-2b3a-4c5d-8e7f-9a0b1c2d3e4f';
    const before = Object.keys(tenant.state().data.servicePrincipals).length;

    const failure = await graphFailure(client.api('/servicePrincipals').post({ appId }));

    expect(failure).toMatchObject({
      status: 400,
      code: 'Request_BadRequest',
      message: `The appId '${appId}' of the service principal does not reference a valid application object.`,
      details: [{ code: 'NoBackingApplicationObject', target: 'appId' }],
    });
    expect(Object.keys(tenant.state().data.servicePrincipals)).toHaveLength(before);
  });
});
