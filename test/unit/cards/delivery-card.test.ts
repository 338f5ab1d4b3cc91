/** @jest-environment jsdom */
import { renderDelivery } from '../../../src/cards/delivery-card';
import { Verb } from '../../../src/cards/verbs';
import { appId, requests, revealedSecret, tenantId } from './card-samples';
import { objectsOfType, strings, texts } from './card-walk';
import { buttons, all, runs } from './request-card-helpers';

describe('delivery card', () => {
  const secretText = revealedSecret.text;

  test('when a secret is ready, then the card offers Reveal and says the secret is made at that click and shown once', () => {
    const card = renderDelivery({ request: requests.provisioned(), tenantId, state: 'ready' });
    expect(buttons(card)).toEqual([
      expect.objectContaining({
        title: 'Reveal client secret',
        verb: Verb.deliveryReveal,
        data: { requestId: 'F3K92M7Q' },
      }),
    ]);
    expect(all(card)).toContain(
      'Registrar creates the secret when you click Reveal client secret, and shows it to you once',
    );
    expect(all(card)).toContain('It will be valid for 180 days from that click.');
  });

  test('when the secret is revealed, then it is shown unchanged in a monospace TextRun, with its expiry, the check and a warning', () => {
    const card = renderDelivery({
      request: requests.provisioned(),
      tenantId,
      state: 'revealed',
      secret: revealedSecret,
    });
    const run = objectsOfType(card, 'TextRun').find((r) => r.text === secretText);
    expect(run).toMatchObject({ fontType: 'Monospace' });
    expect(
      strings(card)
        .filter((s) => s.value.includes(secretText))
        .map((s) => `${String(s.owner.type)}.${s.key}`),
    ).toEqual(['TextRun.text']);
    const text = all(card);
    expect(text).toContain('Valid until 30 Aug 2026, 10:00 UTC.');
    expect(text).toContain('A token was issued with this secret: it works.');
    expect(text).toContain('It disappears from this card in a few minutes');
    expect(buttons(card)).toEqual([
      expect.objectContaining({
        title: 'I have stored it',
        verb: Verb.deliveryStored,
        data: { requestId: 'F3K92M7Q' },
      }),
    ]);
  });

  test('when the secret is not accepted yet, then the card says Entra ID needs a few minutes', () => {
    const card = renderDelivery({
      request: requests.provisioned(),
      tenantId,
      state: 'revealed',
      secret: { ...revealedSecret, check: 'pending' },
    });
    expect(all(card)).toContain('Entra ID has not started accepting it yet; this usually takes a few minutes.');
  });

  test('when the secret is stored, then the card holds only its hint and expiry, never the secret', () => {
    const card = renderDelivery({
      request: requests.delivered(),
      tenantId,
      state: 'stored',
      stored: { hint: 'Q_e', endDateTime: revealedSecret.endDateTime },
    });
    expect(JSON.stringify(card)).not.toContain(secretText);
    expect(all(card)).toContain('Client secret Q_e… (its first characters), valid until 30 Aug 2026, 10:00 UTC');
    expect(buttons(card)).toEqual([]);
  });

  test('when a card other than the revealed one is rendered, then the secret is nowhere in it', () => {
    for (const state of ['ready', 'stored'] as const) {
      const card = renderDelivery({ request: requests.delivered(), tenantId, state, secret: revealedSecret });
      expect(JSON.stringify(card)).not.toContain(secretText);
    }
  });

  test('when the card explains how to use the secret, then it names the variables and gives a token request without the secret', () => {
    const card = renderDelivery({
      request: requests.provisioned(),
      tenantId,
      state: 'revealed',
      secret: revealedSecret,
    });
    const text = runs(card);
    expect(text).toEqual(
      expect.arrayContaining([
        `AZURE_TENANT_ID=${tenantId}`,
        `AZURE_CLIENT_ID=${appId}`,
        'AZURE_CLIENT_SECRET=<your client secret>',
      ]),
    );
    const curl = text.filter((t) => t.startsWith('curl') || t.startsWith('-d') || t.startsWith('--data')).join('\n');
    expect(curl).toBe(
      [
        `curl -X POST https://login.microsoftonline.com/${tenantId}/oauth2/v2.0/token \\`,
        '-d grant_type=client_credentials \\',
        `-d client_id=${appId} \\`,
        '--data-urlencode "client_secret=$AZURE_CLIENT_SECRET" \\',
        '-d scope=https://graph.microsoft.com/.default',
      ].join('\n'),
    );
    expect(curl).not.toContain(secretText);
  });

  test('when the tenant is in a national cloud, then the token request uses its endpoints', () => {
    const card = renderDelivery({
      request: requests.provisioned(),
      tenantId,
      state: 'ready',
      endpoints: { login: 'https://login.microsoftonline.us/', graph: 'https://graph.microsoft.us' },
    });
    expect(runs(card)).toEqual(
      expect.arrayContaining([
        `curl -X POST https://login.microsoftonline.us/${tenantId}/oauth2/v2.0/token \\`,
        '-d scope=https://graph.microsoft.us/.default',
      ]),
    );
  });

  test('when the card is rendered, then it shows the ids in monospace and what was granted', () => {
    const card = renderDelivery({ request: requests.provisioned(), tenantId, state: 'ready' });
    const text = texts(card);
    expect(text).toEqual(
      expect.arrayContaining([
        'Client id',
        appId,
        'Tenant id',
        tenantId,
        'Mail.Send (application, Microsoft Graph)',
        'Directory role: User Administrator, to create and manage users and groups, reset passwords of non-administrators (for example a B2C password reset)',
      ]),
    );
    expect(
      objectsOfType(card, 'TextRun')
        .filter((r) => r.text === appId || r.text === tenantId)
        .map((r) => r.fontType),
    ).toEqual(['Monospace', 'Monospace']);
  });

  test('when the app has a certificate, then the card confirms its thumbprint and expiry, offers no reveal and names the certificate variable', () => {
    const card = renderDelivery({ request: requests.certificate('delivered'), tenantId, state: 'ready' });
    const text = all(card);
    expect(buttons(card)).toEqual([]);
    expect(texts(card)).toEqual(
      expect.arrayContaining([
        'Thumbprint',
        '3F2A9C7B1D4E5F60718293A4B5C6D7E8F9012345',
        'Valid until',
        '1 Mar 2027, 00:00 UTC',
      ]),
    );
    expect(text).toContain('AZURE_CLIENT_CERTIFICATE_PATH');
    expect(text).not.toMatch(/client secret|curl/i);
  });

  test('when the app has no credential, then the card shows the ids only', () => {
    const card = renderDelivery({ request: requests.publicClient(), tenantId, state: 'ready' });
    expect(buttons(card)).toEqual([]);
    expect(all(card)).not.toMatch(/AZURE_|curl|Reveal/);
    expect(texts(card)).toEqual(expect.arrayContaining(['Client id', appId, 'Tenant id', tenantId]));
  });

  test('when the revealed state has no secret, then rendering fails instead of showing a card without it', () => {
    expect(() => renderDelivery({ request: requests.provisioned(), tenantId, state: 'revealed' })).toThrow(
      /needs the secret/,
    );
  });

  test('when a message is given, then it is shown', () => {
    const message =
      'This secret was already revealed. To get a new one, ask for a rotation with `rotate Payroll sync`.';
    expect(texts(renderDelivery({ request: requests.delivered(), tenantId, state: 'stored', message }))).toContain(
      message,
    );
  });

  test('when Mail.Send was scoped in Exchange, then the card gives the Exchange administrator the commands with the app id and service principal object id, and says nothing was granted tenant-wide', () => {
    const card = renderDelivery({ request: requests.scoped('provisioned'), tenantId, state: 'ready' });
    const text = texts(card);
    expect(all(card)).toContain('Next step: scope the app in Exchange Online');
    expect(all(card)).toContain('declared on the app without tenant-wide consent, so the app reaches no mailbox yet');
    expect(text).toEqual(
      expect.arrayContaining([
        'Mail.Send (application, Microsoft Graph: declared, not granted tenant-wide; scoped in Exchange)',
        `New-ServicePrincipal -AppId ${appId} -ObjectId 0c1d2e3f-0000-4000-8000-0000000000b2 -DisplayName 'Payroll sync'`,
        `New-ManagementRoleAssignment -App ${appId} -Role "Application Mail.Send" -CustomResourceScope "registrar-F3K92M7Q"`,
        `Test-ServicePrincipalAuthorization -Identity ${appId} -Resource payroll@contoso.com | Format-Table`,
      ]),
    );
    expect(text.some((t) => t.includes('Remove-MgServicePrincipalAppRoleAssignment'))).toBe(false);
  });

  test('when Mail.Send was granted tenant-wide, then the card says so and how it could be scoped', () => {
    const text = texts(renderDelivery({ request: requests.provisioned(), tenantId, state: 'ready' }));
    expect(text).toContain('Mailbox access: every mailbox');
    expect(text.find((t) => t.startsWith('Get-MgServicePrincipalAppRoleAssignment'))).toContain(
      '-ServicePrincipalId 0c1d2e3f-0000-4000-8000-0000000000b2',
    );
    expect(text.find((t) => t.startsWith('New-ManagementRoleAssignment'))).toContain(`-App ${appId}`);
  });

  test('when the app has no mailbox permission, then there is no Exchange section', () => {
    expect(all(renderDelivery({ request: requests.certificate('delivered'), tenantId, state: 'stored' }))).not.toMatch(
      /Exchange/,
    );
  });
});
