/**
 * A `federate <app>` request in the lifecycle: it starts approved for an owner and submitted otherwise, needs the one
 * federatedCredential step on the existing app, and is delivered as a federated credential with nothing to reveal.
 */
import { parseFederatedWorkload } from '../../../src/domain/federated-credential';
import {
  createFederation,
  nextStep,
  registrarActor,
  stepsFor,
  toAppSpec,
  transition,
  type AppRequest,
  type NewFederation,
} from '../../../src/domain/request';
import { later, megan, requester, submittedAt } from './fixtures';

const target = {
  applicationObjectId: 'a1e5c0de-0000-4000-8000-000000000103',
  appId: 'a1e5c0de-0000-4000-9000-000000000203',
  appName: 'Expense Bot',
  askedAs: 'owner' as const,
};

function credential() {
  const parsed = parseFederatedWorkload({
    federatedWorkload: 'github',
    githubOrganization: 'contoso',
    githubRepository: 'expenses',
    githubEntity: 'branch',
    githubEntityName: 'main',
  });
  if (!parsed.ok) throw new Error('the fixture workload is refused');
  return { kind: 'federated' as const, workload: parsed.workload, credential: parsed.credential };
}

function federation(overrides: Partial<NewFederation> = {}) {
  return createFederation({
    id: 'FED00001',
    requester: { ...requester, conversationId: 'a:personal' },
    target,
    credential: credential(),
    risk: { level: 'low', items: [], notes: [] },
    approvalsRequired: 2,
    pendingTtlDays: 14,
    now: submittedAt,
    ...overrides,
  });
}

describe('createFederation', () => {
  test('when an owner asks and no approval is needed, then it starts approved with one step left, on the existing app', () => {
    const { request, audit } = federation();

    expect(request).toMatchObject({
      kind: 'federation',
      status: 'approved',
      approvalsRequired: 1,
      federation: target,
      provisioning: { application: { applicationObjectId: target.applicationObjectId, appId: target.appId } },
    });
    expect(stepsFor(request)).toEqual(['federatedCredential']);
    expect(nextStep(request)).toBe('federatedCredential');
    expect(audit).toMatchObject({
      event: 'submit',
      from: null,
      to: 'approved',
      objectIds: [target.applicationObjectId],
    });
    expect(audit.detail).toContain('as its owner; no approval needed');
    expect(audit.detail).toContain('repo:contoso/expenses:ref:refs/heads/main');
  });

  test('when the approvers decide, then it starts submitted with their count, and the purpose says why', () => {
    const { request, audit } = federation({
      target: { ...target, askedAs: 'approval' },
      approvalReason: 'the person asking does not own the app in Entra ID',
    });

    expect(request.status).toBe('submitted');
    expect(request.approvalsRequired).toBe(2);
    expect(request.form.purpose).toContain('Approvers decide because the person asking does not own the app');
    expect(audit.detail).toContain('2 approvals needed');
  });

  test('when it is provisioned and delivered, then the spec carries only the federated credential and the delivery names it', () => {
    const { request } = federation();
    const spec = toAppSpec(request);
    expect(spec.federatedCredential).toEqual(credential().credential);
    expect(spec.certificate).toBeUndefined();

    const moved = (r: AppRequest, event: Parameters<typeof transition>[1]) => {
      const result = transition(r, event, registrarActor, later);
      if (!result.changed) throw new Error(result.message);
      return result.request;
    };
    let current = moved(request, { type: 'startProvisioning' });
    expect(() => moved(current, { type: 'succeed' })).toThrow(
      expect.objectContaining({ userMessage: expect.stringMatching(/federatedCredential step is not done/) }),
    );
    current = moved(current, {
      type: 'completeStep',
      result: { step: 'federatedCredential', credentialId: 'fic-1', name: spec.federatedCredential!.name },
    });
    current = moved(current, { type: 'succeed' });
    expect(current.status).toBe('provisioned');
    current = moved(current, {
      type: 'deliver',
      delivery: {
        kind: 'federated',
        credentialId: 'fic-1',
        issuer: spec.federatedCredential!.issuer,
        subject: spec.federatedCredential!.subject,
        deliveredAt: later.toISOString(),
      },
    });
    expect(current).toMatchObject({ status: 'delivered', delivery: { kind: 'federated', credentialId: 'fic-1' } });
  });

  test('when the requester approves their own federation, then it is refused', () => {
    const { request } = federation({
      approvalReason: 'every new credential for an existing app goes to the approvers',
    });

    expect(() => transition(request, { type: 'approve' }, requester, later)).toThrow(/someone else must approve/);
    expect(transition(request, { type: 'approve' }, megan, later)).toMatchObject({ changed: true });
  });
});
