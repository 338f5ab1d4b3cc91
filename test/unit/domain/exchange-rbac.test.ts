import type { PermissionRef } from '../../../src/domain/app-spec';
import {
  exchangeApplicationRoles,
  exchangeRbacCommands,
  exchangeRoleFor,
  isMailboxAddress,
  psQuote,
  recipientFilter,
  removeTenantWideGrantCommands,
  scopedInExchange,
} from '../../../src/domain/exchange-rbac';
import { graphPermission } from './fixtures';

const appId = '0a1b2c3d-0000-4000-8000-00000000a001';
const spId = '0a1b2c3d-0000-4000-8000-00000000b002';

describe('Exchange RBAC for Applications', () => {
  test('when a mailbox application permission has a role, then it is the Learn page\'s "Application <permission>" role', () => {
    expect(exchangeRoleFor(graphPermission('Mail.Send', 'Role'))).toBe('Application Mail.Send');
    expect(exchangeRoleFor(graphPermission('MailboxSettings.ReadWrite', 'Role'))).toBe(
      'Application MailboxSettings.ReadWrite',
    );
    expect(Object.keys(exchangeApplicationRoles)).toEqual([
      'Mail.Read',
      'Mail.ReadBasic',
      'Mail.ReadWrite',
      'Mail.Send',
      'MailboxSettings.Read',
      'MailboxSettings.ReadWrite',
      'Calendars.Read',
      'Calendars.ReadWrite',
      'Contacts.Read',
      'Contacts.ReadWrite',
    ]);
  });

  test('when a permission is delegated, on another API, or without a role, then Exchange cannot scope it', () => {
    expect(exchangeRoleFor(graphPermission('Mail.Send', 'Scope'))).toBeUndefined();
    expect(exchangeRoleFor(graphPermission('Mail.ReadBasic.All', 'Role'))).toBeUndefined();
    expect(exchangeRoleFor(graphPermission('User.Read.All', 'Role'))).toBeUndefined();
    const other: PermissionRef = {
      ...graphPermission('Mail.Send', 'Role'),
      resourceAppId: 'fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd',
    };
    expect(exchangeRoleFor(other)).toBeUndefined();
  });

  test('when RBAC is chosen, then only the scopable application permissions are withheld from the tenant-wide grants', () => {
    const permissions = [
      graphPermission('Mail.Send', 'Role'),
      graphPermission('User.Read.All', 'Role'),
      graphPermission('Mail.ReadBasic.All', 'Role'),
      graphPermission('Mail.Send', 'Scope'),
    ];
    expect(scopedInExchange(permissions, { mailboxes: [] }).map((p) => `${p.value}/${p.type}`)).toEqual([
      'Mail.Send/Role',
    ]);
    expect(scopedInExchange(permissions)).toEqual([]);
  });

  test('when the app exists, then the commands carry its client id and service principal object id, one role assignment per permission', () => {
    const commands = exchangeRbacCommands(
      [graphPermission('Mail.Send', 'Role'), graphPermission('Mail.Read', 'Role')],
      {
        appId: appId.toUpperCase(),
        servicePrincipalId: spId,
        displayName: "Payroll's mailer",
        requestId: 'F3K92M7Q',
        mailboxes: ['payroll@contoso.com'],
      },
    );
    expect(commands).toEqual([
      'Connect-ExchangeOnline',
      `New-ServicePrincipal -AppId ${appId} -ObjectId ${spId} -DisplayName 'Payroll''s mailer'`,
      `New-ManagementScope -Name "registrar-F3K92M7Q" -RecipientRestrictionFilter "PrimarySmtpAddress -eq 'payroll@contoso.com'"`,
      `New-ManagementRoleAssignment -App ${appId} -Role "Application Mail.Send" -CustomResourceScope "registrar-F3K92M7Q"`,
      `New-ManagementRoleAssignment -App ${appId} -Role "Application Mail.Read" -CustomResourceScope "registrar-F3K92M7Q"`,
      `Test-ServicePrincipalAuthorization -Identity ${appId} -Resource payroll@contoso.com | Format-Table`,
    ]);
  });

  test('when an id is not a GUID, then the command keeps the placeholder instead of it', () => {
    const [, sp] = exchangeRbacCommands([graphPermission('Mail.Send', 'Role')], {
      appId: '$(Remove-Mailbox)',
      displayName: 'x',
      requestId: 'F3K92M7Q',
      mailboxes: [],
    });
    expect(sp).toBe("New-ServicePrincipal -AppId <appId> -ObjectId <service principal object id> -DisplayName 'x'");
  });

  test('when nothing is scopable, then there are no commands', () => {
    expect(
      exchangeRbacCommands([graphPermission('User.Read.All', 'Role')], {
        displayName: 'x',
        requestId: 'A',
        mailboxes: [],
      }),
    ).toEqual([]);
    expect(removeTenantWideGrantCommands([graphPermission('User.Read.All', 'Role')], spId)).toEqual([]);
  });

  test('when text goes into PowerShell, then quotes are doubled and addresses are plain', () => {
    expect(psQuote("it’s 'a'\nname")).toBe("'it''s ''a'' name'");
    expect(isMailboxAddress('payroll.team+eu@mail.contoso.com')).toBe(true);
    for (const bad of ["o'brien@contoso.com", 'a@b', '$x@contoso.com', 'a"@contoso.com', 'payroll'])
      expect({ bad, ok: isMailboxAddress(bad) }).toEqual({ bad, ok: false });
    expect(recipientFilter(['a@contoso.com', 'b@contoso.com'])).toBe(
      "PrimarySmtpAddress -eq 'a@contoso.com' -or PrimarySmtpAddress -eq 'b@contoso.com'",
    );
  });
});
