/**
 * The local tenant's admin API under /_emulator/: reset, seed, faults, counters and info, over https.
 */
import { demoTenant, DEMO_REGISTRAR_SECRET } from '../../src/local/tenant/seed';
import type { RunningTenant } from '../../src/local/tenant/server';
import { emptyTenant } from '../../src/local/tenant/state';
import { graphClientFor, pipelineTestRoutes, startTestTenant } from '../helpers/tenant';

const demo = demoTenant();

async function admin(
  tenant: RunningTenant,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${tenant.url}/_emulator/${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

describe('the local tenant admin API', () => {
  let tenant: RunningTenant;
  beforeEach(async () => {
    tenant = await startTestTenant({ data: structuredClone(demo.data), routes: [pipelineTestRoutes] });
  });
  afterEach(async () => {
    await tenant.stop();
  });

  test('when asked for info, then it says how to connect, with the demo seed’s local secret and no other', async () => {
    await admin(tenant, 'POST', 'reset', { seed: 'demo' });

    const { status, json } = await admin(tenant, 'GET', 'info');

    expect(status).toBe(200);
    expect(json).toMatchObject({
      tenantId: demo.data.tenantId,
      domain: 'contoso.onmicrosoft.com',
      baseUrl: tenant.url,
      tokenEndpoint: `${tenant.url}/${demo.data.tenantId}/oauth2/v2.0/token`,
      registrar: { clientId: demo.registrar.clientId, clientSecret: DEMO_REGISTRAR_SECRET },
    });
  });

  test('when reset to empty, then the directory is empty and Registrar can no longer sign in; reset to demo brings it back', async () => {
    const emptied = await admin(tenant, 'POST', 'reset', { seed: 'empty' });
    expect(emptied.json).toMatchObject({ applications: 0, users: 0, tenantId: demo.data.tenantId });
    const { credential } = graphClientFor(tenant, demo.registrar.clientId, demo.registrar.clientSecret);
    await expect(credential.getToken(`${tenant.url}/.default`)).rejects.toThrow(/AADSTS700016/);
    expect((await admin(tenant, 'GET', 'info')).json.registrar).toBeNull();

    const restored = await admin(tenant, 'POST', 'reset');

    expect(restored.json).toMatchObject({ seed: 'demo', applications: Object.keys(demo.data.applications).length });
    await expect(
      graphClientFor(tenant, demo.registrar.clientId, demo.registrar.clientSecret).credential.getToken(
        `${tenant.url}/.default`,
      ),
    ).resolves.toBeTruthy();
  });

  test('when seeded with a tenant document, then that is the directory; an unknown seed name is refused', async () => {
    const document = emptyTenant('0b1c2d3e-4f50-4617-8283-949596979899', 'fabrikam.onmicrosoft.com');

    const seeded = await admin(tenant, 'POST', 'seed', document);
    const unknown = await admin(tenant, 'POST', 'seed', { name: 'nonsense' });

    expect(seeded.status).toBe(200);
    expect(tenant.tenantId).toBe('0b1c2d3e-4f50-4617-8283-949596979899');
    expect(unknown.status).toBe(400);
  });

  test('when faults are put, then they are in force and read back; wrong settings are refused with what is wrong', async () => {
    const put = await admin(tenant, 'PUT', 'faults', {
      latencyMs: 10,
      loseResponses: 2,
      throttle: { capacity: 100, refillPerSecond: 10 },
    });
    const wrong = await admin(tenant, 'PUT', 'faults', { unavailable: { rate: 2 } });
    const read = await admin(tenant, 'GET', 'faults');

    expect(put.status).toBe(200);
    expect(read.json).toEqual({ latencyMs: 10, loseResponses: 2, throttle: { capacity: 100, refillPerSecond: 10 } });
    expect(tenant.faults.settings().latencyMs).toBe(10);
    expect(wrong.status).toBe(400);
    expect(JSON.stringify(wrong.json)).toMatch(/unavailable\.rate/);
  });

  test('when Graph is called, then the counters count by method and route pattern, and clearing them starts again', async () => {
    const { client } = graphClientFor(tenant, demo.registrar.clientId, demo.registrar.clientSecret);
    await client.api('/applications').get();
    await client.api('/applications').get();
    await client.api('/applications').post({ displayName: 'counted' });
    await client
      .api(`/applications/${demo.data.applications[Object.keys(demo.data.applications)[0]!]!.data.id as string}`)
      .get();

    const counted = await admin(tenant, 'GET', 'counters');
    const cleared = await admin(tenant, 'DELETE', 'counters');
    const after = await admin(tenant, 'GET', 'counters');

    expect(counted.json).toEqual({
      calls: { 'GET /applications': 2, 'GET /applications/{id}': 1, 'POST /applications': 1 },
      total: 4,
    });
    expect(cleared.status).toBe(204);
    expect(after.json).toEqual({ calls: {}, total: 0 });
  });

  test('when an admin path is unknown, then it answers 404 naming the file that lists the endpoints', async () => {
    const { status, json } = await admin(tenant, 'GET', 'nothing-here');

    expect(status).toBe(404);
    expect(JSON.stringify(json)).toMatch(/admin\.ts/);
  });
});
