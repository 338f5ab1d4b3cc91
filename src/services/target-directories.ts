/**
 * Which Graph adapters act for a request: the Teams tenant's, or those of the target directory it records
 * (TARGET_DIRECTORY_<KEY>). A request is made in one directory and stays there: provisioning, Reveal and the cleanup
 * of its secrets all use that directory's identity.
 */
import { RegistrarError } from '../domain/errors';
import type { AppRequest } from '../domain/request';
import type { TargetDirectory } from './ports';

/** The target directory of `request`, or undefined for the Teams tenant; a target no longer configured is an error that says so. */
export function targetOf(
  targets: readonly TargetDirectory[] | undefined,
  request: Pick<AppRequest, 'id' | 'target'>,
): TargetDirectory | undefined {
  if (!request.target) return undefined;
  const found = targets?.find((t) => t.key === request.target!.key && t.tenantId === request.target!.tenantId);
  if (found) return found;
  throw new RegistrarError(
    'unavailable',
    `Request ${request.id} is for an app in ${request.target.name}, which Registrar cannot reach now. An operator can set TARGET_DIRECTORY_${request.target.key.toUpperCase()} again.`,
    {
      detail: `request ${request.id} records target "${request.target.key}" (tenant ${request.target.tenantId}), which no TARGET_DIRECTORY_* setting names with that tenant`,
    },
  );
}
