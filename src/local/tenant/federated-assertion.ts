/**
 * Workload identity federation at the token endpoint: the client credentials flow with a token of an external
 * identity provider as client_assertion (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow#third-case-access-token-request-with-a-federated-credential).
 * Entra takes the assertion when one of the app's federated identity credentials names its issuer, subject and
 * audience exactly (case-sensitive, no wildcards), and its signature verifies with a key the issuer publishes at the
 * jwks_uri of its OpenID configuration (https://learn.microsoft.com/entra/workload-id/workload-identity-federation).
 * The local tenant fetches that configuration over https as Entra does, so a test's issuer is a real OIDC server.
 * Error numbers are Entra's (https://learn.microsoft.com/entra/identity-platform/reference-error-codes); the statuses
 * and the wording of the no-match errors are those people report seeing, not confirmed on a Learn page.
 */
import { createPublicKey, type JsonWebKey } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { IdentityError } from './identity-error';
import type { ApplicationRecord } from './state';

/** Entra tolerates a few minutes of clock difference on assertions. */
const CLOCK_SKEW_SECONDS = 300;
/** How long the issuer's endpoints may take, and how much they may send: a slow or huge answer is a failed request. */
const FETCH_TIMEOUT_MS = 5_000;
const MAX_DOCUMENT_BYTES = 256 * 1024;

interface FederatedRecord {
  id?: string;
  name?: string;
  issuer?: string;
  subject?: string;
  audiences?: string[];
}

/** Reads a JSON document of the issuer; a status other than 200, a timeout or a body that is not JSON throws. */
export type FetchJson = (url: string) => Promise<unknown>;

export const fetchIssuerJson: FetchJson = async (url) => {
  const response = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), redirect: 'error' });
  if (response.status !== 200) throw new Error(`${url} answered ${response.status}`);
  const text = await response.text();
  if (text.length > MAX_DOCUMENT_BYTES) throw new Error(`${url} sent more than ${MAX_DOCUMENT_BYTES} bytes`);
  return JSON.parse(text) as unknown;
};

/** Whether a client assertion is a workload's token rather than one the app signed itself (iss = sub = client_id). */
export function isFederatedAssertion(clientId: string, assertion: string): boolean {
  const payload = jwt.decode(assertion, { json: true });
  return typeof payload?.iss === 'string' && payload.iss !== clientId;
}

const noMatch = (what: string, value: string) =>
  new IdentityError(
    400,
    'invalid_request',
    what === 'issuer' ? 700211 : what === 'audience' ? 700212 : 700213,
    `No matching federated identity record found for presented assertion ${what} '${value}'. Please note that the matching is done using a case-sensitive comparison. Check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation`,
  );

/**
 * Checks a workload's token against the app's federated identity credentials; returns the id of the credential it
 * matched. Throws Entra's errors: 700211/700213/700212 for an issuer, subject or audience no credential names,
 * 50166 when the issuer's OpenID configuration or keys cannot be read, 700024 outside its time range, 50013 for a
 * signature that does not verify.
 */
export async function checkFederatedAssertion(
  app: ApplicationRecord,
  assertion: string,
  now: Date,
  fetchJson: FetchJson = fetchIssuerJson,
): Promise<string> {
  const decoded = jwt.decode(assertion, { complete: true });
  if (!decoded || typeof decoded.payload === 'string')
    throw new IdentityError(400, 'invalid_request', 50027, 'JWT token is invalid or malformed.');
  const claims = decoded.payload;
  const issuer = String(claims.iss ?? '');
  const subject = String(claims.sub ?? '');
  const audiences = (Array.isArray(claims.aud) ? claims.aud : [claims.aud ?? '']).map(String);
  const credentials = (app.federatedIdentityCredentials ?? []) as FederatedRecord[];

  const byIssuer = credentials.filter((c) => c.issuer === issuer);
  if (byIssuer.length === 0) throw noMatch('issuer', issuer);
  const bySubject = byIssuer.filter((c) => c.subject === subject);
  if (bySubject.length === 0) throw noMatch('subject', subject);
  const match = bySubject.find((c) => (c.audiences ?? []).some((a) => audiences.includes(a)));
  if (!match) throw noMatch('audience', audiences.join(' '));

  const key = await issuerKey(issuer, decoded.header.kid);
  try {
    jwt.verify(assertion, key, {
      algorithms: ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'PS256'],
      clockTimestamp: Math.floor(now.getTime() / 1000),
      clockTolerance: CLOCK_SKEW_SECONDS,
    });
  } catch (err) {
    if (err instanceof jwt.TokenExpiredError || err instanceof jwt.NotBeforeError) {
      throw new IdentityError(
        400,
        'invalid_client',
        700024,
        `Client assertion is not within its valid time range. Current time: ${now.toISOString()}, expiry time of assertion ${claims.exp ? new Date(claims.exp * 1000).toISOString() : 'unknown'}.`,
      );
    }
    throw new IdentityError(401, 'invalid_client', 50013, 'Assertion failed signature validation.');
  }
  return String(match.id ?? match.name ?? '');

  async function issuerKey(iss: string, kid: string | undefined) {
    const failed = (reason: string) =>
      new IdentityError(
        400,
        'invalid_request',
        50166,
        `Request to External OIDC endpoint failed. [Issuer: '${iss}', Reason: ${reason}]`,
      );
    let keys: JsonWebKey[];
    try {
      if (!/^https:\/\//i.test(iss)) throw new Error('the issuer is not an https URL');
      const configuration = (await fetchJson(`${iss.replace(/\/+$/, '')}/.well-known/openid-configuration`)) as {
        jwks_uri?: unknown;
      };
      if (typeof configuration?.jwks_uri !== 'string' || !/^https:\/\//i.test(configuration.jwks_uri))
        throw new Error('its OpenID configuration names no https jwks_uri');
      const set = (await fetchJson(configuration.jwks_uri)) as { keys?: unknown };
      keys = Array.isArray(set?.keys) ? (set.keys as JsonWebKey[]) : [];
    } catch (err) {
      throw failed(err instanceof Error ? err.message : String(err));
    }
    const jwk = keys.find((k) => kid !== undefined && k.kid === kid) ?? (kid === undefined ? keys[0] : undefined);
    if (!jwk) throw new IdentityError(401, 'invalid_client', 50013, 'Assertion failed signature validation.');
    try {
      return createPublicKey({ key: jwk, format: 'jwk' });
    } catch {
      throw failed(`its key '${kid ?? ''}' is not a public key`);
    }
  }
}
