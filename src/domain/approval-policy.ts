/**
 * Who may decide a request, and how many must. Membership of the approvers (APPROVER_IDS, APPROVER_GROUP_ID) is
 * looked up by the service from the activity's aadObjectId and passed in; these rules decide the rest from the
 * stored request: the requester never approves their own request, one approver counts once, an expired or
 * decided request takes no more decisions. A Retry is not a decision: any approver may retry (the provisioning
 * service's retry() checks that), and only a failed request can be retried (the 'retry' move in request.ts).
 */
import type { AppRequest } from './request';
import type { RiskLevel } from './risk';
import { sameObject } from './object-id';

export interface ApprovalPolicy {
  /** Distinct approvers each risk needs (APPROVALS_BY_RISK). */
  approvalsByRisk: Readonly<Record<RiskLevel, number>>;
  /** Days a request may wait for a decision (PENDING_TTL_DAYS). */
  pendingTtlDays: number;
}

export const defaultApprovalsByRisk: Readonly<Record<RiskLevel, number>> = { low: 1, medium: 1, high: 2 };
export const maxApprovals = 10;

export function approvalsNeeded(risk: RiskLevel, policy: Pick<ApprovalPolicy, 'approvalsByRisk'>): number {
  return policy.approvalsByRisk[risk];
}

/** Whether an undecided request has passed its expiry. Decided requests never expire. */
export function isExpired(request: Pick<AppRequest, 'status' | 'expiresAt'>, now: Date): boolean {
  return request.status === 'submitted' && now.getTime() >= Date.parse(request.expiresAt);
}

export type DecisionRefusal =
  'no-identity' | 'own-request' | 'not-an-approver' | 'not-the-requester' | 'not-pending' | 'expired';

export type Decision =
  | { allowed: true }
  /** The person already approved: answer as if the click worked, change nothing. */
  | { allowed: false; repeat: true; reason: 'already-approved'; message: string }
  | { allowed: false; repeat: false; reason: DecisionRefusal; message: string };

interface Decider {
  aadObjectId?: string;
  name: string;
}

const refuse = (reason: DecisionRefusal, message: string): Decision => ({
  allowed: false,
  repeat: false,
  reason,
  message,
});

function pendingDecision(request: AppRequest, actor: Decider, isApprover: boolean, now: Date): Decision | undefined {
  if (!actor.aadObjectId)
    return refuse('no-identity', 'Registrar cannot tell who you are in Entra ID, so it cannot take your decision.');
  if (sameObject(actor.aadObjectId, request.requester.aadObjectId)) {
    return refuse('own-request', 'You asked for this app, so someone else must decide on it.');
  }
  if (!isApprover)
    return refuse('not-an-approver', 'Only approvers can decide on requests. Ask an operator who the approvers are.');
  if (request.status !== 'submitted')
    return refuse(
      'not-pending',
      `Request ${request.id} is no longer waiting for a decision (it is ${request.status}).`,
    );
  if (isExpired(request, now))
    return refuse(
      'expired',
      `Request ${request.id} expired on ${request.expiresAt.slice(0, 10)}; the requester can ask again.`,
    );
  return undefined;
}

/** Whether `actor` may approve `request` at `now`. */
export function canApprove(request: AppRequest, actor: Decider, context: { isApprover: boolean; now: Date }): Decision {
  const { now } = context;
  const approvedBefore = request.approvals.some((a) => sameObject(actor.aadObjectId, a.aadObjectId));
  if (approvedBefore && !sameObject(actor.aadObjectId, request.requester.aadObjectId)) {
    return {
      allowed: false,
      repeat: true,
      reason: 'already-approved',
      message: `You have already approved request ${request.id}.`,
    };
  }
  return pendingDecision(request, actor, context.isApprover, now) ?? { allowed: true };
}

/** Whether `actor` may reject `request` now: as for approving, and an approver who approved may still reject. */
export function canReject(request: AppRequest, actor: Decider, context: { isApprover: boolean; now: Date }): Decision {
  return pendingDecision(request, actor, context.isApprover, context.now) ?? { allowed: true };
}

/** Whether `actor` may cancel `request`: only its requester, only while it waits for a decision. */
export function canCancel(request: AppRequest, actor: Decider): Decision {
  if (!sameObject(actor.aadObjectId, request.requester.aadObjectId))
    return refuse('not-the-requester', 'Only the person who asked for this app can cancel the request.');
  if (request.status !== 'submitted')
    return refuse(
      'not-pending',
      `Request ${request.id} is ${request.status}; only a request waiting for a decision can be cancelled.`,
    );
  return { allowed: true };
}

/**
 * APPROVALS_BY_RISK: "low=1,medium=1,high=2". Levels left out keep their default; a higher risk may not need
 * fewer approvers than a lower one. Returns the counts or a message saying what is wrong.
 */
export function parseApprovalsByRisk(
  text: string,
): { ok: true; value: Record<RiskLevel, number> } | { ok: false; message: string } {
  const value: Record<RiskLevel, number> = { ...defaultApprovalsByRisk };
  const seen = new Set<string>();
  for (const part of text
    .split(/[,;]/)
    .map((p) => p.trim())
    .filter(Boolean)) {
    const match = /^(low|medium|high)\s*[=:]\s*(\d+)$/i.exec(part);
    if (!match) return { ok: false, message: `"${part}" is not level=count; write it like low=1,medium=1,high=2` };
    const level = match[1]!.toLowerCase() as RiskLevel;
    const count = Number(match[2]);
    if (seen.has(level)) return { ok: false, message: `${level} is given twice` };
    if (count < 1 || count > maxApprovals)
      return { ok: false, message: `${level} must need 1 to ${maxApprovals} approvers (got ${count})` };
    seen.add(level);
    value[level] = count;
  }
  if (value.low > value.medium || value.medium > value.high) {
    return {
      ok: false,
      message: `a higher risk cannot need fewer approvers than a lower one (low=${value.low}, medium=${value.medium}, high=${value.high})`,
    };
  }
  return { ok: true, value };
}
