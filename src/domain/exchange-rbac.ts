/**
 * RBAC for Applications in Exchange Online (https://learn.microsoft.com/exchange/permissions-exo/application-rbac):
 * an Exchange administrator gives an app an "Application <permission>" role over a management scope (the mailboxes
 * it may reach), instead of the tenant-wide Microsoft Graph grant that reaches every mailbox. It replaces
 * application access policies. The two are additive: a tenant-wide grant made in Entra ID is not narrowed by an
 * Exchange role assignment, so an app is scoped only when its Graph application permission is declared
 * (requiredResourceAccess) but NOT granted (no appRoleAssignment on its service principal).
 *
 * Pure: which permissions have an RBAC for Applications role, which a request leaves ungranted, and the Exchange
 * Online PowerShell an administrator runs, with the app's ids filled in where they are known.
 */
import { MICROSOFT_GRAPH_APP_ID, type PermissionRef } from './app-spec';

/**
 * The Microsoft Graph application permissions that Exchange Online authorises per mailbox, each with its RBAC for
 * Applications role, as the Learn page's "Supported Application Roles" table names them.
 */
export const exchangeApplicationRoles: Readonly<Record<string, string>> = {
  'Mail.Read': 'Application Mail.Read',
  'Mail.ReadBasic': 'Application Mail.ReadBasic',
  'Mail.ReadWrite': 'Application Mail.ReadWrite',
  'Mail.Send': 'Application Mail.Send',
  'MailboxSettings.Read': 'Application MailboxSettings.Read',
  'MailboxSettings.ReadWrite': 'Application MailboxSettings.ReadWrite',
  'Calendars.Read': 'Application Calendars.Read',
  'Calendars.ReadWrite': 'Application Calendars.ReadWrite',
  'Contacts.Read': 'Application Contacts.Read',
  'Contacts.ReadWrite': 'Application Contacts.ReadWrite',
};

/** The requester's choice: scope the app's mailbox permissions in Exchange instead of a tenant-wide grant. */
export interface ExchangeRbacChoice {
  /** The mailboxes (primary SMTP addresses, lower-case) to scope the app to; empty: the administrator picks them. */
  mailboxes: readonly string[];
}

/** At most this many mailboxes on the form: the scope's filter names each one. */
export const maxScopedMailboxes = 20;

/**
 * A mailbox address as the form accepts it: an SMTP address of letters, digits and . _ % + - only, so that it can
 * stand inside the quoted filter of New-ManagementScope with no escaping.
 */
const mailboxShape = /^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})+$/;

export function isMailboxAddress(value: string): boolean {
  return value.length <= 254 && mailboxShape.test(value);
}

/** Whether this is a Microsoft Graph application permission of a mailbox (Mail.*, Calendars.*, Contacts.*, MailboxSettings.*). */
export function isMailboxPermission(p: PermissionRef): boolean {
  return (
    p.resourceAppId === MICROSOFT_GRAPH_APP_ID &&
    p.type === 'Role' &&
    /^(Mail|Calendars|Contacts|MailboxSettings)\./.test(p.value)
  );
}

/** The RBAC for Applications role for a permission, e.g. "Application Mail.Send"; undefined when it has none. */
export function exchangeRoleFor(p: PermissionRef): string | undefined {
  return isMailboxPermission(p) ? exchangeApplicationRoles[p.value] : undefined;
}

/** The permissions Exchange can scope: Microsoft Graph application permissions with an RBAC for Applications role. */
export function exchangeScopable(permissions: readonly PermissionRef[]): PermissionRef[] {
  return permissions.filter((p) => exchangeRoleFor(p) !== undefined);
}

/** The permissions a request declares but does not grant tenant-wide: the scopable ones, when RBAC was chosen. */
export function scopedInExchange(permissions: readonly PermissionRef[], choice?: ExchangeRbacChoice): PermissionRef[] {
  return choice ? exchangeScopable(permissions) : [];
}

/** What the commands name: unknown ids stay <placeholders> (before provisioning, the app has none yet). */
export interface ExchangeRbacTarget {
  appId?: string;
  /** The service principal's object id (the Enterprise application's Object ID). */
  servicePrincipalId?: string;
  displayName: string;
  requestId: string;
  mailboxes: readonly string[];
}

/** A PowerShell single-quoted string: only quote characters are special there (PowerShell reads ‘ ’ ‚ ‛ as ' too). */
export function psQuote(value: string): string {
  return `'${value.replace(/[\r\n]+/g, ' ').replace(/['\u2018\u2019\u201A\u201B]/g, "''")}'`;
}

const guidOr = (value: string | undefined, placeholder: string) =>
  value && /^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$/i.test(value) ? value.toLowerCase() : placeholder;

/** The management scope's name: one per request. */
export const scopeNameFor = (requestId: string) => `registrar-${requestId}`;

/** The scope's recipient filter: the named mailboxes, or the members of a mail-enabled group the admin names. */
export function recipientFilter(mailboxes: readonly string[]): string {
  const named = mailboxes.filter(isMailboxAddress);
  if (named.length === 0) return "MemberOfGroup -eq '<distinguished name of a mail-enabled security group>'";
  return named.map((m) => `PrimarySmtpAddress -eq '${m}'`).join(' -or ');
}

/**
 * The Exchange Online PowerShell that scopes the app, in order: connect, point Exchange at the Entra service
 * principal, make the management scope, assign each role over it, and test one mailbox.
 */
export function exchangeRbacCommands(permissions: readonly PermissionRef[], target: ExchangeRbacTarget): string[] {
  const roles = [...new Set(exchangeScopable(permissions).map((p) => exchangeApplicationRoles[p.value]!))];
  if (roles.length === 0) return [];
  const appId = guidOr(target.appId, '<appId>');
  const objectId = guidOr(target.servicePrincipalId, '<service principal object id>');
  const scope = scopeNameFor(target.requestId);
  const tested = target.mailboxes.filter(isMailboxAddress).slice(0, 3);
  return [
    'Connect-ExchangeOnline',
    `New-ServicePrincipal -AppId ${appId} -ObjectId ${objectId} -DisplayName ${psQuote(target.displayName)}`,
    `New-ManagementScope -Name "${scope}" -RecipientRestrictionFilter "${recipientFilter(target.mailboxes)}"`,
    ...roles.map(
      (role) => `New-ManagementRoleAssignment -App ${appId} -Role "${role}" -CustomResourceScope "${scope}"`,
    ),
    ...(tested.length > 0 ? tested : ['<mailbox@contoso.com>']).map(
      (mailbox) => `Test-ServicePrincipalAuthorization -Identity ${appId} -Resource ${mailbox} | Format-Table`,
    ),
  ];
}

/**
 * For an app granted tenant-wide: remove those grants in Entra ID (Microsoft Graph PowerShell), since an Exchange
 * role assignment does not narrow them; then the Exchange commands above.
 */
export function removeTenantWideGrantCommands(
  permissions: readonly PermissionRef[],
  servicePrincipalId: string | undefined,
): string[] {
  const ids = [...new Set(exchangeScopable(permissions).map((p) => p.id.toLowerCase()))];
  if (ids.length === 0) return [];
  const sp = guidOr(servicePrincipalId, '<service principal object id>');
  return [
    'Connect-MgGraph -Scopes AppRoleAssignment.ReadWrite.All',
    `Get-MgServicePrincipalAppRoleAssignment -ServicePrincipalId ${sp} | Where-Object { $_.AppRoleId -in @(${ids.map((id) => `'${id}'`).join(', ')}) } | ForEach-Object { Remove-MgServicePrincipalAppRoleAssignment -ServicePrincipalId ${sp} -AppRoleAssignmentId $_.Id }`,
  ];
}
