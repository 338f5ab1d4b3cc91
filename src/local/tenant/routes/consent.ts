/**
 * Admin consent (https://learn.microsoft.com/graph/api/serviceprincipal-post-approleassignedto, https://learn.microsoft.com/graph/api/oauth2permissiongrant-post):
 * application permissions as appRoleAssignments on the resource's service principal
 * (which the token endpoint turns into the `roles` claim), delegated permissions as oauth2PermissionGrants.
 * Errors as Graph gives them: duplicates, unknown roles, and references to objects still replicating.
 */
import { type RouteModule, type TenantContext, isVisible } from '../context';
import { badRequest, GraphError, type GraphRequest, type GraphResponse, notFound, type Route } from '../http';
import { type DirectoryRecord, graphTimestamp, type Json, newOpaqueId, type ServicePrincipalRecord } from '../state';
import { capabilities, collection, entity, findDirectoryObject } from './directory';
import { APP_READ, findServicePrincipal } from './service-principals';

const ASSIGN = {
  anyOf: ['AppRoleAssignment.ReadWrite.All'],
  alsoAnyOf: ['Application.Read.All', 'Application.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'],
};
const GRANT_READ = {
  anyOf: [
    'DelegatedPermissionGrant.Read.All',
    'DelegatedPermissionGrant.ReadWrite.All',
    'Directory.Read.All',
    'Directory.ReadWrite.All',
  ],
};
const GRANT_WRITE = { anyOf: ['DelegatedPermissionGrant.ReadWrite.All', 'Directory.ReadWrite.All'] };

/** The app role id for "default access" when the resource declares no app roles. */
const EQ = { byDefault: ['eq'] } as const;
const ASSIGNMENTS = capabilities(
  'AppRoleAssignment',
  'appRoleAssignment',
  'id deletedDateTime appRoleId createdDateTime principalDisplayName principalId principalType resourceDisplayName resourceId',
  { principalId: EQ, resourceId: EQ, appRoleId: EQ },
);
const GRANTS = capabilities(
  'OAuth2PermissionGrant',
  'oAuth2PermissionGrant',
  'id clientId consentType principalId resourceId scope',
  {
    id: EQ,
    clientId: EQ,
    consentType: EQ,
    principalId: EQ,
    resourceId: EQ,
  },
);

const DEFAULT_ACCESS = '00000000-0000-0000-0000-000000000000';
const PRINCIPAL_TYPES = { user: 'User', group: 'Group', servicePrincipal: 'ServicePrincipal' } as const;

/** Both addressings of a service principal in a path. */
const SP_KEYS = ['/servicePrincipals/{id}', "/servicePrincipals(appId='{appId}')"];

const notValidReference = () => badRequest('Not a valid reference update');
const invalidValue = (property: string, resource: string) =>
  badRequest(`Invalid value specified for property '${property}' of resource '${resource}'.`);

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value.toLowerCase() : undefined;
}

export const consentRoutes: RouteModule = (ctx) => {
  /**
   * A directory object named in a request body: 404 when there is no such object, and while it replicates the
   * error observed for this operation (appRoleAssignments: "Not a valid reference update").
   */
  function referenced(
    id: string,
    now: Date,
    replicating: () => GraphError,
  ): { kind: keyof typeof PRINCIPAL_TYPES; record: DirectoryRecord } {
    const found = findDirectoryObject(ctx.state(), id);
    if (!found || found.kind === 'application') throw notFound(id);
    if (!isVisible(found.record, now)) throw replicating();
    return { kind: found.kind, record: found.record };
  }

  function referencedServicePrincipal(id: string, now: Date, replicating: () => GraphError): ServicePrincipalRecord {
    const found = referenced(id, now, replicating);
    if (found.kind !== 'servicePrincipal') throw notFound(id);
    return found.record as ServicePrincipalRecord;
  }

  /** POST appRoleAssignedTo (resource in the path) or appRoleAssignments (principal in the path). */
  function assign(request: GraphRequest, side: 'appRoleAssignedTo' | 'appRoleAssignments'): GraphResponse {
    const body = (request.body ?? {}) as Json;
    const pathSp = findServicePrincipal(ctx.state(), request.params, request.now);
    const pathId = String(pathSp.data.id);
    const principalId = text(body.principalId) ?? (side === 'appRoleAssignments' ? pathId : undefined);
    const resourceId = text(body.resourceId) ?? (side === 'appRoleAssignedTo' ? pathId : undefined);
    const appRoleId = text(body.appRoleId);
    if (!principalId || !resourceId || !appRoleId) throw badRequest('One or more properties are invalid.');
    if ((side === 'appRoleAssignedTo' ? resourceId : principalId) !== pathId)
      throw invalidValue(side === 'appRoleAssignedTo' ? 'resourceId' : 'principalId', 'AppRoleAssignment');

    const resource =
      side === 'appRoleAssignedTo' ? pathSp : referencedServicePrincipal(resourceId, request.now, notValidReference);
    const principal = referenced(principalId, request.now, notValidReference);
    const roles = (resource.data.appRoles as Array<{ id: string; isEnabled?: boolean }> | undefined) ?? [];
    const roleExists =
      roles.some((r) => r.id.toLowerCase() === appRoleId && r.isEnabled !== false) ||
      (roles.length === 0 && appRoleId === DEFAULT_ACCESS);
    if (!roleExists) throw badRequest('Permission being assigned was not found on application.');
    const state = ctx.state();
    const duplicate = Object.values(state.data.appRoleAssignments).some(
      (a) => a.data.principalId === principalId && a.data.resourceId === resourceId && a.data.appRoleId === appRoleId,
    );
    if (duplicate) throw badRequest('Permission being assigned already exists on the object.');

    const data: Json = {
      id: newOpaqueId(),
      deletedDateTime: null,
      appRoleId,
      createdDateTime: graphTimestamp(request.now),
      principalDisplayName: principal.record.data.displayName ?? null,
      principalId,
      principalType: PRINCIPAL_TYPES[principal.kind],
      resourceDisplayName: resource.data.displayName ?? null,
      resourceId,
    };
    state.data.appRoleAssignments[String(data.id)] = {
      data,
      visibleFrom: ctx.visibleFrom(),
      sequence: state.nextSequence(),
    };
    return entity(request, `servicePrincipals('${pathId}')/${side}`, data, ASSIGNMENTS, 201);
  }

  function assignmentsOf(
    request: GraphRequest,
    side: 'appRoleAssignedTo' | 'appRoleAssignments',
  ): { sp: ServicePrincipalRecord; items: Json[] } {
    const sp = findServicePrincipal(ctx.state(), request.params, request.now);
    const field = side === 'appRoleAssignedTo' ? 'resourceId' : 'principalId';
    const items = Object.values(ctx.state().data.appRoleAssignments)
      .filter((a) => isVisible(a, request.now) && a.data[field] === sp.data.id)
      .map((a) => a.data);
    return { sp, items };
  }

  const assignmentRoutes = (side: 'appRoleAssignedTo' | 'appRoleAssignments'): Route[] =>
    SP_KEYS.flatMap((prefix): Route[] => [
      {
        method: 'POST',
        pattern: `${prefix}/${side}`,
        permission: ASSIGN,
        write: true,
        handler: (r) => assign(r, side),
      },
      {
        method: 'GET',
        pattern: `${prefix}/${side}`,
        permission: { anyOf: APP_READ },
        write: false,
        handler: (r) => {
          const { sp, items } = assignmentsOf(r, side);
          return collection(r, `servicePrincipals('${String(sp.data.id)}')/${side}`, items, ASSIGNMENTS);
        },
      },
      {
        method: 'DELETE',
        pattern: `${prefix}/${side}/{assignmentId}`,
        permission: ASSIGN,
        write: true,
        handler: (r) => {
          const { items } = assignmentsOf(r, side);
          const target = items.find((a) => a.id === r.params.assignmentId);
          if (!target) throw notFound(r.params.assignmentId!);
          delete ctx.state().data.appRoleAssignments[String(target.id)];
          return { status: 204 };
        },
      },
    ]);

  return [
    ...assignmentRoutes('appRoleAssignedTo'),
    ...assignmentRoutes('appRoleAssignments'),
    ...grantRoutes(ctx, referencedServicePrincipal, referenced),
  ];
};

/** oauth2PermissionGrants: one per (clientId, consentType, principalId, resourceId); scopes must be the resource's. */
function grantRoutes(
  ctx: TenantContext,
  servicePrincipal: (id: string, now: Date, replicating: () => GraphError) => ServicePrincipalRecord,
  directoryObject: (id: string, now: Date, replicating: () => GraphError) => { kind: string },
): Route[] {
  const replicating = (id: string) => () =>
    badRequest(`Resource '${id}' does not exist or one of its queried reference-property objects are not present.`);

  function checkScope(scope: unknown, resource: ServicePrincipalRecord): string {
    if (scope === undefined || scope === null) return '';
    if (typeof scope !== 'string') throw invalidValue('scope', 'OAuth2PermissionGrant');
    const declared = new Set(
      ((resource.data.oauth2PermissionScopes as Array<{ value: string; isEnabled?: boolean }> | undefined) ?? [])
        .filter((s) => s.isEnabled !== false)
        .map((s) => s.value.toLowerCase()),
    );
    const values = scope.split(' ').filter(Boolean);
    if (values.some((v) => !declared.has(v.toLowerCase()))) throw invalidValue('scope', 'OAuth2PermissionGrant');
    return scope;
  }

  function findGrant(id: string, now: Date): DirectoryRecord {
    const record = ctx.state().data.oauth2PermissionGrants[id];
    if (!record || !isVisible(record, now)) throw notFound(id);
    return record;
  }

  const context = (r: GraphRequest) => `${r.serviceRoot}/$metadata#oauth2PermissionGrants/$entity`;

  return [
    {
      method: 'POST',
      pattern: '/oauth2PermissionGrants',
      permission: GRANT_WRITE,
      write: true,
      handler: (r) => {
        const body = (r.body ?? {}) as Json;
        const clientId = text(body.clientId);
        const resourceId = text(body.resourceId);
        const principalId = text(body.principalId) ?? null;
        if (!clientId) throw invalidValue('clientId', 'OAuth2PermissionGrant');
        if (!resourceId) throw invalidValue('resourceId', 'OAuth2PermissionGrant');
        if (body.consentType !== 'AllPrincipals' && body.consentType !== 'Principal')
          throw invalidValue('consentType', 'OAuth2PermissionGrant');
        if ((body.consentType === 'Principal') !== (principalId !== null))
          throw invalidValue('principalId', 'OAuth2PermissionGrant');
        servicePrincipal(clientId, r.now, replicating(clientId));
        const resource = servicePrincipal(resourceId, r.now, replicating(resourceId));
        if (principalId && directoryObject(principalId, r.now, replicating(principalId)).kind !== 'user')
          throw notFound(principalId);
        const scope = checkScope(body.scope, resource);
        const state = ctx.state();
        const duplicate = Object.values(state.data.oauth2PermissionGrants).some(
          (g) =>
            g.data.clientId === clientId &&
            g.data.consentType === body.consentType &&
            g.data.principalId === principalId &&
            g.data.resourceId === resourceId,
        );
        if (duplicate)
          throw new GraphError(409, 'Request_MultipleObjectsWithSameKeyValue', 'Permission entry already exists.');
        const data: Json = {
          id: newOpaqueId(),
          clientId,
          consentType: body.consentType,
          principalId,
          resourceId,
          scope,
        };
        state.data.oauth2PermissionGrants[String(data.id)] = {
          data,
          visibleFrom: ctx.visibleFrom(),
          sequence: state.nextSequence(),
        };
        return { status: 201, body: { '@odata.context': context(r), ...data } };
      },
    },
    {
      method: 'GET',
      pattern: '/oauth2PermissionGrants',
      permission: GRANT_READ,
      write: false,
      handler: (r) => {
        const items = Object.values(ctx.state().data.oauth2PermissionGrants)
          .filter((g) => isVisible(g, r.now))
          .map((g) => g.data);
        return collection(r, 'oauth2PermissionGrants', items, GRANTS);
      },
    },
    ...SP_KEYS.map((prefix): Route => ({
      method: 'GET',
      pattern: `${prefix}/oauth2PermissionGrants`,
      permission: GRANT_READ,
      write: false,
      handler: (r) => {
        const sp = findServicePrincipal(ctx.state(), r.params, r.now);
        const items = Object.values(ctx.state().data.oauth2PermissionGrants)
          .filter((g) => isVisible(g, r.now) && g.data.clientId === sp.data.id)
          .map((g) => g.data);
        return collection(r, 'oauth2PermissionGrants', items, GRANTS);
      },
    })),
    {
      method: 'GET',
      pattern: '/oauth2PermissionGrants/{id}',
      permission: GRANT_READ,
      write: false,
      handler: (r) => entity(r, 'oauth2PermissionGrants', findGrant(r.params.id!, r.now).data, GRANTS),
    },
    {
      method: 'PATCH',
      pattern: '/oauth2PermissionGrants/{id}',
      permission: GRANT_WRITE,
      write: true,
      handler: (r) => {
        const grant = findGrant(r.params.id!, r.now);
        const body = (r.body ?? {}) as Json;
        for (const name of Object.keys(body)) {
          if (name === 'scope' || name.startsWith('@odata.')) continue;
          if (name in grant.data) throw badRequest(`Property '${name}' is read-only and cannot be set.`);
          throw new GraphError(
            400,
            'BadRequest',
            `The property '${name}' does not exist on type 'microsoft.graph.oAuth2PermissionGrant'. Make sure to only use property names that are defined by the type or mark the type as open type.`,
          );
        }
        if ('scope' in body) {
          const resource = ctx.state().data.servicePrincipals[String(grant.data.resourceId)];
          if (!resource) throw notFound(String(grant.data.resourceId));
          grant.data.scope = checkScope(body.scope, resource);
        }
        grant.sequence = ctx.state().nextSequence();
        return { status: 204 };
      },
    },
    {
      method: 'DELETE',
      pattern: '/oauth2PermissionGrants/{id}',
      permission: GRANT_WRITE,
      write: true,
      handler: (r) => {
        const grant = findGrant(r.params.id!, r.now);
        delete ctx.state().data.oauth2PermissionGrants[String(grant.data.id)];
        return { status: 204 };
      },
    },
  ];
}
