/**
 * A tenant for the application conformance tests, built as data: the Microsoft Graph service principal with
 * the real ids of the permissions the tests use (src/local/tenant/graph-permissions.json), callers (an app with
 * a secret, its service principal, and appRoleAssignments granting it permissions on Graph), and applications
 * made directly as records (fast, for paging). Also serves the app management policy routes
 * (https://learn.microsoft.com/graph/api/resources/tenantappmanagementpolicy).
 */
import { createHash } from 'node:crypto';
import { type Client, GraphError as ClientGraphError, ResponseType } from '@microsoft/microsoft-graph-client';
import type { RouteModule } from '../../src/local/tenant/context';
import { GRAPH_APP_ID } from '../../src/local/tenant/identity';
import { applicationRoutes } from '../../src/local/tenant/routes/applications';
import { deletedItemRoutes } from '../../src/local/tenant/routes/deleted-items';
import { policyRoutes } from '../../src/local/tenant/routes/policies';
import type { RunningTenant } from '../../src/local/tenant/server';
import {
  type ApplicationRecord,
  emptyTenant,
  graphTimestamp,
  newObjectId,
  newOpaqueId,
  type TenantData,
} from '../../src/local/tenant/state';
import { selfSignedCertificate } from '../../src/local/tenant/self-signed';
import { graphClientFor, startTestTenant, TestClock } from './tenant';
import { roleIds } from './graph-catalog';

export const TENANT_ID = '5e1f0c9a-2b4d-4c6e-9a1b-3d5f7e9a0c03';
export const TENANT_DOMAIN = 'contoso.onmicrosoft.com';
export const GRAPH_SP_ID = '7408235b-7540-4850-82fe-a5f15ed019e2';

/** Application permissions (appRoles of Microsoft Graph) with their real ids. */
export const ROLES = roleIds([
  'Application.Read.All',
  'Application.ReadWrite.All',
  'Application.ReadWrite.OwnedBy',
  'AuditLog.Read.All',
  'Directory.Read.All',
  'Directory.ReadWrite.All',
  'Policy.Read.All',
  'Policy.ReadWrite.ApplicationConfiguration',
  'User.Read.All',
] as const);
export type RoleName = keyof typeof ROLES;

export interface Caller {
  appId: string;
  objectId: string;
  spId: string;
  secret: string;
}

let secretCounter = 0;

export class ApplicationsFixture {
  readonly data: TenantData = emptyTenant(TENANT_ID, TENANT_DOMAIN);

  constructor() {
    this.data.servicePrincipals[GRAPH_SP_ID] = {
      data: {
        id: GRAPH_SP_ID,
        appId: GRAPH_APP_ID,
        displayName: 'Microsoft Graph',
        servicePrincipalType: 'Application',
        appRoles: Object.entries(ROLES).map(([value, id]) => ({
          allowedMemberTypes: ['Application'],
          description: value,
          displayName: value,
          id,
          isEnabled: true,
          origin: 'Application',
          value,
        })),
      },
      visibleFrom: 0,
      sequence: 0,
      owners: [],
    };
  }

  /** An application record as Graph would hold it, added directly (no HTTP). */
  addApp(
    displayName: string,
    extra: { owners?: string[]; uniqueName?: string; tags?: string[]; createdDateTime?: string } = {},
  ): ApplicationRecord {
    const id = newObjectId();
    const record: ApplicationRecord = {
      data: {
        id,
        deletedDateTime: null,
        appId: newObjectId(),
        createdDateTime: extra.createdDateTime ?? graphTimestamp(new Date()),
        displayName,
        identifierUris: [],
        publisherDomain: TENANT_DOMAIN,
        signInAudience: 'AzureADMyOrg',
        tags: extra.tags ?? [],
        uniqueName: extra.uniqueName ?? null,
        keyCredentials: [],
        passwordCredentials: [],
      },
      visibleFrom: 0,
      sequence: 1,
      owners: extra.owners ?? [],
      secretHashes: {},
      certificates: {},
      credentialsUsableFrom: {},
    };
    this.data.applications[id] = record;
    return record;
  }

  /** An app that calls Graph: a secret, a service principal, and the given Graph permissions granted. */
  addCaller(displayName: string, roles: readonly RoleName[]): Caller {
    const secret = `Xy${(secretCounter += 1)}8Q~conformance-secret-${newObjectId().slice(0, 12)}`;
    const keyId = newObjectId();
    const app = this.addApp(displayName);
    app.data.passwordCredentials = [
      {
        customKeyIdentifier: null,
        displayName: 'test',
        endDateTime: '2099-01-01T00:00:00Z',
        hint: secret.slice(0, 3),
        keyId,
        secretText: null,
        startDateTime: '2020-01-01T00:00:00Z',
      },
    ];
    app.secretHashes[keyId] = createHash('sha256').update(secret).digest('hex');
    const spId = newObjectId();
    const appId = String(app.data.appId);
    this.data.servicePrincipals[spId] = {
      data: { id: spId, appId, displayName, servicePrincipalType: 'Application' },
      visibleFrom: 0,
      sequence: 1,
      owners: [],
    };
    for (const role of roles) {
      const id = newOpaqueId();
      this.data.appRoleAssignments[id] = {
        data: {
          id,
          appRoleId: ROLES[role],
          principalId: spId,
          principalType: 'ServicePrincipal',
          resourceId: GRAPH_SP_ID,
          principalDisplayName: displayName,
          resourceDisplayName: 'Microsoft Graph',
        },
        visibleFrom: 0,
        sequence: 1,
      };
    }
    return { appId, objectId: String(app.data.id), spId, secret };
  }
}

/** Applications, their deleted items, and the app management policies that govern their credentials. */
export const applicationModules: readonly RouteModule[] = [applicationRoutes, deletedItemRoutes, policyRoutes];

export { TestClock };

export async function startApplicationsTenant(fixture: ApplicationsFixture, clock?: TestClock): Promise<RunningTenant> {
  return startTestTenant({ data: fixture.data, routes: applicationModules, now: clock?.now });
}

export function clientFor(tenant: RunningTenant, caller: Caller): Client {
  return graphClientFor(tenant, caller.appId, caller.secret).client;
}

/** What a failed Graph call carried, as the SDK reports it. */
export interface CallError {
  statusCode: number;
  code: string | null;
  message: string;
  body: { error?: { code: string; message: string; details?: unknown; innerError?: Record<string, string> } };
}

export async function failure(call: Promise<unknown>): Promise<CallError> {
  try {
    await call;
  } catch (err) {
    if (err instanceof ClientGraphError) {
      // The SDK keeps the inner "error" object of Graph's envelope, serialized, in `body`.
      let body: CallError['body'];
      try {
        const inner: unknown = typeof err.body === 'string' ? JSON.parse(err.body) : err.body;
        body = { error: inner as NonNullable<CallError['body']['error']> };
      } catch {
        body = {};
      }
      return { statusCode: err.statusCode, code: err.code, message: err.message, body };
    }
    throw err;
  }
  throw new Error('Expected the Graph call to fail, but it succeeded.');
}

/** The raw fetch Response, for status, headers and text bodies. */
export async function raw(
  client: Client,
  path: string,
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE' = 'GET',
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  const request = client.api(path).headers(headers).responseType(ResponseType.RAW);
  switch (method) {
    case 'GET':
      return (await request.get()) as Response;
    case 'POST':
      return (await request.post(body)) as Response;
    case 'PATCH':
      return (await request.patch(body)) as Response;
    case 'DELETE':
      return (await request.delete()) as Response;
  }
}

/** A self-signed RSA certificate for keyCredentials: base64 DER and its SHA-1 thumbprint (upper-case hex). */
export function testCertificate(
  commonName: string,
  notBefore: Date,
  notAfter: Date,
): { der: string; thumbprint: string } {
  const { der, thumbprint } = selfSignedCertificate(commonName, notBefore, notAfter, 'rsa');
  return { der, thumbprint };
}
