/**
 * A request for a Microsoft API whose service principal the tenant lacks (Partner Center): the provisioning service
 * creates it as the request's first step, against the real GraphProvisioner and the local tenant. The step is safe
 * to repeat like the others (a process that dies after Graph made the service principal, before the checkpoint,
 * finds it on Retry and makes no second one), and a permission the new service principal does not declare fails the
 * request with its name before any application exists.
 */
import type { AppRequest } from '../../../src/domain/request';
import { PARTNER_CENTER_APP_ID } from '../../../src/local/tenant/first-party-apps';
import { demoTenant } from '../../../src/local/tenant/seed';
import { loadRequest } from '../../../src/services/request-records';
import {
  approver,
  interceptedProvisioner,
  inventory,
  startHarness,
  typicalForm,
  type Harness,
} from '../../helpers/provisioning';

jest.setTimeout(120_000);

const PARTNER_CENTER_SCOPE_ID = '1cebfa2a-fb4d-419e-b5f9-839b4383e05a';

let h: Harness;

beforeEach(async () => {
  h = await startHarness({ data: demoTenant(new Date(), { withoutServicePrincipals: [PARTNER_CENTER_APP_ID] }).data });
});

afterEach(async () => {
  await h.cleanup();
});

const stored = async (requestId: string): Promise<AppRequest> =>
  (await loadRequest(h.testStore.store, requestId)).value;
const partnerCenterSps = () =>
  Object.values(h.tenant.state().data.servicePrincipals).filter((sp) => sp.data.appId === PARTNER_CENTER_APP_ID);

test('when the process dies after Graph created the service principal and before the checkpoint, then Retry finds it and creates no second one', async () => {
  let dieOnce = true;
  const provisioner = interceptedProvisioner(h.provisioner(), (method, phase) => {
    if (method === 'ensureResourceServicePrincipal' && phase === 'after' && dieOnce) {
      dieOnce = false;
      throw new Error('process died');
    }
  });
  const request = await h.approved({
    ...typicalForm(),
    otherPermissions: 'Partner Center user_impersonation delegated',
  });
  expect(request.resourceServicePrincipals).toEqual([
    { appId: PARTNER_CENTER_APP_ID, displayName: 'Microsoft Partner Center' },
  ]);

  const first = h.service({ provisioner });
  first.start(request.id);
  await first.idle();
  expect((await stored(request.id)).status).toBe('failed');
  expect(partnerCenterSps()).toHaveLength(1);
  expect(inventory(h.tenant, request.id).applications).toBe(0);

  // A new process: a new provisioner, with nothing cached.
  const second = h.service({ provisioner: h.provisioner() });
  await second.retry(approver, request.id);
  await second.idle();

  const saved = await stored(request.id);
  expect(saved.status).toBe('provisioned');
  expect(partnerCenterSps()).toHaveLength(1);
  expect(h.tenant.counters.snapshot()['POST /servicePrincipals']).toBe(1);
  const partnerCenterId = String(partnerCenterSps()[0]!.data.id);
  expect(saved.provisioning.resources).toMatchObject({
    servicePrincipalIds: [partnerCenterId],
    permissions: [expect.objectContaining({ id: PARTNER_CENTER_SCOPE_ID, value: 'user_impersonation', type: 'Scope' })],
  });
  const found = inventory(h.tenant, request.id);
  expect(found.grants).toEqual(
    expect.arrayContaining([
      expect.objectContaining({
        resourceId: partnerCenterId,
        consentType: 'AllPrincipals',
        scope: 'user_impersonation',
      }),
    ]),
  );
  const app = Object.values(h.tenant.state().data.applications).find((a) => a.data.id === found.applicationObjectId)!;
  expect(app.data.requiredResourceAccess).toEqual(
    expect.arrayContaining([
      { resourceAppId: PARTNER_CENTER_APP_ID, resourceAccess: [{ id: PARTNER_CENTER_SCOPE_ID, type: 'Scope' }] },
    ]),
  );
});

test('when the API does not declare the permission asked for, then the request fails naming it, and no application is created', async () => {
  const request = await h.approved({
    ...typicalForm(),
    otherPermissions: 'Microsoft Partner Center Invoices.ReadWrite.All application',
  });
  const service = h.service();
  service.start(request.id);
  await service.idle();

  const saved = await stored(request.id);
  expect(saved.status).toBe('failed');
  expect(saved.provisioning.lastError?.message).toMatch(
    /Invoices\.ReadWrite\.All \(application\) on Microsoft Partner Center is not a permission the API declares/,
  );
  expect(partnerCenterSps()).toHaveLength(1);
  expect(inventory(h.tenant, request.id).applications).toBe(0);
});
