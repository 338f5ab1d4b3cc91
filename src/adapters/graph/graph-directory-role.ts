/**
 * A directory role for a service principal, assigned tenant-wide (directoryScopeId "/";
 * https://learn.microsoft.com/graph/api/rbacapplication-post-roleassignments). An existing assignment counts as
 * done; a create Graph refuses as a conflicting object (an earlier attempt landed) is adopted once reads show it.
 */
import type { StepContext } from '../../services/ports';
import type { FailureHelp } from './graph-errors';
import { callOf, startStep, type StepDeps } from './graph-step';

type RoleAssignment = { id: string; directoryScopeId?: string | null };

export class DirectoryRoleStep {
  constructor(private readonly deps: StepDeps) {}

  async assignDirectoryRole(servicePrincipalId: string, roleTemplateId: string, context: StepContext): Promise<string> {
    const { graph } = this.deps;
    const step = startStep(this.deps, 'assign-directory-role', context, [servicePrincipalId]);
    const help: FailureHelp = {
      doing: `assigning directory role ${roleTemplateId} to service principal ${servicePrincipalId}`,
      requires: 'RoleManagement.ReadWrite.Directory',
    };
    const call = callOf(step, help, [servicePrincipalId]);
    const find = async () =>
      (
        await graph.list<RoleAssignment>(
          {
            path: '/roleManagement/directory/roleAssignments',
            filter: `principalId eq '${servicePrincipalId}' and roleDefinitionId eq '${roleTemplateId}'`,
          },
          call,
        )
      ).find((a) => a.directoryScopeId === '/');
    const existing = await find();
    if (existing) {
      step.log.info(
        { servicePrincipalId, roleTemplateId, roleAssignmentId: existing.id },
        'directory role already assigned',
      );
      return existing.id;
    }
    try {
      const created = await graph.attempt<RoleAssignment>(
        {
          method: 'POST',
          path: '/roleManagement/directory/roleAssignments',
          body: {
            '@odata.type': '#microsoft.graph.unifiedRoleAssignment',
            roleDefinitionId: roleTemplateId,
            principalId: servicePrincipalId,
            directoryScopeId: '/',
          },
        },
        call,
      );
      step.log.info({ servicePrincipalId, roleTemplateId, roleAssignmentId: created.id }, 'directory role assigned');
      return created.id;
    } catch (err) {
      const c = graph.classify(err, call);
      if (!(c.kind === 'already-exists' && c.what === 'conflicting-object')) throw graph.fail(err, call);
      const adopted = await graph.waitUntil(find, call);
      step.log.info(
        { servicePrincipalId, roleTemplateId, roleAssignmentId: adopted.id },
        'directory role already assigned',
      );
      return adopted.id;
    }
  }
}
