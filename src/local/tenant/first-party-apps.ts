/**
 * Microsoft first-party applications the local tenant knows, as Entra does: POST /servicePrincipals {appId} for one
 * of these appIds creates its service principal in the tenant, with the app's roles and scopes, though no
 * application object of the tenant backs it (https://learn.microsoft.com/graph/api/serviceprincipal-post-serviceprincipals;
 * "Create an enterprise application from a multitenant application",
 * https://learn.microsoft.com/entra/identity/enterprise-apps/create-service-principal-cross-tenant). The seed puts some of
 * them in the demo tenant from the start; the others are made on request.
 *
 * The ids of the roles and scopes are those the apps' service principals carry in tenants: Partner Center's
 * user_impersonation as "Partner Center authentication" names it
 * (https://learn.microsoft.com/partner-center/developer/partner-center-authentication); Exchange Online's
 * full_access_as_app, Exchange.ManageAsApp and the mail roles as "Authenticate an EWS application by using OAuth"
 * (https://learn.microsoft.com/exchange/client-developer/exchange-web-services/how-to-authenticate-an-ews-application-by-using-oauth)
 * and "App-only authentication in Exchange Online PowerShell"
 * (https://learn.microsoft.com/powershell/exchange/app-only-auth-powershell-v2) configure them; SharePoint's
 * Sites.FullControl.All as "SharePoint Embedded app-only access" uses it
 * (https://learn.microsoft.com/sharepoint/dev/embedded/development/auth); Dynamics CRM's user_impersonation as
 * "Register an app with Microsoft Entra ID" for Dataverse adds it
 * (https://learn.microsoft.com/power-apps/developer/data-platform/walkthrough-register-app-azure-active-directory).
 */
import type { Json } from './state';

/** The tenant Microsoft publishes its first-party applications from ("Microsoft Services"). */
export const MICROSOFT_SERVICES_TENANT_ID = 'f8cdef31-a31e-4b4a-93e4-5f571e91255a';

interface FirstPartyPermission {
  id: string;
  value: string;
  displayName: string;
  description: string;
}

export interface FirstPartyApp {
  appId: string;
  displayName: string;
  /** The object id the seed gives its service principal, so that tests and saved state agree across reseeds. */
  seedObjectId: string;
  servicePrincipalNames: string[];
  roles: FirstPartyPermission[];
  /** Delegated scopes; all need an administrator's consent (type Admin) unless said otherwise. */
  scopes: Array<FirstPartyPermission & { userConsent?: boolean }>;
}

export const PARTNER_CENTER_APP_ID = 'fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd';
export const EXCHANGE_ONLINE_APP_ID = '00000002-0000-0ff1-ce00-000000000000';
export const SHAREPOINT_ONLINE_APP_ID = '00000003-0000-0ff1-ce00-000000000000';
export const DYNAMICS_CRM_APP_ID = '00000007-0000-0000-c000-000000000000';

export const firstPartyApps: readonly FirstPartyApp[] = [
  {
    appId: PARTNER_CENTER_APP_ID,
    displayName: 'Microsoft Partner Center',
    seedObjectId: 'a1e5c0de-0000-4000-8000-000000000061',
    servicePrincipalNames: [PARTNER_CENTER_APP_ID, 'https://api.partnercenter.microsoft.com'],
    roles: [],
    scopes: [
      {
        id: '1cebfa2a-fb4d-419e-b5f9-839b4383e05a',
        value: 'user_impersonation',
        displayName: 'Access Partner Center',
        description: 'Allow the application to access Partner Center on behalf of the signed-in user.',
      },
    ],
  },
  {
    appId: EXCHANGE_ONLINE_APP_ID,
    displayName: 'Office 365 Exchange Online',
    seedObjectId: 'a1e5c0de-0000-4000-8000-000000000062',
    servicePrincipalNames: [EXCHANGE_ONLINE_APP_ID, 'https://outlook.office365.com', 'https://outlook.office.com'],
    roles: [
      {
        id: 'dc890d15-9560-4a4c-9b7f-a736ec74ec40',
        value: 'full_access_as_app',
        displayName: 'Use Exchange Web Services with full access to all mailboxes',
        description:
          'Allows the app to have full access via Exchange Web Services to all mailboxes without a signed-in user.',
      },
      {
        id: 'dc50a0fb-09a3-484d-be87-e023b12c6440',
        value: 'Exchange.ManageAsApp',
        displayName: 'Manage Exchange As Application',
        description:
          "Allows the app to manage the organization's Exchange environment without any user interaction. This includes mailboxes, groups, and other configuration objects. To enable management actions, an admin must assign the appropriate roles directly to the app.",
      },
      {
        id: 'b633e1c5-b582-4048-a93e-9f11b44c7e96',
        value: 'Mail.Send',
        displayName: 'Send mail as any user',
        description: 'Allows the app to send mail as any user without a signed-in user.',
      },
      {
        id: '810c84a8-4a9e-49e6-bf7d-12d183f40d01',
        value: 'Mail.Read',
        displayName: 'Read mail in all mailboxes',
        description: 'Allows the app to read mail in all mailboxes without a signed-in user.',
      },
      {
        id: '5e5addcd-3e8d-4e90-baf5-964efab2b20a',
        value: 'IMAP.AccessAsApp',
        displayName: 'IMAP.AccessAsApp',
        description: "Allow application to access user's mailbox via IMAP protocol",
      },
    ],
    scopes: [
      {
        id: '3b5f3d61-589b-4a3c-a359-5dd4b5ee5bd5',
        value: 'EWS.AccessAsUser.All',
        displayName: 'Access mailboxes as the signed-in user via Exchange Web Services',
        description:
          'Allows the app to have the same access to mailboxes as the signed-in user via Exchange Web Services.',
      },
      {
        id: 'ab4f2b77-0b06-4fc1-a9de-02113fc2ab7c',
        value: 'Exchange.Manage',
        displayName: 'Manage Exchange configuration',
        description:
          "Allows the app to manage the organization's Exchange environment, such as mailboxes, groups, and other configuration objects. To enable management actions, an admin must assign the appropriate roles to the app user.",
      },
    ],
  },
  {
    appId: SHAREPOINT_ONLINE_APP_ID,
    displayName: 'Office 365 SharePoint Online',
    seedObjectId: 'a1e5c0de-0000-4000-8000-000000000063',
    servicePrincipalNames: [SHAREPOINT_ONLINE_APP_ID, 'https://microsoft.sharepoint-df.com'],
    roles: [
      {
        id: '678536fe-1083-478a-9c59-b99265e6b0d3',
        value: 'Sites.FullControl.All',
        displayName: 'Have full control of all site collections',
        description: 'Allows the app to have full control of all site collections without a signed in user.',
      },
    ],
    scopes: [
      {
        id: '56680e0d-d2a3-4ae1-80d8-3c4f2100e3d0',
        value: 'AllSites.FullControl',
        displayName: 'Have full control of all site collections',
        description: 'Allows the app to have full control of all site collections on behalf of the signed-in user.',
      },
    ],
  },
  {
    appId: DYNAMICS_CRM_APP_ID,
    displayName: 'Dynamics CRM',
    seedObjectId: 'a1e5c0de-0000-4000-8000-000000000064',
    servicePrincipalNames: [DYNAMICS_CRM_APP_ID],
    roles: [],
    scopes: [
      {
        id: '78ce3f0f-a1ce-49c2-8cde-64b5c0896db4',
        value: 'user_impersonation',
        displayName: 'Access Common Data Service as organization users',
        description: 'Allows the application to access Common Data Service acting as users in the organization.',
        userConsent: true,
      },
    ],
  },
];

export function firstPartyApp(appId: string): FirstPartyApp | undefined {
  const wanted = appId.toLowerCase();
  return firstPartyApps.find((app) => app.appId === wanted);
}

/** The properties of a first-party app's service principal that come from the app: names, roles and scopes. */
export function firstPartyServicePrincipalProperties(app: FirstPartyApp): Json {
  return {
    appDisplayName: app.displayName,
    appId: app.appId,
    appOwnerOrganizationId: MICROSOFT_SERVICES_TENANT_ID,
    displayName: app.displayName,
    servicePrincipalNames: [...app.servicePrincipalNames],
    servicePrincipalType: 'Application',
    signInAudience: 'AzureADMultipleOrgs',
    appRoles: app.roles.map((r) => ({
      allowedMemberTypes: ['Application'],
      description: r.description,
      displayName: r.displayName,
      id: r.id,
      isEnabled: true,
      origin: 'Application',
      value: r.value,
    })),
    oauth2PermissionScopes: app.scopes.map((s) => ({
      adminConsentDescription: s.description,
      adminConsentDisplayName: s.displayName,
      id: s.id,
      isEnabled: true,
      type: s.userConsent ? 'User' : 'Admin',
      userConsentDescription: s.description,
      userConsentDisplayName: s.displayName,
      value: s.value,
    })),
  };
}
