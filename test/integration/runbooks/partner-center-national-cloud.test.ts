/**
 * Runbook 3, "Partner Center app in a national cloud", made through the bot as a person would: Bot Framework
 * activities to the running Registrar, Microsoft Graph through the production adapter against the local tenant,
 * state in Azure Tables (Azurite). Registrar runs with GRAPH_CLOUD=usgov (US Government, GCC High), its Graph and
 * sign-in hosts pointed at the local tenant with GRAPH_ENDPOINT and AUTHORITY_HOST, as the README's national
 * clouds are configured. The tenant is one where Partner Center's service principal is absent, so the native app's
 * request creates it. The tenant is the judge, field by field.
 */
import { uniqueNameFor } from '../../../src/domain/app-spec';
import { alex, demoTenantId } from '../../../src/local/demo-identities';
import { PARTNER_CENTER_APP_ID } from '../../../src/local/tenant/first-party-apps';
import graphPermissions from '../../../src/local/tenant/graph-permissions.json';
import { demoIds, demoTenant } from '../../../src/local/tenant/seed';
import type { RunningTenant } from '../../../src/local/tenant/server';
import { Verb } from '../../../src/cards/verbs';
import { cardInputs } from '../../helpers/cards';
import { FakeConnector } from '../../helpers/connector';
import type { TestRegistrar } from '../../helpers/registrar';
import { Runbook, adele, megan } from '../../helpers/runbook';
import { Teams, cardText, personalChat } from '../../helpers/teams';

jest.setTimeout(120_000);

const DAY = 86_400_000;
const PARTNER_CENTER_SCOPE_ID = '1cebfa2a-fb4d-419e-b5f9-839b4383e05a';
const NATIVE_CLIENT_REDIRECT = 'https://login.microsoftonline.com/common/oauth2/nativeclient';

function graphPermission(value: string, type: 'Role' | 'Scope'): { id: string; key: string } {
  const found = (graphPermissions as Array<{ id: string; value: string; type: string }>).find(
    (p) => p.value === value && p.type === type,
  );
  if (!found) throw new Error(`no ${type} ${value} in the catalog`);
  return { id: found.id, key: `${type}:${found.id}` };
}

const writesOf = (tenant: RunningTenant) => Object.keys(tenant.counters.snapshot()).filter((k) => !k.startsWith('GET'));

describe('runbook: Partner Center app in a national cloud (US Government)', () => {
  const runbook = new Runbook();
  let tenant: RunningTenant;
  let registrar: TestRegistrar;
  let connector: FakeConnector;
  let teams: Teams;
  const channel = runbook.channel;
  const alexChat = personalChat(alex, demoTenantId);

  beforeEach(async () => {
    // A tenant that never used Partner Center: its service principal is not there.
    const demo = demoTenant(new Date(), { withoutServicePrincipals: [PARTNER_CENTER_APP_ID] });
    await runbook.start({ GRAPH_CLOUD: 'usgov', SECRET_MAX_DAYS: '730' }, demo.data);
    ({ tenant, registrar, connector, teams } = runbook);
  });

  afterEach(() => runbook.stop());

  const openForm = async () => (await runbook.openForm()).requestId;
  const submit = (data: Record<string, string>) => runbook.submit(data.requestId!, data);
  const stored = (requestId: string) => runbook.stored(requestId);

  /** The latest approval card posted for `requestId` in the approvals channel. */
  function approvalPost(requestId: string) {
    const post = connector.sent.find(
      (s) =>
        s.kind === 'send' &&
        s.conversationId === channel.conversation.id &&
        JSON.stringify(s.activity).includes(requestId) &&
        JSON.stringify(s.activity).includes(Verb.approvalRefresh),
    );
    if (!post) throw new Error(`no approval card for ${requestId}`);
    return post;
  }

  /** Every approval the request needs (high-risk permissions need two approvers), from Megan, then Adele. */
  async function approve(requestId: string): Promise<void> {
    await registrar.runtime.idle();
    const post = approvalPost(requestId);
    const needed = (await stored(requestId)).approvalsRequired;
    for (const approver of [megan, adele].slice(0, needed)) {
      await teams.invoke(teams.cardAction(channel, approver, Verb.approvalApprove, { requestId }, post.id));
      await registrar.runtime.idle();
    }
  }

  const appOf = (requestId: string) => {
    const apps = Object.values(tenant.state().data.applications).filter(
      (a) => a.data.uniqueName === uniqueNameFor(requestId),
    );
    expect(apps).toHaveLength(1);
    return apps[0]!.data as Record<string, unknown>;
  };
  const servicePrincipalOf = (appId: string) => {
    const sps = Object.values(tenant.state().data.servicePrincipals).filter((sp) => sp.data.appId === appId);
    expect(sps).toHaveLength(1);
    return sps[0]!.data as Record<string, unknown>;
  };

  test('Registrar runs with the US Government cloud setting, its Graph calls reaching the tenant GRAPH_ENDPOINT names', async () => {
    expect(registrar.config.graph.cloud).toBe('usgov');
    expect(registrar.config.graph.endpoint).toBe(tenant.url);
    tenant.counters.reset();
    await openForm();
    // The form's catalog and the requester's checks are read from this tenant, and nowhere else.
    expect(Object.keys(tenant.counters.snapshot()).filter((k) => k.startsWith('GET '))).not.toEqual([]);
  });

  test.each([365, 730])(
    'the web app: Directory.Read.All (application) with admin consent and a client secret of %i days',
    async (days) => {
      const directoryRead = graphPermission('Directory.Read.All', 'Role');
      const requestId = await openForm();
      const answer = await submit({
        requestId,
        name: 'Partner Center web app',
        purpose: 'Partner Center integration: reads directory data for customer onboarding.',
        audience: 'AzureADMyOrg',
        platform: 'web',
        redirectUris: 'https://partner.contoso.us/signin-oidc',
        permissions: directoryRead.key,
        credential: 'secret',
        secretDays: String(days),
      });
      expect(cardText(answer.card)).toContain(requestId);
      await approve(requestId);
      expect((await stored(requestId)).status).toBe('provisioned');

      const app = appOf(requestId);
      expect(app.signInAudience).toBe('AzureADMyOrg');
      expect((app.web as { redirectUris: string[] }).redirectUris).toEqual(['https://partner.contoso.us/signin-oidc']);
      expect(app.requiredResourceAccess).toEqual([
        {
          resourceAppId: '00000003-0000-0000-c000-000000000000',
          resourceAccess: [{ id: directoryRead.id, type: 'Role' }],
        },
      ]);
      const sp = servicePrincipalOf(String(app.appId));
      const assignments = Object.values(tenant.state().data.appRoleAssignments).filter(
        (a) => a.data.principalId === sp.id,
      );
      expect(assignments.map((a) => [a.data.resourceId, a.data.appRoleId])).toEqual([
        [demoIds.graphServicePrincipal, directoryRead.id],
      ]);

      // The secret is made when Alex reveals it, with the lifetime asked for.
      const delivery = connector.sent.find(
        (s) =>
          s.kind === 'send' &&
          s.conversationId === alexChat.conversation.id &&
          JSON.stringify(s.activity).includes(Verb.deliveryReveal),
      );
      await teams.invoke(teams.cardAction(alexChat, alex, Verb.deliveryReveal, { requestId }, delivery!.id));
      const secrets = appOf(requestId).passwordCredentials as Array<{ startDateTime: string; endDateTime: string }>;
      expect(secrets).toHaveLength(1);
      const lifetime = Date.parse(secrets[0]!.endDateTime) - Date.parse(secrets[0]!.startDateTime);
      expect(Math.abs(lifetime - days * DAY)).toBeLessThan(DAY);
    },
  );

  test('the native app: User.Read, Directory.AccessAsUser.All and "Microsoft Partner Center" user_impersonation, admin consented; Partner Center\'s service principal is created as part of the request', async () => {
    const userRead = graphPermission('User.Read', 'Scope');
    const accessAsUser = graphPermission('Directory.AccessAsUser.All', 'Scope');
    const requestId = await openForm();
    const answer = await submit({
      requestId,
      name: 'Partner Center native app',
      purpose: 'Partner Center PowerShell and desktop tools, signed in as the partner admin.',
      audience: 'AzureADMyOrg',
      platform: 'publicClient',
      // The desktop tools sign in through the loopback address, and with a device code where there is no browser.
      redirectUris: `${NATIVE_CLIENT_REDIRECT}\nhttp://localhost`,
      publicClientFlows: 'true',
      permissions: [userRead.key, accessAsUser.key].join(','),
      otherPermissions: 'Microsoft Partner Center user_impersonation delegated',
      credential: 'none',
    });

    // The requester is told, and so are the approvers, as an item of its own.
    const told =
      /Registrar will create the service principal for Microsoft Partner Center \(fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd\)/;
    expect(cardText(answer.card)).toMatch(told);
    expect(tenant.state().appIdToServicePrincipal.has(PARTNER_CENTER_APP_ID)).toBe(false);
    expect(writesOf(tenant)).toEqual([]);
    await registrar.runtime.idle();
    const approval = (approvalPost(requestId).activity.attachments as Array<{ content: unknown }>)[0]!.content;
    expect(cardText(approval)).toMatch(told);
    expect(cardText(approval)).toContain('user_impersonation');

    await approve(requestId);
    const request = await stored(requestId);
    // No credential to reveal: the app is delivered as soon as it is provisioned.
    expect(request.status).toBe('delivered');

    const partnerCenter = servicePrincipalOf(PARTNER_CENTER_APP_ID);
    expect(partnerCenter.displayName).toBe('Microsoft Partner Center');
    expect(tenant.counters.snapshot()['POST /servicePrincipals']).toBe(1);
    expect(request.provisioning.resources?.servicePrincipalIds).toEqual([partnerCenter.id]);

    const app = appOf(requestId);
    expect((app.publicClient as { redirectUris: string[] }).redirectUris).toEqual([
      NATIVE_CLIENT_REDIRECT,
      'http://localhost',
    ]);
    expect(app.isFallbackPublicClient).toBe(true);
    expect(app.passwordCredentials).toEqual([]);
    expect(app.requiredResourceAccess).toEqual(
      expect.arrayContaining([
        {
          resourceAppId: '00000003-0000-0000-c000-000000000000',
          resourceAccess: expect.arrayContaining([
            { id: userRead.id, type: 'Scope' },
            { id: accessAsUser.id, type: 'Scope' },
          ]),
        },
        { resourceAppId: PARTNER_CENTER_APP_ID, resourceAccess: [{ id: PARTNER_CENTER_SCOPE_ID, type: 'Scope' }] },
      ]),
    );
    const sp = servicePrincipalOf(String(app.appId));
    const grants = Object.values(tenant.state().data.oauth2PermissionGrants)
      .filter((g) => g.data.clientId === sp.id)
      .map((g) => ({
        resourceId: g.data.resourceId,
        consentType: g.data.consentType,
        scope: String(g.data.scope).split(' ').sort().join(' '),
      }));
    expect(grants).toEqual(
      expect.arrayContaining([
        {
          resourceId: demoIds.graphServicePrincipal,
          consentType: 'AllPrincipals',
          scope: 'Directory.AccessAsUser.All User.Read',
        },
        { resourceId: partnerCenter.id, consentType: 'AllPrincipals', scope: 'user_impersonation' },
      ]),
    );
    expect(grants).toHaveLength(2);
  });

  test.each([
    [
      'an API name Registrar does not know',
      'Contoso Billing API Invoices.Read delegated',
      /does not know an API named Contoso Billing API.*"Microsoft Partner Center".*app id/s,
    ],
    [
      'Azure AD Graph by app id',
      '00000002-0000-0000-c000-000000000000 Directory.Read.All application',
      /Azure AD Graph .*retired on 31 August 2025.*Microsoft Graph application permission Directory\.Read\.All/s,
    ],
    [
      'Azure AD Graph by name',
      'Windows Azure Active Directory User.Read delegated',
      /retired on 31 August 2025.*Microsoft Graph delegated permission User\.Read/s,
    ],
    [
      'an app id with no service principal that is not a Microsoft API Registrar can add',
      '6c1f0d9e-2b3a-4c5d-8e7f-9a0b1c2d3e4f Orders.Read delegated',
      /No API with app id 6c1f0d9e-2b3a-4c5d-8e7f-9a0b1c2d3e4f is in this tenant/,
    ],
  ])('bad input: %s is refused on the form, values kept, and nothing is written to Graph', async (_, line, message) => {
    const requestId = await openForm();
    const applications = Object.keys(tenant.state().data.applications).length;
    const servicePrincipals = Object.keys(tenant.state().data.servicePrincipals).length;
    tenant.counters.reset();

    const answer = await submit({
      requestId,
      name: 'Partner Center native app',
      purpose: 'Partner Center tools.',
      audience: 'AzureADMyOrg',
      platform: 'publicClient',
      redirectUris: NATIVE_CLIENT_REDIRECT,
      otherPermissions: line,
      credential: 'none',
    });

    expect(cardText(answer.card)).toMatch(message);
    expect(cardInputs(answer.card).get('otherPermissions')?.value).toBe(line);
    expect(cardInputs(answer.card).get('name')?.value).toBe('Partner Center native app');
    expect(await registrar.container.store.requests.get('request', requestId)).toBeUndefined();
    expect(writesOf(tenant)).toEqual([]);
    expect(Object.keys(tenant.state().data.applications)).toHaveLength(applications);
    expect(Object.keys(tenant.state().data.servicePrincipals)).toHaveLength(servicePrincipals);
  });
});
