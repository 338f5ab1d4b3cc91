/**
 * How risky a request is, item by item, by Registrar's rules: low (delegated, no admin consent), medium
 * (delegated with admin consent, application read permissions), high (application write permissions,
 * Directory.*, RoleManagement.*, AppRoleAssignment.*, Application.ReadWrite.All, Mail.Send as an application,
 * Sites.FullControl.All, any directory role, any multi-tenant audience). A request is as risky as its riskiest
 * item. An application permission that is not plainly a read counts as a write: unknown means high. The credential is
 * an item too: a client secret or a certificate's private key can be copied and used from anywhere, so either is
 * medium; a federated credential has nothing to copy, so it is low.
 */
import { MICROSOFT_GRAPH_APP_ID, permissionKind, type PermissionRef, type SignInAudience } from './app-spec';
import type { DirectoryRole } from './directory-roles';
import { workloadWords } from './federated-credential';
import type { CredentialChoice } from './request-form';
import {
  exchangeRbacCommands,
  exchangeRoleFor,
  exchangeScopable,
  isMailboxPermission,
  removeTenantWideGrantCommands,
  type ExchangeRbacChoice,
} from './exchange-rbac';

export type RiskLevel = 'low' | 'medium' | 'high';
export const riskLevels: readonly RiskLevel[] = ['low', 'medium', 'high'];

export interface RiskItem {
  kind: 'permission' | 'directoryRole' | 'audience' | 'credential';
  /** What is asked for, as the approval card names it: "Mail.Send (application)". */
  subject: string;
  level: RiskLevel;
  reason: string;
}

export interface HardeningNote {
  /** The permission or setting the note is about. */
  subject: string;
  advice: string;
  /** Commands an administrator can run, one per line, with <placeholders> for what only they know. */
  commands?: readonly string[];
}

export interface RiskAssessment {
  level: RiskLevel;
  items: readonly RiskItem[];
  notes: readonly HardeningNote[];
}

export interface RiskSubject {
  permissions: readonly PermissionRef[];
  signInAudience: SignInAudience;
  directoryRole?: DirectoryRole;
  /** The mailbox permissions are scoped in Exchange: declared, not granted tenant-wide. */
  exchangeRbac?: ExchangeRbacChoice;
  /** How the app will prove who it is; a public client (kind none) has no credential to rate. */
  credential?: CredentialChoice;
}

/** Graph permissions that are high whatever their type, by name. */
const highGraphNames: ReadonlyArray<{ test: (value: string) => boolean; reason: string }> = [
  { test: (v) => v.startsWith('Directory.'), reason: 'reaches the whole directory' },
  { test: (v) => v.startsWith('RoleManagement.'), reason: 'can read or change who holds directory roles' },
  { test: (v) => v.startsWith('AppRoleAssignment.'), reason: 'can grant any permission to any app, itself included' },
  { test: (v) => v === 'Application.ReadWrite.All', reason: 'can add credentials to any app and act as it' },
  { test: (v) => v === 'Sites.FullControl.All', reason: 'has full control of every SharePoint site' },
];

/** An application permission that only reads: User.Read.All, Sites.Read.All, Team.ReadBasic.All. */
const readOnly = (value: string) => /\.Read(Basic)?(\.|$)/.test(value) && !/Write|Send|Manage|FullControl/.test(value);

const typeName = (p: PermissionRef) => permissionKind(p.type);
const subjectOf = (p: PermissionRef) =>
  `${p.resourceAppId === MICROSOFT_GRAPH_APP_ID ? '' : `${p.resourceDisplayName}: `}${p.value} (${typeName(p)})`;

/**
 * `exchangeRbac`: the request scopes its mailbox permissions in Exchange, so a permission with an RBAC for
 * Applications role is declared but granted to no mailbox by Registrar: it reaches only the mailboxes an Exchange
 * administrator puts in its scope, never the whole organisation.
 */
export function classifyPermission(
  p: PermissionRef,
  exchangeRbac?: ExchangeRbacChoice,
): { level: RiskLevel; reason: string } {
  const role = exchangeRbac ? exchangeRoleFor(p) : undefined;
  if (exchangeRbac && role) {
    const where =
      exchangeRbac.mailboxes.length > 0
        ? `the ${exchangeRbac.mailboxes.length === 1 ? 'mailbox' : `${exchangeRbac.mailboxes.length} mailboxes`} named on the request (${exchangeRbac.mailboxes.slice(0, 3).join(', ')}${exchangeRbac.mailboxes.length > 3 ? ', …' : ''})`
        : 'the mailboxes an Exchange administrator puts in its scope';
    return {
      level: 'medium',
      reason:
        `Declared without tenant-wide consent: Registrar grants it to no mailbox. Through the "${role}" role of ` +
        `Exchange RBAC for Applications, it reaches only ${where}. A tenant-wide admin consent in the Entra admin center would undo that.`,
    };
  }
  if (p.resourceAppId === MICROSOFT_GRAPH_APP_ID) {
    const named = highGraphNames.find((rule) => rule.test(p.value));
    if (named) return { level: 'high', reason: `${p.value} ${named.reason}.` };
    if (p.type === 'Role' && p.value === 'Mail.Send') {
      return { level: 'high', reason: 'As an application, Mail.Send can send mail as any user in the organisation.' };
    }
    if (p.type === 'Role' && p.value === 'Sites.Selected') {
      return {
        level: 'medium',
        reason: 'An application permission limited to the sites an administrator grants it one by one.',
      };
    }
  }
  if (p.type === 'Role') {
    return readOnly(p.value)
      ? { level: 'medium', reason: 'An application permission that reads, for every user, with no one signed in.' }
      : {
          level: 'high',
          reason: 'An application permission that can change data for every user, with no one signed in.',
        };
  }
  return p.adminConsentRequired
    ? { level: 'medium', reason: 'A delegated permission that needs admin consent.' }
    : {
        level: 'low',
        reason: 'A delegated permission users may consent to themselves; the app acts only as the signed-in user.',
      };
}

/**
 * How risky the app's credential is, by what a thief would need. A client secret is a password that works from
 * anywhere until it expires; a certificate's private key too, though it never leaves its holder unless copied.
 * A federated credential holds nothing to copy: Entra ID exchanges only the named workload's own short-lived tokens
 * (https://learn.microsoft.com/entra/workload-id/workload-identity-federation). Microsoft ranks a certificate above a
 * secret (https://learn.microsoft.com/entra/identity-platform/how-to-add-credentials); with three levels, both are
 * medium and their reasons say the difference.
 * Undefined for a public client, which has no credential.
 */
export function classifyCredential(choice: CredentialChoice): RiskItem | undefined {
  switch (choice.kind) {
    case 'secret':
      return {
        kind: 'credential',
        subject: 'Credential: client secret',
        level: 'medium',
        reason:
          `A secret exists that can leak: whoever copies it, from a configuration file, a log or a chat, acts as the app from anywhere ` +
          `for up to ${choice.lifetimeDays === 1 ? '1 day' : `${choice.lifetimeDays} days`}. A federated credential would leave nothing to leak.`,
      };
    case 'certificate':
      return {
        kind: 'credential',
        subject: 'Credential: certificate',
        level: 'medium',
        reason:
          'Its private key stays with the requester, but whoever copies that key acts as the app from anywhere until the certificate expires. ' +
          'A federated credential would leave nothing to copy.',
      };
    case 'federated':
      return {
        kind: 'credential',
        subject: 'Credential: federated (no secret)',
        level: 'low',
        reason:
          `No secret exists to leak: only ${lowerFirst(workloadWords(choice.workload))} can get tokens as the app, ` +
          'each time by presenting a short-lived token of its own identity provider.',
      };
    case 'none':
      return undefined;
  }
}

/** "The workload ..." reads as "only the workload ..."; proper names (GitHub, Kubernetes) stay as they are. */
const lowerFirst = (text: string) => text.replace(/^The /, 'the ');

const order: Record<RiskLevel, number> = { low: 0, medium: 1, high: 2 };

export function highestRisk(levels: Iterable<RiskLevel>): RiskLevel {
  let highest: RiskLevel = 'low';
  for (const level of levels) if (order[level] > order[highest]) highest = level;
  return highest;
}

export function assessRisk(subject: RiskSubject): RiskAssessment {
  const items: RiskItem[] = subject.permissions.map((p) => ({
    kind: 'permission',
    subject: subjectOf(p),
    ...classifyPermission(p, subject.exchangeRbac),
  }));
  if (subject.directoryRole) {
    items.push({
      kind: 'directoryRole',
      subject: `Directory role: ${subject.directoryRole.displayName}`,
      level: 'high',
      reason: `The app could ${subject.directoryRole.summary}, across the tenant.`,
    });
  }
  const credential = subject.credential && classifyCredential(subject.credential);
  if (credential) items.push(credential);
  if (subject.signInAudience !== 'AzureADMyOrg') {
    items.push({
      kind: 'audience',
      subject:
        subject.signInAudience === 'AzureADMultipleOrgs'
          ? 'Any organisation can sign in'
          : 'Any organisation and personal Microsoft accounts can sign in',
      level: 'high',
      reason: 'A multi-tenant app can be consented to in other tenants, under this organisation as publisher.',
    });
  }
  return {
    level: highestRisk(items.map((item) => item.level)),
    items,
    notes: hardeningNotes(subject.permissions, {
      ...(subject.exchangeRbac ? { exchangeRbac: subject.exchangeRbac } : {}),
    }),
  };
}

/** What the notes' commands name; what is not known yet stays a <placeholder>. */
export interface HardeningTarget {
  appId?: string;
  /** The service principal's object id, once it exists. */
  servicePrincipalId?: string;
  displayName?: string;
  requestId?: string;
  /** The request scopes its mailbox permissions in Exchange (no tenant-wide grant). */
  exchangeRbac?: ExchangeRbacChoice;
}
const siteWide = new Set([
  'Sites.FullControl.All',
  'Sites.Manage.All',
  'Sites.ReadWrite.All',
  'Sites.Read.All',
  'Files.ReadWrite.All',
  'Files.Read.All',
]);

/**
 * Advice for the approver on narrowing what is granted. `target` (or an appId alone) fills the commands once the
 * app exists; until then they hold <appId> and the like.
 */
export function hardeningNotes(
  permissions: readonly PermissionRef[],
  target: string | HardeningTarget = {},
): HardeningNote[] {
  const ids: HardeningTarget = typeof target === 'string' ? { appId: target } : target;
  const appId = ids.appId ?? '<appId>';
  const graph = permissions.filter((p) => p.resourceAppId === MICROSOFT_GRAPH_APP_ID);
  const has = (value: string, type: PermissionRef['type']) => graph.some((p) => p.value === value && p.type === type);
  const notes: HardeningNote[] = [];

  const mailboxNote = exchangeNote(graph, ids);
  if (mailboxNote) notes.push(mailboxNote);

  const sites = graph.filter((p) => p.type === 'Role' && siteWide.has(p.value)).map((p) => p.value);
  if (sites.length > 0) {
    notes.push({
      subject: sites.join(', '),
      advice:
        `${sites.join(', ')} reach every SharePoint site and OneDrive. If the app needs only some sites, grant Sites.Selected ` +
        'instead and give it access to each site by name (read, write or fullcontrol):',
      commands: [
        `POST /v1.0/sites/<site-id>/permissions {"roles":["write"],"grantedToIdentities":[{"application":{"id":"${appId}","displayName":"<app name>"}}]}`,
      ],
    });
  }

  if (has('Directory.ReadWrite.All', 'Role')) {
    notes.push({
      subject: 'Directory.ReadWrite.All',
      advice:
        'Directory.ReadWrite.All can change almost any directory object. Ask for the narrower permission the app needs: ' +
        'User.ReadWrite.All for users, Group.ReadWrite.All or GroupMember.ReadWrite.All for groups, ' +
        'Application.ReadWrite.OwnedBy for the apps it manages itself.',
    });
  }

  if (has('Application.ReadWrite.All', 'Role')) {
    notes.push({
      subject: 'Application.ReadWrite.All',
      advice:
        'If the app manages only apps it creates, Application.ReadWrite.OwnedBy does the same for those apps and nothing else.',
    });
  }
  return notes;
}

/**
 * Mailbox permissions: RBAC for Applications in Exchange Online is the way to narrow them
 * (https://learn.microsoft.com/exchange/permissions-exo/application-rbac). It narrows nothing that Entra ID granted
 * tenant-wide, so the note says whether that grant is made, and how to undo it when it is.
 */
function exchangeNote(graph: readonly PermissionRef[], ids: HardeningTarget): HardeningNote | undefined {
  const mailbox = graph.filter(isMailboxPermission);
  if (mailbox.length === 0) return undefined;
  const names = (list: readonly PermissionRef[]) => list.map((p) => p.value).join(', ');
  const scopable = exchangeScopable(mailbox);
  const roleless = mailbox.filter((p) => !exchangeRoleFor(p));
  const sendsAsAnyone = mailbox.some((p) => p.value === 'Mail.Send');
  const target = {
    ...(ids.appId ? { appId: ids.appId } : {}),
    ...(ids.servicePrincipalId ? { servicePrincipalId: ids.servicePrincipalId } : {}),
    displayName: ids.displayName ?? '<app name>',
    requestId: ids.requestId ?? '<request id>',
    mailboxes: ids.exchangeRbac?.mailboxes ?? [],
  };
  const noRole =
    roleless.length > 0
      ? ` ${names(roleless)} ${roleless.length === 1 ? 'has' : 'have'} no RBAC for Applications role and ${roleless.length === 1 ? 'is' : 'are'} granted tenant-wide.`
      : '';
  const legacy =
    ' Application access policies (New-ApplicationAccessPolicy) are the legacy way: Microsoft replaced them with RBAC for Applications.';
  if (ids.exchangeRbac && scopable.length > 0) {
    return {
      subject: `${names(scopable)}: scoped in Exchange`,
      advice:
        `${names(scopable)} ${scopable.length === 1 ? 'is' : 'are'} declared on the app without tenant-wide consent: Registrar grants ${scopable.length === 1 ? 'it' : 'them'} to no mailbox, so the app reaches none until an Exchange administrator ` +
        '(Organization Management role group) runs these commands in Exchange Online PowerShell, and then only the mailboxes in the scope. ' +
        'Do not grant admin consent for this app in the Entra admin center: a tenant-wide grant reaches every mailbox whatever the scope.' +
        noRole +
        legacy,
      commands: exchangeRbacCommands(scopable, target),
    };
  }
  return {
    subject: names(mailbox),
    advice:
      `As application permissions, ${names(mailbox)} reach every mailbox in the organisation${sendsAsAnyone ? ', and Mail.Send can send as anyone' : ''}. ` +
      (scopable.length > 0
        ? 'To limit the app to named mailboxes, use RBAC for Applications in Exchange Online: ask for the permissions scoped in Exchange on the request ' +
          '(Registrar then makes no tenant-wide grant), or remove the tenant-wide grant (an Exchange role assignment does not narrow it) and run these commands in Exchange Online PowerShell.'
        : 'RBAC for Applications has no role for them.') +
      (scopable.length > 0 ? noRole : '') +
      legacy,
    ...(scopable.length > 0
      ? {
          commands: [
            ...removeTenantWideGrantCommands(scopable, ids.servicePrincipalId),
            ...exchangeRbacCommands(scopable, target),
          ],
        }
      : {}),
  };
}

/** What an existing app's service principal holds, as the rotation of its secret sees it. */
export interface StandingPrivileges {
  applicationPermissions: readonly PermissionRef[];
  directoryRoles: ReadonlyArray<{ roleDefinitionId: string; displayName?: string }>;
}

/**
 * The risk of handing someone a working secret of an existing app: whoever holds it acts as the app, with every
 * application permission and directory role its service principal holds. Rated item by item as a new request
 * would be; delegated permissions need a signed-in user and so add nothing here.
 */
export function assessStandingPrivileges(standing: StandingPrivileges): RiskAssessment {
  const items: RiskItem[] = standing.applicationPermissions.map((p) => ({
    kind: 'permission',
    subject: subjectOf(p),
    ...classifyPermission(p),
  }));
  for (const role of standing.directoryRoles) {
    items.push({
      kind: 'directoryRole',
      subject: `Directory role: ${role.displayName ?? role.roleDefinitionId}`,
      level: 'high',
      reason: 'Whoever holds a secret of this app acts with this directory role, across the tenant.',
    });
  }
  return { level: highestRisk(items.map((item) => item.level)), items, notes: [] };
}
