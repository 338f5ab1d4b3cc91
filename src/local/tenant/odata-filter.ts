/**
 * $filter for the local tenant's directory collections: parsed into an AST for the grammar Graph's directory
 * accepts, checked against a per-resource support table (what works by default, what needs an advanced query:
 * ConsistencyLevel: eventual + $count=true), evaluated against the JSON objects. The tables and messages follow
 * https://learn.microsoft.com/graph/aad-advanced-queries and https://learn.microsoft.com/graph/filter-query-parameter.
 * The other query options and paging are in odata.ts.
 */
import { GraphError, unsupportedQuery } from './http';

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

/** What a collection's $filter supports, by property (or lambda path). */
export interface FilterCapabilities {
  /** Resource name as Graph's messages spell it: "Application". */
  resource: string;
  filter: Readonly<Record<string, FilterSupport>>;
}

export const ADVANCED_HINT =
  'is not supported because the required parameters might be missing. Try adding $count=true query parameter and ConsistencyLevel:eventual header. Refer to https://aka.ms/graph-docs/advanced-queries for more information';

// ---------------------------------------------------------------------------------------------------------
// $filter parsing

type Token =
  | { type: 'string'; value: string; at: number }
  | { type: 'word'; value: string; at: number }
  | { type: 'punct'; value: string; at: number };

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
        return {
          kind: 'function',
          name: fn === 'startswith' ? 'startsWith' : 'endsWith',
          property: propertyPath(arg.value),
          value: value as string,
        };
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
 * Throws the 400 Graph answers for a filter it does not support (aad-advanced-queries): an advanced-only operator
 * without ConsistencyLevel + $count ⇒ "Operator '…' is not supported because…"; a property or operator
 * Graph does not index ⇒ "Unsupported or invalid query filter clause specified for property '…' of resource '…'.".
 * An advanced-only property (description eq …) without the parameters answers the property message
 * (unverified: Graph's docs give examples of the two messages, not this case).
 */
export function checkFilter(node: FilterNode, capabilities: FilterCapabilities, advanced: boolean): void {
  const propertyError = (property: string) =>
    unsupportedQuery(
      `Unsupported or invalid query filter clause specified for property '${property}' of resource '${capabilities.resource}'.`,
    );
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
    const key = (property: string) =>
      lambda === undefined ? property : property === '' ? `${lambda}/any` : `${lambda}/any/${property}`;
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
