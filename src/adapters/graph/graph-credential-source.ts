/**
 * CredentialSource on Microsoft Graph: the expiry scan reads every application's passwordCredentials and
 * keyCredentials with $select and $top=999 (https://learn.microsoft.com/graph/api/application-list), page by page,
 * and hands each page on before reading the next, so that memory holds one page however large the tenant. Every
 * request goes through the GraphCaller (its retry policy, a deadline per request); what still fails is a
 * RegistrarError.
 */
import { REGISTRAR_TAG } from '../../domain/app-spec';
import { RegistrarError } from '../../domain/errors';
import type { CredentialInfo } from '../../domain/expiry';
import type { Logger } from '../../lib/logger';
import type { AppPrivileges, ApplicationSummary, CredentialSource } from '../../services/ports';
import { type GraphCaller, type GraphGet, stringLiteral as literal } from './graph-caller';
import type { FailureHelp } from './graph-errors';
import { isGuid } from '../../domain/guid';

export interface GraphCredentialSourceOptions {
  graph: GraphCaller;
  logger: Logger;
}

const PAGE_SIZE = 999;
const USER_TYPE = '#microsoft.graph.user';
const SELECT = ['id', 'appId', 'displayName', 'passwordCredentials', 'keyCredentials', 'tags'];
const HEX_SHA1 = /^[0-9a-f]{40}$/i;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const READ_ALL = 'Application.Read.All';

interface GraphPasswordCredential {
  keyId?: string | null;
  displayName?: string | null;
  hint?: string | null;
  endDateTime?: string | null;
}

interface GraphKeyCredential {
  keyId?: string | null;
  displayName?: string | null;
  customKeyIdentifier?: string | null;
  endDateTime?: string | null;
}

export interface GraphApplication {
  id: string;
  appId: string;
  displayName?: string | null;
  passwordCredentials?: GraphPasswordCredential[] | null;
  keyCredentials?: GraphKeyCredential[] | null;
  tags?: string[] | null;
  owners?: Array<{ id?: string; '@odata.type'?: string }>;
}

/** A resource API's service principal, as far as naming the app roles granted on it needs. */
interface ResourceRoles {
  appId: string;
  displayName?: string | null;
  appRoles?: Array<{ id: string; value?: string | null }>;
}

/**
 * A certificate's SHA-1 thumbprint, upper-case hex, from keyCredential.customKeyIdentifier: Graph types it Binary
 * (base64 of the 20 bytes; https://learn.microsoft.com/graph/api/resources/keycredential) but shows certificates
 * uploaded with their thumbprint as the 40 hex digits (https://learn.microsoft.com/graph/applications-how-to-add-certificate),
 * and some tools store the hex digits' text as the binary. Anything else is no thumbprint.
 */
export function thumbprintOf(customKeyIdentifier: string | null | undefined): string | undefined {
  const value = customKeyIdentifier?.trim() ?? '';
  if (HEX_SHA1.test(value)) return value.toUpperCase();
  if (!BASE64.test(value)) return undefined;
  const bytes = Buffer.from(value, 'base64');
  if (bytes.length === 20) return bytes.toString('hex').toUpperCase();
  const text = bytes.toString('latin1');
  return HEX_SHA1.test(text) ? text.toUpperCase() : undefined;
}

/**
 * The credentials of applications as the scan reads them; one without a keyId or an end date
 * cannot expire. Every credential is one object literal of the same shape: a scan makes hundreds of thousands.
 */
export function credentialsOf(apps: readonly GraphApplication[]): CredentialInfo[] {
  const out: CredentialInfo[] = [];
  for (const app of apps) {
    const managed = (app.tags ?? []).includes(REGISTRAR_TAG);
    const appName = app.displayName ?? app.appId;
    // Users among the owners the page expanded; undefined when the page did not carry owners.
    const ownerIds = app.owners
      ? app.owners.filter((o) => o['@odata.type'] === USER_TYPE && o.id).map((o) => o.id!.toLowerCase())
      : undefined;
    for (const p of app.passwordCredentials ?? []) {
      if (!p.keyId || !p.endDateTime) continue;
      out.push({
        applicationObjectId: app.id,
        appId: app.appId,
        appName,
        kind: 'secret',
        keyId: p.keyId,
        displayName: p.displayName ?? undefined,
        hint: p.hint ?? undefined,
        thumbprint: undefined,
        endDateTime: p.endDateTime,
        managed,
        ownerIds,
      });
    }
    for (const k of app.keyCredentials ?? []) {
      if (!k.keyId || !k.endDateTime) continue;
      out.push({
        applicationObjectId: app.id,
        appId: app.appId,
        appName,
        kind: 'certificate',
        keyId: k.keyId,
        displayName: k.displayName ?? undefined,
        hint: undefined,
        thumbprint: thumbprintOf(k.customKeyIdentifier),
        endDateTime: k.endDateTime,
        managed,
        ownerIds,
      });
    }
  }
  return out;
}

export class GraphCredentialSource implements CredentialSource {
  private readonly graph: GraphCaller;

  constructor(private readonly options: GraphCredentialSourceOptions) {
    this.graph = options.graph;
  }

  async *pages(scope: 'all' | 'managed'): AsyncIterable<CredentialInfo[]> {
    const log = this.options.logger.child({ step: 'read-credentials', scope });
    const help: FailureHelp = {
      doing: `reading the credentials of ${scope === 'managed' ? "Registrar's applications" : 'every application'}`,
      requires: READ_ALL,
    };
    const filter = scope === 'managed' ? `tags/any(t:t eq ${literal(REGISTRAR_TAG)})` : undefined;
    // Owners come with each page ($expand, https://learn.microsoft.com/graph/query-parameters#expand): announcing
    // needs no request per application.
    const first: GraphGet = {
      path: '/applications',
      select: SELECT,
      filter,
      top: PAGE_SIZE,
      expand: 'owners($select=id)',
    };
    yield* this.graph.pages<GraphApplication, CredentialInfo[]>(
      first,
      (number) => ({ log, help: number === 1 ? help : { ...help, doing: `${help.doing} (page ${number})` } }),
      credentialsOf,
    );
  }

  async ownersOf(applicationObjectId: string): Promise<string[]> {
    const log = this.options.logger.child({ step: 'read-owners' });
    const help: FailureHelp = { doing: `reading the owners of application ${applicationObjectId}`, requires: READ_ALL };
    const owners = await this.graph.list<{ id?: string; '@odata.type'?: string }>(
      { path: `/applications/${encodeURIComponent(applicationObjectId)}/owners`, select: ['id'] },
      { log, help },
    );
    return owners.filter((o) => o.id && o['@odata.type'] === USER_TYPE).map((o) => o.id!.toLowerCase());
  }

  async findApplication(appIdOrName: string): Promise<ApplicationSummary | undefined> {
    const log = this.options.logger.child({ step: 'find-application' });
    const wanted = appIdOrName.trim();
    const byAppId = isGuid(wanted);
    const filter = byAppId ? `appId eq ${literal(wanted)}` : `displayName eq ${literal(wanted)}`;
    const help: FailureHelp = {
      doing: `looking up application ${byAppId ? wanted : `"${wanted}"`}`,
      requires: READ_ALL,
    };
    const found = await this.graph.list<GraphApplication>(
      { path: '/applications', select: SELECT, filter, top: PAGE_SIZE },
      { log, help },
    );
    if (found.length > 1) {
      const appIds = found.slice(0, 5).map((a) => a.appId);
      throw new RegistrarError(
        'invalid-input',
        `${found.length} apps are called "${wanted}"; use the appId of the one you mean (${appIds.join(', ')}${found.length > appIds.length ? ', …' : ''}).`,
      );
    }
    const app = found[0];
    return (
      app && {
        applicationObjectId: app.id,
        appId: app.appId,
        displayName: app.displayName ?? app.appId,
        credentials: credentialsOf([app]),
      }
    );
  }

  /**
   * What the app's service principal holds. Application permissions are its appRoleAssignments, named from each
   * resource's appRoles (https://learn.microsoft.com/graph/api/serviceprincipal-list-approleassignments); directory
   * roles are the role assignments whose principal it is
   * (https://learn.microsoft.com/graph/api/rbacapplication-list-roleassignments, $filter on principalId). An
   * assignment whose role the resource no longer names is kept with its id as the name, so that it counts as unknown.
   */
  async privilegesOf(appId: string): Promise<AppPrivileges> {
    const log = this.options.logger.child({ step: 'read-privileges' });
    const call = {
      log,
      help: {
        doing: `reading what the service principal of app ${appId} holds`,
        requires: 'Application.Read.All and Directory.Read.All',
      },
    };
    const sps = await this.graph.get<{ value?: Array<{ id: string }> }>(
      { path: '/servicePrincipals', select: ['id'], filter: `appId eq ${literal(appId)}` },
      call,
    );
    const sp = sps.value?.[0];
    if (!sp) return { applicationPermissions: [], directoryRoles: [] };
    const assignments = await this.graph.list<{
      resourceId?: string;
      appRoleId?: string;
      resourceDisplayName?: string | null;
    }>(
      {
        path: `/servicePrincipals/${encodeURIComponent(sp.id)}/appRoleAssignments`,
        select: ['resourceId', 'appRoleId', 'resourceDisplayName'],
      },
      call,
    );
    const resources = new Map<string, ResourceRoles>();
    const applicationPermissions: AppPrivileges['applicationPermissions'] = [];
    for (const assignment of assignments) {
      if (!assignment.resourceId || !assignment.appRoleId) continue;
      // The default app role (all zeros) grants nothing by name: it is how a user or app is assigned without a role.
      if (/^0{8}-0{4}-0{4}-0{4}-0{12}$/.test(assignment.appRoleId)) continue;
      let resource = resources.get(assignment.resourceId);
      if (!resource) {
        // One entity, not a page: the filter on its id reads it as the one item of a collection.
        const found = await this.graph.get<{ value?: ResourceRoles[] }>(
          {
            path: '/servicePrincipals',
            select: ['id', 'appId', 'displayName', 'appRoles'],
            filter: `id eq ${literal(assignment.resourceId)}`,
          },
          call,
        );
        resource = found.value?.[0] ?? {
          appId: assignment.resourceId,
          displayName: assignment.resourceDisplayName ?? null,
          appRoles: [],
        };
        resources.set(assignment.resourceId, resource);
      }
      const role = resource.appRoles?.find((r) => r.id.toLowerCase() === assignment.appRoleId!.toLowerCase());
      applicationPermissions.push({
        resourceAppId: resource.appId,
        resourceDisplayName: resource.displayName ?? assignment.resourceDisplayName ?? resource.appId,
        id: assignment.appRoleId,
        value: role?.value || assignment.appRoleId,
        type: 'Role',
        adminConsentRequired: true,
        description: '',
      });
    }
    const roles = await this.graph.list<{ roleDefinitionId?: string }>(
      {
        path: '/roleManagement/directory/roleAssignments',
        select: ['roleDefinitionId'],
        filter: `principalId eq ${literal(sp.id)}`,
      },
      call,
    );
    const directoryRoles = roles
      .filter((r) => r.roleDefinitionId)
      .map((r) => ({ roleDefinitionId: r.roleDefinitionId!.toLowerCase() }));
    return { servicePrincipalId: sp.id, applicationPermissions, directoryRoles };
  }
}
