/**
 * The local tenant's query options for directory collections, resource-agnostic (applications and service
 * principals use it): $select, $top, $count, $orderby, $search, and opaque $skiptoken paging over an ordered id
 * list, so that a page costs O(page) however large the tenant is. $filter is in odata-filter.ts.
 * https://learn.microsoft.com/graph/query-parameters, https://learn.microsoft.com/graph/aad-advanced-queries,
 * https://learn.microsoft.com/graph/paging
 */
import { badRequest, GraphError, type GraphRequest, unsupportedQuery } from './http';
import {
  ADVANCED_HINT,
  checkFilter,
  type FilterCapabilities,
  type FilterNode,
  matchesFilter,
  parseFilter,
} from './odata-filter';

/** What a collection supports: its $filter table, and the properties $select, $orderby and $search may name. */
export interface CollectionCapabilities extends FilterCapabilities {
  /** Entity type for $select errors: "microsoft.graph.application". */
  entityType: string;
  /** Properties $select may name. */
  selectable: ReadonlySet<string>;
  /** Properties $orderby may name (advanced queries only). */
  orderable?: readonly string[];
  /** Properties $search may name ("displayName:word"). */
  searchable?: readonly string[];
}

// ---------------------------------------------------------------------------------------------------------
// $select

/**
 * Parses $select. An unknown property answers what Graph's OData parser answers (wording as commonly
 * reported for Graph: "Could not find a property named '…' on type '…'.").
 */
export function parseSelect(
  value: string | null,
  capabilities: Pick<CollectionCapabilities, 'selectable' | 'entityType'>,
): string[] | undefined {
  if (value === null || value.trim() === '') return undefined;
  const names = value.split(',').map((name) => name.trim());
  const byLower = new Map([...capabilities.selectable].map((name) => [name.toLowerCase(), name]));
  return names.map((name) => {
    const known = byLower.get(name.toLowerCase());
    if (!known)
      throw new GraphError(
        400,
        'BadRequest',
        `Could not find a property named '${name}' on type '${capabilities.entityType}'.`,
      );
    return known;
  });
}

/** The object with only the selected properties (Graph does not add id unless selected). */
export function applySelect(
  object: Record<string, unknown>,
  select: readonly string[] | undefined,
): Record<string, unknown> {
  if (!select) return object;
  const result: Record<string, unknown> = {};
  for (const name of select) result[name] = object[name] ?? null;
  return result;
}

/** "@odata.context" for a collection or an entity, with the $select list as Graph writes it. */
export function contextUrl(
  serviceRoot: string,
  entitySet: string,
  select: readonly string[] | undefined,
  entity = false,
): string {
  return `${serviceRoot}/$metadata#${entitySet}${select ? `(${select.join(',')})` : ''}${entity ? '/$entity' : ''}`;
}

// ---------------------------------------------------------------------------------------------------------
// List queries

export interface ListQuery {
  filter?: FilterNode;
  select?: string[];
  top: number;
  /** $count=true with ConsistencyLevel: eventual (without the header Graph ignores it). */
  count: boolean;
  /** ConsistencyLevel: eventual and $count=true. */
  advanced: boolean;
  orderBy?: { property: string; descending: boolean };
  search?: { property: string; term: string };
  skiptoken?: string;
}

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 999;

export function hasEventualConsistency(request: Pick<GraphRequest, 'headers'>): boolean {
  return String(request.headers.consistencylevel ?? '').toLowerCase() === 'eventual';
}

/** Parses and validates the query options of a directory collection GET (aad-advanced-queries, application-list). */
export function parseListQuery(
  request: Pick<GraphRequest, 'headers' | 'query'>,
  capabilities: CollectionCapabilities,
): ListQuery {
  const q = request.query;
  const eventual = hasEventualConsistency(request);
  const countRequested = (q.get('$count') ?? '').toLowerCase() === 'true';
  const advanced = eventual && countRequested;

  if (q.has('$skip')) throw badRequest("'$skip' is not supported by the service."); // unverified wording; aad-advanced-queries: not supported

  let top = DEFAULT_PAGE_SIZE;
  const topText = q.get('$top');
  if (topText !== null) {
    top = /^-?\d+$/.test(topText.trim()) ? Number(topText) : NaN;
    if (!(top >= 1 && top <= MAX_PAGE_SIZE)) {
      throw unsupportedQuery(
        `Invalid page size specified: '${topText}'. Must be between 1 and ${MAX_PAGE_SIZE} inclusive.`,
      );
    }
  }

  let search: ListQuery['search'];
  const searchText = q.get('$search');
  if (searchText !== null) {
    if (!eventual) {
      throw unsupportedQuery(
        "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'",
      );
    }
    const m = /^"([A-Za-z]+):(.*)"$/.exec(searchText.trim());
    const property = capabilities.searchable?.find((p) => p.toLowerCase() === m?.[1]?.toLowerCase());
    if (!m || !property) throw badRequest('Invalid search clause.'); // unverified wording
    search = { property, term: m[2]!.toLowerCase() };
  }

  let orderBy: ListQuery['orderBy'];
  const orderText = q.get('$orderby');
  if (orderText !== null) {
    const m = /^\s*([A-Za-z]+)(?:\s+(asc|desc))?\s*$/i.exec(orderText);
    const property = capabilities.orderable?.find((p) => p.toLowerCase() === m?.[1]?.toLowerCase());
    if (!m || !property)
      throw unsupportedQuery(`Unsupported sort property '${orderText.trim()}' for '${capabilities.resource}'.`); // unverified
    if (!advanced) throw unsupportedQuery(`Operator 'orderby' ${ADVANCED_HINT}`); // unverified: aad-advanced-queries says $orderby needs advanced
    orderBy = { property, descending: (m[2] ?? '').toLowerCase() === 'desc' };
  }

  let filter: FilterNode | undefined;
  const filterText = q.get('$filter');
  if (filterText !== null && filterText.trim() !== '') {
    filter = parseFilter(filterText);
    checkFilter(filter, capabilities, advanced);
  }

  return {
    filter,
    select: parseSelect(q.get('$select'), capabilities),
    top,
    count: countRequested && eventual,
    advanced,
    orderBy,
    search,
    skiptoken: q.get('$skiptoken') ?? undefined,
  };
}

/** Whether an object passes the filter and search of a list query. */
export function matchesQuery(query: Pick<ListQuery, 'filter' | 'search'>, object: Record<string, unknown>): boolean {
  if (query.filter && !matchesFilter(query.filter, object)) return false;
  if (query.search) {
    // $search matches words by prefix (tokenized on spaces and punctuation).
    const value = object[query.search.property];
    if (typeof value !== 'string') return false;
    const term = query.search.term;
    if (
      !value
        .toLowerCase()
        .split(/[\s\-_.,:;/\\()]+/)
        .some((word) => word.startsWith(term))
    )
      return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------------------
// Paging

/** Where the next page starts: an index into the ordered ids, with the ids around it to re-find it after removals. */
export interface PageCursor {
  /** Index of the first id not yet scanned. */
  position: number;
  /** The last scanned id (ids[position - 1] when nothing was removed). */
  anchor?: string;
  /** The first id not yet scanned (ids[position]). */
  ahead?: string;
}

const SKIPTOKEN_PREFIX = 'RFNwdAIAAQAAA'; // Looks like Graph's directory skiptokens; the rest is ours.

export function encodeToken(value: unknown): string {
  return SKIPTOKEN_PREFIX + Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

/** Decodes a token we issued; anything else is a 400 (wording unverified). */
export function decodeToken<T>(token: string, isValid: (value: unknown) => value is T): T {
  try {
    if (token.startsWith(SKIPTOKEN_PREFIX)) {
      const value: unknown = JSON.parse(
        Buffer.from(token.slice(SKIPTOKEN_PREFIX.length), 'base64url').toString('utf8'),
      );
      if (isValid(value)) return value;
    }
  } catch {
    // fall through
  }
  throw badRequest('Invalid paging token.');
}

export function isPageCursor(value: unknown): value is PageCursor {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as PageCursor).position === 'number' &&
    (value as PageCursor).position >= 0
  );
}

/** Where to resume in `ids`: stays right while ids are appended, and re-finds its place after removals. */
function resumeAt(ids: readonly string[], cursor: PageCursor): number {
  const { position, anchor, ahead } = cursor;
  if (anchor === undefined || ids[position - 1] === anchor) return Math.min(position, ids.length);
  // Ids only ever move towards the start (removals), so look back from where the cursor was.
  for (let i = Math.min(position - 1, ids.length - 1); i >= 0; i -= 1) {
    if (ids[i] === anchor) return i + 1;
    if (ahead !== undefined && ids[i] === ahead) return i;
  }
  return Math.min(position, ids.length);
}

/** How many ids one request scans at most; a selective filter then gets an empty page with a nextLink, as Graph does. */
const MAX_SCAN_PER_PAGE = 50_000;

/**
 * One page over `ids` (creation order): the next `top` items that `lookup` finds and `include` accepts,
 * starting after the cursor, and the cursor for the next page (undefined on the last page).
 */
export function pageOf<T>(
  ids: readonly string[],
  lookup: (id: string) => T | undefined,
  include: (item: T) => boolean,
  cursor: PageCursor | undefined,
  top: number,
): { items: T[]; next?: PageCursor } {
  const items: T[] = [];
  let i = cursor ? resumeAt(ids, cursor) : 0;
  const limit = i + MAX_SCAN_PER_PAGE;
  while (i < ids.length && items.length < top && i < limit) {
    const item = lookup(ids[i]!);
    if (item !== undefined && include(item)) items.push(item);
    i += 1;
  }
  if (i >= ids.length) return { items };
  return { items, next: { position: i, anchor: ids[i - 1], ahead: ids[i] } };
}

/** The nextLink: the request's URL with all its query options and the new $skiptoken (https://learn.microsoft.com/graph/paging). */
export function nextLinkFor(serviceRoot: string, path: string, query: URLSearchParams, skiptoken: string): string {
  const params = new URLSearchParams(query);
  params.delete('$skiptoken');
  params.set('$skiptoken', skiptoken);
  return `${serviceRoot}${path}?${params.toString().replace(/%24/g, '$').replace(/%2C/g, ',')}`;
}
