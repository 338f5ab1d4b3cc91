/**
 * The local tenant's checks of mobile and desktop apps and personal Microsoft accounts, as Graph makes them:
 * publicClient.redirectUris (https://learn.microsoft.com/graph/api/resources/publicclientapplication,
 * https://learn.microsoft.com/entra/identity-platform/reply-url), isFallbackPublicClient, and
 * api.requestedAccessTokenVersion, which must be 2 for a personal-accounts audience
 * (https://learn.microsoft.com/graph/api/resources/apiapplication,
 * https://learn.microsoft.com/entra/identity-platform/supported-accounts-validation).
 */
import type { Client } from '@microsoft/microsoft-graph-client';
import type { RunningTenant } from '../../src/local/tenant/server';
import {
  ApplicationsFixture,
  type Caller,
  clientFor,
  failure,
  raw,
  startApplicationsTenant,
  TestClock,
} from '../helpers/tenant-fixtures';

type App = Record<string, unknown> & { id: string };
const hash = encodeURIComponent(Buffer.alloc(20, 0x5a).toString('base64'));
const nativeUris = [
  'msauth.com.contoso.notes://auth',
  `msauth://com.contoso.notes/${hash}`,
  'ms-appx-web://microsoft.aad.brokerplugin/3fa85f64-5717-4562-b3fc-2c963f66afa6',
  'com.contoso.notes:/oauth2redirect',
  'https://login.microsoftonline.com/common/oauth2/nativeclient',
  'http://localhost',
  'http://127.0.0.1:8400/callback',
];

describe('the local tenant: mobile and desktop apps and personal accounts', () => {
  let tenant: RunningTenant;
  let fixture: ApplicationsFixture;
  let admin: Caller;
  let graph: Client;

  beforeEach(async () => {
    fixture = new ApplicationsFixture();
    admin = fixture.addCaller('Admin tool', ['Application.ReadWrite.All']);
    tenant = await startApplicationsTenant(fixture, new TestClock());
    graph = clientFor(tenant, admin);
  });

  afterEach(async () => {
    await tenant.stop();
  });

  const count = async () => ((await graph.api('/applications').select(['id']).get()) as { value: App[] }).value.length;

  test('when a mobile and desktop app is created with native redirect URIs and public client flows, then Graph keeps them as given', async () => {
    const created = (await graph.api('/applications').post({
      displayName: 'Notes',
      publicClient: { redirectUris: nativeUris },
      isFallbackPublicClient: true,
    })) as App;
    const read = (await graph
      .api(`/applications/${created.id}`)
      .select(['publicClient', 'isFallbackPublicClient'])
      .get()) as App;

    expect(read).toMatchObject({ publicClient: { redirectUris: nativeUris }, isFallbackPublicClient: true });
  });

  test.each([
    ['plain http to another host', 'http://notes.contoso.com/auth'],
    ['a wildcard', 'com.contoso.notes://*'],
    ['a fragment', 'com.contoso.notes://auth#done'],
    ['a character Entra refuses', "com.contoso.notes://auth'x"],
    ['no scheme', 'notes-callback'],
    ['257 characters', `com.contoso.notes://${'a'.repeat(237)}`],
  ])('when publicClient.redirectUris holds %s, then Graph answers 400 and nothing is written', async (_label, uri) => {
    const before = await count();
    const error = await failure(
      graph.api('/applications').post({ displayName: 'Notes', publicClient: { redirectUris: [uri] } }),
    );

    expect(error.statusCode).toBe(400);
    expect(error.body.error).toMatchObject({
      code: 'Request_BadRequest',
      message: "Invalid value specified for property 'publicClient' of resource 'Application'.",
    });
    expect(await count()).toBe(before);
  });

  test('when publicClient.redirectUris or isFallbackPublicClient has the wrong JSON shape, then the OData reader refuses it', async () => {
    const notArray = await failure(
      graph.api('/applications').post({ displayName: 'Notes', publicClient: { redirectUris: 'http://localhost' } }),
    );
    const notString = await failure(
      graph.api('/applications').post({ displayName: 'Notes', publicClient: { redirectUris: [42] } }),
    );
    const notBoolean = await failure(
      graph.api('/applications').post({ displayName: 'Notes', isFallbackPublicClient: 'yes' }),
    );

    expect(notArray.body.error?.message).toBe(
      "An unexpected 'PrimitiveValue' node was found when reading from the JSON reader. A 'StartArray' node was expected.",
    );
    expect(notString.body.error?.message).toMatch(
      /^Cannot convert a primitive value to the expected type 'Edm.String'/,
    );
    expect(notBoolean.body.error?.message).toMatch(
      /^Cannot convert a primitive value to the expected type 'Edm.Boolean'/,
    );
    expect([notArray.statusCode, notString.statusCode, notBoolean.statusCode]).toEqual([400, 400, 400]);
  });

  test('when personal accounts are asked for without v2 access tokens, then Graph answers 400 InvalidAccessTokenVersion; with them, it accepts', async () => {
    const without = await failure(
      graph.api('/applications').post({ displayName: 'Notes', signInAudience: 'AzureADandPersonalMicrosoftAccount' }),
    );
    const v1 = await failure(
      graph.api('/applications').post({
        displayName: 'Notes',
        signInAudience: 'AzureADandPersonalMicrosoftAccount',
        api: { requestedAccessTokenVersion: 1 },
      }),
    );
    const created = (await graph.api('/applications').post({
      displayName: 'Notes',
      signInAudience: 'AzureADandPersonalMicrosoftAccount',
      api: { requestedAccessTokenVersion: 2 },
    })) as App;

    for (const error of [without, v1]) {
      expect(error.statusCode).toBe(400);
      expect(error.body.error).toMatchObject({
        code: 'InvalidAccessTokenVersion',
        message: 'One or more properties contains invalid values.',
      });
    }
    expect(created).toMatchObject({
      signInAudience: 'AzureADandPersonalMicrosoftAccount',
      api: expect.objectContaining({ requestedAccessTokenVersion: 2 }),
    });
  });

  test('when an existing app is patched to personal accounts, then Graph judges the result: it needs v2 tokens set before or with it, and keeps them', async () => {
    const app = (await graph.api('/applications').post({ displayName: 'Notes' })) as App;
    const path = `/applications/${app.id}`;

    const alone = await failure(graph.api(path).patch({ signInAudience: 'AzureADandPersonalMicrosoftAccount' }));
    const together = await raw(graph, path, 'PATCH', {
      signInAudience: 'AzureADandPersonalMicrosoftAccount',
      api: { requestedAccessTokenVersion: 2 },
    });
    const lower = await failure(graph.api(path).patch({ api: { requestedAccessTokenVersion: null } }));
    const read = (await graph.api(path).select(['signInAudience', 'api']).get()) as App;

    expect(alone.code).toBe('InvalidAccessTokenVersion');
    expect(together.status).toBe(204);
    expect(lower.code).toBe('InvalidAccessTokenVersion');
    expect(read).toMatchObject({
      signInAudience: 'AzureADandPersonalMicrosoftAccount',
      api: expect.objectContaining({ requestedAccessTokenVersion: 2 }),
    });
  });

  test('when requestedAccessTokenVersion is not 1, 2 or null, then Graph answers 400', async () => {
    const three = await failure(
      graph.api('/applications').post({ displayName: 'Notes', api: { requestedAccessTokenVersion: 3 } }),
    );
    const text = await failure(
      graph.api('/applications').post({ displayName: 'Notes', api: { requestedAccessTokenVersion: '2' } }),
    );

    expect([three.statusCode, three.body.error?.message]).toEqual([
      400,
      "Invalid value specified for property 'api' of resource 'Application'.",
    ]);
    expect(text.body.error?.message).toMatch(/^Cannot convert a primitive value to the expected type 'Edm.Int32'/);
  });

  test('when personal accounts sign in, then a query string in a redirect URI and more than 100 redirect URIs are refused', async () => {
    const personal = { signInAudience: 'AzureADandPersonalMicrosoftAccount', api: { requestedAccessTokenVersion: 2 } };
    const query = await failure(
      graph
        .api('/applications')
        .post({ displayName: 'Notes', ...personal, publicClient: { redirectUris: ['http://localhost/?x=1'] } }),
    );
    const many = Array.from({ length: 101 }, (_, i) => `com.contoso.notes://auth/${i}`);
    const tooMany = await failure(
      graph.api('/applications').post({ displayName: 'Notes', ...personal, publicClient: { redirectUris: many } }),
    );
    const workOnly = await raw(graph, '/applications', 'POST', {
      displayName: 'Notes',
      publicClient: { redirectUris: ['http://localhost/?x=1', ...many] },
    });

    expect([query.statusCode, tooMany.statusCode]).toEqual([400, 400]);
    expect(workOnly.status).toBe(201);
  });
});
