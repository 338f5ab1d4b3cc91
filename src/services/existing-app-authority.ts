/**
 * What a new credential for an existing app (a rotated secret, a federated credential) is decided on: whether the
 * asker owns the app in Entra ID (read from the directory on every call), the risk of the app's standing
 * privileges, and why the approvers decide first (ROTATION_NEEDS_APPROVAL). Shared by rotation-service.ts and
 * federation-service.ts.
 */
import type { Config } from '../config';
import { findDirectoryRole } from '../domain/directory-roles';
import { sameObject } from '../domain/object-id';
import { assessStandingPrivileges, type RiskAssessment } from '../domain/risk';
import type { CredentialSource } from './ports';

export async function ownsApp(
  source: Pick<CredentialSource, 'ownersOf'>,
  person: string,
  applicationObjectId: string,
): Promise<boolean> {
  return (await source.ownersOf(applicationObjectId)).some((owner) => sameObject(owner, person));
}

/** The risk of whoever holds a working credential of the app; a service principal Registrar cannot read is taken as privileged. */
export async function standingRisk(
  source: Pick<CredentialSource, 'privilegesOf'>,
  appId: string,
): Promise<RiskAssessment> {
  const privileges = await source.privilegesOf(appId);
  return assessStandingPrivileges({
    applicationPermissions: privileges.applicationPermissions,
    directoryRoles: privileges.directoryRoles.map((r) => {
      const known = findDirectoryRole(r.roleDefinitionId);
      return known ? { ...r, displayName: known.displayName } : r;
    }),
  });
}

/** Why the approvers decide first, or undefined when an owner may go ahead; `always` says what 'always' covers. */
export function approvalReason(
  policy: Pick<Config['policy'], 'rotationNeedsApproval'>,
  owner: boolean,
  risk: RiskAssessment,
  always: string,
): string | undefined {
  if (!owner) return 'the person asking does not own the app in Entra ID';
  if (policy.rotationNeedsApproval === 'always') return `${always} (ROTATION_NEEDS_APPROVAL=always)`;
  if (policy.rotationNeedsApproval === 'privileged' && risk.level === 'high') {
    const what = risk.items.filter((i) => i.level === 'high').map((i) => i.subject);
    return `its service principal holds ${what.slice(0, 5).join(', ')}${what.length > 5 ? ` and ${what.length - 5} more` : ''} (ROTATION_NEEDS_APPROVAL=privileged)`;
  }
  return undefined;
}
