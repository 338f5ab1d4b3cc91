/**
 * GraphProvisioner's federated identity credentials against the local tenant over HTTPS, through the production
 * code path (the real @azure/identity credential and Graph client): a credential added to a new app while it
 * replicates, a repeat and a lost answer that add nothing, the clashes and the 20-per-app limit refused before
 * anything is written, with what to do, and throttling, 503s and concurrency refusals waited out. The tenant's state is the judge.
 */
import { GraphCaller } from '../../../src/adapters/graph/graph-caller';
import { GraphProvisioner } from '../../../src/adapters/graph/graph-provisioner';
import {
  type AppSpec,
  FEDERATED_AUDIENCE,
  type FederatedCredentialSpec,
  MAX_FEDERATED_CREDENTIALS,
} from '../../../src/domain/app-spec';
import { RegistrarError } from '../../../src/domain/errors';
import { createLogger } from '../../../src/lib/logger';
import { alex } from '../../../src/local/demo-identities';
import { allRoutes } from '../../../src/local/tenant/routes/index';
import { demoApplicationIds, demoFederatedCredential, demoTenant } from '../../../src/local/tenant/seed';
import type { RunningTenant } from '../../../src/local/tenant/server';
import type { StepContext } from '../../../src/services/ports';
import { LogCapture } from '../../helpers/logs';
import { recordingFaults, type SeenCall } from '../../helpers/provisioning';
import { registrarConnection, startTestTenant } from '../../helpers/tenant';

jest.setTimeout(90_000);

const demo = demoTenant();
const POST = 'POST /applications/{id}/federatedIdentityCredentials';
const LIST = 'GET /applications/{id}/federatedIdentityCredentials';

interface Harness {
  tenant: RunningTenant;
  provisioner: GraphProvisioner;
  logs: LogCapture;
  calls: SeenCall[];
}

const running: RunningTenant[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((t) => t.stop()));
});

async function start(): Promise<Harness> {
  const { policy, calls } = recordingFaults();
  const tenant = await startTestTenant({ data: structuredClone(demo.data), routes: allRoutes, faults: policy });
  running.push(tenant);
  const logs = new LogCapture();
  const provisioner = new GraphProvisioner({
    graph: new GraphCaller({
      connection: registrarConnection(tenant),
      baseDelayMs: 100,
      maxDelayMs: 1000,
      stepTimeoutMs: 45_000,
    }),
    logger: createLogger({ level: 'debug', destination: logs }),
  });
  return { tenant, provisioner, logs, calls };
}

let sequence = 0;
function spec(): AppSpec {
  sequence += 1;
  return {
    requestId: `req-fed-${Date.now().toString(36)}-${sequence}`,
    displayName: 'Payments Deploy',
    purpose: 'Deploys the payments service from GitHub Actions.',
    signInAudience: 'AzureADMyOrg',
    platform: 'web',
    redirectUris: [],
    permissions: [],
    ownerIds: [alex.aadObjectId],
  };
}

const github = (name: string, subject = `repo:contoso/payments:environment:${name}`): FederatedCredentialSpec => ({
  name,
  issuer: 'https://token.actions.githubusercontent.com',
  subject,
  audiences: [FEDERATED_AUDIENCE],
  description: `GitHub Actions: contoso/payments, ${name}`,
});

const contextOf = (app: AppSpec, createdAt?: Date): StepContext => ({
  requestId: app.requestId,
  ...(createdAt ? { createdAt } : {}),
});

/** The credentials the tenant holds for an application. */
const held = (tenant: RunningTenant, applicationObjectId: string) =>
  tenant.state().data.applications[applicationObjectId]?.federatedIdentityCredentials ?? [];

async function refusal(call: Promise<unknown>): Promise<RegistrarError> {
  try {
    await call;
  } catch (err) {
    if (err instanceof RegistrarError) return err;
    throw err;
  }
  throw new Error('expected the call to be refused');
}

describe('GraphProvisioner federated identity credentials', () => {
  test('when a credential is added to an app created moments ago that still replicates, then the 404s are waited out and exactly one credential exists', async () => {
    const { tenant, provisioner, logs } = await start();
    const app = spec();
    tenant.faults.configure({ replicationDelayMs: 1500 });
    const made = await provisioner.upsertApplication(app, contextOf(app));

    const id = await provisioner.addFederatedCredential(made.applicationObjectId, github('production'), {
      ...contextOf(app, new Date()),
    });

    expect(held(tenant, made.applicationObjectId)).toEqual([
      {
        id,
        name: 'production',
        issuer: 'https://token.actions.githubusercontent.com',
        subject: 'repo:contoso/payments:environment:production',
        description: 'GitHub Actions: contoso/payments, production',
        audiences: ['api://AzureADTokenExchange'],
      },
    ]);
    expect(logs.find('graph call retried').length).toBeGreaterThan(0);
    expect(logs.find('federated credential added')).toEqual([
      expect.objectContaining({ applicationObjectId: made.applicationObjectId, federatedCredentialId: id }),
    ]);
  });

  test('when the same credential is added again (a re-run), then its id comes back and nothing is written', async () => {
    const { tenant, provisioner } = await start();
    const app = spec();
    const made = await provisioner.upsertApplication(app, contextOf(app));
    const first = await provisioner.addFederatedCredential(
      made.applicationObjectId,
      github('production'),
      contextOf(app),
    );

    const again = await provisioner.addFederatedCredential(
      made.applicationObjectId,
      github('production'),
      contextOf(app),
    );

    expect(again).toBe(first);
    expect(held(tenant, made.applicationObjectId)).toHaveLength(1);
    expect(tenant.counters.snapshot()[POST]).toBe(1);
  });

  test('when the answer to the POST is lost, then the retry meets the name it made, and the list settles it as done', async () => {
    const { tenant, provisioner } = await start();
    const app = spec();
    const made = await provisioner.upsertApplication(app, contextOf(app));
    tenant.faults.configure({ loseResponses: 1 });

    const id = await provisioner.addFederatedCredential(made.applicationObjectId, github('production'), contextOf(app));

    tenant.faults.reset();
    expect(held(tenant, made.applicationObjectId).map((c) => c.id)).toEqual([id]);
    // The lost POST, its retry (409: the name exists), and the lists before and after.
    expect(tenant.counters.snapshot()[POST]).toBe(2);
    expect(tenant.counters.snapshot()[LIST]).toBe(2);
  });

  test('when Graph throttles, is unavailable, or refuses a racing credential write, then the step waits and adds exactly one', async () => {
    const { tenant, provisioner, calls, logs } = await start();
    const app = spec();
    const made = await provisioner.upsertApplication(app, contextOf(app));
    tenant.faults.configure({
      // The list costs 2 resource units (https://learn.microsoft.com/graph/throttling-limits), leaving none for the POST.
      throttle: { capacity: 2, refillPerSecond: 1, retryAfterSeconds: 1 },
      unavailable: { rate: 1, count: 1, retryAfterSeconds: 1 },
      concurrencyViolations: 1,
    });

    await provisioner.addFederatedCredential(made.applicationObjectId, github('production'), contextOf(app));

    tenant.faults.reset();
    expect(held(tenant, made.applicationObjectId)).toHaveLength(1);
    expect(calls.filter((c) => c.status === 503)).toHaveLength(1);
    expect(calls.filter((c) => c.status === 429).length).toBeGreaterThan(0);
    // Each refusal was retried, the 409 Directory_ConcurrencyViolation (which applied nothing) among them.
    expect(new Set(logs.find('graph call retried').map((e) => e.status))).toEqual(new Set([429, 503, 409]));
  });

  test('when the name is taken by another workload, then the step refuses before writing and says to pick another name', async () => {
    const { tenant, provisioner } = await start();
    const app = spec();
    const made = await provisioner.upsertApplication(app, contextOf(app));
    await provisioner.addFederatedCredential(made.applicationObjectId, github('production'), contextOf(app));

    const error = await refusal(
      provisioner.addFederatedCredential(
        made.applicationObjectId,
        github('production', 'repo:contoso/payments:ref:refs/heads/main'),
        contextOf(app),
      ),
    );

    expect(error.code).toBe('conflict');
    expect(error.userMessage).toMatch(/already has a federated credential named "production" for another workload/);
    expect(error.userMessage).toMatch(/another name/);
    expect(tenant.counters.snapshot()[POST]).toBe(1);
    expect(held(tenant, made.applicationObjectId)).toHaveLength(1);
  });

  test('when the workload is already trusted under another name, then the step refuses before writing and names that credential', async () => {
    const { tenant, provisioner } = await start();
    const app = spec();
    const made = await provisioner.upsertApplication(app, contextOf(app));
    await provisioner.addFederatedCredential(made.applicationObjectId, github('production'), contextOf(app));

    const error = await refusal(
      provisioner.addFederatedCredential(
        made.applicationObjectId,
        github('prod-again', 'repo:contoso/payments:environment:production'),
        contextOf(app),
      ),
    );

    expect(error.code).toBe('conflict');
    expect(error.userMessage).toMatch(/already trusts this workload .* "production"/);
    expect(tenant.counters.snapshot()[POST]).toBe(1);
  });

  test(`when the app already has ${MAX_FEDERATED_CREDENTIALS} credentials, then a ${MAX_FEDERATED_CREDENTIALS + 1}st is refused before writing with what an owner can do`, async () => {
    const { tenant, provisioner } = await start();
    const app = spec();
    const made = await provisioner.upsertApplication(app, contextOf(app));
    for (let i = 1; i <= MAX_FEDERATED_CREDENTIALS; i += 1)
      await provisioner.addFederatedCredential(made.applicationObjectId, github(`env-${i}`), contextOf(app));

    const error = await refusal(
      provisioner.addFederatedCredential(made.applicationObjectId, github('one-too-many'), contextOf(app)),
    );

    expect(error.code).toBe('conflict');
    expect(error.userMessage).toMatch(/already has 20 federated credentials, the most Microsoft Entra ID allows/);
    expect(error.userMessage).toMatch(/remove one/);
    expect(tenant.counters.snapshot()[POST]).toBe(MAX_FEDERATED_CREDENTIALS);
  });

  test('when the app is old and its id does not exist, then the step fails with not-found after one try', async () => {
    const { tenant, provisioner } = await start();
    const app = spec();

    const error = await refusal(
      provisioner.addFederatedCredential('0d0d0d0d-0000-4000-8000-00000000dead', github('production'), contextOf(app)),
    );

    expect(error.code).toBe('not-found');
    expect(tenant.counters.snapshot()[LIST]).toBe(1);
  });

  test("when the demo's Payroll Sync is listed, then its GitHub Actions credential comes back as a FederatedCredentialSpec with its id", async () => {
    const { provisioner } = await start();

    const credentials = await provisioner.listFederatedCredentials(
      demoApplicationIds(demoFederatedCredential.applicationIndex).id,
    );

    expect(credentials).toEqual([
      {
        id: demoFederatedCredential.id,
        name: demoFederatedCredential.name,
        issuer: 'https://token.actions.githubusercontent.com',
        subject: 'repo:contoso/payments:environment:production',
        audiences: ['api://AzureADTokenExchange'],
        description: demoFederatedCredential.description,
      },
    ]);
  });
});
