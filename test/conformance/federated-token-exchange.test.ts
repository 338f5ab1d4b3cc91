/**
 * Workload identity federation at the token endpoint
 * (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow#third-case-access-token-request-with-a-federated-credential),
 * driven by the real @azure/identity ClientAssertionCredential, as a workload's SDK sends its token: the assertion
 * comes from a real OpenID issuer over https, whose configuration and keys the tenant fetches as Entra does.
 */
import { generateKeyPairSync, type KeyObject, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { ClientAssertionCredential } from '@azure/identity';
import jwt from 'jsonwebtoken';
import { ensureDevCertificate } from '../../src/local/tenant/dev-cert';
import type { RunningTenant } from '../../src/local/tenant/server';
import { emptyTenant, newObjectId, type TenantData } from '../../src/local/tenant/state';
import { startTestTenant } from '../helpers/tenant';

const tenantId = '5e1f0c9a-2b4d-4c6e-9a1b-3d5f7e9a0c02';
const appId = '7c3e9f21-4a6b-4d8c-9e0f-1a2b3c4d5e61';
const AUDIENCE = 'api://AzureADTokenExchange';
const SUBJECT = 'repo:contoso/payments:environment:production';

/** An OpenID issuer on 127.0.0.1: its configuration, its keys, and tokens signed with one of them. */
interface Issuer {
  url: string;
  sign(claims: Record<string, unknown>, key?: KeyObject): string;
  stop(): Promise<void>;
}

async function startIssuer(): Promise<Issuer> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = 'workload-key-1';
  const certificate = await ensureDevCertificate(process.env.TEST_TENANT_CERT_DIR!);
  let url = '';
  const server: Server = createServer({ cert: certificate.certPem, key: certificate.keyPem }, (req, res) => {
    const body =
      req.url === '/.well-known/openid-configuration'
        ? { issuer: url, jwks_uri: `${url}/keys`, id_token_signing_alg_values_supported: ['RS256'] }
        : req.url === '/keys'
          ? { keys: [{ ...publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' }] }
          : undefined;
    res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body ?? { error: 'not found' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    sign: (claims, key = privateKey) =>
      jwt.sign({ jti: randomUUID(), exp: Math.floor(Date.now() / 1000) + 300, ...claims }, key, {
        algorithm: 'RS256',
        keyid: kid,
      }),
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function tenantTrusting(issuer: string, subject = SUBJECT): TenantData {
  const data = emptyTenant(tenantId, 'contoso.onmicrosoft.com');
  const id = newObjectId();
  data.applications[id] = {
    data: { id, appId, displayName: 'Payments deploy', keyCredentials: [], passwordCredentials: [] },
    visibleFrom: 0,
    sequence: 1,
    owners: [],
    secretHashes: {},
    certificates: {},
    credentialsUsableFrom: {},
    federatedIdentityCredentials: [
      { id: newObjectId(), name: 'payments-production', issuer, subject, description: null, audiences: [AUDIENCE] },
    ],
  };
  return data;
}

describe('the local tenant token endpoint with a workload federated token', () => {
  let issuer: Issuer;
  let tenant: RunningTenant | undefined;

  beforeAll(async () => {
    issuer = await startIssuer();
  });
  afterAll(async () => {
    await issuer.stop();
  });
  afterEach(async () => {
    await tenant?.stop();
    tenant = undefined;
  });

  const tokenWith = (assertion: string) =>
    new ClientAssertionCredential(tenantId, appId, () => Promise.resolve(assertion), {
      authorityHost: tenant!.url,
      disableInstanceDiscovery: true,
    }).getToken('https://graph.microsoft.com/.default');
  const workloadToken = (claims: Record<string, unknown> = {}) =>
    issuer.sign({ iss: issuer.url, sub: SUBJECT, aud: AUDIENCE, ...claims });

  test('when the token names a trusted issuer, subject and audience and verifies with its key, then the app gets a token', async () => {
    tenant = await startTestTenant({ data: tenantTrusting(issuer.url), routes: [] });

    const token = await tokenWith(workloadToken());

    const claims = jwt.decode(token.token, { json: true });
    expect(claims).toMatchObject({ appid: appId, tid: tenantId, aud: 'https://graph.microsoft.com' });
  });

  test('when the subject differs, even only in case, then Entra answers AADSTS700213 naming it', async () => {
    tenant = await startTestTenant({ data: tenantTrusting(issuer.url), routes: [] });

    await expect(tokenWith(workloadToken({ sub: SUBJECT.toUpperCase() }))).rejects.toThrow(
      /AADSTS700213: No matching federated identity record found for presented assertion subject 'REPO:CONTOSO/,
    );
  });

  test('when no credential names the issuer, then AADSTS700211; a wrong audience, AADSTS700212', async () => {
    tenant = await startTestTenant({ data: tenantTrusting('https://token.actions.githubusercontent.com'), routes: [] });
    await expect(tokenWith(workloadToken())).rejects.toThrow(/AADSTS700211[\s\S]*issuer 'https:\/\/127\.0\.0\.1/);
    await tenant.stop();

    tenant = await startTestTenant({ data: tenantTrusting(issuer.url), routes: [] });
    await expect(tokenWith(workloadToken({ aud: 'api://something-else' }))).rejects.toThrow(
      /AADSTS700212[\s\S]*audience 'api:\/\/something-else'/,
    );
  });

  test('when the token is signed with a key the issuer does not publish, then the signature fails (AADSTS50013)', async () => {
    tenant = await startTestTenant({ data: tenantTrusting(issuer.url), routes: [] });
    const { privateKey: stranger } = generateKeyPairSync('rsa', { modulusLength: 2048 });

    await expect(tokenWith(issuer.sign({ iss: issuer.url, sub: SUBJECT, aud: AUDIENCE }, stranger))).rejects.toThrow(
      /AADSTS50013: Assertion failed signature validation/,
    );
  });

  test('when the token has expired, then AADSTS700024', async () => {
    tenant = await startTestTenant({ data: tenantTrusting(issuer.url), routes: [] });
    const past = Math.floor(Date.now() / 1000) - 3600;

    await expect(tokenWith(workloadToken({ iat: past - 600, exp: past }))).rejects.toThrow(/AADSTS700024/);
  });

  test('when the issuer cannot be reached, then AADSTS50166 says the request to it failed', async () => {
    const gone = 'https://127.0.0.1:9';
    tenant = await startTestTenant({ data: tenantTrusting(gone), routes: [] });

    await expect(tokenWith(issuer.sign({ iss: gone, sub: SUBJECT, aud: AUDIENCE }))).rejects.toThrow(
      /AADSTS50166: Request to External OIDC endpoint failed/,
    );
  });
});
