/**
 * What the provisioning service tests share: the local tenant (demo data, every route, a fault policy that records
 * each Graph call it judges), a store of its own in the run's Azurite, GraphProvisioners built as container.ts
 * builds them (a new one stands for a new process), approved requests made through the request service, a
 * Provisioner wrapper that lets a test act around one call, and the tenant's objects of one request, counted.
 */
import { GraphCaller, type GraphTiming } from '../../src/adapters/graph/graph-caller';
import { GraphProvisioner } from '../../src/adapters/graph/graph-provisioner';
import { uniqueNameFor } from '../../src/domain/app-spec';
import type { Actor } from '../../src/domain/conversation';
import type { AppRequest } from '../../src/domain/request';
import type { Config } from '../../src/config';
import { createLogger, type Logger } from '../../src/lib/logger';
import { alex, demoUsers } from '../../src/local/demo-identities';
import type { FaultPolicy } from '../../src/local/tenant/faults';
import { createFaultPolicy } from '../../src/local/tenant/faults-policy';
import { allRoutes } from '../../src/local/tenant/routes/index';
import { demoIds, demoTenant } from '../../src/local/tenant/seed';
import { selfSignedCertificate, type SelfSignedCertificate } from '../../src/local/tenant/self-signed';
import type { RunningTenant } from '../../src/local/tenant/server';
import type { TenantData } from '../../src/local/tenant/state';
import { systemClock, type Provisioner } from '../../src/services/ports';
import {
  createProvisioningService,
  type ProvisioningService,
  type ProvisioningServiceDeps,
} from '../../src/services/provisioning-service';
import { createApproverPolicy, type ApproverPolicy } from '../../src/services/request-approvers';
import { createRequestService, type RequestService } from '../../src/services/request-service';
import { deterministicRandom } from './fakes';
import { roleIds, scopeIds } from './graph-catalog';
import { LogCapture } from './logs';
import { createTestStore, type TestStore } from './storage';
import { registrarConnection, startTestTenant } from './tenant';

export const demo = demoTenant();
export const USER_ADMINISTRATOR = 'fe930be7-5e62-47db-91af-98c3a49a38b1';
const DIRECTORY_READ_ALL = '7ab1d382-f21e-4acd-a863-ba3e13f7da61';

const actor = (user: { id: string; name: string; aadObjectId: string }): Actor => ({
  id: user.id,
  name: user.name,
  aadObjectId: user.aadObjectId,
});
export const requester = actor(alex);
export const approver = actor(demoUsers[0]!);
/** Not an approver: the extra owner of the typical request. */
export const outsider = actor(demoUsers[2]!);
export const extraOwnerId = demoUsers[2]!.aadObjectId;

const roles = roleIds(['User.Read.All', 'Group.Read.All', 'Mail.Send'] as const);
const scopes = scopeIds(['User.Read', 'Mail.Send'] as const);
export const typicalRoleIds = Object.values(roles).sort();

const policy: Config['policy'] = {
  approvalsByRisk: { low: 1, medium: 1, high: 1 },
  pendingTtlDays: 7,
  secretMaxDays: 730,
  secretDefaultDays: 180,
  revealTtlMinutes: 10,
  rotationNeedsApproval: 'privileged',
  deliveryTtlDays: 7,
  openRequestsPerUser: 10,
  approvers: { ids: [demoUsers[0]!.aadObjectId, demoUsers[1]!.aadObjectId] },
};

let certificate: SelfSignedCertificate | undefined;
/** One RSA certificate for every request of a test file (Entra ID wants RSA; making a key takes a while). */
function testCertificate(): SelfSignedCertificate {
  const now = Date.now();
  certificate ??= selfSignedCertificate(
    'registrar-provisioning-test',
    new Date(now - 3_600_000),
    new Date(now + 180 * 86_400_000),
    'rsa',
  );
  return certificate;
}

/** The request form of a typical app: 3 Microsoft Graph application permissions, 2 delegated, one extra owner, a secret. */
export function typicalForm(extra: { certificate?: boolean; directoryRole?: boolean } = {}): Record<string, string> {
  const certificate = extra.certificate ? testCertificate() : undefined;
  return {
    name: 'Inventory Sync',
    purpose: 'Reads users and groups to keep the inventory up to date.',
    platform: 'web',
    redirectUris: 'https://inventory.contoso.com/auth',
    permissions: [...Object.values(roles), ...Object.values(scopes)].join(','),
    owners: extraOwnerId,
    ...(certificate ? { credential: 'certificate', certificatePem: certificate.certPem } : { credential: 'secret' }),
    ...(extra.directoryRole ? { directoryRole: USER_ADMINISTRATOR } : {}),
  };
}

/** A copy of the demo tenant; without Registrar's Directory.Read.All when a test needs that gap. */
export function tenantData(options: { directoryReadAll?: boolean } = {}): TenantData {
  const data = structuredClone(demo.data);
  if (options.directoryReadAll === false) {
    for (const [id, assignment] of Object.entries(data.appRoleAssignments)) {
      if (
        assignment.data.principalId === demoIds.registrarServicePrincipal &&
        assignment.data.appRoleId === DIRECTORY_READ_ALL
      )
        delete data.appRoleAssignments[id];
    }
  }
  return data;
}

/** Gives Registrar Directory.Read.All back, as an administrator would (a new token carries it). */
export function grantDirectoryReadAll(tenant: RunningTenant): void {
  const data = tenant.state().toJSON();
  for (const [id, assignment] of Object.entries(demo.data.appRoleAssignments)) {
    if (
      assignment.data.principalId === demoIds.registrarServicePrincipal &&
      assignment.data.appRoleId === DIRECTORY_READ_ALL
    )
      data.appRoleAssignments[id] = structuredClone(assignment);
  }
  tenant.replace(data);
}

export interface SeenCall {
  at: number;
  method: string;
  path: string;
  query: string;
  status?: number;
  retryAfterMs?: number;
}

/** The tenant's fault policy, recording every Graph call it judges (when, what, and the refusal if any). */
export function recordingFaults(): { policy: FaultPolicy; calls: SeenCall[] } {
  const inner = createFaultPolicy();
  const calls: SeenCall[] = [];
  const policy: FaultPolicy = {
    ...inner,
    refuse(caller, route, request) {
      const refusal = inner.refuse(caller, route, request);
      const retryAfter = refusal?.headers['retry-after'];
      calls.push({
        at: Date.now(),
        method: request.method,
        path: request.path,
        query: [...request.query.entries()]
          .map(([k, v]) => `${k}=${v}`)
          .sort()
          .join('&'),
        status: refusal?.status,
        retryAfterMs: retryAfter === undefined ? undefined : Number(retryAfter) * 1000,
      });
      return refusal;
    },
  };
  return { policy, calls };
}

export interface Harness {
  tenant: RunningTenant;
  calls: SeenCall[];
  testStore: TestStore;
  requests: RequestService;
  approvers: ApproverPolicy;
  logs: LogCapture;
  logger: Logger;
  /** A GraphProvisioner of its own: a new one is what a restarted process has. */
  provisioner(timing?: GraphTiming): GraphProvisioner;
  /** A provisioning service on this harness's store; stopped by cleanup(). */
  service(deps?: Partial<ProvisioningServiceDeps>): ProvisioningService;
  /** A request submitted by Alex and approved by Megan. */
  approved(form?: Record<string, string>): Promise<AppRequest>;
  cleanup(): Promise<void>;
}

export async function startHarness(
  options: { data?: TenantData; provisioner?: GraphTiming; logLevel?: string } = {},
): Promise<Harness> {
  const { policy: faults, calls } = recordingFaults();
  const tenant = await startTestTenant({ data: options.data ?? tenantData(), routes: allRoutes, faults });
  const testStore = await createTestStore();
  const logs = new LogCapture();
  const logger = createLogger({ level: options.logLevel ?? 'debug', destination: logs });
  const approvers = createApproverPolicy(policy.approvers, undefined);
  const services: ProvisioningService[] = [];
  const provisioner = (timing: GraphTiming = {}) =>
    new GraphProvisioner({
      graph: new GraphCaller({
        connection: registrarConnection(tenant),
        baseDelayMs: 100,
        maxDelayMs: 1000,
        stepTimeoutMs: 45_000,
        ...options.provisioner,
        ...timing,
      }),
      logger,
    });
  const forRequests = provisioner();
  const requests = createRequestService({
    store: testStore.store,
    provisioner: forRequests,
    approvers,
    clock: systemClock,
    random: deterministicRandom(testStore.tablePrefix),
    policy,
    logger,
    // The directory as the request saw it at submission, read from the tenant's state: tests here take permissions
    // away from Registrar to fail provisioning, after the request was made.
    people: {
      displayNames: async () => ({}),
      users: async (ids) =>
        ids.flatMap((id) => {
          const user = tenant.state().data.users[id.toLowerCase()]?.data;
          return user
            ? [
                {
                  id: id.toLowerCase(),
                  displayName: String(user.displayName),
                  userPrincipalName: String(user.userPrincipalName),
                },
              ]
            : [];
        }),
      usersByPrincipalName: async (upns) =>
        Object.values(tenant.state().data.users)
          .map((user) => user.data)
          .filter((user) => upns.includes(String(user.userPrincipalName).toLowerCase()))
          .map((user) => ({
            id: String(user.id).toLowerCase(),
            displayName: String(user.displayName),
            userPrincipalName: String(user.userPrincipalName),
          })),
    },
  });
  return {
    tenant,
    calls,
    testStore,
    requests,
    approvers,
    logs,
    logger,
    provisioner,
    service(deps = {}) {
      const service = createProvisioningService({
        store: testStore.store,
        provisioner: forRequests,
        approvers,
        clock: systemClock,
        logger,
        ...deps,
      });
      services.push(service);
      return service;
    },
    async approved(form = typicalForm()) {
      const submitted = await requests.submit(requester, form);
      if (!submitted.ok) throw new Error(`submission refused: ${JSON.stringify(submitted.errors)}`);
      const decision = await requests.approve(approver, submitted.request.id);
      if (decision.request.status !== 'approved')
        throw new Error(`request ${submitted.request.id} is ${decision.request.status}, not approved`);
      return decision.request;
    },
    async cleanup() {
      await Promise.all(services.map((s) => s.stop()));
      await tenant.stop();
      await testStore.cleanup();
    },
  };
}

export type ProvisionerMethod =
  | 'upsertApplication'
  | 'ensureApplicationOwners'
  | 'ensureServicePrincipal'
  | 'grantApplicationPermissions'
  | 'grantDelegatedPermissions'
  | 'assignDirectoryRole'
  | 'addCertificate'
  | 'addFederatedCredential'
  | 'ensureResourceServicePrincipal';
const provisioningMethods = new Set<string | symbol>([
  'upsertApplication',
  'ensureApplicationOwners',
  'ensureServicePrincipal',
  'grantApplicationPermissions',
  'grantDelegatedPermissions',
  'assignDirectoryRole',
  'addCertificate',
  'addFederatedCredential',
  'ensureResourceServicePrincipal',
]);

/**
 * Hands every call to `inner`; `hook` runs before each provisioning call and after it landed, and may wait (a
 * process that hangs) or throw (a process that dies, or a step that fails).
 */
export function interceptedProvisioner(
  inner: Provisioner,
  hook: (method: ProvisionerMethod, phase: 'before' | 'after') => void | Promise<void>,
): Provisioner {
  return new Proxy(inner, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      const call = (...args: unknown[]): unknown => (value as (...a: unknown[]) => unknown).apply(target, args);
      if (!provisioningMethods.has(property)) return call;
      const method = property as ProvisionerMethod;
      return async (...args: unknown[]) => {
        await hook(method, 'before');
        const result = await call(...args);
        await hook(method, 'after');
        return result;
      };
    },
  });
}

/** A promise a test resolves when it chooses. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve: (value: T) => void = () => undefined;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** What the tenant holds for one request, counted. */
export function inventory(tenant: RunningTenant, requestId: string) {
  const data = tenant.state().data;
  const apps = Object.values(data.applications).filter((a) => a.data.uniqueName === uniqueNameFor(requestId));
  const app = apps[0];
  const sps = Object.values(data.servicePrincipals).filter((sp) => app && sp.data.appId === app.data.appId);
  const spId = String(sps[0]?.data.id);
  const assignments = Object.values(data.appRoleAssignments).filter((a) => a.data.principalId === spId);
  const grants = Object.values(data.oauth2PermissionGrants).filter((g) => g.data.clientId === spId);
  const roleAssignments = Object.values(data.roleAssignments).filter((r) => r.data.principalId === spId);
  return {
    applications: apps.length,
    applicationObjectId: app?.data.id,
    appId: app?.data.appId,
    servicePrincipals: sps.length,
    servicePrincipalId: sps[0]?.data.id,
    applicationOwners: [...(app?.owners ?? [])].sort(),
    servicePrincipalOwners: [...(sps[0]?.owners ?? [])].sort(),
    appRoleIds: assignments.map((a) => String(a.data.appRoleId)).sort(),
    appRoleAssignmentIds: assignments.map((a) => String(a.data.id)).sort(),
    grants: grants.map((g) => ({
      id: g.data.id,
      resourceId: g.data.resourceId,
      consentType: g.data.consentType,
      scope: String(g.data.scope).split(' ').sort().join(' '),
    })),
    roleAssignments: roleAssignments.map((r) => ({
      id: r.data.id,
      roleDefinitionId: r.data.roleDefinitionId,
      directoryScopeId: r.data.directoryScopeId,
    })),
    keyCredentials: ((app?.data.keyCredentials as Array<{ customKeyIdentifier: string }> | undefined) ?? []).map(
      (k) => k.customKeyIdentifier,
    ),
    passwordCredentials: ((app?.data.passwordCredentials as unknown[] | undefined) ?? []).length,
  };
}

/**
 * The owners every app and service principal of a typical request ends with: the requester and the extra owner. Registrar
 * is not one: it holds Application.ReadWrite.All, and Graph makes only an OwnedBy-only caller an owner of what it creates.
 */
export const typicalOwners = [requester.aadObjectId!, extraOwnerId].sort();
export const typicalGrants = [
  { resourceId: demoIds.graphServicePrincipal, consentType: 'AllPrincipals', scope: 'Mail.Send User.Read' },
];
