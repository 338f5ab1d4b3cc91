/**
 * The permissions a resource API offers, read from its service principal in the tenant
 * (https://learn.microsoft.com/graph/api/serviceprincipal-get: appRoles and oauth2PermissionScopes), and the
 * service principal itself, which the consent steps grant on.
 */
import { type CatalogPermission } from '../../domain/app-spec';
import { RegistrarError } from '../../domain/errors';
import type { ResourceCatalog, StepContext } from '../../services/ports';
import { keyLiteral } from './graph-caller';
import { messages, readGraphFailure, type FailureHelp } from './graph-errors';
import { callOf, lower, startStep, type StepDeps } from './graph-step';

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
    return catalogOf(await this.servicePrincipal(resourceAppId));
  }

  /** The catalog, or undefined when the resource has no service principal in this tenant (Graph answers 404). */
  async findResource(resourceAppId: string): Promise<ResourceCatalog | undefined> {
    try {
      return await this.catalog(resourceAppId);
    } catch (err) {
      if (err instanceof RegistrarError && err.code === 'not-found') return undefined;
      throw err;
    }
  }

  /**
   * The service principal of a Microsoft first-party API in this tenant: looked for by appId first (an earlier
   * attempt, or an administrator, may have made it), else created with POST /servicePrincipals {appId}, which Graph
   * accepts for an app Microsoft publishes (https://learn.microsoft.com/graph/api/serviceprincipal-post-serviceprincipals).
   * "Already in use" (409: an earlier attempt landed and its answer was lost) is adopted once reads show it; an appId
   * Entra knows no application for is refused with what to do, not retried.
   */
  async ensureResourceServicePrincipal(
    resourceAppId: string,
    context: StepContext,
  ): Promise<{ servicePrincipalId: string; catalog: ResourceCatalog }> {
    const { graph } = this.deps;
    const step = startStep(this.deps, 'ensure-resource-service-principal', context, []);
    const help: FailureHelp = {
      doing: `creating the service principal of API ${resourceAppId} in this tenant`,
      requires: 'Application.ReadWrite.All',
    };
    const call = callOf(step, help, [resourceAppId], { resourceServicePrincipal: true });
    const found = await this.findResource(resourceAppId);
    if (found) {
      const sp = await this.servicePrincipal(resourceAppId);
      step.log.info({ resourceAppId, servicePrincipalId: sp.id }, 'resource service principal found');
      return { servicePrincipalId: sp.id, catalog: found };
    }
    const k = lower(resourceAppId);
    try {
      const created = await graph.attempt<ResourceServicePrincipal>(
        { method: 'POST', path: '/servicePrincipals', body: { appId: resourceAppId } },
        call,
      );
      // The answer carries the roles and scopes: nothing waits for the new object to replicate to be read.
      this.resources.set(k, { at: graph.now(), sp: Promise.resolve(created) });
      step.log.info({ resourceAppId, servicePrincipalId: created.id }, 'resource service principal created');
      return { servicePrincipalId: created.id, catalog: catalogOf(created) };
    } catch (err) {
      const f = readGraphFailure(err);
      if (f.status === 409) {
        const adopted = await graph.waitUntil(async () => {
          this.resources.delete(k);
          return (await this.findResource(resourceAppId)) ? this.servicePrincipal(resourceAppId) : undefined;
        }, call);
        step.log.info({ resourceAppId, servicePrincipalId: adopted.id }, 'resource service principal already created');
        return { servicePrincipalId: adopted.id, catalog: catalogOf(adopted) };
      }
      if (
        f.status === 400 &&
        (f.detailCodes.includes('NoBackingApplicationObject') || f.message.includes(messages.noBackingApplication))
      ) {
        throw new RegistrarError(
          'invalid-input',
          `Microsoft Entra ID knows no application with app id ${resourceAppId}, so Registrar cannot add its service principal to this tenant. Check the API's app id; for an API of another organisation, its publisher's consent link adds it.`,
          { cause: err, detail: `${help.doing}: Graph answered 400 ${f.code}: "${f.message}"` },
        );
      }
      throw graph.fail(err, { log: step.log, help });
    }
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

/** What a resource's service principal offers: its enabled application roles and delegated scopes. */
export function catalogOf(sp: ResourceServicePrincipal): ResourceCatalog {
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
