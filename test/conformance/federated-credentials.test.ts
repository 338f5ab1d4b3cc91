/**
 * Federated identity credentials of an application as Graph serves them, driven by the real Graph SDK over https:
 * https://learn.microsoft.com/graph/api/resources/federatedidentitycredential and its create, list, get, update,
 * upsert and delete pages, with the limits of https://learn.microsoft.com/entra/workload-id/workload-identity-federation-considerations.
 */
import type { Client } from '@microsoft/microsoft-graph-client';
import { applicationRoutes } from '../../src/local/tenant/routes/applications';
import { deletedItemRoutes } from '../../src/local/tenant/routes/deleted-items';
import { federatedCredentialRoutes } from '../../src/local/tenant/routes/federated-credentials';
import { allRoutes } from '../../src/local/tenant/routes';
import { demoApplicationIds, demoFederatedCredential, demoTenant } from '../../src/local/tenant/seed';
import type { RunningTenant } from '../../src/local/tenant/server';
import type { TenantData } from '../../src/local/tenant/state';
import { graphClientFor, startTestTenant } from '../helpers/tenant';
import {
  clientFor,
  DirectoryFixture,
  type FixtureApp,
  GUID,
  graphFailure,
  TestClock,
} from '../helpers/tenant-directory-fixtures';
import { raw } from '../helpers/tenant-fixtures';

const GITHUB = 'https://token.actions.githubusercontent.com';
const AUDIENCE = 'api://AzureADTokenExchange';
const invalid = (property: string) =>
  `Invalid value specified for property '${property}' of resource 'FederatedIdentityCredential'.`;

interface Credential {
  id: string;
  name: string;
  issuer: string;
  subject: string;
  description: string | null;
  audiences: string[];
}

const github = (name: string, subject = `repo:contoso/${name}:environment:production`): Record<string, unknown> => ({
  name,
  issuer: GITHUB,
  subject,
  audiences: [AUDIENCE],
});

describe('federated identity credentials', () => {
  let fixture: DirectoryFixture;
  let clock: TestClock;
  let tenant: RunningTenant | undefined;
  let admin: FixtureApp;
  let reader: FixtureApp;
  let ownedBy: FixtureApp;
  let payroll: FixtureApp;
  let owned: FixtureApp;
  let client: Client;

  const start = (data: TenantData) =>
    startTestTenant({
      data,
      routes: [applicationRoutes, federatedCredentialRoutes, deletedItemRoutes],
      now: clock.now,
    });

  beforeEach(async () => {
    fixture = new DirectoryFixture();
    clock = new TestClock();
    admin = fixture.app('Registrar', { roles: ['Application.ReadWrite.All'] });
    reader = fixture.app('Reader', { roles: ['Application.Read.All'] });
    ownedBy = fixture.app('Bot', { roles: ['Application.ReadWrite.OwnedBy'] });
    payroll = fixture.app('Payroll');
    owned = fixture.app('Owned', { owners: [ownedBy.spId] });
    tenant = await start(fixture.data);
    client = clientFor(tenant, admin);
  });

  afterEach(async () => {
    await tenant?.stop();
    tenant = undefined;
  });

  const path = (app: FixtureApp, rest = '') => `/applications/${app.objectId}/federatedIdentityCredentials${rest}`;
  const create = (body: Record<string, unknown>, app = payroll, as = client) =>
    as.api(path(app)).post(body) as Promise<Credential & Record<string, unknown>>;
  const list = async (app = payroll, as = client) => ((await as.api(path(app)).get()) as { value: Credential[] }).value;
  const sequenceOf = (app: FixtureApp) => tenant!.state().data.applications[app.objectId]!.sequence;

  test('when a GitHub Actions credential is created, then Graph answers 201 with the credential and lists it, by id, name and appId', async () => {
    const created = await create({ ...github('payroll-deploy'), description: 'Deploys payroll' });
    const byId = (await client.api(path(payroll, `/${created.id}`)).get()) as Record<string, unknown>;
    const byName = (await client.api(path(payroll, '/payroll-deploy')).get()) as Credential;
    const byAppId = (await client
      .api(`/applications(appId='${payroll.appId}')/federatedIdentityCredentials`)
      .get()) as { value: Credential[]; '@odata.context': string };

    // The example response of application-post-federatedidentitycredentials.
    expect(created).toEqual({
      '@odata.context': `${tenant!.url}/v1.0/$metadata#applications('${payroll.objectId}')/federatedIdentityCredentials/$entity`,
      id: expect.stringMatching(GUID),
      name: 'payroll-deploy',
      issuer: GITHUB,
      subject: 'repo:contoso/payroll-deploy:environment:production',
      description: 'Deploys payroll',
      audiences: [AUDIENCE],
    });
    expect(byId).toMatchObject({ id: created.id, name: 'payroll-deploy' });
    expect(byName.id).toBe(created.id);
    expect(byAppId['@odata.context']).toBe(
      `${tenant!.url}/v1.0/$metadata#applications('${payroll.objectId}')/federatedIdentityCredentials`,
    );
    expect(byAppId.value.map((c) => c.id)).toEqual([created.id]);
    // A relationship, not a property: the application's own body does not carry it.
    const application = (await client.api(`/applications/${payroll.objectId}`).get()) as Record<string, unknown>;
    expect(application).not.toHaveProperty('federatedIdentityCredentials');
  });

  test('when the list is filtered by subject or selected, then only the matching credentials and properties come back', async () => {
    await create(github('one'));
    await create(github('two'));

    const filtered = (await client
      .api(path(payroll))
      .filter(`subject eq 'repo:contoso/two:environment:production'`)
      .select('name,subject')
      .get()) as { value: Array<Record<string, unknown>> };

    expect(filtered.value).toEqual([{ name: 'two', subject: 'repo:contoso/two:environment:production' }]);
  });

  // Name: "3-120 characters and must be URL friendly. Alphanumeric, dash, or underscore characters are supported, and
  // the first character must be alphanumeric only" (workload-identity-federation-considerations).
  test.each([
    ['missing', undefined],
    ['2 characters', 'ab'],
    ['121 characters', 'a'.repeat(121)],
    ['a space', 'payroll deploy'],
    ['a dot', 'payroll.deploy'],
    ['a leading dash', '-payroll'],
    ['a leading underscore', '_payroll'],
  ])('when the name is %s, then Graph refuses it with 400 on name', async (_case, name) => {
    const failure = await graphFailure(create({ ...github('x'), name }));

    expect(failure).toMatchObject({ status: 400, code: 'Request_BadRequest', message: invalid('name') });
    expect(await list()).toEqual([]);
  });

  test('when the name is 3 or 120 URL-friendly characters, then Graph accepts it', async () => {
    await create(github('a_1'));
    await create(github(`A${'b-_9'.repeat(29)}xyz`));

    expect((await list()).map((c) => c.name.length)).toEqual([3, 120]);
  });

  // Issuer and subject: required, 600 characters at most (workload-identity-federation-considerations); the issuer
  // is "the URL of the external identity provider" (application-post-federatedidentitycredentials).
  test.each([
    ['issuer', 'missing', undefined],
    ['issuer', 'not a URL', 'token.actions.githubusercontent.com'],
    ['issuer', 'not https', 'http://token.actions.githubusercontent.com'],
    [
      'issuer',
      '601 characters',
      `https://issuer.contoso.com/${'a'.repeat(601 - 'https://issuer.contoso.com/'.length)}`,
    ],
    ['subject', 'missing', undefined],
    ['subject', 'empty', ''],
    ['subject', '601 characters', 's'.repeat(601)],
  ])('when the %s is %s, then Graph refuses it with 400 on that property', async (property, _case, value) => {
    const failure = await graphFailure(create({ ...github('payroll'), [property]: value }));

    expect(failure).toMatchObject({ status: 400, message: invalid(property) });
  });

  test('when the issuer and subject are 600 characters each, then Graph accepts them', async () => {
    const issuer = `https://issuer.contoso.com/${'a'.repeat(600 - 'https://issuer.contoso.com/'.length)}`;

    const created = await create({ ...github('long'), issuer, subject: 's'.repeat(600) });

    expect([created.issuer.length, created.subject.length]).toEqual([600, 600]);
  });

  // Audiences: "This field can only accept a single value and has a limit of 600 characters"
  // (application-post-federatedidentitycredentials).
  test.each([
    ['missing', undefined],
    ['empty', []],
    ['two values', [AUDIENCE, 'api://other']],
    ['not a list', AUDIENCE],
    ['601 characters', ['a'.repeat(601)]],
  ])('when the audiences are %s, then Graph refuses them with 400 on audiences', async (_case, audiences) => {
    const failure = await graphFailure(create({ ...github('payroll'), audiences }));

    expect(failure).toMatchObject({ status: 400, message: invalid('audiences') });
  });

  // Description: optional, "a limit of 600 characters" (workload-identity-federation-considerations).
  test('when the description is 601 characters, then Graph refuses it; at 600 it is kept', async () => {
    const failure = await graphFailure(create({ ...github('payroll'), description: 'd'.repeat(601) }));
    const created = await create({ ...github('payroll'), description: 'd'.repeat(600) });

    expect(failure).toMatchObject({ status: 400, message: invalid('description') });
    expect(created.description).toHaveLength(600);
  });

  test('when a second credential takes a name in use, then Graph answers 409 Request_MultipleObjectsWithSameKeyValue', async () => {
    await create(github('deploy'));

    const failure = await graphFailure(create(github('DEPLOY', 'repo:contoso/other:ref:refs/heads/main')));

    expect(failure).toEqual({
      status: 409,
      code: 'Request_MultipleObjectsWithSameKeyValue',
      message: 'FederatedIdentityCredential with name DEPLOY already exists.',
      details: undefined,
    });
  });

  // "The combination of issuer and subject must be unique on the app" (workload-identity-federation-considerations).
  test('when a second credential has the issuer and subject of another, then Graph refuses it with 400 InvalidFederatedIdentityCredentialValue', async () => {
    await create(github('deploy', 'repo:contoso/payroll:environment:production'));

    const failure = await graphFailure(create(github('deploy-again', 'repo:contoso/payroll:environment:production')));

    expect(failure.status).toBe(400);
    expect(failure.code).toBe('InvalidFederatedIdentityCredentialValue');
    expect(failure.message).toMatch(/^The combination of issuer and subject must be unique for the application\./);
    // The subject compares exactly: another case is another workload (Entra matches it case-sensitively).
    await expect(create(github('deploy-upper', 'repo:contoso/Payroll:environment:production'))).resolves.toMatchObject({
      name: 'deploy-upper',
    });
  });

  // "A maximum of 20 federated identity credentials can be added to an application" (workload-identity-federation-considerations).
  test('when an application has 20 credentials, then a 21st is refused with 400, and one can be added again after one is deleted', async () => {
    for (let i = 1; i <= 20; i += 1) await create(github(`env-${i}`));

    const failure = await graphFailure(create(github('env-21')));
    await client.api(path(payroll, '/env-7')).delete();
    const added = await create(github('env-21'));

    expect(failure).toMatchObject({ status: 400, code: 'Request_BadRequest' });
    expect(failure.message).toMatch(/maximum number of federated identity credentials \(20\)/);
    expect(added.name).toBe('env-21');
    expect(await list()).toHaveLength(20);
  });

  test('when a credential is updated, then the new subject is kept with 204; its name cannot change', async () => {
    const created = await create(github('deploy'));

    const updated = await raw(client, path(payroll, `/${created.id}`), 'PATCH', {
      subject: 'repo:contoso/payroll:ref:refs/heads/main',
      description: 'main branch',
    });
    const renamed = await graphFailure(client.api(path(payroll, '/deploy')).patch({ name: 'deploy-2' }));

    expect(updated.status).toBe(204);
    expect(await list()).toEqual([
      {
        id: created.id,
        name: 'deploy',
        issuer: GITHUB,
        subject: 'repo:contoso/payroll:ref:refs/heads/main',
        description: 'main branch',
        audiences: [AUDIENCE],
      },
    ]);
    expect(renamed.status).toBe(400);
  });

  test('when an update gives a credential the issuer and subject of another, or an invalid value, then Graph refuses it and keeps both', async () => {
    await create(github('one'));
    await create(github('two'));

    const clash = await graphFailure(
      client.api(path(payroll, '/two')).patch({ subject: 'repo:contoso/one:environment:production' }),
    );
    const badAudience = await graphFailure(client.api(path(payroll, '/two')).patch({ audiences: [] }));

    expect(clash).toMatchObject({ status: 400, code: 'InvalidFederatedIdentityCredentialValue' });
    expect(badAudience).toMatchObject({ status: 400, message: invalid('audiences') });
    expect((await list()).map((c) => c.subject)).toEqual([
      'repo:contoso/one:environment:production',
      'repo:contoso/two:environment:production',
    ]);
  });

  test('when a name nobody holds is patched, then the credential is created with 201 (upsert); a missing id answers 404', async () => {
    const { name: _name, ...body } = github('staging');

    const upserted = await raw(client, path(payroll, '/staging'), 'PATCH', body);
    const missing = await graphFailure(client.api(path(payroll, `/${payroll.appId}`)).patch(body));

    expect(upserted.status).toBe(201);
    expect((await list()).map((c) => c.name)).toEqual(['staging']);
    expect(missing).toMatchObject({ status: 404, code: 'Request_ResourceNotFound' });
  });

  test('when a credential is deleted by name, then Graph answers 204 and it is gone; deleting it again answers 404', async () => {
    const created = await create(github('deploy'));

    const deleted = await raw(client, path(payroll, '/deploy'), 'DELETE');
    const read = await graphFailure(client.api(path(payroll, `/${created.id}`)).get());
    const again = await graphFailure(client.api(path(payroll, '/deploy')).delete());

    expect(deleted.status).toBe(204);
    expect(await list()).toEqual([]);
    expect(read).toMatchObject({ status: 404, code: 'Request_ResourceNotFound' });
    expect(again.status).toBe(404);
  });

  test('when each write lands, then the application changes for delta: its sequence moves and the delta link reports it', async () => {
    let page = (await client.api('/applications/delta').select('displayName').get()) as Record<string, unknown>;
    while (page['@odata.nextLink']) page = (await client.api(String(page['@odata.nextLink'])).get()) as typeof page;
    const deltaLink = String(page['@odata.deltaLink']);
    const sequences = [sequenceOf(payroll)];

    await create(github('deploy'));
    sequences.push(sequenceOf(payroll));
    await client.api(path(payroll, '/deploy')).patch({ description: 'changed' });
    sequences.push(sequenceOf(payroll));
    await client.api(path(payroll, '/deploy')).delete();
    sequences.push(sequenceOf(payroll));
    const changes = (await client.api(deltaLink).get()) as { value: Array<{ id: string }> };

    expect([...sequences].sort((a, b) => a - b)).toEqual(sequences);
    expect(new Set(sequences).size).toBe(4);
    expect(changes.value.map((a) => a.id)).toEqual([payroll.objectId]);
  });

  // Permissions tables of the create, list, get, update and delete pages.
  test('when the caller holds Application.Read.All, then it can list and read but not write', async () => {
    const created = await create(github('deploy'));
    const asReader = clientFor(tenant!, reader);

    await expect(list(payroll, asReader)).resolves.toHaveLength(1);
    await expect(asReader.api(path(payroll, `/${created.id}`)).get()).resolves.toMatchObject({ name: 'deploy' });
    expect(await graphFailure(create(github('other'), payroll, asReader))).toMatchObject({
      status: 403,
      code: 'Authorization_RequestDenied',
    });
    expect((await graphFailure(asReader.api(path(payroll, '/deploy')).delete())).status).toBe(403);
  });

  test('when the caller holds only Application.ReadWrite.OwnedBy, then it manages the credentials of the apps it owns and no others', async () => {
    const asBot = clientFor(tenant!, ownedBy);

    const mine = await create(github('owned-deploy'), owned, asBot);
    const other = await graphFailure(create(github('payroll-deploy'), payroll, asBot));
    const otherList = await graphFailure(asBot.api(path(payroll)).get());

    expect(mine.name).toBe('owned-deploy');
    expect(await list(owned, asBot)).toHaveLength(1);
    expect(other).toMatchObject({ status: 403, code: 'Authorization_RequestDenied' });
    expect(otherList.status).toBe(403);
  });

  test('when the application is new and still replicating, then its credentials answer 404 until it is visible', async () => {
    const fresh = fixture.app('Fresh', { visibleFrom: Date.now() + 60_000 });
    await tenant!.stop();
    tenant = await start(fixture.data);
    client = clientFor(tenant, admin);

    const early = await graphFailure(create(github('deploy'), fresh));
    clock.advance(61_000);
    const later = await create(github('deploy'), fresh);

    expect(early).toMatchObject({ status: 404, code: 'Request_ResourceNotFound' });
    expect(later.name).toBe('deploy');
  });

  test('when the application is deleted and restored, then its credentials come back with it', async () => {
    const created = await create(github('payments-production'));

    await client.api(`/applications/${payroll.objectId}`).delete();
    expect(await graphFailure(list())).toMatchObject({ status: 404, code: 'Request_ResourceNotFound' });
    await client.api(`/directory/deletedItems/${payroll.objectId}/restore`).post({});

    expect((await list()).map((c) => [c.id, c.name, c.subject])).toEqual([
      [created.id, 'payments-production', 'repo:contoso/payments-production:environment:production'],
    ]);
  });

  test('when the tenant is saved as JSON and started again, then the credentials are still there', async () => {
    const created = await create(github('deploy'));
    const saved = JSON.parse(JSON.stringify(tenant!.state().toJSON())) as TenantData;
    await tenant!.stop();

    tenant = await start(saved);
    client = clientFor(tenant, admin);

    expect((await list()).map((c) => c.id)).toEqual([created.id]);
  });

  test('when the demo tenant is read, then Payroll Sync trusts the contoso/payments production workflow of GitHub Actions', async () => {
    const demo = demoTenant();
    await tenant!.stop();
    tenant = await startTestTenant({ data: demo.data, routes: allRoutes });
    const { client: registrar } = graphClientFor(tenant, demo.registrar.clientId, demo.registrar.clientSecret);

    const credentials = (await registrar
      .api(
        `/applications/${demoApplicationIds(demoFederatedCredential.applicationIndex).id}/federatedIdentityCredentials`,
      )
      .get()) as { value: Credential[] };

    expect(credentials.value).toEqual([
      {
        id: demoFederatedCredential.id,
        name: 'payments-production',
        issuer: 'https://token.actions.githubusercontent.com',
        subject: 'repo:contoso/payments:environment:production',
        description: demoFederatedCredential.description,
        audiences: ['api://AzureADTokenExchange'],
      },
    ]);
  });
});
