/**
 * The local tenant's application credential activity report, GET /beta/reports/appCredentialSignInActivities
 * (https://learn.microsoft.com/graph/api/reportroot-list-appcredentialsigninactivities?view=graph-rest-beta): a row
 * per credential that got a token at the token endpoint, in Graph's shape, with its $filter forms, its permission,
 * and its licence requirement. Driven by the real @azure/identity credentials and Graph client.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClientCertificateCredential, ClientSecretCredential } from '@azure/identity';
import type { Client } from '@microsoft/microsoft-graph-client';
import { type LocalTenant, startLocalTenant } from '../../src/local/tenant/main';
import { loadTenant } from '../../src/local/tenant/persistence';
import { reportRoutes } from '../../src/local/tenant/routes/reports';
import { demoApplicationIds, DEMO_REGISTRAR_SECRET, demoIds } from '../../src/local/tenant/seed';
import { selfSignedCertificate } from '../../src/local/tenant/self-signed';
import type { RunningTenant } from '../../src/local/tenant/server';
import { graphTimestamp, newObjectId } from '../../src/local/tenant/state';
import { startTestTenant } from '../helpers/tenant';
import {
  ApplicationsFixture,
  applicationModules,
  type Caller,
  clientFor,
  failure,
  GRAPH_SP_ID,
  TENANT_ID,
} from '../helpers/tenant-fixtures';

const REPORT = '/reports/appCredentialSignInActivities';
const DAY = 86_400_000;

type Row = {
  id: string;
  keyId: string;
  keyType: string;
  keyUsage: string;
  appId: string;
  appObjectId: string;
  servicePrincipalObjectId: string | null;
  resourceId: string | null;
  credentialOrigin: string;
  createdDateTime: string | null;
  expirationDateTime: string | null;
  signInActivity: { lastSignInDateTime: string; lastSignInRequestId: string };
};

async function signInWithSecret(tenant: RunningTenant, caller: Caller): Promise<void> {
  const credential = new ClientSecretCredential(TENANT_ID, caller.appId, caller.secret, {
    authorityHost: tenant.url,
    disableInstanceDiscovery: true,
  });
  await credential.getToken('https://graph.microsoft.com/.default');
}

describe('the local tenant credential sign-in activity report', () => {
  let tenant: RunningTenant;
  let fixture: ApplicationsFixture;
  /** Reads the report (AuditLog.Read.All, its least privileged permission). */
  let auditor: Caller;
  let graph: Client;

  beforeEach(() => {
    fixture = new ApplicationsFixture();
    auditor = fixture.addCaller('Report reader', ['AuditLog.Read.All']);
  });
  afterEach(async () => {
    await tenant.stop();
  });

  async function start(): Promise<void> {
    tenant = await startTestTenant({ data: fixture.data, routes: [...applicationModules, reportRoutes] });
    graph = clientFor(tenant, auditor);
  }

  async function rows(filter?: string): Promise<Row[]> {
    const request = graph.api(REPORT).version('beta');
    const page = (await (filter ? request.filter(filter) : request).get()) as { value: Row[] };
    return page.value;
  }

  test('when an app gets a token with a client secret, then the report lists that keyId with its last sign-in', async () => {
    const worker = fixture.addCaller('Nightly job', []);
    const app = fixture.data.applications[worker.objectId]!;
    const secret = (
      app.data.passwordCredentials as Array<{ keyId: string; startDateTime: string; endDateTime: string }>
    )[0]!;
    await start();
    const before = Date.now();

    await signInWithSecret(tenant, worker);

    const [row, ...others] = await rows(`appId eq '${worker.appId}'`);
    expect(others).toEqual([]);
    expect(row).toEqual({
      id: expect.any(String),
      keyId: secret.keyId,
      keyType: 'clientSecret',
      keyUsage: 'sign',
      appId: worker.appId,
      appObjectId: worker.objectId,
      servicePrincipalObjectId: worker.spId,
      resourceId: GRAPH_SP_ID,
      credentialOrigin: 'application',
      createdDateTime: secret.startDateTime,
      expirationDateTime: secret.endDateTime,
      signInActivity: { lastSignInDateTime: expect.any(String), lastSignInRequestId: expect.any(String) },
    });
    const at = Date.parse(row!.signInActivity.lastSignInDateTime);
    expect(at).toBeGreaterThanOrEqual(before - 1000);
    expect(at).toBeLessThanOrEqual(Date.now() + 1000);
    // Example 2 of the list page: one credential by keyId; and the row by its id.
    expect((await rows(`keyId eq '${secret.keyId}'`)).map((r) => r.appId)).toEqual([worker.appId]);
    const one = (await graph.api(`${REPORT}/${row!.id}`).version('beta').get()) as Row;
    expect(one).toMatchObject({ keyId: secret.keyId, appId: worker.appId });
  });

  test('when an app signs in again, then its row has the later sign-in and a new request id', async () => {
    const worker = fixture.addCaller('Nightly job', []);
    await start();
    await signInWithSecret(tenant, worker);
    const [first] = await rows(`appId eq '${worker.appId}'`);
    await new Promise((resolve) => setTimeout(resolve, 20));

    await signInWithSecret(tenant, worker);

    const [second, ...others] = await rows(`appId eq '${worker.appId}'`);
    expect(others).toEqual([]);
    expect(Date.parse(second!.signInActivity.lastSignInDateTime)).toBeGreaterThan(
      Date.parse(first!.signInActivity.lastSignInDateTime),
    );
    expect(second!.signInActivity.lastSignInRequestId).not.toBe(first!.signInActivity.lastSignInRequestId);
  });

  test('when an app signs in with a certificate, then the row is a certificate the tenant verified', async () => {
    const cert = selfSignedCertificate('worker', new Date(Date.now() - DAY), new Date(Date.now() + 90 * DAY), 'rsa');
    const worker = fixture.addCaller('Certificate job', []);
    const app = fixture.data.applications[worker.objectId]!;
    const keyId = newObjectId();
    app.data.keyCredentials = [
      {
        customKeyIdentifier: cert.thumbprint,
        displayName: 'CN=worker',
        endDateTime: graphTimestamp(cert.notAfter),
        key: null,
        keyId,
        startDateTime: graphTimestamp(cert.notBefore),
        type: 'AsymmetricX509Cert',
        usage: 'Verify',
      },
    ];
    app.certificates[keyId] = cert.der;
    await start();

    await new ClientCertificateCredential(
      TENANT_ID,
      worker.appId,
      { certificate: `${cert.keyPem}${cert.certPem}` },
      { authorityHost: tenant.url, disableInstanceDiscovery: true },
    ).getToken('https://graph.microsoft.com/.default');

    expect(await rows(`keyId eq '${keyId}'`)).toEqual([
      expect.objectContaining({
        keyId,
        keyType: 'certificate',
        keyUsage: 'verify',
        appId: worker.appId,
        expirationDateTime: graphTimestamp(cert.notAfter),
      }),
    ]);
  });

  test('when a sign-in is refused or a credential never signs in, then the report has no row for it', async () => {
    const worker = fixture.addCaller('Nightly job', []);
    const idle = fixture.addCaller('Idle job', []);
    await start();

    await expect(signInWithSecret(tenant, { ...worker, secret: 'Wr0ng~secret' })).rejects.toThrow(/AADSTS7000215/);

    expect(await rows(`appId eq '${worker.appId}'`)).toEqual([]);
    expect(await rows(`appId eq '${idle.appId}'`)).toEqual([]);
  });

  test('when the caller holds neither AuditLog.Read.All nor Directory.Read.All, then Graph refuses; Directory.Read.All is enough', async () => {
    const stranger = fixture.addCaller('No audit', ['Application.Read.All']);
    const directoryReader = fixture.addCaller('Directory reader', ['Directory.Read.All']);
    await start();

    const refused = await failure(clientFor(tenant, stranger).api(REPORT).version('beta').get());
    expect(refused.statusCode).toBe(403);
    expect(refused.code).toBe('Authorization_RequestDenied');
    const allowed = (await clientFor(tenant, directoryReader).api(REPORT).version('beta').get()) as { value: Row[] };
    expect(allowed.value.map((r) => r.appId)).toContain(directoryReader.appId);
  });

  test('when the tenant has no Microsoft Entra ID P1 or P2 licence, then Graph answers 403 as for a non-premium tenant', async () => {
    fixture.data.entraIdLicense = 'free';
    await start();

    const refused = await failure(graph.api(REPORT).version('beta').get());

    expect(refused.statusCode).toBe(403);
    expect(refused.code).toBe('Authentication_RequestFromNonPremiumTenantOrB2CTenant');
    expect(refused.message).toBe("Neither tenant is B2C or tenant doesn't have premium license");
  });

  test('when the filter names a property the report does not filter on, or the report is asked for below v1.0, then Graph answers 400', async () => {
    await start();

    const badFilter = await failure(graph.api(REPORT).version('beta').filter("displayName eq 'x'").get());
    expect(badFilter.statusCode).toBe(400);
    expect(badFilter.code).toBe('Request_UnsupportedQuery');
    // The report is beta only.
    const v1 = await failure(graph.api(REPORT).get());
    expect(v1.statusCode).toBe(400);
    expect(v1.code).toBe('BadRequest');
  });

  test('when $top is smaller than the report, then the rest follows by nextLink', async () => {
    const workers = [fixture.addCaller('Job 1', []), fixture.addCaller('Job 2', []), fixture.addCaller('Job 3', [])];
    await start();
    for (const worker of workers) await signInWithSecret(tenant, worker);

    // Four rows: the three jobs' and the auditor's own (its token for this call is a sign-in too).
    const first = (await graph.api(REPORT).version('beta').top(2).get()) as {
      value: Row[];
      '@odata.nextLink'?: string;
    };
    expect(first.value).toHaveLength(2);
    const rest = (await graph.api(first['@odata.nextLink']!).get()) as { value: Row[]; '@odata.nextLink'?: string };

    expect(rest['@odata.nextLink']).toBeUndefined();
    expect([...first.value, ...rest.value].map((r) => r.appId).sort()).toEqual(
      [...workers, auditor].map((w) => w.appId).sort(),
    );
  });
});

describe('the demo tenant credential sign-in activity, as local mode runs and saves it', () => {
  let dataDir: string;
  let local: LocalTenant | undefined;

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'registrar-tenant-'));
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

  test('when the demo tenant starts, then Expense Bot signed in hours ago and Legacy CRM Connector months ago; a new sign-in is saved', async () => {
    local = await startLocalTenant({ dataDir, port: 0, saveDelayMs: 10 });
    const registrar = new ClientSecretCredential(local.tenantId, local.registrar!.clientId, DEMO_REGISTRAR_SECRET, {
      authorityHost: local.url,
      disableInstanceDiscovery: true,
    });
    const token = await registrar.getToken(`${local.url}/.default`);
    const report = async (appId: string) => {
      const response = await fetch(`${local!.url}/beta${REPORT}?$filter=${encodeURIComponent(`appId eq '${appId}'`)}`, {
        headers: { authorization: `Bearer ${token.token}` },
      });
      return ((await response.json()) as { value: Row[] }).value;
    };
    const ageDays = (row: Row | undefined) => (Date.now() - Date.parse(row!.signInActivity.lastSignInDateTime)) / DAY;

    const [expenseBot] = await report(demoApplicationIds(3).appId);
    const [legacyCrm] = await report(demoApplicationIds(4).appId);
    expect(ageDays(expenseBot)).toBeLessThan(1);
    expect(ageDays(legacyCrm)).toBeGreaterThan(90);
    // Registrar's own sign-in above is recorded, and saved with the tenant.
    const [own] = await report(local.registrar!.clientId);
    expect(own).toMatchObject({
      keyId: 'a1e5c0de-0000-4000-8000-0000000000f1',
      appObjectId: demoIds.registrarApplication,
    });
    await local.stop();
    local = undefined;
    const saved = Object.values(loadTenant(dataDir)!.credentialSignIns ?? {});
    expect(saved.map((r) => r.keyId)).toContain('a1e5c0de-0000-4000-8000-0000000000f1');
  });
});
