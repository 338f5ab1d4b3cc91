/**
 * GraphCredentialSource against the local tenant, through the production code path (createGraphConnection: the real
 * credential and Graph client over HTTPS): every credential of every application (or of Registrar's) page by page,
 * one Graph request per page, without $expand, within the listing budget; the owners of an application, and of many
 * in JSON batches of 20; an application by appId or by name. Throttling and outages in the middle of the paging are
 * waited out (Retry-After exactly) and every page still comes once; a page that keeps failing is a RegistrarError
 * once its deadline has passed.
 */
import { createHash } from 'node:crypto';
import { GraphCaller, type GraphCallerOptions } from '../../../src/adapters/graph/graph-caller';
import {
  GraphCredentialSource,
  type GraphCredentialSourceOptions,
  thumbprintOf,
} from '../../../src/adapters/graph/graph-credential-source';
import { RegistrarError, SyncReset } from '../../../src/domain/errors';
import type { CredentialInfo } from '../../../src/domain/expiry';
import { createLogger } from '../../../src/lib/logger';
import { createRateLimiter } from '../../../src/lib/rate-limiter';
import { alex, demoUsers } from '../../../src/local/demo-identities';
import { allRoutes } from '../../../src/local/tenant/routes/index';
import {
  addOwnerUsers,
  demoApplicationIds,
  demoApplications,
  demoIds,
  demoSamlApplication,
  demoTenant,
} from '../../../src/local/tenant/seed';
import { GraphError } from '../../../src/local/tenant/http';
import type { RunningTenant } from '../../../src/local/tenant/server';
import { type ApplicationRecord, newObjectId, type TenantData } from '../../../src/local/tenant/state';
import { LogCapture } from '../../helpers/logs';
import { recordingFaults, type SeenCall } from '../../helpers/provisioning';
import { registrarConnection, startTestTenant } from '../../helpers/tenant';

jest.setTimeout(60_000);

const DAY = 86_400_000;
const seededAt = new Date();
const demo = demoTenant(seededAt);
const PAGE = 999;

/** `count` more applications with one secret each (expiring in a year), after the demo's in paging order. */
function withApplications(
  count: number,
  shape: (app: ApplicationRecord, i: number) => void = () => undefined,
): TenantData {
  const data = structuredClone(demo.data);
  for (let i = 0; i < count; i += 1) {
    const id = newObjectId();
    const keyId = newObjectId();
    const app: ApplicationRecord = {
      data: {
        id,
        appId: newObjectId(),
        displayName: `filler-${i}`,
        tags: [],
        passwordCredentials: [
          {
            customKeyIdentifier: null,
            displayName: 'ci',
            endDateTime: new Date(seededAt.getTime() + 365 * DAY).toISOString(),
            hint: 'fil',
            keyId,
            secretText: null,
          },
        ],
        keyCredentials: [],
      },
      visibleFrom: 0,
      sequence: 1,
      owners: [],
      secretHashes: {},
      certificates: {},
      credentialsUsableFrom: {},
    };
    shape(app, i);
    data.applications[id] = app;
  }
  return data;
}

/** Every credential's keyId in the tenant. */
function keyIdsIn(data: TenantData): string[] {
  return Object.values(data.applications).flatMap((a) =>
    [
      ...((a.data.passwordCredentials as Array<{ keyId: string }> | undefined) ?? []),
      ...((a.data.keyCredentials as Array<{ keyId: string }> | undefined) ?? []),
    ].map((c) => c.keyId),
  );
}

interface Harness {
  tenant: RunningTenant;
  source: GraphCredentialSource;
  calls: SeenCall[];
  logs: LogCapture;
}

const running: RunningTenant[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((t) => t.stop()));
});

/** `count` new users in `data`, owners of the application `applicationObjectId` (instead of its owners); their ids. */
function withOwners(data: TenantData, applicationObjectId: string, count: number): string[] {
  const owners = addOwnerUsers(data, count);
  data.applications[applicationObjectId]!.owners = owners;
  return owners;
}

async function start(
  options: {
    data?: TenantData;
    source?: Partial<Omit<GraphCallerOptions, 'connection'>>;
    credentialSource?: Partial<Omit<GraphCredentialSourceOptions, 'graph' | 'logger'>>;
  } = {},
): Promise<Harness> {
  const { policy, calls } = recordingFaults();
  const tenant = await startTestTenant({
    data: options.data ?? structuredClone(demo.data),
    routes: allRoutes,
    faults: policy,
  });
  running.push(tenant);
  const logs = new LogCapture();
  const connection = registrarConnection(tenant);
  const source = new GraphCredentialSource({
    graph: new GraphCaller({ connection, baseDelayMs: 50, maxDelayMs: 500, stepTimeoutMs: 30_000, ...options.source }),
    logger: createLogger({ level: 'debug', destination: logs }),
    ...options.credentialSource,
  });
  return { tenant, source, calls, logs };
}

async function allPages(source: GraphCredentialSource, scope: 'all' | 'managed' = 'all'): Promise<CredentialInfo[][]> {
  const pages: CredentialInfo[][] = [];
  for await (const page of source.pages(scope)) pages.push(page);
  return pages;
}

const applicationLists = (calls: readonly SeenCall[]) =>
  calls.filter((c) => c.method === 'GET' && c.path === '/applications');
const servicePrincipalLists = (calls: readonly SeenCall[]) =>
  calls.filter((c) => c.method === 'GET' && c.path === '/servicePrincipals');
/** The applications' credentials of a scan's pages (the service principals' come after them). */
const ofApplications = (pages: readonly CredentialInfo[][]) => pages.flat().filter((c) => c.source === 'application');

describe('pages', () => {
  test('the demo tenant: every secret and certificate, with what the digest shows, in one Graph request', async () => {
    const { source, calls, tenant } = await start();
    const pages = await allPages(source);

    // One page of applications, then one of service principals.
    expect(pages).toHaveLength(2);
    const credentials = pages[0]!;
    const expected = demoApplications.flatMap((a) =>
      [...('secretDays' in a ? ['secret'] : []), ...('certificateDays' in a ? ['certificate'] : [])].map(
        (kind) => `${a.name}/${kind}`,
      ),
    );
    expect(credentials.map((c) => `${c.appName}/${c.kind}`).sort()).toEqual([...expected, 'Registrar/secret'].sort());

    const payroll = demoApplicationIds(2);
    const certificate = credentials.find((c) => c.appName === 'Payroll Sync')!;
    const record = tenant.state().data.applications[payroll.id]!;
    const [key] = record.data.keyCredentials as Array<{ keyId: string; endDateTime: string; displayName: string }>;
    expect(certificate).toStrictEqual({
      applicationObjectId: payroll.id,
      appId: payroll.appId,
      appName: 'Payroll Sync',
      kind: 'certificate',
      keyId: key!.keyId,
      displayName: key!.displayName,
      thumbprint: createHash('sha1')
        .update(Buffer.from(record.certificates[key!.keyId]!, 'base64'))
        .digest('hex')
        .toUpperCase(),
      endDateTime: key!.endDateTime,
      managed: false,
      hint: undefined,
      source: 'application',
      samlSigning: false,
      tags: [],
    });
    const secret = credentials.find((c) => c.appName === 'Expense Bot')!;
    expect(secret).toMatchObject({ kind: 'secret', hint: 'Ex3', displayName: 'Expense Bot secret', managed: false });
    expect(secret.thumbprint).toBeUndefined();
    expect(Date.parse(secret.endDateTime)).toBeCloseTo(seededAt.getTime() + 7 * DAY, -4);

    const [list] = applicationLists(calls);
    expect(applicationLists(calls)).toHaveLength(1);
    expect(list!.query).toContain('$select=id,appId,displayName,passwordCredentials,keyCredentials,tags');
    expect(list!.query).toContain('$top=999');
    // No $expand: Graph would cut the page to 100 applications and each app's owners to 20.
    expect(list!.query).not.toContain('$expand');
    expect(calls.filter((c) => c.path.endsWith('/owners'))).toEqual([]);

    // The service principals: the SAML enterprise application's signing certificate, once (not its Verify key nor its
    // private key's password), and nothing of the service principals that carry no credentials of their own.
    const sp = tenant.state().data.servicePrincipals[demoSamlApplication.servicePrincipalId]!;
    const [signing] = (
      sp.data.keyCredentials as Array<{ keyId: string; usage: string; customKeyIdentifier: string }>
    ).filter((k) => k.usage === 'Sign');
    expect(pages[1]).toEqual([
      expect.objectContaining({
        applicationObjectId: demoSamlApplication.servicePrincipalId,
        appId: demoSamlApplication.appId,
        appName: demoSamlApplication.name,
        source: 'servicePrincipal',
        samlSigning: true,
        kind: 'certificate',
        keyId: signing!.keyId,
        thumbprint: signing!.customKeyIdentifier,
      }),
    ]);
    const [spList] = servicePrincipalLists(calls);
    expect(servicePrincipalLists(calls)).toHaveLength(1);
    expect(spList!.query).toContain(
      '$select=id,appId,displayName,keyCredentials,passwordCredentials,preferredSingleSignOnMode,preferredTokenSigningKeyThumbprint',
    );
    expect(spList!.query).toContain('$top=999');
  });

  test('a tenant of more than 999 applications: one request per page, every credential exactly once', async () => {
    const data = withApplications(2_100);
    const { source, calls } = await start({ data });
    const pages = await allPages(source);

    const applications = Object.keys(data.applications).length;
    expect(pages).toHaveLength(Math.ceil(applications / PAGE) + 1);
    expect(applicationLists(calls)).toHaveLength(pages.length - 1);
    const keyIds = ofApplications(pages).map((c) => c.keyId);
    expect(new Set(keyIds).size).toBe(keyIds.length);
    expect(keyIds.sort()).toEqual(keyIdsIn(data).sort());
  });

  test("'managed': only the applications tagged registrar, asked of Graph with $filter", async () => {
    const tagged = new Set<string>();
    const data = withApplications(1_200, (app, i) => {
      if (i % 300 === 7) {
        app.data.tags = ['registrar', `registrar-request:R-${i}`];
        tagged.add(String(app.data.id));
      }
    });
    const { source, calls } = await start({ data });
    const credentials = (await allPages(source, 'managed')).flat();

    expect(new Set(credentials.map((c) => c.applicationObjectId))).toEqual(tagged);
    expect(credentials.every((c) => c.managed)).toBe(true);
    expect(applicationLists(calls)[0]!.query).toContain("$filter=tags/any(t:t eq 'registrar')");
    // The unfiltered scan marks the same ones managed.
    const all = (await allPages(source, 'all')).flat();
    expect(new Set(all.filter((c) => c.managed).map((c) => c.applicationObjectId))).toEqual(tagged);
  });

  test('a page is read only when the one before it has been taken: pages are not gathered in memory', async () => {
    const { source, calls } = await start({ data: withApplications(2_100) });
    const pages = source.pages('all')[Symbol.asyncIterator]();
    await pages.next();
    expect(applicationLists(calls)).toHaveLength(1);
    await pages.next();
    expect(applicationLists(calls)).toHaveLength(2);
    await pages.return?.();
  });

  test('the listing waits on its budget (150 a minute with keyCredentials selected) instead of being refused', async () => {
    let clock = 0;
    const waits: number[] = [];
    const budget = createRateLimiter({
      limit: 2,
      windowMs: 60_000,
      now: () => clock,
      sleep: async (ms) => {
        waits.push(ms);
        clock += ms;
      },
    });
    const { source, calls } = await start({
      data: withApplications(2_100),
      credentialSource: { listingBudget: budget },
    });
    const pages = await allPages(source);

    // Three pages of applications and one of service principals on a budget of two a window, the same budget: the
    // third waited for the first two to leave the window (the fourth fitted in the new one), and nothing was refused.
    expect(pages).toHaveLength(4);
    expect(waits).toEqual([60_000]);
    expect(applicationLists(calls).map((c) => c.status ?? 200)).toEqual([200, 200, 200]);
    expect(servicePrincipalLists(calls).map((c) => c.status ?? 200)).toEqual([200]);
  });

  test('a 429 on a listing holds the shared budget for its Retry-After, for the other listings too', async () => {
    let clock = 0;
    const heldFor: number[] = [];
    const budget = createRateLimiter({ limit: 150, windowMs: 60_000, now: () => clock, sleep: async () => undefined });
    const { source, tenant, calls } = await start({
      credentialSource: { listingBudget: budget },
      source: {
        now: () => clock,
        sleep: async (ms) => {
          // While the listing waits out the Retry-After, any other taker of the budget would wait as long.
          heldFor.push(budget.waitMs());
          clock += ms;
          tenant.faults.configure({ throttle: undefined });
        },
      },
    });
    tenant.faults.configure({ throttle: { capacity: 0.5, refillPerSecond: 0, retryAfterSeconds: 9 } });
    expect(await allPages(source)).toHaveLength(2);

    expect(heldFor).toEqual([9_000]);
    expect(budget.waitMs()).toBe(0);
    expect(applicationLists(calls).map((c) => c.status ?? 200)).toEqual([429, 200]);
  });

  test('a 429 with Retry-After and 503s in the middle of the paging are waited out, and every page comes exactly once', async () => {
    const sleeps: number[] = [];
    let onSleep: () => void = () => undefined;
    const data = withApplications(3_000);
    const { source, calls, tenant } = await start({
      data,
      source: {
        sleep: async (ms) => {
          sleeps.push(ms);
          onSleep();
        },
      },
    });

    const seen: string[] = [];
    let number = 0;
    for await (const page of source.pages('all')) {
      number += 1;
      seen.push(...ofApplications([page]).map((c) => c.keyId));
      if (number === 1) tenant.faults.configure({ unavailable: { rate: 1, count: 2, retryAfterSeconds: 2 } });
      if (number === 2) {
        // Throttled until the client has waited once: a bucket smaller than one page request.
        tenant.faults.configure({ throttle: { capacity: 0.5, refillPerSecond: 0, retryAfterSeconds: 7 } });
        onSleep = () => {
          tenant.faults.configure({ throttle: undefined });
          onSleep = () => undefined;
        };
      }
    }

    expect(number).toBe(Math.ceil(Object.keys(data.applications).length / PAGE) + 1);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.sort()).toEqual(keyIdsIn(data).sort());
    // Page 2: two 503s, then served; page 3: one 429, then served. Retry-After was waited exactly.
    const statuses = applicationLists(calls).map((c) => c.status ?? 200);
    expect(statuses).toEqual([200, 503, 503, 200, 429, 200, 200]);
    expect(sleeps).toEqual([2000, 2000, 7000]);
  });

  test('a page that keeps failing is a RegistrarError (unavailable) once its deadline has passed, after the pages before it', async () => {
    let clock = Date.now();
    const { source, tenant, logs } = await start({
      data: withApplications(1_500),
      source: {
        stepTimeoutMs: 60_000,
        now: () => clock,
        sleep: async (ms) => {
          clock += ms;
        },
      },
    });
    const pages: CredentialInfo[][] = [];
    const scanning = (async () => {
      for await (const page of source.pages('all')) {
        pages.push(page);
        tenant.faults.configure({ unavailable: { rate: 1, retryAfterSeconds: 5 } });
      }
    })();

    const error = await scanning.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(RegistrarError);
    expect((error as RegistrarError).code).toBe('unavailable');
    expect((error as RegistrarError).message).toMatch(/reading the credentials of every application \(page 2\)/);
    expect(pages).toHaveLength(1);
    expect(logs.find('graph call retried').length).toBeGreaterThanOrEqual(10);
  });
});

describe('ownersOf', () => {
  test('the user owners of an application, lower-case; service principal owners are left out', async () => {
    const data = structuredClone(demo.data);
    const legacy = demoApplicationIds(4);
    data.applications[legacy.id]!.owners = [
      demoUsers[2]!.aadObjectId.toUpperCase(),
      demoIds.registrarServicePrincipal,
      alex.aadObjectId,
    ];
    const { source } = await start({ data });

    expect((await source.ownersOf(legacy.id)).sort()).toEqual(
      [demoUsers[2]!.aadObjectId, alex.aadObjectId].map((id) => id.toLowerCase()).sort(),
    );
    expect(await source.ownersOf(demoApplicationIds(3).id)).toEqual([alex.aadObjectId.toLowerCase()]);
  });

  test('more owners than one page holds: every one of them', async () => {
    const data = structuredClone(demo.data);
    const hr = demoApplicationIds(1);
    const owners = withOwners(data, hr.id, 130);
    const { source, calls } = await start({ data });

    expect((await source.ownersOf(hr.id)).sort()).toEqual([...owners].sort());
    expect(calls.filter((c) => c.path.endsWith('/owners')).length).toBeGreaterThan(1);
  });

  test('an application that does not exist is a RegistrarError (not-found)', async () => {
    const { source } = await start();
    await expect(source.ownersOf(newObjectId())).rejects.toMatchObject({ code: 'not-found' });
  });
});

describe('ownersOfEach', () => {
  const apps = (...ids: string[]) => ids.map((id) => ({ applicationObjectId: id, source: 'application' as const }));
  const batches = (tenant: RunningTenant) => tenant.counters.snapshot()['POST /$batch'] ?? 0;
  const ownersCalls = (calls: readonly SeenCall[]) =>
    calls.filter((c) => c.method === 'GET' && /^\/applications\/[^/]+\/owners$/.test(c.path));

  test('an application with 25 owners: every one of them, from one batch (no cap of 20 as $expand has)', async () => {
    const data = structuredClone(demo.data);
    const hr = demoApplicationIds(1);
    const owners = withOwners(data, hr.id, 25);
    data.applications[hr.id]!.owners = [...owners, demoIds.registrarServicePrincipal];
    const { source, calls, tenant } = await start({ data });

    const answers = await source.ownersOfEach(apps(hr.id, demoApplicationIds(3).id));
    expect((answers.get(hr.id) as string[]).sort()).toEqual(owners.map((id) => id.toLowerCase()).sort());
    expect(answers.get(demoApplicationIds(3).id)).toEqual([alex.aadObjectId.toLowerCase()]);
    expect(batches(tenant)).toBe(1);
    expect(ownersCalls(calls).map((c) => c.query)).toEqual(['$select=id', '$select=id']);
  });

  test("more owners than a page holds: the batch follows that application's own nextLink", async () => {
    const data = structuredClone(demo.data);
    const hr = demoApplicationIds(1);
    const owners = withOwners(data, hr.id, 230);
    const { source, calls, tenant } = await start({ data });

    const answers = await source.ownersOfEach(apps(hr.id, demoApplicationIds(2).id, demoApplicationIds(3).id));
    expect((answers.get(hr.id) as string[]).sort()).toEqual(owners.map((id) => id.toLowerCase()).sort());
    expect(answers.get(demoApplicationIds(2).id)).toEqual([demoUsers[1]!.aadObjectId.toLowerCase()]);
    // 230 owners at 100 a page: three pages of HR's, one each for the others; the next pages alone in later batches.
    expect(ownersCalls(calls).filter((c) => c.path.includes(hr.id))).toHaveLength(3);
    expect(ownersCalls(calls)).toHaveLength(5);
    expect(batches(tenant)).toBe(3);
  });

  test('45 applications: three batches of at most 20, one owners request for each application', async () => {
    const data = withApplications(45);
    const fillers = Object.values(data.applications)
      .filter((a) => String(a.data.displayName).startsWith('filler-'))
      .map((a) => String(a.data.id));
    fillers.forEach((id, i) => (data.applications[id]!.owners = [demoUsers[i % demoUsers.length]!.aadObjectId]));
    const { source, calls, tenant } = await start({ data });

    const answers = await source.ownersOfEach(apps(...fillers, fillers[0]!));
    expect(answers.size).toBe(45);
    fillers.forEach((id, i) =>
      expect(answers.get(id)).toEqual([demoUsers[i % demoUsers.length]!.aadObjectId.toLowerCase()]),
    );
    // The local tenant refuses a batch of more than 20 (400), so three batches of 20, 20 and 5.
    expect(batches(tenant)).toBe(3);
    expect(ownersCalls(calls)).toHaveLength(45);
  });

  test('requests of a batch throttled on their own are sent again after their Retry-After; the served ones are not', async () => {
    const sleeps: number[] = [];
    const data = withApplications(6);
    const ids = Object.values(data.applications)
      .filter((a) => String(a.data.displayName).startsWith('filler-'))
      .map((a) => String(a.data.id));
    ids.forEach((id) => (data.applications[id]!.owners = [alex.aadObjectId]));
    const { tenant, source, calls, logs } = await start({
      data,
      source: {
        sleep: async (ms) => {
          sleeps.push(ms);
          tenant.faults.configure({ throttle: undefined });
        },
      },
    });
    // One resource unit a read of owners with $select: the first two are served, the other four answer 429.
    tenant.faults.configure({ throttle: { capacity: 2, refillPerSecond: 0, retryAfterSeconds: 4 } });

    const answers = await source.ownersOfEach(apps(...ids));
    expect(ids.map((id) => answers.get(id))).toEqual(ids.map(() => [alex.aadObjectId.toLowerCase()]));
    expect(sleeps).toEqual([4000]);
    const statuses = ownersCalls(calls).map((c) => c.status ?? 200);
    expect(statuses).toEqual([200, 200, 429, 429, 429, 429, 200, 200, 200, 200]);
    expect(batches(tenant)).toBe(2);
    expect(logs.find('graph batch requests retried')).toHaveLength(1);
  });

  test('an application that is gone is its own RegistrarError (not-found); the others of the batch are read', async () => {
    const { source } = await start();
    const gone = newObjectId();
    const answers = await source.ownersOfEach(apps(demoApplicationIds(3).id, gone));
    expect(answers.get(demoApplicationIds(3).id)).toEqual([alex.aadObjectId.toLowerCase()]);
    expect(answers.get(gone)).toBeInstanceOf(RegistrarError);
    expect(answers.get(gone)).toMatchObject({ code: 'not-found' });
  });

  test('requests that stay throttled past the deadline are each RegistrarError (unavailable)', async () => {
    let clock = Date.now();
    const { source, tenant } = await start({
      source: {
        stepTimeoutMs: 20_000,
        now: () => clock,
        sleep: async (ms) => {
          clock += ms;
        },
      },
    });
    tenant.faults.configure({ throttle: { capacity: 0.5, refillPerSecond: 0, retryAfterSeconds: 8 } });
    const answers = await source.ownersOfEach(apps(demoApplicationIds(1).id, demoApplicationIds(3).id));
    for (const answer of answers.values()) expect(answer).toMatchObject({ code: 'unavailable' });
    expect(answers.size).toBe(2);
  });
});

describe('findApplication', () => {
  test('by appId (a GUID): the application with its credentials', async () => {
    const { source } = await start();
    const legacy = demoApplicationIds(4);
    const found = await source.findApplication(legacy.appId.toUpperCase());
    expect(found).toMatchObject({
      applicationObjectId: legacy.id,
      appId: legacy.appId,
      displayName: 'Legacy CRM Connector',
    });
    expect(found!.credentials.map((c) => c.kind).sort()).toEqual(['certificate', 'secret']);
    expect(await source.findApplication(newObjectId())).toBeUndefined();
  });

  test('by exact display name, quotes and ampersands included', async () => {
    const data = withApplications(2, (app, i) => {
      app.data.displayName = i === 0 ? "O'Brien & Sons #1 sync" : 'Other';
    });
    const { source } = await start({ data });
    expect(await source.findApplication('Payroll Sync')).toMatchObject({
      appId: demoApplicationIds(2).appId,
      displayName: 'Payroll Sync',
    });
    expect(await source.findApplication("O'Brien & Sons #1 sync")).toMatchObject({
      displayName: "O'Brien & Sons #1 sync",
    });
    expect(await source.findApplication('No such app')).toBeUndefined();
  });

  test('a name that several applications have is an error that says to use the appId', async () => {
    const data = withApplications(3, (app) => {
      app.data.displayName = 'Twin';
    });
    const { source } = await start({ data });
    const error = await source.findApplication('Twin').catch((err: unknown) => err);
    expect(error).toBeInstanceOf(RegistrarError);
    expect(error).toMatchObject({ code: 'invalid-input' });
    expect((error as RegistrarError).userMessage).toMatch(/^3 apps are called "Twin"; use the appId/);
  });
});

describe('thumbprintOf', () => {
  const sha1 = createHash('sha1').update('certificate').digest();
  const hex = sha1.toString('hex').toUpperCase();

  test.each([
    ['upper-case hex, as Entra shows an uploaded certificate', hex],
    ['lower-case hex', hex.toLowerCase()],
    ['base64 of the 20 bytes (Edm.Binary)', sha1.toString('base64')],
    ['base64 of the hex digits as text', Buffer.from(hex, 'latin1').toString('base64')],
  ])('%s', (_, value) => {
    expect(thumbprintOf(value)).toBe(hex);
  });

  test('anything else is no thumbprint', () => {
    expect(thumbprintOf(null)).toBeUndefined();
    expect(thumbprintOf('')).toBeUndefined();
    expect(thumbprintOf('my-cert')).toBeUndefined();
    expect(thumbprintOf(Buffer.from('short').toString('base64'))).toBeUndefined();
  });
});

describe('changesSince', () => {
  /** A GraphCaller that strips `property` from every object of every delta page, as Graph may send a change in part. */
  class PartSending extends GraphCaller {
    constructor(
      options: GraphCallerOptions,
      private readonly property: string,
    ) {
      super(options);
    }
    override async get<T>(...args: Parameters<GraphCaller['get']>): Promise<T> {
      const answer = await super.get<T>(...args);
      const page = answer as DeltaPageShape;
      if (typeof args[0] === 'string' && args[0].includes('/delta') && Array.isArray(page.value))
        for (const object of page.value) delete object[this.property];
      return answer;
    }
  }
  type DeltaPageShape = { value?: Array<Record<string, unknown>> };

  async function changes(source: GraphCredentialSource, links: Parameters<GraphCredentialSource['changesSince']>[0]) {
    const pages = [];
    for await (const page of source.changesSince(links, 'all')) pages.push(page);
    return pages;
  }

  test('an object sent in part (without its passwordCredentials) is read whole before its credentials are taken: one GET of it', async () => {
    const h = await start();
    const links = await h.source.latestDeltaLinks('all');
    const app = Object.values(h.tenant.state().data.applications).find((a) =>
      String(a.data.displayName).includes('Expense Bot'),
    )!;
    app.data.displayName = 'Expense Bot (renamed)';
    app.sequence = h.tenant.state().nextSequence();
    const parted = new GraphCredentialSource({
      graph: new PartSending(
        { connection: registrarConnection(h.tenant), baseDelayMs: 50, maxDelayMs: 500, stepTimeoutMs: 30_000 },
        'passwordCredentials',
      ),
      logger: createLogger({ level: 'warn' }),
    });
    h.calls.length = 0;

    const pages = await changes(parted, links);

    const change = pages.flatMap((p) => p.changes).find((c) => c.holder.applicationObjectId === app.data.id)!;
    const secrets = (app.data.passwordCredentials as Array<{ keyId: string }>).map((s) => s.keyId);
    expect(secrets.length).toBeGreaterThan(0);
    expect(change.credentials.map((c) => c.keyId)).toEqual(expect.arrayContaining(secrets));
    expect(h.calls.filter((c) => c.method === 'GET' && c.path === `/applications/${app.data.id}`)).toHaveLength(1);
  });

  test('the whole objects the local tenant sends are not read again', async () => {
    const h = await start();
    const links = await h.source.latestDeltaLinks('all');
    const app = Object.values(h.tenant.state().data.applications)[0]!;
    app.data.displayName = `${String(app.data.displayName)} (renamed)`;
    app.sequence = h.tenant.state().nextSequence();
    h.calls.length = 0;

    const pages = await changes(h.source, links);

    expect(pages.flatMap((p) => p.changes).map((c) => c.holder.applicationObjectId)).toContain(app.data.id);
    expect(h.calls.filter((c) => c.method === 'GET' && c.path === `/applications/${app.data.id}`)).toEqual([]);
  });

  test.each([
    [410, 'syncStateNotFound'],
    [400, 'syncStateNotFound'],
    [400, 'resyncRequired'],
  ])(
    'a %s with %s on a delta link is SyncReset for its collection (the scan then lists in full)',
    async (status, code) => {
      const h = await start();
      const links = await h.source.latestDeltaLinks('all');
      const refuse = h.tenant.faults.refuse.bind(h.tenant.faults);
      h.tenant.faults.refuse = (caller, route, request) =>
        /\/servicePrincipals\/delta$/i.test(request.path) && request.query.has('$deltatoken')
          ? new GraphError(status, code, 'The sync state is no longer valid.')
          : refuse(caller, route, request);

      const error = await changes(h.source, links).then(
        () => undefined,
        (err: unknown) => err,
      );

      expect(error).toBeInstanceOf(SyncReset);
      expect((error as SyncReset).collection).toBe('servicePrincipals');
    },
  );
});
