/**
 * Benchmark: the credential-expiry scan (https://learn.microsoft.com/graph/api/application-list) against a large local tenant. 100,000 applications with a
 * secret and a certificate each, paged with the real Graph client ($top=999, $select of what the scan reads),
 * through the whole HTTPS pipeline. A page must cost O(page), so the scan takes seconds.
 */
import { createHash, randomBytes } from 'node:crypto';
import { ClientSecretCredential } from '@azure/identity';
import { Client } from '@microsoft/microsoft-graph-client';
import { TokenCredentialAuthenticationProvider } from '@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials';
import type { DevCertificate } from '../src/local/tenant/dev-cert';
import { GRAPH_APP_ID } from '../src/local/tenant/identity';
import { applicationRoutes } from '../src/local/tenant/routes/applications';
import { startTenantServer } from '../src/local/tenant/server';
import {
  type ApplicationRecord,
  emptyTenant,
  graphTimestamp,
  newObjectId,
  type TenantData,
} from '../src/local/tenant/state';

const APPLICATION_READ_ALL = '9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30';
const SELECT = 'id,appId,displayName,passwordCredentials,keyCredentials';

export interface PagingResult {
  applications: number;
  buildMs: number;
  scanMs: number;
  pages: number;
  requests: number;
  seen: number;
  credentials: number;
}

/** A tenant with `count` applications (one secret and one certificate each) and a reader app. */
export function largeTenant(count: number, readerSecret: string): { data: TenantData; readerAppId: string } {
  const data = emptyTenant(newObjectId(), 'contoso.onmicrosoft.com');
  // The list path never parses certificates: a certificate-sized blob stands in for the DER.
  const der = randomBytes(780).toString('base64');
  const thumbprint = createHash('sha1').update(der).digest('hex').toUpperCase();
  const created = Date.parse('2024-01-01T00:00:00Z');
  for (let i = 0; i < count; i += 1) {
    const id = newObjectId();
    const passwordKeyId = newObjectId();
    const certificateKeyId = newObjectId();
    const record: ApplicationRecord = {
      data: {
        id,
        deletedDateTime: null,
        appId: newObjectId(),
        createdDateTime: graphTimestamp(new Date(created + i * 1000)),
        displayName: `bench-app-${i}`,
        publisherDomain: data.domain,
        signInAudience: 'AzureADMyOrg',
        identifierUris: [],
        tags: [],
        uniqueName: null,
        passwordCredentials: [
          {
            customKeyIdentifier: null,
            displayName: 'ci',
            endDateTime: '2027-01-01T00:00:00Z',
            hint: 'abc',
            keyId: passwordKeyId,
            secretText: null,
            startDateTime: '2025-01-01T00:00:00Z',
          },
        ],
        keyCredentials: [
          {
            customKeyIdentifier: thumbprint,
            displayName: 'CN=bench',
            endDateTime: '2027-01-01T00:00:00Z',
            key: null,
            keyId: certificateKeyId,
            startDateTime: '2026-01-01T00:00:00Z',
            type: 'AsymmetricX509Cert',
            usage: 'Verify',
          },
        ],
      },
      visibleFrom: 0,
      sequence: 1,
      owners: [],
      secretHashes: { [passwordKeyId]: '0'.repeat(64) },
      certificates: { [certificateKeyId]: der },
      credentialsUsableFrom: {},
    };
    data.applications[id] = record;
  }

  const graphSpId = newObjectId();
  data.servicePrincipals[graphSpId] = {
    data: {
      id: graphSpId,
      appId: GRAPH_APP_ID,
      displayName: 'Microsoft Graph',
      appRoles: [
        {
          id: APPLICATION_READ_ALL,
          value: 'Application.Read.All',
          allowedMemberTypes: ['Application'],
          isEnabled: true,
        },
      ],
    },
    visibleFrom: 0,
    sequence: 1,
    owners: [],
  };
  const readerId = newObjectId();
  const readerAppId = newObjectId();
  const keyId = newObjectId();
  data.applications[readerId] = {
    data: {
      id: readerId,
      appId: readerAppId,
      displayName: 'Registrar',
      passwordCredentials: [{ keyId, endDateTime: '2099-01-01T00:00:00Z', hint: readerSecret.slice(0, 3) }],
      keyCredentials: [],
    },
    visibleFrom: 0,
    sequence: 1,
    owners: [],
    secretHashes: { [keyId]: createHash('sha256').update(readerSecret).digest('hex') },
    certificates: {},
    credentialsUsableFrom: {},
  };
  const readerSpId = newObjectId();
  data.servicePrincipals[readerSpId] = {
    data: { id: readerSpId, appId: readerAppId, displayName: 'Registrar' },
    visibleFrom: 0,
    sequence: 1,
    owners: [],
  };
  data.appRoleAssignments.bench = {
    data: { id: 'bench', appRoleId: APPLICATION_READ_ALL, principalId: readerSpId, resourceId: graphSpId },
    visibleFrom: 0,
    sequence: 1,
  };
  data.sequence = 1;
  return { data, readerAppId };
}

/** Every SAML_EVERY-th service principal of largeServicePrincipals is a SAML enterprise application. */
export const SAML_EVERY = 4;

/**
 * `count` service principals with credentials of their own, added to `data`: every SAML_EVERY-th is a SAML
 * enterprise application holding its token-signing certificate as Entra stores one
 * (https://learn.microsoft.com/graph/api/serviceprincipal-addtokensigningcertificate: a Sign and a Verify
 * keyCredential and the private key's passwordCredential, one customKeyIdentifier, the thumbprint as
 * preferredTokenSigningKeyThumbprint); the others hold a client secret added to the service principal. Their ids.
 */
export function largeServicePrincipals(data: TenantData, count: number): string[] {
  const ids: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const id = newObjectId();
    const saml = i % SAML_EVERY === 0;
    const thumbprint = createHash('sha1').update(id).digest('hex').toUpperCase();
    const end = '2027-01-01T00:00:00Z';
    const start = '2025-01-01T00:00:00Z';
    const key = (usage: 'Sign' | 'Verify') => ({
      customKeyIdentifier: thumbprint,
      displayName: 'CN=Microsoft Azure Federated SSO Certificate',
      endDateTime: end,
      key: null,
      keyId: newObjectId(),
      startDateTime: start,
      type: usage === 'Sign' ? 'X509CertAndPassword' : 'AsymmetricX509Cert',
      usage,
    });
    const secret = {
      customKeyIdentifier: saml ? thumbprint : null,
      displayName: saml ? 'CN=Microsoft Azure Federated SSO Certificate' : 'sp secret',
      endDateTime: end,
      hint: saml ? null : 'spx',
      keyId: newObjectId(),
      secretText: null,
      startDateTime: start,
    };
    data.servicePrincipals[id] = {
      data: {
        id,
        appId: newObjectId(),
        displayName: `bench-sp-${i}`,
        appOwnerOrganizationId: data.tenantId,
        servicePrincipalType: 'Application',
        preferredSingleSignOnMode: saml ? 'saml' : null,
        preferredTokenSigningKeyThumbprint: saml ? thumbprint : null,
        keyCredentials: saml ? [key('Sign'), key('Verify')] : [],
        passwordCredentials: [secret],
        tags: saml ? ['WindowsAzureActiveDirectoryCustomSingleSignOnApplication'] : [],
      },
      visibleFrom: 0,
      sequence: 1,
      owners: [],
    };
    ids.push(id);
  }
  return ids;
}

/** Starts the tenant in memory, pages through every application as the expiry scan does, and stops it. */
export async function benchTenantPaging(certificate: DevCertificate, count = 100_000): Promise<PagingResult> {
  const buildStart = performance.now();
  const secret = 'Ben8Q~bench-secret-0000000000000000000000';
  const { data, readerAppId } = largeTenant(count, secret);
  const tenant = await startTenantServer({ certificate, data, routes: [applicationRoutes] });
  const buildMs = performance.now() - buildStart;
  try {
    const credential = new ClientSecretCredential(tenant.tenantId, readerAppId, secret, {
      authorityHost: tenant.url,
      disableInstanceDiscovery: true,
    });
    const client = Client.initWithMiddleware({
      authProvider: new TokenCredentialAuthenticationProvider(credential, { scopes: [`${tenant.url}/.default`] }),
      baseUrl: `${tenant.url}/`,
      defaultVersion: 'v1.0',
      customHosts: new Set(['127.0.0.1']),
    });
    await credential.getToken(`${tenant.url}/.default`); // the token is not part of the scan
    tenant.counters.reset();

    const scanStart = performance.now();
    let pages = 0;
    let seen = 0;
    let credentials = 0;
    type Page = {
      value: Array<{ passwordCredentials?: unknown[]; keyCredentials?: unknown[] }>;
      '@odata.nextLink'?: string;
    };
    let page = (await client.api('/applications').top(999).select(SELECT).get()) as Page;
    for (;;) {
      pages += 1;
      seen += page.value.length;
      for (const app of page.value)
        credentials += (app.passwordCredentials?.length ?? 0) + (app.keyCredentials?.length ?? 0);
      if (!page['@odata.nextLink']) break;
      page = (await client.api(page['@odata.nextLink']).get()) as Page;
    }
    return {
      applications: count,
      buildMs,
      scanMs: performance.now() - scanStart,
      pages,
      requests: tenant.counters.total(),
      seen,
      credentials,
    };
  } finally {
    await tenant.stop();
  }
}
