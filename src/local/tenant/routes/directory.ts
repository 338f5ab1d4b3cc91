/**
 * Directory objects other than applications: users, groups and their (nested) members, membership checks
 * (directory roles are in directory-roles.ts). Also the small OData helpers the service principal, consent,
 * owner and role routes share on top of odata.ts (entity and collection responses).
 */
import { type RouteModule, isVisible } from '../context';
import { badRequest, type GraphRequest, type GraphResponse, notFound, type Route, unsupportedQuery } from '../http';
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
import { type DirectoryRecord, type Json, type TenantState } from '../state';

// ---------------------------------------------------------------------------------------------------------
// Responses over odata.ts: $select (keeping @odata.type in directoryObject collections), $filter, $top, paging

/** The object with only the selected properties; a directoryObject keeps its @odata.type, as Graph does. */
function project(data: Json, select: readonly string[] | undefined): Json {
  if (!select) return { ...data };
  const out: Json = typeof data['@odata.type'] === 'string' ? { '@odata.type': data['@odata.type'] } : {};
  return { ...out, ...applySelect(data, select) };
}

/** What a collection allows: the resource name for messages, filterable properties and operators, selectable properties. */
export function capabilities(
  resource: string,
  typeName: string,
  selectable: string,
  filter: CollectionCapabilities['filter'] = {},
): CollectionCapabilities {
  return {
    resource,
    entityType: `microsoft.graph.${typeName}`,
    filter,
    selectable: new Set(selectable.split(/\s+/).filter(Boolean)),
  };
}

/** One entity with its @odata.context ("#servicePrincipals(id,appId)/$entity"), honouring $select. */
export function entity(
  request: GraphRequest,
  set: string,
  data: Json,
  caps: CollectionCapabilities,
  status = 200,
): GraphResponse {
  const select = parseSelect(request.query.get('$select'), caps);
  return {
    status,
    body: { '@odata.context': contextUrl(request.serviceRoot, set, select, true), ...project(data, select) },
  };
}

/**
 * A page of a collection: $filter per `caps`, $select, $top, $count (advanced), opaque $skiptoken.
 * `options.maxTop` caps the page size ($expand's 100), `options.extend` adds to each item (expanded relationships).
 */
export function collection(
  request: GraphRequest,
  set: string,
  items: readonly Json[],
  caps: CollectionCapabilities,
  options: { maxTop?: number; extend?: (item: Json) => Json } = {},
): GraphResponse {
  const query = parseListQuery(request, caps);
  const byId = new Map(items.map((item) => [String(item.id), item]));
  const ids = [...byId.keys()];
  const cursor = query.skiptoken === undefined ? undefined : decodeToken(query.skiptoken, isPageCursor);
  const { items: page, next } = pageOf(
    ids,
    (id) => byId.get(id),
    (item) => matchesQuery(query, item),
    cursor,
    Math.min(query.top, options.maxTop ?? query.top),
  );
  const body: Json = { '@odata.context': contextUrl(request.serviceRoot, set, query.select) };
  if (query.count) body['@odata.count'] = items.filter((item) => matchesQuery(query, item)).length;
  if (next) body['@odata.nextLink'] = nextLinkFor(request.serviceRoot, request.path, request.query, encodeToken(next));
  const extend = options.extend;
  body.value = page.map((item) =>
    extend ? { ...project(item, query.select), ...extend(item) } : project(item, query.select),
  );
  return { status: 200, body };
}

/**
 * $expand on directory objects: a page holds at most 100 objects whatever $top says, and each object at most 20
 * expanded items, with no nextLink for them (Microsoft Graph known issue 13635,
 * https://developer.microsoft.com/graph/known-issues/?search=13635, and "expand" in
 * https://learn.microsoft.com/graph/query-parameters).
 */
export const EXPAND_MAX_PAGE_SIZE = 100;
export const EXPAND_MAX_ITEMS = 20;

/** The page size of a list with $expand: $top, but never more than 100. */
export function expandedPageSize(top: number): number {
  return Math.min(top, EXPAND_MAX_PAGE_SIZE);
}

/** Expanded owners as Graph lists them: directoryObjects with their type and id, the first 20 only. */
export function expandedOwners(state: TenantState, owners: readonly string[]): Json[] {
  return owners.slice(0, EXPAND_MAX_ITEMS).map((id) => ({
    '@odata.type': state.data.users[id] ? '#microsoft.graph.user' : '#microsoft.graph.servicePrincipal',
    id,
  }));
}

/** Checks $expand on a list that can expand only owners (optionally owners($select=id)); undefined when absent. */
export function ownersExpand(request: GraphRequest, entityType: string): 'owners' | undefined {
  const expand = request.query.get('$expand');
  if (expand === null) return undefined;
  if (!/^owners(\(\$select=id\))?$/.test(expand.replace(/\s+/g, ''))) {
    throw unsupportedQuery(
      `Parsing OData Select and Expand failed: Could not find a property named '${expand.split('(')[0]}' on type '${entityType}'.`,
    );
  }
  return 'owners';
}

export const EQ = { byDefault: ['eq', 'in'] } as const;
export const EQ_STARTS = { byDefault: ['eq', 'in', 'startsWith'] } as const;

const DIRECTORY_OBJECT = capabilities('DirectoryObject', 'directoryObject', 'id displayName');
/** directoryObject collections (owners, members, memberOf) mix types: any property of their members may be selected. */
export function directoryObjects(items: readonly Json[]): CollectionCapabilities {
  return {
    ...DIRECTORY_OBJECT,
    selectable: new Set([
      'id',
      'displayName',
      ...items.flatMap((i) => Object.keys(i).filter((k) => !k.startsWith('@'))),
    ]),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Directory objects

export type DirectoryKind = 'user' | 'group' | 'servicePrincipal' | 'application';

/** A user, group, service principal or application by object id, whether visible yet or not. */
export function findDirectoryObject(
  state: TenantState,
  id: string,
): { kind: DirectoryKind; record: DirectoryRecord } | undefined {
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
    state.data.users[key] ??
    Object.values(state.data.users).find((u) => String(u.data.userPrincipalName ?? '').toLowerCase() === key);
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

export const USER_READ = [
  'User.Read.All',
  'User.ReadWrite.All',
  'Directory.Read.All',
  'Directory.ReadWrite.All',
] as const;
export const GROUP_READ = [
  'Group.Read.All',
  'Group.ReadWrite.All',
  'Directory.Read.All',
  'Directory.ReadWrite.All',
] as const;
export const MEMBER_READ = ['GroupMember.Read.All', ...GROUP_READ] as const;
const USERS = capabilities(
  'User',
  'user',
  'id businessPhones displayName givenName jobTitle mail mobilePhone officeLocation preferredLanguage surname userPrincipalName accountEnabled ' +
    'userType createdDateTime mailNickname department companyName employeeId otherMails proxyAddresses usageLocation identities',
  {
    id: EQ,
    userPrincipalName: EQ_STARTS,
    displayName: EQ_STARTS,
    mail: EQ_STARTS,
    mailNickname: EQ_STARTS,
    userType: EQ,
    accountEnabled: EQ,
  },
);
const GROUPS = capabilities(
  'Group',
  'group',
  'id displayName description mail mailEnabled mailNickname securityEnabled groupTypes createdDateTime visibility membershipRule isAssignableToRole',
  {
    id: EQ,
    displayName: EQ_STARTS,
    mailNickname: EQ_STARTS,
    mail: EQ_STARTS,
    securityEnabled: EQ,
    mailEnabled: EQ,
    'groupTypes/any': EQ,
  },
);
// ---------------------------------------------------------------------------------------------------------

/** A GET route that any of `anyOf` permits. */
export const read = (anyOf: readonly string[], pattern: string, handler: Route['handler']): Route => ({
  method: 'GET',
  pattern,
  permission: { anyOf },
  handler,
  write: false,
});

export const directoryRoutes: RouteModule = (ctx) => {
  function checkMemberGroups(request: GraphRequest, objectId: string): GraphResponse {
    const groupIds = (request.body as { groupIds?: unknown } | undefined)?.groupIds;
    if (!Array.isArray(groupIds) || groupIds.some((g) => typeof g !== 'string')) {
      throw badRequest("Invalid request: the request body must contain 'groupIds', an array of group object ids.");
    }
    if (groupIds.length > 20) throw badRequest(`The number of groupIds (${groupIds.length}) exceeds the limit of 20.`);
    const groups = transitiveGroups(ctx.state(), objectId, request.now);
    return {
      status: 200,
      body: {
        '@odata.context': `${request.serviceRoot}/$metadata#Collection(Edm.String)`,
        value: (groupIds as string[]).filter((g) => groups.has(g.toLowerCase())),
      },
    };
  }

  function visibleObject(id: string, now: Date): string {
    const found = findDirectoryObject(ctx.state(), id);
    if (!found || !isVisible(found.record, now)) throw notFound(id);
    return String(found.record.data.id);
  }

  return [
    // Users
    read(USER_READ, '/users', (r) => {
      const users = Object.values(ctx.state().data.users)
        .filter((u) => isVisible(u, r.now))
        .map((u) => u.data);
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
      const groups = Object.values(ctx.state().data.groups)
        .filter((g) => isVisible(g, r.now))
        .map((g) => g.data);
      return collection(r, 'groups', groups, GROUPS);
    }),
    read(GROUP_READ, '/groups/{id}', (r) =>
      entity(r, 'groups', findGroup(ctx.state(), r.params.id!, r.now).data, GROUPS),
    ),
    read(MEMBER_READ, '/groups/{id}/members', (r) => {
      const group = ctx.state().data.groups[r.params.id!.toLowerCase()];
      if (!group || !isVisible(group, r.now)) throw notFound(r.params.id!);
      const members = group.members
        .map((id) => findDirectoryObject(ctx.state(), id))
        .filter((m): m is NonNullable<typeof m> => !!m && isVisible(m.record, r.now))
        .map((m) => asDirectoryObject(m.kind, m.record.data));
      return collection(r, 'directoryObjects', members, directoryObjects(members));
    }),
  ];
};
