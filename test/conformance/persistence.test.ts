/**
 * The local tenant as local mode runs it (startLocalTenant): seeded on first start, saved after changes, and the
 * same directory and signing key after a stop and start from the same data folder.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClientSecretCredential } from '@azure/identity';
import { type LocalTenant, startLocalTenant } from '../../src/local/tenant/main';
import { loadTenant } from '../../src/local/tenant/persistence';
import { DEMO_REGISTRAR_SECRET, demoTenant } from '../../src/local/tenant/seed';
import { graphClientFor } from '../helpers/tenant';

describe('the local tenant data folder', () => {
  let dataDir: string;
  let local: LocalTenant | undefined;

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'registrar-tenant-'));
    // The certificate this worker trusts (global setup), so the new tenant's https is trusted too.
    const trusted = process.env.TEST_TENANT_CERT_DIR!;
    mkdirSync(join(dataDir, 'certs'));
    for (const file of ['tenant-cert.pem', 'tenant-key.pem'])
      copyFileSync(join(trusted, file), join(dataDir, 'certs', file));
  });
  afterEach(async () => {
    await local?.stop();
    local = undefined;
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('when started the first time, then it seeds the demo tenant, saves it, and says how Registrar connects', async () => {
    local = await startLocalTenant({ dataDir, port: 0 });

    expect(local.seeded).toBe(true);
    expect(local.registrar).toEqual(demoTenant().registrar);
    expect(local.caBundlePath).toBe(join(dataDir, 'certs', 'ca-bundle.pem'));
    expect(loadTenant(dataDir)?.tenantId).toBe(local.tenantId);
    const credential = new ClientSecretCredential(local.tenantId, local.registrar!.clientId, DEMO_REGISTRAR_SECRET, {
      authorityHost: local.url,
      disableInstanceDiscovery: true,
    });
    await expect(credential.getToken(`${local.url}/.default`)).resolves.toBeTruthy();
  });

  test('when stopped and started again, then the changed directory and tokens issued before are still there', async () => {
    local = await startLocalTenant({ dataDir, port: 0, saveDelayMs: 10_000 });
    const token = local.tenant.identity.issueToken(local.registrar!.clientId);
    const changed = structuredClone(local.tenant.state().data);
    changed.users['0d0d0d0d-0000-4000-8000-000000000001'] = {
      data: { id: '0d0d0d0d-0000-4000-8000-000000000001', displayName: 'Added before the restart' },
      visibleFrom: 0,
      sequence: 1,
    };
    const seeded = await fetch(`${local.url}/_emulator/seed`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(changed),
    });
    expect(seeded.status).toBe(200);
    // The save is debounced far beyond the test: stop() must flush it.
    await local.stop();

    local = await startLocalTenant({ dataDir, port: 0 });

    expect(local.seeded).toBe(false);
    expect(local.tenant.state().data.users['0d0d0d0d-0000-4000-8000-000000000001']?.data.displayName).toBe(
      'Added before the restart',
    );
    expect(local.tenant.identity.verify(`Bearer ${token}`).appId).toBe(local.registrar!.clientId);
    expect(readdirSync(dataDir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(existsSync(join(dataDir, 'tenant-signing-key.json'))).toBe(true);
  });

  test('when the saved tenant predates app management policies, then it starts with the default policy, disabled', async () => {
    const older: Record<string, unknown> = { ...demoTenant().data };
    delete older.defaultAppManagementPolicy;
    delete older.appManagementPolicies;
    writeFileSync(join(dataDir, 'tenant.json'), JSON.stringify(older));

    local = await startLocalTenant({ dataDir, port: 0 });
    const { client } = graphClientFor(local.tenant, local.registrar!.clientId, DEMO_REGISTRAR_SECRET);
    // Registrar holds no policy permission, so the policy is read from the state; Graph must still serve the rest.
    const data = local.tenant.state().data;
    const apps = (await client.api('/applications').top(1).get()) as { value: unknown[] };

    expect(local.seeded).toBe(false);
    expect(data.defaultAppManagementPolicy).toMatchObject({
      id: '00000000-0000-0000-0000-000000000000',
      isEnabled: false,
    });
    expect(data.appManagementPolicies).toEqual({});
    expect(apps.value).toHaveLength(1);
  });

  test('when fault settings are given at start, then they are in force', async () => {
    local = await startLocalTenant({ dataDir, port: 0, faults: { replicationDelayMs: 1500 } });

    expect(local.tenant.faults.settings()).toEqual({ replicationDelayMs: 1500 });
  });
});
