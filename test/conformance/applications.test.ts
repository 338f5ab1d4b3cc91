/**
 * The local tenant's application endpoints (https://learn.microsoft.com/graph/api/resources/application), driven over https by the real
 * ClientSecretCredential and Graph client, as Registrar's Graph adapter calls them.
 */
import { ClientSecretCredential } from '@azure/identity';
import type { Client } from '@microsoft/microsoft-graph-client';
import type { RunningTenant } from '../../src/local/tenant/server';
import {
  ApplicationsFixture,
  type Caller,
  clientFor,
  failure,
  raw,
  startApplicationsTenant,
  TENANT_DOMAIN,
  TestClock,
  testCertificate,
} from '../helpers/tenant-fixtures';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
type App = Record<string, unknown> & { id: string; appId: string };

describe('the local tenant application endpoints', () => {
  let tenant: RunningTenant;
  let fixture: ApplicationsFixture;
  let clock: TestClock;
  let admin: Caller;
  let graph: Client;

  beforeEach(async () => {
    fixture = new ApplicationsFixture();
    clock = new TestClock();
    admin = fixture.addCaller('Admin tool', ['Application.ReadWrite.All']);
  });

  afterEach(async () => {
    await tenant.stop();
  });

  async function start(): Promise<void> {
    tenant = await startApplicationsTenant(fixture, clock);
    graph = clientFor(tenant, admin);
  }

  describe('create', () => {
    test('when an app is created, then Graph answers 201 with the whole application, its context and the standard headers', async () => {
      await start();
      const response = await raw(
        graph,
        '/applications',
        'POST',
        { displayName: 'Payroll', signInAudience: 'AzureADMyOrg' },
        { 'client-request-id': 'b5a9d2c4-1111-4222-8333-944455556666' },
      );
      const body = (await response.json()) as App;

      expect(response.status).toBe(201);
      expect(response.headers.get('request-id')).toMatch(GUID);
      expect(response.headers.get('client-request-id')).toBe('b5a9d2c4-1111-4222-8333-944455556666');
      expect(response.headers.get('content-type')).toContain('application/json;odata.metadata=minimal');
      expect(body['@odata.context']).toBe(`${tenant.url}/v1.0/$metadata#applications/$entity`);
      expect(body.id).toMatch(GUID);
      expect(body.appId).toMatch(GUID);
      expect(body.createdDateTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$/);
      expect(body).toMatchObject({
        displayName: 'Payroll',
        publisherDomain: TENANT_DOMAIN,
        deletedDateTime: null,
        uniqueName: null,
        identifierUris: [],
        tags: [],
        keyCredentials: [],
        passwordCredentials: [],
        requiredResourceAccess: [],
        web: {
          redirectUris: [],
          implicitGrantSettings: { enableAccessTokenIssuance: false, enableIdTokenIssuance: false },
        },
        spa: { redirectUris: [] },
        api: { oauth2PermissionScopes: [] },
      });
    });

    test.each([
      [
        'a read-only appId',
        { displayName: 'x', appId: '0b1c2d3e-4f50-4617-8283-949596979899' },
        'Request_BadRequest',
        "Property 'appId' is read-only and cannot be set.",
      ],
      [
        'a read-only publisherDomain',
        { displayName: 'x', publisherDomain: 'evil.com' },
        'Request_BadRequest',
        "Property 'publisherDomain' is read-only and cannot be set.",
      ],
      [
        'an unknown property',
        { displayName: 'x', colour: 'blue' },
        'Request_BadRequest',
        /The property 'colour' does not exist on type/,
      ],
      [
        'a string where a collection belongs',
        { displayName: 'x', tags: 'a' },
        'Request_BadRequest',
        /A 'StartArray' node was expected/,
      ],
      ['a number where a string belongs', { displayName: 42 }, 'Request_BadRequest', /expected type 'Edm.String'/],
      [
        'no displayName',
        { signInAudience: 'AzureADMyOrg' },
        'Request_BadRequest',
        "Invalid value specified for property 'displayName' of resource 'Application'.",
      ],
      [
        'an unknown audience',
        { displayName: 'x', signInAudience: 'Everyone' },
        'Request_BadRequest',
        "Invalid value specified for property 'signInAudience' of resource 'Application'.",
      ],
    ])('when the body has %s, then Graph answers 400', async (_name, body, code, message) => {
      await start();
      const error = await failure(graph.api('/applications').post(body));

      expect(error.statusCode).toBe(400);
      expect(error.code).toBe(code);
      expect(error.message).toEqual(typeof message === 'string' ? message : expect.stringMatching(message));
      expect(Object.keys(fixture.data.applications)).toHaveLength(1);
    });
  });

  describe('read', () => {
    test('when an app is read by id, appId or uniqueName, then each answers the same app, and $select narrows it', async () => {
      const app = fixture.addApp('Billing', { uniqueName: 'billing-app' });
      await start();

      const byId = (await graph.api(`/applications/${String(app.data.id)}`).get()) as App;
      const byAppId = (await graph.api(`/applications(appId='${String(app.data.appId)}')`).get()) as App;
      const byName = (await graph.api(`/applications(uniqueName='billing-app')`).select(['id', 'appId']).get()) as App;

      expect(byId).toMatchObject({ id: app.data.id, displayName: 'Billing' });
      expect(byAppId.id).toBe(app.data.id);
      expect(byName).toEqual({
        '@odata.context': `${tenant.url}/v1.0/$metadata#applications(id,appId)/$entity`,
        id: app.data.id,
        appId: app.data.appId,
      });
    });

    test('when an app does not exist, then Graph answers 404 Request_ResourceNotFound with its message and innerError', async () => {
      await start();
      const error = await failure(graph.api('/applications/0b1c2d3e-4f50-4617-8283-949596979899').get());

      expect(error.statusCode).toBe(404);
      expect(error.body.error).toMatchObject({
        code: 'Request_ResourceNotFound',
        message:
          "Resource '0b1c2d3e-4f50-4617-8283-949596979899' does not exist or one of its queried reference-property objects are not present.",
      });
      expect(error.body.error?.innerError?.date).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
    });

    test('when $select names an unknown property, then Graph answers 400', async () => {
      const app = fixture.addApp('Billing');
      await start();
      const error = await failure(
        graph
          .api(`/applications/${String(app.data.id)}`)
          .select('colour')
          .get(),
      );

      expect(error.statusCode).toBe(400);
      expect(error.message).toBe("Could not find a property named 'colour' on type 'microsoft.graph.application'.");
    });
  });

  describe('update and upsert', () => {
    test('when an app is patched by id or appId, then Graph answers 204 and collections are replaced while complex values merge', async () => {
      const app = fixture.addApp('Billing', { tags: ['a', 'b'] });
      await start();

      const first = await raw(graph, `/applications/${String(app.data.id)}`, 'PATCH', {
        tags: ['c'],
        web: { redirectUris: ['https://billing.contoso.com/auth'] },
      });
      await graph
        .api(`/applications(appId='${String(app.data.appId)}')`)
        .patch({ web: { homePageUrl: 'https://billing.contoso.com' } });
      const after = (await graph.api(`/applications/${String(app.data.id)}`).get()) as App;

      expect(first.status).toBe(204);
      expect(after.tags).toEqual(['c']);
      expect(after.web).toMatchObject({
        homePageUrl: 'https://billing.contoso.com',
        redirectUris: ['https://billing.contoso.com/auth'],
      });
    });

    test('when a PATCH sets passwordCredentials or appId, then Graph answers 400 and nothing changes', async () => {
      const app = fixture.addApp('Billing');
      await start();

      const password = await failure(
        graph.api(`/applications/${String(app.data.id)}`).patch({ passwordCredentials: [{ displayName: 'x' }] }),
      );
      const appId = await failure(
        graph.api(`/applications/${String(app.data.id)}`).patch({ appId: '0b1c2d3e-4f50-4617-8283-949596979899' }),
      );

      expect([password.statusCode, password.code]).toEqual([400, 'Request_BadRequest']);
      expect([appId.statusCode, appId.code]).toEqual([400, 'Request_BadRequest']);
      expect(app.data.passwordCredentials).toEqual([]);
    });

    test('when an app is upserted by uniqueName, then it is 404 without Prefer, 201 with it, and 204 once it exists', async () => {
      await start();
      const path = "/applications(uniqueName='bot-payroll')";

      const missing = await failure(graph.api(path).patch({ displayName: 'Payroll' }));
      const created = await raw(graph, path, 'PATCH', { displayName: 'Payroll' }, { Prefer: 'create-if-missing' });
      const createdBody = (await created.json()) as App;
      const again = await raw(graph, path, 'PATCH', { displayName: 'Payroll 2' }, { Prefer: 'create-if-missing' });
      const read = (await graph.api(path).select(['id', 'appId', 'displayName', 'uniqueName']).get()) as App;

      expect(missing.statusCode).toBe(404);
      expect(created.status).toBe(201);
      expect(createdBody).toMatchObject({ uniqueName: 'bot-payroll', displayName: 'Payroll' });
      expect(createdBody.appId).toMatch(GUID);
      expect(again.status).toBe(204);
      expect(read).toMatchObject({ id: createdBody.id, appId: createdBody.appId, displayName: 'Payroll 2' });
    });

    test('when a set uniqueName is changed, or a uniqueName is taken, then Graph answers 400', async () => {
      const named = fixture.addApp('Named', { uniqueName: 'first' });
      const other = fixture.addApp('Other');
      await start();

      const change = await failure(graph.api(`/applications/${String(named.data.id)}`).patch({ uniqueName: 'second' }));
      const taken = await failure(graph.api(`/applications/${String(other.data.id)}`).patch({ uniqueName: 'FIRST' }));
      const setOnce = await raw(graph, `/applications/${String(other.data.id)}`, 'PATCH', { uniqueName: 'other' });

      expect([change.statusCode, change.code]).toEqual([400, 'Request_BadRequest']);
      expect(taken.body.error).toMatchObject({
        code: 'Request_BadRequest',
        message: 'Another object with the same value for property uniqueName already exists.',
        details: [
          { code: 'ObjectConflict', target: 'uniqueName' },
          { code: 'ConflictingObjects', target: `Application_${String(named.data.id)}` },
        ],
      });
      expect(setOnce.status).toBe(204);
      expect(((await graph.api("/applications(uniqueName='other')").get()) as App).id).toBe(other.data.id);
    });
  });

  describe('delete and restore', () => {
    test('when an app is deleted, then it is gone, listed in deleted items, restorable, and can be deleted for good', async () => {
      const app = fixture.addApp('Old', { uniqueName: 'old-app' });
      const id = String(app.data.id);
      await start();

      const deleted = await raw(graph, `/applications(uniqueName='old-app')`, 'DELETE');
      const gone = await failure(graph.api(`/applications/${id}`).get());
      const bin = (await graph.api('/directory/deletedItems/microsoft.graph.application').get()) as { value: App[] };
      const item = (await graph.api(`/directory/deletedItems/${id}`).get()) as App;
      const restored = (await graph.api(`/directory/deletedItems/${id}/restore`).post(undefined)) as App;
      const back = (await graph.api(`/applications/${id}`).get()) as App;
      await graph.api(`/applications/${id}`).delete();
      const purged = await raw(graph, `/directory/deletedItems/${id}`, 'DELETE');
      const notRestorable = await failure(graph.api(`/directory/deletedItems/${id}/restore`).post(undefined));

      expect(deleted.status).toBe(204);
      expect(gone.statusCode).toBe(404);
      expect(bin.value.map((a) => a.id)).toEqual([id]);
      expect(bin.value[0]!.deletedDateTime).toMatch(/\.\d{7}Z$/);
      expect(item).toMatchObject({ '@odata.type': '#microsoft.graph.application', id });
      expect(restored).toMatchObject({
        '@odata.context': `${tenant.url}/v1.0/$metadata#directoryObjects/$entity`,
        '@odata.type': '#microsoft.graph.application',
        id,
        deletedDateTime: null,
      });
      expect(back.uniqueName).toBe('old-app');
      expect(purged.status).toBe(204);
      expect(notRestorable.statusCode).toBe(404);
    });
  });

  describe('permissions', () => {
    test('when the caller holds no application permission, then every application call answers 403 Authorization_RequestDenied', async () => {
      const app = fixture.addApp('Billing');
      const reader = fixture.addCaller('Users only', ['User.Read.All']);
      await start();
      const client = clientFor(tenant, reader);

      const calls = [
        () => client.api('/applications').get(),
        () => client.api(`/applications/${String(app.data.id)}`).get(),
        () => client.api('/applications').post({ displayName: 'x' }),
      ];
      for (const call of calls) {
        const error = await failure(call());
        expect(error.statusCode).toBe(403);
        expect(error.body.error).toMatchObject({
          code: 'Authorization_RequestDenied',
          message: 'Insufficient privileges to complete the operation.',
        });
      }
    });

    test('when a reader (Application.Read.All or Directory.Read.All) writes, then Graph answers 403; reads succeed', async () => {
      const app = fixture.addApp('Billing');
      const reader = fixture.addCaller('Reader', ['Application.Read.All']);
      const directoryReader = fixture.addCaller('Directory reader', ['Directory.Read.All']);
      await start();

      expect(
        (
          (await clientFor(tenant, directoryReader)
            .api(`/applications/${String(app.data.id)}`)
            .get()) as App
        ).id,
      ).toBe(app.data.id);
      expect(
        (
          await failure(
            clientFor(tenant, reader)
              .api(`/applications/${String(app.data.id)}`)
              .patch({ displayName: 'y' }),
          )
        ).statusCode,
      ).toBe(403);
      expect(
        (await failure(clientFor(tenant, reader).api('/applications').post({ displayName: 'y' }))).statusCode,
      ).toBe(403);
    });

    test('when an OwnedBy caller creates an app, then it owns it and may manage it, but not apps it does not own', async () => {
      const foreign = fixture.addApp('Someone else');
      const bot = fixture.addCaller('Registrar', ['Application.ReadWrite.OwnedBy']);
      await start();
      const client = clientFor(tenant, bot);

      const created = (await client.api('/applications').post({ displayName: 'Provisioned' })) as App;
      await client.api(`/applications/${created.id}`).patch({ notes: 'managed by Registrar' });
      const password = (await client.api(`/applications(appId='${created.appId}')/addPassword`).post({})) as {
        keyId: string;
      };
      const list = (await client.api('/applications').get()) as { value: App[] };
      const readForeign = await failure(client.api(`/applications/${String(foreign.data.id)}`).get());
      const patchForeign = await failure(client.api(`/applications/${String(foreign.data.id)}`).patch({ notes: 'x' }));
      const passwordForeign = await failure(
        client.api(`/applications/${String(foreign.data.id)}/addPassword`).post({}),
      );

      expect(fixture.data.applications[created.id]!.owners).toEqual([bot.spId]);
      expect(password.keyId).toMatch(GUID);
      expect(list.value.length).toBeGreaterThan(2);
      expect([readForeign.statusCode, patchForeign.statusCode, passwordForeign.statusCode]).toEqual([403, 403, 403]);
      expect(foreign.data.notes).toBeUndefined();
    });
  });

  describe('replication', () => {
    test('when an app was just created, then the 201 carries it but other calls answer 404 until it has replicated', async () => {
      await start();
      tenant.faults.configure({ replicationDelayMs: 30_000 });

      const created = (await graph.api('/applications').post({ displayName: 'Fresh' })) as App;
      const early = await failure(graph.api(`/applications/${created.id}`).get());
      const earlyPassword = await failure(graph.api(`/applications/${created.id}/addPassword`).post({}));
      const earlyList = (await graph.api('/applications').filter(`id eq '${created.id}'`).get()) as { value: App[] };
      clock.advance(31_000);
      const later = (await graph.api(`/applications/${created.id}`).get()) as App;

      expect(created.displayName).toBe('Fresh');
      expect(early.body.error?.code).toBe('Request_ResourceNotFound');
      expect(earlyPassword.statusCode).toBe(404);
      expect(earlyList.value).toEqual([]);
      expect(later.id).toBe(created.id);
    });
  });

  describe('passwords', () => {
    test('when a password is added, then the secret is shown once, in Entra format, and works at the token endpoint', async () => {
      const app = fixture.addApp('Billing');
      await start();

      const response = await raw(graph, `/applications/${String(app.data.id)}/addPassword`, 'POST', {
        passwordCredential: { displayName: 'rotation', endDateTime: '2030-01-01T00:00:00Z' },
      });
      const credential = (await response.json()) as Record<string, string>;
      const credentialObject = new ClientSecretCredential(
        tenant.tenantId,
        String(app.data.appId),
        credential.secretText!,
        { authorityHost: tenant.url, disableInstanceDiscovery: true },
      );
      const token = await credentialObject.getToken(`${tenant.url}/.default`);

      expect(response.status).toBe(200);
      expect(credential).toMatchObject({
        '@odata.context': `${tenant.url}/v1.0/$metadata#microsoft.graph.passwordCredential`,
        customKeyIdentifier: null,
        displayName: 'rotation',
        endDateTime: '2030-01-01T00:00:00Z',
        hint: credential.secretText!.slice(0, 3),
      });
      expect(credential.secretText).toMatch(/^[A-Za-z0-9_.~-]{3}8Q~[A-Za-z0-9_.~-]{34}$/);
      expect(credential.keyId).toMatch(GUID);
      expect(credential.startDateTime).toMatch(/\.\d{7}Z$/);
      expect(token.token).toBeTruthy();
    });

    test('when no dates are given, then the password lasts two years from now', async () => {
      const app = fixture.addApp('Billing');
      await start();

      const credential = (await graph.api(`/applications/${String(app.data.id)}/addPassword`).post({})) as Record<
        string,
        string
      >;

      const years =
        (Date.parse(credential.endDateTime!) - Date.parse(credential.startDateTime!)) / (365.25 * 86_400_000);
      expect(years).toBeCloseTo(2, 1);
      expect(credential.displayName).toBeNull();
    });

    test('when the credential delay is on, then a new secret is refused until it has propagated', async () => {
      const app = fixture.addApp('Billing');
      await start();
      tenant.faults.configure({ credentialDelayMs: 60_000 });

      const credential = (await graph.api(`/applications/${String(app.data.id)}/addPassword`).post({})) as Record<
        string,
        string
      >;
      const early = new ClientSecretCredential(tenant.tenantId, String(app.data.appId), credential.secretText!, {
        authorityHost: tenant.url,
        disableInstanceDiscovery: true,
      });
      await expect(early.getToken(`${tenant.url}/.default`)).rejects.toThrow(/AADSTS7000215/);
      clock.advance(61_000);
      const later = new ClientSecretCredential(tenant.tenantId, String(app.data.appId), credential.secretText!, {
        authorityHost: tenant.url,
        disableInstanceDiscovery: true,
      });

      await expect(later.getToken(`${tenant.url}/.default`)).resolves.toMatchObject({ token: expect.any(String) });
    });

    test('when a password was added, then its secretText never appears again: not in GET, list, delta, or the saved state', async () => {
      const app = fixture.addApp('Billing');
      await start();

      const { secretText, keyId } = (await graph
        .api(`/applications/${String(app.data.id)}/addPassword`)
        .post({})) as Record<string, string>;
      const reads = [
        await graph.api(`/applications/${String(app.data.id)}`).get(),
        await graph
          .api(`/applications/${String(app.data.id)}`)
          .select('passwordCredentials')
          .get(),
        await graph.api('/applications').get(),
        await graph.api('/applications/delta').get(),
      ];

      for (const read of reads) expect(JSON.stringify(read)).not.toContain(secretText);
      expect(JSON.stringify(tenant.state().toJSON())).not.toContain(secretText);
      expect(JSON.stringify(reads[0])).toContain(keyId);
      expect(
        (reads[0] as { passwordCredentials: Array<Record<string, unknown>> }).passwordCredentials[0],
      ).toMatchObject({ keyId, secretText: null, hint: secretText!.slice(0, 3) });
    });

    test('when a password is removed, then Graph answers 204, the secret stops working, and an unknown keyId is an error', async () => {
      const app = fixture.addApp('Billing');
      await start();
      const { secretText, keyId } = (await graph
        .api(`/applications/${String(app.data.id)}/addPassword`)
        .post({})) as Record<string, string>;

      const removed = await raw(graph, `/applications(appId='${String(app.data.appId)}')/removePassword`, 'POST', {
        keyId,
      });
      const again = await failure(graph.api(`/applications/${String(app.data.id)}/removePassword`).post({ keyId }));
      const credential = new ClientSecretCredential(tenant.tenantId, String(app.data.appId), secretText!, {
        authorityHost: tenant.url,
        disableInstanceDiscovery: true,
      });

      expect(removed.status).toBe(204);
      expect(again.statusCode).toBe(404);
      expect(app.data.passwordCredentials).toEqual([]);
      await expect(credential.getToken(`${tenant.url}/.default`)).rejects.toThrow(/AADSTS7000215/);
    });
  });

  describe('certificates', () => {
    test('when a certificate is uploaded by PATCH keyCredentials, then Graph derives its thumbprint and dates and shows the key only under $select', async () => {
      const app = fixture.addApp('Billing');
      const notBefore = new Date('2026-01-01T00:00:00Z');
      const certificate = await testCertificate('registrar-test', notBefore, new Date('2027-01-01T00:00:00Z'));
      await start();

      const patched = await raw(graph, `/applications/${String(app.data.id)}`, 'PATCH', {
        keyCredentials: [{ type: 'AsymmetricX509Cert', usage: 'Verify', key: certificate.der }],
      });
      const plain = (await graph.api(`/applications/${String(app.data.id)}`).get()) as {
        keyCredentials: Array<Record<string, unknown>>;
      };
      const selected = (await graph
        .api(`/applications/${String(app.data.id)}`)
        .select('keyCredentials')
        .get()) as { keyCredentials: Array<Record<string, unknown>> };
      // Sending back what a plain GET returned (key: null) keeps the certificate.
      await graph.api(`/applications/${String(app.data.id)}`).patch({ keyCredentials: plain.keyCredentials });
      const kept = (await graph
        .api(`/applications/${String(app.data.id)}`)
        .select('keyCredentials')
        .get()) as { keyCredentials: Array<Record<string, unknown>> };

      expect(patched.status).toBe(204);
      expect(plain.keyCredentials[0]).toMatchObject({
        customKeyIdentifier: certificate.thumbprint,
        displayName: 'CN=registrar-test',
        startDateTime: '2026-01-01T00:00:00Z',
        endDateTime: '2027-01-01T00:00:00Z',
        type: 'AsymmetricX509Cert',
        usage: 'Verify',
        key: null,
      });
      expect(plain.keyCredentials[0]!.keyId).toMatch(GUID);
      expect(selected.keyCredentials[0]!.key).toBe(certificate.der);
      expect(kept.keyCredentials[0]!.key).toBe(certificate.der);
    });

    test('when the key is not a certificate, then Graph answers 400 and the keys are unchanged', async () => {
      const app = fixture.addApp('Billing');
      await start();

      const error = await failure(
        graph
          .api(`/applications/${String(app.data.id)}`)
          .patch({ keyCredentials: [{ type: 'AsymmetricX509Cert', usage: 'Verify', key: 'bm90IGEgY2VydA==' }] }),
      );

      expect([error.statusCode, error.code]).toEqual([400, 'Request_BadRequest']);
      expect(app.data.keyCredentials).toEqual([]);
    });
  });
});
