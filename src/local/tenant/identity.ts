/**
 * The local tenant's Entra token endpoint for the client credentials flow
 * (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow), its OpenID metadata and
 * keys, and the check of the access tokens it issued when they come back on Graph calls.
 * Tokens carry tid, appid, the roles granted to the app on Microsoft Graph, aud = the resource asked for, and
 * the v1 issuer https://sts.windows.net/{tid}/ (what Graph issues for app-only tokens; unverified).
 * The certificate (client assertion) check is in client-assertion.ts, a workload's federated token in
 * federated-assertion.ts, the token endpoint's errors in identity-error.ts.
 * Each token issued for a secret or a certificate is recorded as that credential's last sign-in (sign-in-activity.ts).
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomUUID,
} from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import jwt from 'jsonwebtoken';
import { checkClientAssertion } from './client-assertion';
import { checkFederatedAssertion, type FetchJson, isFederatedAssertion } from './federated-assertion';
import { type Caller, invalidToken } from './http';
import { IdentityError } from './identity-error';
import { recordCredentialSignIn } from './sign-in-activity';
import type { ApplicationRecord, TenantState } from './state';

export const GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';
const TOKEN_LIFETIME_SECONDS = 3599;

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
  /** The starting tenant: what the admin API's tokens are issued in. */
  state: () => TenantState;
  /** The directory a token endpoint path or a token's tid names (by tenant id or verified domain), if served here. */
  directory: (tenant: string) => TenantState | undefined;
  key: SigningKey;
  /** https://127.0.0.1:port, as callers reach it. */
  baseUrl: () => string;
  now: () => Date;
  /** The tenant changed (a sign-in was recorded): persist it. */
  changed?: () => void;
  /** Reads a workload issuer's OpenID configuration and keys (default: fetch over https). */
  fetchIssuerJson?: FetchJson;
}

export interface Identity {
  /** Answers the identity endpoints; false when the path is not one of them. */
  handle(
    method: string,
    path: string,
    form: URLSearchParams,
    request: IncomingMessage,
  ): Promise<{ status: number; body: Json } | undefined>;
  /** The caller of a Graph request, from its Authorization header; throws a 401 GraphError. */
  verify(authorization: string | undefined): Caller;
  /** Issues a token directly (admin API and tests), in the starting tenant or the directory with tenantId. */
  issueToken(appId: string, resource?: string, tenantId?: string): string;
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
    const roleValues = new Map(
      (graphSp.appRoles as Array<{ id: string; value: string }> | undefined)?.map((r) => [r.id, r.value]) ?? [],
    );
    return Object.values(state.data.appRoleAssignments)
      .map((a) => a.data)
      .filter((a) => a.principalId === spId && a.resourceId === graphSpId)
      .map((a) => roleValues.get(String(a.appRoleId)))
      .filter((v): v is string => !!v);
  }

  function issueToken(appId: string, resource = 'https://graph.microsoft.com', tenantId?: string): string {
    const state = (tenantId ? options.directory(tenantId) : undefined) ?? options.state();
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

  async function clientCredentials(tenant: string, form: URLSearchParams, request: IncomingMessage): Promise<Json> {
    // The token is issued by the directory the path names, and carries its tid: an app of one directory cannot
    // sign in through another's endpoint (AADSTS700016, as below).
    const state = options.directory(tenant);
    const now = options.now();
    if (!state) {
      throw new IdentityError(
        400,
        'invalid_request',
        90002,
        `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
      );
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
      throw new IdentityError(
        400,
        'invalid_resource',
        500011,
        `The resource principal named ${resource} was not found in the tenant named ${state.tenantId}.`,
      );
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
    let used: { keyId: string; keyType: 'clientSecret' | 'certificate' };
    if (secret === undefined) {
      const assertion = form.get('client_assertion');
      if (assertion && isFederatedAssertion(clientId, assertion)) {
        // A workload's token (GitHub Actions, Kubernetes, any OIDC issuer): no credential of the app's own is used,
        // and the credential sign-in report covers secrets and certificates only, so nothing is recorded there.
        if (form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') {
          throw new IdentityError(
            400,
            'invalid_request',
            700025,
            "The 'client_assertion_type' must be 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'.",
          );
        }
        await checkFederatedAssertion(app, assertion, now, options.fetchIssuerJson);
        return {
          token_type: 'Bearer',
          expires_in: TOKEN_LIFETIME_SECONDS,
          ext_expires_in: TOKEN_LIFETIME_SECONDS,
          access_token: issueToken(clientId, resource, state.tenantId),
        };
      }
      if (assertion) {
        // This token endpoint under any of the tenant's names.
        const tokenEndpoints = [tenant, state.tenantId, state.data.domain].map(
          (name) => `${options.baseUrl()}/${name}/oauth2/v2.0/token`,
        );
        used = { keyId: checkClientAssertion(app, clientId, form, now, tokenEndpoints), keyType: 'certificate' };
      } else {
        throw new IdentityError(
          401,
          'invalid_client',
          7000218,
          "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        );
      }
    } else {
      used = { keyId: checkSecret(app, clientId, secret, now), keyType: 'clientSecret' };
    }
    recordCredentialSignIn(state, app, used.keyId, used.keyType, GRAPH_APP_ID, now, randomUUID());
    options.changed?.();
    return {
      token_type: 'Bearer',
      expires_in: TOKEN_LIFETIME_SECONDS,
      ext_expires_in: TOKEN_LIFETIME_SECONDS,
      access_token: issueToken(clientId, resource, state.tenantId),
    };
  }

  /** The keyId of the secret, when it is one of the app's and works now. */
  function checkSecret(app: ApplicationRecord, clientId: string, secret: string, now: Date): string {
    const hash = sha256(secret);
    const keyId = Object.entries(app.secretHashes).find(([, h]) => h === hash)?.[0];
    const credential = (
      app.data.passwordCredentials as Array<{ keyId: string; endDateTime?: string; startDateTime?: string }> | undefined
    )?.find((c) => c.keyId === keyId);
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
    return keyId;
  }

  function metadata(tenant: string): Json {
    const base = options.baseUrl();
    const tenantId = (options.directory(tenant) ?? options.state()).tenantId;
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
    return {
      keys: [
        {
          kty: 'RSA',
          use: 'sig',
          kid: key.kid,
          x5t: key.kid,
          n: jwk.n,
          e: jwk.e,
          issuer: `${options.baseUrl()}/${options.state().tenantId}/v2.0`,
        },
      ],
    };
  }

  return {
    issueToken,
    async handle(method, path, form, request) {
      const token = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(path);
      const openid = /^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration$/.exec(path);
      const keys = /^\/([^/]+)\/discovery\/v2\.0\/keys$/.exec(path);
      try {
        if (token && method === 'POST')
          return { status: 200, body: await clientCredentials(decodeURIComponent(token[1]!), form, request) };
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
        claims = jwt.verify(token, key.publicKey, {
          algorithms: ['RS256'],
          audience: graphResources(),
          clockTimestamp: Math.floor(options.now().getTime() / 1000),
        }) as jwt.JwtPayload;
      } catch (err) {
        if (err instanceof jwt.TokenExpiredError || err instanceof jwt.NotBeforeError)
          throw invalidToken('Access token has expired or is not yet valid.');
        throw invalidToken('CompactToken validation failed with reason code: 80049228.');
      }
      // The directory the token was issued for: a Graph call acts on it (server.ts) and on no other.
      const state = typeof claims.tid === 'string' ? options.directory(claims.tid) : undefined;
      if (!state || claims.tid !== state.tenantId || claims.iss !== issuer(state.tenantId))
        throw invalidToken('Access token validation failure. Invalid audience.');
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
