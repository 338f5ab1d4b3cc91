import { NotAuthorized, RegistrarError } from '../../../src/domain/errors';
import {
  createRotation,
  IllegalTransition,
  registrarActor,
  transition,
  type AppRequest,
  type RequestEvent,
  type RequestEventType,
  type RequestStatus,
  type StepResult,
  type TransitionActor,
  type TransitionResult,
} from '../../../src/domain/request';
import { adele, later, megan, requester, submitted } from './fixtures';

const afterExpiry = new Date('2026-03-09T09:00:00Z');
const appStep: StepResult = { step: 'application', applicationObjectId: 'obj-1', appId: 'app-1' };
const allSteps: StepResult[] = [
  appStep,
  { step: 'owners', ownerIds: [requester.aadObjectId] },
  { step: 'servicePrincipal', servicePrincipalId: 'sp-1' },
  { step: 'consent', appRoleAssignmentIds: ['ara-1'], oauth2PermissionGrantIds: [] },
];
const secretDelivery = {
  kind: 'secret',
  keyId: 'key-1',
  hint: 'abc',
  endDateTime: '2026-09-01T00:00:00Z',
  revealedAt: '2026-03-04T00:00:00Z',
} as const;

/** The error `act` throws, to assert its user message (toThrow matches the operator's detail). */
function thrown(act: () => unknown): RegistrarError {
  try {
    act();
  } catch (err) {
    if (err instanceof RegistrarError) return err;
    throw err;
  }
  throw new Error('expected an error');
}

function moved(result: TransitionResult): AppRequest {
  if (!result.changed) throw new Error(`expected a change, got a repeat: ${result.message}`);
  return result.request;
}
const run = (request: AppRequest, steps: Array<[RequestEvent, TransitionActor, Date?]>) =>
  steps.reduce((r, [event, actor, at]) => moved(transition(r, event, actor, at ?? later)), request);

/** Requests in every status, each reached through the legal moves. */
const states: Record<string, () => AppRequest> = {
  submitted: () => submitted(),
  approved: () => run(submitted(), [[{ type: 'approve' }, megan]]),
  'provisioning (no step done)': () => run(states.approved!(), [[{ type: 'startProvisioning' }, registrarActor]]),
  'provisioning (every step done)': () =>
    run(
      states['provisioning (no step done)']!(),
      allSteps.map((result) => [{ type: 'completeStep', result }, registrarActor]),
    ),
  provisioned: () => run(states['provisioning (every step done)']!(), [[{ type: 'succeed' }, registrarActor]]),
  delivered: () => run(states.provisioned!(), [[{ type: 'deliver', delivery: secretDelivery }, requester]]),
  rejected: () => run(submitted(), [[{ type: 'reject', reason: 'Too broad' }, megan]]),
  expired: () => run(submitted(), [[{ type: 'expire' }, registrarActor, afterExpiry]]),
  cancelled: () => run(submitted(), [[{ type: 'cancel' }, requester]]),
  failed: () =>
    run(states['provisioning (no step done)']!(), [[{ type: 'fail', message: 'Graph said 403' }, registrarActor]]),
};

const events: Record<RequestEventType, [RequestEvent, TransitionActor, Date?]> = {
  approve: [{ type: 'approve' }, adele],
  reject: [{ type: 'reject', reason: 'Not needed' }, adele],
  cancel: [{ type: 'cancel' }, requester],
  expire: [{ type: 'expire' }, registrarActor, afterExpiry],
  startProvisioning: [{ type: 'startProvisioning' }, registrarActor],
  completeStep: [{ type: 'completeStep', result: appStep }, registrarActor],
  succeed: [{ type: 'succeed' }, registrarActor],
  fail: [{ type: 'fail', message: 'Graph said 500' }, registrarActor],
  retry: [{ type: 'retry' }, megan],
  deliver: [{ type: 'deliver', delivery: secretDelivery }, requester],
  expireDelivery: [
    { type: 'expireDelivery', ttlDays: 7 },
    registrarActor,
    new Date(later.getTime() + 8 * 24 * 60 * 60 * 1000),
  ],
  decideOld: [{ type: 'decideOld', removed: true }, requester],
};

type Outcome = RequestStatus | 'repeat' | 'illegal';
const _ = 'illegal' as const;
const R = 'repeat' as const;
// prettier-ignore
const expected: Record<string, [Outcome, Outcome, Outcome, Outcome, Outcome, Outcome, Outcome, Outcome, Outcome, Outcome, Outcome, Outcome]> = {
  //                                approve     reject      cancel       expire     startProv.      completeStep    succeed        fail      retry           deliver      expireDelivery  decideOld (not a rotation)
  submitted:                        ['approved', 'rejected', 'cancelled', 'expired', _,              _,              _,             _,        _,              _,           _,              _],
  approved:                         [R,          _,          _,           _,         'provisioning', _,              _,             _,        _,              _,           _,              _],
  'provisioning (no step done)':    [R,          _,          _,           _,         R,              'provisioning', _,             'failed', R,              _,           _,              _],
  'provisioning (every step done)': [R,          _,          _,           _,         R,              R,              'provisioned', 'failed', R,              _,           _,              _],
  provisioned:                      [R,          _,          _,           _,         R,              _,              R,             _,        _,              'delivered', 'expired',      _],
  delivered:                        [R,          _,          _,           _,         R,              _,              R,             _,        _,              R,           R,              _],
  rejected:                         [_,          R,          _,           _,         _,              _,              _,             _,        _,              _,           _,              _],
  expired:                          [_,          _,          _,           R,         _,              _,              _,             _,        _,              _,           R,              _],
  cancelled:                        [_,          _,          R,           _,         _,              _,              _,             _,        _,              _,           _,              _],
  failed:                           [R,          _,          _,           _,         _,              _,              _,             R,        'provisioning', _,           _,              _],
};
const eventOrder: RequestEventType[] = [
  'approve',
  'reject',
  'cancel',
  'expire',
  'startProvisioning',
  'completeStep',
  'succeed',
  'fail',
  'retry',
  'deliver',
  'expireDelivery',
  'decideOld',
];

const cases = Object.entries(expected).flatMap(([state, outcomes]) =>
  eventOrder.map((event, i) => ({ state, event, outcome: outcomes[i]! })),
);

describe('request lifecycle', () => {
  test.each(cases)(
    'when $event happens to a $state request, then the outcome is $outcome',
    ({ state, event, outcome }) => {
      const request = states[state]!();
      const [e, actor, at] = events[event];
      const act = () => transition(request, e, actor, at ?? later);

      if (outcome === 'illegal') {
        expect(act).toThrow(IllegalTransition);
        return;
      }
      const result = act();
      if (outcome === 'repeat') {
        expect(result).toEqual({ changed: false, request, message: expect.any(String) });
        return;
      }
      expect(result.changed).toBe(true);
      if (!result.changed) return;
      expect(result.request.status).toBe(outcome);
      expect(result.audit).toMatchObject({
        event,
        from: request.status,
        to: outcome,
        by: { aadObjectId: actor.aadObjectId, name: actor.name },
      });
      expect(result.audit.at).toBe((at ?? later).toISOString());
      expect(result.request.updatedAt).toBe((at ?? later).toISOString());
    },
  );

  test('when a move is illegal, then the error tells the person why and is a RegistrarError', () => {
    const error = thrown(() => transition(states.rejected!(), { type: 'approve' }, megan, later));

    expect(error).toBeInstanceOf(IllegalTransition);
    expect(error).toMatchObject({
      code: 'conflict',
      userMessage: 'Request F3K92M7Q is rejected, so it cannot be approved.',
    });
  });

  test('when a request needs two approvers, then the first approval keeps it waiting, the same person again is a repeat, and a second person approves it', () => {
    const first = transition(submitted({ approvalsRequired: 2 }), { type: 'approve' }, megan, later);
    expect(first).toMatchObject({
      changed: true,
      request: { status: 'submitted' },
      audit: { from: 'submitted', to: 'submitted', detail: 'approval 1 of 2' },
    });
    const once = moved(first);

    expect(
      transition(once, { type: 'approve' }, { ...megan, aadObjectId: megan.aadObjectId.toUpperCase() }, later),
    ).toMatchObject({
      changed: false,
      message: 'You have already approved request F3K92M7Q.',
    });
    const twice = transition(once, { type: 'approve' }, adele, later);
    expect(twice).toMatchObject({
      changed: true,
      request: { status: 'approved' },
      audit: { detail: 'approval 2 of 2' },
    });
    expect(moved(twice).approvals.map((a) => a.name)).toEqual(['Megan Bowen', 'Adele Vance']);
  });

  test.each([
    ['the requester approves', { type: 'approve' } as RequestEvent, requester, NotAuthorized],
    ['the requester rejects', { type: 'reject', reason: 'changed my mind' } as RequestEvent, requester, NotAuthorized],
    ['an approver cancels', { type: 'cancel' } as RequestEvent, megan, NotAuthorized],
    ['Registrar itself approves', { type: 'approve' } as RequestEvent, registrarActor, IllegalTransition],
  ])('when %s, then it is refused', (_name, event, actor, errorType) => {
    expect(() => transition(submitted(), event, actor, later)).toThrow(errorType);
  });

  test('when an undecided request is past its expiry, then it can no longer be approved but can be expired', () => {
    const request = submitted();

    expect(thrown(() => transition(request, { type: 'approve' }, megan, afterExpiry)).userMessage).toMatch(
      /expired on 2026-03-09/,
    );
    expect(thrown(() => transition(request, { type: 'expire' }, registrarActor, later)).userMessage).toMatch(
      /does not expire until/,
    );
    expect(transition(request, { type: 'expire' }, registrarActor, afterExpiry)).toMatchObject({
      changed: true,
      request: { status: 'expired' },
    });
  });

  test.each([
    ['empty', '   ', /The reason is required/],
    ['a markdown link', 'see [the policy](https://evil.example)', /markdown link/],
    ['a template expression', 'no ${$root.secret}', /\$\{\.\.\.\}/],
  ])('when a rejection reason is %s, then it is refused with a message', (_name, reason, message) => {
    expect(thrown(() => transition(submitted(), { type: 'reject', reason }, megan, later))).toMatchObject({
      code: 'invalid-input',
      userMessage: expect.stringMatching(message),
    });
  });

  test('when a request is rejected, then the rejection keeps who, when and why, and the audit says it', () => {
    const result = transition(
      submitted(),
      { type: 'reject', reason: '  Ask for User.ReadBasic.All instead.  ' },
      megan,
      later,
    );

    expect(result).toMatchObject({
      changed: true,
      request: {
        rejection: {
          by: { aadObjectId: megan.aadObjectId, name: 'Megan Bowen' },
          at: later.toISOString(),
          reason: 'Ask for User.ReadBasic.All instead.',
        },
      },
      audit: { conversationId: megan.conversationId, detail: 'rejected: Ask for User.ReadBasic.All instead.' },
    });
  });
});

describe('provisioning steps', () => {
  const provisioning = () => states['provisioning (no step done)']!();
  const step = (request: AppRequest, result: StepResult) =>
    transition(request, { type: 'completeStep', result }, registrarActor, later);

  test('when steps complete, then each is checkpointed with its ids and the audit names the objects created', () => {
    const result = step(provisioning(), appStep);

    expect(result).toMatchObject({
      changed: true,
      request: {
        provisioning: {
          application: { applicationObjectId: 'obj-1', appId: 'app-1', at: later.toISOString() },
          attempts: 1,
        },
      },
      audit: { objectIds: ['obj-1'], detail: 'application done (appId app-1)' },
    });
    const withSp = moved(step(moved(result), { step: 'servicePrincipal', servicePrincipalId: 'sp-1' }));
    const consent = step(withSp, {
      step: 'consent',
      appRoleAssignmentIds: ['ara-1', 'ara-2'],
      oauth2PermissionGrantIds: ['grant-1'],
    });
    expect(consent).toMatchObject({ changed: true, audit: { objectIds: ['ara-1', 'ara-2', 'grant-1'] } });
  });

  test.each([
    [
      'a step comes before the one it needs',
      (r: AppRequest) => step(r, { step: 'consent', appRoleAssignmentIds: [], oauth2PermissionGrantIds: [] }),
      /needs the servicePrincipal step first/,
    ],
    [
      'a step the request does not need is reported',
      (r: AppRequest) => step(r, { step: 'certificate', thumbprint: 'AB' }),
      /has no certificate step/,
    ],
    [
      'a done step is reported with other objects',
      (r: AppRequest) => step(moved(step(r, appStep)), { ...appStep, appId: 'app-2' }),
      /already done with other objects/,
    ],
    [
      'success is claimed with a step missing',
      (r: AppRequest) => transition(r, { type: 'succeed' }, registrarActor, later),
      /the application step is not done/,
    ],
  ])('when %s, then it is an illegal transition', (_name, act, message) => {
    const error = thrown(() => act(provisioning()));
    expect(error).toBeInstanceOf(IllegalTransition);
    expect(error.userMessage).toMatch(message);
  });

  test('when provisioning fails and an approver retries, then the error is kept, the attempt counted, and finished steps stay done', () => {
    const halfway = moved(step(provisioning(), appStep));
    const failed = moved(
      transition(
        halfway,
        { type: 'fail', message: 'Graph said 403 Authorization_RequestDenied' },
        registrarActor,
        later,
      ),
    );
    expect(failed.provisioning.lastError).toEqual({
      at: later.toISOString(),
      message: 'Graph said 403 Authorization_RequestDenied',
    });

    const retried = moved(transition(failed, { type: 'retry' }, megan, later));
    expect(retried).toMatchObject({
      status: 'provisioning',
      provisioning: { attempts: 2, application: { appId: 'app-1' } },
    });
  });

  test('when a credential of another kind than requested is delivered, then it is an illegal transition', () => {
    const request = states.provisioned!();

    const error = thrown(() =>
      transition(
        request,
        { type: 'deliver', delivery: { kind: 'none', deliveredAt: later.toISOString() } },
        registrarActor,
        later,
      ),
    );
    expect(error).toBeInstanceOf(IllegalTransition);
    expect(error.userMessage).toMatch(/asked for a client secret, not no credential/);
  });

  test('when the secret is delivered, then the request keeps its key id, hint and expiry and the audit names the key', () => {
    const result = transition(states.provisioned!(), { type: 'deliver', delivery: secretDelivery }, requester, later);

    expect(result).toMatchObject({
      changed: true,
      request: { status: 'delivered', delivery: secretDelivery },
      audit: { objectIds: ['key-1'] },
    });
  });
});

describe('the old credential of a rotation', () => {
  const old = {
    kind: 'secret' as const,
    keyId: 'b1e5c0de-0000-4000-9000-000000000001',
    hint: 'Ex3',
    endDateTime: '2026-11-30T08:00:00Z',
  };
  const rotation = (now = later) =>
    createRotation({
      id: '7K3M9Q2X',
      requester,
      target: {
        applicationObjectId: 'a1e5c0de-0000-4000-9000-000000000103',
        appId: 'a1e5c0de-0000-4000-9000-000000000203',
        appName: 'Expense Bot',
        old,
      },
      lifetimeDays: 180,
      risk: { level: 'low', items: [], notes: [] },
      approvalsRequired: 1,
      pendingTtlDays: 7,
      now,
    }).request;
  const delivered = () =>
    run(rotation(), [
      [{ type: 'startProvisioning' }, registrarActor],
      [{ type: 'succeed' }, registrarActor],
      [{ type: 'deliver', delivery: secretDelivery }, requester],
    ]);

  test('when the owner removes it, then the decision and the removed key are in the audit trail', () => {
    const result = transition(delivered(), { type: 'decideOld', removed: true }, requester, later);
    expect(result).toMatchObject({
      changed: true,
      request: {
        status: 'delivered',
        rotation: { oldDecision: { removed: true, by: { aadObjectId: requester.aadObjectId } } },
      },
      audit: {
        event: 'decideOld',
        from: 'delivered',
        to: 'delivered',
        detail: 'client secret Ex3… (expiring 2026-11-30) removed',
        objectIds: [old.keyId],
      },
    });
  });

  test('when the owner keeps it, then that is recorded too, and a second answer changes nothing', () => {
    const kept = moved(transition(delivered(), { type: 'decideOld', removed: false }, requester, later));
    expect(kept.rotation?.oldDecision?.removed).toBe(false);
    const again = transition(kept, { type: 'decideOld', removed: true }, requester, later);
    expect(again).toMatchObject({ changed: false, message: expect.stringMatching(/already kept/) });
  });

  test('when the new secret is not delivered yet, or Registrar itself decides, then it is refused', () => {
    expect(() => transition(rotation(), { type: 'decideOld', removed: true }, requester, later)).toThrow(
      IllegalTransition,
    );
    expect(() => transition(delivered(), { type: 'decideOld', removed: true }, registrarActor, later)).toThrow(
      IllegalTransition,
    );
  });
});
