/**
 * Fault injection over https with the real clients: throttling (https://learn.microsoft.com/graph/throttling), 503s, lost responses, latency and
 * replication delay (https://devblogs.microsoft.com/microsoft365dev/the-eventual-consistency-of-directory-objects-in-microsoft-graph/), through a small route module so that only the pipeline is under test; and 409
 * concurrency conflicts on credential writes (https://learn.microsoft.com/graph/errors), through the real application routes.
 */
import { RetryHandlerOptions } from '@microsoft/microsoft-graph-client';
import { parseFaultSettings } from '../../src/local/tenant/admin';
import { createFaultPolicy } from '../../src/local/tenant/faults-policy';
import type { FaultPolicy } from '../../src/local/tenant/faults';
import { demoTenant } from '../../src/local/tenant/seed';
import type { RunningTenant } from '../../src/local/tenant/server';
import { graphClientFor, pipelineTestRoutes, startTestTenant } from '../helpers/tenant';
import {
  ApplicationsFixture,
  clientFor,
  failure,
  raw,
  startApplicationsTenant,
  testCertificate,
} from '../helpers/tenant-fixtures';

const demo = demoTenant();
const { clientId, clientSecret } = demo.registrar;

async function start(
  faults?: FaultPolicy,
): Promise<{ tenant: RunningTenant; get: (path: string) => Promise<Response> }> {
  const tenant = await startTestTenant({ data: structuredClone(demo.data), routes: [pipelineTestRoutes], faults });
  const { credential } = graphClientFor(tenant, clientId, clientSecret);
  const token = (await credential.getToken(`${tenant.url}/.default`)).token;
  const get = (path: string) => fetch(`${tenant.url}/v1.0${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { tenant, get };
}

const noRetry = new RetryHandlerOptions(0, 0);

describe('local tenant faults', () => {
  let tenant: RunningTenant;
  afterEach(async () => {
    await tenant?.stop();
  });

  test('when the app has used its resource units, then Graph answers 429 with Retry-After, the throttle headers and Request_ThrottledTemporarily', async () => {
    const started = await start();
    tenant = started.tenant;
    tenant.faults.configure({ throttle: { capacity: 3, refillPerSecond: 0.5 } });

    const first = await started.get('/applications');
    const second = await started.get('/applications');

    expect(first.status).toBe(200);
    expect(first.headers.get('x-ms-resource-unit')).toBe('2');
    expect(second.status).toBe(429);
    // One unit left, two needed, half a unit per second: two seconds.
    expect(second.headers.get('retry-after')).toBe('2');
    expect(second.headers.get('x-ms-throttle-scope')).toBe(
      `Tenant_Application/ReadWrite/${clientId}/${tenant.tenantId}`,
    );
    expect(second.headers.get('x-ms-throttle-information')).toBe('ResourceUnitLimitExceeded');
    expect(second.headers.get('x-ms-resource-unit')).toBe('2');
    const body = (await second.json()) as {
      error: { code: string; message: string; innerError: Record<string, string> };
    };
    expect(body.error.code).toBe('Request_ThrottledTemporarily');
    expect(body.error.message).toBe('Your request is throttled temporarily. Please try after 2 seconds.');
    expect(body.error.innerError['request-id']).toEqual(expect.any(String));
  });

  test('when a call uses $select and a small $top, then it costs fewer resource units, never less than one', async () => {
    const started = await start();
    tenant = started.tenant;

    const selected = await started.get('/applications?$select=id');
    const both = await started.get('/applications?$select=id&$top=5');
    const expanded = await started.get('/applications?$expand=owners');

    expect(selected.headers.get('x-ms-resource-unit')).toBe('1');
    expect(both.headers.get('x-ms-resource-unit')).toBe('1');
    expect(expanded.headers.get('x-ms-resource-unit')).toBe('3');
  });

  test('when the write quota is used up, then writes get 429 WriteLimitExceeded while reads still work', async () => {
    const started = await start();
    tenant = started.tenant;
    tenant.faults.configure({
      throttle: { capacity: 100, refillPerSecond: 10, writes: { capacity: 1, refillPerSecond: 0.1 } },
    });
    const { client } = graphClientFor(tenant, clientId, clientSecret);

    await client.api('/applications').post({ displayName: 'one' });
    const refused = await client
      .api('/applications')
      .middlewareOptions([noRetry])
      .post({ displayName: 'two' })
      .catch((err: { statusCode: number; code: string; headers?: Headers }) => err);

    expect(refused).toMatchObject({ statusCode: 429, code: 'Request_ThrottledTemporarily' });
    expect(refused.headers?.get('x-ms-throttle-information')).toBe('WriteLimitExceeded');
    expect(refused.headers?.get('x-ms-throttle-scope')).toBe(`Tenant_Application/Write/${clientId}/${tenant.tenantId}`);
    expect((await started.get('/applications')).status).toBe(200);
  });

  test('when the Graph client with its default retry handler is throttled, then it waits Retry-After and succeeds', async () => {
    const started = await start();
    tenant = started.tenant;
    tenant.faults.configure({ throttle: { capacity: 2, refillPerSecond: 2 } });
    const { client } = graphClientFor(tenant, clientId, clientSecret);

    await client.api('/applications').get();
    const startedAt = Date.now();
    const second = (await client.api('/applications').get()) as { value: unknown[] };

    expect(second.value).toHaveLength(Object.keys(demo.data.applications).length);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(900);
    expect(tenant.counters.snapshot()['GET /applications']).toBe(3);
  });

  test('when 503s are set for the next two calls, then those two answer 503 with Retry-After and the third is served', async () => {
    const started = await start();
    tenant = started.tenant;
    tenant.faults.configure({ unavailable: { rate: 1, count: 2, retryAfterSeconds: 3 } });

    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push(await started.get('/applications'));

    expect(statuses.map((r) => r.status)).toEqual([503, 503, 200]);
    expect(statuses[0]!.headers.get('retry-after')).toBe('3');
    expect(((await statuses[0]!.json()) as { error: { code: string } }).error.code).toBe('serviceNotAvailable');
  });

  test('when 503s are set at a rate, then that share of calls is refused', async () => {
    const draws = [0.1, 0.9, 0.3, 0.7];
    let i = 0;
    const started = await start(createFaultPolicy({ random: () => draws[i++ % draws.length]! }));
    tenant = started.tenant;
    tenant.faults.configure({ unavailable: { rate: 0.5 } });

    const statuses = [];
    for (let n = 0; n < 4; n++) statuses.push((await started.get('/applications')).status);

    expect(statuses).toEqual([503, 200, 503, 200]);
  });

  test('when a response is lost, then the write is applied while the client sees the connection drop', async () => {
    const started = await start();
    tenant = started.tenant;
    tenant.faults.configure({ loseResponses: 1 });
    const { client } = graphClientFor(tenant, clientId, clientSecret);

    await expect(client.api('/applications').post({ displayName: 'lost in transit' })).rejects.toThrow();

    const list = (await client.api('/applications').get()) as { value: Array<{ displayName: string }> };
    expect(list.value.map((a) => a.displayName)).toContain('lost in transit');
    expect(tenant.faults.settings().loseResponses).toBe(0);
    // Only the next N writes: the following one is answered.
    await expect(client.api('/applications').post({ displayName: 'answered' })).resolves.toMatchObject({
      displayName: 'answered',
    });
  });

  test('when latency is set, then every Graph call takes at least that long', async () => {
    const started = await start();
    tenant = started.tenant;
    tenant.faults.configure({ latencyMs: 300 });

    const startedAt = Date.now();
    const response = await started.get('/applications');

    expect(response.status).toBe(200);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(290);
  });

  test('when replication is delayed, then a new object answers 404 to other calls until the delay has passed', async () => {
    const started = await start();
    tenant = started.tenant;
    tenant.faults.configure({ replicationDelayMs: 1200 });
    const { client } = graphClientFor(tenant, clientId, clientSecret);

    const created = (await client.api('/applications').post({ displayName: 'fresh' })) as { id: string };
    const early = await started.get(`/applications/${created.id}`);
    await new Promise((r) => setTimeout(r, 1300));
    const later = await started.get(`/applications/${created.id}`);

    expect(early.status).toBe(404);
    expect(((await early.json()) as { error: { code: string } }).error.code).toBe('Request_ResourceNotFound');
    expect(later.status).toBe(200);
  });
});

describe('local tenant concurrency conflicts on credential writes', () => {
  let tenant: RunningTenant;
  afterEach(async () => {
    await tenant?.stop();
  });

  const CONCURRENCY = {
    code: 'Directory_ConcurrencyViolation',
    message: 'Error due to concurrent requests being made to the tenant. Please wait briefly and retry.',
  };

  test('when concurrency violations are set, then addPassword, removePassword and PATCH keyCredentials answer 409 and apply nothing; the next write succeeds', async () => {
    const fixture = new ApplicationsFixture();
    const admin = fixture.addCaller('Admin tool', ['Application.ReadWrite.All']);
    const app = fixture.addApp('Billing');
    const now = Date.now();
    const certificate = await testCertificate('billing', new Date(now - 86_400_000), new Date(now + 200 * 86_400_000));
    tenant = await startApplicationsTenant(fixture);
    const graph = clientFor(tenant, admin);
    const id = String(app.data.id);
    const existing = (await graph.api(`/applications/${id}/addPassword`).post({})) as { keyId: string };
    tenant.faults.configure({ concurrencyViolations: 3 });

    const added = await failure(
      graph.api(`/applications/${id}/addPassword`).post({ passwordCredential: { displayName: 'raced' } }),
    );
    const removed = await failure(graph.api(`/applications/${id}/removePassword`).post({ keyId: existing.keyId }));
    const uploaded = await failure(
      graph
        .api(`/applications/${id}`)
        .patch({ keyCredentials: [{ type: 'AsymmetricX509Cert', usage: 'Verify', key: certificate.der }] }),
    );
    const credentialsAfterConflicts = {
      passwords: (app.data.passwordCredentials as Array<{ keyId: string }>).map((c) => c.keyId),
      keys: app.data.keyCredentials,
    };
    const left = tenant.faults.settings().concurrencyViolations;
    const retried = await raw(graph, `/applications/${id}/addPassword`, 'POST', {
      passwordCredential: { displayName: 'retried' },
    });

    for (const error of [added, removed, uploaded]) {
      expect(error.statusCode).toBe(409);
      expect(error.body.error).toMatchObject(CONCURRENCY);
    }
    expect(credentialsAfterConflicts).toEqual({ passwords: [existing.keyId], keys: [] });
    expect(left).toBe(0);
    expect(retried.status).toBe(200);
    expect((app.data.passwordCredentials as unknown[]).length).toBe(2);
  });

  test('when a write does not touch credentials, or is invalid, then it does not use up a concurrency violation', async () => {
    const fixture = new ApplicationsFixture();
    const admin = fixture.addCaller('Admin tool', ['Application.ReadWrite.All']);
    const app = fixture.addApp('Billing');
    tenant = await startApplicationsTenant(fixture);
    const graph = clientFor(tenant, admin);
    tenant.faults.configure({ concurrencyViolations: 1 });

    const renamed = await raw(graph, `/applications/${String(app.data.id)}`, 'PATCH', { displayName: 'Billing v2' });
    const invalid = await failure(
      graph
        .api(`/applications/${String(app.data.id)}/addPassword`)
        .post({ passwordCredential: { endDateTime: 'tomorrow' } }),
    );

    expect(renamed.status).toBe(204);
    expect(invalid.statusCode).toBe(400);
    expect(tenant.faults.settings().concurrencyViolations).toBe(1);
  });

  test('when concurrency violations come from the admin API or TENANT_FAULTS, then they are validated like the other counted faults', async () => {
    tenant = await startTestTenant({ data: structuredClone(demo.data), routes: [pipelineTestRoutes] });
    const put = (body: unknown) =>
      fetch(`${tenant.url}/_emulator/faults`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });

    const accepted = await put({ concurrencyViolations: 2 });
    const refused = await put({ concurrencyViolations: -1 });

    expect(accepted.status).toBe(200);
    expect(await accepted.json()).toEqual({ concurrencyViolations: 2 });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(await refused.json())).toMatch(/concurrencyViolations/);
    expect(parseFaultSettings(JSON.parse('{"concurrencyViolations":1}'))).toEqual({ concurrencyViolations: 1 });
    expect(() => parseFaultSettings({ concurrencyViolations: 1.5 })).toThrow(/concurrencyViolations/);
  });
});
