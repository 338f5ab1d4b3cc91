/**
 * The demo tenant of local mode: Contoso, with the Agents Playground's people as users, the approvers and admins
 * groups, Microsoft Graph's service principal with the real permission catalog (graph-permissions.json: all 1,132
 * delegated scopes and application roles of the global cloud's Microsoft Graph service principal, with their real ids,
 * from microsoftgraph/microsoft-graph-devx-content permissions/permissions-descriptions.json at commit 6cbd6bb,
 * 2026-08-07), Registrar's own app registration
 * (with a local-only secret and the application permissions it needs), and a few app registrations whose
 * credentials expire soon or have expired, so that reminders have something to say on the first start.
 */
import { createHash } from 'node:crypto';
import { graphAppPermissions, type GraphAppPermissionName } from '../../domain/graph-app-permissions';
import { alex, demoBot, demoDomain, demoTeam, demoTenantId, demoUsers, type DemoUser } from '../demo-identities';
import permissions from './graph-permissions.json';
import { firstPartyApps, firstPartyServicePrincipalProperties } from './first-party-apps';
import { GRAPH_APP_ID } from './identity';
import { applicationDefaults } from './routes/application-schema';
import { demoB2cTenant } from './seed-b2c';
import { selfSignedCertificate } from './self-signed';
import { recordCredentialSignIn } from './sign-in-activity';
import {
  type ApplicationRecord,
  type DirectoryRecord,
  emptyTenant,
  graphTimestamp,
  type GroupRecord,
  type Json,
  newObjectId,
  newOpaqueId,
  type ServicePrincipalRecord,
  type TenantData,
  TenantState,
} from './state';

export const DEMO_DOMAIN = demoDomain;

/**
 * Registrar's client secret in the demo tenant. LOCAL ONLY: it is published here, works only against the local
 * tenant, and is printed by `npm run tenant` and GET /_emulator/info so that local mode needs no setup.
 */
export const DEMO_REGISTRAR_SECRET = 'Reg8Q~LOCAL-ONLY.demo-tenant.not-a-secret';

/** Fixed object ids, so that tests, the Playground and saved state agree across reseeds. */
export const demoIds = {
  graphServicePrincipal: 'a1e5c0de-0000-4000-8000-000000000050',
  registrarApplication: 'a1e5c0de-0000-4000-8000-000000000041',
  registrarServicePrincipal: 'a1e5c0de-0000-4000-8000-000000000042',
  teamGroup: demoTeam.aadGroupId,
  approversGroup: 'a1e5c0de-0000-4000-8000-000000000032',
  adminsGroup: 'a1e5c0de-0000-4000-8000-000000000033',
  /** Nested in the approvers group. */
  securityReviewersGroup: 'a1e5c0de-0000-4000-8000-000000000034',
} as const;

/**
 * Registrar's application permissions on Microsoft Graph: all of src/domain/graph-app-permissions.ts, the list
 * `npm run setup:permissions` grants, including the optional RoleManagement.ReadWrite.Directory, so that local mode
 * and the tests can assign directory roles. One list, so the emulator and the bootstrap cannot drift.
 */
export const REGISTRAR_ROLES: readonly GraphAppPermissionName[] = graphAppPermissions.map((p) => p.value);

/** The existing app registrations of the demo tenant and when their credentials expire, in days from the seed time. */
export const demoApplications = [
  { name: 'Contoso HR Portal', index: 1, owner: demoUsers[0]!, secretDays: 60 },
  { name: 'Payroll Sync', index: 2, owner: demoUsers[1]!, certificateDays: 30 },
  { name: 'Expense Bot', index: 3, owner: alex, secretDays: 7 },
  { name: 'Legacy CRM Connector', index: 4, owner: demoUsers[2]!, secretDays: 1, certificateDays: 1 },
  { name: 'Old Reporting Job', index: 5, owner: demoUsers[3]!, secretDays: -3, certificateDays: -10 },
] as const;

/**
 * An enterprise application of the demo tenant signed in to with SAML, whose token-signing certificate expires in 7
 * days: a credential of the service principal itself, which Entra's recommendations track (servicePrincipalKeyExpiry)
 * and the expiry scan reads beside the app registrations'.
 */
export const demoSamlApplication = {
  name: 'Contoso Travel (SAML)',
  servicePrincipalId: 'a1e5c0de-0000-4000-8000-000000000060',
  appId: 'a1e5c0de-0000-4000-9000-000000000060',
  owner: demoUsers[1]!,
  certificateDays: 7,
} as const;

const DAY = 86_400_000;

interface Permission {
  value: string;
  id: string;
  type: 'Role' | 'Scope';
  adminConsentRequired: boolean;
  /** Absent for a few entries of the source catalog; served as null rather than made up. */
  description?: string | null;
  displayName?: string | null;
}

const catalog = permissions as Permission[];

export interface DemoTenantOptions {
  /**
   * appIds of Microsoft first-party APIs (first-party-apps.ts) whose service principal the tenant has not got yet, as
   * in a tenant that never used them (Partner Center's is often missing): POST /servicePrincipals {appId} makes it.
   */
  withoutServicePrincipals?: readonly string[];
}

export function demoTenant(
  now: Date = new Date(),
  options: DemoTenantOptions = {},
): {
  data: TenantData;
  registrar: { clientId: string; clientSecret: string };
} {
  const data = emptyTenant(demoTenantId, DEMO_DOMAIN);
  const created = graphTimestamp(new Date(now.getTime() - 90 * DAY));
  const record = <T extends Json>(json: T): DirectoryRecord => ({
    data: json,
    visibleFrom: 0,
    sequence: (data.sequence += 1),
  });

  for (const person of [alex, ...demoUsers]) data.users[person.aadObjectId] = record(user(person));

  const group = (id: string, displayName: string, members: string[], extra: Json = {}): void => {
    const nickname = displayName.replace(/[^A-Za-z0-9]/g, '').toLowerCase();
    const json = {
      id,
      displayName,
      description: null,
      mailNickname: nickname,
      mail: null,
      mailEnabled: false,
      securityEnabled: true,
      groupTypes: [],
      createdDateTime: created,
      deletedDateTime: null,
      ...extra,
    };
    data.groups[id] = { ...record(json), members } satisfies GroupRecord;
  };
  group(
    demoIds.teamGroup,
    demoTeam.name,
    [alex, ...demoUsers].map((p) => p.aadObjectId),
    {
      groupTypes: ['Unified'],
      mailEnabled: true,
      securityEnabled: false,
      mail: `itoperations@${DEMO_DOMAIN}`,
    },
  );
  group(demoIds.securityReviewersGroup, 'Registrar security reviewers', [demoUsers[2]!.aadObjectId]);
  group(demoIds.approversGroup, 'Registrar approvers', [
    demoUsers[0]!.aadObjectId,
    demoUsers[1]!.aadObjectId,
    demoIds.securityReviewersGroup,
  ]);
  group(demoIds.adminsGroup, 'Registrar admins', [alex.aadObjectId]);

  const graphSp = graphServicePrincipal(demoIds.graphServicePrincipal, created);
  data.servicePrincipals[demoIds.graphServicePrincipal] = { ...record(graphSp), owners: [] };

  // The other resource APIs the runbooks ask for, as a tenant that uses Microsoft 365 has them.
  const absent = new Set((options.withoutServicePrincipals ?? []).map((appId) => appId.toLowerCase()));
  for (const app of firstPartyApps.filter((a) => !absent.has(a.appId))) {
    const json = servicePrincipal(app.seedObjectId, app.appId, app.displayName, created, {
      ...firstPartyServicePrincipalProperties(app),
    });
    data.servicePrincipals[app.seedObjectId] = { ...record(json), owners: [] };
  }

  // Registrar itself.
  seedRegistrarIdentity(data, record, {
    applicationId: demoIds.registrarApplication,
    appId: demoBot.id,
    servicePrincipalId: demoIds.registrarServicePrincipal,
    graphServicePrincipalId: demoIds.graphServicePrincipal,
    displayName: 'Registrar',
    notes: 'Local mode: the identity Registrar uses to call the local tenant. Its secret is public and local-only.',
    secret: DEMO_REGISTRAR_SECRET,
    secretKeyId: 'a1e5c0de-0000-4000-8000-0000000000f1',
    owner: alex.aadObjectId,
    tenantId: demoTenantId,
    domain: DEMO_DOMAIN,
    created,
    now,
  });

  for (const app of demoApplications) addDemoApplication(data, app, now, created, record);
  addDemoSamlApplication(data, now, created, record);
  addDemoFederatedCredential(data);
  addDemoSignIns(data, now);
  addDemoAppManagementPolicies(data);
  // The demo B2C directory, a tenant of its own served beside this one (seed-b2c.ts).
  data.directories = [demoB2cTenant(now).data];

  return { data, registrar: { clientId: demoBot.id, clientSecret: DEMO_REGISTRAR_SECRET } };
}

/** Registrar's identity in one directory of the local tenant, as `seedRegistrarIdentity` writes it. */
export interface RegistrarIdentitySeed {
  applicationId: string;
  appId: string;
  servicePrincipalId: string;
  graphServicePrincipalId: string;
  displayName: string;
  notes: string;
  /** Public and local-only: the local tenant keeps its hash, as Graph keeps none of it readable. */
  secret: string;
  secretKeyId: string;
  owner: string;
  tenantId: string;
  domain: string;
  created: string;
  now: Date;
}

/**
 * Registrar's own app registration in a directory: the application with one secret of two years, its service
 * principal, and the Microsoft Graph application permissions it needs granted there (REGISTRAR_ROLES).
 */
export function seedRegistrarIdentity(
  data: TenantData,
  record: (json: Json) => DirectoryRecord,
  identity: RegistrarIdentitySeed,
): void {
  const { created, now } = identity;
  const app = application(
    identity.applicationId,
    identity.appId,
    identity.displayName,
    created,
    {
      notes: identity.notes,
      requiredResourceAccess: [
        {
          resourceAppId: GRAPH_APP_ID,
          resourceAccess: REGISTRAR_ROLES.map((value) => ({ id: roleId(value), type: 'Role' })),
        },
      ],
      passwordCredentials: [
        passwordCredential(
          identity.secretKeyId,
          'local-only demo secret',
          identity.secret.slice(0, 3),
          created,
          graphTimestamp(new Date(now.getTime() + 730 * DAY)),
        ),
      ],
    },
    identity.domain,
  );
  data.applications[identity.applicationId] = {
    ...record(app),
    owners: [identity.owner],
    secretHashes: { [identity.secretKeyId]: createHash('sha256').update(identity.secret, 'utf8').digest('hex') },
    certificates: {},
    credentialsUsableFrom: {},
  } satisfies ApplicationRecord;
  data.servicePrincipals[identity.servicePrincipalId] = {
    ...record(
      servicePrincipal(identity.servicePrincipalId, identity.appId, identity.displayName, created, {
        appOwnerOrganizationId: identity.tenantId,
      }),
    ),
    owners: [identity.owner],
  } satisfies ServicePrincipalRecord;
  for (const value of REGISTRAR_ROLES) {
    const id = newOpaqueId();
    data.appRoleAssignments[id] = record({
      id,
      appRoleId: roleId(value),
      createdDateTime: created,
      deletedDateTime: null,
      principalDisplayName: identity.displayName,
      principalId: identity.servicePrincipalId,
      principalType: 'ServicePrincipal',
      resourceDisplayName: 'Microsoft Graph',
      resourceId: identity.graphServicePrincipalId,
    });
  }
}

/**
 * Microsoft Graph's service principal as a tenant holds it, with the whole catalog (graph-permissions.json): its
 * app id and permission ids are the same in every tenant of the cloud, a B2C tenant included.
 */
export function graphServicePrincipal(id: string, created: string): Json {
  return servicePrincipal(id, GRAPH_APP_ID, 'Microsoft Graph', created, {
    appOwnerOrganizationId: 'f8cdef31-a31e-4b4a-93e4-5f571e91255a',
    servicePrincipalNames: [
      GRAPH_APP_ID,
      'https://graph.microsoft.com',
      'https://graph.microsoft.com/',
      'https://canary.graph.microsoft.com',
      'https://ags.windows.net',
    ],
    signInAudience: 'AzureADMultipleOrgs',
    appRoles: catalog
      .filter((p) => p.type === 'Role')
      .map((p) => ({
        allowedMemberTypes: ['Application'],
        description: p.description ?? null,
        displayName: p.displayName ?? null,
        id: p.id,
        isEnabled: true,
        origin: 'Application',
        value: p.value,
      })),
    oauth2PermissionScopes: catalog
      .filter((p) => p.type === 'Scope')
      .map((p) => ({
        adminConsentDescription: p.description ?? null,
        adminConsentDisplayName: p.displayName ?? null,
        id: p.id,
        isEnabled: true,
        type: p.adminConsentRequired ? 'Admin' : 'User',
        userConsentDescription: p.description ?? null,
        userConsentDisplayName: p.displayName ?? null,
        value: p.value,
      })),
  });
}

/** Object ids of a demo application, its appId and its service principal. */
export function demoApplicationIds(index: number): { id: string; appId: string; servicePrincipalId: string } {
  const n = String(index).padStart(2, '0');
  return {
    id: `a1e5c0de-0000-4000-8000-0000000001${n}`,
    appId: `a1e5c0de-0000-4000-9000-0000000002${n}`,
    servicePrincipalId: `a1e5c0de-0000-4000-8000-0000000003${n}`,
  };
}

function addDemoApplication(
  data: TenantData,
  app: (typeof demoApplications)[number],
  now: Date,
  created: string,
  record: (json: Json) => DirectoryRecord,
): void {
  const ids = demoApplicationIds(app.index);
  const passwordCredentials: Json[] = [];
  const keyCredentials: Json[] = [];
  const secretHashes: Record<string, string> = {};
  const certificates: Record<string, string> = {};
  if ('secretDays' in app) {
    const keyId = newObjectId();
    const end = new Date(now.getTime() + app.secretDays * DAY);
    const start = new Date(end.getTime() - 365 * DAY);
    // Nobody knows these secrets: the seed keeps only a hash of random bytes, as Entra keeps no secret.
    const secret = `${app.name.slice(0, 2)}${app.index}8Q~${newObjectId()}`;
    passwordCredentials.push(
      passwordCredential(keyId, `${app.name} secret`, secret.slice(0, 3), graphTimestamp(start), graphTimestamp(end)),
    );
    secretHashes[keyId] = createHash('sha256').update(secret, 'utf8').digest('hex');
  }
  if ('certificateDays' in app) {
    const keyId = newObjectId();
    const end = new Date(now.getTime() + app.certificateDays * DAY);
    const cert = selfSignedCertificate(app.name, new Date(end.getTime() - 365 * DAY), end, 'ec');
    keyCredentials.push({
      customKeyIdentifier: cert.thumbprint,
      displayName: `CN=${app.name}`,
      endDateTime: graphTimestamp(cert.notAfter),
      key: null,
      keyId,
      startDateTime: graphTimestamp(cert.notBefore),
      type: 'AsymmetricX509Cert',
      usage: 'Verify',
    });
    certificates[keyId] = cert.der;
  }
  const json = application(ids.id, ids.appId, app.name, created, {
    notes: `Demo app registration owned by ${app.owner.name}.`,
    passwordCredentials,
    keyCredentials,
    requiredResourceAccess: [
      { resourceAppId: GRAPH_APP_ID, resourceAccess: [{ id: 'e1fe6dd8-ba31-4d61-89e7-88639da4683d', type: 'Scope' }] },
    ],
  });
  // Registrar does not own the demo apps: it rotates them for their owners with Application.ReadWrite.All.
  data.applications[ids.id] = {
    ...record(json),
    owners: [app.owner.aadObjectId],
    secretHashes,
    certificates,
    credentialsUsableFrom: {},
  };
  data.servicePrincipals[ids.servicePrincipalId] = {
    ...record(
      servicePrincipal(ids.servicePrincipalId, ids.appId, app.name, created, { appOwnerOrganizationId: data.tenantId }),
    ),
    owners: [app.owner.aadObjectId],
  };
}

/**
 * The secretless demo app: Payroll Sync also trusts a GitHub Actions workflow of contoso/payments in its production
 * environment (https://learn.microsoft.com/entra/workload-id/workload-identity-federation-create-trust), so the
 * demo shows a federated identity credential beside secrets and certificates.
 */
export const demoFederatedCredential = {
  applicationIndex: 2,
  id: 'a1e5c0de-0000-4000-8000-000000000402',
  name: 'payments-production',
  issuer: 'https://token.actions.githubusercontent.com',
  subject: 'repo:contoso/payments:environment:production',
  description: 'GitHub Actions: contoso/payments, production environment',
  audiences: ['api://AzureADTokenExchange'],
} as const;

function addDemoFederatedCredential(data: TenantData): void {
  const { applicationIndex, id, name, issuer, subject, description, audiences } = demoFederatedCredential;
  const app = data.applications[demoApplicationIds(applicationIndex).id]!;
  app.federatedIdentityCredentials = [
    ...(app.federatedIdentityCredentials ?? []),
    { id, name, issuer, subject, description, audiences: [...audiences] },
  ];
  app.sequence = data.sequence += 1;
}

/**
 * The SAML enterprise application: its service principal holds the signing certificate as Entra stores one made in
 * the Single sign-on page (https://learn.microsoft.com/graph/api/serviceprincipal-addtokensigningcertificate): a
 * keyCredential to sign, one to verify and the private key's passwordCredential, all with the certificate's
 * thumbprint as customKeyIdentifier, and the thumbprint as preferredTokenSigningKeyThumbprint. Only the service
 * principal is seeded: the app registration beside it carries no credentials, and the demo's app list stays as it was.
 */
function addDemoSamlApplication(
  data: TenantData,
  now: Date,
  created: string,
  record: (json: Json) => DirectoryRecord,
): void {
  const app = demoSamlApplication;
  const end = new Date(now.getTime() + app.certificateDays * DAY);
  // P-256 as the demo app certificates, for a quick seed; Entra makes RSA 2048 certificates here.
  const cert = selfSignedCertificate(
    'Microsoft Azure Federated SSO Certificate',
    new Date(end.getTime() - 3 * 365 * DAY),
    end,
    'ec',
  );
  const start = graphTimestamp(cert.notBefore);
  const finish = graphTimestamp(cert.notAfter);
  const key = (keyId: string, usage: 'Sign' | 'Verify') => ({
    customKeyIdentifier: cert.thumbprint,
    displayName: 'CN=Microsoft Azure Federated SSO Certificate',
    endDateTime: finish,
    key: null,
    keyId,
    startDateTime: start,
    type: usage === 'Sign' ? 'X509CertAndPassword' : 'AsymmetricX509Cert',
    usage,
  });
  const json = servicePrincipal(app.servicePrincipalId, app.appId, app.name, created, {
    appOwnerOrganizationId: data.tenantId,
    preferredSingleSignOnMode: 'saml',
    preferredTokenSigningKeyThumbprint: cert.thumbprint,
    keyCredentials: [key(newObjectId(), 'Sign'), key(newObjectId(), 'Verify')],
    passwordCredentials: [
      {
        ...passwordCredential(newObjectId(), 'CN=Microsoft Azure Federated SSO Certificate', null, start, finish),
        customKeyIdentifier: cert.thumbprint,
      },
    ],
    notificationEmailAddresses: [app.owner.email],
    servicePrincipalType: 'Application',
    tags: ['WindowsAzureActiveDirectoryCustomSingleSignOnApplication', 'WindowsAzureActiveDirectoryIntegratedApp'],
  });
  data.servicePrincipals[app.servicePrincipalId] = { ...record(json), owners: [app.owner.aadObjectId] };
}

/** The demo's custom app management policy, assigned to Payroll Sync only. */
export const demoSecretlessPolicy = {
  id: 'a1e5c0de-0000-4000-8000-000000000501',
  displayName: 'Secretless apps',
  applicationIndex: 2,
} as const;

/** The date from which the demo tenant default's passwordLifetime binds new apps. */
export const demoPolicyRestrictsAppsCreatedAfter = '2024-01-01T00:00:00Z';

/**
 * The demo's app management policies (https://learn.microsoft.com/graph/api/resources/tenantappmanagementpolicy,
 * https://learn.microsoft.com/graph/api/resources/appmanagementpolicy), so that the form and the rotation card show a
 * policy at work:
 * - the tenant default is enabled with a passwordLifetime of P2Y for apps created since 2024: a limit tenants set, and
 *   no narrower than Registrar's own 24 months, so every runbook's 365 and 730-day secret still passes (P2Y rather than
 *   P730D, which a two-year span over a 29 February would exceed);
 * - "Secretless apps" blocks passwordAddition and is assigned to Payroll Sync alone, the app that signs in with a
 *   certificate and a GitHub Actions federated credential: a rotation of it is refused in the policy's words.
 */
function addDemoAppManagementPolicies(data: TenantData): void {
  const restriction = (restrictionType: string, maxLifetime: string | null, after: string | null): Json => ({
    restrictionType,
    state: 'enabled',
    maxLifetime,
    restrictForAppsCreatedAfterDateTime: after,
    excludeActors: null,
  });
  const tenantDefault = data.defaultAppManagementPolicy;
  data.defaultAppManagementPolicy = {
    ...tenantDefault,
    isEnabled: true,
    applicationRestrictions: {
      ...(tenantDefault.applicationRestrictions as Json),
      passwordCredentials: [restriction('passwordLifetime', 'P2Y', demoPolicyRestrictsAppsCreatedAfter)],
      keyCredentials: [],
    },
  };
  const { id, displayName, applicationIndex } = demoSecretlessPolicy;
  data.appManagementPolicies[id] = {
    data: {
      id,
      displayName,
      description:
        'Apps that sign in with a certificate or a federated identity credential only: no new client secrets.',
      isEnabled: true,
      restrictions: { passwordCredentials: [restriction('passwordAddition', null, null)], keyCredentials: [] },
    },
    visibleFrom: 0,
    sequence: (data.sequence += 1),
    appliesTo: [demoApplicationIds(applicationIndex).id],
  };
}

/**
 * Sign-ins of the demo apps' secrets, as the token endpoint would have recorded them: Expense Bot's (Alex's app) signed
 * in two hours ago, so its rotation's cleanup card warns that the old secret is still in use; Legacy CRM Connector's
 * last signed in four months ago, so its card shows nothing uses it.
 */
function addDemoSignIns(data: TenantData, now: Date): void {
  const state = new TenantState(data);
  const signedIn = (index: number, msAgo: number) => {
    const app = data.applications[demoApplicationIds(index).id]!;
    const keyId = (app.data.passwordCredentials as Array<{ keyId: string }>)[0]!.keyId;
    const at = new Date(now.getTime() - msAgo);
    recordCredentialSignIn(state, app, keyId, 'clientSecret', GRAPH_APP_ID, at, newObjectId());
  };
  signedIn(3, 2 * 3_600_000);
  signedIn(4, 120 * DAY);
}

export function roleId(value: string): string {
  const permission = catalog.find((p) => p.type === 'Role' && p.value === value);
  if (!permission) throw new Error(`The Graph permission catalog has no application permission ${value}.`);
  return permission.id;
}

/**
 * `count` new people in `data` ("Owner 0", "Owner 1", … at the demo domain), there from the start, to make owners of
 * apps in large or many-owner tenants (tests and benches); their object ids.
 */
export function addOwnerUsers(data: TenantData, count: number): string[] {
  return Array.from({ length: count }, (_, i) => {
    const id = newObjectId();
    data.users[id] = {
      data: {
        id,
        displayName: `Owner ${i}`,
        userPrincipalName: `owner-${id.slice(0, 8)}@${demoDomain}`,
        accountEnabled: true,
      },
      visibleFrom: 0,
      sequence: 1,
    };
    return id;
  });
}

function user(person: DemoUser): Json {
  return {
    id: person.aadObjectId,
    accountEnabled: true,
    displayName: person.name,
    givenName: person.givenName,
    surname: person.surname,
    userPrincipalName: person.userPrincipalName,
    mail: person.email,
    jobTitle: null,
    userType: 'Member',
  };
}

export function passwordCredential(
  keyId: string,
  displayName: string,
  hint: string | null,
  start: string,
  end: string,
): Json {
  return {
    customKeyIdentifier: null,
    displayName,
    endDateTime: end,
    hint,
    keyId,
    secretText: null,
    startDateTime: start,
  };
}

/** An application in the shape POST /applications makes (https://learn.microsoft.com/graph/api/application-post-applications). */
export function application(
  id: string,
  appId: string,
  displayName: string,
  created: string,
  extra: Json,
  domain = DEMO_DOMAIN,
): Json {
  return {
    ...applicationDefaults(),
    id,
    appId,
    displayName,
    createdDateTime: created,
    publisherDomain: domain,
    ...extra,
  };
}

/** A servicePrincipal with the properties of graph-openapi-subset.yaml. */
export function servicePrincipal(id: string, appId: string, displayName: string, created: string, extra: Json): Json {
  return {
    id,
    deletedDateTime: null,
    accountEnabled: true,
    addIns: [],
    alternativeNames: [],
    appDescription: null,
    appDisplayName: displayName,
    appId,
    applicationTemplateId: null,
    appOwnerOrganizationId: null,
    appRoleAssignmentRequired: false,
    appRoles: [],
    createdDateTime: created,
    description: null,
    disabledByMicrosoftStatus: null,
    displayName,
    homepage: null,
    info: { logoUrl: null, marketingUrl: null, privacyStatementUrl: null, supportUrl: null, termsOfServiceUrl: null },
    keyCredentials: [],
    loginUrl: null,
    logoutUrl: null,
    notes: null,
    notificationEmailAddresses: [],
    oauth2PermissionScopes: [],
    passwordCredentials: [],
    preferredSingleSignOnMode: null,
    preferredTokenSigningKeyThumbprint: null,
    replyUrls: [],
    resourceSpecificApplicationPermissions: [],
    samlSingleSignOnSettings: null,
    servicePrincipalNames: [appId],
    servicePrincipalType: 'Application',
    signInAudience: 'AzureADMyOrg',
    tags: [],
    tokenEncryptionKeyId: null,
    verifiedPublisher: { displayName: null, verifiedPublisherId: null, addedDateTime: null },
    ...extra,
  };
}
