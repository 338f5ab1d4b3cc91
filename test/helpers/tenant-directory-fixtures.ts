/**
 * A small tenant for the service principal, consent, owner and directory conformance tests: the Microsoft
 * Graph service principal with real permission ids (shared/reference/graph-permissions.json), apps with
 * secrets and service principals, permissions granted as appRoleAssignments, users and nested groups.
 */
import { createHash } from 'node:crypto';
import type { Client } from '@microsoft/microsoft-graph-client';
import { GRAPH_APP_ID } from '../../src/local/tenant/identity';
import { consentRoutes } from '../../src/local/tenant/routes/consent';
import { directoryRoutes } from '../../src/local/tenant/routes/directory';
import { directoryRoleRoutes } from '../../src/local/tenant/routes/directory-roles';
import { ownersRoutes } from '../../src/local/tenant/routes/owners';
import { servicePrincipalsRoutes } from '../../src/local/tenant/routes/service-principals';
import type { RunningTenant } from '../../src/local/tenant/server';
import {
  emptyTenant,
  graphTimestamp,
  newObjectId,
  newOpaqueId,
  type Json,
  type TenantData,
} from '../../src/local/tenant/state';
import { graphClientFor, startTestTenant, TestClock } from './tenant';
import { failure } from './tenant-fixtures';
import { roleIds, scopeIds } from './graph-catalog';

export const TENANT_ID = '5e1f0c9a-2b4d-4c6e-9a1b-3d5f7e9a0c02';
export const GRAPH_SP_ID = '7408235b-7540-4850-82fe-a5f15ed019e2';

/** Application permissions (appRoles of Microsoft Graph) with their real ids. */
export const ROLES = roleIds([
  'Application.Read.All',
  'Application.ReadWrite.All',
  'Application.ReadWrite.OwnedBy',
  'AppRoleAssignment.ReadWrite.All',
  'DelegatedPermissionGrant.ReadWrite.All',
  'Directory.Read.All',
  'Directory.ReadWrite.All',
  'Group.Read.All',
  'GroupMember.Read.All',
  'User.Read.All',
  'RoleManagement.Read.Directory',
  'RoleManagement.ReadWrite.Directory',
  'Mail.Send',
] as const);
export type RoleName = keyof typeof ROLES;

/** Delegated permissions (oauth2PermissionScopes of Microsoft Graph) with their real ids. */
export const SCOPES = scopeIds(['openid', 'profile', 'User.Read', 'Mail.Send'] as const);

export const ROLE_TEMPLATES = {
  userAdministrator: 'fe930be7-5e62-47db-91af-98c3a49a38b1',
  applicationAdministrator: '9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3',
  cloudApplicationAdministrator: '158c047a-c907-4556-b7ef-446551a6b5f7',
} as const;

export interface FixtureApp {
  displayName: string;
  objectId: string;
  appId: string;
  secret: string;
  /** The service principal's object id ('' when the app has none). */
  spId: string;
}

export class DirectoryFixture {
  readonly data: TenantData = emptyTenant(TENANT_ID, 'contoso.onmicrosoft.com');
  private counter = 0;

  constructor() {
    this.data.servicePrincipals[GRAPH_SP_ID] = {
      data: {
        id: GRAPH_SP_ID,
        appId: GRAPH_APP_ID,
        displayName: 'Microsoft Graph',
        appDisplayName: 'Microsoft Graph',
        servicePrincipalType: 'Application',
        accountEnabled: true,
        appOwnerOrganizationId: 'f8cdef31-a31e-4b4a-93e4-5f571e91255a',
        servicePrincipalNames: [GRAPH_APP_ID, 'https://graph.microsoft.com'],
        appRoles: Object.entries(ROLES).map(([value, id]) => ({
          allowedMemberTypes: ['Application'],
          description: `Allows the app to use ${value} without a signed-in user.`,
          displayName: value,
          id,
          isEnabled: true,
          origin: 'Application',
          value,
        })),
        oauth2PermissionScopes: Object.entries(SCOPES).map(([value, id]) => ({
          adminConsentDescription: `Allows the app to use ${value} on behalf of the signed-in user.`,
          adminConsentDisplayName: value,
          id,
          isEnabled: true,
          type: 'User',
          userConsentDescription: null,
          userConsentDisplayName: null,
          value,
        })),
      },
      visibleFrom: 0,
      sequence: 0,
      owners: [],
    };
  }

  /** An app registration with a secret; with a service principal unless `servicePrincipal: false`. */
  app(
    displayName: string,
    options: { servicePrincipal?: boolean; roles?: readonly RoleName[]; owners?: string[]; visibleFrom?: number } = {},
  ): FixtureApp {
    this.counter += 1;
    const objectId = newObjectId();
    const appId = newObjectId();
    const keyId = newObjectId();
    const secret = `Fx${this.counter}Q~${createHash('sha256').update(objectId).digest('base64url').slice(0, 34)}`;
    this.data.applications[objectId] = {
      data: {
        id: objectId,
        appId,
        displayName,
        signInAudience: 'AzureADMyOrg',
        identifierUris: [],
        tags: [],
        appRoles: [],
        api: { oauth2PermissionScopes: [] },
        web: { redirectUris: [], homePageUrl: null, logoutUrl: null },
        passwordCredentials: [
          { keyId, hint: secret.slice(0, 3), displayName: 'fixture', endDateTime: '2099-01-01T00:00:00Z' },
        ],
      },
      visibleFrom: options.visibleFrom ?? 0,
      sequence: 0,
      owners: options.owners ?? [],
      secretHashes: { [keyId]: createHash('sha256').update(secret).digest('hex') },
      certificates: {},
      credentialsUsableFrom: {},
    };
    let spId = '';
    if (options.servicePrincipal !== false) {
      spId = newObjectId();
      this.data.servicePrincipals[spId] = {
        data: {
          id: spId,
          appId,
          displayName,
          appDisplayName: displayName,
          servicePrincipalType: 'Application',
          accountEnabled: true,
          appRoles: [],
          oauth2PermissionScopes: [],
        },
        visibleFrom: 0,
        sequence: 0,
        owners: [],
      };
      this.grant(spId, options.roles ?? []);
    }
    return { displayName, objectId, appId, secret, spId };
  }

  /** Admin consent of Microsoft Graph application permissions, as appRoleAssignments. */
  grant(spId: string, roles: readonly RoleName[]): void {
    for (const role of roles) {
      const id = newOpaqueId();
      this.data.appRoleAssignments[id] = {
        data: {
          id,
          deletedDateTime: null,
          appRoleId: ROLES[role],
          createdDateTime: graphTimestamp(new Date()),
          principalDisplayName: this.data.servicePrincipals[spId]?.data.displayName ?? null,
          principalId: spId,
          principalType: 'ServicePrincipal',
          resourceDisplayName: 'Microsoft Graph',
          resourceId: GRAPH_SP_ID,
        },
        visibleFrom: 0,
        sequence: 0,
      };
    }
  }

  user(displayName: string, options: { visibleFrom?: number } = {}): string {
    const id = newObjectId();
    const mailNickname = displayName.toLowerCase().replace(/[^a-z]/g, '');
    const data: Json = {
      id,
      businessPhones: [],
      displayName,
      givenName: displayName.split(' ')[0] ?? null,
      jobTitle: null,
      mail: `${mailNickname}@contoso.onmicrosoft.com`,
      mobilePhone: null,
      officeLocation: null,
      preferredLanguage: null,
      surname: displayName.split(' ')[1] ?? null,
      userPrincipalName: `${mailNickname}@contoso.onmicrosoft.com`,
    };
    this.data.users[id] = { data, visibleFrom: options.visibleFrom ?? 0, sequence: 0 };
    return id;
  }

  group(displayName: string, members: string[]): string {
    const id = newObjectId();
    this.data.groups[id] = {
      data: {
        id,
        displayName,
        mailNickname: displayName.replace(/\s/g, ''),
        securityEnabled: true,
        mailEnabled: false,
        groupTypes: [],
      },
      visibleFrom: 0,
      sequence: 0,
      members,
    };
    return id;
  }
}

/** What a Graph SDK call that failed answered: status and Graph's error code, message and details. */
export async function graphFailure(
  call: Promise<unknown>,
): Promise<{ status: number; code: string; message: string; details?: unknown }> {
  const { statusCode, body } = await failure(call);
  // Anything but a Graph error answer (token failures, network) is the test's failure, not an outcome.
  if (!body.error) throw new Error(`Expected a Graph error body, got status ${statusCode} without one.`);
  return { status: statusCode, code: body.error.code, message: body.error.message, details: body.error.details };
}

export { TestClock };

/** The tenant with the service principal, consent, owner, directory and directory role routes, on the fixture's data. */
export function startDirectoryTenant(fixture: DirectoryFixture, clock = new TestClock()): Promise<RunningTenant> {
  return startTestTenant({
    data: fixture.data,
    routes: [servicePrincipalsRoutes, consentRoutes, ownersRoutes, directoryRoutes, directoryRoleRoutes],
    now: clock.now,
  });
}

/** A Graph client signed in as the fixture app (real ClientSecretCredential against the tenant's token endpoint). */
export function clientFor(tenant: RunningTenant, app: FixtureApp): Client {
  return graphClientFor(tenant, app.appId, app.secret).client;
}

/** The claims of a fresh token for the app: what it would carry on its next Graph call. */
export async function tokenClaims(tenant: RunningTenant, app: FixtureApp): Promise<Record<string, unknown>> {
  const { credential } = graphClientFor(tenant, app.appId, app.secret);
  const token = await credential.getToken(`${tenant.url}/.default`);
  return JSON.parse(Buffer.from(token.token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

export const OPAQUE_ID = /^[A-Za-z0-9_-]{43}$/;
export const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const GRAPH_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}Z$/;
