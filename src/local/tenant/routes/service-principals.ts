/**
 * Service principals (https://learn.microsoft.com/graph/api/serviceprincipal-post-serviceprincipals): create for an application that exists (NoBackingApplicationObject while it
 * replicates; a Microsoft first-party appId needs none, see first-party-apps.ts), upsert by appId with Prefer: create-if-missing, read by id or appId, list, update, delete.
 * A service principal copies its application's appRoles and oauth2PermissionScopes; the Microsoft Graph
 * service principal comes from the seed with its permission catalog.
 */
import { type RouteModule, type TenantContext, isVisible } from '../context';
import { badRequest, GraphError, type GraphRequest, type GraphResponse, notFound, OWNED_BY, type Route } from '../http';
import {
  type ApplicationRecord,
  type Json,
  newObjectId,
  type ServicePrincipalRecord,
  type TenantState,
} from '../state';
import { deltaHandler } from './delta';
import { capabilities, collection, entity, EXPAND_MAX_PAGE_SIZE, expandedOwners, ownersExpand } from './directory';
import { applySelect, parseSelect } from '../odata';
import { firstPartyApp, firstPartyServicePrincipalProperties } from '../first-party-apps';

/** Write access limited to objects the caller owns (https://learn.microsoft.com/graph/permissions-reference); server.ts's authorize() knows the same name. */

export const APP_READ = [
  'Application.Read.All',
  'Application.ReadWrite.All',
  OWNED_BY,
  'Directory.Read.All',
  'Directory.ReadWrite.All',
] as const;
export const APP_WRITE = [OWNED_BY, 'Application.ReadWrite.All'] as const;

const EQ = { byDefault: ['eq', 'in'] } as const;
const EQ_STARTS = { byDefault: ['eq', 'in', 'startsWith'] } as const;

/** Every v1.0 servicePrincipal property (graph-openapi-subset.yaml) for $select; the filters Graph supports by default. */
export const SERVICE_PRINCIPALS = capabilities(
  'ServicePrincipal',
  'servicePrincipal',
  'id deletedDateTime accountEnabled addIns alternativeNames appDescription appDisplayName appId applicationTemplateId appOwnerOrganizationId ' +
    'appRoleAssignmentRequired appRoles createdByAppId customSecurityAttributes description disabledByMicrosoftStatus displayName homepage info ' +
    'isDisabled keyCredentials loginUrl logoutUrl notes notificationEmailAddresses oauth2PermissionScopes passwordCredentials preferredSingleSignOnMode ' +
    'preferredTokenSigningKeyThumbprint replyUrls resourceSpecificApplicationPermissions samlSingleSignOnSettings servicePrincipalNames ' +
    'servicePrincipalType signInAudience tags tokenEncryptionKeyId verifiedPublisher',
  {
    id: EQ,
    appId: EQ,
    displayName: EQ_STARTS,
    'servicePrincipalNames/any': EQ_STARTS,
    'tags/any': EQ_STARTS,
    servicePrincipalType: EQ,
    appOwnerOrganizationId: EQ,
    accountEnabled: EQ,
    appRoleAssignmentRequired: EQ,
  },
);

const WRITABLE = new Set(
  (
    'accountEnabled alternativeNames appDescription appRoleAssignmentRequired appRoles customSecurityAttributes description displayName homepage ' +
    'info keyCredentials loginUrl logoutUrl notes notificationEmailAddresses oauth2PermissionScopes preferredSingleSignOnMode ' +
    'preferredTokenSigningKeyThumbprint replyUrls samlSingleSignOnSettings servicePrincipalNames tags tokenEncryptionKeyId'
  ).split(' '),
);

/** A service principal by object id or appId key; 404 while it replicates. */
export function findServicePrincipal(
  state: TenantState,
  params: Record<string, string>,
  now: Date,
): ServicePrincipalRecord {
  const key = params.appId ?? params.id ?? '';
  const id = params.appId !== undefined ? state.appIdToServicePrincipal.get(key.toLowerCase()) : key.toLowerCase();
  const record = id ? state.data.servicePrincipals[id] : undefined;
  if (!record || !isVisible(record, now)) throw notFound(key);
  return record;
}

/** The application behind an appId, when other calls may see it. */
function visibleApplication(state: TenantState, appId: string, now: Date): ApplicationRecord | undefined {
  const id = state.appIdToApplication.get(appId.toLowerCase());
  const record = id ? state.data.applications[id] : undefined;
  return record && isVisible(record, now) ? record : undefined;
}

/** Only Application.ReadWrite.OwnedBy among the write permissions: the caller reaches only what it owns. */
export function onlyOwnedBy(request: GraphRequest): boolean {
  return request.caller.roles.has(OWNED_BY) && !request.caller.roles.has('Application.ReadWrite.All');
}

/** Checks a PATCH/POST body: read-only and unknown properties are refused as Graph does. */
function writableProperties(body: unknown, allowAppId: string | undefined): Json {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body))
    throw badRequest('One or more property values specified are invalid.');
  const out: Json = {};
  for (const [name, value] of Object.entries(body as Json)) {
    if (name.startsWith('@odata.') || name === 'owners@odata.bind') continue;
    if (name === 'appId' && allowAppId !== undefined && String(value).toLowerCase() === allowAppId.toLowerCase())
      continue;
    if (WRITABLE.has(name)) out[name] = value;
    else if (SERVICE_PRINCIPALS.selectable.has(name))
      throw badRequest(`Property '${name}' is read-only and cannot be set.`);
    else {
      throw new GraphError(
        400,
        'BadRequest',
        `The property '${name}' does not exist on type 'microsoft.graph.servicePrincipal'. Make sure to only use property names that are defined by the type or mark the type as open type.`,
      );
    }
  }
  return out;
}

const DIRECTORY_OBJECT_URL =
  /^https:\/\/[^/]+\/v1\.0\/(?:directoryObjects|users|servicePrincipals)\/([0-9a-fA-F-]{36})$/;

/** "owners@odata.bind" on create: directory object URLs of users or service principals that other calls can see. */
function ownerBinds(state: TenantState, request: GraphRequest): string[] {
  const binds = (request.body as Json | undefined)?.['owners@odata.bind'];
  if (binds === undefined) return [];
  if (!Array.isArray(binds))
    throw badRequest("Invalid value specified for property 'owners' of resource 'ServicePrincipal'.");
  return binds.map((url) => {
    const id = DIRECTORY_OBJECT_URL.exec(String(url))?.[1]?.toLowerCase();
    if (!id) throw badRequest(`Invalid object identifier '${String(url)}'.`);
    const owner = state.data.users[id] ?? state.data.servicePrincipals[id];
    if (!owner || !isVisible(owner, request.now)) throw notFound(id);
    return id;
  });
}

/** The service principal Entra makes for an application: display name, roles and scopes come from the app. */
function servicePrincipalFor(app: Json, tenantId: string, props: Json): Json {
  const api = (app.api ?? {}) as Json;
  const web = (app.web ?? {}) as Json;
  const appId = String(app.appId);
  return {
    id: newObjectId(),
    deletedDateTime: null,
    accountEnabled: true,
    alternativeNames: [],
    appDescription: null,
    appDisplayName: app.displayName ?? null,
    appId,
    applicationTemplateId: app.applicationTemplateId ?? null,
    appOwnerOrganizationId: tenantId,
    appRoleAssignmentRequired: false,
    description: null,
    disabledByMicrosoftStatus: null,
    displayName: app.displayName ?? null,
    homepage: web.homePageUrl ?? null,
    loginUrl: null,
    logoutUrl: web.logoutUrl ?? null,
    notes: null,
    notificationEmailAddresses: [],
    preferredSingleSignOnMode: null,
    preferredTokenSigningKeyThumbprint: null,
    replyUrls: Array.isArray(web.redirectUris) ? [...(web.redirectUris as string[])] : [],
    servicePrincipalNames: [appId, ...(Array.isArray(app.identifierUris) ? (app.identifierUris as string[]) : [])],
    servicePrincipalType: 'Application',
    signInAudience: app.signInAudience ?? 'AzureADMyOrg',
    tags: Array.isArray(app.tags) ? [...(app.tags as string[])] : [],
    tokenEncryptionKeyId: null,
    samlSingleSignOnSettings: null,
    addIns: [],
    appRoles: structuredClone(Array.isArray(app.appRoles) ? app.appRoles : []),
    info: structuredClone(
      app.info ?? {
        logoUrl: null,
        marketingUrl: null,
        privacyStatementUrl: null,
        supportUrl: null,
        termsOfServiceUrl: null,
      },
    ),
    keyCredentials: [],
    oauth2PermissionScopes: structuredClone(
      Array.isArray(api.oauth2PermissionScopes) ? api.oauth2PermissionScopes : [],
    ),
    passwordCredentials: [],
    resourceSpecificApplicationPermissions: [],
    verifiedPublisher: { displayName: null, verifiedPublisherId: null, addedDateTime: null },
    ...props,
  };
}

/** Removes a service principal with what hangs off it (assignments, grants, role assignments), keeping it in deleted items. */
function deleteServicePrincipal(ctx: TenantContext, record: ServicePrincipalRecord, now: Date): void {
  const state = ctx.state();
  const id = String(record.data.id);
  state.removeServicePrincipal(id);
  for (const [key, a] of Object.entries(state.data.appRoleAssignments)) {
    if (a.data.principalId === id || a.data.resourceId === id) delete state.data.appRoleAssignments[key];
  }
  for (const [key, g] of Object.entries(state.data.oauth2PermissionGrants)) {
    if (g.data.clientId === id || g.data.resourceId === id) delete state.data.oauth2PermissionGrants[key];
  }
  for (const [key, r] of Object.entries(state.data.roleAssignments))
    if (r.data.principalId === id) delete state.data.roleAssignments[key];
  for (const app of Object.values(state.data.applications)) app.owners = app.owners.filter((o) => o !== id);
  for (const sp of Object.values(state.data.servicePrincipals)) sp.owners = sp.owners.filter((o) => o !== id);
  state.data.deletedItems[id] = {
    kind: 'servicePrincipal',
    data: { ...record.data, deletedDateTime: now.toISOString().replace(/\.\d{3}Z$/, 'Z') },
    owners: record.owners,
    visibleFrom: ctx.visibleFrom(),
    sequence: state.nextSequence(),
  };
}

export const servicePrincipalsRoutes: RouteModule = (ctx) => {
  /** POST /servicePrincipals and the create half of the upsert. */
  function create(request: GraphRequest, appId: string, props: Json): GraphResponse {
    const state = ctx.state();
    const app = visibleApplication(state, appId, request.now);
    const microsoftApp = app ? undefined : firstPartyApp(appId);
    if (!app && !microsoftApp) {
      if (onlyOwnedBy(request)) {
        throw new GraphError(
          403,
          'Authorization_RequestDenied',
          'When using this permission, the backing application of the service principal being created must in the local tenant',
        );
      }
      throw badRequest(`The appId '${appId}' of the service principal does not reference a valid application object.`, [
        {
          code: 'NoBackingApplicationObject',
          message: 'The service principal being created must reference an application object.',
          target: 'appId',
        },
      ]);
    }
    if (state.appIdToServicePrincipal.has(appId.toLowerCase())) {
      throw new GraphError(
        409,
        'Request_MultipleObjectsWithSameKeyValue',
        `The service principal cannot be created, updated, or restored because the service principal name ${appId} is already in use.`,
      );
    }
    // A Microsoft first-party app has no application object in the tenant: its service principal comes from the
    // app as Microsoft publishes it (first-party-apps.ts).
    const data = app
      ? servicePrincipalFor(app.data, state.tenantId, props)
      : servicePrincipalFor({ appId, displayName: microsoftApp!.displayName }, state.tenantId, {
          ...firstPartyServicePrincipalProperties(microsoftApp!),
          ...props,
        });
    // An app that creates a service principal with OwnedBy becomes its owner, so that it can manage it later.
    const owners = [
      ...new Set([...(onlyOwnedBy(request) ? [request.caller.servicePrincipalId] : []), ...ownerBinds(state, request)]),
    ];
    state.addServicePrincipal({ data, owners, visibleFrom: ctx.visibleFrom(), sequence: state.nextSequence() });
    return entity(request, 'servicePrincipals', data, SERVICE_PRINCIPALS, 201);
  }

  function update(record: ServicePrincipalRecord, props: Json): GraphResponse {
    Object.assign(record.data, props);
    record.sequence = ctx.state().nextSequence();
    return { status: 204 };
  }

  /** OwnedBy reaches a service principal it owns (or, for create, one whose application it owns). */
  const ownsServicePrincipal = (request: GraphRequest): boolean => {
    const state = ctx.state();
    const key = request.params.appId ?? request.params.id ?? '';
    const id =
      request.params.appId !== undefined ? state.appIdToServicePrincipal.get(key.toLowerCase()) : key.toLowerCase();
    const record = id ? state.data.servicePrincipals[id] : undefined;
    if (!record) return true; // the handler answers 404 (or creates, for the upsert: see ownsBackingApplication)
    return record.owners.includes(request.caller.servicePrincipalId);
  };
  const ownsBackingApplication = (request: GraphRequest): boolean => {
    const appId = String((request.body as Json | undefined)?.appId ?? request.params.appId ?? '');
    const app = visibleApplication(ctx.state(), appId, request.now);
    // Not there yet: the handler answers with the replication error OwnedBy callers get.
    return !app || app.owners.includes(request.caller.servicePrincipalId);
  };
  const upsertOwned = (request: GraphRequest): boolean =>
    ctx.state().appIdToServicePrincipal.has(String(request.params.appId).toLowerCase())
      ? ownsServicePrincipal(request)
      : ownsBackingApplication(request);

  const get = (pattern: string): Route => ({
    method: 'GET',
    pattern,
    permission: { anyOf: APP_READ },
    write: false,
    handler: (r) =>
      entity(r, 'servicePrincipals', findServicePrincipal(ctx.state(), r.params, r.now).data, SERVICE_PRINCIPALS),
  });
  const remove = (pattern: string): Route => ({
    method: 'DELETE',
    pattern,
    permission: { anyOf: APP_WRITE, ownedBy: ownsServicePrincipal },
    write: true,
    handler: (r) => {
      deleteServicePrincipal(ctx, findServicePrincipal(ctx.state(), r.params, r.now), r.now);
      return { status: 204 };
    },
  });

  const delta = deltaHandler(ctx, {
    set: 'servicePrincipals',
    capabilities: SERVICE_PRINCIPALS,
    records: (state) => Object.values(state.data.servicePrincipals),
    render: (record, select) => applySelect(record.data, select),
    deletedKind: 'servicePrincipal',
  });

  return [
    {
      method: 'GET',
      pattern: '/servicePrincipals/delta',
      permission: { anyOf: APP_READ },
      write: false,
      handler: delta,
    },
    {
      method: 'GET',
      pattern: '/servicePrincipals/delta()',
      permission: { anyOf: APP_READ },
      write: false,
      handler: delta,
    },
    {
      method: 'GET',
      pattern: '/servicePrincipals',
      permission: { anyOf: APP_READ },
      write: false,
      handler: (r) => {
        const state = ctx.state();
        const expand = ownersExpand(r, SERVICE_PRINCIPALS.entityType);
        if (parseSelect(r.query.get('$select'), SERVICE_PRINCIPALS)?.includes('keyCredentials'))
          ctx.beforeKeyCredentialsList(r.now);
        const items = Object.values(state.data.servicePrincipals)
          .filter((sp) => isVisible(sp, r.now))
          .map((sp) => sp.data);
        // $expand=owners (https://learn.microsoft.com/graph/api/serviceprincipal-list-owners): owners' types and ids, within $expand's limits.
        return collection(
          r,
          'servicePrincipals',
          items,
          SERVICE_PRINCIPALS,
          expand === undefined
            ? {}
            : {
                maxTop: EXPAND_MAX_PAGE_SIZE,
                extend: (item) => ({
                  owners: expandedOwners(state, state.data.servicePrincipals[String(item.id)]?.owners ?? []),
                }),
              },
        );
      },
    },
    {
      method: 'POST',
      pattern: '/servicePrincipals',
      permission: { anyOf: APP_WRITE, ownedBy: ownsBackingApplication },
      write: true,
      handler: (r) => {
        const appId = (r.body as Json | undefined)?.appId;
        if (typeof appId !== 'string' || appId === '')
          throw badRequest("Property 'appId' is required when creating a service principal.");
        return create(r, appId, writableProperties(r.body, appId));
      },
    },
    get('/servicePrincipals/{id}'),
    get("/servicePrincipals(appId='{appId}')"),
    {
      method: 'PATCH',
      pattern: '/servicePrincipals/{id}',
      permission: { anyOf: APP_WRITE, ownedBy: ownsServicePrincipal },
      write: true,
      handler: (r) => update(findServicePrincipal(ctx.state(), r.params, r.now), writableProperties(r.body, undefined)),
    },
    {
      method: 'PATCH',
      pattern: "/servicePrincipals(appId='{appId}')",
      permission: { anyOf: APP_WRITE, ownedBy: upsertOwned },
      write: true,
      handler: (r) => {
        const appId = r.params.appId!;
        const props = writableProperties(r.body, appId);
        const state = ctx.state();
        const existing = state.data.servicePrincipals[state.appIdToServicePrincipal.get(appId.toLowerCase()) ?? ''];
        const createIfMissing = /(^|[,;\s])create-if-missing($|[,;\s])/i.test(r.headers.prefer ?? '');
        // The upsert writes to an existing object even while it replicates; a plain PATCH needs to see it.
        if (existing && (createIfMissing || isVisible(existing, r.now))) return update(existing, props);
        if (!createIfMissing) throw notFound(appId);
        return create(r, appId, props);
      },
    },
    remove('/servicePrincipals/{id}'),
    remove("/servicePrincipals(appId='{appId}')"),
  ];
};
