/**
 * Who is an operator: a listed object id (ADMIN_IDS) or a member of the operators' group (ADMIN_GROUP_ID),
 * checked in the directory on every call. Authority comes from the activity's aadObjectId, never from card data.
 */
import type { Actor } from '../domain/conversation';
import { RegistrarError } from '../domain/errors';
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
  const ids = new Set(operators.ids.map((id) => id.toLowerCase()));
  const { groupId } = operators;
  if (groupId && !directory) {
    throw new RegistrarError('unavailable', 'Registrar is not configured to read the directory.', {
      detail: 'ADMIN_GROUP_ID is set but no Microsoft Graph identity is configured; set AZURE_CLIENT_ID (and a credential) or use ADMIN_IDS.',
    });
  }
  return {
    async isOperator(actor) {
      const id = actor.aadObjectId?.toLowerCase();
      if (!id) return false;
      if (ids.has(id)) return true;
      if (!groupId || !directory) return false;
      try {
        return await directory.isMemberOfAnyGroup(id, [groupId]);
      } catch (err) {
        throw new RegistrarError('unavailable', 'Registrar cannot check your rights in the directory right now. Try again in a minute.', {
          cause: err,
          detail: `checking membership of ${id} in ADMIN_GROUP_ID ${groupId} failed; check the Graph identity (GroupMember.Read.All)`,
        });
      }
    },
    describe() {
      const parts = [
        ...(ids.size > 0 ? [`the people listed in Registrar's ADMIN_IDS setting`] : []),
        ...(groupId ? [`members of the Entra group ${groupId} (ADMIN_GROUP_ID)`] : []),
      ];
      return parts.length > 0 ? `Registrar's operators are ${parts.join(' and ')}.` : 'No operators are configured.';
    },
  };
}
