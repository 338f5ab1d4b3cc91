/**
 * Who approves requests: APPROVER_IDS, or a member of APPROVER_GROUP_ID checked in the directory on every click.
 */
import type { Actor } from '../domain/conversation';
import { createMembershipPolicy } from './membership-policy';
import type { Directory } from './ports';

export interface ApproverPolicy {
  isApprover(actor: Pick<Actor, 'aadObjectId'>): Promise<boolean>;
  /** One sentence saying who the approvers are, for refusals. */
  describe(): string;
}

export function createApproverPolicy(
  approvers: { ids: readonly string[]; groupId?: string },
  directory: Directory | undefined,
): ApproverPolicy {
  const policy = createMembershipPolicy(
    { plural: 'approvers', idsVariable: 'APPROVER_IDS', groupVariable: 'APPROVER_GROUP_ID' },
    approvers,
    directory,
  );
  return { isApprover: (actor) => policy.holds(actor), describe: () => policy.describe() };
}
