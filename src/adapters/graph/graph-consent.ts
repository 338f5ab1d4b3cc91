/**
 * Admin consent, as the Entra admin center grants it: an app role assignment per application permission
 * (https://learn.microsoft.com/graph/api/serviceprincipal-post-approleassignedto) and one AllPrincipals delegated
 * permission grant per resource (https://learn.microsoft.com/graph/api/oauth2permissiongrant-post), merged into one
 * that exists. What exists is listed first; a create whose duplicate Graph refuses means an earlier attempt
 * landed (its answer was lost), and the existing object is adopted once reads show it.
 */
import type { PermissionRef } from '../../domain/app-spec';
import type { StepContext } from '../../services/ports';
import type { GraphCatalog } from './graph-catalog';
import type { FailureHelp } from './graph-errors';
import { callOf, distinct, lower, startStep, type StepDeps } from './graph-step';

interface PermissionGrant {
  id: string;
  scope?: string | null;
}

type Assignment = { id: string; resourceId: string; appRoleId: string };

export class ConsentSteps {
  constructor(private readonly deps: StepDeps & { catalog: GraphCatalog }) {}

  /**
   * `withoutGrant`: permissions scoped in Exchange with RBAC for Applications. Exchange narrows nothing that Entra ID
   * grants tenant-wide (https://learn.microsoft.com/exchange/permissions-exo/application-rbac), so these are never
   * granted here, on any run; one found granted already (by someone's admin consent) is reported, not removed.
   */
  async grantApplicationPermissions(
    servicePrincipalId: string,
    permissions: readonly PermissionRef[],
    context: StepContext,
    withoutGrant: readonly PermissionRef[] = [],
  ): Promise<string[]> {
    const { graph, catalog } = this.deps;
    const key = (p: PermissionRef) => `${lower(p.resourceAppId)}/${lower(p.id)}`;
    const withheld = distinct(
      withoutGrant.filter((p) => p.type === 'Role'),
      key,
    );
    const withheldKeys = new Set(withheld.map(key));
    const roles = distinct(
      permissions.filter((p) => p.type === 'Role' && !withheldKeys.has(key(p))),
      key,
    );
    if (roles.length === 0 && withheld.length === 0) return [];
    const step = startStep(this.deps, 'grant-application-permissions', context, [servicePrincipalId]);
    const help: FailureHelp = {
      doing: `granting application permissions to service principal ${servicePrincipalId}`,
      requires: 'AppRoleAssignment.ReadWrite.All and Application.Read.All',
    };
    const call = callOf(step, help, [servicePrincipalId]);
    const list = () =>
      graph.list<Assignment>({ path: `/servicePrincipals/${servicePrincipalId}/appRoleAssignments` }, call);
    const matches = (a: Assignment, resourceId: string, appRoleId: string) =>
      lower(a.resourceId) === lower(resourceId) && lower(a.appRoleId) === lower(appRoleId);
    const existing = await list();
    for (const permission of withheld) {
      const resource = await catalog.servicePrincipal(permission.resourceAppId);
      const granted = existing.find((a) => matches(a, resource.id, permission.id));
      if (granted)
        step.log.warn(
          { servicePrincipalId, resourceId: resource.id, appRoleId: permission.id, assignmentId: granted.id },
          'permission scoped in Exchange is granted tenant-wide: RBAC for Applications will not narrow it',
        );
      else
        step.log.info(
          { servicePrincipalId, resourceId: resource.id, appRoleId: permission.id },
          'permission declared without tenant-wide grant (scoped in Exchange)',
        );
    }
    const ids: string[] = [];
    for (const permission of roles) {
      const resource = await catalog.servicePrincipal(permission.resourceAppId);
      const found = existing.find((a) => matches(a, resource.id, permission.id));
      if (found) {
        ids.push(found.id);
        continue;
      }
      const doing = `granting ${permission.value} on ${resource.displayName} to service principal ${servicePrincipalId}`;
      try {
        const created = await graph.attempt<Assignment>(
          {
            method: 'POST',
            path: `/servicePrincipals/${resource.id}/appRoleAssignedTo`,
            body: { principalId: servicePrincipalId, resourceId: resource.id, appRoleId: permission.id },
          },
          call,
        );
        ids.push(created.id);
        step.log.info(
          { servicePrincipalId, resourceId: resource.id, appRoleId: permission.id, assignmentId: created.id },
          'application permission granted',
        );
      } catch (err) {
        const c = graph.classify(err, call);
        if (!(c.kind === 'already-exists' && c.what === 'app-role-assignment'))
          throw graph.fail(err, { log: step.log, help: { ...help, doing } });
        // An earlier attempt landed (its answer was lost): adopt it once reads can see it.
        const adopted = await graph.waitUntil(
          async () => (await list()).find((a) => matches(a, resource.id, permission.id)),
          call,
        );
        ids.push(adopted.id);
        step.log.info(
          { servicePrincipalId, resourceId: resource.id, appRoleId: permission.id, assignmentId: adopted.id },
          'application permission already granted',
        );
      }
    }
    return ids;
  }

  async grantDelegatedPermissions(
    servicePrincipalId: string,
    permissions: readonly PermissionRef[],
    context: StepContext,
  ): Promise<string[]> {
    const { graph, catalog } = this.deps;
    const scopes = permissions.filter((p) => p.type === 'Scope');
    if (scopes.length === 0) return [];
    const step = startStep(this.deps, 'grant-delegated-permissions', context, [servicePrincipalId]);
    const help: FailureHelp = {
      doing: `granting delegated permissions to service principal ${servicePrincipalId}`,
      requires: 'DelegatedPermissionGrant.ReadWrite.All',
    };
    const call = callOf(step, help, [servicePrincipalId]);
    const byResource = new Map<string, string[]>();
    for (const p of scopes)
      byResource.set(lower(p.resourceAppId), [...(byResource.get(lower(p.resourceAppId)) ?? []), p.value]);
    const ids: string[] = [];
    for (const [resourceAppId, values] of byResource) {
      const resource = await catalog.servicePrincipal(resourceAppId);
      const find = async () =>
        (
          await graph.list<PermissionGrant>(
            {
              path: '/oauth2PermissionGrants',
              filter: `clientId eq '${servicePrincipalId}' and consentType eq 'AllPrincipals' and resourceId eq '${resource.id}'`,
            },
            call,
          )
        )[0];
      let grant = await find();
      if (!grant) {
        const scope = distinct(values, lower).join(' ');
        try {
          grant = await graph.attempt<PermissionGrant>(
            {
              method: 'POST',
              path: '/oauth2PermissionGrants',
              body: { clientId: servicePrincipalId, consentType: 'AllPrincipals', resourceId: resource.id, scope },
            },
            call,
          );
          step.log.info(
            { servicePrincipalId, resourceId: resource.id, grantId: grant.id, scope },
            'delegated permissions granted',
          );
          ids.push(grant.id);
          continue;
        } catch (err) {
          const c = graph.classify(err, call);
          if (!(c.kind === 'already-exists' && c.what === 'permission-grant')) {
            throw graph.fail(err, {
              log: step.log,
              help: {
                ...help,
                doing: `granting ${scope} on ${resource.displayName} to service principal ${servicePrincipalId}`,
              },
            });
          }
          // Made by an earlier attempt or someone else: merge into it once reads can see it.
          grant = await graph.waitUntil(find, call);
        }
      }
      const current = (grant.scope ?? '').split(' ').filter(Boolean);
      const merged = distinct([...current, ...values], lower);
      if (merged.length > current.length) {
        const grantId = grant.id;
        await graph.send(
          { method: 'PATCH', path: `/oauth2PermissionGrants/${grantId}`, body: { scope: merged.join(' ') } },
          { ...call, help: { ...help, doing: `adding ${values.join(' ')} to permission grant ${grantId}` } },
        );
        step.log.info(
          { servicePrincipalId, resourceId: resource.id, grantId, scope: merged.join(' ') },
          'delegated permissions merged',
        );
      } else {
        step.log.info(
          { servicePrincipalId, resourceId: resource.id, grantId: grant.id },
          'delegated permissions already granted',
        );
      }
      ids.push(grant.id);
    }
    return ids;
  }
}
