/**
 * Runbook 5, the Identity Manager directory reader: a single-tenant app on the Web platform with no redirect URI
 * (Entra ID accepts a web app without one: https://learn.microsoft.com/entra/identity-platform/quickstart-register-app
 * calls the redirect URI optional), the Directory.Read.All application permission with admin consent, and a client
 * secret of about a year. Driven through the bot; the local tenant is read field by field.
 */
import { MICROSOFT_GRAPH_APP_ID } from '../../../src/domain/app-spec';
import { demoTenantId } from '../../../src/local/demo-identities';
import { Runbook, permissionChoice } from '../../helpers/runbook';
import { cardText } from '../../helpers/teams';

jest.setTimeout(120_000);

const dayMs = 24 * 60 * 60 * 1000;
/** Directory.Read.All as an application permission (appRole id on Microsoft Graph). */
const directoryReadAll = '7ab1d382-f21e-4acd-a863-ba3e13f7da61';

describe('runbook: Identity Manager directory reader', () => {
  const runbook = new Runbook();
  beforeEach(() => runbook.start());
  afterEach(() => runbook.stop());

  test('when a web app with no redirect URI asks for Directory.Read.All and a one-year secret, then the app, its service principal, the grant and the secret are exactly that', async () => {
    expect(permissionChoice('Directory.Read.All', 'Role')).toBe(`Role:${directoryReadAll}`);
    const { requestId, card: form } = await runbook.openForm();
    expect(cardText(form)).toContain('A web app may have none');

    const submitted = await runbook.submit(requestId, {
      name: 'Identity Manager directory reader',
      purpose: 'The Microsoft Identity Manager Graph connector reads users and groups from the directory.',
      audience: 'AzureADMyOrg',
      platform: 'web',
      redirectUris: '',
      permissions: permissionChoice('Directory.Read.All', 'Role'),
      credential: 'secret',
      secretDays: '365',
    });
    expect(submitted.status).toBe(200);
    const stored = await runbook.stored(requestId);
    expect(stored.form).toMatchObject({ platform: 'web', redirectUris: [], signInAudience: 'AzureADMyOrg' });
    expect(stored.form.credential).toEqual({ kind: 'secret', lifetimeDays: 365 });
    // Directory.* reaches the whole directory: high, two approvers.
    expect(stored.risk.level).toBe('high');

    const { approvers } = await runbook.approve(requestId);
    expect(approvers).toBe(2);
    const done = await runbook.provisioned(requestId);
    const data = runbook.tenant.state().data;
    const graphSp = Object.values(data.servicePrincipals).find((sp) => sp.data.appId === MICROSOFT_GRAPH_APP_ID)!.data;

    expect(done.app).toMatchObject({
      displayName: 'Identity Manager directory reader',
      signInAudience: 'AzureADMyOrg',
      web: expect.objectContaining({ redirectUris: [] }),
      spa: expect.objectContaining({ redirectUris: [] }),
      publicClient: expect.objectContaining({ redirectUris: [] }),
      requiredResourceAccess: [
        { resourceAppId: MICROSOFT_GRAPH_APP_ID, resourceAccess: [{ id: directoryReadAll, type: 'Role' }] },
      ],
      passwordCredentials: [],
    });
    expect(done.servicePrincipal).toMatchObject({
      appId: done.app.appId,
      accountEnabled: true,
      appOwnerOrganizationId: demoTenantId,
    });
    expect(done.assignments).toEqual([
      expect.objectContaining({
        principalId: done.servicePrincipal.id,
        resourceId: graphSp.id,
        appRoleId: directoryReadAll,
      }),
    ]);
    expect(done.grants).toEqual([]);
    // Directory.Read.All is not a mailbox permission: no Exchange step on the delivery card.
    expect(cardText(done.deliveryCard)).not.toMatch(/Exchange/);

    const revealedAt = Date.now();
    const { secret, credential } = await runbook.reveal(done);
    const start = Date.parse(String(credential.startDateTime));
    const end = Date.parse(String(credential.endDateTime));
    expect(Math.abs(start - revealedAt)).toBeLessThan(60_000);
    expect(Math.round((end - start) / dayMs)).toBe(365);
    const { claims } = await runbook.token(String(done.app.appId), secret);
    expect(claims).toMatchObject({ appid: done.app.appId, roles: ['Directory.Read.All'] });
  });
});
