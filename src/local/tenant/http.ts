/**
 * The local tenant's HTTP plumbing: Graph's error envelope, its response headers, and a router for Graph's URL
 * shapes (key segments such as applications(appId='...'), actions such as /addPassword, $ref and $count).
 * Every route declares the permission it needs, so the pipeline can check the caller's token before the handler.
 */
import { randomUUID } from 'node:crypto';

/** A Graph error as Graph writes it: {"error":{"code","message","details"?,"innerError":{date,request-id,client-request-id}}}. */
export class GraphError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: ReadonlyArray<{ code: string; message: string; target?: string }>,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'GraphError';
  }
}

/** The permission that reaches only the objects the caller owns (https://learn.microsoft.com/graph/permissions-reference). */
export const OWNED_BY = 'Application.ReadWrite.OwnedBy';

export const notFound = (id: string) =>
  new GraphError(
    404,
    'Request_ResourceNotFound',
    `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
  );
export const badRequest = (message: string, details?: GraphError['details']) =>
  new GraphError(400, 'Request_BadRequest', message, details);
export const unsupportedQuery = (message: string) => new GraphError(400, 'Request_UnsupportedQuery', message);
export const forbidden = () =>
  new GraphError(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');
/**
 * Graph's directory 429 ("Request_ThrottledTemporarily", as observed; https://learn.microsoft.com/graph/throttling)
 * with Retry-After in whole seconds and any further headers (x-ms-throttle-scope, …).
 */
export const throttledTemporarily = (seconds: number, headers: Record<string, string> = {}) =>
  new GraphError(
    429,
    'Request_ThrottledTemporarily',
    `Your request is throttled temporarily. Please try after ${seconds} seconds.`,
    undefined,
    { 'retry-after': String(seconds), ...headers },
  );
export const invalidToken = (message = 'Access token is empty.') =>
  new GraphError(401, 'InvalidAuthenticationToken', message);

/** innerError.date: UTC, seconds precision, no zone suffix (https://learn.microsoft.com/graph/errors). */
export function graphErrorDate(now: Date): string {
  return now.toISOString().slice(0, 19);
}

/** What an app-only Graph caller is, from its access token. */
export interface Caller {
  tenantId: string;
  /** The client's appId. */
  appId: string;
  /** The object id of the client's service principal in this tenant. */
  servicePrincipalId: string;
  /** Application permissions granted (the token's `roles`). */
  roles: ReadonlySet<string>;
}

export interface GraphRequest {
  method: string;
  /** Path below /v1.0 (or /beta), decoded, without the query string: "/applications(appId='...')/owners/$ref". */
  path: string;
  /** The Graph version the path is below; absent means v1.0. */
  version?: 'v1.0' | 'beta';
  /** Values captured by the route pattern. */
  params: Record<string, string>;
  query: URLSearchParams;
  headers: Record<string, string | undefined>;
  body: unknown;
  caller: Caller;
  requestId: string;
  clientRequestId: string;
  /** Absolute base for @odata.context and nextLink: "https://127.0.0.1:port/v1.0". */
  serviceRoot: string;
  /** When the request arrived, for timestamps and replication visibility. */
  now: Date;
}

export interface GraphResponse {
  status: number;
  body?: unknown;
  /** text/plain bodies ($count). */
  text?: string;
  headers?: Record<string, string>;
}

/**
 * What a route requires. `anyOf`: the caller must hold one of these application permissions.
 * `ownedBy`: holding only Application.ReadWrite.OwnedBy is enough when this function says the caller owns the
 * target (OwnedBy means "only objects this app owns": https://learn.microsoft.com/graph/permissions-reference).
 */
export interface Permission {
  anyOf: readonly string[];
  /** Some operations need two permissions at once (appRoleAssignedTo: AppRoleAssignment.ReadWrite.All and a read one). */
  alsoAnyOf?: readonly string[];
  ownedBy?: (request: GraphRequest) => boolean;
}

export type Handler = (request: GraphRequest) => GraphResponse | Promise<GraphResponse>;

export interface Route {
  method: string;
  pattern: string;
  permission: Permission;
  handler: Handler;
  /** Writes count against the write quota and are subject to lost-response faults. */
  write: boolean;
  /** The Graph version that serves it (default v1.0): a beta route answers only below /beta. */
  version?: 'v1.0' | 'beta';
}

interface CompiledRoute extends Route {
  regex: RegExp;
  names: string[];
}

/**
 * Patterns: literal segments, {name} for a path segment, and key segments written as they appear in Graph:
 * "/applications(appId='{appId}')". Graph accepts both "/delta" and "/delta()"; list both where needed.
 */
export class Router {
  private readonly routes: CompiledRoute[] = [];

  add(route: Route): this {
    const names: string[] = [];
    const source = route.pattern
      .split(/(\{[A-Za-z]+\})/)
      .map((part) => {
        const name = /^\{([A-Za-z]+)\}$/.exec(part)?.[1];
        if (!name) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        names.push(name);
        // Inside quotes a key may hold anything but a quote (Graph doubles quotes; our keys never need them).
        return "([^/']+)";
      })
      .join('');
    this.routes.push({ ...route, regex: new RegExp(`^${source}$`, 'i'), names });
    return this;
  }

  /** The route for a method and path of a version, with its params; `undefined` when no pattern matches the path at all. */
  match(
    method: string,
    path: string,
    version: 'v1.0' | 'beta' = 'v1.0',
  ): { route: Route; params: Record<string, string> } | 'method-not-allowed' | undefined {
    let pathMatched = false;
    for (const route of this.routes) {
      if ((route.version ?? 'v1.0') !== version) continue;
      const m = route.regex.exec(path);
      if (!m) continue;
      pathMatched = true;
      if (route.method !== method) continue;
      const params: Record<string, string> = {};
      route.names.forEach((name, i) => (params[name] = m[i + 1] ?? ''));
      return { route, params };
    }
    return pathMatched ? 'method-not-allowed' : undefined;
  }
}

export function newRequestId(): string {
  return randomUUID();
}

/** The headers Graph puts on every response, as observed (x-ms-resource-unit: https://learn.microsoft.com/graph/throttling-limits). */
export function standardHeaders(requestId: string, clientRequestId: string): Record<string, string> {
  return {
    'request-id': requestId,
    'client-request-id': clientRequestId,
    'x-ms-ags-diagnostic': JSON.stringify({
      ServerInfo: { DataCenter: 'Local', Slice: 'E', Ring: '0', ScaleUnit: '000', RoleInstance: 'LOCAL-TENANT' },
    }),
    'odata-version': '4.0',
    'cache-control': 'no-cache',
    'strict-transport-security': 'max-age=31536000',
  };
}

export function errorBody(error: GraphError, requestId: string, clientRequestId: string, now: Date): unknown {
  return {
    error: {
      code: error.code,
      message: error.message,
      ...(error.details ? { details: error.details } : {}),
      innerError: { date: graphErrorDate(now), 'request-id': requestId, 'client-request-id': clientRequestId },
    },
  };
}

export const JSON_CONTENT_TYPE =
  'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8';
