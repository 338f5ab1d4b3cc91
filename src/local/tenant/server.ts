/**
 * The local tenant: an HTTPS server answering the Entra token endpoint and the Microsoft Graph v1.0 calls
 * Registrar makes, as Graph does (spec: shared/reference/graph-spec.md). Every Graph call goes through one
 * pipeline: count it, add latency, check the token, route, inject throttling or outages, check the permission
 * (Application.ReadWrite.OwnedBy only for owned objects), run the handler, and maybe lose the response.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type TenantContext, type RouteModule } from './context';
import { CallCounters, type FaultPolicy, noFaults } from './faults';
import {
  type Caller,
  errorBody,
  forbidden,
  GraphError,
  type GraphRequest,
  type GraphResponse,
  JSON_CONTENT_TYPE,
  newRequestId,
  type Route,
  Router,
  standardHeaders,
} from './http';
import { createIdentity, type Identity, newSigningKey, type SigningKey } from './identity';
import { TenantState, type TenantData } from './state';

export const OWNED_BY = 'Application.ReadWrite.OwnedBy';

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
}

export interface RunningTenant {
  /** https://127.0.0.1:port: the authority host and the Graph endpoint. */
  url: string;
  tenantId: string;
  state(): TenantState;
  /** Replaces the whole tenant (admin reset / seed). */
  replace(data: TenantData): void;
  identity: Identity;
  faults: FaultPolicy;
  counters: CallCounters;
  stop(): Promise<void>;
}

export async function startTenantServer(options: TenantServerOptions): Promise<RunningTenant> {
  const now = options.now ?? (() => new Date());
  const faults = options.faults ?? noFaults();
  const counters = new CallCounters();
  let state = new TenantState(options.data);
  let baseUrl = '';

  const context: TenantContext = {
    state: () => state,
    now,
    visibleFrom: () => now().getTime() + (faults.settings().replicationDelayMs ?? 0),
    credentialUsableFrom: () => now().getTime() + (faults.settings().credentialDelayMs ?? 0),
    changed: () => options.onChange?.(state),
  };
  const router = new Router();
  for (const module of options.routes) for (const route of module(context)) router.add(route);

  const identity = createIdentity({ state: () => state, key: options.signingKey ?? newSigningKey(), baseUrl: () => baseUrl, now });

  /** Runs one Graph call (also each part of a $batch) and returns its response. */
  async function dispatch(request: Omit<GraphRequest, 'params' | 'caller'> & { authorization?: string }): Promise<GraphResponse & { lose?: boolean }> {
    try {
      const caller = identity.verify(request.authorization);
      const matched = router.match(request.method, request.path);
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
        headers: { ...faults.responseHeaders(caller, route), ...response.headers },
        lose: route.write && faults.loseResponse(route),
      };
    } catch (err) {
      if (err instanceof GraphError) {
        return { status: err.status, body: errorBody(err, request.requestId, request.clientRequestId, request.now), headers: err.headers };
      }
      throw err;
    }
  }

  const server: Server = createServer({ cert: options.certificate.certPem, key: options.certificate.keyPem }, (req, res) => {
    void serve(req, res).catch((err: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'UnknownError', message: err instanceof Error ? err.message : String(err) } }));
      }
    });
  });

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', baseUrl);
    const method = (req.method ?? 'GET').toUpperCase();
    const path = decodeURIComponent(url.pathname);

    // Entra: token endpoint, OpenID metadata, keys.
    if (!path.startsWith('/v1.0/')) {
      const form = new URLSearchParams(String(req.headers['content-type'] ?? '').includes('x-www-form-urlencoded') ? raw : '');
      const answer = identity.handle(method, path, form, req);
      if (answer) {
        res.writeHead(answer.status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store, no-cache' });
        res.end(JSON.stringify(answer.body));
        return;
      }
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'not_found', error_description: `No local tenant endpoint at ${method} ${path}` }));
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
      response = await dispatch({
        method,
        path: path.slice('/v1.0'.length) || '/',
        query: url.searchParams,
        headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : v])),
        body,
        authorization: header(req, 'authorization'),
        requestId,
        clientRequestId,
        serviceRoot: `${baseUrl}/v1.0`,
        now: arrived,
      });
    } catch (err) {
      if (!(err instanceof SyntaxError)) throw err;
      const error = new GraphError(400, 'BadRequest', 'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.');
      response = { status: 400, body: errorBody(error, requestId, clientRequestId, arrived) };
    }
    if (response.lose) {
      // The write happened; the client sees the connection drop (spec: lost response fault).
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
    replace(data) {
      state = new TenantState(data);
      counters.reset();
      context.changed();
    },
    identity,
    faults,
    counters,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Spec §3: the caller needs one of the route's permissions; OwnedBy alone reaches only objects it owns. */
function authorize(route: Route, request: GraphRequest, caller: Caller): void {
  const { anyOf, alsoAnyOf, ownedBy } = route.permission;
  const held = anyOf.filter((permission) => caller.roles.has(permission));
  if (held.length === 0) throw forbidden();
  if (held.length === 1 && held[0] === OWNED_BY && ownedBy && !ownedBy(request)) throw forbidden();
  if (alsoAnyOf && !alsoAnyOf.some((permission) => caller.roles.has(permission))) throw forbidden();
}
