/**
 * Certificate credentials at the token endpoint (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow#second-case-access-token-request-with-a-certificate), driven by the real @azure/identity
 * ClientCertificateCredential (MSAL signs the assertion with PS256 and x5t#S256).
 */
import { createHash, sign } from 'node:crypto';
import { ClientCertificateCredential } from '@azure/identity';
import { selfSignedCertificate, type SelfSignedCertificate } from '../../src/local/tenant/self-signed';
import type { RunningTenant } from '../../src/local/tenant/server';
import { emptyTenant, graphTimestamp, newObjectId, type TenantData } from '../../src/local/tenant/state';
import { startTestTenant } from '../helpers/tenant';

const tenantId = '5e1f0c9a-2b4d-4c6e-9a1b-3d5f7e9a0c01';
const appId = '7c3e9f21-4a6b-4d8c-9e0f-1a2b3c4d5e60';
const DAY = 86_400_000;

const valid = selfSignedCertificate('registrar-cert', new Date(Date.now() - DAY), new Date(Date.now() + 365 * DAY));
const other = selfSignedCertificate('someone-else', new Date(Date.now() - DAY), new Date(Date.now() + 365 * DAY));
const expired = selfSignedCertificate('registrar-old', new Date(Date.now() - 400 * DAY), new Date(Date.now() - DAY));

function tenantWith(certificates: SelfSignedCertificate[], usableFrom = 0): TenantData {
  const data = emptyTenant(tenantId, 'contoso.onmicrosoft.com');
  const id = newObjectId();
  const keyCredentials = certificates.map((cert) => ({
    customKeyIdentifier: cert.thumbprint,
    displayName: 'CN=registrar',
    endDateTime: graphTimestamp(cert.notAfter),
    key: null,
    keyId: newObjectId(),
    startDateTime: graphTimestamp(cert.notBefore),
    type: 'AsymmetricX509Cert',
    usage: 'Verify',
  }));
  data.applications[id] = {
    data: { id, appId, displayName: 'Registrar', keyCredentials, passwordCredentials: [] },
    visibleFrom: 0,
    sequence: 1,
    owners: [],
    secretHashes: {},
    certificates: Object.fromEntries(keyCredentials.map((k, i) => [k.keyId, certificates[i]!.der])),
    credentialsUsableFrom: Object.fromEntries(keyCredentials.map((k) => [k.keyId, usableFrom])),
  };
  return data;
}

function credentialFor(tenant: RunningTenant, cert: SelfSignedCertificate): ClientCertificateCredential {
  return new ClientCertificateCredential(
    tenantId,
    appId,
    { certificate: `${cert.keyPem}${cert.certPem}` },
    { authorityHost: tenant.url, disableInstanceDiscovery: true },
  );
}

describe('the local tenant token endpoint with a certificate', () => {
  let tenant: RunningTenant;
  afterEach(async () => {
    await tenant.stop();
  });

  test('when the app signs with an uploaded certificate, then it gets a token', async () => {
    tenant = await startTestTenant({ data: tenantWith([other, valid]), routes: [] });

    const token = await credentialFor(tenant, valid).getToken('https://graph.microsoft.com/.default');

    const claims = JSON.parse(Buffer.from(token.token.split('.')[1]!, 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >;
    expect(claims).toMatchObject({ appid: appId, tid: tenantId, aud: 'https://graph.microsoft.com' });
  });

  test('when the app signs with a certificate it never uploaded, then Entra answers AADSTS700027 key not found', async () => {
    tenant = await startTestTenant({ data: tenantWith([valid]), routes: [] });

    await expect(credentialFor(tenant, other).getToken('https://graph.microsoft.com/.default')).rejects.toThrow(
      /AADSTS700027[\s\S]*The key was not found/,
    );
  });

  test('when the uploaded certificate has expired, then Entra answers AADSTS700027 key expired', async () => {
    tenant = await startTestTenant({ data: tenantWith([expired]), routes: [] });

    await expect(credentialFor(tenant, expired).getToken('https://graph.microsoft.com/.default')).rejects.toThrow(
      /AADSTS700027[\s\S]*The key used is expired/,
    );
  });

  test('when the certificate was uploaded a moment ago, then it is not usable until it has propagated', async () => {
    tenant = await startTestTenant({ data: tenantWith([valid], Date.now() + 60_000), routes: [] });

    await expect(credentialFor(tenant, valid).getToken('https://graph.microsoft.com/.default')).rejects.toThrow(
      /AADSTS700027/,
    );
  });

  test('when an assertion is signed by the right thumbprint but another key, aimed at another endpoint, or stale, then it is refused', async () => {
    tenant = await startTestTenant({ data: tenantWith([valid]), routes: [] });
    const endpoint = `${tenant.url}/${tenantId}/oauth2/v2.0/token`;
    const assertion = (key: string, aud: string, shiftSeconds = 0) => {
      const header = Buffer.from(
        JSON.stringify({ alg: 'RS256', typ: 'JWT', x5t: Buffer.from(valid.thumbprint, 'hex').toString('base64url') }),
      ).toString('base64url');
      const now = Math.floor(Date.now() / 1000) + shiftSeconds;
      const payload = Buffer.from(
        JSON.stringify({ aud, iss: appId, sub: appId, nbf: now, exp: now + 600, jti: newObjectId() }),
      ).toString('base64url');
      const signature = sign('sha256', Buffer.from(`${header}.${payload}`), key);
      return `${header}.${payload}.${signature.toString('base64url')}`;
    };
    const ask = (clientAssertion: string) =>
      fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          client_id: appId,
          scope: 'https://graph.microsoft.com/.default',
          grant_type: 'client_credentials',
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          client_assertion: clientAssertion,
        }),
      }).then(async (r) => ({
        status: r.status,
        body: (await r.json()) as { error?: string; error_codes?: number[] },
      }));

    const good = await ask(assertion(valid.keyPem, endpoint));
    const forged = await ask(assertion(other.keyPem, endpoint));
    const elsewhere = await ask(assertion(valid.keyPem, 'https://login.microsoftonline.com/common/oauth2/v2.0/token'));
    const stale = await ask(assertion(valid.keyPem, endpoint, -3600));

    expect(good.status).toBe(200);
    expect(forged).toMatchObject({ status: 401, body: { error: 'invalid_client', error_codes: [700027] } });
    expect(elsewhere).toMatchObject({ status: 401, body: { error: 'invalid_client', error_codes: [700027] } });
    expect(stale).toMatchObject({ status: 401, body: { error: 'invalid_client', error_codes: [700024] } });
    expect(createHash('sha1').update(Buffer.from(valid.der, 'base64')).digest('hex').toUpperCase()).toBe(
      valid.thumbprint,
    );
  });
});
