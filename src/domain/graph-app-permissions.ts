/**
 * The Microsoft Graph application permissions Registrar's own identity needs, in one place: `npm run
 * setup:permissions` grants them (src/setup/grant-permissions.ts), the local tenant seeds Registrar with them
 * (src/local/tenant/seed.ts), and infra/README.md lists them (test/unit/domain/graph-app-permissions.test.ts
 * checks that it lists these and no others). Each entry says which Graph calls need it and why nothing smaller
 * does; the ids are the app role ids on Microsoft Graph's service principal, the same in every tenant and cloud
 * (https://learn.microsoft.com/graph/permissions-reference lists each with its id).
 */

export interface GraphAppPermission {
  /** The app role's value, as in a token's `roles` claim. */
  value: string;
  /** The app role id on Microsoft Graph's service principal. */
  id: string;
  /** Granted only when asked for (`npm run setup:permissions -- --directory-roles`). */
  optional: boolean;
  /** The Graph calls Registrar makes that need it, and for which feature. */
  neededBy: readonly string[];
  /** Why no smaller permission (or none at all) does. */
  why: string;
  /** Microsoft's page whose permissions table says so. */
  reference: string;
}

export const graphAppPermissions = [
  {
    value: 'Application.ReadWrite.All',
    id: '1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9',
    optional: false,
    neededBy: [
      "PATCH and GET /applications(uniqueName='…'): create or update the requested app registration (provisioning)",
      'POST /applications/{id}/owners/$ref and /servicePrincipals/{id}/owners/$ref: add the requester and the extra owners (provisioning)',
      "PATCH /servicePrincipals(appId='…'): create the app's service principal (provisioning)",
      'POST /applications/{id}/addPassword and removePassword, GET and PATCH /applications/{id} keyCredentials: secrets and certificates, of new apps and of apps Registrar did not create (provisioning, rotation)',
      'GET /applications with their credentials and owners, GET /applications/{id}/owners: the expiry scan, reminders and rotation',
      "GET /servicePrincipals(appId='…'): the permission catalog of an API (request form, consent), and the read permission appRoleAssignedTo needs",
    ],
    why:
      'Application.ReadWrite.OwnedBy reaches only the apps Registrar owns, and Microsoft\'s Add owner page says it "isn\'t sufficient to add another owner": ' +
      'Registrar adds the requester and the extra owners to every app it creates, and rotates secrets of apps it does not own when their owners ask from the expiry digest. ' +
      'It also covers Application.Read.All, which the catalog, the expiry scan and appRoleAssignedTo need, so that one is not granted separately.',
    reference: 'https://learn.microsoft.com/graph/api/application-post-owners',
  },
  {
    value: 'Directory.Read.All',
    id: '7ab1d382-f21e-4acd-a863-ba3e13f7da61',
    optional: false,
    neededBy: [
      'POST /applications/{id}/owners/$ref and /servicePrincipals/{id}/owners/$ref: resolving the new owner (provisioning)',
      'POST /directoryObjects/{id}/checkMemberGroups: who may ask for apps, approve and operate (REQUESTER_GROUP_ID, APPROVER_GROUP_ID, ADMIN_GROUP_ID)',
      'GET /roleManagement/directory/roleAssignments: looking for a directory role assignment before making one (provisioning)',
      "GET /beta/reports/appCredentialSignInActivities: when a rotation's old credential last signed in (the cleanup card)",
    ],
    why:
      "Adding an owner needs it besides Application.ReadWrite.All (Microsoft's Add owner page lists the two together). checkMemberGroups on a directory object " +
      'needs either User.Read.All and GroupMember.Read.All, or Directory.Read.All alone; as owners need Directory.Read.All anyway, it replaces those two. ' +
      'It also reads the credential sign-in report, whose page accepts AuditLog.Read.All or Directory.Read.All ' +
      '(https://learn.microsoft.com/graph/api/reportroot-list-appcredentialsigninactivities?view=graph-rest-beta), so AuditLog.Read.All, which would add every audit and sign-in log, is not granted.',
    reference: 'https://learn.microsoft.com/graph/api/directoryobject-checkmembergroups',
  },
  {
    value: 'AppRoleAssignment.ReadWrite.All',
    id: '06b708a9-e830-4db3-a914-8e69da51d44f',
    optional: false,
    neededBy: [
      'POST /servicePrincipals/{resource id}/appRoleAssignedTo and GET /servicePrincipals/{id}/appRoleAssignments: admin consent to the application permissions a request asks for (provisioning)',
    ],
    why:
      'It is the only application permission that creates app role assignments (Microsoft lists it, with Application.Read.All, as the least privileged). ' +
      "It can grant any application permission to any service principal, Registrar's own included: that is why every grant goes through approvers.",
    reference: 'https://learn.microsoft.com/graph/api/serviceprincipal-post-approleassignedto',
  },
  {
    value: 'DelegatedPermissionGrant.ReadWrite.All',
    id: '8e8e4742-1d95-4f68-9d56-6ee75648c72a',
    optional: false,
    neededBy: [
      'GET /oauth2PermissionGrants?$filter=…, POST /oauth2PermissionGrants and PATCH /oauth2PermissionGrants/{id}: admin consent to the delegated permissions a request asks for (provisioning)',
    ],
    why: 'It is the least privileged permission that creates and updates delegated permission grants; the only other one is write access to the whole directory.',
    reference: 'https://learn.microsoft.com/graph/api/oauth2permissiongrant-post',
  },
  {
    value: 'Policy.Read.All',
    id: '246dd0d5-5bd0-4def-940b-0421030a5b68',
    optional: false,
    neededBy: [
      'GET /policies/defaultAppManagementPolicy and GET /applications/{id}/appManagementPolicies: the app management policies that decide which credentials and lifetimes the request form, the rotation card and provisioning offer',
    ],
    why:
      'It is the least privileged application permission that reads app management policies (Policy.ReadWrite.ApplicationConfiguration would also write them). ' +
      'Without it, the form says the policy could not be read and Entra ID refuses a credential the policy forbids only when it is added.',
    reference: 'https://learn.microsoft.com/graph/api/tenantappmanagementpolicy-get',
  },
  {
    value: 'RoleManagement.ReadWrite.Directory',
    id: '9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8',
    optional: true,
    neededBy: [
      'POST /roleManagement/directory/roleAssignments: requests that ask for a directory role for the new app (provisioning)',
    ],
    why:
      'It is the only application permission that assigns directory roles, and it is tenant administrator power: it can make any principal, Registrar included, a Global Administrator. ' +
      'So it is granted only on request (--directory-roles). Without it, a request that asks for a directory role fails at the directory role step with a message naming ' +
      'this permission, and an approver can Retry it once an administrator has granted it.',
    reference: 'https://learn.microsoft.com/graph/api/rbacapplication-post-roleassignments',
  },
] as const satisfies readonly GraphAppPermission[];

export type GraphAppPermissionName = (typeof graphAppPermissions)[number]['value'];

/**
 * Graph permissions an earlier Registrar (or a guide) granted that the list above makes unnecessary, with why:
 * `npm run setup:permissions` names them when the identity holds them (and removes nothing), and infra/README.md
 * may mention these besides the list.
 */
export const supersededGraphPermissions: ReadonlyArray<{ value: string; reason: string }> = [
  {
    value: 'Application.ReadWrite.OwnedBy',
    reason: 'Application.ReadWrite.All covers it, and OwnedBy alone cannot add owners',
  },
  { value: 'Application.Read.All', reason: 'Application.ReadWrite.All covers it' },
  { value: 'User.Read.All', reason: 'Directory.Read.All covers the group membership checks' },
  { value: 'GroupMember.Read.All', reason: 'Directory.Read.All covers the group membership checks' },
  { value: 'AuditLog.Read.All', reason: 'Directory.Read.All covers the credential sign-in report' },
];

/** The permissions to grant: the required ones, and the optional ones when asked for. */
export function graphPermissionsToGrant(options: { directoryRoles: boolean }): GraphAppPermission[] {
  return graphAppPermissions.filter((p) => !p.optional || options.directoryRoles);
}
