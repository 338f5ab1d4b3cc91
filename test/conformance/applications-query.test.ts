/**
 * Listing applications as Graph does (https://learn.microsoft.com/graph/api/application-list, https://learn.microsoft.com/graph/query-parameters): $filter subset and its errors, $top and paging
 * with nextLink, $count, and delta with @removed — over https with the real Graph client.
 */
import type { Client } from '@microsoft/microsoft-graph-client';
import { parseFilter } from '../../src/local/tenant/odata-filter';
import type { RunningTenant } from '../../src/local/tenant/server';
import {
  ApplicationsFixture,
  type Caller,
  clientFor,
  failure,
  raw,
  startApplicationsTenant,
} from '../helpers/tenant-fixtures';

type Page = {
  '@odata.context': string;
  '@odata.nextLink'?: string;
  '@odata.deltaLink'?: string;
  '@odata.count'?: number;
  value: Array<Record<string, unknown>>;
};

const ADVANCED_HINT =
  'is not supported because the required parameters might be missing. Try adding $count=true query parameter and ConsistencyLevel:eventual header. Refer to https://aka.ms/graph-docs/advanced-queries for more information';

describe('listing applications in the local tenant', () => {
  let tenant: RunningTenant;
  let fixture: ApplicationsFixture;
  let reader: Caller;
  let graph: Client;

  beforeEach(() => {
    fixture = new ApplicationsFixture();
    reader = fixture.addCaller('Reader', ['Application.Read.All']);
  });

  afterEach(async () => {
    await tenant.stop();
  });

  async function start(): Promise<void> {
    tenant = await startApplicationsTenant(fixture);
    graph = clientFor(tenant, reader);
  }

  describe('paging', () => {
    test('when there are more apps than a page, then Graph pages by 100 by default and the nextLink keeps the query options', async () => {
      for (let i = 0; i < 230; i += 1) fixture.addApp(`app-${i}`);
      await start();

      const first = (await graph.api('/applications').select(['id', 'displayName']).get()) as Page;

      expect(first.value).toHaveLength(100);
      expect(first['@odata.context']).toBe(`${tenant.url}/v1.0/$metadata#applications(id,displayName)`);
      expect(first['@odata.nextLink']).toMatch(/\$skiptoken=/);
      expect(first['@odata.nextLink']).toContain('$select=id,displayName');
      expect(Object.keys(first.value[0]!)).toEqual(['id', 'displayName']);
    });

    test('when a client follows nextLinks with $top while apps are added, then it sees every app once and the new ones at the end', async () => {
      const names = Array.from({ length: 120 }, (_, i) => `app-${i}`);
      for (const name of names) fixture.addApp(name);
      const admin = fixture.addCaller('Admin', ['Application.ReadWrite.All']);
      await start();
      const writer = clientFor(tenant, admin);

      const seen: string[] = [];
      let page = (await graph.api('/applications').top(25).select('displayName').get()) as Page;
      let pages = 1;
      for (;;) {
        seen.push(...page.value.map((a) => String(a.displayName)));
        if (pages === 2) await writer.api('/applications').post({ displayName: 'added-while-paging' });
        if (!page['@odata.nextLink']) break;
        expect(page.value).toHaveLength(25);
        page = (await graph.api(page['@odata.nextLink']).get()) as Page;
        pages += 1;
      }

      expect(pages).toBe(5); // 120 apps + 2 callers + 1 added, by 25
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen).toEqual(expect.arrayContaining([...names, 'added-while-paging']));
      expect(seen[seen.length - 1]).toBe('added-while-paging');
    });

    test('when apps are deleted between pages, then the next page resumes where the last one stopped', async () => {
      const apps = Array.from({ length: 30 }, (_, i) => fixture.addApp(`app-${String(i).padStart(2, '0')}`));
      const admin = fixture.addCaller('Admin', ['Application.ReadWrite.All']);
      await start();
      const writer = clientFor(tenant, admin);

      const first = (await graph.api('/applications').top(10).select('displayName').get()) as Page;
      await writer.api(`/applications/${String(apps[9]!.data.id)}`).delete(); // the last one seen
      await writer.api(`/applications/${String(apps[3]!.data.id)}`).delete(); // one already seen
      const second = (await graph.api(first['@odata.nextLink']!).get()) as Page;

      expect(second.value[0]!.displayName).toBe('app-10');
    });

    test('when a filtered list is paged, then the nextLink carries the filter and every page stays filtered', async () => {
      for (let i = 0; i < 40; i += 1) fixture.addApp(i % 2 === 0 ? `even app ${i}` : `odd app ${i}`);
      await start();

      const seen: string[] = [];
      let page = (await graph.api('/applications').filter("startsWith(displayName,'even app')").top(7).get()) as Page;
      for (;;) {
        seen.push(...page.value.map((a) => String(a.displayName)));
        if (!page['@odata.nextLink']) break;
        page = (await graph.api(page['@odata.nextLink']).get()) as Page;
      }

      expect(seen).toHaveLength(20);
      expect(seen.every((name) => name.startsWith('even app'))).toBe(true);
    });

    test.each(['0', '1000', 'ten'])(
      'when $top is %s, then Graph answers 400 "Invalid page size specified"',
      async (top) => {
        await start();
        const error = await failure(graph.api(`/applications?$top=${top}`).get());

        expect(error.statusCode).toBe(400);
        expect(error.body.error).toMatchObject({
          code: 'Request_UnsupportedQuery',
          message: `Invalid page size specified: '${top}'. Must be between 1 and 999 inclusive.`,
        });
      },
    );
  });

  describe('$filter', () => {
    beforeEach(() => {
      fixture.addApp('Payroll', {
        tags: ['finance', 'hr'],
        uniqueName: 'bot-payroll',
        createdDateTime: '2024-01-10T00:00:00.0000000Z',
      });
      fixture.addApp('Payments', { tags: ['finance'], createdDateTime: '2024-03-10T00:00:00.0000000Z' });
      const withUri = fixture.addApp('Portal', { createdDateTime: '2025-01-01T00:00:00.0000000Z' });
      withUri.data.identifierUris = ['api://portal'];
      withUri.data.description = 'customer portal';
    });

    const names = (page: Page) => page.value.map((a) => a.displayName).sort();

    test.each([
      ["displayName eq 'payroll'", ['Payroll']],
      ["startsWith(displayName,'Pay')", ['Payments', 'Payroll']],
      ["displayName in ('Portal', 'Payments')", ['Payments', 'Portal']],
      ["tags/any(t:t eq 'hr')", ['Payroll']],
      ["tags/any(t:startsWith(t,'fin')) and startsWith(displayName,'Paym')", ['Payments']],
      ["identifierUris/any(u:u eq 'api://portal')", ['Portal']],
      ["uniqueName eq 'bot-payroll'", ['Payroll']],
      ['createdDateTime ge 2024-02-01T00:00:00Z and createdDateTime le 2024-12-31T00:00:00Z', ['Payments']],
      ["displayName eq 'Portal' or displayName eq 'Payroll'", ['Payroll', 'Portal']],
    ])('when the filter is %s, then Graph answers the matching apps', async (filter, expected) => {
      await start();
      const page = (await graph.api('/applications').filter(filter).get()) as Page;

      expect(names(page)).toEqual(expected);
    });

    test('when an advanced operator comes without ConsistencyLevel and $count, then Graph answers 400 naming the operator; with them, it works and counts', async () => {
      await start();

      const refused = await failure(graph.api('/applications').filter("endsWith(displayName,'roll')").get());
      const notRefused = await failure(
        graph.api('/applications').filter("displayName ne 'Payroll'").header('ConsistencyLevel', 'eventual').get(),
      );
      const accepted = (await graph
        .api('/applications')
        .filter("endsWith(displayName,'roll')")
        .header('ConsistencyLevel', 'eventual')
        .count(true)
        .get()) as Page;

      expect(refused.body.error).toMatchObject({
        code: 'Request_UnsupportedQuery',
        message: `Operator 'endsWith' ${ADVANCED_HINT}`,
      });
      expect(notRefused.body.error?.message).toBe(`Operator 'ne' ${ADVANCED_HINT}`);
      expect(names(accepted)).toEqual(['Payroll']);
      expect(accepted['@odata.count']).toBe(1);
    });

    test('when an advanced-only property is filtered with ConsistencyLevel and $count, then it works', async () => {
      await start();
      const page = (await graph
        .api('/applications')
        .filter("startsWith(description,'customer')")
        .header('ConsistencyLevel', 'eventual')
        .count(true)
        .get()) as Page;

      expect(names(page)).toEqual(['Portal']);
    });

    test.each([
      ['passwordCredentials/any(p:p/endDateTime le 2025-01-01T00:00:00Z)', 'passwordCredentials'],
      ['createdDateTime eq 2024-01-10T00:00:00Z', 'createdDateTime'],
      ["signInAudience ge 'A'", 'signInAudience'],
    ])(
      'when the filter is %s, then Graph answers 400 Request_UnsupportedQuery for the property',
      async (filter, property) => {
        await start();
        const error = await failure(graph.api('/applications').filter(filter).get());

        expect(error.body.error).toMatchObject({
          code: 'Request_UnsupportedQuery',
          message: `Unsupported or invalid query filter clause specified for property '${property}' of resource 'Application'.`,
        });
      },
    );

    test('when $count=true comes without ConsistencyLevel, then Graph ignores it', async () => {
      await start();
      const page = (await graph.api('/applications').count(true).get()) as Page;

      expect(page['@odata.count']).toBeUndefined();
      expect(page.value.length).toBe(4);
    });

    test('when $search comes without ConsistencyLevel, then Graph answers 400; with it, it matches words by prefix', async () => {
      await start();
      const refused = await failure(graph.api('/applications').search('"displayName:pay"').get());
      const found = (await graph
        .api('/applications')
        .search('"displayName:pay"')
        .header('ConsistencyLevel', 'eventual')
        .get()) as Page;

      expect(refused.body.error).toMatchObject({
        code: 'Request_UnsupportedQuery',
        message:
          "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'",
      });
      expect(names(found)).toEqual(['Payments', 'Payroll']);
    });

    test('when a filter does not parse, then the parser says where', () => {
      expect(() => parseFilter("displayName eq 'x' and")).toThrow(/Invalid filter clause/);
      expect(parseFilter("not (tags/any(t:t eq 'a') or id in ('1','2'))")).toEqual({
        kind: 'not',
        operand: {
          kind: 'or',
          left: { kind: 'any', property: 'tags', predicate: { kind: 'compare', op: 'eq', property: '', value: 'a' } },
          right: { kind: 'in', property: 'id', values: ['1', '2'] },
        },
      });
    });
  });

  describe('$count', () => {
    test('when /applications/$count is asked with ConsistencyLevel, then Graph answers the number as text/plain; without it, 400', async () => {
      fixture.addApp('One');
      fixture.addApp('Two');
      await start();

      const counted = await raw(graph, '/applications/$count', 'GET', undefined, { ConsistencyLevel: 'eventual' });
      const filtered = await raw(graph, "/applications/$count?$filter=displayName eq 'Two'", 'GET', undefined, {
        ConsistencyLevel: 'eventual',
      });
      const refused = await failure(graph.api('/applications/$count').get());

      expect(counted.status).toBe(200);
      expect(counted.headers.get('content-type')).toContain('text/plain');
      expect(await counted.text()).toBe('3');
      expect(await filtered.text()).toBe('1');
      expect(refused.body.error).toMatchObject({
        code: 'Request_BadRequest',
        message: '$count is not currently supported.',
      });
    });
  });

  describe('delta', () => {
    test('when a client syncs with delta, then it gets every app, a deltaLink, and later only what changed, with @removed for deletions', async () => {
      const apps = Array.from({ length: 150 }, (_, i) => fixture.addApp(`app-${i}`));
      const admin = fixture.addCaller('Admin', ['Application.ReadWrite.All']);
      await start();
      const writer = clientFor(tenant, admin);

      const initial: Array<Record<string, unknown>> = [];
      let page = (await graph
        .api('/applications/delta()')
        .select(['displayName', 'passwordCredentials'])
        .get()) as Page;
      initial.push(...page.value);
      while (page['@odata.nextLink']) {
        page = (await graph.api(page['@odata.nextLink']).get()) as Page;
        initial.push(...page.value);
      }
      const deltaLink = page['@odata.deltaLink']!;

      await writer.api(`/applications/${String(apps[5]!.data.id)}`).patch({ displayName: 'renamed' });
      await writer.api(`/applications/${String(apps[6]!.data.id)}`).delete();
      await writer.api(`/applications/${String(apps[7]!.data.id)}`).delete();
      await writer.api(`/directory/deletedItems/${String(apps[7]!.data.id)}`).delete();
      const changes = (await graph.api(deltaLink).get()) as Page;
      const quiet = (await graph.api(changes['@odata.deltaLink']!).get()) as Page;

      expect(initial).toHaveLength(152);
      expect(Object.keys(initial[0]!)).toEqual(['id', 'displayName', 'passwordCredentials']);
      expect(deltaLink).toContain('/applications/delta?$deltatoken=');
      expect(changes.value).toEqual([
        { id: apps[5]!.data.id, displayName: 'renamed', passwordCredentials: [] },
        { id: apps[6]!.data.id, '@removed': { reason: 'changed' } },
        { id: apps[7]!.data.id, '@removed': { reason: 'deleted' } },
      ]);
      expect(quiet.value).toEqual([]);
    });

    test('when $deltatoken=latest is asked, then Graph answers no apps and a deltaLink from now', async () => {
      fixture.addApp('Existing');
      const admin = fixture.addCaller('Admin', ['Application.ReadWrite.All']);
      await start();

      const latest = (await graph.api('/applications/delta?$deltatoken=latest').get()) as Page;
      const created = (await clientFor(tenant, admin).api('/applications').post({ displayName: 'New' })) as {
        id: string;
      };
      const changes = (await graph.api(latest['@odata.deltaLink']!).get()) as Page;

      expect(latest.value).toEqual([]);
      expect(changes.value.map((a) => a.id)).toEqual([created.id]);
    });
  });
});
