/**
 * CredentialSource on Microsoft Graph (spec §6.7): the expiry scan reads every application's passwordCredentials
 * and keyCredentials with $select and $top=999, page by page, and hands each page on before reading the next, so
 * that memory holds one page however large the tenant. Each request goes through the provisioner's retry policy
 * (lib/retry.ts with graph-errors.ts' classifier, the client's own RetryHandler off): 429 waits Retry-After, 503
 * and network failures back off, within a deadline per request; what still fails is a RegistrarError.
 */
import type { Client } from '@microsoft/microsoft-graph-client';
import { REGISTRAR_TAG } from '../../domain/app-spec';
import { RegistrarError } from '../../domain/errors';
import type { CredentialInfo } from '../../domain/expiry';
import type { Logger } from '../../lib/logger';
import { realSleep, withRetry } from '../../lib/retry';
import type { AppPrivileges, ApplicationSummary, CredentialSource } from '../../services/ports';
import { type GraphConnection, NO_CLIENT_RETRY } from './graph-client';
import { type FailureHelp, graphRetryClassifier, readGraphFailure, toRegistrarError } from './graph-errors';
import { isGuid } from '../../domain/guid';

export interface GraphCredentialSourceOptions {
  logger: Logger;
  /** How long one request (a page, an owners list, a lookup) keeps retrying throttling and outages (default 3 minutes). */
  stepTimeoutMs?: number;
  /** First backoff and its cap (defaults 1 s and 30 s, as the provisioner's). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
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

/** A first request (a path and its query) or a nextLink, which carries its query as Graph wrote it. */
type GraphGet = string | { path: string; select: readonly string[]; filter?: string; top?: number; expand?: string };

interface Page<T> {
  value?: T[];
  '@odata.nextLink'?: string;
}

/**
 * A certificate's SHA-1 thumbprint, upper-case hex, from keyCredential.customKeyIdentifier: Graph types it Binary
 * (base64 of the 20 bytes) but shows certificates uploaded with their thumbprint as the 40 hex digits (spec §6.5),
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
    const ownerIds = app.owners ? app.owners.filter((o) => o['@odata.type'] === USER_TYPE && o.id).map((o) => o.id!.toLowerCase()) : undefined;
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

/** An OData string literal: single quotes doubled. */
const literal = (value: string) => `'${value.replace(/'/g, "''")}'`;

export class GraphCredentialSource implements CredentialSource {
  private readonly client: Client;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly connection: GraphConnection,
    private readonly options: GraphCredentialSourceOptions,
  ) {
    this.client = connection.client;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? realSleep;
  }

  async *pages(scope: 'all' | 'managed'): AsyncIterable<CredentialInfo[]> {
    const log = this.options.logger.child({ step: 'read-credentials', scope });
    const help: FailureHelp = { doing: `reading the credentials of ${scope === 'managed' ? "Registrar's applications" : 'every application'}`, requires: READ_ALL };
    const filter = scope === 'managed' ? `tags/any(t:t eq ${literal(REGISTRAR_TAG)})` : undefined;
    // Owners come with each page ($expand, spec §5.2): announcing needs no request per application.
    let target: GraphGet | undefined = { path: '/applications', select: SELECT, filter, top: PAGE_SIZE, expand: 'owners($select=id)' };
    for (let number = 1; target; number += 1) {
      const { credentials, next } = await this.credentialPage(log, number === 1 ? help : { ...help, doing: `${help.doing} (page ${number})` }, target);
      yield credentials;
      target = next;
    }
  }

  /** One page, as credentials: the page itself is not kept while the consumer works and the next one is read. */
  private async credentialPage(log: Logger, help: FailureHelp, target: GraphGet): Promise<{ credentials: CredentialInfo[]; next?: string }> {
    const page = await this.get<GraphApplication>(log, help, target);
    return { credentials: credentialsOf(page.value ?? []), next: page['@odata.nextLink'] };
  }

  async ownersOf(applicationObjectId: string): Promise<string[]> {
    const log = this.options.logger.child({ step: 'read-owners' });
    const help: FailureHelp = { doing: `reading the owners of application ${applicationObjectId}`, requires: READ_ALL };
    const owners: string[] = [];
    let page = await this.get<{ id?: string; '@odata.type'?: string }>(log, help, { path: `/applications/${encodeURIComponent(applicationObjectId)}/owners`, select: ['id'] });
    for (;;) {
      for (const o of page.value ?? []) if (o.id && o['@odata.type'] === USER_TYPE) owners.push(o.id.toLowerCase());
      const next = page['@odata.nextLink'];
      if (!next) return owners;
      page = await this.get(log, help, next);
    }
  }

  async findApplication(appIdOrName: string): Promise<ApplicationSummary | undefined> {
    const log = this.options.logger.child({ step: 'find-application' });
    const wanted = appIdOrName.trim();
    const byAppId = isGuid(wanted);
    const filter = byAppId ? `appId eq ${literal(wanted)}` : `displayName eq ${literal(wanted)}`;
    const help: FailureHelp = { doing: `looking up application ${byAppId ? wanted : `"${wanted}"`}`, requires: READ_ALL };
    const found: GraphApplication[] = [];
    let page = await this.get<GraphApplication>(log, help, { path: '/applications', select: SELECT, filter, top: PAGE_SIZE });
    for (;;) {
      found.push(...(page.value ?? []));
      const next = page['@odata.nextLink'];
      if (!next) break;
      page = await this.get(log, help, next);
    }
    if (found.length > 1) {
      const appIds = found.slice(0, 5).map((a) => a.appId);
      throw new RegistrarError(
        'invalid-input',
        `${found.length} apps are called "${wanted}"; use the appId of the one you mean (${appIds.join(', ')}${found.length > appIds.length ? ', …' : ''}).`,
      );
    }
    const app = found[0];
    return app && { applicationObjectId: app.id, appId: app.appId, displayName: app.displayName ?? app.appId, credentials: credentialsOf([app]) };
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
    const help: FailureHelp = { doing: `reading what the service principal of app ${appId} holds`, requires: 'Application.Read.All and Directory.Read.All' };
    const sps = await this.get<{ id: string }>(log, help, { path: '/servicePrincipals', select: ['id'], filter: `appId eq ${literal(appId)}` });
    const sp = sps.value?.[0];
    if (!sp) return { applicationPermissions: [], directoryRoles: [] };
    const assignments = await this.all<{ resourceId?: string; appRoleId?: string; resourceDisplayName?: string | null }>(log, help, {
      path: `/servicePrincipals/${encodeURIComponent(sp.id)}/appRoleAssignments`,
      select: ['resourceId', 'appRoleId', 'resourceDisplayName'],
    });
    const resources = new Map<string, ResourceRoles>();
    const applicationPermissions: AppPrivileges['applicationPermissions'] = [];
    for (const assignment of assignments) {
      if (!assignment.resourceId || !assignment.appRoleId) continue;
      // The default app role (all zeros) grants nothing by name: it is how a user or app is assigned without a role.
      if (/^0{8}-0{4}-0{4}-0{4}-0{12}$/.test(assignment.appRoleId)) continue;
      let resource = resources.get(assignment.resourceId);
      if (!resource) {
        // One entity, not a page: the filter on its id reads it as the one item of a collection.
        const found = await this.get<ResourceRoles>(log, help, { path: '/servicePrincipals', select: ['id', 'appId', 'displayName', 'appRoles'], filter: `id eq ${literal(assignment.resourceId)}` });
        resource = found.value?.[0] ?? { appId: assignment.resourceId, displayName: assignment.resourceDisplayName ?? null, appRoles: [] };
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
    const roles = await this.all<{ roleDefinitionId?: string }>(log, help, {
      path: '/roleManagement/directory/roleAssignments',
      select: ['roleDefinitionId'],
      filter: `principalId eq ${literal(sp.id)}`,
    });
    const directoryRoles = roles.filter((r) => r.roleDefinitionId).map((r) => ({ roleDefinitionId: r.roleDefinitionId!.toLowerCase() }));
    return { servicePrincipalId: sp.id, applicationPermissions, directoryRoles };
  }

  /** Every item of a collection, following nextLinks. */
  private async all<T>(log: Logger, help: FailureHelp, first: GraphGet): Promise<T[]> {
    const items: T[] = [];
    let page = await this.get<T>(log, help, first);
    for (;;) {
      items.push(...(page.value ?? []));
      const next = page['@odata.nextLink'];
      if (!next) return items;
      page = await this.get<T>(log, help, next);
    }
  }

  /**
   * One GET through the retry policy, with a deadline of its own; what is left of a failure becomes a
   * RegistrarError.
   */
  private async get<T>(log: Logger, help: FailureHelp, target: GraphGet): Promise<Page<T>> {
    const send = () => {
      if (typeof target === 'string') return this.client.api(target).middlewareOptions([NO_CLIENT_RETRY]).get() as Promise<Page<T>>;
      let request = this.client.api(target.path).middlewareOptions([NO_CLIENT_RETRY]).select([...target.select]);
      if (target.top) request = request.top(target.top);
      if (target.expand) request = request.expand(target.expand);
      // The client puts query values into the URL as they are, and a name may hold & or #.
      if (target.filter) request = request.filter(encodeURIComponent(target.filter));
      return request.get() as Promise<Page<T>>;
    };
    try {
      return await withRetry(send, {
        classify: graphRetryClassifier({ isRecent: () => false }),
        deadline: new Date(this.now() + (this.options.stepTimeoutMs ?? 180_000)),
        baseDelayMs: this.options.baseDelayMs ?? 1000,
        maxDelayMs: this.options.maxDelayMs ?? 30_000,
        now: this.now,
        sleep: this.sleep,
        onRetry: ({ attempt, delayMs, reason, error }) => {
          const f = readGraphFailure(error);
          log.info({ attempt, delayMs, reason, status: f.status, code: f.code }, 'graph call retried');
        },
      });
    } catch (err) {
      const error = toRegistrarError(err, help);
      // A token issued before an administrator granted the missing permission would be refused again.
      if (error.code === 'not-authorized') this.connection.renewToken();
      const f = readGraphFailure(err);
      log.warn({ status: f.status, code: f.code, graphMessage: f.message, doing: help.doing }, 'graph call failed');
      throw error;
    }
  }
}
