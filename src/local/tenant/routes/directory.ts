/**
 * Directory objects other than applications: users, groups and their (nested) members, membership checks,
 * and directory role assignments (https://learn.microsoft.com/graph/api/rbacapplication-post-roleassignments). Also the small OData helpers the service principal, consent and
 * owner routes share on top of odata.ts (entity and collection responses).
 */
import { type RouteModule, isVisible } from '../context';
import { badRequest, type GraphRequest, type GraphResponse, notFound, type Route } from '../http';
import {
  applySelect,
  type CollectionCapabilities,
  contextUrl,
  decodeToken,
  encodeToken,
  isPageCursor,
  matchesQuery,
  nextLinkFor,
  pageOf,
  parseListQuery,
  parseSelect,
} from '../odata';
import { type DirectoryRecord, type Json, newRoleAssignmentId, type TenantState } from '../state';

// ---------------------------------------------------------------------------------------------------------
// Responses over odata.ts: $select (keeping @odata.type in directoryObject collections), $filter, $top, paging

/** The object with only the selected properties; a directoryObject keeps its @odata.type, as Graph does. */
function project(data: Json, select: readonly string[] | undefined): Json {
  if (!select) return { ...data };
  const out: Json = typeof data['@odata.type'] === 'string' ? { '@odata.type': data['@odata.type'] } : {};
  return { ...out, ...applySelect(data, select) };
}

/** What a collection allows: the resource name for messages, filterable properties and operators, selectable properties. */
export function capabilities(resource: string, typeName: string, selectable: string, filter: CollectionCapabilities['filter'] = {}): CollectionCapabilities {
  return { resource, entityType: `microsoft.graph.${typeName}`, filter, selectable: new Set(selectable.split(/\s+/).filter(Boolean)) };
}

/** One entity with its @odata.context ("#servicePrincipals(id,appId)/$entity"), honouring $select. */
export function entity(request: GraphRequest, set: string, data: Json, caps: CollectionCapabilities, status = 200): GraphResponse {
  const select = parseSelect(request.query.get('$select'), caps);
  return { status, body: { '@odata.context': contextUrl(request.serviceRoot, set, select, true), ...project(data, select) } };
}

/** A page of a collection: $filter per `caps`, $select, $top, $count (advanced), opaque $skiptoken. */
export function collection(request: GraphRequest, set: string, items: readonly Json[], caps: CollectionCapabilities): GraphResponse {
  const query = parseListQuery(request, caps);
  const byId = new Map(items.map((item) => [String(item.id), item]));
  const ids = [...byId.keys()];
  const cursor = query.skiptoken === undefined ? undefined : decodeToken(query.skiptoken, isPageCursor);
  const { items: page, next } = pageOf(ids, (id) => byId.get(id), (item) => matchesQuery(query, item), cursor, query.top);
  const body: Json = { '@odata.context': contextUrl(request.serviceRoot, set, query.select) };
  if (query.count) body['@odata.count'] = items.filter((item) => matchesQuery(query, item)).length;
  if (next) body['@odata.nextLink'] = nextLinkFor(request.serviceRoot, request.path, request.query, encodeToken(next));
  body.value = page.map((item) => project(item, query.select));
  return { status: 200, body };
}

const EQ = { byDefault: ['eq', 'in'] } as const;
const EQ_STARTS = { byDefault: ['eq', 'in', 'startsWith'] } as const;

const DIRECTORY_OBJECT = capabilities('DirectoryObject', 'directoryObject', 'id displayName');
/** directoryObject collections (owners, members, memberOf) mix types: any property of their members may be selected. */
export function directoryObjects(items: readonly Json[]): CollectionCapabilities {
  return { ...DIRECTORY_OBJECT, selectable: new Set(['id', 'displayName', ...items.flatMap((i) => Object.keys(i).filter((k) => !k.startsWith('@')))]) };
}

// ---------------------------------------------------------------------------------------------------------
// Directory objects

export type DirectoryKind = 'user' | 'group' | 'servicePrincipal' | 'application';

/** A user, group, service principal or application by object id, whether visible yet or not. */
export function findDirectoryObject(state: TenantState, id: string): { kind: DirectoryKind; record: DirectoryRecord } | undefined {
  const key = id.toLowerCase();
  const { users, groups, servicePrincipals, applications } = state.data;
  if (users[key]) return { kind: 'user', record: users[key] };
  if (groups[key]) return { kind: 'group', record: groups[key] };
  if (servicePrincipals[key]) return { kind: 'servicePrincipal', record: servicePrincipals[key] };
  if (applications[key]) return { kind: 'application', record: applications[key] };
  return undefined;
}

/** A directory object as it appears in a directoryObject collection (owners, members): with its @odata.type. */
export function asDirectoryObject(kind: DirectoryKind, data: Json): Json {
  return { '@odata.type': `#microsoft.graph.${kind}`, ...data };
}

function findUser(state: TenantState, idOrUpn: string, now: Date): DirectoryRecord {
  const key = idOrUpn.toLowerCase();
  const record =
    state.data.users[key] ?? Object.values(state.data.users).find((u) => String(u.data.userPrincipalName ?? '').toLowerCase() === key);
  if (!record || !isVisible(record, now)) throw notFound(idOrUpn);
  return record;
}

function findGroup(state: TenantState, id: string, now: Date): DirectoryRecord {
  const record = state.data.groups[id.toLowerCase()];
  if (!record || !isVisible(record, now)) throw notFound(id);
  return record;
}

/** Every group the object belongs to, directly or through nested groups (cycle-safe; only visible groups). */
export function transitiveGroups(state: TenantState, objectId: string, now: Date): Set<string> {
  const parents = new Map<string, string[]>();
  for (const [groupId, group] of Object.entries(state.data.groups)) {
    if (!isVisible(group, now)) continue;
    for (const member of group.members) {
      const key = member.toLowerCase();
      parents.set(key, [...(parents.get(key) ?? []), groupId]);
    }
  }
  const found = new Set<string>();
  const queue = [objectId.toLowerCase()];
  while (queue.length > 0) {
    for (const parent of parents.get(queue.shift()!) ?? []) {
      if (found.has(parent)) continue;
      found.add(parent);
      queue.push(parent);
    }
  }
  return found;
}

// ---------------------------------------------------------------------------------------------------------
// Permissions (the API pages' permission tables, https://learn.microsoft.com/graph/permissions-reference)

export const USER_READ = ['User.Read.All', 'User.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'] as const;
export const GROUP_READ = ['Group.Read.All', 'Group.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'] as const;
export const MEMBER_READ = ['GroupMember.Read.All', ...GROUP_READ] as const;
const ROLE_READ = ['RoleManagement.Read.Directory', 'RoleManagement.ReadWrite.Directory', 'Directory.Read.All', 'Directory.ReadWrite.All'] as const;
const ROLE_WRITE = ['RoleManagement.ReadWrite.Directory'] as const;

// ---------------------------------------------------------------------------------------------------------
// Built-in directory roles: template ids are the same in every tenant
// (https://learn.microsoft.com/entra/identity/role-based-access-control/permissions-reference).

export const BUILT_IN_ROLES: ReadonlyArray<{ id: string; displayName: string; description: string }> = [
  { id: 'fe930be7-5e62-47db-91af-98c3a49a38b1', displayName: 'User Administrator', description: 'Can manage all aspects of users and groups, including resetting passwords for limited admins.' },
  { id: '9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3', displayName: 'Application Administrator', description: 'Can create and manage all aspects of app registrations and enterprise apps.' },
  { id: '158c047a-c907-4556-b7ef-446551a6b5f7', displayName: 'Cloud Application Administrator', description: 'Can create and manage all aspects of app registrations and enterprise apps except App Proxy.' },
  { id: 'cf1c38e5-3621-4004-a7cb-879624dced7c', displayName: 'Application Developer', description: 'Can create application registrations independent of the \'Users can register applications\' setting.' },
  { id: '62e90394-69f5-4237-9190-012177145e10', displayName: 'Global Administrator', description: 'Can manage all aspects of Microsoft Entra ID and Microsoft services that use Microsoft Entra identities.' },
  { id: 'f2ef992c-3afb-46b9-b7cf-a126ee74c451', displayName: 'Global Reader', description: 'Can read everything that a Global Administrator can, but not update anything.' },
  { id: 'e8611ab8-c189-46e8-94e1-60213ab1f814', displayName: 'Privileged Role Administrator', description: 'Can manage role assignments in Microsoft Entra ID, and all aspects of Privileged Identity Management.' },
  { id: 'fdd7a751-b60b-444a-984c-02652fe8fa1c', displayName: 'Groups Administrator', description: 'Members of this role can create/manage groups, create/manage groups settings like naming and expiration policies, and view groups activity and audit reports.' },
  { id: '88d8e3e3-8f55-4a1e-953a-9b9898b8876b', displayName: 'Directory Readers', description: 'Can read basic directory information. Commonly used to grant directory read access to applications and guests.' },
  { id: '9360feb5-f418-4baa-8175-e2a00bac4301', displayName: 'Directory Writers', description: 'Can read and write basic directory information. For granting access to applications, not intended for users.' },
  { id: '729827e3-9c14-49f7-bb1b-9608f156bbb8', displayName: 'Helpdesk Administrator', description: 'Can reset passwords for non-administrators and Helpdesk Administrators.' },
  { id: '194ae4cb-b126-40b2-bd5b-6091b380977d', displayName: 'Security Administrator', description: 'Can read security information and reports, and manage configuration in Microsoft Entra ID and Office 365.' },
  { id: '69091246-20e8-4a56-aa4d-066075b2a7a8', displayName: 'Teams Administrator', description: 'Can manage the Microsoft Teams service.' },
];

function roleDefinition(role: (typeof BUILT_IN_ROLES)[number]): Json {
  return {
    id: role.id,
    description: role.description,
    displayName: role.displayName,
    isBuiltIn: true,
    isEnabled: true,
    resourceScopes: ['/'],
    templateId: role.id,
    version: '1',
    rolePermissions: [],
  };
}

const USERS = capabilities(
  'User',
  'user',
  'id businessPhones displayName givenName jobTitle mail mobilePhone officeLocation preferredLanguage surname userPrincipalName accountEnabled ' +
    'userType createdDateTime mailNickname department companyName employeeId otherMails proxyAddresses usageLocation identities',
  { id: EQ, userPrincipalName: EQ_STARTS, displayName: EQ_STARTS, mail: EQ_STARTS, mailNickname: EQ_STARTS, userType: EQ, accountEnabled: EQ },
);
const GROUPS = capabilities(
  'Group',
  'group',
  'id displayName description mail mailEnabled mailNickname securityEnabled groupTypes createdDateTime visibility membershipRule isAssignableToRole',
  { id: EQ, displayName: EQ_STARTS, mailNickname: EQ_STARTS, mail: EQ_STARTS, securityEnabled: EQ, mailEnabled: EQ, 'groupTypes/any': EQ },
);
const ROLE_DEFINITIONS = capabilities('UnifiedRoleDefinition', 'unifiedRoleDefinition', 'id description displayName isBuiltIn isEnabled resourceScopes templateId version rolePermissions', {
  id: EQ,
  displayName: EQ_STARTS,
  templateId: EQ,
  isBuiltIn: EQ,
});
const ROLE_ASSIGNMENTS = capabilities('UnifiedRoleAssignment', 'unifiedRoleAssignment', 'id roleDefinitionId principalId directoryScopeId appScopeId condition principalOrganizationId', {
  id: EQ,
  principalId: EQ,
  roleDefinitionId: EQ,
  directoryScopeId: EQ,
  appScopeId: EQ,
});

const CONFLICT = 'A conflicting object with one or more of the specified property values is present in the directory.';

// ---------------------------------------------------------------------------------------------------------

export const directoryRoutes: RouteModule = (ctx) => {
  const read = (anyOf: readonly string[], pattern: string, handler: Route['handler']): Route => ({ method: 'GET', pattern, permission: { anyOf }, handler, write: false });


  function checkMemberGroups(request: GraphRequest, objectId: string): GraphResponse {
    const groupIds = (request.body as { groupIds?: unknown } | undefined)?.groupIds;
    if (!Array.isArray(groupIds) || groupIds.some((g) => typeof g !== 'string')) {
      throw badRequest("Invalid request: the request body must contain 'groupIds', an array of group object ids.");
    }
    if (groupIds.length > 20) throw badRequest(`The number of groupIds (${groupIds.length}) exceeds the limit of 20.`);
    const groups = transitiveGroups(ctx.state(), objectId, request.now);
    return {
      status: 200,
      body: { '@odata.context': `${request.serviceRoot}/$metadata#Collection(Edm.String)`, value: (groupIds as string[]).filter((g) => groups.has(g.toLowerCase())) },
    };
  }

  function visibleObject(id: string, now: Date): string {
    const found = findDirectoryObject(ctx.state(), id);
    if (!found || !isVisible(found.record, now)) throw notFound(id);
    return String(found.record.data.id);
  }

  function findRoleAssignment(id: string, now: Date): DirectoryRecord {
    const record = ctx.state().data.roleAssignments[id];
    if (!record || !isVisible(record, now)) throw notFound(id);
    return record;
  }

  return [
    // Users
    read(USER_READ, '/users', (r) => {
      const users = Object.values(ctx.state().data.users).filter((u) => isVisible(u, r.now)).map((u) => u.data);
      return collection(r, 'users', users, USERS);
    }),
    read(USER_READ, '/users/{id}', (r) => entity(r, 'users', findUser(ctx.state(), r.params.id!, r.now).data, USERS)),
    read([...USER_READ, ...MEMBER_READ], '/users/{id}/transitiveMemberOf', (r) => {
      const user = findUser(ctx.state(), r.params.id!, r.now);
      const ids = transitiveGroups(ctx.state(), String(user.data.id), r.now);
      const groups = [...ids].map((id) => asDirectoryObject('group', ctx.state().data.groups[id]!.data));
      return collection(r, 'directoryObjects', groups, directoryObjects(groups));
    }),
    {
      method: 'POST',
      pattern: '/users/{id}/checkMemberGroups',
      permission: { anyOf: MEMBER_READ },
      write: false,
      handler: (r) => checkMemberGroups(r, String(findUser(ctx.state(), r.params.id!, r.now).data.id)),
    },
    {
      method: 'POST',
      pattern: '/directoryObjects/{id}/checkMemberGroups',
      permission: { anyOf: MEMBER_READ },
      write: false,
      handler: (r) => checkMemberGroups(r, visibleObject(r.params.id!, r.now)),
    },

    // Groups
    read(GROUP_READ, '/groups', (r) => {
      const groups = Object.values(ctx.state().data.groups).filter((g) => isVisible(g, r.now)).map((g) => g.data);
      return collection(r, 'groups', groups, GROUPS);
    }),
    read(GROUP_READ, '/groups/{id}', (r) => entity(r, 'groups', findGroup(ctx.state(), r.params.id!, r.now).data, GROUPS)),
    read(MEMBER_READ, '/groups/{id}/members', (r) => {
      const group = ctx.state().data.groups[r.params.id!.toLowerCase()];
      if (!group || !isVisible(group, r.now)) throw notFound(r.params.id!);
      const members = group.members
        .map((id) => findDirectoryObject(ctx.state(), id))
        .filter((m): m is NonNullable<typeof m> => !!m && isVisible(m.record, r.now))
        .map((m) => asDirectoryObject(m.kind, m.record.data));
      return collection(r, 'directoryObjects', members, directoryObjects(members));
    }),

    // Directory roles
    read(ROLE_READ, '/roleManagement/directory/roleDefinitions', (r) => {
      return collection(r, 'roleManagement/directory/roleDefinitions', BUILT_IN_ROLES.map(roleDefinition), ROLE_DEFINITIONS);
    }),
    read(ROLE_READ, '/roleManagement/directory/roleDefinitions/{id}', (r) => {
      const role = BUILT_IN_ROLES.find((d) => d.id === r.params.id!.toLowerCase());
      if (!role) throw notFound(r.params.id!);
      return entity(r, 'roleManagement/directory/roleDefinitions', roleDefinition(role), ROLE_DEFINITIONS);
    }),
    read(ROLE_READ, '/roleManagement/directory/roleAssignments', (r) => {
      const assignments = Object.values(ctx.state().data.roleAssignments).filter((a) => isVisible(a, r.now)).map((a) => a.data);
      return collection(r, 'roleManagement/directory/roleAssignments', assignments, ROLE_ASSIGNMENTS);
    }),
    read(ROLE_READ, '/roleManagement/directory/roleAssignments/{id}', (r) =>
      entity(r, 'roleManagement/directory/roleAssignments', findRoleAssignment(r.params.id!, r.now).data, ROLE_ASSIGNMENTS),
    ),
    {
      method: 'POST',
      pattern: '/roleManagement/directory/roleAssignments',
      permission: { anyOf: ROLE_WRITE },
      write: true,
      handler: (r) => {
        const body = (r.body ?? {}) as Json;
        const principalId = typeof body.principalId === 'string' ? body.principalId.toLowerCase() : '';
        const roleDefinitionId = typeof body.roleDefinitionId === 'string' ? body.roleDefinitionId.toLowerCase() : '';
        const directoryScopeId = typeof body.directoryScopeId === 'string' ? body.directoryScopeId : null;
        const appScopeId = typeof body.appScopeId === 'string' ? body.appScopeId : null;
        if (!principalId || !roleDefinitionId) throw badRequest('One or more properties are invalid.');
        if (!directoryScopeId && !appScopeId) throw badRequest('Either directoryScopeId or appScopeId must be specified.');
        if (!BUILT_IN_ROLES.some((d) => d.id === roleDefinitionId)) throw notFound(roleDefinitionId);
        const principal = findDirectoryObject(ctx.state(), principalId);
        if (!principal || principal.kind === 'application' || !isVisible(principal.record, r.now)) throw notFound(principalId);
        const duplicate = Object.values(ctx.state().data.roleAssignments).some(
          (a) => a.data.principalId === principalId && a.data.roleDefinitionId === roleDefinitionId && (a.data.directoryScopeId ?? null) === directoryScopeId && (a.data.appScopeId ?? null) === appScopeId,
        );
        if (duplicate) throw badRequest(CONFLICT);
        const id = newRoleAssignmentId();
        const data: Json = { id, roleDefinitionId, principalId, directoryScopeId, ...(appScopeId ? { appScopeId } : {}) };
        ctx.state().data.roleAssignments[id] = { data, visibleFrom: ctx.visibleFrom(), sequence: ctx.state().nextSequence() };
        return { status: 201, body: { '@odata.context': `${r.serviceRoot}/$metadata#roleManagement/directory/roleAssignments/$entity`, ...data } };
      },
    },
    {
      method: 'DELETE',
      pattern: '/roleManagement/directory/roleAssignments/{id}',
      permission: { anyOf: ROLE_WRITE },
      write: true,
      handler: (r) => {
        const record = findRoleAssignment(r.params.id!, r.now);
        delete ctx.state().data.roleAssignments[String(record.data.id)];
        return { status: 204 };
      },
    },
  ];
};
