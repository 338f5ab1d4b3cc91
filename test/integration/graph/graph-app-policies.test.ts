/**
 * GraphAppPolicies (CredentialPolicies on Graph) against the local tenant over TLS, as Registrar's own identity: the
 * rules for a new app from the tenant default, for an existing app from the policy assigned to it (else the default),
 * a policy changed between two reads binding the second, and a Registrar without Policy.Read.All getting rules that
 * say the policy could not be read, never a guess.
 */
import { GraphCaller } from '../../../src/adapters/graph/graph-caller';
import { GraphAppPolicies, POLICY_UNREADABLE } from '../../../src/adapters/graph/graph-app-policies';
import { RegistrarError } from '../../../src/domain/errors';
import { createLogger } from '../../../src/lib/logger';
import { allRoutes } from '../../../src/local/tenant/routes';
import { demoApplicationIds, demoIds, demoSecretlessPolicy, demoTenant } from '../../../src/local/tenant/seed';
import type { RunningTenant } from '../../../src/local/tenant/server';
import type { TenantData } from '../../../src/local/tenant/state';
import { LogCapture } from '../../helpers/logs';
import { registrarConnection, startTestTenant } from '../../helpers/tenant';

const DEFAULT_POLICY_ID = '00000000-0000-0000-0000-000000000000';
const payrollSync = demoApplicationIds(2);
const expenseBot = demoApplicationIds(3);
const tenantDefault = { id: DEFAULT_POLICY_ID, displayName: 'Default app management tenant policy', scope: 'tenant' };

/** Takes Microsoft Graph application permission `value` away from Registrar's service principal in `data`. */
function withoutRegistrarPermission(data: TenantData, value: string): void {
  const graphSp = data.servicePrincipals[demoIds.graphServicePrincipal]!.data;
  const roleId = (graphSp.appRoles as Array<{ id: string; value: string }>).find((r) => r.value === value)!.id;
  for (const [id, assignment] of Object.entries(data.appRoleAssignments))
    if (assignment.data.principalId === demoIds.registrarServicePrincipal && assignment.data.appRoleId === roleId)
      delete data.appRoleAssignments[id];
}

describe('GraphAppPolicies', () => {
  let tenant: RunningTenant;
  let logs: LogCapture;

  afterEach(async () => {
    await tenant.stop();
  });

  async function start(change: (data: TenantData) => void = () => {}): Promise<void> {
    const { data } = demoTenant();
    change(data);
    tenant = await startTestTenant({ data, routes: allRoutes });
  }

  function policies(): GraphAppPolicies {
    logs = new LogCapture();
    const graph = new GraphCaller({
      connection: registrarConnection(tenant),
      baseDelayMs: 50,
      maxDelayMs: 500,
      stepTimeoutMs: 10_000,
    });
    return new GraphAppPolicies({
      graph,
      logger: createLogger({ level: 'debug', destination: logs }),
      clock: { now: () => new Date() },
    });
  }

  test('when the demo tenant is read, then a new app and Expense Bot get the default’s P2Y and Payroll Sync its own block on secrets', async () => {
    await start();
    const reader = policies();

    const forNew = await reader.forNewApp();
    const forExpense = await reader.forApp(expenseBot.id);
    const forPayroll = await reader.forApp(payrollSync.id);

    expect(forNew).toEqual({
      policy: tenantDefault,
      passwordBlocked: false,
      customPasswordBlocked: false,
      secretMaxLifetime: 'P2Y',
    });
    expect(forExpense).toEqual(forNew);
    // The assigned policy replaces the default entirely: no P2Y for Payroll Sync, and its name in the rules.
    expect(forPayroll).toEqual({
      policy: { id: demoSecretlessPolicy.id, displayName: 'Secretless apps', scope: 'app' },
      passwordBlocked: true,
      customPasswordBlocked: false,
    });
  });

  test('when the tenant default changes between two reads, then the second read has the new rules (nothing cached)', async () => {
    await start();
    const reader = policies();
    const before = await reader.forNewApp();

    const policy = tenant.state().data.defaultAppManagementPolicy;
    policy.applicationRestrictions = {
      passwordCredentials: [
        { restrictionType: 'passwordLifetime', state: 'enabled', maxLifetime: 'P90D' },
        { restrictionType: 'customPasswordAddition', state: 'enabled', maxLifetime: null },
      ],
      keyCredentials: [{ restrictionType: 'asymmetricKeyLifetime', state: 'enabled', maxLifetime: 'P365D' }],
    };
    const after = await reader.forNewApp();
    policy.isEnabled = false;
    const disabled = await reader.forNewApp();

    expect(before.secretMaxLifetime).toBe('P2Y');
    expect(after).toEqual({
      policy: tenantDefault,
      passwordBlocked: false,
      customPasswordBlocked: true,
      secretMaxLifetime: 'P90D',
      certificateMaxLifetime: 'P365D',
    });
    expect(disabled).toEqual({ passwordBlocked: false, customPasswordBlocked: false });
  });

  test('when Registrar lacks Policy.Read.All, then the rules say the policy could not be read and the operator is told which permission', async () => {
    await start((data) => withoutRegistrarPermission(data, 'Policy.Read.All'));
    const reader = policies();

    const forNew = await reader.forNewApp();
    const forPayroll = await reader.forApp(payrollSync.id);

    for (const rules of [forNew, forPayroll]) {
      expect(rules).toEqual({ passwordBlocked: false, customPasswordBlocked: false, unreadable: POLICY_UNREADABLE });
    }
    expect(POLICY_UNREADABLE).toContain('Policy.Read.All');
    // A 403 is not retried: one call each, and a warning that names the permission.
    expect(tenant.counters.snapshot()['GET /policies/defaultAppManagementPolicy']).toBe(1);
    expect(tenant.counters.snapshot()['GET /applications/{id}/appManagementPolicies']).toBe(1);
    expect(logs.text).toContain('grant Policy.Read.All');
  });

  test('when the application does not exist, then forApp fails with a RegistrarError, not with rules that guess', async () => {
    await start();

    const failure = await policies()
      .forApp('b1e5c0de-0000-4000-8000-00000000dead')
      .catch((err: unknown) => err);

    expect(failure).toBeInstanceOf(RegistrarError);
  });
});
