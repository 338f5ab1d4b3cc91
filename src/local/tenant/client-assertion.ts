import { createHash, X509Certificate } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { IdentityError } from './identity-error';
import type { ApplicationRecord } from './state';

/** Entra accepts client assertions from clocks a few minutes off (MSAL rounds nbf to the nearest second). */
const CLOCK_SKEW_SECONDS = 300;

/**
 * Certificate credentials (the client credentials flow's second case, with a certificate): a JWT signed with the
 * private key of one of the app's uploaded certificates, named by its x5t (SHA-1) or x5t#S256 thumbprint, with
 * aud = one of tokenEndpoints (this token endpoint under any of the tenant's names), iss = sub = client_id, and
 * a valid exp/nbf. Entra's answers: 700027 for an unknown or expired key or a bad signature,
 * 700024 for an assertion outside its time range, 700021 for a client id mismatch. Returns the keyId of the certificate.
 */
export function checkClientAssertion(
  app: ApplicationRecord,
  clientId: string,
  form: URLSearchParams,
  now: Date,
  tokenEndpoints: readonly string[],
): string {
  if (form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') {
    throw new IdentityError(
      400,
      'invalid_request',
      700025,
      "The 'client_assertion_type' must be 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'.",
    );
  }
  const assertion = form.get('client_assertion') ?? '';
  const decoded = jwt.decode(assertion, { complete: true });
  if (!decoded || typeof decoded.payload === 'string')
    throw new IdentityError(400, 'invalid_request', 50027, 'JWT token is invalid or malformed.');
  const header = decoded.header as jwt.JwtHeader & { 'x5t#S256'?: string };
  const sha256Thumbprint = header['x5t#S256'];
  const sha1Thumbprint = header.x5t;
  const presented = Buffer.from(sha256Thumbprint ?? sha1Thumbprint ?? '', 'base64url')
    .toString('hex')
    .toUpperCase();
  const keyNotFound = (reason: string, extra = '') =>
    new IdentityError(
      401,
      'invalid_client',
      700027,
      `Client assertion contains an invalid signature. [Reason - ${reason}, Thumbprint of key used by client: '${presented}'${extra}, Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '${clientId}'. Review the documentation at https://docs.microsoft.com/en-us/graph/deployments if you are not using the Global endpoint.]`,
    );
  const keyCredentials =
    (app.data.keyCredentials as
      Array<{ keyId: string; startDateTime?: string; endDateTime?: string; usage?: string }> | undefined) ?? [];
  const match = keyCredentials.find((credential) => {
    const der = app.certificates[credential.keyId];
    if (!der || (credential.usage !== undefined && credential.usage !== 'Verify')) return false;
    const bytes = Buffer.from(der, 'base64');
    const thumbprint = createHash(sha256Thumbprint ? 'sha256' : 'sha1')
      .update(bytes)
      .digest('hex')
      .toUpperCase();
    return presented !== '' && thumbprint === presented;
  });
  // A certificate uploaded a moment ago is not known to the token service yet (replication).
  if (!match || (app.credentialsUsableFrom[match.keyId] ?? 0) > now.getTime())
    throw keyNotFound('The key was not found.');
  const start = match.startDateTime ? Date.parse(match.startDateTime) : -Infinity;
  const end = match.endDateTime ? Date.parse(match.endDateTime) : Infinity;
  if (end <= now.getTime() || start > now.getTime()) {
    throw keyNotFound(
      'The key used is expired.',
      `, Found key 'Start=${match.startDateTime ?? ''}, End=${match.endDateTime ?? ''}'`,
    );
  }
  const certificate = new X509Certificate(Buffer.from(app.certificates[match.keyId]!, 'base64'));
  const clock = Math.floor(now.getTime() / 1000);
  let claims: jwt.JwtPayload;
  try {
    claims = jwt.verify(assertion, certificate.publicKey, {
      algorithms: ['RS256', 'PS256', 'ES256'],
      clockTimestamp: clock,
      clockTolerance: CLOCK_SKEW_SECONDS,
    }) as jwt.JwtPayload;
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
    throw new IdentityError(
      401,
      'invalid_client',
      700021,
      "Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at https://docs.microsoft.com/azure/active-directory/develop/active-directory-certificate-credentials .",
    );
  }
  const audiences = (Array.isArray(claims.aud) ? claims.aud : [claims.aud]).map((a) => String(a).toLowerCase());
  if (!audiences.some((a) => tokenEndpoints.some((endpoint) => endpoint.toLowerCase() === a))) {
    throw new IdentityError(
      401,
      'invalid_client',
      700027,
      `Client assertion failed signature validation. [Reason - The audience '${audiences.join(' ')}' of the assertion is not this token endpoint.]`,
    );
  }
  return match.keyId;
}
