/**
 * Provisioning never adopts an application it did not create (issue 11): GraphProvisioner against the local tenant
 * over HTTPS. An application that already holds a request's uniqueName (another deployment's, an old table's, or
 * anyone's who set it) but lacks that request's marker tag is refused with a clear message and left as it was; the
 * request's own application, found again after a lost answer or a restart, is adopted.
 */
import { GraphCaller } from '../../../src/adapters/graph/graph-caller';
import { GraphProvisioner } from '../../../src/adapters/graph/graph-provisioner';
import { type AppSpec, markerTag, uniqueNameFor } from '../../../src/domain/app-spec';
import { RegistrarError } from '../../../src/domain/errors';
import { createLogger } from '../../../src/lib/logger';
import { alex } from '../../../src/local/demo-identities';
import { allRoutes } from '../../../src/local/tenant/routes/index';
import { demoTenant } from '../../../src/local/tenant/seed';
import type { RunningTenant } from '../../../src/local/tenant/server';
import { registrarConnection, startTestTenant } from '../../helpers/tenant';

jest.setTimeout(60_000);

const spec = (requestId: string, marker: string): AppSpec => ({
  requestId,
  marker,
  displayName: 'Low risk reader',
  purpose: 'Reads the signed-in user profile.',
  signInAudience: 'AzureADMyOrg',
  platform: 'none',
  redirectUris: [],
  permissions: [],
  ownerIds: [alex.aadObjectId],
});

describe('provisioning adopts only its own applications', () => {
  let tenant: RunningTenant;
  let provisioner: GraphProvisioner;

  beforeEach(async () => {
    tenant = await startTestTenant({ data: demoTenant().data, routes: allRoutes });
    provisioner = new GraphProvisioner({
      graph: new GraphCaller({
        connection: registrarConnection(tenant),
        baseDelayMs: 50,
        maxDelayMs: 500,
        stepTimeoutMs: 20_000,
      }),
      logger: createLogger({ level: 'silent' }),
    });
  });

  afterEach(async () => {
    await tenant.stop();
  });

  const byUniqueName = (uniqueName: string) =>
    Object.values(tenant.state().data.applications).filter((a) => a.data.uniqueName === uniqueName);

  test('when an application from elsewhere already holds the uniqueName, then provisioning fails with why, and that application is untouched', async () => {
    const uniqueName = uniqueNameFor('ZZZZZZZZ');
    // Another Registrar deployment's application for "its" request ZZZZZZZZ: the same uniqueName and request tag.
    await registrarConnection(tenant)
      .client.api(`/applications(uniqueName='${uniqueName}')`)
      .header('Prefer', 'create-if-missing')
      .patch({
        displayName: 'Finance Admin Tool',
        tags: ['registrar', 'registrar-request:ZZZZZZZZ'],
        notes: 'Owned elsewhere.',
      });
    const before = structuredClone(byUniqueName(uniqueName)[0]!.data);

    const failure = await provisioner
      .upsertApplication(spec('ZZZZZZZZ', 'c0ffee00c0ffee00c0ffee00c0ffee00'), { requestId: 'ZZZZZZZZ' })
      .then(
        () => undefined,
        (err: unknown) => err,
      );

    expect(failure).toBeInstanceOf(RegistrarError);
    expect((failure as RegistrarError).code).toBe('conflict');
    expect((failure as RegistrarError).userMessage).toMatch(
      /already exists in Entra ID, and Registrar did not create it for this request/,
    );
    const after = byUniqueName(uniqueName);
    expect(after).toHaveLength(1);
    expect(after[0]!.data).toEqual(before);
  });

  test('when provisioning runs again for its own request, then it finds its application by the marker and adopts it', async () => {
    const marker = '0123456789abcdef0123456789abcdef';
    const first = await provisioner.upsertApplication(spec('YYYYYYYY', marker), { requestId: 'YYYYYYYY' });
    const again = await provisioner.upsertApplication(spec('YYYYYYYY', marker), { requestId: 'YYYYYYYY' });

    expect(first.created).toBe(true);
    expect(again).toMatchObject({ applicationObjectId: first.applicationObjectId, appId: first.appId, created: false });
    expect(byUniqueName(uniqueNameFor('YYYYYYYY'))[0]!.data.tags).toContain(markerTag(marker));
  });
});
