/**
 * Provisioner on Microsoft Graph (spec §17). Every step looks before it creates and can be re-run at any point
 * (STYLE 6): the application is upserted by uniqueName, the service principal by appId, owners, grants and the
 * role are listed first and only what is missing is added, and an "already exists" answer to a retried create
 * is adopted. All retrying is done here, through one policy (lib/retry.ts + graph-errors.ts) with a deadline
 * per step; the Graph client's own RetryHandler is switched off for these calls so that a Retry-After is waited
 * once, exactly, and never cut short by the client's 180 s cap.
 */
import { createHash, randomUUID } from 'node:crypto';
import { ClientSecretCredential } from '@azure/identity';
import type { Client } from '@microsoft/microsoft-graph-client';
import { type AppSpec, type CatalogPermission, type CertificateSpec, type PermissionRef, type PermissionType, markerTag, tagsFor, uniqueNameFor } from '../../domain/app-spec';
import { RegistrarError } from '../../domain/errors';
import type { Logger } from '../../lib/logger';
import { realSleep, withRetry } from '../../lib/retry';
import type { NewSecret, ProvisionedApp, Provisioner, ResourceCatalog } from '../../services/ports';
import { type GraphConnection, NO_CLIENT_RETRY } from './graph-client';
import { type CallContext, classifyGraphError, type FailureHelp, graphRetryClassifier, readGraphFailure, toRegistrarError } from './graph-errors';

export interface GraphProvisionerOptions {
  logger: Logger;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** How long one step keeps retrying throttling, outages and replication (default 3 minutes). */
  stepTimeoutMs?: number;
  /** First backoff and its cap (defaults 1 s and 30 s; spec §13.3). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** For this long after Registrar creates an object, a 404 about it is replication lag, not absence (default 5 min). */
  replicationWindowMs?: number;
  /** How long a resource's permission catalog is cached (default 1 hour). */
  catalogTtlMs?: number;
}

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

interface GraphCall {
  method: Method;
  /** A path below /v1.0, or a full @odata.nextLink. */
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  select?: string[];
  filter?: string;
}

interface Page<T> {
  value?: T[];
  '@odata.nextLink'?: string;
}

interface ResourceServicePrincipal {
  id: string;
  appId: string;
  displayName: string;
  appRoles?: Array<{ id: string; value?: string | null; description?: string | null; isEnabled?: boolean; allowedMemberTypes?: string[] }>;
  oauth2PermissionScopes?: Array<{ id: string; value?: string | null; type?: string; adminConsentDescription?: string | null; isEnabled?: boolean }>;
}

interface KeyCredential {
  customKeyIdentifier?: string | null;
  displayName?: string | null;
  endDateTime?: string | null;
  key?: string | null;
  keyId?: string;
  startDateTime?: string | null;
  type?: string;
  usage?: string;
}

interface PermissionGrant {
  id: string;
  scope?: string | null;
}


/** Thrown inside a wait when an object that Graph says exists is not yet visible to reads. */
class NotYetVisible extends Error {}

const NEW_SECRET_PENDING = /AADSTS(7000215|700016)\b/;
const NOTES_LIMIT = 1024;

/** An OData key literal: single quotes doubled, then URL-encoded. */
function key(value: string): string {
  return encodeURIComponent(value.replace(/'/g, "''"));
}

function distinct<T>(items: readonly T[], by: (item: T) => string): T[] {
  const seen = new Set<string>();
  return items.filter((item) => {
    const k = by(item);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

const lower = (s: string) => s.toLowerCase();

/** The application as the spec describes it (spec §4.1, §17 step 3): every collection is written whole, so a re-run converges. */
export function applicationBody(spec: AppSpec): Record<string, unknown> {
  const uris = (platform: AppSpec['platform']) => (spec.platform === platform ? [...spec.redirectUris] : []);
  const byResource = new Map<string, Array<{ id: string; type: PermissionType }>>();
  for (const p of distinct(spec.permissions, (x) => `${lower(x.resourceAppId)}/${lower(x.id)}/${x.type}`)) {
    const list = byResource.get(p.resourceAppId) ?? [];
    list.push({ id: p.id, type: p.type });
    byResource.set(p.resourceAppId, list);
  }
  const notes = `${spec.purpose}\n\nRegistered through Registrar, request ${spec.requestId}.`;
  return {
    displayName: spec.displayName,
    signInAudience: spec.signInAudience,
    web: { redirectUris: uris('web') },
    spa: { redirectUris: uris('spa') },
    publicClient: { redirectUris: uris('publicClient') },
    requiredResourceAccess: [...byResource].map(([resourceAppId, resourceAccess]) => ({ resourceAppId, resourceAccess })),
    tags: tagsFor(spec.requestId, spec.marker),
    notes: notes.length <= NOTES_LIMIT ? notes : `${notes.slice(0, NOTES_LIMIT - 1)}…`,
    // Personal Microsoft accounts require v2 access tokens.
    ...(spec.signInAudience === 'AzureADandPersonalMicrosoftAccount' ? { api: { requestedAccessTokenVersion: 2 } } : {}),
  };
}

export class GraphProvisioner implements Provisioner {
  private readonly client: Client;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly stepTimeoutMs: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly replicationWindowMs: number;
  private readonly catalogTtlMs: number;
  /** Ids (object ids, appIds, uniqueNames, lower-case) Registrar wrote moments ago, with when. */
  private readonly recent = new Map<string, number>();
  /** Which request an object belongs to, for the logs. */
  private readonly requestOf = new Map<string, string>();
  private readonly resources = new Map<string, { at: number; sp: Promise<ResourceServicePrincipal> }>();
  /** Credential writes to one application, one at a time (spec §13.3 point 5). */
  private readonly locks = new Map<string, Promise<void>>();

  constructor(
    private readonly connection: GraphConnection,
    private readonly options: GraphProvisionerOptions,
  ) {
    this.client = connection.client;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? realSleep;
    this.random = options.random ?? Math.random;
    this.stepTimeoutMs = options.stepTimeoutMs ?? 180_000;
    this.baseDelayMs = options.baseDelayMs ?? 1000;
    this.maxDelayMs = options.maxDelayMs ?? 30_000;
    this.replicationWindowMs = options.replicationWindowMs ?? 300_000;
    this.catalogTtlMs = options.catalogTtlMs ?? 3_600_000;
  }

  // -------------------------------------------------------------------------------------------------------
  // Catalog

  async catalog(resourceAppId: string): Promise<ResourceCatalog> {
    const sp = await this.resourceServicePrincipal(resourceAppId);
    const roles: CatalogPermission[] = (sp.appRoles ?? [])
      .filter((r) => r.isEnabled !== false && typeof r.value === 'string' && r.value !== '' && (r.allowedMemberTypes ?? ['Application']).includes('Application'))
      .map((r) => ({ id: r.id, value: r.value!, type: 'Role', adminConsentRequired: true, description: r.description ?? '' }));
    const scopes: CatalogPermission[] = (sp.oauth2PermissionScopes ?? [])
      .filter((s) => s.isEnabled !== false && typeof s.value === 'string' && s.value !== '')
      .map((s) => ({ id: s.id, value: s.value!, type: 'Scope', adminConsentRequired: s.type !== 'User', description: s.adminConsentDescription ?? '' }));
    return { resourceAppId: sp.appId, resourceDisplayName: sp.displayName, permissions: [...roles, ...scopes] };
  }

  async resolvePermission(resourceAppId: string, value: string, type: PermissionType): Promise<PermissionRef | undefined> {
    const catalog = await this.catalog(resourceAppId);
    const found = catalog.permissions.find((p) => p.type === type && lower(p.value) === lower(value));
    return found && { ...found, resourceAppId: catalog.resourceAppId, resourceDisplayName: catalog.resourceDisplayName };
  }

  /** GET /servicePrincipals(appId=...) with the catalog (spec §7.3), once per TTL; a failed read is not cached. */
  private resourceServicePrincipal(resourceAppId: string): Promise<ResourceServicePrincipal> {
    const k = lower(resourceAppId);
    const cached = this.resources.get(k);
    if (cached && this.now() - cached.at < this.catalogTtlMs) return cached.sp;
    const log = this.log('read-catalog');
    const sp = this.run(
      log,
      { doing: `reading the permissions of API ${resourceAppId} (its service principal)`, requires: 'Application.Read.All' },
      { references: [] },
      { method: 'GET', path: `/servicePrincipals(appId='${key(resourceAppId)}')`, select: ['id', 'appId', 'displayName', 'appRoles', 'oauth2PermissionScopes'] },
    ).then((body) => body as ResourceServicePrincipal);
    this.resources.set(k, { at: this.now(), sp });
    sp.then(
      (found) => log.info({ resourceAppId, servicePrincipalId: found.id }, 'catalog read'),
      () => this.resources.delete(k),
    );
    return sp;
  }

  // -------------------------------------------------------------------------------------------------------
  // Application, owners, service principal

  async upsertApplication(spec: AppSpec): Promise<ProvisionedApp> {
    const uniqueName = uniqueNameFor(spec.requestId);
    this.requestOf.set(lower(uniqueName), spec.requestId);
    const log = this.log('upsert-application', spec.requestId);
    const path = `/applications(uniqueName='${key(uniqueName)}')`;
    const help: FailureHelp = { doing: `creating or updating application ${uniqueName}`, requires: 'Application.ReadWrite.All' };
    const deadline = this.deadline();
    // Look before writing: an application that already holds this uniqueName and was not made for this request
    // (another deployment's, an old table's, anyone's) is left as it is. The upsert below would rename it.
    const existing = (await this.run(log, help, { references: [] }, { method: 'GET', path: '/applications', select: ['id', 'tags'], filter: `uniqueName eq '${uniqueName.replace(/'/g, "''")}'` }, deadline)) as Page<{ id: string; tags?: string[] | null }>;
    const holder = existing.value?.[0];
    if (holder) this.requireOurs(spec, uniqueName, holder);
    // Written now, so reads may miss it for a while whatever the answer.
    this.markRecent(uniqueName);
    const created = (await this.run(log, help, { references: [uniqueName], upsertByUniqueName: true }, { method: 'PATCH', path, body: applicationBody(spec), headers: { Prefer: 'create-if-missing' } }, deadline)) as
      | { id?: string; appId?: string }
      | undefined;
    if (created?.id && created.appId) {
      this.remember(spec.requestId, created.id, created.appId);
      log.info({ applicationObjectId: created.id, appId: created.appId }, 'application created');
      return { applicationObjectId: created.id, appId: created.appId, created: true };
    }
    const found = (await this.run(log, help, { references: [uniqueName] }, { method: 'GET', path, select: ['id', 'appId', 'createdDateTime', 'tags'] }, deadline)) as {
      id: string;
      appId: string;
      createdDateTime?: string | null;
      tags?: string[] | null;
    };
    // Updated, not created: it existed. Replication may have hidden it from the list above, so check it again
    // before anything else (owners, service principal, permissions, a secret) touches it.
    this.requireOurs(spec, uniqueName, found);
    const createdAt = Date.parse(found.createdDateTime ?? '');
    this.remember(spec.requestId, found.id, found.appId, Number.isNaN(createdAt) ? undefined : createdAt);
    log.info({ applicationObjectId: found.id, appId: found.appId }, 'application updated');
    return { applicationObjectId: found.id, appId: found.appId, created: false };
  }

  /** Refuses an application this request did not make: it lacks the request's marker (or, for an older request, its tag). */
  private requireOurs(spec: AppSpec, uniqueName: string, app: { id: string; tags?: string[] | null }): void {
    const tags = app.tags ?? [];
    const ours = spec.marker ? tags.includes(markerTag(spec.marker)) : tags.includes(tagsFor(spec.requestId)[1]!);
    if (ours) return;
    throw new RegistrarError(
      'conflict',
      `An application with the unique name ${uniqueName} already exists in Entra ID, and Registrar did not create it for this request, so it left it untouched. Ask for the app again with \`request\`; an administrator can look at application ${app.id}.`,
      { detail: `application ${app.id} holds uniqueName ${uniqueName} without this request's marker tag; not adopted` },
    );
  }

  async ensureApplicationOwners(applicationObjectId: string, ownerIds: readonly string[]): Promise<void> {
    await this.ensureOwners('applications', applicationObjectId, ownerIds, this.log('ensure-application-owners', this.requestOf.get(lower(applicationObjectId))));
  }

  async ensureServicePrincipal(appId: string, ownerIds: readonly string[]): Promise<string> {
    const requestId = this.requestOf.get(lower(appId));
    const log = this.log('ensure-service-principal', requestId);
    const path = `/servicePrincipals(appId='${key(appId)}')`;
    const help: FailureHelp = { doing: `creating the service principal of application ${appId}`, requires: 'Application.ReadWrite.All' };
    const deadline = this.deadline();
    const created = (await this.run(log, help, { references: [appId] }, { method: 'PATCH', path, body: {}, headers: { Prefer: 'create-if-missing' } }, deadline)) as { id?: string } | undefined;
    let servicePrincipalId: string;
    if (created?.id) {
      servicePrincipalId = created.id;
      this.markRecent(servicePrincipalId);
      log.info({ appId, servicePrincipalId }, 'service principal created');
    } else {
      const found = (await this.run(log, help, { references: [appId] }, { method: 'GET', path, select: ['id'] }, deadline)) as { id: string };
      servicePrincipalId = found.id;
      // Made by an earlier attempt whose answer was lost, or long ago: as recent as its application.
      if (this.isRecent(appId)) this.markRecent(servicePrincipalId);
      log.info({ appId, servicePrincipalId }, 'service principal found');
    }
    if (requestId) this.requestOf.set(lower(servicePrincipalId), requestId);
    await this.ensureOwners('servicePrincipals', servicePrincipalId, ownerIds, this.log('ensure-service-principal-owners', requestId));
    return servicePrincipalId;
  }

  /** Spec §9: lists the owners, adds the missing ones with $ref; "already exist" (an earlier attempt landed) is done. */
  private async ensureOwners(set: 'applications' | 'servicePrincipals', objectId: string, ownerIds: readonly string[], log: Logger): Promise<void> {
    const deadline = this.deadline();
    const help: FailureHelp = {
      doing: `adding owners to ${set === 'applications' ? 'application' : 'service principal'} ${objectId}`,
      requires: 'Application.ReadWrite.All and Directory.Read.All (OwnedBy is not enough to add an owner)',
    };
    const current = await this.listAll<{ id: string }>(log, help, { references: [objectId] }, { method: 'GET', path: `/${set}/${objectId}/owners`, select: ['id'] }, deadline);
    const have = new Set(current.map((o) => lower(o.id)));
    const missing = distinct(ownerIds, lower).filter((id) => !have.has(lower(id)));
    for (const ownerId of missing) {
      try {
        await this.retrying(log, deadline, { references: [objectId] }, () =>
          this.send({ method: 'POST', path: `/${set}/${objectId}/owners/$ref`, body: { '@odata.id': `${this.connection.graphHost}/v1.0/directoryObjects/${ownerId}` } }),
        );
        log.info({ objectId, ownerId }, 'owner added');
      } catch (err) {
        const c = classifyGraphError(err, this.context([objectId]));
        if (c.kind === 'already-exists' && c.what === 'owner') {
          log.info({ objectId, ownerId }, 'owner already present');
          continue;
        }
        throw this.fail(err, { ...help, doing: `adding owner ${ownerId} to ${set === 'applications' ? 'application' : 'service principal'} ${objectId}` }, log);
      }
    }
    if (missing.length === 0) log.info({ objectId, owners: ownerIds.length }, 'owners already present');
  }

  // -------------------------------------------------------------------------------------------------------
  // Consent and roles

  async grantApplicationPermissions(servicePrincipalId: string, permissions: readonly PermissionRef[]): Promise<string[]> {
    const log = this.log('grant-application-permissions', this.requestOf.get(lower(servicePrincipalId)));
    const roles = distinct(
      permissions.filter((p) => p.type === 'Role'),
      (p) => `${lower(p.resourceAppId)}/${lower(p.id)}`,
    );
    if (roles.length === 0) return [];
    const deadline = this.deadline();
    const help: FailureHelp = { doing: `granting application permissions to service principal ${servicePrincipalId}`, requires: 'AppRoleAssignment.ReadWrite.All and Application.Read.All' };
    type Assignment = { id: string; resourceId: string; appRoleId: string };
    const list = () =>
      this.listAll<Assignment>(log, help, { references: [servicePrincipalId] }, { method: 'GET', path: `/servicePrincipals/${servicePrincipalId}/appRoleAssignments` }, deadline);
    const matches = (a: Assignment, resourceId: string, appRoleId: string) => lower(a.resourceId) === lower(resourceId) && lower(a.appRoleId) === lower(appRoleId);
    const existing = await list();
    const ids: string[] = [];
    for (const permission of roles) {
      const resource = await this.resourceServicePrincipal(permission.resourceAppId);
      const found = existing.find((a) => matches(a, resource.id, permission.id));
      if (found) {
        ids.push(found.id);
        continue;
      }
      const doing = `granting ${permission.value} on ${resource.displayName} to service principal ${servicePrincipalId}`;
      try {
        const created = (await this.retrying(log, deadline, { references: [servicePrincipalId] }, () =>
          this.send({ method: 'POST', path: `/servicePrincipals/${resource.id}/appRoleAssignedTo`, body: { principalId: servicePrincipalId, resourceId: resource.id, appRoleId: permission.id } }),
        )) as Assignment;
        ids.push(created.id);
        log.info({ servicePrincipalId, resourceId: resource.id, appRoleId: permission.id, assignmentId: created.id }, 'application permission granted');
      } catch (err) {
        const c = classifyGraphError(err, this.context([servicePrincipalId]));
        if (!(c.kind === 'already-exists' && c.what === 'app-role-assignment')) throw this.fail(err, { ...help, doing }, log);
        // An earlier attempt landed (its answer was lost): adopt it once reads can see it.
        const adopted = await this.waitUntilVisible(log, help, deadline, async () => (await list()).find((a) => matches(a, resource.id, permission.id)));
        ids.push(adopted.id);
        log.info({ servicePrincipalId, resourceId: resource.id, appRoleId: permission.id, assignmentId: adopted.id }, 'application permission already granted');
      }
    }
    return ids;
  }

  async grantDelegatedPermissions(servicePrincipalId: string, permissions: readonly PermissionRef[]): Promise<string[]> {
    const log = this.log('grant-delegated-permissions', this.requestOf.get(lower(servicePrincipalId)));
    const scopes = permissions.filter((p) => p.type === 'Scope');
    if (scopes.length === 0) return [];
    const deadline = this.deadline();
    const help: FailureHelp = { doing: `granting delegated permissions to service principal ${servicePrincipalId}`, requires: 'DelegatedPermissionGrant.ReadWrite.All' };
    const byResource = new Map<string, string[]>();
    for (const p of scopes) byResource.set(lower(p.resourceAppId), [...(byResource.get(lower(p.resourceAppId)) ?? []), p.value]);
    const ids: string[] = [];
    for (const [resourceAppId, values] of byResource) {
      const resource = await this.resourceServicePrincipal(resourceAppId);
      const references = [servicePrincipalId];
      const find = async () =>
        (
          await this.listAll<PermissionGrant>(
            log,
            help,
            { references },
            { method: 'GET', path: '/oauth2PermissionGrants', filter: `clientId eq '${servicePrincipalId}' and consentType eq 'AllPrincipals' and resourceId eq '${resource.id}'` },
            deadline,
          )
        )[0];
      let grant = await find();
      if (!grant) {
        const scope = distinct(values, lower).join(' ');
        try {
          grant = (await this.retrying(log, deadline, { references }, () =>
            this.send({ method: 'POST', path: '/oauth2PermissionGrants', body: { clientId: servicePrincipalId, consentType: 'AllPrincipals', resourceId: resource.id, scope } }),
          )) as PermissionGrant;
          log.info({ servicePrincipalId, resourceId: resource.id, grantId: grant.id, scope }, 'delegated permissions granted');
          ids.push(grant.id);
          continue;
        } catch (err) {
          const c = classifyGraphError(err, this.context(references));
          if (!(c.kind === 'already-exists' && c.what === 'permission-grant')) throw this.fail(err, { ...help, doing: `granting ${scope} on ${resource.displayName} to service principal ${servicePrincipalId}` }, log);
          // Made by an earlier attempt or someone else: merge into it once reads can see it.
          grant = await this.waitUntilVisible(log, help, deadline, find);
        }
      }
      const current = (grant.scope ?? '').split(' ').filter(Boolean);
      const merged = distinct([...current, ...values], lower);
      if (merged.length > current.length) {
        const grantId = grant.id;
        await this.run(log, { ...help, doing: `adding ${values.join(' ')} to permission grant ${grantId}` }, { references }, { method: 'PATCH', path: `/oauth2PermissionGrants/${grantId}`, body: { scope: merged.join(' ') } }, deadline);
        log.info({ servicePrincipalId, resourceId: resource.id, grantId, scope: merged.join(' ') }, 'delegated permissions merged');
      } else {
        log.info({ servicePrincipalId, resourceId: resource.id, grantId: grant.id }, 'delegated permissions already granted');
      }
      ids.push(grant.id);
    }
    return ids;
  }

  async assignDirectoryRole(servicePrincipalId: string, roleTemplateId: string): Promise<string> {
    const log = this.log('assign-directory-role', this.requestOf.get(lower(servicePrincipalId)));
    const deadline = this.deadline();
    const help: FailureHelp = { doing: `assigning directory role ${roleTemplateId} to service principal ${servicePrincipalId}`, requires: 'RoleManagement.ReadWrite.Directory' };
    type RoleAssignment = { id: string; directoryScopeId?: string | null };
    const find = async () =>
      (
        await this.listAll<RoleAssignment>(
          log,
          help,
          { references: [servicePrincipalId] },
          { method: 'GET', path: '/roleManagement/directory/roleAssignments', filter: `principalId eq '${servicePrincipalId}' and roleDefinitionId eq '${roleTemplateId}'` },
          deadline,
        )
      ).find((a) => a.directoryScopeId === '/');
    const existing = await find();
    if (existing) {
      log.info({ servicePrincipalId, roleTemplateId, roleAssignmentId: existing.id }, 'directory role already assigned');
      return existing.id;
    }
    try {
      const created = (await this.retrying(log, deadline, { references: [servicePrincipalId] }, () =>
        this.send({
          method: 'POST',
          path: '/roleManagement/directory/roleAssignments',
          body: { '@odata.type': '#microsoft.graph.unifiedRoleAssignment', roleDefinitionId: roleTemplateId, principalId: servicePrincipalId, directoryScopeId: '/' },
        }),
      )) as RoleAssignment;
      log.info({ servicePrincipalId, roleTemplateId, roleAssignmentId: created.id }, 'directory role assigned');
      return created.id;
    } catch (err) {
      const c = classifyGraphError(err, this.context([servicePrincipalId]));
      if (!(c.kind === 'already-exists' && c.what === 'conflicting-object')) throw this.fail(err, help, log);
      const adopted = await this.waitUntilVisible(log, help, deadline, find);
      log.info({ servicePrincipalId, roleTemplateId, roleAssignmentId: adopted.id }, 'directory role already assigned');
      return adopted.id;
    }
  }

  // -------------------------------------------------------------------------------------------------------
  // Credentials

  /**
   * Spec §6.5: PATCH keyCredentials replaces every key, so the existing ones are read with $select=keyCredentials
   * (which returns their public keys) and sent back with the new one. The new key's id is chosen here, so a retry
   * after a lost answer sends the same list again and cannot add the certificate twice.
   */
  async addCertificate(applicationObjectId: string, certificate: CertificateSpec): Promise<void> {
    const log = this.log('add-certificate', this.requestOf.get(lower(applicationObjectId)));
    const thumbprint = certificate.thumbprint.replace(/[^0-9a-f]/gi, '').toUpperCase();
    await this.serialized(applicationObjectId, async () => {
      const deadline = this.deadline();
      const help: FailureHelp = { doing: `adding certificate ${thumbprint} to application ${applicationObjectId}`, requires: 'Application.ReadWrite.All' };
      const references = [applicationObjectId];
      const app = (await this.run(log, help, { references }, { method: 'GET', path: `/applications/${applicationObjectId}`, select: ['keyCredentials'] }, deadline)) as { keyCredentials?: KeyCredential[] };
      const existing = app.keyCredentials ?? [];
      const sameCertificate = (k: KeyCredential) =>
        (k.customKeyIdentifier ?? '').toUpperCase() === thumbprint || (!!k.key && createHash('sha1').update(Buffer.from(k.key, 'base64')).digest('hex').toUpperCase() === thumbprint);
      const present = existing.find(sameCertificate);
      if (present) {
        log.info({ applicationObjectId, thumbprint, keyId: present.keyId }, 'certificate already present');
        return;
      }
      const keyId = randomUUID();
      const kept = existing.map(({ key: der, ...rest }) => (der ? { ...rest, key: der } : rest));
      const added = {
        keyId,
        type: 'AsymmetricX509Cert',
        usage: 'Verify',
        key: certificate.derBase64,
        displayName: certificate.subject,
        // Whole seconds inside the certificate's validity: Graph refuses a key that outlives its certificate.
        startDateTime: new Date(Math.ceil(Date.parse(certificate.notBefore) / 1000) * 1000).toISOString(),
        endDateTime: new Date(Math.floor(Date.parse(certificate.notAfter) / 1000) * 1000).toISOString(),
      };
      await this.run(log, help, { references }, { method: 'PATCH', path: `/applications/${applicationObjectId}`, body: { keyCredentials: [...kept, added] } }, deadline);
      log.info({ applicationObjectId, thumbprint, keyId }, 'certificate added');
    });
  }

  /**
   * Spec §6.2. Not idempotent: each call that lands makes a new secret, and the secret text exists only in the
   * answer. So the call is retried only when Graph said it did nothing (429, 503, 409 concurrency, 404 while
   * the app replicates). When the answer is lost or is a 500/502/504, the secret may exist but nobody can ever
   * read it; retrying would leave that orphan and make a second one, so this fails and says so instead.
   */
  async addPassword(applicationObjectId: string, options: { displayName: string; endDateTime: Date }): Promise<NewSecret> {
    const log = this.log('add-password', this.requestOf.get(lower(applicationObjectId)));
    return this.serialized(applicationObjectId, async () => {
      const deadline = this.deadline();
      const help: FailureHelp = { doing: `adding a client secret to application ${applicationObjectId}`, requires: 'Application.ReadWrite.All' };
      const context = { references: [applicationObjectId] };
      let answer: { keyId?: string; secretText?: string; hint?: string; endDateTime?: string };
      try {
        answer = (await this.retrying(
          log,
          deadline,
          context,
          () => this.send({ method: 'POST', path: `/applications/${applicationObjectId}/addPassword`, body: { passwordCredential: { displayName: options.displayName, endDateTime: options.endDateTime.toISOString() } } }),
          false,
        )) as typeof answer;
      } catch (err) {
        const c = classifyGraphError(err, this.context(context.references));
        if (c.kind === 'transient' && c.applied === 'maybe') {
          const f = readGraphFailure(err);
          log.warn({ applicationObjectId, status: f.status, code: f.code, displayName: options.displayName }, 'secret outcome unknown');
          throw new RegistrarError('unavailable', 'Microsoft Entra ID did not confirm the new secret, so none can be shown. Ask for a new secret in a minute.', {
            cause: err,
            detail: `${help.doing}: the answer was lost (${f.status ?? f.code}). A secret named "${options.displayName}" may have been created that nobody can read; it is not retried, to avoid a second one. Remove it in the app registration's Certificates & secrets if it is there.`,
          });
        }
        throw this.fail(err, help, log);
      }
      if (!answer.keyId || !answer.secretText) {
        throw new RegistrarError('unavailable', 'Microsoft Entra ID did not return the new secret. Ask for a new secret in a minute.', {
          detail: `${help.doing}: Graph answered without keyId or secretText.`,
        });
      }
      const endDateTime = answer.endDateTime ?? options.endDateTime.toISOString();
      log.info({ applicationObjectId, keyId: answer.keyId, hint: answer.hint, endDateTime }, 'password added');
      return { keyId: answer.keyId, secretText: answer.secretText, hint: answer.hint ?? answer.secretText.slice(0, 3), endDateTime };
    });
  }

  adoptCheckpoint(requestId: string, ids: { applicationObjectId: string; appId: string; servicePrincipalId?: string }, createdAt: Date): void {
    this.remember(requestId, ids.applicationObjectId, ids.appId, createdAt.getTime());
    if (ids.servicePrincipalId && this.now() - createdAt.getTime() < this.replicationWindowMs) this.markRecent(ids.servicePrincipalId, createdAt.getTime());
  }

  /** Spec §6.3. Removing a secret that is already gone (404 on this keyId) counts as done. */
  async removePassword(applicationObjectId: string, keyId: string): Promise<void> {
    const log = this.log('remove-password', this.requestOf.get(lower(applicationObjectId)));
    await this.serialized(applicationObjectId, async () => {
      const help: FailureHelp = { doing: `removing client secret ${keyId} from application ${applicationObjectId}`, requires: 'Application.ReadWrite.All' };
      try {
        await this.run(log, help, { references: [applicationObjectId] }, { method: 'POST', path: `/applications/${applicationObjectId}/removePassword`, body: { keyId } });
      } catch (err) {
        if (!(err instanceof RegistrarError && err.code === 'not-found')) throw err;
        log.info({ applicationObjectId, keyId }, 'password already removed');
        return;
      }
      log.info({ applicationObjectId, keyId }, 'password removed');
    });
  }

  /** Spec §2.5: a new secret (or app) is unknown to the token service for a while (AADSTS7000215 / 700016). */
  async verifySecret(appId: string, secretText: string, deadline: Date): Promise<'works' | 'pending'> {
    const log = this.log('verify-secret', this.requestOf.get(lower(appId)));
    const { tenantId, authorityHost, graphHost } = this.connection;
    if (!tenantId) {
      throw new RegistrarError('unavailable', 'Registrar cannot check the new secret: its tenant is not configured.', {
        detail: 'verifying a new client secret: AZURE_TENANT_ID is not set; set it to the tenant id (GUID) Registrar manages.',
      });
    }
    const credential = new ClientSecretCredential(tenantId, appId, secretText, { authorityHost, disableInstanceDiscovery: true });
    const aadsts = (err: unknown) => /AADSTS(\d+)/.exec(err instanceof Error ? err.message : String(err))?.[1];
    try {
      await withRetry(() => credential.getToken(`${graphHost}/.default`), {
        classify: (err) => (NEW_SECRET_PENDING.test(err instanceof Error ? err.message : String(err)) ? 'retry' : 'fail'),
        deadline,
        ...this.timing(),
        onRetry: ({ attempt, delayMs, error }) => log.info({ appId, attempt, delayMs, aadsts: aadsts(error) }, 'secret not yet usable'),
      });
    } catch (err) {
      if (NEW_SECRET_PENDING.test(err instanceof Error ? err.message : String(err))) {
        log.info({ appId, aadsts: aadsts(err) }, 'secret still propagating');
        return 'pending';
      }
      log.warn({ appId, aadsts: aadsts(err) }, 'secret refused');
      throw new RegistrarError('invalid-input', 'Microsoft Entra ID refused the new secret. An administrator should look at the app registration.', {
        cause: err,
        detail: `verifying the new client secret of app ${appId}: the token endpoint answered AADSTS${aadsts(err) ?? '?'} (not a propagation delay).`,
      });
    }
    log.info({ appId }, 'secret works');
    return 'works';
  }

  // -------------------------------------------------------------------------------------------------------
  // Plumbing

  /** The backoff and clock every retry of this provisioner shares (tests inject their own). */
  private timing() {
    return { baseDelayMs: this.baseDelayMs, maxDelayMs: this.maxDelayMs, now: this.now, sleep: this.sleep, random: this.random };
  }

  private send(call: GraphCall): Promise<unknown> {
    let request = this.client.api(call.path).middlewareOptions([NO_CLIENT_RETRY]);
    if (call.headers) request = request.headers(call.headers);
    if (call.select) request = request.select(call.select);
    if (call.filter) request = request.filter(call.filter);
    switch (call.method) {
      case 'GET':
        return request.get() as Promise<unknown>;
      case 'POST':
        return request.post(call.body) as Promise<unknown>;
      case 'PATCH':
        return request.patch(call.body) as Promise<unknown>;
      case 'DELETE':
        return request.delete() as Promise<unknown>;
    }
  }

  private context(references: readonly string[], upsertByUniqueName = false): CallContext {
    return { isRecent: (id) => this.isRecent(id), references, upsertByUniqueName };
  }

  private retrying<T>(log: Logger, deadline: Date, call: { references: readonly string[]; upsertByUniqueName?: boolean }, operation: () => Promise<T>, repeatable = true): Promise<T> {
    return withRetry(operation, {
      classify: graphRetryClassifier(this.context(call.references, call.upsertByUniqueName), repeatable),
      deadline,
      ...this.timing(),
      onRetry: ({ attempt, delayMs, reason, error }) => {
        const f = readGraphFailure(error);
        log.info({ attempt, delayMs, reason, status: f.status, code: f.code }, 'graph call retried');
      },
    });
  }

  /** One Graph call through the retry policy; a failure that is left becomes a RegistrarError. */
  private async run(log: Logger, help: FailureHelp, call: { references: readonly string[]; upsertByUniqueName?: boolean }, request: GraphCall, deadline = this.deadline()): Promise<unknown> {
    try {
      return await this.retrying(log, deadline, call, () => this.send(request));
    } catch (err) {
      throw this.fail(err, help, log);
    }
  }

  /** Every page of a collection (follows @odata.nextLink). */
  private async listAll<T>(log: Logger, help: FailureHelp, call: { references: readonly string[] }, first: GraphCall, deadline: Date): Promise<T[]> {
    const items: T[] = [];
    let page = (await this.run(log, help, call, first, deadline)) as Page<T>;
    items.push(...(page.value ?? []));
    while (page['@odata.nextLink']) {
      page = (await this.run(log, help, call, { method: 'GET', path: page['@odata.nextLink'] }, deadline)) as Page<T>;
      items.push(...(page.value ?? []));
    }
    return items;
  }

  /** Re-reads until Graph's reads show what its writes said exists (spec §13.1), or the deadline passes. */
  private async waitUntilVisible<T>(log: Logger, help: FailureHelp, deadline: Date, read: () => Promise<T | undefined>): Promise<T> {
    try {
      return await withRetry(
        async () => {
          const found = await read();
          if (found === undefined) throw new NotYetVisible('not yet visible');
          return found;
        },
        {
          classify: (err) => (err instanceof NotYetVisible ? 'retry' : 'fail'),
          deadline,
          baseDelayMs: this.baseDelayMs,
          maxDelayMs: this.maxDelayMs,
          now: this.now,
          sleep: this.sleep,
          random: this.random,
          onRetry: ({ attempt, delayMs }) => log.info({ attempt, delayMs }, 'waiting for replication'),
        },
      );
    } catch (err) {
      if (!(err instanceof NotYetVisible)) throw err;
      throw new RegistrarError('unavailable', 'Microsoft Entra ID is still replicating a change. Try again in a few minutes; nothing will be duplicated.', {
        detail: `${help.doing}: Graph said the object exists but reads did not show it before the deadline.`,
      });
    }
  }

  private fail(err: unknown, help: FailureHelp, log: Logger): RegistrarError {
    const error = toRegistrarError(err, help);
    // Refused for a missing permission: once an administrator grants it, the next call must not reuse a token
    // issued before the grant (it would be refused again until it expires).
    if (error.code === 'not-authorized') this.connection.renewToken?.();
    if (!(err instanceof RegistrarError)) {
      const f = readGraphFailure(err);
      log.warn({ status: f.status, code: f.code, graphMessage: f.message, doing: help.doing }, 'graph call failed');
    }
    return error;
  }

  private deadline(): Date {
    return new Date(this.now() + this.stepTimeoutMs);
  }

  private markRecent(id: string, at = this.now()): void {
    this.recent.set(lower(id), at);
    // Forget what has replicated long since, so the map stays small in a long-running process.
    if (this.recent.size > 1000) for (const [k, t] of this.recent) if (this.now() - t >= this.replicationWindowMs) this.recent.delete(k);
  }

  private isRecent(id: string): boolean {
    const at = this.recent.get(lower(id));
    return at !== undefined && this.now() - at < this.replicationWindowMs;
  }

  /** Records an application's ids for the logs and, when it was created within the window, as possibly replicating. */
  private remember(requestId: string, applicationObjectId: string, appId: string, createdAt: number = this.now()): void {
    this.requestOf.set(lower(applicationObjectId), requestId);
    this.requestOf.set(lower(appId), requestId);
    if (this.now() - createdAt < this.replicationWindowMs) {
      this.markRecent(applicationObjectId, createdAt);
      this.markRecent(appId, createdAt);
    }
  }

  private log(step: string, requestId?: string): Logger {
    return this.options.logger.child(requestId ? { requestId, step } : { step });
  }

  private async serialized<T>(objectId: string, work: () => Promise<T>): Promise<T> {
    const k = lower(objectId);
    const previous = this.locks.get(k) ?? Promise.resolve();
    let release: () => void = () => undefined;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    this.locks.set(k, tail);
    await previous;
    try {
      return await work();
    } finally {
      release();
      if (this.locks.get(k) === tail) this.locks.delete(k);
    }
  }
}
