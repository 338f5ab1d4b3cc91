/**
 * The local tenant's token endpoint, driven by the real @azure/identity ClientSecretCredential over https.
 */
import { createHash } from 'node:crypto';
import { ClientSecretCredential } from '@azure/identity';
import { emptyTenant, newObjectId, type TenantData } from '../../src/local/tenant/state';
import type { RunningTenant } from '../../src/local/tenant/server';
import { startTestTenant } from '../helpers/tenant';

const tenantId = '5e1f0c9a-2b4d-4c6e-9a1b-3d5f7e9a0c01';
const appId = '7c3e9f21-4a6b-4d8c-9e0f-1a2b3c4d5e60';
const secret = 'Abc8Q~local-tenant-test-secret-value-0001';

function tenantWithOneApp(endDateTime = '2099-01-01T00:00:00Z'): TenantData {
  const data = emptyTenant(tenantId, 'contoso.onmicrosoft.com');
  const id = newObjectId();
  const keyId = newObjectId();
  data.applications[id] = {
    data: {
      id,
      appId,
      displayName: 'Registrar',
      passwordCredentials: [{ keyId, hint: secret.slice(0, 3), endDateTime, displayName: 'bot' }],
    },
    visibleFrom: 0,
    sequence: 1,
    owners: [],
    secretHashes: { [keyId]: createHash('sha256').update(secret).digest('hex') },
    certificates: {},
    credentialsUsableFrom: {},
  };
  return data;
}

describe('the local tenant token endpoint', () => {
  let tenant: RunningTenant;

  afterEach(async () => {
    await tenant.stop();
  });

  test('when an app asks with its secret over https, then it gets a token for the scope it asked', async () => {
    tenant = await startTestTenant({ data: tenantWithOneApp(), routes: [] });
    const credential = new ClientSecretCredential(tenantId, appId, secret, {
      authorityHost: tenant.url,
      disableInstanceDiscovery: true,
    });

    const token = await credential.getToken('https://graph.microsoft.com/.default');

    const claims = JSON.parse(Buffer.from(token.token.split('.')[1]!, 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >;
    expect(claims).toMatchObject({
      tid: tenantId,
      appid: appId,
      aud: 'https://graph.microsoft.com',
      iss: `https://sts.windows.net/${tenantId}/`,
    });
  });

  test.each([
    ['a wrong secret', tenantId, appId, 'Abc8Q~not-the-secret', /AADSTS7000215/],
    ['an unknown client', tenantId, '0b1c2d3e-4f50-4617-8283-949596979899', secret, /AADSTS700016/],
    ['an unknown tenant', '0b1c2d3e-4f50-4617-8283-000000000000', appId, secret, /AADSTS90002/],
  ])(
    'when an app asks with %s, then Entra refuses with the AADSTS code the bot must handle',
    async (_name, tenant_, client, clientSecret, code) => {
      tenant = await startTestTenant({ data: tenantWithOneApp(), routes: [] });
      const credential = new ClientSecretCredential(tenant_, client, clientSecret, {
        authorityHost: tenant.url,
        disableInstanceDiscovery: true,
      });

      await expect(credential.getToken('https://graph.microsoft.com/.default')).rejects.toThrow(code);
    },
  );

  test('when the secret has expired, then Entra answers AADSTS7000222', async () => {
    tenant = await startTestTenant({ data: tenantWithOneApp('2020-01-01T00:00:00Z'), routes: [] });
    const credential = new ClientSecretCredential(tenantId, appId, secret, {
      authorityHost: tenant.url,
      disableInstanceDiscovery: true,
    });

    await expect(credential.getToken('https://graph.microsoft.com/.default')).rejects.toThrow(/AADSTS7000222/);
  });
});
