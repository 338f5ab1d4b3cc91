import {
  approvalsNeeded,
  canApprove,
  canCancel,
  canReject,
  isExpired,
  parseApprovalsByRisk,
} from '../../../src/domain/approval-policy';
import { transition, type AppRequest } from '../../../src/domain/request';
import { adele, later, megan, requester, submitted } from './fixtures';

const afterExpiry = new Date('2026-03-09T09:00:00Z');
const approvedBy = (request: AppRequest, ...people: (typeof megan)[]) =>
  people.reduce((r, person) => {
    const result = transition(r, { type: 'approve' }, person, later);
    return result.changed ? result.request : r;
  }, request);
const rejected = () => {
  const result = transition(submitted(), { type: 'reject', reason: 'No' }, megan, later);
  if (!result.changed) throw new Error('expected a rejection');
  return result.request;
};

describe('who may approve', () => {
  test.each([
    ['an approver decides a waiting request', () => submitted(), megan, true, later, { allowed: true }],
    [
      'the requester, even an approver, approves their own request',
      () => submitted(),
      requester,
      true,
      later,
      { allowed: false, repeat: false, reason: 'own-request' },
    ],
    [
      'someone who is not an approver approves',
      () => submitted(),
      megan,
      false,
      later,
      { allowed: false, repeat: false, reason: 'not-an-approver' },
    ],
    [
      'a person with no Entra identity approves',
      () => submitted(),
      { id: '29:x', name: 'Anonymous' },
      true,
      later,
      { allowed: false, repeat: false, reason: 'no-identity' },
    ],
    [
      'an approver approves a second time while a second approver is awaited',
      () => approvedBy(submitted({ approvalsRequired: 2 }), megan),
      megan,
      true,
      later,
      { allowed: false, repeat: true, reason: 'already-approved' },
    ],
    [
      'the second approver approves',
      () => approvedBy(submitted({ approvalsRequired: 2 }), megan),
      adele,
      true,
      later,
      { allowed: true },
    ],
    [
      'an approver approves again after the request was approved',
      () => approvedBy(submitted(), megan),
      megan,
      true,
      later,
      { allowed: false, repeat: true, reason: 'already-approved' },
    ],
    [
      'another approver approves a request already approved',
      () => approvedBy(submitted(), megan),
      adele,
      true,
      later,
      { allowed: false, repeat: false, reason: 'not-pending' },
    ],
    [
      'an approver approves a rejected request',
      rejected,
      adele,
      true,
      later,
      { allowed: false, repeat: false, reason: 'not-pending' },
    ],
    [
      'an approver approves a request past its expiry',
      () => submitted(),
      megan,
      true,
      afterExpiry,
      { allowed: false, repeat: false, reason: 'expired' },
    ],
  ])('when %s, then the decision is %j', (_name, request, actor, isApprover, now, decision) => {
    expect(canApprove(request(), actor, { isApprover, now })).toMatchObject(decision);
  });

  test('when a refusal is given, then it has a message for the person', () => {
    expect(canApprove(submitted(), requester, { isApprover: true, now: later })).toMatchObject({
      message: 'You asked for this app, so someone else must decide on it.',
    });
  });

  test('when an approver who approved a two-approver request rejects it, then that is allowed; the requester may not reject', () => {
    const once = approvedBy(submitted({ approvalsRequired: 2 }), megan);

    expect(canReject(once, megan, { isApprover: true, now: later })).toEqual({ allowed: true });
    expect(canReject(once, requester, { isApprover: true, now: later })).toMatchObject({
      allowed: false,
      reason: 'own-request',
    });
  });

  test('when a request waits, then only its requester may cancel it', () => {
    expect(canCancel(submitted(), requester)).toEqual({ allowed: true });
    expect(canCancel(submitted(), megan)).toMatchObject({ allowed: false, reason: 'not-the-requester' });
    expect(canCancel(rejected(), requester)).toMatchObject({ allowed: false, reason: 'not-pending' });
  });
});

describe('how many approvers and for how long', () => {
  test.each([
    ['low', 1],
    ['medium', 1],
    ['high', 2],
  ] as const)('when the risk is %s, then the default policy needs %i approver(s)', (risk, count) => {
    expect(approvalsNeeded(risk, { approvalsByRisk: { low: 1, medium: 1, high: 2 } })).toBe(count);
  });

  test.each([
    ['submitted', '2026-03-09T08:59:59Z', false],
    ['submitted', '2026-03-09T09:00:00Z', true],
    ['approved', '2026-04-01T00:00:00Z', false],
  ] as const)('when a %s request is looked at on %s, then expired is %s', (status, at, expired) => {
    expect(isExpired({ ...submitted(), status }, new Date(at))).toBe(expired);
  });

  test.each([
    ['low=1,medium=1,high=2', { low: 1, medium: 1, high: 2 }],
    ['high=3', { low: 1, medium: 1, high: 3 }],
    [' LOW = 1 ; Medium:2 , high=2 ', { low: 1, medium: 2, high: 2 }],
    ['', { low: 1, medium: 1, high: 2 }],
  ])('when APPROVALS_BY_RISK is %j, then the counts are %j', (text, value) => {
    expect(parseApprovalsByRisk(text)).toEqual({ ok: true, value });
  });

  test.each([
    ['low=0', /low must need 1 to 10 approvers \(got 0\)/],
    ['high=11', /high must need 1 to 10/],
    ['critical=3', /"critical=3" is not level=count/],
    ['low=1,low=2', /low is given twice/],
    ['low=2,medium=1', /a higher risk cannot need fewer approvers than a lower one/],
    ['high=two', /is not level=count/],
  ])('when APPROVALS_BY_RISK is %j, then it is refused: %s', (text, message) => {
    const parsed = parseApprovalsByRisk(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.message).toMatch(message);
  });
});
