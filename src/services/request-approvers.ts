/**
 * Who approves requests: a listed object id (APPROVER_IDS) or a member of the approvers' group
 * (APPROVER_GROUP_ID), checked in the directory on every click. Authority comes from the activity's
 * aadObjectId, never from card data.
 */
import type { Actor } from '../domain/conversation';
import { RegistrarError } from '../domain/errors';
import type { Directory } from './ports';

export interface ApproverPolicy {
  isApprover(actor: Pick<Actor, 'aadObjectId'>): Promise<boolean>;
  /** One sentence saying who the approvers are, for refusals. */
  describe(): string;
}

export function createApproverPolicy(approvers: { ids: readonly string[]; groupId?: string }, directory: Directory | undefined): ApproverPolicy {
  const ids = new Set(approvers.ids.map((id) => id.toLowerCase()));
  const { groupId } = approvers;
  if (groupId && !directory) {
    throw new RegistrarError('unavailable', 'Registrar is not configured to read the directory.', {
      detail: 'APPROVER_GROUP_ID is set but no Microsoft Graph identity is configured; set AZURE_CLIENT_ID (and a credential) or use APPROVER_IDS.',
    });
  }
  return {
    async isApprover(actor) {
      const id = actor.aadObjectId?.toLowerCase();
      if (!id) return false;
      if (ids.has(id)) return true;
      if (!groupId || !directory) return false;
      try {
        return await directory.isMemberOfAnyGroup(id, [groupId]);
      } catch (err) {
        throw new RegistrarError('unavailable', 'Registrar cannot check your rights in the directory right now. Try again in a minute.', {
          cause: err,
          detail: `checking membership of ${id} in APPROVER_GROUP_ID ${groupId} failed; check the Graph identity (GroupMember.Read.All)`,
        });
      }
    },
    describe() {
      const parts = [
        ...(ids.size > 0 ? [`the people listed in Registrar's APPROVER_IDS setting`] : []),
        ...(groupId ? [`members of the Entra group ${groupId} (APPROVER_GROUP_ID)`] : []),
      ];
      return parts.length > 0 ? `Registrar's approvers are ${parts.join(' and ')}.` : 'No approvers are configured.';
    },
  };
}
