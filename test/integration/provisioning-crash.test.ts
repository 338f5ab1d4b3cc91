/**
 * Crash safety of provisioning: the bot as a real process is killed with SIGKILL right after each provisioning
 * step is checkpointed in Azure Tables, and started again. The new process resumes the unfinished request on
 * start and finishes it, and the local tenant then holds exactly one of everything.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { TableStore } from '../../src/adapters/storage/table-store';
import { MICROSOFT_GRAPH_APP_ID, type PermissionRef, uniqueNameFor } from '../../src/domain/app-spec';
import { findDirectoryRole } from '../../src/domain/directory-roles';
import { createRequest, stepsFor, transition, type AppRequest, type ProvisioningStep } from '../../src/domain/request';
import type { RequestForm } from '../../src/domain/request-form';
import { newRequestId } from '../../src/domain/request-id';
import { assessRisk } from '../../src/domain/risk';
import { alex, demoUsers } from '../../src/local/demo-identities';
import graphPermissions from '../../src/local/tenant/graph-permissions.json';
import { allRoutes } from '../../src/local/tenant/routes';
import { demoTenant } from '../../src/local/tenant/seed';
import { selfSignedCertificate } from '../../src/local/tenant/self-signed';
import type { RunningTenant } from '../../src/local/tenant/server';
import { commitTransition, createRecord } from '../../src/services/request-records';
import { killed, startBotProcess } from '../helpers/bot-process';
import { deleteTables, testStorageConnectionString, uniqueTablePrefix } from '../helpers/registrar';
import { registrarEnv, startTestTenant } from '../helpers/tenant';

jest.setTimeout(240_000);

const megan = demoUsers[0]!;
const USER_ADMINISTRATOR = 'fe930be7-5e62-47db-91af-98c3a49a38b1';

function graphPermission(value: string, type: 'Role' | 'Scope'): PermissionRef {
  const p = (
    graphPermissions as Array<{
      id: string;
      value: string;
      type: string;
      adminConsentRequired: boolean;
      description: string;
    }>
  ).find((x) => x.value === value && x.type === type)!;
  return {
    resourceAppId: MICROSOFT_GRAPH_APP_ID,
    resourceDisplayName: 'Microsoft Graph',
    id: p.id,
    value,
    type,
    adminConsentRequired: p.adminConsentRequired,
    description: p.description,
  };
}

/** An approved request with every step: owners, consent of both kinds, a directory role and a certificate. */
async function approvedRequest(store: TableStore, id: string): Promise<AppRequest> {
  const now = new Date();
  const certificate = selfSignedCertificate(
    'CN=payroll-export',
    new Date(now.getTime() - 60_000),
    new Date(now.getTime() + 90 * 86_400_000),
  );
  const permissions = [
    graphPermission('User.Read.All', 'Role'),
    graphPermission('Group.Read.All', 'Role'),
    graphPermission('User.Read', 'Scope'),
    graphPermission('Mail.Read', 'Scope'),
  ];
  const directoryRole = findDirectoryRole(USER_ADMINISTRATOR)!;
  const form: RequestForm = {
    displayName: `Payroll export ${id}`,
    purpose: 'Crash test',
    signInAudience: 'AzureADMyOrg',
    platform: 'none',
    redirectUris: [],
    graphPermissions: permissions,
    otherPermissions: [],
    credential: {
      kind: 'certificate',
      certificate: {
        derBase64: certificate.der,
        thumbprint: certificate.thumbprint,
        subject: 'CN=payroll-export',
        notBefore: certificate.notBefore.toISOString(),
        notAfter: certificate.notAfter.toISOString(),
      },
    },
    additionalOwnerIds: [megan.aadObjectId],
    directoryRole,
  };
  const { request, audit } = createRequest({
    id,
    requester: { aadObjectId: alex.aadObjectId, name: alex.name },
    form,
    permissions,
    risk: assessRisk({ permissions, signInAudience: form.signInAudience, directoryRole }),
    approvalsRequired: 1,
    pendingTtlDays: 7,
    now,
  });
  const created = await createRecord(store, request, audit);
  const approved = transition(request, { type: 'approve' }, { aadObjectId: megan.aadObjectId, name: megan.name }, now);
  if (!approved.changed) throw new Error('approval did not move the request');
  return (await commitTransition(store, created.stored, approved.request, approved.audit)).stored.value;
}

async function until<T>(what: string, read: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('provisioning survives SIGKILL after every step', () => {
  const connectionString = testStorageConnectionString();
  const prefix = uniqueTablePrefix();
  const store = new TableStore({ tablePrefix: prefix, connectionString });
  const children: ChildProcess[] = [];
  let tenant: RunningTenant;
  let env: Record<string, string>;

  beforeAll(async () => {
    const demo = demoTenant();
    tenant = await startTestTenant({ data: demo.data, routes: allRoutes });
    await store.init();
    env = {
      STORAGE_CONNECTION_STRING: connectionString,
      STORAGE_TABLE_PREFIX: prefix,
      LOG_LEVEL: 'info',
      ADMIN_IDS: alex.aadObjectId,
      APPROVER_IDS: megan.aadObjectId,
      ...registrarEnv(tenant),
    };
  });

  afterAll(async () => {
    await Promise.all(children.map((child) => killed(child, 'SIGKILL')));
    await tenant.stop();
    await deleteTables(connectionString, prefix);
  });

  const steps: ProvisioningStep[] = [
    'application',
    'owners',
    'servicePrincipal',
    'consent',
    'directoryRole',
    'certificate',
  ];

  test.each(steps)(
    'when the bot is killed right after the %s step, then a restarted bot finishes the request with one of everything',
    async (step) => {
      const id = newRequestId((n) => new Uint8Array(randomBytes(n)));
      const request = await approvedRequest(store, id);
      expect(stepsFor(request)).toContain(step);

      // Slow Graph down so that the kill lands between this step's checkpoint and the end of the next.
      tenant.faults.configure({ latencyMs: 300 });
      const first = await startBotProcess(env);
      children.push(first.child);
      await until(`the ${step} checkpoint`, async () =>
        (await store.requests.get('request', id))?.value.provisioning[step] ? true : undefined,
      );
      await killed(first.child, 'SIGKILL');
      const atKill = (await store.requests.get('request', id))!.value;
      // After the last step only the final save is left, with no Graph call to slow it: it may have landed.
      expect(step === steps.at(-1) ? ['provisioning', 'provisioned'] : ['provisioning']).toContain(atKill.status);

      tenant.faults.configure({ latencyMs: 0 });
      const second = await startBotProcess(env);
      children.push(second.child);
      const done = await until('the request to be provisioned', async () => {
        const value = (await store.requests.get('request', id))?.value;
        return value && value.status !== 'provisioning' && value.status !== 'approved' ? value : undefined;
      });
      await killed(second.child, 'SIGKILL');

      expect(done.status).toBe('provisioned');
      const data = tenant.state().data;
      const apps = Object.values(data.applications).filter((a) => a.data.uniqueName === uniqueNameFor(id));
      expect(apps).toHaveLength(1);
      const sps = Object.values(data.servicePrincipals).filter((sp) => sp.data.appId === apps[0]!.data.appId);
      expect(sps).toHaveLength(1);
      const spId = String(sps[0]!.data.id);
      const assignments = Object.values(data.appRoleAssignments).filter((a) => a.data.principalId === spId);
      expect(assignments.map((a) => a.data.appRoleId).sort()).toEqual(
        [graphPermission('Group.Read.All', 'Role').id, graphPermission('User.Read.All', 'Role').id].sort(),
      );
      const grants = Object.values(data.oauth2PermissionGrants).filter((g) => g.data.clientId === spId);
      expect(
        grants.map((g) => ({
          scope: String(g.data.scope).split(' ').sort().join(' '),
          consentType: g.data.consentType,
        })),
      ).toEqual([{ scope: 'Mail.Read User.Read', consentType: 'AllPrincipals' }]);
      expect(Object.values(data.roleAssignments).filter((r) => r.data.principalId === spId)).toHaveLength(1);
      expect((apps[0]!.data.keyCredentials as unknown[]).length).toBe(1);
      expect([...apps[0]!.owners].sort()).toEqual([alex.aadObjectId, megan.aadObjectId].sort());
      // The audit trail tells of the resumption: the step before the kill is not done twice.
      const trail: string[] = [];
      for await (const row of store.audit.list(id)) trail.push(`${row.value.event}:${row.value.detail}`);
      expect(trail.filter((t) => t.startsWith(`completeStep:${step} done`))).toHaveLength(1);
    },
  );
});
