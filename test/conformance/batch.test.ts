/**
 * JSON batching (https://learn.microsoft.com/graph/json-batching) through the real Graph client: order, dependsOn, 424 for dependents of a failed
 * request, the 20-request limit, and inner requests going through the same pipeline (faults, counters).
 */
import { RetryHandlerOptions } from '@microsoft/microsoft-graph-client';
import { demoTenant } from '../../src/local/tenant/seed';
import type { RunningTenant } from '../../src/local/tenant/server';
import { graphClientFor, pipelineTestRoutes, startTestTenant } from '../helpers/tenant';

interface BatchResponse {
  responses: Array<{
    id: string;
    status: number;
    headers: Record<string, string>;
    body?: Record<string, unknown> & { error?: { code: string; message: string } };
  }>;
}

const demo = demoTenant();
const json = { 'Content-Type': 'application/json' };

describe('the local tenant $batch', () => {
  let tenant: RunningTenant;
  let post: (body: unknown) => Promise<BatchResponse>;
  beforeEach(async () => {
    tenant = await startTestTenant({ data: structuredClone(demo.data), routes: [pipelineTestRoutes] });
    const { client } = graphClientFor(tenant, demo.registrar.clientId, demo.registrar.clientSecret);
    post = async (body) =>
      (await client
        .api('/$batch')
        .middlewareOptions([new RetryHandlerOptions(0, 0)])
        .post(body)) as BatchResponse;
  });
  afterEach(async () => {
    await tenant.stop();
  });

  test('when a request depends on another, then it runs after it and sees what it wrote', async () => {
    const result = await post({
      requests: [
        { id: 'list', method: 'GET', url: '/applications?$select=displayName', dependsOn: ['create'] },
        { id: 'create', method: 'POST', url: 'applications', headers: json, body: { displayName: 'made in a batch' } },
      ],
    });

    expect(result.responses.map((r) => [r.id, r.status])).toEqual([
      ['create', 201],
      ['list', 200],
    ]);
    expect(result.responses[0]!.headers['content-type']).toBe('application/json');
    expect(JSON.stringify(result.responses[1]!.body)).toContain('made in a batch');
    expect(tenant.counters.snapshot()).toEqual({ 'POST /$batch': 1, 'POST /applications': 1, 'GET /applications': 1 });
  });

  test('when a request fails, then what depends on it answers 424 and independent requests still run', async () => {
    const result = await post({
      requests: [
        { id: '1', method: 'GET', url: '/applications/00000000-0000-4000-8000-000000000000' },
        {
          id: '2',
          method: 'POST',
          url: '/applications',
          headers: json,
          body: { displayName: 'never' },
          dependsOn: ['1'],
        },
        { id: '3', method: 'GET', url: '/applications/{nothing}', dependsOn: ['2'] },
        { id: '4', method: 'GET', url: '/applications' },
      ],
    });

    const byId = Object.fromEntries(result.responses.map((r) => [r.id, r]));
    expect(byId['1']!.status).toBe(404);
    expect(byId['1']!.body!.error!.code).toBe('Request_ResourceNotFound');
    expect(byId['2']!.status).toBe(424);
    expect(byId['3']!.status).toBe(424);
    expect(byId['4']!.status).toBe(200);
    expect(Object.values(tenant.state().data.applications).map((a) => a.data.displayName)).not.toContain('never');
  });

  test('when a batch holds more than 20 requests, then the whole batch is refused with 400', async () => {
    const requests = Array.from({ length: 21 }, (_, i) => ({ id: String(i + 1), method: 'GET', url: '/applications' }));

    const refused = await post({ requests }).catch((err: { statusCode: number; code: string; message: string }) => err);

    expect(refused).toMatchObject({ statusCode: 400, code: 'BadRequest' });
    expect((refused as { message: string }).message).toMatch(/maximum value of 20/);
    expect(tenant.counters.snapshot()['GET /applications']).toBeUndefined();
  });

  test('when ids repeat (in any case) or dependsOn names a missing id, then the batch is refused with 400', async () => {
    const duplicate = await post({
      requests: [
        { id: 'a', method: 'GET', url: '/applications' },
        { id: 'A', method: 'GET', url: '/applications' },
      ],
    }).catch((err: { statusCode: number }) => err);
    const missing = await post({
      requests: [{ id: 'a', method: 'GET', url: '/applications', dependsOn: ['b'] }],
    }).catch((err: { statusCode: number }) => err);

    expect(duplicate).toMatchObject({ statusCode: 400 });
    expect(missing).toMatchObject({ statusCode: 400 });
  });

  test('when a write has no Content-Type header, then that request answers 400 as Graph does', async () => {
    const result = await post({
      requests: [{ id: '1', method: 'POST', url: '/applications', body: { displayName: 'x' } }],
    });

    expect(result.responses[0]).toMatchObject({ id: '1', status: 400 });
    expect(result.responses[0]!.body!.error!.message).toBe(
      'Write request id : 1 does not contain Content-Type header or body.',
    );
  });

  test('when the app is throttled, then each inner request is throttled on its own with its Retry-After', async () => {
    tenant.faults.configure({ throttle: { capacity: 4, refillPerSecond: 0.5 } });

    const result = await post({ requests: ['1', '2', '3'].map((id) => ({ id, method: 'GET', url: '/applications' })) });

    expect(result.responses.map((r) => r.status)).toEqual([200, 200, 429]);
    expect(result.responses[2]!.headers['retry-after']).toBe('4');
    expect(result.responses[2]!.body!.error!.code).toBe('Request_ThrottledTemporarily');
  });
});
