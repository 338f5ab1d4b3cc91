/**
 * Runbook 1 of issue 13, the Graph notifications app (cross-device notifications for Windows, iOS and Android
 * clients): delegated User.Read and UserActivity.ReadWrite.CreatedByApp, work or school and personal Microsoft
 * accounts (v2 access tokens), a client secret, the mobile and desktop platform with MSAL's iOS and Android redirect
 * URIs and http://localhost, and device code sign-in. Asked for through the running bot with Bot Framework activities
 * as Teams sends them, approved, revealed, and checked field by field in the local tenant.
 */
import { MICROSOFT_GRAPH_APP_ID, uniqueNameFor } from '../../../src/domain/app-spec';
import { alex, demoTenantId } from '../../../src/local/demo-identities';
import graphPermissions from '../../../src/local/tenant/graph-permissions.json';
import type { RunningTenant } from '../../../src/local/tenant/server';
import type { Json } from '../../../src/local/tenant/state';
import { Verb } from '../../../src/cards/verbs';
import { cardInputs, verbsOf } from '../../helpers/cards';
import { FakeConnector } from '../../helpers/connector';
import type { TestRegistrar } from '../../helpers/registrar';
import { Runbook, adele, megan } from '../../helpers/runbook';
import { graphClientFor } from '../../helpers/tenant';
import { Teams, cardText, personalChat } from '../../helpers/teams';

jest.setTimeout(120_000);

function scope(value: string): { id: string; choice: string } {
  const found = (graphPermissions as Array<{ id: string; value: string; type: string }>).find(
    (p) => p.value === value && p.type === 'Scope',
  );
  if (!found) throw new Error(`no delegated ${value} in the catalog`);
  return { id: found.id, choice: `Scope:${found.id}` };
}

const userRead = scope('User.Read');
const userActivity = scope('UserActivity.ReadWrite.CreatedByApp');
// The base64 SHA-1 of the Android app's signing certificate, URL-encoded, as the Entra portal writes it.
const signatureHash = encodeURIComponent(Buffer.alloc(20, 0x3c).toString('base64'));
const redirectUris = [
  'msauth.com.contoso.notes://auth',
  `msauth://com.contoso.notes/${signatureHash}`,
  'http://localhost',
];

describe('runbook: Graph notifications app', () => {
  const runbook = new Runbook();
  let tenant: RunningTenant;
  let registrar: TestRegistrar;
  let connector: FakeConnector;
  let teams: Teams;
  const channel = runbook.channel;
  const alexChat = personalChat(alex, demoTenantId);

  beforeEach(async () => {
    await runbook.start();
    ({ tenant, registrar, connector, teams } = runbook);
  });

  afterEach(() => runbook.stop());

  const openForm = () => runbook.openForm();

  function notesForm(requestId: string, fields: Record<string, string> = {}): Record<string, string> {
    return {
      requestId,
      name: 'Contoso Notes notifications',
      purpose: 'Sends cross-device notifications to Contoso Notes on Windows, iOS and Android.',
      audience: 'AzureADandPersonalMicrosoftAccount',
      platform: 'publicClient',
      redirectUris: redirectUris.join('\n'),
      permissions: [userRead.choice, userActivity.choice].join(','),
      credential: 'secret',
      secretDays: '180',
      publicClientFlows: 'true',
      ...fields,
    };
  }

  const submit = (data: Record<string, string>) => runbook.submit(data.requestId!, data);
  const stored = (requestId: string) => runbook.stored(requestId);

  const applications = () => Object.values(tenant.state().data.applications);

  test('when Alex asks for the notifications app and it is approved and revealed, then the tenant holds exactly that registration', async () => {
    const { card: form, requestId } = await openForm();
    // The global cloud offers personal Microsoft accounts, and the form has the device code toggle.
    expect(
      cardInputs(form)
        .get('audience')
        ?.choices?.map((c) => c.value),
    ).toContain('AzureADandPersonalMicrosoftAccount');
    expect(cardInputs(form).has('publicClientFlows')).toBe(true);

    const submitted = await submit(notesForm(requestId));
    expect(cardText(submitted.card)).toContain(requestId);
    const request = await stored(requestId);
    expect(request).toMatchObject({
      status: 'submitted',
      form: { platform: 'publicClient', redirectUris, publicClientFlows: true },
    });
    await registrar.runtime.idle();

    // The approval card says what will be made, the public client flows in a plain line.
    const approvalCard = connector.cards({ conversationId: channel.conversation.id, kind: 'send' }).at(-1)!.card;
    const cardId = connector.sent
      .filter((s) => s.kind === 'send' && s.conversationId === channel.conversation.id)
      .at(-1)!.id;
    const approverView = await teams.invoke(
      teams.cardAction(channel, megan, Verb.approvalRefresh, { requestId }, cardId),
    );
    for (const text of [cardText(approvalCard), cardText(approverView.card)]) {
      expect(text).toContain('Any organisation and personal Microsoft accounts');
      expect(text).toContain('Mobile and desktop (public client)');
      expect(text).toContain(
        'Allowed: device code, integrated Windows authentication and username and password (isFallbackPublicClient)',
      );
      expect(text).toContain('msauth.com.contoso.notes://auth');
    }

    for (const approver of [megan, adele].slice(0, request.approvalsRequired)) {
      await teams.invoke(teams.cardAction(channel, approver, Verb.approvalApprove, { requestId }, cardId));
    }
    await registrar.runtime.idle();
    expect((await stored(requestId)).status).toBe('provisioned');

    const delivery = connector.sent.find(
      (s) =>
        s.kind === 'send' &&
        s.conversationId === alexChat.conversation.id &&
        JSON.stringify(s.activity).includes(Verb.deliveryReveal),
    );
    const revealed = await teams.invoke(
      teams.cardAction(alexChat, alex, Verb.deliveryReveal, { requestId }, delivery!.id),
    );
    expect(verbsOf(revealed.card)).toContain(Verb.deliveryStored);
    expect((await stored(requestId)).status).toBe('delivered');

    // Field by field, in the tenant.
    const made = applications().filter((a) => a.data.uniqueName === uniqueNameFor(requestId));
    expect(made).toHaveLength(1);
    const app = made[0]!.data;
    expect(app.displayName).toBe('Contoso Notes notifications');
    expect(app.signInAudience).toBe('AzureADandPersonalMicrosoftAccount');
    expect((app.api as Json).requestedAccessTokenVersion).toBe(2);
    expect((app.publicClient as Json).redirectUris).toEqual(redirectUris);
    expect((app.web as Json).redirectUris).toEqual([]);
    expect((app.spa as Json).redirectUris).toEqual([]);
    expect(app.isFallbackPublicClient).toBe(true);
    expect(app.requiredResourceAccess).toEqual([
      {
        resourceAppId: MICROSOFT_GRAPH_APP_ID,
        resourceAccess: expect.arrayContaining([
          { id: userRead.id, type: 'Scope' },
          { id: userActivity.id, type: 'Scope' },
        ]),
      },
    ]);
    expect((app.requiredResourceAccess as Array<{ resourceAccess: unknown[] }>)[0]!.resourceAccess).toHaveLength(2);

    const data = tenant.state().data;
    const sp = Object.values(data.servicePrincipals).find((s) => s.data.appId === app.appId)!;
    const graphSp = Object.values(data.servicePrincipals).find((s) => s.data.appId === MICROSOFT_GRAPH_APP_ID)!;
    expect(sp).toBeDefined();
    const grants = Object.values(data.oauth2PermissionGrants)
      .map((g) => g.data)
      .filter((g) => g.clientId === sp.data.id);
    expect(grants).toHaveLength(1);
    expect(grants[0]).toMatchObject({ consentType: 'AllPrincipals', resourceId: graphSp.data.id, principalId: null });
    expect(String(grants[0]!.scope).split(' ').filter(Boolean).sort()).toEqual(
      ['User.Read', 'UserActivity.ReadWrite.CreatedByApp'].sort(),
    );

    const passwords = app.passwordCredentials as Array<{ keyId: string; hint: string; endDateTime: string }>;
    expect(passwords).toHaveLength(1);
    const secret = cardText(revealed.card)
      .split('\n')
      .find((line) => line.startsWith(passwords[0]!.hint) && line.length >= 30);
    expect(secret).toBeDefined();
    const token = await graphClientFor(tenant, String(app.appId), secret!).credential.getToken(
      `${tenant.url}/.default`,
    );
    expect(token?.token).toBeTruthy();
    const lifetimeDays = (Date.parse(passwords[0]!.endDateTime) - Date.now()) / 86_400_000;
    expect(lifetimeDays).toBeGreaterThan(179);
    expect(lifetimeDays).toBeLessThanOrEqual(180);
    expect(registrar.logs.text).not.toContain(secret!);
  });

  test.each([
    [
      'an iOS redirect URI that is not msauth.<bundle id>://auth',
      { redirectUris: 'msauth.com.contoso://callback' },
      'msauth.com.contoso://callback is not the form MSAL for iOS and macOS signs in with: write it exactly as msauth.com.contoso://auth.',
    ],
    [
      'an Android redirect URI whose signature hash is not URL-encoded',
      { redirectUris: `msauth://com.contoso.notes/${Buffer.alloc(20, 0x3c).toString('base64')}` },
      'has a signature hash that is not URL-encoded',
    ],
    [
      'a custom scheme on a web app',
      { platform: 'web', redirectUris: 'com.contoso.notes://callback', publicClientFlows: 'false' },
      'com.contoso.notes://callback must start with https://',
    ],
  ])(
    'when the form holds %s, then it comes back with the reason and the values, and nothing is written to Graph',
    async (_label, fields, message) => {
      const { requestId } = await openForm();
      const before = applications().length;
      tenant.counters.reset();

      const data = notesForm(requestId, fields);
      const answer = await submit(data);

      expect(verbsOf(answer.card)).toContain(Verb.requestSubmit);
      expect(cardText(answer.card)).toContain(message);
      const inputs = cardInputs(answer.card);
      expect(inputs.get('redirectUris')?.value).toBe(data.redirectUris);
      expect(inputs.get('name')?.value).toBe('Contoso Notes notifications');
      expect(inputs.get('audience')?.value).toBe('AzureADandPersonalMicrosoftAccount');
      expect(await registrar.container.store.requests.get('request', requestId)).toBeUndefined();
      expect(Object.keys(tenant.counters.snapshot()).filter((k) => !k.startsWith('GET'))).toEqual([]);
      expect(applications().length).toBe(before);
    },
  );

  test('when Registrar makes apps in a national cloud, then the form does not offer personal accounts, and a form asking for them is refused with the reason', async () => {
    await runbook.stop();
    await runbook.start({ GRAPH_CLOUD: 'usgov' });
    ({ tenant, registrar, connector, teams } = runbook);
    const { card, requestId } = await openForm();
    expect(
      cardInputs(card)
        .get('audience')
        ?.choices?.map((c) => c.value),
    ).toEqual(['AzureADMyOrg', 'AzureADMultipleOrgs']);
    tenant.counters.reset();

    const answer = await submit(notesForm(requestId));

    expect(cardText(answer.card)).toContain(
      'Personal Microsoft accounts cannot sign in to apps in this national cloud: choose this organisation only, or any organisation.',
    );
    expect(await registrar.container.store.requests.get('request', requestId)).toBeUndefined();
    expect(Object.keys(tenant.counters.snapshot()).filter((k) => !k.startsWith('GET'))).toEqual([]);
  });
});
