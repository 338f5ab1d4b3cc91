/**
 * Microsoft Graph's documented limits, as the local tenant models them, over https with real tokens:
 * - $expand on directory objects: at most 100 objects a page whatever $top says, at most 20 expanded items each,
 *   with no nextLink for them (Microsoft Graph known issue 13635,
 *   https://developer.microsoft.com/graph/known-issues/?search=13635; "expand" in
 *   https://learn.microsoft.com/graph/query-parameters).
 * - Listing applications or service principals with keyCredentials in $select: 150 requests a minute per tenant
 *   (https://learn.microsoft.com/graph/api/application-list, https://learn.microsoft.com/graph/api/serviceprincipal-list).
 * - Delta on applications and service principals, and 410 Gone for an unknown or expired token
 *   (https://learn.microsoft.com/graph/delta-query-overview, https://learn.microsoft.com/graph/api/application-delta,
 *   https://learn.microsoft.com/graph/api/serviceprincipal-delta).
 * Fetch rather than the Graph client here: its retry handler would wait out every 429.
 */
import { ClientSecretCredential } from '@azure/identity';
import { demoBot } from '../../src/local/demo-identities';
import { allRoutes } from '../../src/local/tenant/routes';
import { addOwnerUsers, DEMO_REGISTRAR_SECRET, demoTenant } from '../../src/local/tenant/seed';
import { DEMO_B2C_REGISTRAR_SECRET, demoB2cIds } from '../../src/local/tenant/seed-b2c';
import type { RunningTenant } from '../../src/local/tenant/server';
import {
  type ApplicationRecord,
  graphTimestamp,
  newObjectId,
  type ServicePrincipalRecord,
  type TenantData,
} from '../../src/local/tenant/state';
import type { TenantLimits } from '../../src/local/tenant/limits';
import { startTestTenant } from '../helpers/tenant';

/** A clock that moves only when told, so that Retry-After's seconds are exact whatever the machine's speed. */
class FrozenClock {
  private at = Date.now();
  readonly now = (): Date => new Date(this.at);
  advance(ms: number): void {
    this.at += ms;
  }
}

type Page = {
  '@odata.context': string;
  '@odata.nextLink'?: string;
  '@odata.deltaLink'?: string;
  value: Array<Record<string, unknown> & { owners?: Array<Record<string, unknown>> }>;
};
type ErrorBody = { error: { code: string; message: string; innerError: Record<string, string> } };

let tenant: RunningTenant;
let clock: FrozenClock;
let data: TenantData;

afterEach(async () => {
  await tenant?.stop();
});

beforeEach(() => {
  clock = new FrozenClock();
  data = structuredClone(demoTenant().data);
});

async function start(limits?: TenantLimits): Promise<void> {
  tenant = await startTestTenant({ data, routes: allRoutes, now: clock.now, limits });
}

/**
 * GET (or another method) as an app of a directory (the demo Registrar by default), with a token issued now by
 * the tenant's clock (sign in again after moving the clock past the token's hour).
 */
async function getter(
  tenantId: string = data.tenantId,
  clientId: string = demoBot.id,
  secret: string = DEMO_REGISTRAR_SECRET,
): Promise<(pathOrUrl: string, method?: string) => Promise<Response>> {
  const credential = new ClientSecretCredential(tenantId, clientId, secret, {
    authorityHost: tenant.url,
    disableInstanceDiscovery: true,
  });
  const token = (await credential.getToken(`${tenant.url}/.default`)).token;
  return (pathOrUrl, method = 'GET') =>
    fetch(pathOrUrl.startsWith('https://') ? pathOrUrl : `${tenant.url}/v1.0${pathOrUrl}`, {
      method,
      headers: { authorization: `Bearer ${token}` },
    });
}

async function page(response: Response): Promise<Page> {
  expect(response.status).toBe(200);
  return (await response.json()) as Page;
}

/** Applications made as records, each with `owners` owners (users of the directory made for it). */
function addApplications(count: number, owners = 0): ApplicationRecord[] {
  const ownerIds = addOwnerUsers(data, owners);
  return Array.from({ length: count }, (_, i) => {
    const id = newObjectId();
    const record: ApplicationRecord = {
      data: {
        id,
        deletedDateTime: null,
        appId: newObjectId(),
        createdDateTime: graphTimestamp(new Date()),
        displayName: `limits-app-${i}`,
        keyCredentials: [],
        passwordCredentials: [],
      },
      visibleFrom: 0,
      sequence: 1,
      owners: [...ownerIds],
      secretHashes: {},
      certificates: {},
      credentialsUsableFrom: {},
    };
    data.applications[id] = record;
    return record;
  });
}

function addServicePrincipals(count: number, owners: string[] = []): ServicePrincipalRecord[] {
  return Array.from({ length: count }, (_, i) => {
    const id = newObjectId();
    const record: ServicePrincipalRecord = {
      data: { id, appId: newObjectId(), displayName: `limits-sp-${i}`, keyCredentials: [], passwordCredentials: [] },
      visibleFrom: 0,
      sequence: 1,
      owners: [...owners],
    };
    data.servicePrincipals[id] = record;
    return record;
  });
}

describe('$expand on directory objects (known issue 13635; query-parameters "expand")', () => {
  test('when applications are listed with $expand=owners and $top=999, then a page holds 100 and the nextLink goes on', async () => {
    addApplications(250);
    await start();
    const get = await getter();

    const first = await page(await get('/applications?$select=id&$expand=owners&$top=999'));
    const second = await page(await get(first['@odata.nextLink']!));
    const third = await page(await get(second['@odata.nextLink']!));

    expect(first.value).toHaveLength(100);
    expect(first['@odata.nextLink']).toContain('$expand=owners');
    expect(second.value).toHaveLength(100);
    const total = first.value.length + second.value.length + third.value.length;
    expect(total).toBe(Object.keys(data.applications).length);
    expect(third['@odata.nextLink']).toBeUndefined();
    // Without $expand the same $top fills the page.
    expect((await page(await get('/applications?$select=id&$top=999'))).value).toHaveLength(total);
  });

  test('when an application has more than 20 owners, then $expand=owners gives the first 20 and no nextLink for them', async () => {
    const [crowded] = addApplications(1, 25);
    await start();
    const get = await getter();

    const listed = await page(await get(`/applications?$filter=id eq '${String(crowded!.data.id)}'&$expand=owners`));

    const owners = listed.value[0]!.owners!;
    expect(owners).toHaveLength(20);
    expect(owners.map((o) => o.id)).toEqual(crowded!.owners.slice(0, 20));
    expect(owners[0]).toEqual({ '@odata.type': '#microsoft.graph.user', id: crowded!.owners[0] });
    expect(Object.keys(listed.value[0]!)).not.toContain('owners@odata.nextLink');
  });

  test('when service principals are listed with $expand=owners, then the same limits hold: 100 a page, 20 owners each', async () => {
    addApplications(0, 22); // 22 users to own the crowded one
    const crowdOwners = Object.keys(data.users).slice(-22);
    const owners = crowdOwners.slice(0, 1);
    addServicePrincipals(120, owners);
    const [crowded] = addServicePrincipals(1, crowdOwners);
    await start();
    const get = await getter();

    const first = await page(await get('/servicePrincipals?$select=id,displayName&$expand=owners&$top=999'));
    const one = await page(await get(`/servicePrincipals?$filter=id eq '${String(crowded!.data.id)}'&$expand=owners`));

    expect(first.value).toHaveLength(100);
    expect(first['@odata.nextLink']).toContain('$expand=owners');
    expect(first.value.find((sp) => sp.displayName === 'limits-sp-0')!.owners).toEqual([
      { '@odata.type': '#microsoft.graph.user', id: owners[0] },
    ]);
    expect(one.value[0]!.owners).toHaveLength(20);
    expect(one.value[0]!.owners!.map((o) => o.id)).toEqual(crowdOwners.slice(0, 20));
  });

  test('when $expand names something other than owners on service principals, then Graph refuses the query', async () => {
    await start();
    const get = await getter();

    const response = await get('/servicePrincipals?$expand=memberOfx');

    expect(response.status).toBe(400);
    expect(((await response.json()) as ErrorBody).error.message).toBe(
      "Parsing OData Select and Expand failed: Could not find a property named 'memberOfx' on type 'microsoft.graph.servicePrincipal'.",
    );
  });
});

describe('listing with keyCredentials in $select: 150 requests a minute per tenant (application-list, serviceprincipal-list)', () => {
  const APPS = '/applications?$select=id,keyCredentials&$top=1';
  const SPS = '/servicePrincipals?$select=id,keyCredentials&$top=1';

  test('when a tenant lists past 150 in a minute, then Graph answers 429 with Retry-After until the oldest request leaves the minute', async () => {
    await start();
    const get = await getter();

    expect((await get(APPS)).status).toBe(200);
    clock.advance(20_000);
    // Applications and service principals draw on one budget.
    for (let i = 1; i < 150; i += 1) expect((await get(i % 2 ? SPS : APPS)).status).toBe(200);
    const refused = await get(APPS);
    const refusedSps = await get(SPS);

    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('40');
    const body = (await refused.json()) as ErrorBody;
    expect(body.error.code).toBe('Request_ThrottledTemporarily');
    expect(body.error.message).toBe('Your request is throttled temporarily. Please try after 40 seconds.');
    expect(body.error.innerError['request-id']).toEqual(expect.any(String));
    expect(refusedSps.status).toBe(429);
    // Lists without keyCredentials, and reading one application with it, are not limited.
    expect((await get('/applications?$select=id,passwordCredentials&$top=1')).status).toBe(200);
    expect((await get('/applications?$top=1')).status).toBe(200);

    clock.advance(40_000);
    expect((await get(APPS)).status).toBe(200);
    const again = await get(APPS);
    expect(again.status).toBe(429);
    expect(again.headers.get('retry-after')).toBe('20');
  });

  test('when one directory has used its minute, then another directory of the same server still lists', async () => {
    await start({ keyCredentialsListPerMinute: 2 });
    const contoso = await getter();
    const b2c = await getter(demoB2cIds.tenantId, demoB2cIds.registrarAppId, DEMO_B2C_REGISTRAR_SECRET);

    expect((await contoso(APPS)).status).toBe(200);
    expect((await contoso(SPS)).status).toBe(200);
    expect((await contoso(APPS)).status).toBe(429);

    expect((await b2c(APPS)).status).toBe(200);
    expect((await b2c(SPS)).status).toBe(200);
    expect((await b2c(SPS)).status).toBe(429);
  });

  test('when the limit is turned off (a test that scans a huge tenant), then keyCredentials lists are never refused', async () => {
    await start({ keyCredentialsListPerMinute: null });
    const get = await getter();

    for (let i = 0; i < 160; i += 1) expect((await get(APPS)).status).toBe(200);
  });
});

describe('delta on applications and service principals (delta-query-overview)', () => {
  test('when a client syncs service principals with delta, then it gets every one with $select, pages, a deltaLink, and later only changes and @removed', async () => {
    addServicePrincipals(130);
    await start();
    const get = await getter();

    const first = await page(await get('/servicePrincipals/delta?$select=displayName,keyCredentials'));
    const second = await page(await get(first['@odata.nextLink']!));
    const everyone = [...first.value, ...second.value];

    expect(first.value).toHaveLength(100);
    expect(first['@odata.nextLink']).toContain('/servicePrincipals/delta?$skiptoken=');
    expect(first['@odata.context']).toBe(`${tenant.url}/v1.0/$metadata#servicePrincipals(displayName,keyCredentials)`);
    expect(Object.keys(first.value[0]!)).toEqual(['id', 'displayName', 'keyCredentials']);
    expect(everyone).toHaveLength(Object.keys(data.servicePrincipals).length);
    const deltaLink = second['@odata.deltaLink']!;
    expect(deltaLink).toContain('/servicePrincipals/delta?$deltatoken=');

    const victim = everyone.find((sp) => sp.displayName === 'limits-sp-3')!;
    const renamed = everyone.find((sp) => sp.displayName === 'limits-sp-4')!;
    const state = tenant.state();
    state.data.servicePrincipals[String(renamed.id)]!.data.displayName = 'renamed';
    state.data.servicePrincipals[String(renamed.id)]!.sequence = state.nextSequence();
    expect((await get(`/servicePrincipals/${String(victim.id)}`, 'DELETE')).status).toBe(204);

    const changes = await page(await get(deltaLink));

    expect(changes.value).toEqual([
      { id: renamed.id, displayName: 'renamed', keyCredentials: [] },
      { id: victim.id, '@removed': { reason: 'changed' } },
    ]);
    expect(changes['@odata.deltaLink']).toContain('/servicePrincipals/delta?$deltatoken=');
    expect((await page(await get(changes['@odata.deltaLink']!))).value).toEqual([]);
  });

  test.each(['applications', 'servicePrincipals'])(
    'when a %s delta token is unknown, then Graph answers 410 Gone syncStateNotFound with a Location to start over',
    async (set) => {
      await start();
      const get = await getter();

      const unknown = await get(`/${set}/delta?$deltatoken=not-a-token-we-issued`);
      const badSkip = await get(`/${set}/delta?$skiptoken=RFNwdAIAAQAAAgarbage`);

      expect(unknown.status).toBe(410);
      expect(unknown.headers.get('location')).toBe(`${tenant.url}/v1.0/${set}/delta`);
      const body = (await unknown.json()) as ErrorBody;
      expect(body.error.code).toBe('syncStateNotFound');
      expect(body.error.innerError['request-id']).toEqual(expect.any(String));
      expect(badSkip.status).toBe(410);
    },
  );

  test.each(['applications', 'servicePrincipals'])(
    'when a %s deltaLink is older than 7 days, then it answers 410 and the Location keeps the $select',
    async (set) => {
      await start();
      const get = await getter();
      const initial = await page(await get(`/${set}/delta?$select=displayName`));
      let link = initial['@odata.deltaLink'];
      for (let next = initial['@odata.nextLink']; next;) {
        const more = await page(await get(next));
        next = more['@odata.nextLink'];
        link = more['@odata.deltaLink'];
      }

      clock.advance(6 * 24 * 3600 * 1000);
      const withinAWeek = await page(await (await getter())(link!));
      clock.advance(7 * 24 * 3600 * 1000 + 1000);
      const later = await getter();
      const expired = await later(withinAWeek['@odata.deltaLink']!);
      const stale = await later(link!);

      expect(expired.status).toBe(410);
      expect(stale.status).toBe(410);
      expect(expired.headers.get('location')).toBe(`${tenant.url}/v1.0/${set}/delta?$select=displayName`);
      expect(((await expired.json()) as ErrorBody).error.code).toBe('syncStateNotFound');
    },
  );

  test("when one collection's delta token is used on the other, then it is unknown there: 410", async () => {
    await start();
    const get = await getter();
    const latest = await page(await get('/applications/delta?$deltatoken=latest'));

    const crossed = await get(latest['@odata.deltaLink']!.replace('/applications/', '/servicePrincipals/'));

    expect(crossed.status).toBe(410);
  });
});
