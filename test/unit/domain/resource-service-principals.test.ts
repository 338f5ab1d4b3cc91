import {
  IllegalTransition,
  createRequest,
  pendingPermissions,
  stepsFor,
  toAppSpec,
  transition,
} from '../../../src/domain/request';
import type { AppRequest } from '../../../src/domain/request';
import { assessRisk } from '../../../src/domain/risk';
import { form, graphPermission, later, megan, requester, submittedAt } from './fixtures';

const partnerCenter = { appId: 'fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd', displayName: 'Microsoft Partner Center' };
const registrar = { aadObjectId: 'registrar', name: 'Registrar' };

function provisioning(): AppRequest {
  const f = form({
    otherPermissions: [{ resourceAppId: partnerCenter.appId, value: 'user_impersonation', type: 'Scope' }],
  });
  const { request } = createRequest({
    id: 'F3K92M7Q',
    requester,
    form: f,
    permissions: f.graphPermissions,
    risk: assessRisk({ permissions: f.graphPermissions, signInAudience: f.signInAudience }),
    approvalsRequired: 1,
    pendingTtlDays: 7,
    now: submittedAt,
    resourceServicePrincipals: [partnerCenter],
  });
  const approved = transition(request, { type: 'approve' }, megan, later);
  const started = transition(approved.request, { type: 'startProvisioning' }, registrar, later);
  return started.request;
}

describe('a request that creates the service principal of an API', () => {
  test('when the tenant lacks the API, then creating it is the first step, and the application waits for it', () => {
    const request = provisioning();
    expect(stepsFor(request)).toEqual(['resources', 'application', 'owners', 'servicePrincipal', 'consent']);
    expect(() =>
      transition(
        request,
        { type: 'completeStep', result: { step: 'application', applicationObjectId: 'a', appId: 'b' } },
        registrar,
        later,
      ),
    ).toThrow(IllegalTransition);
  });

  test('before the step, its permissions are shown by name; after it, the resolved ones go into what Graph is asked to create', () => {
    const request = provisioning();
    expect(pendingPermissions(request)).toEqual([
      expect.objectContaining({ resourceDisplayName: 'Microsoft Partner Center', value: 'user_impersonation', id: '' }),
    ]);
    expect(toAppSpec(request).permissions.map((p) => p.value)).toEqual(['User.Read.All']);

    const resolved = {
      ...graphPermission('User.Read', 'Scope'),
      resourceAppId: partnerCenter.appId,
      resourceDisplayName: partnerCenter.displayName,
      id: '1cebfa2a-fb4d-419e-b5f9-839b4383e05a',
      value: 'user_impersonation',
    };
    const done = transition(
      request,
      { type: 'completeStep', result: { step: 'resources', servicePrincipalIds: ['sp-1'], permissions: [resolved] } },
      registrar,
      later,
    );
    if (!done.changed) throw new Error('the step was not recorded');
    expect(done.audit.objectIds).toEqual(['sp-1']);
    expect(toAppSpec(done.request).permissions.map((p) => [p.value, p.id])).toEqual([
      ['User.Read.All', graphPermission('User.Read.All', 'Role').id],
      ['user_impersonation', '1cebfa2a-fb4d-419e-b5f9-839b4383e05a'],
    ]);
    expect(pendingPermissions(done.request)).toEqual([resolved]);
  });
});
