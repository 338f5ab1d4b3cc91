import type { PermissionRef, PermissionType, SignInAudience } from '../../../src/domain/app-spec';
import { requestableDirectoryRoles } from '../../../src/domain/directory-roles';
import { parseFederatedWorkload } from '../../../src/domain/federated-credential';
import type { CredentialChoice } from '../../../src/domain/request-form';
import {
  assessRisk,
  classifyCredential,
  classifyPermission,
  hardeningNotes,
  type RiskLevel,
} from '../../../src/domain/risk';
import { catalog, graphPermission } from './fixtures';

const partnerCenter = (value: string, type: PermissionType, adminConsentRequired: boolean): PermissionRef => ({
  resourceAppId: 'fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd',
  resourceDisplayName: 'Microsoft Partner Center',
  id: '1cebfa2a-fb4d-419e-b5f9-839b4383e05a',
  value,
  type,
  adminConsentRequired,
  description: '',
});
const userAdministrator = requestableDirectoryRoles.find((r) => r.displayName === 'User Administrator')!;

describe('risk of each permission', () => {
  test.each<[string, PermissionType, RiskLevel]>([
    ['User.Read', 'Scope', 'low'],
    ['offline_access', 'Scope', 'low'],
    ['Mail.Send', 'Scope', 'low'],
    ['Files.ReadWrite.All', 'Scope', 'low'],
    ['User.Read.All', 'Scope', 'medium'],
    ['Group.Read.All', 'Scope', 'medium'],
    ['User.ReadWrite.All', 'Scope', 'medium'],
    ['Directory.Read.All', 'Scope', 'high'],
    ['Directory.AccessAsUser.All', 'Scope', 'high'],
    ['Application.ReadWrite.All', 'Scope', 'high'],
    ['User.Read.All', 'Role', 'medium'],
    ['Team.ReadBasic.All', 'Role', 'medium'],
    ['Sites.Read.All', 'Role', 'medium'],
    ['Mail.Read', 'Role', 'medium'],
    ['Sites.Selected', 'Role', 'medium'],
    ['RoleManagement.Read.Directory', 'Role', 'high'],
    ['Directory.Read.All', 'Role', 'high'],
    ['User.ReadWrite.All', 'Role', 'high'],
    ['Group.ReadWrite.All', 'Role', 'high'],
    ['Mail.Send', 'Role', 'high'],
    ['Mail.ReadWrite', 'Role', 'high'],
    ['Sites.ReadWrite.All', 'Role', 'high'],
    ['Application.ReadWrite.OwnedBy', 'Role', 'high'],
    ['AppRoleAssignment.ReadWrite.All', 'Role', 'high'],
    ['RoleManagement.ReadWrite.Directory', 'Role', 'high'],
    ['Directory.ReadWrite.All', 'Role', 'high'],
  ])('when %s (%s) is asked for, then it is %s risk', (value, type, level) => {
    expect(classifyPermission(graphPermission(value, type)).level).toBe(level);
  });

  test('when Sites.FullControl.All is asked for, even delegated, then it is high risk', () => {
    const permission = { ...graphPermission('Sites.Read.All', 'Scope'), value: 'Sites.FullControl.All' };

    expect(classifyPermission(permission)).toEqual({
      level: 'high',
      reason: 'Sites.FullControl.All has full control of every SharePoint site.',
    });
  });

  test('when every permission of the real catalog is classified, then each has a level and a reason, and every application permission is at least medium', () => {
    for (const entry of catalog) {
      const { level, reason } = classifyPermission({
        resourceAppId: '00000003-0000-0000-c000-000000000000',
        resourceDisplayName: 'Microsoft Graph',
        ...entry,
      });
      expect(['low', 'medium', 'high']).toContain(level);
      expect(reason.length).toBeGreaterThan(10);
      if (entry.type === 'Role') expect(level).not.toBe('low');
    }
  });

  test.each<[string, PermissionRef, RiskLevel]>([
    ['a delegated scope users may consent to', partnerCenter('user_impersonation', 'Scope', false), 'low'],
    ['an application read role', partnerCenter('Customers.Read.All', 'Role', true), 'medium'],
    ['an application role that is not plainly a read', partnerCenter('Customers.Manage', 'Role', true), 'high'],
    [
      'an application role named like a Graph one (names are Graph rules only)',
      partnerCenter('Directory.Read.All', 'Role', true),
      'medium',
    ],
  ])('when another API asks for %s, then it is %s risk', (_name, permission, level) => {
    expect(classifyPermission(permission).level).toBe(level);
  });
});

describe('risk of a request', () => {
  const assess = (
    permissions: PermissionRef[],
    signInAudience: SignInAudience = 'AzureADMyOrg',
    directoryRole?: typeof userAdministrator,
  ) => assessRisk({ permissions, signInAudience, directoryRole });

  test.each<[string, () => ReturnType<typeof assess>, RiskLevel]>([
    [
      'nothing but sign-in',
      () => assess([graphPermission('User.Read', 'Scope'), graphPermission('openid', 'Scope')]),
      'low',
    ],
    [
      'a sign-in and an application read',
      () => assess([graphPermission('User.Read', 'Scope'), graphPermission('User.Read.All', 'Role')]),
      'medium',
    ],
    [
      'one high among lows',
      () => assess([graphPermission('User.Read', 'Scope'), graphPermission('Mail.Send', 'Role')]),
      'high',
    ],
    [
      'any organisation may sign in',
      () => assess([graphPermission('User.Read', 'Scope')], 'AzureADMultipleOrgs'),
      'high',
    ],
    ['personal accounts may sign in', () => assess([], 'AzureADandPersonalMicrosoftAccount'), 'high'],
    ['a directory role', () => assess([], 'AzureADMyOrg', userAdministrator), 'high'],
    ['nothing at all', () => assess([]), 'low'],
  ])('when a request asks for %s, then its risk is its highest item: %s', (_name, assessment, level) => {
    expect(assessment().level).toBe(level);
  });

  test('when a request has a directory role and a multi-tenant audience, then each is an item with its own reason', () => {
    const { items } = assess([graphPermission('User.Read', 'Scope')], 'AzureADMultipleOrgs', userAdministrator);

    expect(items).toEqual([
      {
        kind: 'permission',
        subject: 'User.Read (delegated)',
        level: 'low',
        reason: expect.stringMatching(/users may consent/),
      },
      {
        kind: 'directoryRole',
        subject: 'Directory role: User Administrator',
        level: 'high',
        reason: expect.stringMatching(/reset passwords/),
      },
      {
        kind: 'audience',
        subject: 'Any organisation can sign in',
        level: 'high',
        reason: expect.stringMatching(/other tenants/),
      },
    ]);
  });

  test('when another API is asked for, then the item names the API', () => {
    expect(assess([partnerCenter('user_impersonation', 'Scope', false)]).items[0]!.subject).toBe(
      'Microsoft Partner Center: user_impersonation (delegated)',
    );
  });
});

describe('hardening notes', () => {
  test('when Mail.Send is granted tenant-wide, then the note says so and gives RBAC for Applications commands, with application access policies only as the legacy way', () => {
    const [note, ...others] = hardeningNotes([graphPermission('Mail.Send', 'Role')], {
      appId: '11111111-2222-3333-4444-555555555555',
      servicePrincipalId: '66666666-7777-8888-9999-000000000000',
      displayName: 'Payroll mailer',
      requestId: 'F3K92M7Q',
    });

    expect(others).toEqual([]);
    expect(note!.advice).toMatch(/reach every mailbox in the organisation, and Mail.Send can send as anyone/);
    expect(note!.advice).toMatch(/use RBAC for Applications in Exchange Online/);
    expect(note!.advice).toMatch(/remove the tenant-wide grant \(an Exchange role assignment does not narrow it\)/);
    expect(note!.advice).toMatch(/Application access policies \(New-ApplicationAccessPolicy\) are the legacy way/);
    const mailSendRole = graphPermission('Mail.Send', 'Role').id;
    expect(note!.commands).toEqual([
      'Connect-MgGraph -Scopes AppRoleAssignment.ReadWrite.All',
      `Get-MgServicePrincipalAppRoleAssignment -ServicePrincipalId 66666666-7777-8888-9999-000000000000 | Where-Object { $_.AppRoleId -in @('${mailSendRole}') } | ForEach-Object { Remove-MgServicePrincipalAppRoleAssignment -ServicePrincipalId 66666666-7777-8888-9999-000000000000 -AppRoleAssignmentId $_.Id }`,
      'Connect-ExchangeOnline',
      "New-ServicePrincipal -AppId 11111111-2222-3333-4444-555555555555 -ObjectId 66666666-7777-8888-9999-000000000000 -DisplayName 'Payroll mailer'",
      `New-ManagementScope -Name "registrar-F3K92M7Q" -RecipientRestrictionFilter "MemberOfGroup -eq '<distinguished name of a mail-enabled security group>'"`,
      'New-ManagementRoleAssignment -App 11111111-2222-3333-4444-555555555555 -Role "Application Mail.Send" -CustomResourceScope "registrar-F3K92M7Q"',
      'Test-ServicePrincipalAuthorization -Identity 11111111-2222-3333-4444-555555555555 -Resource <mailbox@contoso.com> | Format-Table',
    ]);
    expect(note!.commands!.join('\n')).not.toMatch(/ApplicationAccessPolicy/);
  });

  test('when Mail.Send is scoped in Exchange, then the note says it is declared without tenant-wide consent, warns against admin consent, and has no removal step', () => {
    const [note] = hardeningNotes([graphPermission('Mail.Send', 'Role'), graphPermission('Calendars.Read', 'Role')], {
      requestId: 'F3K92M7Q',
      displayName: 'Payroll mailer',
      exchangeRbac: { mailboxes: ['payroll@contoso.com', 'hr@contoso.com'] },
    });

    expect(note!.subject).toBe('Mail.Send, Calendars.Read: scoped in Exchange');
    expect(note!.advice).toMatch(/declared on the app without tenant-wide consent/);
    expect(note!.advice).toMatch(/Do not grant admin consent for this app in the Entra admin center/);
    expect(note!.commands).toEqual(
      expect.arrayContaining([
        `New-ManagementScope -Name "registrar-F3K92M7Q" -RecipientRestrictionFilter "PrimarySmtpAddress -eq 'payroll@contoso.com' -or PrimarySmtpAddress -eq 'hr@contoso.com'"`,
        'New-ManagementRoleAssignment -App <appId> -Role "Application Mail.Send" -CustomResourceScope "registrar-F3K92M7Q"',
        'New-ManagementRoleAssignment -App <appId> -Role "Application Calendars.Read" -CustomResourceScope "registrar-F3K92M7Q"',
        'Test-ServicePrincipalAuthorization -Identity <appId> -Resource hr@contoso.com | Format-Table',
      ]),
    );
    expect(note!.commands!.some((c) => c.includes('Remove-Mg'))).toBe(false);
  });

  test('when a mailbox permission has no RBAC for Applications role, then the note says it stays tenant-wide', () => {
    const [note] = hardeningNotes([graphPermission('Mail.ReadBasic.All', 'Role')]);
    expect(note!.advice).toMatch(/RBAC for Applications has no role for them/);
    expect(note!.commands).toBeUndefined();
  });

  test('when Mail.Send is scoped in Exchange, then it is medium risk and says why; tenant-wide it stays high', () => {
    const mailSend = graphPermission('Mail.Send', 'Role');
    expect(classifyPermission(mailSend)).toMatchObject({ level: 'high' });
    const scoped = classifyPermission(mailSend, { mailboxes: ['payroll@contoso.com'] });
    expect(scoped.level).toBe('medium');
    expect(scoped.reason).toMatch(/Declared without tenant-wide consent.*"Application Mail.Send".*payroll@contoso.com/);
    expect(classifyPermission(mailSend, { mailboxes: [] }).reason).toMatch(
      /the mailboxes an Exchange administrator puts in its scope/,
    );
    // Scoping touches only mailbox permissions with an Exchange role.
    expect(classifyPermission(graphPermission('User.ReadWrite.All', 'Role'), { mailboxes: [] }).level).toBe('high');
    const risk = assessRisk({
      permissions: [mailSend],
      signInAudience: 'AzureADMyOrg',
      exchangeRbac: { mailboxes: [] },
    });
    expect(risk.level).toBe('medium');
  });

  test('when the app does not exist yet, then the commands hold an <appId> placeholder', () => {
    expect(hardeningNotes([graphPermission('Mail.Read', 'Role')])[0]!.commands!.join('\n')).toContain('-AppId <appId>');
  });

  test('when Mail.Send is delegated, then no mailbox note is given (the app acts only as the signed-in user)', () => {
    expect(hardeningNotes([graphPermission('Mail.Send', 'Scope')])).toEqual([]);
  });

  test('when site-wide SharePoint access is asked for, then the note suggests Sites.Selected with the grant per site', () => {
    const [note] = hardeningNotes([graphPermission('Sites.ReadWrite.All', 'Role')]);

    expect(note).toMatchObject({
      subject: 'Sites.ReadWrite.All',
      advice: expect.stringMatching(/grant Sites\.Selected instead/),
    });
    expect(note!.commands![0]).toMatch(/^POST \/v1\.0\/sites\/<site-id>\/permissions/);
  });

  test('when Directory.ReadWrite.All or Application.ReadWrite.All is asked for, then the notes name narrower permissions', () => {
    const notes = hardeningNotes([
      graphPermission('Directory.ReadWrite.All', 'Role'),
      graphPermission('Application.ReadWrite.All', 'Role'),
    ]);

    expect(notes.map((n) => n.subject)).toEqual(['Directory.ReadWrite.All', 'Application.ReadWrite.All']);
    expect(notes[0]!.advice).toMatch(/User\.ReadWrite\.All.*Group\.ReadWrite\.All.*Application\.ReadWrite\.OwnedBy/);
    expect(notes[1]!.advice).toMatch(/Application\.ReadWrite\.OwnedBy/);
  });

  test('when a request is assessed, then its notes are part of the assessment', () => {
    expect(
      assessRisk({ permissions: [graphPermission('Mail.Send', 'Role')], signInAudience: 'AzureADMyOrg' }).notes,
    ).toHaveLength(1);
  });
});

describe('risk of the credential', () => {
  const github = parseFederatedWorkload({
    federatedWorkload: 'github',
    githubOrganization: 'contoso',
    githubRepository: 'payments',
    githubEntity: 'environment',
    githubEntityName: 'production',
  });
  if (!github.ok) throw new Error('the GitHub workload of these tests does not parse');
  const federated: CredentialChoice = { kind: 'federated', workload: github.workload, credential: github.credential };
  const secret: CredentialChoice = { kind: 'secret', lifetimeDays: 180 };
  const certificate: CredentialChoice = {
    kind: 'certificate',
    certificate: {
      derBase64: 'MIIB',
      thumbprint: '3F2A9C7B1D4E5F60718293A4B5C6D7E8F9012345',
      subject: 'CN=payroll-sync',
      notBefore: '2026-03-01T00:00:00Z',
      notAfter: '2027-03-01T00:00:00Z',
    },
  };
  const rank: Record<RiskLevel, number> = { low: 0, medium: 1, high: 2 };
  const levelOf = (choice: CredentialChoice) => classifyCredential(choice)!.level;

  test('when the credentials are compared, then a federated credential is lower risk than a client secret and than a certificate', () => {
    expect(rank[levelOf(federated)]).toBeLessThan(rank[levelOf(secret)]);
    expect(rank[levelOf(federated)]).toBeLessThan(rank[levelOf(certificate)]);
  });

  test('when a federated credential is rated, then its reason says no secret exists and names the one workload that can get tokens', () => {
    expect(classifyCredential(federated)).toEqual({
      kind: 'credential',
      subject: 'Credential: federated (no secret)',
      level: 'low',
      reason:
        'No secret exists to leak: only GitHub Actions in contoso/payments, environment production can get tokens as the app, ' +
        'each time by presenting a short-lived token of its own identity provider.',
    });
  });

  test('when another issuer is named, then the reason names its workload in words that read on', () => {
    const other = parseFederatedWorkload({
      federatedWorkload: 'other',
      federatedIssuer: 'https://oidc.example.com',
      federatedSubject: 'deploy-bot',
    });
    if (!other.ok) throw new Error('the other-issuer workload of this test does not parse');
    expect(
      classifyCredential({ kind: 'federated', workload: other.workload, credential: other.credential })?.reason,
    ).toMatch(
      /^No secret exists to leak: only the workload deploy-bot of the identity provider https:\/\/oidc\.example\.com can get tokens/,
    );
  });

  test('when a secret or a certificate is rated, then the reason says what leaks and points to a federated credential', () => {
    expect(classifyCredential(secret)?.reason).toMatch(
      /^A secret exists that can leak: .* for up to 180 days\. A federated credential would leave nothing to leak\.$/,
    );
    expect(classifyCredential(certificate)?.reason).toMatch(/whoever copies that key acts as the app/);
  });

  test('when a public client has no credential, then there is nothing to rate', () => {
    expect(classifyCredential({ kind: 'none' })).toBeUndefined();
    expect(assessRisk({ permissions: [], signInAudience: 'AzureADMyOrg', credential: { kind: 'none' } }).items).toEqual(
      [],
    );
  });

  test.each<[string, RiskLevel, CredentialChoice]>([
    ['a federated credential', 'low', federated],
    ['a client secret', 'medium', secret],
    ['a certificate', 'medium', certificate],
  ])(
    'when a sign-in-only app has %s, then the request is %s risk, the credential one of its items',
    (_name, level, credential) => {
      const risk = assessRisk({
        permissions: [graphPermission('User.Read', 'Scope')],
        signInAudience: 'AzureADMyOrg',
        credential,
      });
      expect(risk.level).toBe(level);
      expect(risk.items.filter((item) => item.kind === 'credential')).toHaveLength(1);
    },
  );

  test('when a federated credential comes with a high permission, then the request stays high: the credential lowers nothing', () => {
    expect(
      assessRisk({
        permissions: [graphPermission('Mail.Send', 'Role')],
        signInAudience: 'AzureADMyOrg',
        credential: federated,
      }).level,
    ).toBe('high');
  });
});
