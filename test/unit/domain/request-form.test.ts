import { MICROSOFT_GRAPH_APP_ID } from '../../../src/domain/app-spec';
import { validateRequestForm, type RequestFormContext, type RequestFormResult } from '../../../src/domain/request-form';
import { selfSignedCertificate } from '../../../src/local/tenant/self-signed';
import { catalogIndex, megan } from './fixtures';

const now = new Date('2026-06-01T12:00:00Z');
const context: RequestFormContext = {
  catalog: catalogIndex,
  policy: { secretMaxDays: 730, secretDefaultDays: 180 },
  now,
  cloud: 'global',
};
const id = (value: string, type: 'Role' | 'Scope') => catalogIndex.byValue(value, type)!.id;
const certificate = selfSignedCertificate('payroll', new Date('2026-01-01Z'), new Date('2027-01-01Z'));
const partnerCenter = 'fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd';

const valid: Record<string, string> = {
  name: '  Payroll sync ',
  purpose: 'Reads users nightly\r\nfor the payroll run.',
  audience: 'AzureADMyOrg',
  platform: 'web',
  redirectUris: 'https://payroll.contoso.com/auth/callback\n\nhttp://localhost:3000/auth',
  permissions: `${id('User.Read', 'Scope')},${id('User.Read.All', 'Role')}`,
  otherPermissions: `${partnerCenter} user_impersonation delegated`,
  permissionFilter: 'user',
  credential: 'secret',
  secretDays: '90',
  certificatePem: '',
  owners: megan.aadObjectId.toUpperCase(),
  directoryRole: '',
};

const check = (input: unknown, ctx: RequestFormContext = context) => validateRequestForm(input, ctx);
function refused(result: RequestFormResult) {
  if (result.ok) throw new Error('expected the form to be refused');
  return result;
}

describe('the request form', () => {
  test('when every field is good, then the form is the trimmed, resolved request', () => {
    const result = check(valid);

    expect(result).toEqual({
      ok: true,
      requestId: undefined,
      form: {
        displayName: 'Payroll sync',
        purpose: 'Reads users nightly\nfor the payroll run.',
        signInAudience: 'AzureADMyOrg',
        platform: 'web',
        redirectUris: ['https://payroll.contoso.com/auth/callback', 'http://localhost:3000/auth'],
        graphPermissions: [
          expect.objectContaining({
            resourceAppId: MICROSOFT_GRAPH_APP_ID,
            resourceDisplayName: 'Microsoft Graph',
            value: 'User.Read',
            type: 'Scope',
            adminConsentRequired: false,
          }),
          expect.objectContaining({ value: 'User.Read.All', type: 'Role', adminConsentRequired: true }),
        ],
        otherPermissions: [{ resourceAppId: partnerCenter, value: 'user_impersonation', type: 'Scope' }],
        credential: { kind: 'secret', lifetimeDays: 90 },
        additionalOwnerIds: [megan.aadObjectId],
      },
    });
  });

  test('when optional fields are left out, then the audience is this organisation and the secret lives the default days', () => {
    const result = check(
      { name: 'Daemon', purpose: 'Nightly job', platform: 'none', credential: 'secret' },
      { ...context, policy: { secretMaxDays: 730, secretDefaultDays: 180 } },
    );

    expect(result).toMatchObject({
      ok: true,
      form: {
        signInAudience: 'AzureADMyOrg',
        redirectUris: [],
        graphPermissions: [],
        credential: { kind: 'secret', lifetimeDays: 180 },
      },
    });
  });

  test('when the policy has a naming prefix, then it is put before a name that lacks it, and not twice', () => {
    const withPrefix = { ...context, policy: { ...context.policy, namePrefix: 'app-' } };

    expect(check({ ...valid, name: 'payroll' }, withPrefix)).toMatchObject({
      ok: true,
      form: { displayName: 'app-payroll' },
    });
    expect(check({ ...valid, name: 'APP-payroll' }, withPrefix)).toMatchObject({
      ok: true,
      form: { displayName: 'APP-payroll' },
    });
    expect(refused(check({ ...valid, name: 'x'.repeat(118) }, withPrefix)).errors.name).toMatch(
      /122 characters long; keep it to 120/,
    );
  });

  test('when a Microsoft Graph permission is typed as a line, then it is resolved from the catalog like a chosen one', () => {
    const result = check({
      ...valid,
      permissions: '',
      otherPermissions: `${MICROSOFT_GRAPH_APP_ID} Mail.Send application`,
    });

    expect(result).toMatchObject({
      ok: true,
      form: {
        graphPermissions: [{ value: 'Mail.Send', type: 'Role', id: id('Mail.Send', 'Role') }],
        otherPermissions: [],
      },
    });
  });

  test.each([
    ['a single-page app', 'spa'],
    ['a mobile and desktop app', 'publicClient'],
  ])('when %s asks for no credential, then that is accepted', (_name, platform) => {
    expect(check({ ...valid, platform, credential: 'none' })).toMatchObject({
      ok: true,
      form: { credential: { kind: 'none' } },
    });
  });

  test('when other APIs are named instead of given by app id, then each line resolves to the API the name stands for', () => {
    const result = check({
      ...valid,
      otherPermissions: [
        'Microsoft Partner Center user_impersonation delegated',
        'office 365 EXCHANGE online   full_access_as_app application',
        'SharePoint Sites.FullControl.All application',
        'Dynamics CRM user_impersonation delegated',
        'Microsoft Graph Mail.Send application',
      ].join('\n'),
    });
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    expect(result.form.otherPermissions).toEqual([
      { resourceAppId: partnerCenter, value: 'user_impersonation', type: 'Scope' },
      { resourceAppId: '00000002-0000-0ff1-ce00-000000000000', value: 'full_access_as_app', type: 'Role' },
      { resourceAppId: '00000003-0000-0ff1-ce00-000000000000', value: 'Sites.FullControl.All', type: 'Role' },
      { resourceAppId: '00000007-0000-0000-c000-000000000000', value: 'user_impersonation', type: 'Scope' },
    ]);
    expect(result.form.graphPermissions.map((p) => `${p.value} ${p.type}`)).toContain('Mail.Send Role');
  });

  test('when an API name is unknown, then the field names the APIs Registrar knows and asks for the app id, and the values are kept', () => {
    const lines = 'Contoso Orders API Orders.Read delegated';
    const result = refused(check({ ...valid, otherPermissions: lines }));
    expect(result.errors.otherPermissions).toMatch(/does not know an API named Contoso Orders API/);
    expect(result.errors.otherPermissions).toContain('"Microsoft Partner Center"');
    expect(result.errors.otherPermissions).toMatch(/app id/);
    expect(result.values.otherPermissions).toBe(lines);
  });

  test.each([
    [
      '00000002-0000-0000-c000-000000000000 Directory.Read.All application',
      /application permission Directory\.Read\.All/,
    ],
    ['Windows Azure Active Directory User.Read delegated', /delegated permission User\.Read instead/],
    ['Azure Active Directory Graph Directory.AccessAsUser.All delegated', /Directory\.AccessAsUser\.All/],
    ['azure ad graph Application.ReadWrite.OwnedBy application', /Application\.ReadWrite\.OwnedBy/],
  ])(
    'when Azure AD Graph is asked for (%s), then it is refused with the Microsoft Graph permission to use',
    (line, instead) => {
      const result = refused(check({ ...valid, otherPermissions: line }));
      expect(result.errors.otherPermissions).toMatch(/Azure AD Graph .* retired on 31 August 2025/);
      expect(result.errors.otherPermissions).toMatch(instead);
      expect(result.values.otherPermissions).toBe(line);
    },
  );

  test('when a certificate is pasted, then the form carries it described for keyCredentials', () => {
    const result = check({ ...valid, credential: 'certificate', certificatePem: certificate.certPem, secretDays: '' });

    expect(result).toMatchObject({
      ok: true,
      form: {
        credential: {
          kind: 'certificate',
          certificate: { thumbprint: certificate.thumbprint, derBase64: certificate.der },
        },
      },
    });
  });

  test('when the form carries the id the server gave it, then the id comes back canonical', () => {
    expect(check({ ...valid, requestId: 'f3k9-2m7q' }, { ...context, expectedRequestId: 'F3K92M7Q' })).toMatchObject({
      ok: true,
      requestId: 'F3K92M7Q',
    });
  });

  const uris = (n: number) => Array.from({ length: n }, (_, i) => `https://app.contoso.com/cb${i}`).join('\n');
  const expired = selfSignedCertificate('old', new Date('2024-01-01Z'), new Date('2025-01-01Z'));

  test.each<[string, Record<string, unknown>, string, RegExp]>([
    ['an empty name', { name: '   ' }, 'name', /^The app name is required\.$/],
    ['a name of 121 characters', { name: 'n'.repeat(121) }, 'name', /121 characters long; keep it to 120/],
    [
      'a name with a control character',
      { name: 'Pay\u0007roll' },
      'name',
      /^The app name holds a control character \(U\+0007\) at character 4/,
    ],
    [
      'a name with a line break',
      { name: 'Pay\nroll' },
      'name',
      /^The app name holds a line break at character 4; keep it on one line\.$/,
    ],
    [
      'a name with a right-to-left override',
      { name: 'Payroll\u202Egpj.exe' },
      'name',
      /^The app name holds an invisible character \(U\+202E, a text direction control\) at character 8/,
    ],
    [
      'a name with a markdown link',
      { name: '[Payroll](https://evil.example)' },
      'name',
      /markdown link \(\[text\]\(address\)\); write the address out as plain text/,
    ],
    [
      'a name with a template binding',
      { name: 'Payroll ${$root.secret}' },
      'name',
      /holds \$\{\.\.\.\} or \{\{\.\.\.\}\}/,
    ],
    [
      'a name with a Teams date function',
      { name: '{{DATE(2026-01-01T00:00:00Z, SHORT)}}' },
      'name',
      /holds \$\{\.\.\.\} or \{\{\.\.\.\}\}/,
    ],
    ['an empty purpose', { purpose: '' }, 'purpose', /^The purpose is required\.$/],
    ['a purpose of 1001 characters', { purpose: 'p'.repeat(1001) }, 'purpose', /1001 characters long; keep it to 1000/],
    ['a purpose with a markdown link', { purpose: 'See [runbook](javascript:alert(1))' }, 'purpose', /markdown link/],
    ['a purpose with an expression', { purpose: "${if(true,'a','b')}" }, 'purpose', /\$\{\.\.\.\}/],
    ['an unknown audience', { audience: 'Everyone' }, 'audience', /Choose who can sign in/],
    ['an unknown platform', { platform: 'desktop' }, 'platform', /Choose a platform/],
    [
      'an http redirect URI',
      { redirectUris: 'http://payroll.contoso.com/auth' },
      'redirectUris',
      /must start with https:\/\/ \(plain http is accepted only for http:\/\/localhost\)/,
    ],
    ['a wildcard redirect URI', { redirectUris: 'https://*.contoso.com/auth' }, 'redirectUris', /has a wildcard/],
    [
      'a redirect URI with a fragment',
      { redirectUris: 'https://payroll.contoso.com/auth#done' },
      'redirectUris',
      /has a fragment/,
    ],
    ['a redirect URI that is not a URL', { redirectUris: 'payroll-callback' }, 'redirectUris', /is not a valid URL/],
    [
      'a redirect URI with a character Entra refuses',
      { redirectUris: 'https://payroll.contoso.com/a;b' },
      'redirectUris',
      /one of ! \$ ' \( \) , ;/,
    ],
    [
      'a redirect URI of 257 characters',
      { redirectUris: `https://payroll.contoso.com/${'a'.repeat(229)}` },
      'redirectUris',
      /257 characters long; Entra ID accepts at most 256/,
    ],
    [
      '257 redirect URIs',
      { redirectUris: uris(257) },
      'redirectUris',
      /at most 256 redirect URIs for this audience; you gave 257/,
    ],
    [
      '101 redirect URIs with personal accounts',
      { audience: 'AzureADandPersonalMicrosoftAccount', redirectUris: uris(101) },
      'redirectUris',
      /at most 100 redirect URIs/,
    ],
    [
      'a single-page app without a redirect URI',
      { platform: 'spa', redirectUris: '' },
      'redirectUris',
      /at least one redirect URI/,
    ],
    [
      'Exchange scoping with no mailbox permission',
      { exchangeRbac: 'true' },
      'exchangeRbac',
      /Only application permissions of mailboxes .* can be scoped in Exchange/,
    ],
    [
      'Exchange scoping of a delegated Mail.Send only',
      { exchangeRbac: 'true', permissions: id('Mail.Send', 'Scope') },
      'exchangeRbac',
      /can be scoped in Exchange, and this request asks for none/,
    ],
    ['an Exchange scoping value that is neither on nor off', { exchangeRbac: 'maybe' }, 'exchangeRbac', /neither/],
    [
      'mailboxes without Exchange scoping',
      { exchangeMailboxes: 'payroll@contoso.com' },
      'exchangeMailboxes',
      /apply only when mailbox access is scoped/,
    ],
    [
      'a mailbox address with a quote',
      {
        exchangeRbac: 'true',
        permissions: `Role:${id('Mail.Send', 'Role')}`,
        exchangeMailboxes: "o'brien@contoso.com",
      },
      'exchangeMailboxes',
      /is not a mailbox address Registrar accepts/,
    ],
    [
      '21 mailboxes',
      {
        exchangeRbac: 'true',
        permissions: `Role:${id('Mail.Send', 'Role')}`,
        exchangeMailboxes: Array.from({ length: 21 }, (_, i) => `m${i}@contoso.com`).join('\n'),
      },
      'exchangeMailboxes',
      /at most 20 mailboxes/,
    ],
    [
      'a daemon with a redirect URI',
      { platform: 'none' },
      'redirectUris',
      /A daemon or API signs in with no redirect URI/,
    ],
    [
      'an unknown Graph permission id',
      { permissions: '00000000-0000-0000-0000-000000000000' },
      'permissions',
      /does not know the Microsoft Graph permission 00000000-0000-0000-0000-000000000000/,
    ],
    [
      'a Graph permission name the catalog lacks',
      { otherPermissions: `${MICROSOFT_GRAPH_APP_ID} Mail.Teleport application` },
      'otherPermissions',
      /Microsoft Graph has no application permission named Mail\.Teleport/,
    ],
    [
      'an other-API line of the wrong shape',
      { otherPermissions: 'Partner Center please' },
      'otherPermissions',
      /Write each line as: the API \(its name or app id\), the permission's name, application or delegated/,
    ],
    [
      'an other-API line with a bad type',
      { otherPermissions: `${partnerCenter} user_impersonation admin` },
      'otherPermissions',
      /This line is not/,
    ],
    [
      'more than 30 permissions with personal accounts',
      {
        audience: 'AzureADandPersonalMicrosoftAccount',
        permissions: catalogIndex
          .search('', { limit: 31 })
          .items.map((p) => p.id)
          .join(','),
      },
      'permissions',
      /at most 30 permissions/,
    ],
    [
      'a secret lifetime above policy',
      { secretDays: '731' },
      'secretDays',
      /at most 730 days here; ask for 730 or fewer, or use a certificate/,
    ],
    ['a secret lifetime of zero', { secretDays: '0' }, 'secretDays', /whole days, from 1 to 730/],
    ['a secret lifetime that is not a number', { secretDays: '90.5' }, 'secretDays', /whole days/],
    [
      'no credential for a web app',
      { credential: 'none' },
      'credential',
      /Only a single-page app or a mobile and desktop app can go without a credential/,
    ],
    ['an unknown credential', { credential: 'password' }, 'credential', /Choose a credential/],
    [
      'a certificate credential with no PEM',
      { credential: 'certificate' },
      'certificatePem',
      /Paste the public certificate/,
    ],
    [
      'a malformed PEM',
      { credential: 'certificate', certificatePem: '-----BEGIN CERTIFICATE-----\nMIIB!!\n-----END CERTIFICATE-----' },
      'certificatePem',
      /not base64/,
    ],
    [
      'an expired certificate',
      { credential: 'certificate', certificatePem: expired.certPem },
      'certificatePem',
      /expired on 2025-01-01/,
    ],
    [
      'an owner that is neither an object id nor a user principal name',
      { owners: 'Megan Bowen' },
      'owners',
      /megan is not a user principal name\. Name each owner by the address they sign in with, like alex@contoso\.com, separated by commas\./,
    ],
    [
      'an owner whose user principal name is longer than Entra ID allows',
      { owners: `${'m'.repeat(64)}@${'d'.repeat(50)}.com` },
      'owners',
      /is not a user principal name/,
    ],
    [
      'a directory role not on the list',
      { directoryRole: '62e90394-69f5-4237-9190-012177145e10' },
      'directoryRole',
      /Choose a directory role from the list/,
    ],
    ['an unknown field', { isAdmin: 'true' }, 'form', /fields Registrar does not know \(isAdmin\)/],
    ['a number where text belongs', { name: 42 }, 'name', /must be text/],
    ['a list where text belongs', { permissions: [id('User.Read', 'Scope')] }, 'permissions', /must be text/],
    ['a payload too large', { purpose: 'p'.repeat(200_000) }, 'form', /larger than Registrar accepts/],
    ["another request's id", { requestId: 'ZZZZZZZZ' }, 'form', /belongs to another request/],
    ['a request id that cannot be one', { requestId: '../../admin' }, 'form', /belongs to another request/],
    ['no request id where the server gave one', { requestId: '' }, 'form', /lost its request id/],
  ])(
    'when the form has %s, then the field says what is wrong and the values are kept',
    (_name, patch, field, message) => {
      const input = { ...valid, ...patch };
      const result = refused(
        check(input, { ...context, expectedRequestId: 'requestId' in patch ? 'F3K92M7Q' : undefined }),
      );

      expect(result.errors).toHaveProperty(field);
      expect(result.errors[field as keyof typeof result.errors]).toMatch(message);
      for (const [key, value] of Object.entries(input)) {
        if (key === 'isAdmin' || typeof value !== 'string') expect(result.values).not.toHaveProperty(key);
        else
          expect(result.values[key as keyof typeof result.values]).toBe(
            field === 'form' && value.length > 4096 ? value.slice(0, 4096) : value,
          );
      }
    },
  );

  test('when a web app has no redirect URI, then it is accepted: Entra ID keeps a web app with none', () => {
    const result = check({ ...valid, redirectUris: '' });
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    expect(result.form).toMatchObject({ platform: 'web', redirectUris: [] });
  });

  test('when Mail.Send is scoped in Exchange with mailboxes, then the form carries them lower-case, once each', () => {
    const result = check({
      ...valid,
      permissions: `Role:${id('Mail.Send', 'Role')},${id('User.Read', 'Scope')}`,
      exchangeRbac: 'true',
      exchangeMailboxes: 'Payroll@Contoso.com\nhr@contoso.com, payroll@contoso.com',
    });
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    expect(result.form.exchangeRbac).toEqual({ mailboxes: ['payroll@contoso.com', 'hr@contoso.com'] });
  });

  test('when Exchange scoping is on without mailboxes, or off, then the form says so', () => {
    const on = check({ ...valid, permissions: `Role:${id('Calendars.ReadWrite', 'Role')}`, exchangeRbac: 'true' });
    const off = check({ ...valid, permissions: `Role:${id('Mail.Send', 'Role')}`, exchangeRbac: 'false' });
    expect(on.ok && on.form.exchangeRbac).toEqual({ mailboxes: [] });
    expect(off.ok && off.form).not.toHaveProperty('exchangeRbac');
  });

  test('when owners are typed by user principal name, then the form keeps them lower-case, once each, apart from the object ids, to be looked up', () => {
    const result = check({
      ...valid,
      owners: `Megan@Contoso.onmicrosoft.com, adele@contoso.onmicrosoft.com;${megan.aadObjectId.toUpperCase()}\nmegan@contoso.onmicrosoft.com`,
    });
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    expect(result.form.additionalOwnerIds).toEqual([megan.aadObjectId]);
    expect(result.ownerPrincipalNames).toEqual(['megan@contoso.onmicrosoft.com', 'adele@contoso.onmicrosoft.com']);
  });

  test('when no owner is typed by user principal name, then there are none to look up', () => {
    const picked = check(valid);
    const none = check({ ...valid, owners: ' ' });
    expect(picked.ok && picked).not.toHaveProperty('ownerPrincipalNames');
    expect(none.ok && none.form.additionalOwnerIds).toEqual([]);
    expect(none.ok && none).not.toHaveProperty('ownerPrincipalNames');
  });

  test('when more than 20 owners are named, by id and by user principal name together, then the form says at most 20', () => {
    const upns = (n: number) => Array.from({ length: n }, (_, i) => `owner${i}@contoso.com`);
    expect(check({ ...valid, owners: upns(19).join(', ') }).ok).toBe(true);
    expect(refused(check({ ...valid, owners: upns(21).join(', ') })).errors.owners).toBe(
      'Name at most 20 additional owners.',
    );
    expect(refused(check({ ...valid, owners: [...upns(20), megan.aadObjectId].join(',') })).errors.owners).toBe(
      'Name at most 20 additional owners.',
    );
  });

  test('when the app is made in another directory, then owners of this tenant typed by user principal name are refused too', () => {
    const result = refused(
      check(
        {
          ...valid,
          owners: 'megan@contoso.onmicrosoft.com',
          target: 'b2c',
          targetOwners: 'ana@contosob2c.onmicrosoft.com',
        },
        { ...context, targets: [{ key: 'b2c', name: 'Contoso B2C' }] },
      ),
    );
    expect(result.errors.owners).toMatch(/People of this Teams tenant cannot own an app in Contoso B2C/);
  });

  test('when several fields are wrong, then each has its own message', () => {
    const result = refused(
      check({ ...valid, name: '', purpose: '', redirectUris: 'http://x.example', secretDays: '9999' }),
    );

    expect(Object.keys(result.errors).sort()).toEqual(['name', 'purpose', 'redirectUris', 'secretDays']);
  });

  test('when a private key is pasted, then it is refused and not kept for the card, whichever credential was chosen', () => {
    for (const credential of ['certificate', 'secret']) {
      const result = refused(check({ ...valid, credential, certificatePem: certificate.keyPem }));

      expect(result.errors.certificatePem).toMatch(/This is a private key, not a certificate/);
      expect(result.values.certificatePem).toBe('');
      expect(JSON.stringify(result)).not.toContain(certificate.keyPem.split('\n')[1]);
    }
  });

  test.each([null, 'name=x', [valid], 42])(
    'when the data is %j instead of an object, then the whole form is refused',
    (input) => {
      expect(refused(check(input)).errors).toEqual({ form: expect.stringMatching(/arrived empty or damaged/) });
    },
  );
});

describe('a mobile and desktop app on the request form', () => {
  const hash = encodeURIComponent(Buffer.alloc(20, 7).toString('base64'));
  const notes = {
    ...valid,
    audience: 'AzureADandPersonalMicrosoftAccount',
    platform: 'publicClient',
    redirectUris: `msauth.com.contoso.notes://auth\nmsauth://com.contoso.notes/${hash}\nhttp://localhost`,
    otherPermissions: '',
  };

  test('when it gives MSAL URIs for iOS and Android and localhost and asks for device code, then the form keeps them all', () => {
    const result = check({ ...notes, publicClientFlows: 'true' });

    expect(result).toMatchObject({
      ok: true,
      form: {
        signInAudience: 'AzureADandPersonalMicrosoftAccount',
        platform: 'publicClient',
        redirectUris: ['msauth.com.contoso.notes://auth', `msauth://com.contoso.notes/${hash}`, 'http://localhost'],
        publicClientFlows: true,
      },
    });
  });

  test('when the toggle is off or absent, then the form does not ask for public client flows', () => {
    for (const flows of [{ publicClientFlows: 'false' }, {}]) {
      const result = check({ ...notes, ...flows });
      expect(result.ok && result.form.publicClientFlows).toBeFalsy();
    }
  });

  test('when a web app asks for device code flows, then the form says they are for mobile and desktop apps', () => {
    const result = refused(check({ ...valid, publicClientFlows: 'true' }));
    expect(result.errors.publicClientFlows).toMatch(/are for mobile and desktop apps/);
    expect(result.values.publicClientFlows).toBe('true');
  });

  test('when the toggle holds something else, then it is refused', () => {
    expect(refused(check({ ...notes, publicClientFlows: 'yes' })).errors.publicClientFlows).toMatch(/tick the box/);
  });

  test('when it has neither a redirect URI nor device code flows, then the form says it cannot sign anyone in', () => {
    const result = refused(check({ ...notes, redirectUris: '' }));
    expect(result.errors.redirectUris).toMatch(/signs in through a redirect URI.* or with a device code/);
    expect(check({ ...notes, redirectUris: '', publicClientFlows: 'true' }).ok).toBe(true);
  });

  test('when an iOS URI is not msauth.<bundle id>://auth, then the form names it and keeps the values', () => {
    const result = refused(check({ ...notes, redirectUris: 'msauth.com.contoso://callback' }));
    expect(result.errors.redirectUris).toBe(
      'msauth.com.contoso://callback is not the form MSAL for iOS and macOS signs in with: write it exactly as msauth.com.contoso://auth.',
    );
    expect(result.values.redirectUris).toBe('msauth.com.contoso://callback');
  });

  test('when a web app gives a custom scheme, then it is refused with the reason', () => {
    const result = refused(check({ ...valid, redirectUris: 'com.contoso.app://callback' }));
    expect(result.errors.redirectUris).toMatch(/^com\.contoso\.app:\/\/callback must start with https:\/\//);
  });

  test('when personal accounts sign in, then a query string in a redirect URI is refused', () => {
    expect(refused(check({ ...notes, redirectUris: 'http://localhost/auth?tenant=x' })).errors.redirectUris).toMatch(
      /query string/,
    );
  });
});

describe('personal Microsoft accounts and the cloud', () => {
  test.each(['usgov', 'usgovdod', 'china'] as const)(
    'when the cloud is %s, then a form asking for personal accounts is refused with a clear message',
    (cloud) => {
      const result = refused(
        check({ ...valid, audience: 'AzureADandPersonalMicrosoftAccount' }, { ...context, cloud }),
      );
      expect(result.errors.audience).toBe(
        'Personal Microsoft accounts cannot sign in to apps in this national cloud: choose this organisation only, or any organisation.',
      );
      expect(result.values.audience).toBe('AzureADandPersonalMicrosoftAccount');
      expect(check({ ...valid, audience: 'AzureADMultipleOrgs' }, { ...context, cloud }).ok).toBe(true);
    },
  );

  test('when the cloud is the global one, then personal accounts may be asked for', () => {
    expect(check({ ...valid, audience: 'AzureADandPersonalMicrosoftAccount' }).ok).toBe(true);
  });
});
