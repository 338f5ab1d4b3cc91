/**
 * Owners of applications and service principals as Graph serves them (https://learn.microsoft.com/graph/api/application-post-owners, and the OwnedBy permissions of https://learn.microsoft.com/graph/permissions-reference), driven by the
 * real Graph SDK over https.
 */
import { type Client, ResponseType } from '@microsoft/microsoft-graph-client';
import type { RunningTenant } from '../../src/local/tenant/server';
import {
  clientFor,
  DirectoryFixture,
  type FixtureApp,
  graphFailure,
  startDirectoryTenant,
  TestClock,
} from '../helpers/tenant-directory-fixtures';

const GRAPH_REF = (id: string) => ({ '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${id}` });
const DUPLICATE = "One or more added object references already exist for the following modified properties: 'owners'.";
const NOT_AN_OWNER =
  "One or more removed object references do not exist for the following modified properties: 'owners'.";

describe('owners', () => {
  let fixture: DirectoryFixture;
  let clock: TestClock;
  let tenant: RunningTenant | undefined;
  let admin: FixtureApp;
  let bot: FixtureApp;
  let noDirectoryRead: FixtureApp;
  let owned: FixtureApp;
  let payroll: FixtureApp;
  let alice: string;
  let newcomer: string;
  let client: Client;

  beforeEach(async () => {
    fixture = new DirectoryFixture();
    clock = new TestClock();
    admin = fixture.app('Registrar', { roles: ['Application.ReadWrite.All', 'Directory.Read.All'] });
    bot = fixture.app('Bot', { roles: ['Application.ReadWrite.OwnedBy', 'Directory.Read.All'] });
    noDirectoryRead = fixture.app('Half', { roles: ['Application.ReadWrite.All'] });
    owned = fixture.app('Owned', { owners: [bot.spId] });
    fixture.data.servicePrincipals[owned.spId]!.owners.push(bot.spId);
    payroll = fixture.app('Payroll');
    alice = fixture.user('Alice Adams');
    newcomer = fixture.user('Nina Newcomer', { visibleFrom: Date.now() + 60_000 });
    tenant = await startDirectoryTenant(fixture, clock);
    client = clientFor(tenant, admin);
  });

  afterEach(async () => {
    await tenant?.stop();
    tenant = undefined;
  });

  /** Starts the tenant again from the fixture, for a test that changes the fixture first. */
  async function restart(): Promise<RunningTenant> {
    await tenant?.stop();
    tenant = await startDirectoryTenant(fixture, clock);
    return tenant;
  }

  test('when a user is added as owner of an application, then Graph answers 204 and lists the owner as a directory object with its @odata.type', async () => {
    const added = (await client
      .api(`/applications/${payroll.objectId}/owners/$ref`)
      .responseType(ResponseType.RAW)
      .post(GRAPH_REF(alice))) as Response;
    const owners = (await client.api(`/applications/${payroll.objectId}/owners`).get()) as Record<string, unknown> & {
      value: Array<Record<string, unknown>>;
    };

    expect(added.status).toBe(204);
    expect(owners['@odata.context']).toBe(`${tenant!.url}/v1.0/$metadata#directoryObjects`);
    expect(owners.value).toEqual([
      expect.objectContaining({ '@odata.type': '#microsoft.graph.user', id: alice, displayName: 'Alice Adams' }),
    ]);
  });

  test('when the same owner is added twice, then the second answers 400 with the "already exist" message', async () => {
    await client.api(`/applications/${payroll.objectId}/owners/$ref`).post(GRAPH_REF(alice));

    const failure = await graphFailure(
      client.api(`/applications/${payroll.objectId}/owners/$ref`).post(GRAPH_REF(alice)),
    );

    expect(failure).toMatchObject({ status: 400, code: 'Request_BadRequest', message: DUPLICATE });
  });

  test('when a service principal is added by appId key with the emulator’s own URL in @odata.id, then it is listed as #microsoft.graph.servicePrincipal', async () => {
    await client
      .api(`/applications(appId='${payroll.appId}')/owners/$ref`)
      .post({ '@odata.id': `${tenant!.url}/v1.0/directoryObjects/${payroll.spId}` });

    const owners = (await client.api(`/applications(appId='${payroll.appId}')/owners`).get()) as {
      value: Array<Record<string, unknown>>;
    };

    expect(owners.value).toEqual([
      expect.objectContaining({
        '@odata.type': '#microsoft.graph.servicePrincipal',
        id: payroll.spId,
        appId: payroll.appId,
      }),
    ]);
  });

  test('when an owner is removed, then Graph answers 204, and removing a non-owner answers 400', async () => {
    await client.api(`/servicePrincipals/${payroll.spId}/owners/$ref`).post(GRAPH_REF(alice));

    const removed = (await client
      .api(`/servicePrincipals/${payroll.spId}/owners/${alice}/$ref`)
      .responseType(ResponseType.RAW)
      .delete()) as Response;
    const again = await graphFailure(client.api(`/servicePrincipals/${payroll.spId}/owners/${alice}/$ref`).delete());
    const owners = (await client.api(`/servicePrincipals/${payroll.spId}/owners`).get()) as { value: unknown[] };

    expect(removed.status).toBe(204);
    expect(again).toMatchObject({ status: 400, code: 'Request_BadRequest', message: NOT_AN_OWNER });
    expect(owners.value).toEqual([]);
  });

  test('when the owner does not exist, is still replicating, or the reference is not a directory object URL, then Graph refuses it', async () => {
    const unknown = await graphFailure(
      client
        .api(`/applications/${payroll.objectId}/owners/$ref`)
        .post(GRAPH_REF('0b1c2d3e-4f50-4617-8283-949596979899')),
    );
    const replicating = await graphFailure(
      client.api(`/applications/${payroll.objectId}/owners/$ref`).post(GRAPH_REF(newcomer)),
    );
    const malformed = await graphFailure(
      client
        .api(`/applications/${payroll.objectId}/owners/$ref`)
        .post({ '@odata.id': `https://example.com/v1.0/users/${alice}` }),
    );
    clock.advance(61_000);
    const later = (await client
      .api(`/applications/${payroll.objectId}/owners/$ref`)
      .responseType(ResponseType.RAW)
      .post(GRAPH_REF(newcomer))) as Response;

    expect(unknown).toMatchObject({ status: 404, code: 'Request_ResourceNotFound' });
    expect(replicating).toMatchObject({ status: 404, code: 'Request_ResourceNotFound' });
    expect(malformed).toMatchObject({ status: 400, code: 'Request_BadRequest' });
    expect(later.status).toBe(204);
  });

  test('when the caller has Application.ReadWrite.All without Directory.Read.All, then adding an owner answers 403', async () => {
    const failure = await graphFailure(
      clientFor(tenant!, noDirectoryRead).api(`/applications/${payroll.objectId}/owners/$ref`).post(GRAPH_REF(alice)),
    );

    expect(failure).toMatchObject({ status: 403, code: 'Authorization_RequestDenied' });
  });

  test('when the caller holds only Application.ReadWrite.OwnedBy (and Directory.Read.All), then adding an owner to an application answers 403 even when it owns it, as Graph does; its own service principal takes one', async () => {
    const botClient = clientFor(tenant!, bot);
    const denied = {
      status: 403,
      code: 'Authorization_RequestDenied',
      message: 'Insufficient privileges to complete the operation.',
    };

    const onApp = await graphFailure(
      botClient.api(`/applications/${owned.objectId}/owners/$ref`).post(GRAPH_REF(alice)),
    );
    const onAppByAppId = await graphFailure(
      botClient.api(`/applications(appId='${owned.appId}')/owners/$ref`).post(GRAPH_REF(alice)),
    );
    const notOwned = await graphFailure(
      botClient.api(`/applications/${payroll.objectId}/owners/$ref`).post(GRAPH_REF(alice)),
    );
    const notOwnedSp = await graphFailure(
      botClient.api(`/servicePrincipals/${payroll.spId}/owners/$ref`).post(GRAPH_REF(alice)),
    );
    const owners = (await botClient.api(`/applications/${owned.objectId}/owners`).get()) as {
      value: Array<{ id: string }>;
    };
    // Microsoft's service principal page has no such note: OwnedBy reaches the service principal it owns.
    const onSp = (await botClient
      .api(`/servicePrincipals/${owned.spId}/owners/$ref`)
      .responseType(ResponseType.RAW)
      .post(GRAPH_REF(alice))) as Response;

    expect([onApp, onAppByAppId, notOwned, notOwnedSp]).toEqual(
      [denied, denied, denied, denied].map((d) => expect.objectContaining(d)),
    );
    expect(owners.value.map((o) => o.id)).toEqual([bot.spId]);
    expect(onSp.status).toBe(204);
  });

  test('when the caller holds Application.ReadWrite.OwnedBy with Application.ReadWrite.All (and Directory.Read.All), then it adds owners to any app and service principal', async () => {
    const both = fixture.app('Both', {
      roles: ['Application.ReadWrite.OwnedBy', 'Application.ReadWrite.All', 'Directory.Read.All'],
    });
    const restarted = await restart();
    const bothClient = clientFor(restarted, both);

    const onOwned = (await bothClient
      .api(`/applications/${owned.objectId}/owners/$ref`)
      .responseType(ResponseType.RAW)
      .post(GRAPH_REF(alice))) as Response;
    const onOther = (await bothClient
      .api(`/servicePrincipals/${payroll.spId}/owners/$ref`)
      .responseType(ResponseType.RAW)
      .post(GRAPH_REF(alice))) as Response;

    expect(onOwned.status).toBe(204);
    expect(onOther.status).toBe(204);
  });

  test('when the caller holds only Application.ReadWrite.OwnedBy, then it removes owners of the app and service principal it owns, and of nothing else', async () => {
    fixture.data.applications[owned.objectId]!.owners.push(alice);
    fixture.data.servicePrincipals[owned.spId]!.owners.push(alice);
    fixture.data.applications[payroll.objectId]!.owners.push(alice);
    const botClient = clientFor(await restart(), bot);

    const fromApp = (await botClient
      .api(`/applications/${owned.objectId}/owners/${alice}/$ref`)
      .responseType(ResponseType.RAW)
      .delete()) as Response;
    const fromSp = (await botClient
      .api(`/servicePrincipals/${owned.spId}/owners/${alice}/$ref`)
      .responseType(ResponseType.RAW)
      .delete()) as Response;
    const notOwned = await graphFailure(
      botClient.api(`/applications/${payroll.objectId}/owners/${alice}/$ref`).delete(),
    );

    expect(fromApp.status).toBe(204);
    expect(fromSp.status).toBe(204);
    expect(notOwned).toMatchObject({ status: 403, code: 'Authorization_RequestDenied' });
  });
});
