/**
 * The local tenant: an HTTPS server answering the Entra token endpoint and the Microsoft Graph v1.0 calls
 * Registrar makes, as Graph does (https://learn.microsoft.com/graph/api/overview). Every Graph call goes through one
 * pipeline: count it, add latency, check the token, route, inject throttling or outages, check the permission
 * (Application.ReadWrite.OwnedBy only for owned objects), run the handler, and maybe lose the response.
 * POST /v1.0/$batch runs each of its requests through the same pipeline; /_emulator/ is the admin API (admin.ts).
 * /beta/ serves only the routes declared for it (version 'beta': the reports Registrar reads), each with beta's shapes.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdmin } from './admin';
import { type BatchItem, parseBatch, runBatch } from './batch';
import { concurrencyViolation, type TenantContext, type RouteModule } from './context';
import { CallCounters, type FaultPolicy } from './faults';
import { createFaultPolicy } from './faults-policy';
import {
  type Caller,
  errorBody,
  forbidden,
  GraphError,
  invalidToken,
  type GraphRequest,
  type GraphResponse,
  JSON_CONTENT_TYPE,
  newRequestId,
  OWNED_BY,
  type Route,
  Router,
  standardHeaders,
} from './http';
import { createIdentity, type Identity, newSigningKey, type SigningKey } from './identity';
import { KeyCredentialsListBudget, type TenantLimits } from './limits';
import { TenantState, type TenantData } from './state';

export interface TenantServerOptions {
  certificate: { certPem: string; keyPem: string };
  /** The starting tenant (a seed, or what was saved). */
  data: TenantData;
  routes: readonly RouteModule[];
  port?: number;
  signingKey?: SigningKey;
  faults?: FaultPolicy;
  now?: () => Date;
  /** Called (debounced by the caller) after every change of state. */
  onChange?: (state: TenantState) => void;
  /**
   * Graph's documented query limits (limits.ts). Default: as Graph (150 keyCredentials listings a minute per
   * directory); a test that must list faster says so by raising it.
   */
  limits?: TenantLimits;
  /** Registrar's identity in the starting tenant, for GET /_emulator/info (the secret is shown only if it is the demo seed's). */
  registrar?: { clientId: string; clientSecret?: string };
}

/** One Graph call as the pipeline takes it (a direct call or one request of a $batch). */
export type DispatchRequest = Omit<GraphRequest, 'params' | 'caller'> & { authorization?: string };

export interface RunningTenant {
  /** https://127.0.0.1:port: the authority host and the Graph endpoint. */
  url: string;
  tenantId: string;
  /** The starting (Teams) tenant's directory. */
  state(): TenantState;
  /** The directory with this tenant id: the starting tenant's or one of its other directories (TenantData.directories). */
  directory(tenantId: string): TenantState | undefined;
  /** Replaces the whole tenant (admin reset / seed). */
  replace(data: TenantData): void;
  identity: Identity;
  faults: FaultPolicy;
  counters: CallCounters;
  /** The keyCredentials listing budget per directory (limits.ts). */
  keyCredentialsListing: KeyCredentialsListBudget;
  /** Registrar's identity in the tenant, if known (changes with admin reset / seed). */
  registrar(): { clientId: string; clientSecret?: string } | undefined;
  /** Runs one Graph call through the whole pipeline, without HTTP. */
  dispatch(request: DispatchRequest): Promise<GraphResponse & { lose?: boolean }>;
  stop(): Promise<void>;
}

export async function startTenantServer(options: TenantServerOptions): Promise<RunningTenant> {
  const now = options.now ?? (() => new Date());
  const faults = options.faults ?? createFaultPolicy();
  const counters = new CallCounters();
  const keyCredentialsListing = new KeyCredentialsListBudget(options.limits);
  let state = new TenantState(options.data);
  // Every directory this server serves, by tenant id: the starting tenant and its other directories. A Graph call
  // acts on the directory of its token's tid (as Graph does), kept for the length of the call.
  let directories = directoriesOf(state);
  const acting = new AsyncLocalStorage<TenantState>();
  let baseUrl = '';

  const context: TenantContext = {
    state: () => acting.getStore() ?? state,
    now,
    visibleFrom: () => now().getTime() + (faults.settings().replicationDelayMs ?? 0),
    credentialUsableFrom: () => now().getTime() + (faults.settings().credentialDelayMs ?? 0),
    beforeCredentialWrite: () => {
      if (faults.concurrencyViolation()) throw concurrencyViolation();
    },
    beforeKeyCredentialsList: (at) => keyCredentialsListing.take(context.state().tenantId, at),
    changed: () => options.onChange?.(state),
  };
  const router = new Router();
  for (const module of options.routes) for (const route of module(context)) router.add(route);

  const identity = createIdentity({
    state: () => state,
    directory: (tenant) => directoryNamed(tenant),
    key: options.signingKey ?? newSigningKey(),
    baseUrl: () => baseUrl,
    now,
    changed: () => context.changed(),
  });

  /** Runs one Graph call (also each part of a $batch) and returns its response. */
  async function dispatch(request: DispatchRequest): Promise<GraphResponse & { lose?: boolean }> {
    try {
      const caller = identity.verify(request.authorization);
      const directory = directories.get(caller.tenantId);
      if (!directory) throw invalidToken('Access token validation failure. Invalid audience.');
      return await acting.run(directory, () => dispatchAs(caller, request));
    } catch (err) {
      if (err instanceof GraphError) {
        return {
          status: err.status,
          body: errorBody(err, request.requestId, request.clientRequestId, request.now),
          headers: err.headers,
        };
      }
      throw err;
    }
  }

  /** One Graph call by a verified caller, inside its directory; a GraphError it throws is answered by dispatch. */
  async function dispatchAs(caller: Caller, request: DispatchRequest): Promise<GraphResponse & { lose?: boolean }> {
    const matched = router.match(request.method, request.path, request.version);
    if (matched === undefined) {
      const segment = request.path.split('/').filter(Boolean).pop() ?? '';
      throw new GraphError(400, 'BadRequest', `Resource not found for the segment '${segment}'.`);
    }
    if (matched === 'method-not-allowed') {
      throw new GraphError(405, 'Request_BadRequest', 'Specified HTTP method is not allowed for the request target.');
    }
    const { route, params } = matched;
    counters.record(request.method, route.pattern);
    const graphRequest: GraphRequest = { ...request, params, caller };
    const refusal = faults.refuse(caller, route, request);
    if (refusal) throw refusal;
    authorize(route, graphRequest, caller);
    const response = await route.handler(graphRequest);
    if (route.write) context.changed();
    return {
      ...response,
      headers: { ...faults.responseHeaders(caller, route, request), ...response.headers },
      lose: route.write && faults.loseResponse(route),
    };
  }

  const server: Server = createServer(
    { cert: options.certificate.certPem, key: options.certificate.keyPem },
    (req, res) => {
      void serve(req, res).catch((err: unknown) => {
        if (!res.headersSent) {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(
            JSON.stringify({
              error: { code: 'UnknownError', message: err instanceof Error ? err.message : String(err) },
            }),
          );
        }
      });
    },
  );

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', baseUrl);
    const method = (req.method ?? 'GET').toUpperCase();
    const path = decodeURIComponent(url.pathname);

    if (path === '/_emulator' || path.startsWith('/_emulator/')) {
      let body: unknown;
      try {
        body = raw.trim() === '' ? undefined : JSON.parse(raw);
      } catch {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'BadRequest', message: 'The admin API takes JSON bodies.' } }));
        return;
      }
      const answer = admin.handle(method, path, body, req.socket.remoteAddress);
      res.writeHead(
        answer.status,
        answer.body === undefined ? {} : { 'content-type': 'application/json; charset=utf-8' },
      );
      res.end(answer.body === undefined ? undefined : JSON.stringify(answer.body));
      return;
    }

    // Entra: token endpoint, OpenID metadata, keys.
    const version = /^\/(v1\.0|beta)\//.exec(path)?.[1] as GraphRequest['version'];
    if (!version) {
      const form = new URLSearchParams(
        String(req.headers['content-type'] ?? '').includes('x-www-form-urlencoded') ? raw : '',
      );
      const answer = await identity.handle(method, path, form, req);
      if (answer) {
        res.writeHead(answer.status, {
          'content-type': 'application/json; charset=utf-8',
          'cache-control': 'no-store, no-cache',
        });
        res.end(JSON.stringify(answer.body));
        return;
      }
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ error: 'not_found', error_description: `No local tenant endpoint at ${method} ${path}` }),
      );
      return;
    }

    const requestId = newRequestId();
    const clientRequestId = header(req, 'client-request-id') ?? requestId;
    const arrived = now();
    const latency = faults.settings().latencyMs ?? 0;
    if (latency > 0) await new Promise((r) => setTimeout(r, latency));

    let body: unknown;
    let response: GraphResponse & { lose?: boolean };
    try {
      body = raw.trim() === '' ? undefined : JSON.parse(raw);
      const call: DispatchRequest = {
        method,
        path: path.slice(version.length + 1) || '/',
        version,
        query: url.searchParams,
        headers: Object.fromEntries(
          Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : v]),
        ),
        body,
        authorization: header(req, 'authorization'),
        requestId,
        clientRequestId,
        serviceRoot: `${baseUrl}/${version}`,
        now: arrived,
      };
      response =
        method === 'POST' && call.path === '/$batch' && version === 'v1.0' ? await batch(call) : await dispatch(call);
    } catch (err) {
      if (!(err instanceof SyntaxError)) throw err;
      const error = new GraphError(
        400,
        'BadRequest',
        'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.',
      );
      response = { status: 400, body: errorBody(error, requestId, clientRequestId, arrived) };
    }
    if (response.lose) {
      // The write happened; the client sees the connection drop (the lost-response fault).
      req.socket.destroy();
      return;
    }
    const headers: Record<string, string> = { ...standardHeaders(requestId, clientRequestId), ...response.headers };
    if (response.text !== undefined) {
      res.writeHead(response.status, { ...headers, 'content-type': 'text/plain' });
      res.end(response.text);
    } else if (response.body !== undefined) {
      res.writeHead(response.status, { ...headers, 'content-type': JSON_CONTENT_TYPE });
      res.end(JSON.stringify(response.body));
    } else {
      res.writeHead(response.status, headers);
      res.end();
    }
  }

  /** POST /$batch: the token is checked once for the whole batch, then each request runs through dispatch. */
  async function batch(outer: DispatchRequest): Promise<GraphResponse & { lose?: boolean }> {
    try {
      identity.verify(outer.authorization);
      counters.record('POST', '/$batch');
      const items = parseBatch(outer.body);
      const { responses, lose } = await runBatch(
        items,
        (item) => dispatch(innerRequest(outer, item)),
        (item, error) =>
          errorBody(error, outer.requestId, item.headers['client-request-id'] ?? outer.clientRequestId, now()),
      );
      return { status: 200, body: { responses }, lose };
    } catch (err) {
      if (err instanceof GraphError)
        return {
          status: err.status,
          body: errorBody(err, outer.requestId, outer.clientRequestId, outer.now),
          headers: err.headers,
        };
      throw err;
    }
  }

  function innerRequest(outer: DispatchRequest, item: BatchItem): DispatchRequest {
    const url = new URL(item.url.replace(/^\/?/, '/'), 'https://batch.invalid');
    const requestId = newRequestId();
    return {
      method: item.method,
      path: decodeURIComponent(url.pathname).replace(/^\/v1\.0(?=\/)/i, ''),
      query: url.searchParams,
      // The outer request's headers, then the inner request's own (ConsistencyLevel, Prefer, Content-Type).
      headers: { ...outer.headers, 'content-type': undefined, ...item.headers },
      body: item.body,
      authorization: outer.authorization,
      requestId,
      clientRequestId: item.headers['client-request-id'] ?? outer.clientRequestId,
      serviceRoot: outer.serviceRoot,
      now: now(),
    };
  }

  let registrar = options.registrar;
  const admin = createAdmin({
    url: () => baseUrl,
    state: () => state,
    replace: (data) => replace(data),
    faults,
    counters,
    get registrar() {
      return registrar;
    },
    set registrar(value) {
      registrar = value;
    },
  });

  /** The directory a token endpoint path names, by tenant id or verified domain. */
  function directoryNamed(tenant: string): TenantState | undefined {
    const name = tenant.toLowerCase();
    return directories.get(name) ?? [...directories.values()].find((d) => d.data.domain.toLowerCase() === name);
  }

  function replace(data: TenantData): void {
    state = new TenantState(data);
    directories = directoriesOf(state);
    counters.reset();
    keyCredentialsListing.reset();
    context.changed();
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  baseUrl = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: baseUrl,
    get tenantId() {
      return state.tenantId;
    },
    state: () => state,
    directory: (tenantId) => directories.get(tenantId.toLowerCase()),
    replace,
    identity,
    faults,
    counters,
    keyCredentialsListing,
    registrar: () => registrar,
    dispatch,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The starting tenant and its other directories, by tenant id; each directory's state holds the same data objects, so saving the starting tenant saves them all. */
function directoriesOf(primary: TenantState): Map<string, TenantState> {
  const all = new Map<string, TenantState>([[primary.tenantId.toLowerCase(), primary]]);
  for (const data of primary.data.directories ?? []) all.set(data.tenantId.toLowerCase(), new TenantState(data));
  return all;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The caller needs one of the route's permissions (https://learn.microsoft.com/graph/permissions-reference); OwnedBy alone reaches only objects it owns. */
function authorize(route: Route, request: GraphRequest, caller: Caller): void {
  const { anyOf, alsoAnyOf, ownedBy } = route.permission;
  const held = anyOf.filter((permission) => caller.roles.has(permission));
  if (held.length === 0) throw forbidden();
  if (held.length === 1 && held[0] === OWNED_BY && ownedBy && !ownedBy(request)) throw forbidden();
  if (alsoAnyOf && !alsoAnyOf.some((permission) => caller.roles.has(permission))) throw forbidden();
}
