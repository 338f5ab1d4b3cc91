/**
 * Credential sign-in activity: what Entra's application credential activity report says of each credential (keyId),
 * https://learn.microsoft.com/graph/api/resources/appcredentialsigninactivity?view=graph-rest-beta. The token
 * endpoint (identity.ts) records a sign-in each time it issues a token for a client secret or a certificate
 * assertion, so that the report reflects what was really used.
 *
 * Entra's reports are not immediate: "Latency is the amount of time it takes for Microsoft Entra ID reporting data to
 * appear", and a tenant that just got a premium licence waits about 24 hours for its reports
 * (https://learn.microsoft.com/entra/identity/monitoring-health/reference-log-latency). The local tenant records at
 * once; Registrar must not rely on either (a sign-in of the last hours may be missing from the real report).
 */
import {
  graphTimestamp,
  type ApplicationRecord,
  type CredentialSignInRecord,
  type Json,
  type TenantState,
} from './state';

/**
 * The row id: Graph's examples are "{keyId}|{credentialOrigin}" in base64; here base64url (no "/" or "+"), so that the
 * id stays one path segment of GET /reports/appCredentialSignInActivities/{id}.
 */
export function signInRowId(keyId: string, origin: CredentialSignInRecord['credentialOrigin']): string {
  return Buffer.from(`${keyId}|${origin}`, 'utf8').toString('base64url');
}

/** Records that `keyId` of `app` just got a token (client credentials flow) for the resource with `resourceAppId`. */
export function recordCredentialSignIn(
  state: TenantState,
  app: ApplicationRecord,
  keyId: string,
  keyType: CredentialSignInRecord['keyType'],
  resourceAppId: string,
  at: Date,
  requestId: string,
): void {
  const list = (keyType === 'clientSecret' ? app.data.passwordCredentials : app.data.keyCredentials) as
    Array<{ keyId: string; startDateTime?: string | null; endDateTime?: string | null; usage?: string }> | undefined;
  const credential = list?.find((c) => c.keyId === keyId);
  const appId = String(app.data.appId);
  const id = signInRowId(keyId, 'application');
  state.data.credentialSignIns ??= {};
  state.data.credentialSignIns[id] = {
    keyId,
    keyType,
    // A secret signs the client's request; a certificate's keyCredential is the key Entra verifies it with.
    keyUsage: keyType === 'clientSecret' ? 'sign' : credential?.usage?.toLowerCase() === 'sign' ? 'sign' : 'verify',
    credentialOrigin: 'application',
    appId,
    appObjectId: String(app.data.id),
    servicePrincipalObjectId: state.appIdToServicePrincipal.get(appId.toLowerCase()) ?? null,
    resourceId: state.appIdToServicePrincipal.get(resourceAppId.toLowerCase()) ?? null,
    createdDateTime: credential?.startDateTime ?? null,
    expirationDateTime: credential?.endDateTime ?? null,
    lastSignInDateTime: graphTimestamp(at),
    lastSignInRequestId: requestId,
  };
}

/** A row of the report in Graph's shape. */
export function signInActivityRow(id: string, record: CredentialSignInRecord): Json {
  return {
    id,
    keyId: record.keyId,
    keyType: record.keyType,
    keyUsage: record.keyUsage,
    appId: record.appId,
    appObjectId: record.appObjectId,
    servicePrincipalObjectId: record.servicePrincipalObjectId,
    resourceId: record.resourceId,
    credentialOrigin: record.credentialOrigin,
    expirationDateTime: record.expirationDateTime,
    createdDateTime: record.createdDateTime,
    signInActivity: {
      lastSignInDateTime: record.lastSignInDateTime,
      lastSignInRequestId: record.lastSignInRequestId,
    },
  };
}

/** Whether the tenant's licence includes Entra's sign-in reports (P1 or P2: the Usage and insights prerequisites). */
export function hasPremiumReports(state: TenantState): boolean {
  return (state.data.entraIdLicense ?? 'P1') !== 'free';
}
