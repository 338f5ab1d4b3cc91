/** Shared test data for the domain: the real Graph catalog, people, and requests at a given point of their life. */
import catalogFile from '../../../src/local/tenant/graph-permissions.json';
import type { PermissionRef, PermissionType } from '../../../src/domain/app-spec';
import { createPermissionIndex, type SearchablePermission } from '../../../src/domain/permission-search';
import { createRequest, type AppRequest, type TransitionActor } from '../../../src/domain/request';
import { graphResource, type RequestForm } from '../../../src/domain/request-form';
import { assessRisk } from '../../../src/domain/risk';

// A few entries of the source catalog have no description; the Graph adapter reads those as ''.
export const catalog: SearchablePermission[] = catalogFile.map((p) => ({
  ...p,
  type: p.type as PermissionType,
  description: p.description ?? '',
  displayName: p.displayName ?? undefined,
}));
export const catalogIndex = createPermissionIndex(catalog);

export function graphPermission(value: string, type: PermissionType): PermissionRef {
  const found = catalogIndex.byValue(value, type);
  if (!found) throw new Error(`${type} ${value} is not in the test catalog`);
  return {
    ...graphResource,
    id: found.id,
    value: found.value,
    type: found.type,
    adminConsentRequired: found.adminConsentRequired,
    description: found.description,
  };
}

export const requester: TransitionActor = {
  aadObjectId: 'a1e5c0de-0000-4000-8000-000000000020',
  name: 'Alex Wilber',
  conversationId: 'a:personal-alex',
};
export const megan: TransitionActor = {
  aadObjectId: 'a1e5c0de-0000-4000-8000-000000000021',
  name: 'Megan Bowen',
  conversationId: '19:approvals@thread.tacv2',
};
export const adele: TransitionActor = {
  aadObjectId: 'a1e5c0de-0000-4000-8000-000000000022',
  name: 'Adele Vance',
  conversationId: '19:approvals@thread.tacv2',
};

export const submittedAt = new Date('2026-03-02T09:00:00Z');
export const later = new Date('2026-03-03T10:00:00Z');

export function form(overrides: Partial<RequestForm> = {}): RequestForm {
  return {
    displayName: 'Payroll sync',
    purpose: 'Reads users nightly for payroll.',
    signInAudience: 'AzureADMyOrg',
    platform: 'none',
    redirectUris: [],
    graphPermissions: [graphPermission('User.Read.All', 'Role')],
    otherPermissions: [],
    credential: { kind: 'secret', lifetimeDays: 180 },
    additionalOwnerIds: [],
    ...overrides,
  };
}

export function submitted(options: { approvalsRequired?: number; form?: RequestForm } = {}): AppRequest {
  const f = options.form ?? form();
  return createRequest({
    id: 'F3K92M7Q',
    requester,
    form: f,
    permissions: f.graphPermissions,
    risk: assessRisk({
      permissions: f.graphPermissions,
      signInAudience: f.signInAudience,
      directoryRole: f.directoryRole,
      ...(f.exchangeRbac ? { exchangeRbac: f.exchangeRbac } : {}),
      credential: f.credential,
    }),
    approvalsRequired: options.approvalsRequired ?? 1,
    pendingTtlDays: 7,
    now: submittedAt,
  }).request;
}
