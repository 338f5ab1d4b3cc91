/**
 * What one approved request asks Entra ID to create: the contract between the request domain (which builds it
 * from a validated form) and the Directory port (which provisions it through Microsoft Graph).
 */
import type { ExchangeRbacChoice } from './exchange-rbac';

export type SignInAudience = 'AzureADMyOrg' | 'AzureADMultipleOrgs' | 'AzureADandPersonalMicrosoftAccount';

/** none: a daemon or API (client credentials); web: redirect URIs; spa; publicClient: mobile and desktop. */
export type Platform = 'none' | 'web' | 'spa' | 'publicClient';

export type PermissionType = 'Role' | 'Scope';

/** How a person names a permission's type: application (Role) or delegated (Scope). */
export const permissionKind = (type: PermissionType): 'application' | 'delegated' =>
  type === 'Role' ? 'application' : 'delegated';

/** One permission on one resource API, resolved to its id in that resource's service principal. */
export interface PermissionRef {
  /** The resource's appId (Microsoft Graph: 00000003-0000-0000-c000-000000000000). */
  resourceAppId: string;
  resourceDisplayName: string;
  /** appRole id (Role) or oauth2PermissionScope id (Scope). */
  id: string;
  /** The permission's name, e.g. "User.Read.All". */
  value: string;
  /** Role: an application permission; Scope: a delegated one. */
  type: PermissionType;
  /** As the resource declares it (Role permissions always need admin consent). */
  adminConsentRequired: boolean;
  description: string;
}

/** A catalog entry as the request form shows and searches it. */
export type CatalogPermission = Omit<PermissionRef, 'resourceAppId' | 'resourceDisplayName'>;

export interface CertificateSpec {
  /** DER of the X.509 certificate, base64 (keyCredential.key). */
  derBase64: string;
  /** SHA-1 thumbprint, upper-case hex. */
  thumbprint: string;
  subject: string;
  notBefore: string;
  notAfter: string;
}

/**
 * A federated identity credential: tokens that `issuer` issues for `subject` are exchanged for the app's own, so no
 * secret exists (https://learn.microsoft.com/graph/api/resources/federatedidentitycredential). Entra allows at most
 * 20 per application (https://learn.microsoft.com/entra/workload-id/workload-identity-federation-considerations).
 */
export interface FederatedCredentialSpec {
  /** Unique within the application; Graph's `name` (at most 120 characters, no spaces). */
  name: string;
  /** The external identity provider's URL, as its tokens' `iss` claim says it. */
  issuer: string;
  /** The external workload's identifier, as its tokens' `sub` claim says it. */
  subject: string;
  /** Always `[FEDERATED_AUDIENCE]` for Entra ID's token exchange. */
  audiences: readonly string[];
  description?: string;
}

/** The audience Entra ID's token exchange expects (federatedIdentityCredential.audiences). */
export const FEDERATED_AUDIENCE = 'api://AzureADTokenExchange';

/** Entra's limit on federated identity credentials per application. */
export const MAX_FEDERATED_CREDENTIALS = 20;

export interface AppSpec {
  /** The request this app belongs to; the application's uniqueName is registrar-<requestId>. */
  requestId: string;
  /**
   * A random value only this deployment's store holds for this request, written as a tag: an application found by
   * uniqueName without it was not made by this request, and is never adopted. Absent on requests older than it.
   */
  marker?: string;
  displayName: string;
  /** The business justification, kept in the application's notes. */
  purpose: string;
  signInAudience: SignInAudience;
  platform: Platform;
  redirectUris: readonly string[];
  permissions: readonly PermissionRef[];
  /** Entra object ids of the owners: the requester first, then the additional owners. */
  ownerIds: readonly string[];
  /** A directory role template id for the app's service principal, e.g. User Administrator. */
  directoryRoleTemplateId?: string;
  certificate?: CertificateSpec;
  /** A federated identity credential instead of a secret or certificate. */
  federatedCredential?: FederatedCredentialSpec;
  /**
   * The requester scoped the mailbox permissions with Exchange RBAC for Applications: those are declared in
   * requiredResourceAccess and never granted tenant-wide (exchange-rbac.ts scopedInExchange; graph-consent.ts leaves them out of the grant).
   */
  exchangeRbac?: ExchangeRbacChoice;
  /**
   * A mobile and desktop app that also signs in with a device code, integrated Windows authentication or a username
   * and password: the application's isFallbackPublicClient (https://learn.microsoft.com/entra/identity-platform/msal-client-applications).
   */
  isFallbackPublicClient?: boolean;
}

export const MICROSOFT_GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';

export function uniqueNameFor(requestId: string): string {
  return `registrar-${requestId}`;
}

/** Tags that trace an application back to Registrar and to its request (searchable with tags/any). */
/** The tag on every application Registrar creates: REMINDER_SCOPE=managed scans those. */
export const REGISTRAR_TAG = 'registrar';

export function tagsFor(requestId: string, marker?: string): string[] {
  return [REGISTRAR_TAG, `registrar-request:${requestId}`, ...(marker ? [markerTag(marker)] : [])];
}

/** The tag that proves an application was made for one request of this deployment (AppSpec.marker). */
export function markerTag(marker: string): string {
  return `registrar-marker:${marker}`;
}
