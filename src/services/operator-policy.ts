/**
 * Who is an operator: ADMIN_IDS, or a member of ADMIN_GROUP_ID checked in the directory on every call.
 */
import type { Actor } from '../domain/conversation';
import { createMembershipPolicy } from './membership-policy';
import type { Directory } from './ports';

export interface OperatorPolicy {
  isOperator(actor: Actor): Promise<boolean>;
  /** One sentence saying who the operators are, for refusals. */
  describe(): string;
}

export function createOperatorPolicy(
  operators: { ids: readonly string[]; groupId?: string },
  directory: Directory | undefined,
): OperatorPolicy {
  const policy = createMembershipPolicy(
    { plural: 'operators', idsVariable: 'ADMIN_IDS', groupVariable: 'ADMIN_GROUP_ID' },
    operators,
    directory,
  );
  return { isOperator: (actor) => policy.holds(actor), describe: () => policy.describe() };
}
