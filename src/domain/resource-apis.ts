/**
 * Resource APIs the request form knows by name, besides Microsoft Graph: Microsoft first-party APIs that the runbooks
 * ask for. Each is named as its service principal is in a tenant (displayName), with the appId Microsoft publishes
 * it under; the same appId in every cloud. Sources: Microsoft Partner Center, "Partner Center authentication"
 * (https://learn.microsoft.com/partner-center/developer/partner-center-authentication); Office 365 Exchange Online
 * and SharePoint Online, "Verify first-party Microsoft applications in sign-in reports"
 * (https://learn.microsoft.com/troubleshoot/entra/entra-id/governance/verify-first-party-apps-sign-in); Dynamics CRM,
 * "Register an app with Microsoft Entra ID" for Dataverse
 * (https://learn.microsoft.com/power-apps/developer/data-platform/walkthrough-register-app-azure-active-directory).
 *
 * A first-party API's service principal is not in every tenant (Partner Center's often is not): Graph creates it
 * from the appId alone (POST /servicePrincipals {appId},
 * https://learn.microsoft.com/graph/api/serviceprincipal-post-serviceprincipals), which Registrar does as part of a
 * request for one of these APIs. For another appId Registrar cannot tell, without a write, whether Graph could.
 */
import { permissionKind, type CatalogPermission, type PermissionRef, type PermissionType } from './app-spec';

export interface ResourceApi {
  appId: string;
  /** The service principal's displayName in a tenant. */
  name: string;
  /** Other names people use for it, matched case-insensitively like the name. */
  aliases: readonly string[];
}

export const knownResourceApis: readonly ResourceApi[] = [
  {
    appId: 'fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd',
    name: 'Microsoft Partner Center',
    aliases: ['Partner Center', 'PartnerCenter'],
  },
  {
    appId: '00000002-0000-0ff1-ce00-000000000000',
    name: 'Office 365 Exchange Online',
    aliases: ['Exchange Online', 'Exchange'],
  },
  {
    appId: '00000003-0000-0ff1-ce00-000000000000',
    name: 'Office 365 SharePoint Online',
    aliases: ['SharePoint Online', 'SharePoint'],
  },
  {
    appId: '00000007-0000-0000-c000-000000000000',
    name: 'Dynamics CRM',
    aliases: ['Dynamics 365', 'Dataverse', 'Common Data Service'],
  },
];

/**
 * Azure AD Graph, retired on 31 August 2025: its API no longer answers, so a permission on it would grant nothing
 * (https://learn.microsoft.com/graph/migrate-azure-ad-graph-overview).
 */
export const AZURE_AD_GRAPH = {
  appId: '00000002-0000-0000-c000-000000000000',
  name: 'Windows Azure Active Directory',
  aliases: ['Azure Active Directory Graph', 'Azure AD Graph', 'AAD Graph', 'graph.windows.net'],
} as const satisfies ResourceApi;

const normalise = (text: string) => text.trim().replace(/\s+/g, ' ').toLowerCase();
const namesOf = (api: ResourceApi) => [api.name, ...api.aliases].map(normalise);

/** A known API by its name or one of its aliases (case and spacing ignored), or by its appId. */
export function findResourceApi(nameOrAppId: string): ResourceApi | undefined {
  const wanted = normalise(nameOrAppId);
  return knownResourceApis.find((api) => api.appId === wanted || namesOf(api).includes(wanted));
}

export function isAzureAdGraph(nameOrAppId: string): boolean {
  const wanted = normalise(nameOrAppId);
  return wanted === AZURE_AD_GRAPH.appId || namesOf(AZURE_AD_GRAPH).includes(wanted);
}

/**
 * The Microsoft Graph permission that replaces an Azure AD Graph one, after "Permissions differences between Azure
 * AD Graph and Microsoft Graph" (https://learn.microsoft.com/graph/migrate-azure-ad-graph-permissions-differences):
 * the same name, except where Microsoft Graph has a narrower one for the same need (reading one's own profile).
 */
const azureAdGraphReplacements: Record<string, { Role?: string; Scope?: string }> = {
  'directory.read.all': { Role: 'Directory.Read.All', Scope: 'Directory.Read.All' },
  'directory.readwrite.all': { Role: 'Directory.ReadWrite.All', Scope: 'Directory.ReadWrite.All' },
  'directory.accessasuser.all': { Scope: 'Directory.AccessAsUser.All' },
  'user.read': { Scope: 'User.Read' },
  'user.read.all': { Scope: 'User.Read.All' },
  'user.readbasic.all': { Scope: 'User.ReadBasic.All' },
  'group.read.all': { Scope: 'Group.Read.All' },
  'group.readwrite.all': { Scope: 'Group.ReadWrite.All' },
  'application.read.all': { Role: 'Application.Read.All' },
  'application.readwrite.all': { Role: 'Application.ReadWrite.All' },
  'application.readwrite.ownedby': { Role: 'Application.ReadWrite.OwnedBy' },
  'device.readwrite.all': { Role: 'Device.ReadWrite.All' },
  'domain.readwrite.all': { Role: 'Domain.ReadWrite.All' },
  'member.read.hidden': { Role: 'Member.Read.Hidden', Scope: 'Member.Read.Hidden' },
  'policy.read.all': { Role: 'Policy.Read.All', Scope: 'Policy.Read.All' },
};

/** The sentence the form shows for an Azure AD Graph permission: what to ask for on Microsoft Graph instead. */
export function azureAdGraphRefusal(value: string, type: PermissionType): string {
  const typeWord = permissionKind(type);
  const replacement = azureAdGraphReplacements[value.toLowerCase()]?.[type];
  const instead = replacement
    ? `Ask for the Microsoft Graph ${typeWord} permission ${replacement} instead (choose it in the list, or write "Microsoft Graph ${replacement} ${typeWord}" here).`
    : `Ask for the Microsoft Graph permission that does the same; https://learn.microsoft.com/graph/migrate-azure-ad-graph-permissions-differences maps each one.`;
  return `Azure AD Graph (${AZURE_AD_GRAPH.appId}) was retired on 31 August 2025 and grants nothing any more, so Registrar does not ask for ${value}. ${instead}`;
}

/** For a message: the names the form accepts. */
export function knownResourceApiNames(): string {
  return knownResourceApis.map((api) => `"${api.name}"`).join(', ');
}

/** A permission of a resource's catalog by name and type (case-insensitive), as a PermissionRef on that resource. */
export function resolvePermissionIn(
  catalog: { resourceAppId: string; resourceDisplayName: string; permissions: readonly CatalogPermission[] },
  value: string,
  type: PermissionType,
): PermissionRef | undefined {
  const found = catalog.permissions.find((p) => p.type === type && p.value.toLowerCase() === value.toLowerCase());
  return found && { ...found, resourceAppId: catalog.resourceAppId, resourceDisplayName: catalog.resourceDisplayName };
}

/**
 * The permissions a form names on one resource, resolved against its catalog: those it declares as PermissionRefs,
 * and the others as "value (kind) on API" for a message.
 */
export function resolvePermissionsIn(
  catalog: { resourceAppId: string; resourceDisplayName: string; permissions: readonly CatalogPermission[] },
  wanted: readonly { value: string; type: PermissionType }[],
): { found: PermissionRef[]; unknown: string[] } {
  const found: PermissionRef[] = [];
  const unknown: string[] = [];
  for (const w of wanted) {
    const permission = resolvePermissionIn(catalog, w.value, w.type);
    if (permission) found.push(permission);
    else unknown.push(`${w.value} (${permissionKind(w.type)}) on ${catalog.resourceDisplayName}`);
  }
  return { found, unknown };
}
