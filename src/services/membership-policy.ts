/**
 * Who holds a role (operators, approvers): a listed object id or a member, direct or nested, of the role's
 * group, checked in the directory on every call. Authority comes from the activity's aadObjectId, never from
 * card data.
 */
import type { Actor } from '../domain/conversation';
import { RegistrarError } from '../domain/errors';
import type { Directory } from './ports';

export interface Role {
  /** "operators", "approvers": as the refusals say it. */
  plural: string;
  idsVariable: string;
  groupVariable: string;
}

export interface MembershipPolicy {
  holds(actor: Pick<Actor, 'aadObjectId'>): Promise<boolean>;
  /** One sentence saying who holds the role, for refusals. */
  describe(): string;
}

export function createMembershipPolicy(
  role: Role,
  members: { ids: readonly string[]; groupId?: string },
  directory: Directory | undefined,
): MembershipPolicy {
  const ids = new Set(members.ids.map((id) => id.toLowerCase()));
  const { groupId } = members;
  if (groupId && !directory) {
    throw new RegistrarError('unavailable', 'Registrar is not configured to read the directory.', {
      detail: `${role.groupVariable} is set but no Microsoft Graph identity is configured; set AZURE_CLIENT_ID (and a credential) or use ${role.idsVariable}.`,
    });
  }
  return {
    async holds(actor) {
      const id = actor.aadObjectId?.toLowerCase();
      if (!id) return false;
      if (ids.has(id)) return true;
      if (!groupId || !directory) return false;
      try {
        return await directory.isMemberOfAnyGroup(id, [groupId]);
      } catch (err) {
        throw new RegistrarError(
          'unavailable',
          'Registrar cannot check your rights in the directory right now. Try again in a minute.',
          {
            cause: err,
            detail: `checking membership of ${id} in ${role.groupVariable} ${groupId} failed; check the Graph identity (Directory.Read.All, granted by npm run setup:permissions)`,
          },
        );
      }
    },
    describe() {
      const parts = [
        ...(ids.size > 0 ? [`the people listed in Registrar's ${role.idsVariable} setting`] : []),
        ...(groupId ? [`members of the Entra group ${groupId} (${role.groupVariable})`] : []),
      ];
      return parts.length > 0
        ? `Registrar's ${role.plural} are ${parts.join(' and ')}.`
        : `No ${role.plural} are configured.`;
    },
  };
}
