/**
 * The local tenant's directory: every object kept in the JSON shape Graph returns (graph-openapi-subset.yaml),
 * wrapped in a record that carries what Graph does not show: when the object becomes visible to other
 * replicas (replication delay), its change sequence (delta), and server-side secrets (password hashes).
 * Plain data, so that the whole tenant is saved to and read from one JSON file.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { defaultAppManagementPolicy } from './app-policies';

export type Json = Record<string, unknown>;

export interface DirectoryRecord {
  /** The object as Graph returns it, minus what only some responses show (secretText, key). */
  data: Json;
  /** Epoch ms from which reads by other calls see the object (replication delay); 0 = always. */
  visibleFrom: number;
  /** Change sequence for delta queries. */
  sequence: number;
}

export interface ApplicationRecord extends DirectoryRecord {
  /** Directory object ids of the owners. */
  owners: string[];
  /** keyId → SHA-256 (hex) of the secret, for the token endpoint; the secret itself is never kept. */
  secretHashes: Record<string, string>;
  /** keyId → base64 DER of uploaded certificates (keyCredentials.key is returned only with $select). */
  certificates: Record<string, string>;
  /** Epoch ms from which a new credential works at the token endpoint (credential propagation delay). */
  credentialsUsableFrom: Record<string, number>;
  /**
   * The application's federatedIdentityCredentials as Graph returns them (a relationship, not a property: never in
   * the application's own body). Absent on records saved before the local tenant served them.
   */
  federatedIdentityCredentials?: Json[];
}

export interface ServicePrincipalRecord extends DirectoryRecord {
  owners: string[];
}

export interface GroupRecord extends DirectoryRecord {
  /** Direct members: users, groups (nested) or service principals. */
  members: string[];
}

export interface DeletedRecord extends DirectoryRecord {
  kind: 'application' | 'servicePrincipal';
  /** Owners at deletion, restored with the object. */
  owners: string[];
}

export interface AppManagementPolicyRecord extends DirectoryRecord {
  /** Object ids of the applications the policy is assigned to (its appliesTo; at most one policy per app). */
  appliesTo: string[];
}

export interface TenantData {
  tenantId: string;
  /** Verified domain, e.g. contoso.onmicrosoft.com (publisherDomain of new applications). */
  domain: string;
  sequence: number;
  applications: Record<string, ApplicationRecord>;
  servicePrincipals: Record<string, ServicePrincipalRecord>;
  users: Record<string, DirectoryRecord>;
  groups: Record<string, GroupRecord>;
  appRoleAssignments: Record<string, DirectoryRecord>;
  oauth2PermissionGrants: Record<string, DirectoryRecord>;
  roleAssignments: Record<string, DirectoryRecord>;
  deletedItems: Record<string, DeletedRecord>;
  /** The tenant default app management policy as Graph returns it (https://learn.microsoft.com/graph/api/resources/tenantappmanagementpolicy). */
  defaultAppManagementPolicy: Json;
  /** Custom app management policies by id (https://learn.microsoft.com/graph/api/resources/appmanagementpolicy). */
  appManagementPolicies: Record<string, AppManagementPolicyRecord>;
  /**
   * The credentials' sign-in activity by report row id, as the token endpoint records it
   * (sign-in-activity.ts; GET /beta/reports/appCredentialSignInActivities). Absent in a tenant saved before it.
   */
  credentialSignIns?: Record<string, CredentialSignInRecord>;
  /**
   * The tenant's Microsoft Entra ID licence: without P1 or P2 the sign-in reports answer 403 (sign-in-activity.ts).
   * Absent: P1, as the demo tenant has.
   */
  entraIdLicense?: 'free' | 'P1' | 'P2';
  /**
   * Other directories the same local tenant server serves (the demo Azure AD B2C tenant), each a tenant of its own:
   * its own id, objects, and token endpoint /{tenantId}/oauth2/v2.0/token. Kept here so that one file saves all.
   */
  directories?: TenantData[];
}

/** One credential's last sign-in, as the token endpoint saw it: what an appCredentialSignInActivity row is made of. */
export interface CredentialSignInRecord {
  keyId: string;
  keyType: 'clientSecret' | 'certificate';
  keyUsage: 'sign' | 'verify';
  credentialOrigin: 'application' | 'servicePrincipal';
  appId: string;
  appObjectId: string;
  servicePrincipalObjectId: string | null;
  /** The service principal of the resource the token was for (Microsoft Graph's). */
  resourceId: string | null;
  /** The credential's start and end, as they were at the sign-in (the row outlives a removed credential). */
  createdDateTime: string | null;
  expirationDateTime: string | null;
  lastSignInDateTime: string;
  lastSignInRequestId: string;
}

export function emptyTenant(tenantId: string, domain: string): TenantData {
  return {
    tenantId,
    domain,
    sequence: 0,
    applications: {},
    servicePrincipals: {},
    users: {},
    groups: {},
    appRoleAssignments: {},
    oauth2PermissionGrants: {},
    roleAssignments: {},
    deletedItems: {},
    defaultAppManagementPolicy: defaultAppManagementPolicy(),
    appManagementPolicies: {},
  };
}

/**
 * Fills in what a tenant saved by an older version of the local tenant lacks (app management policies), in
 * place, so that holders of the data see the same object.
 */
export function upgradeTenant(data: TenantData): TenantData {
  const older = data as Partial<TenantData>;
  older.defaultAppManagementPolicy ??= defaultAppManagementPolicy();
  older.appManagementPolicies ??= {};
  return data;
}

/**
 * The tenant with its lookup indexes. Records live in plain objects (insertion-ordered, JSON-ready);
 * the indexes are rebuilt on load.
 */
export class TenantState {
  readonly appIdToApplication = new Map<string, string>();
  readonly uniqueNameToApplication = new Map<string, string>();
  readonly appIdToServicePrincipal = new Map<string, string>();
  /** Application ids in creation order, for stable paging over large tenants. */
  applicationOrder: string[] = [];
  private orderDirty = false;

  constructor(public data: TenantData) {
    upgradeTenant(data);
    this.reindex();
  }

  get tenantId(): string {
    return this.data.tenantId;
  }

  nextSequence(): number {
    this.data.sequence += 1;
    return this.data.sequence;
  }

  reindex(): void {
    this.appIdToApplication.clear();
    this.uniqueNameToApplication.clear();
    this.appIdToServicePrincipal.clear();
    for (const [id, record] of Object.entries(this.data.applications)) this.indexApplication(id, record);
    for (const [id, record] of Object.entries(this.data.servicePrincipals)) {
      this.appIdToServicePrincipal.set(String(record.data.appId).toLowerCase(), id);
    }
    this.applicationOrder = Object.keys(this.data.applications);
    this.orderDirty = false;
  }

  indexApplication(id: string, record: ApplicationRecord): void {
    this.appIdToApplication.set(String(record.data.appId).toLowerCase(), id);
    if (typeof record.data.uniqueName === 'string')
      this.uniqueNameToApplication.set(record.data.uniqueName.toLowerCase(), id);
  }

  addApplication(record: ApplicationRecord): void {
    const id = String(record.data.id);
    this.data.applications[id] = record;
    this.indexApplication(id, record);
    this.applicationOrder.push(id);
  }

  removeApplication(id: string): ApplicationRecord | undefined {
    const record = this.data.applications[id];
    if (!record) return undefined;
    delete this.data.applications[id];
    this.appIdToApplication.delete(String(record.data.appId).toLowerCase());
    if (typeof record.data.uniqueName === 'string')
      this.uniqueNameToApplication.delete(record.data.uniqueName.toLowerCase());
    this.orderDirty = true;
    return record;
  }

  /** Application ids in creation order, without removed ones. */
  orderedApplicationIds(): string[] {
    if (this.orderDirty) {
      this.applicationOrder = this.applicationOrder.filter((id) => id in this.data.applications);
      this.orderDirty = false;
    }
    return this.applicationOrder;
  }

  addServicePrincipal(record: ServicePrincipalRecord): void {
    const id = String(record.data.id);
    this.data.servicePrincipals[id] = record;
    this.appIdToServicePrincipal.set(String(record.data.appId).toLowerCase(), id);
  }

  removeServicePrincipal(id: string): ServicePrincipalRecord | undefined {
    const record = this.data.servicePrincipals[id];
    if (!record) return undefined;
    delete this.data.servicePrincipals[id];
    this.appIdToServicePrincipal.delete(String(record.data.appId).toLowerCase());
    return record;
  }

  toJSON(): TenantData {
    return this.data;
  }
}

/** Object ids and appIds: lowercase GUIDs, as Graph returns them. */
export function newObjectId(): string {
  return randomUUID();
}

/** appRoleAssignment and oauth2PermissionGrant ids: opaque base64url, about 43 characters, as Graph returns them. */
export function newOpaqueId(): string {
  return randomBytes(32).toString('base64url').slice(0, 43);
}

/** unifiedRoleAssignment ids: opaque base64url ending in "-1", as Graph returns them. */
export function newRoleAssignmentId(): string {
  return `${randomBytes(33).toString('base64url').slice(0, 43)}-1`;
}

/** createdDateTime: seven fractional digits and Z, as Graph returns it. */
export function graphTimestamp(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$10000Z');
}
