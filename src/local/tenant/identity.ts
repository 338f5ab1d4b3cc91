/**
 * The local tenant's Entra token endpoint for the client credentials flow
 * (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow), its OpenID metadata and
 * keys, and the check of the access tokens it issued when they come back on Graph calls.
 * Tokens carry tid, appid, the roles granted to the app on Microsoft Graph, aud = the resource asked for, and
 * the v1 issuer https://sts.windows.net/{tid}/ (what Graph issues for app-only tokens; unverified).
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, randomUUID, X509Certificate } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import jwt from 'jsonwebtoken';
import { type Caller, invalidToken } from './http';
import type { ApplicationRecord, TenantState } from './state';

export const GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';
const TOKEN_LIFETIME_SECONDS = 3599;
/** Entra accepts client assertions from clocks a few minutes off (MSAL rounds nbf to the nearest second). */
const CLOCK_SKEW_SECONDS = 300;

/**
 * An Entra token-endpoint error: HTTP status, OAuth error, AADSTS number and description.
 * https://learn.microsoft.com/entra/identity-platform/reference-error-codes
 */
export class IdentityError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly aadsts: number,
    description: string,
  ) {
    super(`AADSTS${aadsts}: ${description}`);
  }

  body(now: Date): Json {
    const traceId = randomUUID();
    const correlationId = randomUUID();
    const timestamp = now.toISOString().replace('T', ' ').slice(0, 19) + 'Z';
    return {
      error: this.error,
      error_description: `${this.message}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${timestamp}`,
      error_codes: [this.aadsts],
      timestamp,
      trace_id: traceId,
      correlation_id: correlationId,
      error_uri: `https://login.microsoftonline.com/error?code=${this.aadsts}`,
    };
  }
}

type Json = Record<string, unknown>;

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export function newSigningKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { kid: randomUUID().replace(/-/g, '').slice(0, 27), privateKey, publicKey };
}

export function signingKeyFromPem(kid: string, pem: string): SigningKey {
  const privateKey = createPrivateKey(pem);
  return { kid, privateKey, publicKey: createPublicKey(privateKey) };
}

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export interface IdentityOptions {
  state: () => TenantState;
  key: SigningKey;
  /** https://127.0.0.1:port, as callers reach it. */
  baseUrl: () => string;
  now: () => Date;
}

export interface Identity {
  /** Answers the identity endpoints; false when the path is not one of them. */
  handle(method: string, path: string, form: URLSearchParams, request: IncomingMessage): { status: number; body: Json } | undefined;
  /** The caller of a Graph request, from its Authorization header; throws a 401 GraphError. */
  verify(authorization: string | undefined): Caller;
  /** Issues a token directly (admin API and tests). */
  issueToken(appId: string, resource?: string): string;
}

export function createIdentity(options: IdentityOptions): Identity {
  const { key } = options;
  const issuer = (tenantId: string) => `https://sts.windows.net/${tenantId}/`;

  function graphResources(): [string, ...string[]] {
    return ['https://graph.microsoft.com', GRAPH_APP_ID, options.baseUrl()];
  }

  function rolesOf(state: TenantState, appId: string): string[] {
    const spId = state.appIdToServicePrincipal.get(appId.toLowerCase());
    const graphSpId = state.appIdToServicePrincipal.get(GRAPH_APP_ID);
    if (!spId || !graphSpId) return [];
    const graphSp = state.data.servicePrincipals[graphSpId]!.data;
    const roleValues = new Map((graphSp.appRoles as Array<{ id: string; value: string }> | undefined)?.map((r) => [r.id, r.value]) ?? []);
    return Object.values(state.data.appRoleAssignments)
      .map((a) => a.data)
      .filter((a) => a.principalId === spId && a.resourceId === graphSpId)
      .map((a) => roleValues.get(String(a.appRoleId)))
      .filter((v): v is string => !!v);
  }

  function issueToken(appId: string, resource = 'https://graph.microsoft.com'): string {
    const state = options.state();
    const now = Math.floor(options.now().getTime() / 1000);
    const spId = state.appIdToServicePrincipal.get(appId.toLowerCase());
    return jwt.sign(
      {
        aud: resource,
        iss: issuer(state.tenantId),
        iat: now,
        nbf: now,
        exp: now + TOKEN_LIFETIME_SECONDS,
        appid: appId,
        appidacr: '1',
        idtyp: 'app',
        oid: spId,
        sub: spId,
        tid: state.tenantId,
        roles: rolesOf(state, appId),
        ver: '1.0',
      },
      key.privateKey,
      { algorithm: 'RS256', keyid: key.kid, header: { alg: 'RS256', typ: 'JWT', x5t: key.kid } as jwt.JwtHeader },
    );
  }

  function clientCredentials(tenant: string, form: URLSearchParams, request: IncomingMessage): Json {
    const state = options.state();
    const now = options.now();
    if (tenant.toLowerCase() !== state.tenantId && tenant.toLowerCase() !== state.data.domain.toLowerCase()) {
      throw new IdentityError(400, 'invalid_request', 90002, `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`);
    }
    if (form.get('grant_type') !== 'client_credentials') {
      throw new IdentityError(400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.');
    }
    let clientId = form.get('client_id') ?? '';
    let secret = form.get('client_secret') ?? undefined;
    const basic = /^Basic (.+)$/i.exec(String(request.headers.authorization ?? ''))?.[1];
    if (basic) {
      const [id, pass] = Buffer.from(basic, 'base64').toString('utf8').split(':');
      clientId ||= decodeURIComponent(id ?? '');
      secret ??= decodeURIComponent(pass ?? '');
    }
    const scope = form.get('scope') ?? '';
    const resource = /^(.+)\/\.default$/.exec(scope.trim())?.[1];
    if (!resource || scope.trim().includes(' ')) {
      throw new IdentityError(
        400,
        'invalid_scope',
        1002012,
        `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
      );
    }
    if (!graphResources().includes(resource.replace(/\/+$/, ''))) {
      throw new IdentityError(400, 'invalid_resource', 500011, `The resource principal named ${resource} was not found in the tenant named ${state.tenantId}.`);
    }
    const appObjectId = state.appIdToApplication.get(clientId.toLowerCase());
    const app = appObjectId ? state.data.applications[appObjectId] : undefined;
    if (!app || app.visibleFrom > now.getTime()) {
      throw new IdentityError(
        400,
        'unauthorized_client',
        700016,
        `Application with identifier '${clientId}' was not found in the directory '${state.tenantId}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.`,
      );
    }
    if (secret === undefined) {
      if (form.get('client_assertion')) {
        checkClientAssertion(app, clientId, tenant, form, now);
      } else {
        throw new IdentityError(401, 'invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
      }
    } else {
      checkSecret(app, clientId, secret, now);
    }
    return { token_type: 'Bearer', expires_in: TOKEN_LIFETIME_SECONDS, ext_expires_in: TOKEN_LIFETIME_SECONDS, access_token: issueToken(clientId, resource) };
  }

  function checkSecret(app: ApplicationRecord, clientId: string, secret: string, now: Date): void {
    const hash = sha256(secret);
    const keyId = Object.entries(app.secretHashes).find(([, h]) => h === hash)?.[0];
    const credential = (app.data.passwordCredentials as Array<{ keyId: string; endDateTime?: string; startDateTime?: string }> | undefined)?.find(
      (c) => c.keyId === keyId,
    );
    const invalid = () =>
      new IdentityError(
        401,
        'invalid_client',
        7000215,
        `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`,
      );
    if (!keyId || !credential) throw invalid();
    if ((app.credentialsUsableFrom[keyId] ?? 0) > now.getTime()) throw invalid();
    if (credential.endDateTime && Date.parse(credential.endDateTime) <= now.getTime()) {
      throw new IdentityError(
        401,
        'invalid_client',
        7000222,
        `The provided client secret keys for app '${clientId}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.`,
      );
    }
  }

  /**
   * Certificate credentials (the client credentials flow's second case, with a certificate): a JWT signed with the private key of one of the app's uploaded
   * certificates, named by its x5t (SHA-1) or x5t#S256 thumbprint, with aud = this token endpoint, iss = sub =
   * client_id, and a valid exp/nbf. Entra's answers: 700027 for an unknown or expired key or a bad signature,
   * 700024 for an assertion outside its time range, 700021 for a client id mismatch.
   */
  function checkClientAssertion(app: ApplicationRecord, clientId: string, tenant: string, form: URLSearchParams, now: Date): void {
    if (form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') {
      throw new IdentityError(400, 'invalid_request', 700025, "The 'client_assertion_type' must be 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'.");
    }
    const assertion = form.get('client_assertion') ?? '';
    const decoded = jwt.decode(assertion, { complete: true });
    if (!decoded || typeof decoded.payload === 'string') throw new IdentityError(400, 'invalid_request', 50027, 'JWT token is invalid or malformed.');
    const header = decoded.header as jwt.JwtHeader & { 'x5t#S256'?: string };
    const sha256Thumbprint = header['x5t#S256'];
    const sha1Thumbprint = header.x5t;
    const presented = Buffer.from(sha256Thumbprint ?? sha1Thumbprint ?? '', 'base64url').toString('hex').toUpperCase();
    const keyNotFound = (reason: string, extra = '') =>
      new IdentityError(
        401,
        'invalid_client',
        700027,
        `Client assertion contains an invalid signature. [Reason - ${reason}, Thumbprint of key used by client: '${presented}'${extra}, Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '${clientId}'. Review the documentation at https://docs.microsoft.com/en-us/graph/deployments if you are not using the Global endpoint.]`,
      );
    const keyCredentials = (app.data.keyCredentials as Array<{ keyId: string; startDateTime?: string; endDateTime?: string; usage?: string }> | undefined) ?? [];
    const match = keyCredentials.find((credential) => {
      const der = app.certificates[credential.keyId];
      if (!der || (credential.usage !== undefined && credential.usage !== 'Verify')) return false;
      const bytes = Buffer.from(der, 'base64');
      const thumbprint = createHash(sha256Thumbprint ? 'sha256' : 'sha1').update(bytes).digest('hex').toUpperCase();
      return presented !== '' && thumbprint === presented;
    });
    // A certificate uploaded a moment ago is not known to the token service yet (replication).
    if (!match || (app.credentialsUsableFrom[match.keyId] ?? 0) > now.getTime()) throw keyNotFound('The key was not found.');
    const start = match.startDateTime ? Date.parse(match.startDateTime) : -Infinity;
    const end = match.endDateTime ? Date.parse(match.endDateTime) : Infinity;
    if (end <= now.getTime() || start > now.getTime()) {
      throw keyNotFound('The key used is expired.', `, Found key 'Start=${match.startDateTime ?? ''}, End=${match.endDateTime ?? ''}'`);
    }
    const certificate = new X509Certificate(Buffer.from(app.certificates[match.keyId]!, 'base64'));
    const clock = Math.floor(now.getTime() / 1000);
    let claims: jwt.JwtPayload;
    try {
      claims = jwt.verify(assertion, certificate.publicKey, { algorithms: ['RS256', 'PS256', 'ES256'], clockTimestamp: clock, clockTolerance: CLOCK_SKEW_SECONDS }) as jwt.JwtPayload;
    } catch (err) {
      if (err instanceof jwt.TokenExpiredError || err instanceof jwt.NotBeforeError) {
        const payload = decoded.payload;
        throw new IdentityError(
          401,
          'invalid_client',
          700024,
          `Client assertion is not within its valid time range. Current time: ${now.toISOString()}, assertion valid from ${payload.nbf ? new Date(payload.nbf * 1000).toISOString() : 'unknown'}, expiry time of assertion ${payload.exp ? new Date(payload.exp * 1000).toISOString() : 'unknown'}. Review the documentation at https://docs.microsoft.com/azure/active-directory/develop/active-directory-certificate-credentials .`,
        );
      }
      throw new IdentityError(401, 'invalid_client', 700027, 'Client assertion failed signature validation.');
    }
    if (claims.iss !== clientId || claims.sub !== clientId) {
      throw new IdentityError(401, 'invalid_client', 700021, "Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at https://docs.microsoft.com/azure/active-directory/develop/active-directory-certificate-credentials .");
    }
    const tokenEndpoints = [tenant, options.state().tenantId, options.state().data.domain].map((t) => `${options.baseUrl()}/${t}/oauth2/v2.0/token`.toLowerCase());
    const audiences = (Array.isArray(claims.aud) ? claims.aud : [claims.aud]).map((a) => String(a).toLowerCase());
    if (!audiences.some((a) => tokenEndpoints.includes(a))) {
      throw new IdentityError(
        401,
        'invalid_client',
        700027,
        `Client assertion failed signature validation. [Reason - The audience '${audiences.join(' ')}' of the assertion is not this token endpoint.]`,
      );
    }
  }

  function metadata(tenant: string): Json {
    const base = options.baseUrl();
    const tenantId = options.state().tenantId;
    return {
      token_endpoint: `${base}/${tenant}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${base}/${tenant}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: `${base}/${tenantId}/v2.0`,
      request_uri_parameter_supported: false,
      userinfo_endpoint: `${base}/oidc/userinfo`,
      authorization_endpoint: `${base}/${tenant}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${base}/${tenant}/oauth2/v2.0/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${base}/${tenant}/oauth2/v2.0/logout`,
      claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'tid', 'nonce'],
      tenant_region_scope: 'EU',
      cloud_instance_name: 'microsoftonline.com',
      cloud_graph_host_name: 'graph.windows.net',
      msgraph_host: 'graph.microsoft.com',
    };
  }

  function jwks(): Json {
    const jwk = key.publicKey.export({ format: 'jwk' });
    return { keys: [{ kty: 'RSA', use: 'sig', kid: key.kid, x5t: key.kid, n: jwk.n, e: jwk.e, issuer: `${options.baseUrl()}/${options.state().tenantId}/v2.0` }] };
  }

  return {
    issueToken,
    handle(method, path, form, request) {
      const token = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(path);
      const openid = /^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration$/.exec(path);
      const keys = /^\/([^/]+)\/discovery\/v2\.0\/keys$/.exec(path);
      try {
        if (token && method === 'POST') return { status: 200, body: clientCredentials(decodeURIComponent(token[1]!), form, request) };
        if (openid && method === 'GET') return { status: 200, body: metadata(decodeURIComponent(openid[1]!)) };
        if (keys && method === 'GET') return { status: 200, body: jwks() };
      } catch (err) {
        if (err instanceof IdentityError) return { status: err.status, body: err.body(options.now()) };
        throw err;
      }
      return undefined;
    },
    verify(authorization) {
      const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
      if (!token) throw invalidToken('Access token is empty.');
      let claims: jwt.JwtPayload;
      try {
        claims = jwt.verify(token, key.publicKey, { algorithms: ['RS256'], audience: graphResources(), clockTimestamp: Math.floor(options.now().getTime() / 1000) }) as jwt.JwtPayload;
      } catch (err) {
        if (err instanceof jwt.TokenExpiredError || err instanceof jwt.NotBeforeError) throw invalidToken('Access token has expired or is not yet valid.');
        throw invalidToken('CompactToken validation failed with reason code: 80049228.');
      }
      const state = options.state();
      if (claims.tid !== state.tenantId || claims.iss !== issuer(state.tenantId)) throw invalidToken('Access token validation failure. Invalid audience.');
      const appId = String(claims.appid ?? '');
      return {
        tenantId: state.tenantId,
        appId,
        servicePrincipalId: state.appIdToServicePrincipal.get(appId.toLowerCase()) ?? '',
        roles: new Set(Array.isArray(claims.roles) ? claims.roles.map(String) : []),
      };
    },
  };
}
