/**
 * GraphSignIns (CredentialSignIns on Graph) against the local tenant: the last sign-in per keyId of one app from the
 * beta report, and `unavailable` in plain words where the report cannot be read: no Entra ID P1/P2 licence, no
 * permission, and a national cloud the report is not offered in (without calling Graph at all).
 */
import { createHash } from 'node:crypto';
import { ClientSecretCredential } from '@azure/identity';
import { GraphCaller } from '../../../src/adapters/graph/graph-caller';
import { GraphSignIns } from '../../../src/adapters/graph/graph-sign-ins';
import type { GraphCloud } from '../../../src/config';
import { createLogger } from '../../../src/lib/logger';
import { allRoutes } from '../../../src/local/tenant/routes';
import { demoApplicationIds, demoIds, demoTenant } from '../../../src/local/tenant/seed';
import type { RunningTenant } from '../../../src/local/tenant/server';
import type { TenantData } from '../../../src/local/tenant/state';
import { LogCapture } from '../../helpers/logs';
import { registrarConnection, startTestTenant } from '../../helpers/tenant';

const REPORT_ROUTE = 'GET /reports/appCredentialSignInActivities';
const payrollSync = demoApplicationIds(2);
const legacyCrm = demoApplicationIds(4);

describe('GraphSignIns', () => {
  let tenant: RunningTenant;
  afterEach(async () => {
    await tenant.stop();
  });

  async function start(change: (data: TenantData) => void = () => {}): Promise<void> {
    const { data } = demoTenant();
    change(data);
    tenant = await startTestTenant({ data, routes: allRoutes });
  }

  function signIns(cloud: GraphCloud = 'global'): GraphSignIns {
    const graph = new GraphCaller({
      connection: registrarConnection(tenant),
      baseDelayMs: 50,
      maxDelayMs: 500,
      stepTimeoutMs: 10_000,
    });
    return new GraphSignIns({ graph, cloud, logger: createLogger({ level: 'debug', destination: new LogCapture() }) });
  }

  test('when credentials of the app signed in, then each keyId maps to its last sign-in, and others are absent', async () => {
    const secret = 'Le48Q~a-second-secret-of-legacy-crm-for-this-test';
    const secondKeyId = 'a1e5c0de-0000-4000-8000-0000000000c2';
    await start((data) => {
      const app = data.applications[legacyCrm.id]!;
      (app.data.passwordCredentials as unknown[]).push({
        customKeyIdentifier: null,
        displayName: 'second',
        endDateTime: '2099-01-01T00:00:00Z',
        hint: 'Le4',
        keyId: secondKeyId,
        secretText: null,
        startDateTime: '2020-01-01T00:00:00Z',
      });
      app.secretHashes[secondKeyId] = createHash('sha256').update(secret, 'utf8').digest('hex');
    });
    const seededKeyId = (
      tenant.state().data.applications[legacyCrm.id]!.data.passwordCredentials as Array<{ keyId: string }>
    )[0]!.keyId;
    await new ClientSecretCredential(tenant.tenantId, legacyCrm.appId, secret, {
      authorityHost: tenant.url,
      disableInstanceDiscovery: true,
    }).getToken('https://graph.microsoft.com/.default');

    const answer = await signIns().lastSignIns(legacyCrm.appId);

    expect(answer).toBeInstanceOf(Map);
    expect(tenant.counters.snapshot()[REPORT_ROUTE]).toBe(1);
    const last = answer as Map<string, string | undefined>;
    expect([...last.keys()].sort()).toEqual([seededKeyId, secondKeyId].sort());
    expect(Date.now() - Date.parse(last.get(secondKeyId)!)).toBeLessThan(60_000);
    // The seed: the first secret last signed in four months ago.
    expect(Date.now() - Date.parse(last.get(seededKeyId)!)).toBeGreaterThan(90 * 86_400_000);
    // An app whose credentials never signed in has none.
    expect(await signIns().lastSignIns(payrollSync.appId)).toEqual(new Map());
  });

  test('when the tenant has no Entra ID P1 or P2 licence, then the answer says so in plain words', async () => {
    await start((data) => {
      data.entraIdLicense = 'free';
    });

    expect(await signIns().lastSignIns(legacyCrm.appId)).toEqual({
      unavailable:
        'This tenant has no Microsoft Entra ID P1 or P2 licence, which Entra needs to report when a credential was last used.',
    });
  });

  test('when Registrar holds neither AuditLog.Read.All nor Directory.Read.All, then the answer names them', async () => {
    await start((data) => {
      const graphSp = data.servicePrincipals[demoIds.graphServicePrincipal]!.data;
      const directoryRead = (graphSp.appRoles as Array<{ id: string; value: string }>).find(
        (r) => r.value === 'Directory.Read.All',
      )!.id;
      for (const [id, assignment] of Object.entries(data.appRoleAssignments))
        if (
          assignment.data.principalId === demoIds.registrarServicePrincipal &&
          assignment.data.appRoleId === directoryRead
        )
          delete data.appRoleAssignments[id];
    });

    const answer = await signIns().lastSignIns(legacyCrm.appId);

    expect(answer).toEqual({ unavailable: expect.stringMatching(/needs AuditLog\.Read\.All or Directory\.Read\.All/) });
  });

  test.each(['usgov', 'usgovdod', 'china'] as const)(
    'when Registrar runs in the %s cloud, then the report is unavailable there and Graph is not called',
    async (cloud) => {
      await start();

      const answer = await signIns(cloud).lastSignIns(legacyCrm.appId);

      expect(answer).toEqual({
        unavailable: expect.stringMatching(/^Microsoft does not offer the credential sign-in report in the .* cloud/),
      });
      expect(tenant.counters.snapshot()[REPORT_ROUTE] ?? 0).toBe(0);
    },
  );
});
