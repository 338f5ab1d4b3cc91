import type { PermissionRef, PermissionType, SignInAudience } from '../../../src/domain/app-spec';
import { requestableDirectoryRoles } from '../../../src/domain/directory-roles';
import { assessRisk, classifyPermission, hardeningNotes, type RiskLevel } from '../../../src/domain/risk';
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
  test('when Mail.Send is asked for as an application, then the note gives the Exchange application access policy commands for the app', () => {
    const [note, ...others] = hardeningNotes(
      [graphPermission('Mail.Send', 'Role')],
      '11111111-2222-3333-4444-555555555555',
    );

    expect(others).toEqual([]);
    expect(note!.advice).toMatch(
      /Mail.Send can send as anyone.*restrict the app to named mailboxes with an Exchange application access policy/is,
    );
    expect(note!.commands).toContain(
      'New-ApplicationAccessPolicy -AppId 11111111-2222-3333-4444-555555555555 -PolicyScopeGroupId <mail-enabled-group@contoso.com> -AccessRight RestrictAccess -Description "Registrar: restrict to named mailboxes"',
    );
    expect(note!.commands).toContain(
      'Test-ApplicationAccessPolicy -Identity <allowed-mailbox@contoso.com> -AppId 11111111-2222-3333-4444-555555555555',
    );
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
