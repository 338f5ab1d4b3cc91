/**
 * The permissions a resource API offers, read from its service principal in the tenant
 * (https://learn.microsoft.com/graph/api/serviceprincipal-get: appRoles and oauth2PermissionScopes), and the
 * service principal itself, which the consent steps grant on.
 */
import { type CatalogPermission, type PermissionRef, type PermissionType } from '../../domain/app-spec';
import type { ResourceCatalog } from '../../services/ports';
import { keyLiteral } from './graph-caller';
import { lower, type StepDeps } from './graph-step';

export interface ResourceServicePrincipal {
  id: string;
  appId: string;
  displayName: string;
  appRoles?: Array<{
    id: string;
    value?: string | null;
    description?: string | null;
    isEnabled?: boolean;
    allowedMemberTypes?: string[];
  }>;
  oauth2PermissionScopes?: Array<{
    id: string;
    value?: string | null;
    type?: string;
    adminConsentDescription?: string | null;
    isEnabled?: boolean;
  }>;
}

export interface GraphCatalogOptions extends StepDeps {
  /** How long a resource's permission catalog is cached (default 1 hour). */
  catalogTtlMs?: number;
}

export class GraphCatalog {
  /**
   * Resource service principals by appId, with when they were read. A cache, not memory of earlier calls: every
   * form opened reads Microsoft Graph's catalog (hundreds of permissions) inside a Teams invoke, and a resource's
   * permissions change rarely, so an entry is used for at most catalogTtlMs and a failed read is not kept.
   */
  private readonly resources = new Map<string, { at: number; sp: Promise<ResourceServicePrincipal> }>();
  private readonly catalogTtlMs: number;

  constructor(private readonly deps: GraphCatalogOptions) {
    this.catalogTtlMs = deps.catalogTtlMs ?? 3_600_000;
  }

  async catalog(resourceAppId: string): Promise<ResourceCatalog> {
    const sp = await this.servicePrincipal(resourceAppId);
    const roles: CatalogPermission[] = (sp.appRoles ?? [])
      .filter(
        (r) =>
          r.isEnabled !== false &&
          typeof r.value === 'string' &&
          r.value !== '' &&
          (r.allowedMemberTypes ?? ['Application']).includes('Application'),
      )
      .map((r) => ({
        id: r.id,
        value: r.value!,
        type: 'Role',
        adminConsentRequired: true,
        description: r.description ?? '',
      }));
    const scopes: CatalogPermission[] = (sp.oauth2PermissionScopes ?? [])
      .filter((s) => s.isEnabled !== false && typeof s.value === 'string' && s.value !== '')
      .map((s) => ({
        id: s.id,
        value: s.value!,
        type: 'Scope',
        adminConsentRequired: s.type !== 'User',
        description: s.adminConsentDescription ?? '',
      }));
    return { resourceAppId: sp.appId, resourceDisplayName: sp.displayName, permissions: [...roles, ...scopes] };
  }

  async resolvePermission(
    resourceAppId: string,
    value: string,
    type: PermissionType,
  ): Promise<PermissionRef | undefined> {
    const catalog = await this.catalog(resourceAppId);
    const found = catalog.permissions.find((p) => p.type === type && lower(p.value) === lower(value));
    return (
      found && { ...found, resourceAppId: catalog.resourceAppId, resourceDisplayName: catalog.resourceDisplayName }
    );
  }

  /** GET /servicePrincipals(appId=...) with the catalog, once per TTL. */
  servicePrincipal(resourceAppId: string): Promise<ResourceServicePrincipal> {
    const { graph } = this.deps;
    const k = lower(resourceAppId);
    const cached = this.resources.get(k);
    if (cached && graph.now() - cached.at < this.catalogTtlMs) return cached.sp;
    const log = this.deps.logger.child({ step: 'read-catalog' });
    const sp = graph.get<ResourceServicePrincipal>(
      {
        path: `/servicePrincipals(appId='${keyLiteral(resourceAppId)}')`,
        select: ['id', 'appId', 'displayName', 'appRoles', 'oauth2PermissionScopes'],
      },
      {
        log,
        help: {
          doing: `reading the permissions of API ${resourceAppId} (its service principal)`,
          requires: 'Application.Read.All',
        },
      },
    );
    this.resources.set(k, { at: graph.now(), sp });
    sp.then(
      (found) => log.info({ resourceAppId, servicePrincipalId: found.id }, 'catalog read'),
      () => this.resources.delete(k),
    );
    return sp;
  }
}
