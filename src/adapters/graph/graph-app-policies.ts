/**
 * CredentialPolicies on Microsoft Graph: the tenant default app management policy
 * (https://learn.microsoft.com/graph/api/tenantappmanagementpolicy-get) and the policy assigned to an app
 * (https://learn.microsoft.com/graph/api/application-list-appmanagementpolicies), read on every call, never cached,
 * so that a policy an administrator changes binds the next form. Both reads need Policy.Read.All; without it Graph
 * answers 403 and the rules say the policy could not be read.
 */
import { credentialRules, unreadableRules, type CredentialRules, type PolicyJson } from '../../domain/credential-rules';
import type { Logger } from '../../lib/logger';
import type { Clock, CredentialPolicies } from '../../services/ports';
import type { CallOptions, GraphCaller } from './graph-caller';
import { readGraphFailure } from './graph-errors';

const REQUIRES = 'Policy.Read.All';

/** What the form and the rotation card say when Graph refuses the read. */
export const POLICY_UNREADABLE =
  "Registrar could not read the tenant's app management policies (it lacks the Microsoft Graph permission Policy.Read.All), so these choices are Registrar's own limits; Entra ID may still refuse a credential its policy forbids. An administrator can grant it with npm run setup:permissions.";

export interface GraphAppPoliciesOptions {
  graph: GraphCaller;
  logger: Logger;
  clock: Clock;
}

class PolicyUnreadable extends Error {}

export class GraphAppPolicies implements CredentialPolicies {
  constructor(private readonly options: GraphAppPoliciesOptions) {}

  async forNewApp(): Promise<CredentialRules> {
    const log = this.options.logger.child({ step: 'read-app-management-policy' });
    try {
      const tenantDefault = await this.read<PolicyJson>('/policies/defaultAppManagementPolicy', {
        log,
        help: { doing: 'reading the tenant default app management policy', requires: REQUIRES },
      });
      return credentialRules({ tenantDefault, assigned: [], appCreated: this.options.clock.now() });
    } catch (err) {
      if (err instanceof PolicyUnreadable) return unreadableRules(POLICY_UNREADABLE);
      throw err;
    }
  }

  async forApp(applicationObjectId: string): Promise<CredentialRules> {
    const log = this.options.logger.child({ step: 'read-app-management-policy', applicationObjectId });
    const id = encodeURIComponent(applicationObjectId);
    try {
      const help = { doing: `reading the app management policies of application ${applicationObjectId}` };
      const app = await this.options.graph.get<{ createdDateTime?: string | null }>(
        { path: `/applications/${id}`, select: ['createdDateTime'] },
        { log, help: { ...help, requires: 'Application.Read.All' } },
      );
      const assigned = await this.read<{ value?: PolicyJson[] }>(`/applications/${id}/appManagementPolicies`, {
        log,
        help: { ...help, requires: `${REQUIRES} and Application.Read.All` },
      });
      const tenantDefault = await this.read<PolicyJson>('/policies/defaultAppManagementPolicy', {
        log,
        help: { doing: 'reading the tenant default app management policy', requires: REQUIRES },
      });
      // Graph's policy pages do not say how an app without createdDateTime is judged: as created long ago, so
      // only restrictions without a date, or with an earlier one, bind it.
      const created = app.createdDateTime ? new Date(app.createdDateTime) : new Date(0);
      return credentialRules({ tenantDefault, assigned: assigned.value ?? [], appCreated: created });
    } catch (err) {
      if (err instanceof PolicyUnreadable) return unreadableRules(POLICY_UNREADABLE);
      throw err;
    }
  }

  /** A read through the retry policy; a 403 becomes PolicyUnreadable (logged for the operator), the rest a RegistrarError. */
  private async read<T>(path: string, options: CallOptions): Promise<T> {
    try {
      return await this.options.graph.attempt<T>({ path }, options);
    } catch (err) {
      const failure = readGraphFailure(err);
      if (failure.status === 403) {
        options.log.warn(
          { status: 403, code: failure.code, requires: REQUIRES },
          'app management policy unreadable: grant Policy.Read.All (npm run setup:permissions)',
        );
        throw new PolicyUnreadable();
      }
      throw this.options.graph.fail(err, options);
    }
  }
}
