/**
 * The local tenant's OData query engine for directory collections (spec §4.3, §5.2): $filter parsed into an
 * AST for the grammar Graph's directory accepts, checked against a per-resource support table (what works by
 * default, what needs an advanced query: ConsistencyLevel: eventual + $count=true), evaluated against the JSON
 * objects; $select, $top, $count, $search, and opaque $skiptoken paging over an ordered id list, so that a
 * page costs O(page) however large the tenant is. Resource-agnostic: applications and service principals use it.
 */
import { badRequest, GraphError, type GraphRequest, unsupportedQuery } from './http';

export type Literal = string | number | boolean | null;
export type CompareOp = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';

/** A parsed $filter. Inside a lambda, `property` '' is the range variable itself (tags/any(t:t eq 'x')). */
export type FilterNode =
  | { kind: 'and' | 'or'; left: FilterNode; right: FilterNode }
  | { kind: 'not'; operand: FilterNode }
  | { kind: 'compare'; op: CompareOp; property: string; value: Literal }
  | { kind: 'in'; property: string; values: Literal[] }
  | { kind: 'function'; name: 'startsWith' | 'endsWith'; property: string; value: string }
  | { kind: 'any'; property: string; predicate: FilterNode };

/** Operators as the support table names them; `eqNull` is `eq null`, `not` the prefix operator. */
export type FilterOp = CompareOp | 'in' | 'startsWith' | 'endsWith' | 'eqNull' | 'not';

export interface FilterSupport {
  /** Default operators; a lambda is keyed "tags/any", with the inner property when there is one: "requiredResourceAccess/any/resourceAppId". */
  byDefault?: readonly FilterOp[];
  /** Operators that need ConsistencyLevel: eventual and $count=true. */
  advanced?: readonly FilterOp[];
}

export interface CollectionCapabilities {
  /** Resource name as Graph's messages spell it: "Application". */
  resource: string;
  /** Entity type for $select errors: "microsoft.graph.application". */
  entityType: string;
  filter: Readonly<Record<string, FilterSupport>>;
  /** Properties $select may name. */
  selectable: ReadonlySet<string>;
  /** Properties $orderby may name (advanced queries only, spec §4.3). */
  orderable?: readonly string[];
  /** Properties $search may name ("displayName:word"). */
  searchable?: readonly string[];
}

const ADVANCED_HINT =
  'is not supported because the required parameters might be missing. Try adding $count=true query parameter and ConsistencyLevel:eventual header. Refer to https://aka.ms/graph-docs/advanced-queries for more information';

// ---------------------------------------------------------------------------------------------------------
// $filter parsing

type Token = { type: 'string'; value: string; at: number } | { type: 'word'; value: string; at: number } | { type: 'punct'; value: string; at: number };

/**
 * Syntax errors: Graph's OData parser answers 400 BadRequest "Invalid filter clause" with the position
 * (the exact wording is unverified; the code and the phrase are what clients see in practice).
 */
function syntaxError(text: string, at: number): GraphError {
  return new GraphError(400, 'BadRequest', `Invalid filter clause: Syntax error at position ${at} in '${text}'.`);
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i += 1;
    } else if (c === "'") {
      let value = '';
      const at = i;
      i += 1;
      for (;;) {
        if (i >= text.length) throw syntaxError(text, at);
        if (text[i] === "'") {
          if (text[i + 1] === "'") {
            value += "'";
            i += 2;
            continue;
          }
          i += 1;
          break;
        }
        value += text[i];
        i += 1;
      }
      tokens.push({ type: 'string', value, at });
    } else if ('(),:'.includes(c)) {
      tokens.push({ type: 'punct', value: c, at: i });
      i += 1;
    } else {
      // Words: property paths (web/redirectUris/any), keywords, numbers and unquoted dates (2024-01-01T00:00:00Z).
      const pattern = /[0-9]/.test(c) || c === '-' ? /^[-0-9A-Za-z:.+]+/ : /^[A-Za-z0-9_./$@]+/;
      const m = pattern.exec(text.slice(i));
      if (!m) throw syntaxError(text, i);
      tokens.push({ type: 'word', value: m[0], at: i });
      i += m[0].length;
    }
  }
  return tokens;
}

/** Parses a $filter expression; throws 400 on syntax Graph would not accept. */
export function parseFilter(text: string): FilterNode {
  const tokens = tokenize(text);
  let pos = 0;
  const peek = () => tokens[pos];
  const isWord = (value: string) => {
    const t = peek();
    return t?.type === 'word' && t.value.toLowerCase() === value;
  };
  const expectPunct = (value: string) => {
    const t = peek();
    if (t?.type !== 'punct' || t.value !== value) throw syntaxError(text, t?.at ?? text.length);
    pos += 1;
  };
  const fail = (): never => {
    throw syntaxError(text, peek()?.at ?? text.length);
  };

  /** Inside a lambda, "t" is the element and "r/resourceAppId" a property of it. */
  let rangeVariable: string | undefined;
  const propertyPath = (word: string): string => {
    if (rangeVariable !== undefined) {
      if (word === rangeVariable) return '';
      if (word.startsWith(`${rangeVariable}/`)) return word.slice(rangeVariable.length + 1);
    }
    return word;
  };

  const literal = (): Literal => {
    const t = peek() ?? fail();
    pos += 1;
    if (t.type === 'string') return t.value;
    if (t.type !== 'word') return fail();
    const lower = t.value.toLowerCase();
    if (lower === 'null') return null;
    if (lower === 'true') return true;
    if (lower === 'false') return false;
    if (/^-?\d+(\.\d+)?$/.test(t.value)) return Number(t.value);
    if (/^\d{4}-\d{2}-\d{2}(T[0-9:.]+(Z|[+-]\d{2}:\d{2})?)?$/.test(t.value)) return t.value;
    return fail();
  };

  const primary = (): FilterNode => {
    const t = peek() ?? fail();
    if (t.type === 'punct' && t.value === '(') {
      pos += 1;
      const inner = or();
      expectPunct(')');
      return inner;
    }
    if (t.type !== 'word') return fail();
    pos += 1;
    const next = peek();
    if (next?.type === 'punct' && next.value === '(') {
      const fn = t.value.toLowerCase();
      if (fn === 'startswith' || fn === 'endswith') {
        pos += 1;
        const arg = peek() ?? fail();
        if (arg.type !== 'word') fail();
        pos += 1;
        expectPunct(',');
        const value = literal();
        if (typeof value !== 'string') fail();
        expectPunct(')');
        return { kind: 'function', name: fn === 'startswith' ? 'startsWith' : 'endsWith', property: propertyPath(arg.value), value: value as string };
      }
      const lambda = /^(.+)\/(any|all)$/i.exec(t.value);
      if (lambda && rangeVariable === undefined) {
        if (lambda[2]!.toLowerCase() === 'all') fail();
        pos += 1;
        const variable = peek() ?? fail();
        if (variable.type !== 'word') fail();
        pos += 1;
        expectPunct(':');
        rangeVariable = variable.value;
        const predicate = or();
        rangeVariable = undefined;
        expectPunct(')');
        return { kind: 'any', property: lambda[1]!, predicate };
      }
      return fail();
    }
    const property = propertyPath(t.value);
    const op = peek();
    if (op?.type !== 'word') return fail();
    const opName = op.value.toLowerCase();
    pos += 1;
    if (opName === 'in') {
      expectPunct('(');
      const values = [literal()];
      while (peek()?.type === 'punct' && peek()!.value === ',') {
        pos += 1;
        values.push(literal());
      }
      expectPunct(')');
      return { kind: 'in', property, values };
    }
    if (!['eq', 'ne', 'gt', 'ge', 'lt', 'le'].includes(opName)) return fail();
    return { kind: 'compare', op: opName as CompareOp, property, value: literal() };
  };

  const unary = (): FilterNode => {
    if (isWord('not')) {
      pos += 1;
      return { kind: 'not', operand: unary() };
    }
    return primary();
  };
  const and = (): FilterNode => {
    let left = unary();
    while (isWord('and')) {
      pos += 1;
      left = { kind: 'and', left, right: unary() };
    }
    return left;
  };
  function or(): FilterNode {
    let left = and();
    while (isWord('or')) {
      pos += 1;
      left = { kind: 'or', left, right: and() };
    }
    return left;
  }

  if (tokens.length === 0) fail();
  const tree = or();
  if (pos !== tokens.length) fail();
  return tree;
}

// ---------------------------------------------------------------------------------------------------------
// Support check

/**
 * Throws the 400 Graph answers for a filter it does not support (spec §4.3): an advanced-only operator
 * without ConsistencyLevel + $count ⇒ "Operator '…' is not supported because…"; a property or operator
 * Graph does not index ⇒ "Unsupported or invalid query filter clause specified for property '…' of resource '…'.".
 * An advanced-only property (description eq …) without the parameters answers the property message
 * (unverified: Graph's docs give examples of the two messages, not this case).
 */
export function checkFilter(node: FilterNode, capabilities: CollectionCapabilities, advanced: boolean): void {
  const propertyError = (property: string) =>
    unsupportedQuery(`Unsupported or invalid query filter clause specified for property '${property}' of resource '${capabilities.resource}'.`);
  const operatorError = (op: string) => unsupportedQuery(`Operator '${op}' ${ADVANCED_HINT}`);
  const ADVANCED_OPERATORS: readonly FilterOp[] = ['ne', 'not', 'endsWith'];

  const check = (key: string, displayProperty: string, op: FilterOp) => {
    const support = capabilities.filter[key];
    if (support?.byDefault?.includes(op)) return;
    if (support?.advanced?.includes(op)) {
      if (advanced) return;
      throw ADVANCED_OPERATORS.includes(op) ? operatorError(op) : propertyError(displayProperty);
    }
    throw propertyError(displayProperty);
  };

  const visit = (n: FilterNode, lambda?: string): void => {
    const key = (property: string) => (lambda === undefined ? property : property === '' ? `${lambda}/any` : `${lambda}/any/${property}`);
    const shown = (property: string) => (lambda === undefined ? property : lambda);
    switch (n.kind) {
      case 'and':
      case 'or':
        visit(n.left, lambda);
        visit(n.right, lambda);
        return;
      case 'not':
        if (!advanced) throw operatorError('not');
        visit(n.operand, lambda);
        return;
      case 'compare':
        check(key(n.property), shown(n.property), n.op === 'eq' && n.value === null ? 'eqNull' : n.op);
        return;
      case 'in':
        check(key(n.property), shown(n.property), 'in');
        return;
      case 'function':
        check(key(n.property), shown(n.property), n.name);
        return;
      case 'any':
        if (lambda !== undefined) throw propertyError(n.property);
        visit(n.predicate, n.property);
        return;
    }
  };
  visit(node);
}

// ---------------------------------------------------------------------------------------------------------
// Evaluation

function valueAt(object: unknown, path: string): unknown {
  if (path === '') return object;
  let current = object;
  for (const segment of path.split('/')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

const DATE = /^\d{4}-\d{2}-\d{2}T/;

function compare(actual: unknown, op: CompareOp, expected: Literal): boolean {
  if (expected === null) {
    const isNull = actual === null || actual === undefined;
    return op === 'eq' ? isNull : op === 'ne' ? !isNull : false;
  }
  if (actual === null || actual === undefined) return op === 'ne';
  let a: string | number | boolean;
  let b: string | number | boolean;
  if (typeof expected === 'string' && typeof actual === 'string' && DATE.test(expected) && DATE.test(actual)) {
    a = Date.parse(actual);
    b = Date.parse(expected);
  } else if (typeof expected === 'string') {
    // Directory string comparisons ignore case.
    a = String(actual).toLowerCase();
    b = expected.toLowerCase();
  } else {
    a = actual as number | boolean;
    b = expected;
  }
  switch (op) {
    case 'eq':
      return a === b;
    case 'ne':
      return a !== b;
    case 'gt':
      return a > b;
    case 'ge':
      return a >= b;
    case 'lt':
      return a < b;
    case 'le':
      return a <= b;
  }
}

/** Whether a JSON object satisfies the filter. */
export function matchesFilter(node: FilterNode, object: unknown): boolean {
  switch (node.kind) {
    case 'and':
      return matchesFilter(node.left, object) && matchesFilter(node.right, object);
    case 'or':
      return matchesFilter(node.left, object) || matchesFilter(node.right, object);
    case 'not':
      return !matchesFilter(node.operand, object);
    case 'compare':
      return compare(valueAt(object, node.property), node.op, node.value);
    case 'in': {
      const actual = valueAt(object, node.property);
      return node.values.some((value) => compare(actual, 'eq', value));
    }
    case 'function': {
      const actual = valueAt(object, node.property);
      if (typeof actual !== 'string') return false;
      const [a, b] = [actual.toLowerCase(), node.value.toLowerCase()];
      return node.name === 'startsWith' ? a.startsWith(b) : a.endsWith(b);
    }
    case 'any': {
      const items = valueAt(object, node.property);
      return Array.isArray(items) && items.some((item) => matchesFilter(node.predicate, item));
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// $select

/**
 * Parses $select. An unknown property answers what Graph's OData parser answers (wording as commonly
 * reported for Graph: "Could not find a property named '…' on type '…'.").
 */
export function parseSelect(value: string | null, capabilities: Pick<CollectionCapabilities, 'selectable' | 'entityType'>): string[] | undefined {
  if (value === null || value.trim() === '') return undefined;
  const names = value.split(',').map((name) => name.trim());
  const byLower = new Map([...capabilities.selectable].map((name) => [name.toLowerCase(), name]));
  return names.map((name) => {
    const known = byLower.get(name.toLowerCase());
    if (!known) throw new GraphError(400, 'BadRequest', `Could not find a property named '${name}' on type '${capabilities.entityType}'.`);
    return known;
  });
}

/** The object with only the selected properties (Graph does not add id unless selected). */
export function applySelect(object: Record<string, unknown>, select: readonly string[] | undefined): Record<string, unknown> {
  if (!select) return object;
  const result: Record<string, unknown> = {};
  for (const name of select) result[name] = object[name] ?? null;
  return result;
}

/** "@odata.context" for a collection or an entity, with the $select list as Graph writes it. */
export function contextUrl(serviceRoot: string, entitySet: string, select: readonly string[] | undefined, entity = false): string {
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

/** Parses and validates the query options of a directory collection GET (spec §4.3, §5.2). */
export function parseListQuery(request: Pick<GraphRequest, 'headers' | 'query'>, capabilities: CollectionCapabilities): ListQuery {
  const q = request.query;
  const eventual = hasEventualConsistency(request);
  const countRequested = (q.get('$count') ?? '').toLowerCase() === 'true';
  const advanced = eventual && countRequested;

  if (q.has('$skip')) throw badRequest("'$skip' is not supported by the service."); // unverified wording; spec §4.3: not supported

  let top = DEFAULT_PAGE_SIZE;
  const topText = q.get('$top');
  if (topText !== null) {
    top = /^-?\d+$/.test(topText.trim()) ? Number(topText) : NaN;
    if (!(top >= 1 && top <= MAX_PAGE_SIZE)) {
      throw unsupportedQuery(`Invalid page size specified: '${topText}'. Must be between 1 and ${MAX_PAGE_SIZE} inclusive.`);
    }
  }

  let search: ListQuery['search'];
  const searchText = q.get('$search');
  if (searchText !== null) {
    if (!eventual) {
      throw unsupportedQuery("Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'");
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
    if (!m || !property) throw unsupportedQuery(`Unsupported sort property '${orderText.trim()}' for '${capabilities.resource}'.`); // unverified
    if (!advanced) throw unsupportedQuery(`Operator 'orderby' ${ADVANCED_HINT}`); // unverified: spec §4.3 says $orderby needs advanced
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
    if (!value.toLowerCase().split(/[\s\-_.,:;/\\()]+/).some((word) => word.startsWith(term))) return false;
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
      const value: unknown = JSON.parse(Buffer.from(token.slice(SKIPTOKEN_PREFIX.length), 'base64url').toString('utf8'));
      if (isValid(value)) return value;
    }
  } catch {
    // fall through
  }
  throw badRequest('Invalid paging token.');
}

export function isPageCursor(value: unknown): value is PageCursor {
  return typeof value === 'object' && value !== null && typeof (value as PageCursor).position === 'number' && (value as PageCursor).position >= 0;
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

/** The nextLink: the request's URL with all its query options and the new $skiptoken (spec §5.2). */
export function nextLinkFor(serviceRoot: string, path: string, query: URLSearchParams, skiptoken: string): string {
  const params = new URLSearchParams(query);
  params.delete('$skiptoken');
  params.set('$skiptoken', skiptoken);
  return `${serviceRoot}${path}?${params.toString().replace(/%24/g, '$').replace(/%2C/g, ',')}`;
}
