import type { AdaptiveCard } from '../../../src/cards/adaptive-card';
import { renderChannelSet, renderHelp, renderNotice, renderWelcome } from '../../../src/cards/cards';
import {
  renderOwnerReminder,
  renderReminderDigest,
  renderReminderRoutes,
  renderRotationCleanup,
  splitDigest,
  type RotationCleanupView,
} from '../../../src/cards/reminder-cards';
import { renderApproval } from '../../../src/cards/approval-card';
import { renderDelivery } from '../../../src/cards/delivery-card';
import { renderFederateCard } from '../../../src/cards/federate-card';
import { renderRequestForm, type RequestFormView } from '../../../src/cards/request-form-card';
import { renderRequestList, type MyAppView } from '../../../src/cards/request-list-card';
import { renderRequestStatus } from '../../../src/cards/request-status-card';
import { commands } from '../../../src/domain/commands';
import { findDirectoryRole } from '../../../src/domain/directory-roles';
import type { ExpiringCredential } from '../../../src/domain/expiry';
import {
  createFederation,
  createRotation,
  registrarActor,
  transition,
  type AppRequest,
  type AuditEvent,
  type Delivery,
  type RequestEvent,
  type StepResult,
  type TransitionActor,
} from '../../../src/domain/request';
import { parseFederatedWorkload } from '../../../src/domain/federated-credential';
import type { RequestForm } from '../../../src/domain/request-form';
import { adele, catalogIndex, form, graphPermission, later, megan, requester, submitted } from '../domain/fixtures';

/**
 * Representative renders of every template in adaptiveCards/, keyed by file name without `.json`. A template
 * without an entry here fails cards-valid.test.ts: add one when you add a template.
 */
export const samples: Record<string, Array<{ label: string; render: () => AdaptiveCard }>> = {
  help: [{ label: 'the full command list', render: () => renderHelp({ commands }) }],
  'welcome-personal': [
    { label: 'with a name', render: () => renderWelcome({ scope: 'personal', name: 'Adele Vance' }) },
    { label: 'without a name', render: () => renderWelcome({ scope: 'personal' }) },
  ],
  'welcome-team': [
    { label: 'with a team name', render: () => renderWelcome({ scope: 'team', name: 'Contoso Apps' }) },
    { label: 'without a team name', render: () => renderWelcome({ scope: 'team' }) },
  ],
  'channel-set': [
    {
      label: 'approvals, replacing another channel',
      render: () =>
        renderChannelSet({
          purpose: 'approvals',
          channelName: 'App approvals',
          teamName: 'Contoso Apps',
          setBy: 'Megan Bowen',
          setAt: new Date('2026-11-23T09:15:00Z'),
          replaced: { channelName: 'General', teamName: 'Contoso Apps' },
        }),
    },
    {
      label: 'reminders, first time, no names known',
      render: () => renderChannelSet({ purpose: 'reminders', setBy: 'Megan Bowen', setAt: '2026-11-23T09:15:00Z' }),
    },
  ],
  notice: [
    {
      label: 'info',
      render: () => renderNotice({ tone: 'info', title: 'Nothing to do', text: 'You have no requests yet.' }),
    },
    {
      label: 'refusal',
      render: () =>
        renderNotice({
          tone: 'refusal',
          title: 'Not allowed',
          text: 'Only operators can set up channels.\nAsk an operator.',
        }),
    },
    {
      label: 'error with a reference',
      render: () =>
        renderNotice({
          tone: 'error',
          title: 'Something went wrong',
          text: 'Registrar could not save this.',
          reference: 'c0ffee12-3456',
        }),
    },
  ],
  'request-form': [
    { label: 'a fresh form', render: () => renderRequestForm(formView()) },
    { label: 'a fresh form in Teams, with type-ahead', render: () => renderRequestForm(formView({ typeahead: true })) },
    {
      label: 'after Find, with choices and a filter',
      render: () =>
        renderRequestForm(formView({ ...found('mail'), values: { name: 'Mailer', permissionFilter: 'mail' } })),
    },
    { label: 'with every field in error', render: () => renderRequestForm(invalidFormView()) },
    {
      label: 'with a name prefix and a notice',
      render: () =>
        renderRequestForm(formView({ policy: { ...policy, namePrefix: 'app-' }, notice: 'Your values were kept.' })),
    },
  ],
  'request-status': [
    {
      label: 'submitted, for the requester',
      render: () => renderRequestStatus({ request: requests.submitted(), viewer: 'requester' }),
    },
    {
      label: 'provisioning, half way',
      render: () => renderRequestStatus({ request: requests.provisioning(), viewer: 'requester' }),
    },
    { label: 'failed', render: () => renderRequestStatus({ request: requests.failed(), viewer: 'requester' }) },
    {
      label: 'delivered, with the audit trail',
      render: () =>
        renderRequestStatus({ request: requests.delivered(), viewer: 'other', tenantId, audit: trail('delivered') }),
    },
    {
      label: 'rejected',
      render: () =>
        renderRequestStatus({
          request: requests.rejected(),
          viewer: 'requester',
          notice: 'Request F3K92M7Q was rejected.',
        }),
    },
    { label: 'expired', render: () => renderRequestStatus({ request: requests.expired(), viewer: 'requester' }) },
    { label: 'cancelled', render: () => renderRequestStatus({ request: requests.cancelled(), viewer: 'requester' }) },
  ],
  'request-list': [
    {
      label: 'my requests',
      render: () =>
        renderRequestList({
          title: 'Your requests',
          requests: Object.values(requests).map((make) => make()),
          empty: 'None.',
        }),
    },
    {
      label: 'mine: apps with their credentials, some unread, more not shown',
      render: () =>
        renderRequestList({
          title: 'Your apps and requests',
          apps: { items: myAppViews(), notShown: 3, now: scanAt },
          requests: [requests.delivered()],
          empty: 'None.',
        }),
    },
    {
      label: 'mine: no apps and no requests',
      render: () =>
        renderRequestList({
          title: 'Your apps and requests',
          apps: { items: [], notShown: 0, now: scanAt },
          requests: [],
          empty: 'None.',
        }),
    },
    {
      label: 'nothing pending',
      render: () =>
        renderRequestList({
          title: 'Waiting for your decision',
          requests: [],
          empty: 'Nothing waits for your decision.',
        }),
    },
  ],
  approval: [
    {
      label: 'submitted, for everyone',
      render: () => renderApproval({ request: requests.submitted(), mode: 'everyone', refreshUserIds: approverIds }),
    },
    {
      label: 'submitted, for an approver',
      render: () =>
        renderApproval({
          request: requests.submitted(),
          mode: 'approver',
          refreshUserIds: approverIds,
          message: 'You have already approved this request.',
        }),
    },
    {
      label: 'provisioning, for everyone',
      render: () => renderApproval({ request: requests.provisioning(), mode: 'everyone', refreshUserIds: [] }),
    },
    {
      label: 'failed, for an approver',
      render: () => renderApproval({ request: requests.failed(), mode: 'approver', refreshUserIds: approverIds }),
    },
    {
      label: 'delivered, for everyone',
      render: () => renderApproval({ request: requests.delivered(), mode: 'everyone', refreshUserIds: approverIds }),
    },
    {
      label: 'rejected, for everyone',
      render: () => renderApproval({ request: requests.rejected(), mode: 'everyone', refreshUserIds: approverIds }),
    },
    {
      label: 'a rotation waiting, for an approver',
      render: () => renderApproval({ request: rotationRequest(), mode: 'approver', refreshUserIds: approverIds }),
    },
    {
      label: 'a low-risk certificate request',
      render: () => renderApproval({ request: requests.certificate(), mode: 'approver', refreshUserIds: approverIds }),
    },
    {
      label: 'a federated credential for GitHub Actions, for an approver',
      render: () => renderApproval({ request: requests.federated(), mode: 'approver', refreshUserIds: approverIds }),
    },
    {
      label: '30 redirect URIs and 20 named owners, for an approver',
      render: () => renderApproval({ request: requests.wide(20), mode: 'approver', refreshUserIds: approverIds }),
    },
  ],
  delivery: [
    {
      label: 'a secret, ready to reveal',
      render: () => renderDelivery({ request: requests.provisioned(), tenantId, state: 'ready' }),
    },
    {
      label: 'a secret, revealed and working',
      render: () =>
        renderDelivery({ request: requests.provisioned(), tenantId, state: 'revealed', secret: revealedSecret }),
    },
    {
      label: 'a secret, revealed and pending',
      render: () =>
        renderDelivery({
          request: requests.provisioned(),
          tenantId,
          state: 'revealed',
          secret: { ...revealedSecret, check: 'pending' },
        }),
    },
    {
      label: 'a secret, stored, with a message',
      render: () =>
        renderDelivery({
          request: requests.delivered(),
          tenantId,
          state: 'stored',
          message: 'This secret was already revealed. To get a new one, ask for a rotation with `rotate Payroll sync`.',
        }),
    },
    {
      label: 'a certificate',
      render: () => renderDelivery({ request: requests.certificate('delivered'), tenantId, state: 'ready' }),
    },
    {
      label: 'no credential',
      render: () => renderDelivery({ request: requests.publicClient(), tenantId, state: 'ready' }),
    },
    {
      label: 'a federated credential for GitHub Actions',
      render: () => renderDelivery({ request: requests.federated('delivered'), tenantId, state: 'ready' }),
    },
    {
      label: 'a federated credential for Kubernetes',
      render: () =>
        renderDelivery({ request: requests.federated('delivered', kubernetesWorkload), tenantId, state: 'ready' }),
    },
    {
      label: 'a federated credential of another issuer, in local mode',
      render: () =>
        renderDelivery({
          request: requests.federated('delivered', otherWorkload),
          tenantId,
          state: 'ready',
          endpoints: { login: 'https://127.0.0.1:8443', graph: 'https://127.0.0.1:8443', caFile: '/srv/ca.pem' },
        }),
    },
    {
      label: 'a secret in local mode, with the local CA for curl',
      render: () =>
        renderDelivery({
          request: requests.provisioned(),
          tenantId,
          state: 'ready',
          endpoints: {
            login: 'https://127.0.0.1:8443',
            graph: 'https://127.0.0.1:8443',
            caFile: '/srv/my data/ca-bundle.pem',
          },
        }),
    },
    {
      label: 'a rotation, ready',
      render: () => renderDelivery({ request: ownerRotation('provisioned'), tenantId, state: 'ready' }),
    },
    {
      label: 'a rotation, revealed',
      render: () =>
        renderDelivery({ request: ownerRotation('provisioned'), tenantId, state: 'revealed', secret: revealedSecret }),
    },
    {
      label: 'a rotation, stored',
      render: () => renderDelivery({ request: ownerRotation('delivered'), tenantId, state: 'stored' }),
    },
  ],
  'reminder-routes': [
    {
      label: 'three rules and the default channel',
      render: () =>
        renderReminderRoutes({
          routes: [
            {
              rule: { kind: 'tag', tag: 'payments' },
              place: { channelName: 'Payments', teamName: 'Finance' },
              setBy: 'Alex Wilber',
              setAt: '2026-11-23T09:15:00Z',
            },
            {
              rule: { kind: 'prefix', prefix: 'hr-' },
              place: { channelName: 'HR apps' },
              setBy: 'Alex Wilber',
              setAt: '2026-11-23T09:16:00Z',
            },
            {
              rule: {
                kind: 'group',
                groupId: 'a1e5c0de-0000-4000-8000-000000000032',
                groupName: 'Registrar approvers',
              },
              place: {},
              setBy: 'Megan Bowen',
              setAt: '2026-11-24T10:00:00Z',
            },
          ],
          defaultPlace: { channelName: 'Credential reminders', teamName: 'IT Operations' },
        }),
    },
    { label: 'no rules, no default channel', render: () => renderReminderRoutes({ routes: [] }) },
  ],
  'reminder-digest': [
    {
      label: 'every urgency, named and unnamed owners',
      render: () => renderReminderDigest({ credentials: expiringMix(), scanAt, ownerNames }),
    },
    {
      label: 'part 2 of 3',
      render: () =>
        renderReminderDigest({
          credentials: expiringMix().slice(2, 4),
          scanAt,
          ownerNames,
          part: { index: 2, count: 3 },
        }),
    },
    {
      label: 'the last card of 500 credentials split',
      render: () => splitDigest(manyExpiring(500), { scanAt, ownerNames: manyOwnerNames }).at(-1)!,
    },
    { label: 'nothing expiring', render: () => renderReminderDigest({ credentials: [], scanAt }) },
  ],
  'owner-reminder': [
    {
      label: 'two credentials, with a name',
      render: () => renderOwnerReminder({ credentials: expiringMix().slice(0, 2), ownerName: 'Megan Bowen' }),
    },
    { label: 'more than it lists', render: () => renderOwnerReminder({ credentials: manyExpiring(45) }) },
  ],
  federate: [
    {
      label: 'an owner, adding straight away',
      render: () =>
        renderFederateCard({
          appId: 'a1e5c0de-0000-4000-9000-000000000203',
          appName: 'Expense Bot',
          askedAs: 'owner',
          existing: 0,
        }),
    },
    {
      label: 'someone asking the approvers, with a refused field',
      render: () =>
        renderFederateCard({
          appId: 'a1e5c0de-0000-4000-9000-000000000203',
          appName: 'Expense Bot',
          askedAs: 'approval',
          approvalReason: 'the person asking does not own the app in Entra ID',
          existing: 19,
          values: { federatedWorkload: 'other', federatedIssuer: 'https://issuer.example.com', federatedSubject: 'a*' },
          errors: { federatedSubject: 'Entra ID matches the subject exactly and has no wildcards here.' },
        }),
    },
  ],
  'rotation-cleanup': [
    { label: 'asking, a secret replaced', render: () => renderRotationCleanup(cleanupView()) },
    { label: 'removed', render: () => renderRotationCleanup(cleanupView({ state: 'removed' })) },
    {
      label: 'kept, with a message',
      render: () =>
        renderRotationCleanup(cleanupView({ state: 'kept', message: 'The old secret stays until it expires.' })),
    },
    {
      label: 'asking, a certificate replaced by a secret',
      render: () =>
        renderRotationCleanup(
          cleanupView({
            old: {
              kind: 'certificate',
              keyId: 'c0ffee00-0000-4000-8000-0000000000c1',
              thumbprint: '3F2A9C7B1D4E5F60718293A4B5C6D7E8F9012345',
              endDateTime: '2026-11-25T00:00:00Z',
            },
          }),
        ),
    },
  ],
};

// ---------------------------------------------------------------------------------------------------------------
// Request fixtures for the request cards (also used by the tests of each request card)

export const kubernetesWorkload = {
  federatedWorkload: 'kubernetes',
  federatedIssuer:
    'https://westeurope.oic.prod-aks.azure.com/7f3c2a10-5d4e-4b8a-9c61-2e0f1a3b4c5d/c0ffee00-0000-4000-8000-000000000001/',
  kubernetesNamespace: 'payments',
  kubernetesServiceAccount: 'payments-api',
};
export const otherWorkload = {
  federatedWorkload: 'other',
  federatedIssuer: 'https://oidc.example.com',
  federatedSubject: 'deploy-bot',
};

export const tenantId = '7f3c2a10-5d4e-4b8a-9c61-2e0f1a3b4c5d';
export const appId = '5b2e9c47-1f3a-4d6b-8e90-a1b2c3d4e5f6';
export const approverIds = ['29:1megan-teams-id', '29:1adele-teams-id'];
export const policy = { secretMaxDays: 365, secretDefaultDays: 180 };
export const revealedSecret = {
  text: 'Q_e8Q~ZDWJD.bkgajbREp-VFFUayCuEk8b1hDcr9',
  hint: 'Q_e',
  endDateTime: '2026-08-30T10:00:00Z',
  check: 'works',
} as const;
export const ownerIds = ['a1e5c0de-0000-4000-8000-000000000031', 'a1e5c0de-0000-4000-8000-000000000032'];

/** A high-risk request: Mail.Send as an application, a web platform, a directory role, two more owners, two approvals. */
export function riskyForm(overrides: Partial<RequestForm> = {}): RequestForm {
  return form({
    displayName: 'Payroll sync',
    purpose: 'Sends payslips to employees every month.\nReads users to find their managers.',
    platform: 'web',
    redirectUris: ['https://payroll.contoso.com/auth/callback', 'http://localhost:5000/callback'],
    graphPermissions: [
      graphPermission('User.Read', 'Scope'),
      graphPermission('User.Read.All', 'Role'),
      graphPermission('Mail.Send', 'Role'),
    ],
    additionalOwnerIds: ownerIds,
    directoryRole: findDirectoryRole('fe930be7-5e62-47db-91af-98c3a49a38b1'),
    ...overrides,
  });
}

const secretDelivery: Delivery = {
  kind: 'secret',
  keyId: 'b7d0f8a2-0000-4000-8000-00000000000a',
  hint: 'Q_e',
  endDateTime: '2026-08-30T10:00:00Z',
  revealedAt: '2026-03-03T10:05:00Z',
};
export const federatedCredentialId = 'fede7a7e-0000-4000-8000-0000000000f1';
const certificateSpec = {
  derBase64: 'MIIB',
  thumbprint: '3F2A9C7B1D4E5F60718293A4B5C6D7E8F9012345',
  subject: 'CN=payroll-sync',
  notBefore: '2026-03-01T00:00:00Z',
  notAfter: '2027-03-01T00:00:00Z',
};

type Step = [RequestEvent, TransitionActor, Date?];
const stepResults = (f: RequestForm): StepResult[] => [
  { step: 'application', applicationObjectId: '0c1d2e3f-0000-4000-8000-0000000000a1', appId },
  { step: 'owners', ownerIds: [requester.aadObjectId, ...f.additionalOwnerIds] },
  { step: 'servicePrincipal', servicePrincipalId: '0c1d2e3f-0000-4000-8000-0000000000b2' },
  { step: 'consent', appRoleAssignmentIds: ['ara-1', 'ara-2'], oauth2PermissionGrantIds: ['grant-1'] },
  ...(f.directoryRole ? [{ step: 'directoryRole', roleAssignmentId: 'role-1' } as const] : []),
  ...(f.credential.kind === 'certificate'
    ? [{ step: 'certificate', thumbprint: f.credential.certificate.thumbprint } as const]
    : []),
  ...(f.credential.kind === 'federated'
    ? [
        {
          step: 'federatedCredential',
          credentialId: federatedCredentialId,
          name: f.credential.credential.name,
        } as const,
      ]
    : []),
];
const approvals: Step[] = [
  [{ type: 'approve' }, megan],
  [{ type: 'approve' }, adele],
];
const provisioned = (f: RequestForm): Step[] => [
  ...approvals,
  [{ type: 'startProvisioning' }, registrarActor],
  ...stepResults(f).map((result): Step => [{ type: 'completeStep', result }, registrarActor]),
  [{ type: 'succeed' }, registrarActor],
];
const afterExpiry = new Date('2026-03-10T09:00:00Z');

/** The moves that bring a request of `riskyForm()` to each state. */
const paths: Record<string, (f: RequestForm) => Step[]> = {
  submitted: () => [[{ type: 'approve' }, megan]],
  provisioning: (f) => [
    ...approvals,
    [{ type: 'startProvisioning' }, registrarActor],
    ...stepResults(f)
      .slice(0, 2)
      .map((result): Step => [{ type: 'completeStep', result }, registrarActor]),
  ],
  failed: (f) => [
    ...paths.provisioning!(f),
    [
      {
        type: 'fail',
        message:
          'Granting Mail.Send failed: Graph answered 403 Authorization_RequestDenied. Give Registrar the AppRoleAssignment.ReadWrite.All permission, then retry.',
      },
      registrarActor,
    ],
  ],
  provisioned,
  delivered: (f) => [...provisioned(f), [{ type: 'deliver', delivery: secretDelivery }, requester]],
  rejected: () => [
    [
      {
        type: 'reject',
        reason: 'Mail.Send as an application is too broad.\nUse a shared mailbox with an access policy.',
      },
      megan,
    ],
  ],
  expired: () => [[{ type: 'expire' }, registrarActor, afterExpiry]],
  cancelled: () => [[{ type: 'cancel' }, requester]],
};

/** A request of `f` moved along `steps`, and the audit events of every move (the submission's first). */
export function requestAfter(
  f: RequestForm,
  steps: Step[],
  approvalsRequired = 2,
): { request: AppRequest; audit: AuditEvent[] } {
  const first = submitted({ form: f, approvalsRequired });
  const audit: AuditEvent[] = [
    {
      at: first.createdAt,
      by: first.requester,
      event: 'submit',
      from: null,
      to: 'submitted',
      detail: `submitted "${f.displayName}" (${first.risk.level} risk)`,
    },
  ];
  const request = steps.reduce((r, [event, actor, at]) => {
    const result = transition(r, event, actor, at ?? later);
    if (!result.changed)
      throw new Error(`fixture move ${event.type} from ${r.status} changed nothing: ${result.message}`);
    audit.push(result.audit);
    return result.request;
  }, first);
  return { request, audit };
}

export const trail = (state: string) => requestAfter(riskyForm(), paths[state]!(riskyForm())).audit;

export const requests = {
  submitted: () => requestAfter(riskyForm(), paths.submitted!(riskyForm())).request,
  provisioning: () => requestAfter(riskyForm(), paths.provisioning!(riskyForm())).request,
  failed: () => requestAfter(riskyForm(), paths.failed!(riskyForm())).request,
  provisioned: () => requestAfter(riskyForm(), paths.provisioned!(riskyForm())).request,
  delivered: () => requestAfter(riskyForm(), paths.delivered!(riskyForm())).request,
  rejected: () => requestAfter(riskyForm(), paths.rejected!(riskyForm())).request,
  expired: () => requestAfter(riskyForm(), paths.expired!(riskyForm())).request,
  cancelled: () => requestAfter(riskyForm(), paths.cancelled!(riskyForm())).request,
  /** The risky request with Mail.Send scoped in Exchange (RBAC for Applications) to one mailbox. */
  scoped: (state: 'submitted' | 'provisioned' = 'submitted') => {
    const f = riskyForm({ exchangeRbac: { mailboxes: ['payroll@contoso.com'] } });
    return requestAfter(f, paths[state]!(f)).request;
  },
  /** A low-risk daemon with a certificate and one delegated permission, submitted or delivered. */
  certificate: (state: 'submitted' | 'delivered' = 'submitted') => {
    const f = form({
      platform: 'none',
      graphPermissions: [graphPermission('User.Read', 'Scope')],
      credential: { kind: 'certificate', certificate: certificateSpec },
    });
    const delivered: Step[] = [
      ...provisioned(f).slice(1),
      [
        {
          type: 'deliver',
          delivery: {
            kind: 'certificate',
            thumbprint: certificateSpec.thumbprint,
            deliveredAt: '2026-03-03T10:05:00Z',
          },
        },
        registrarActor,
      ],
    ];
    return requestAfter(f, state === 'submitted' ? [] : delivered, 1).request;
  },
  /**
   * Waiting, with 30 redirect URIs and the additional owners as the directory named them at submission (ownerDetails);
   * `owners` more owners than the usual two, up to the form's 20.
   */
  wide: (owners = ownerIds.length) => {
    const ids = Array.from(
      { length: owners },
      (_, i) => ownerIds[i] ?? `a1e5c0de-0000-4000-8000-0000000001${String(i).padStart(2, '0')}`,
    );
    const f = riskyForm({
      redirectUris: Array.from({ length: 30 }, (_, i) => `https://payroll${i}.contoso.com/auth/callback`),
      additionalOwnerIds: ids,
    });
    const people = ['Megan Bowen', 'Adele Vance', 'Isaiah Langer', 'Lidia Holloway', 'Nestor Wilke'];
    const request = requestAfter(f, paths.submitted!(f)).request;
    return {
      ...request,
      ownerDetails: ids.map((id, i) => {
        const name = `${people[i % people.length]}${i >= people.length ? ` ${i}` : ''}`;
        return { id, displayName: name, userPrincipalName: `${name.replace(/ /g, '.')}@contoso.onmicrosoft.com` };
      }),
    };
  },
  /**
   * A daemon whose credential is federated: `workload` is what the form would give (GitHub Actions of
   * contoso/payments in environment production unless told), submitted or delivered.
   */
  federated: (
    state: 'submitted' | 'delivered' = 'submitted',
    workload: Record<string, string> = {
      federatedWorkload: 'github',
      githubOrganization: 'contoso',
      githubRepository: 'payments',
      githubEntity: 'environment',
      githubEntityName: 'production',
    },
  ) => {
    const parsed = parseFederatedWorkload(workload);
    if (!parsed.ok) throw new Error(`fixture workload does not parse: ${JSON.stringify(parsed.errors)}`);
    const f = form({
      displayName: 'Payments deploy',
      platform: 'none',
      graphPermissions: [graphPermission('User.Read', 'Scope')],
      credential: { kind: 'federated', workload: parsed.workload, credential: parsed.credential },
    });
    const delivered: Step[] = [
      ...provisioned(f).slice(1),
      [
        {
          type: 'deliver',
          delivery: {
            kind: 'federated',
            credentialId: federatedCredentialId,
            issuer: parsed.credential.issuer,
            subject: parsed.credential.subject,
            deliveredAt: '2026-03-03T10:05:00Z',
          },
        },
        registrarActor,
      ],
    ];
    return requestAfter(f, state === 'submitted' ? [] : delivered, 1).request;
  },
  /** A single-page app with no credential, delivered. */
  publicClient: () => {
    const f = form({
      platform: 'spa',
      redirectUris: ['https://app.contoso.com'],
      graphPermissions: [graphPermission('User.Read', 'Scope')],
      credential: { kind: 'none' },
    });
    return requestAfter(
      f,
      [
        ...provisioned(f).slice(1),
        [{ type: 'deliver', delivery: { kind: 'none', deliveredAt: '2026-03-03T10:05:00Z' } }, registrarActor],
      ],
      1,
    ).request;
  },
};

/** What the Find action gives the form: the search results for `query`. */
export function found(query: string, limit = 25): Pick<RequestFormView, 'matches' | 'matchesTotal' | 'filter'> {
  const result = catalogIndex.search(query, { limit });
  return { matches: result.items, matchesTotal: result.total, filter: query };
}

export function formView(overrides: Partial<RequestFormView> = {}): RequestFormView {
  return {
    requestId: 'F3K92M7Q',
    values: {},
    errors: {},
    policy,
    selected: [],
    matches: [],
    matchesTotal: 0,
    ...overrides,
  };
}

/** A form sent back with a message for every field, the values kept, and one permission chosen. */
export function invalidFormView(): RequestFormView {
  const mailSend = catalogIndex.byValue('Mail.Send', 'Role')!;
  return formView({
    values: {
      name: 'Payroll sync',
      purpose: 'Sends payslips.',
      audience: 'AzureADMultipleOrgs',
      platform: 'web',
      redirectUris: 'http://payroll.contoso.com/callback',
      permissions: mailSend.id,
      otherPermissions: 'not a line',
      permissionFilter: 'user',
      credential: 'certificate',
      secretDays: '900',
      certificatePem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----',
      owners: ownerIds.join(','),
      directoryRole: 'fe930be7-5e62-47db-91af-98c3a49a38b1',
      publicClientFlows: 'true',
      target: 'b2c',
      targetOwners: 'admin@contosob2c.onmicrosoft.com',
      oidcConsent: 'declare',
    },
    targets: [{ key: 'b2c', name: 'Contoso B2C' }],
    errors: {
      form: 'This form belongs to another request. Open a new one with `request`.',
      name: 'The app name is already taken.',
      purpose: 'The purpose is required.',
      audience: 'Choose who can sign in.',
      platform: 'Choose a platform.',
      redirectUris: 'Use https, except for http://localhost.',
      permissions: 'Registrar does not know the Microsoft Graph permission 1234.',
      otherPermissions: 'Write each line as: resource app id, permission name, application or delegated.',
      permissionFilter: 'Search for at most 100 characters.',
      credential: 'Choose a credential.',
      secretDays: 'A client secret may live at most 365 days here.',
      certificatePem: 'The certificate could not be read.',
      federatedWorkload: 'Choose what will act as the app.',
      githubOrganization: 'A GitHub organisation name is at most 39 characters.',
      githubRepository: 'The repository is required.',
      githubEntity: 'Choose which runs may act as the app.',
      githubEntityName: 'The branch name holds a wildcard.',
      kubernetesNamespace: 'A Kubernetes namespace is at most 63 lower-case letters.',
      kubernetesServiceAccount: 'The service account is required.',
      federatedIssuer: 'The issuer URL must start with https://.',
      federatedSubject: 'The subject is required.',
      owners: 'Name at most 20 additional owners.',
      directoryRole: 'Choose a directory role from the list, or none.',
      exchangeRbac: 'Choose how mailbox permissions are granted.',
      exchangeMailboxes: 'payroll@ is not a mailbox address Registrar accepts.',
      publicClientFlows: 'Device code and desktop sign-in are for mobile and desktop apps.',
      target: 'Choose where the app is created from the list.',
      targetOwners: 'nobody@contosob2c.onmicrosoft.com is not a user in Contoso B2C.',
      oidcConsent: 'Choose whether openid and offline_access get admin consent.',
    },
    selected: [mailSend],
    ...found('user'),
    ownerNames: { [ownerIds[0]!]: 'Megan Bowen' },
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Expiring credentials for the reminder cards (also used by reminder-cards.test.ts)

export const scanAt = new Date('2026-11-23T06:00:00Z');
export const ownerNames: Record<string, string> = { [ownerIds[0]!]: 'Megan Bowen', [ownerIds[1]!]: 'Adele Vance' };
/** An owner the directory gave no name for. */
export const unnamedOwnerId = 'a1e5c0de-0000-4000-8000-000000000039';

export function expiring(overrides: Partial<ExpiringCredential> = {}): ExpiringCredential {
  return {
    applicationObjectId: '0c1d2e3f-0000-4000-8000-0000000000a1',
    appId,
    appName: 'Payroll sync',
    kind: 'secret',
    keyId: 'b7d0f8a2-0000-4000-8000-00000000000a',
    displayName: 'Production',
    hint: 'Q_e',
    endDateTime: '2026-11-30T10:00:00Z',
    managed: true,
    source: 'application',
    samlSigning: false,
    daysLeft: 7,
    threshold: 7,
    ownerIds: [ownerIds[0]!],
    ...overrides,
  };
}

/** One credential at each urgency, out of order: a certificate expired 3 days ago, secrets due in 1, 7, 30 and 60 days. */
export function expiringMix(): ExpiringCredential[] {
  return [
    expiring({
      keyId: 'k-30',
      appName: 'Timesheets',
      appId: '11111111-0000-4000-8000-000000000030',
      daysLeft: 25,
      threshold: 30,
      endDateTime: '2026-12-18T10:00:00Z',
      ownerIds: [],
    }),
    expiring({
      keyId: 'k-expired',
      appName: 'Badge reader',
      appId: '11111111-0000-4000-8000-000000000000',
      kind: 'certificate',
      hint: undefined,
      thumbprint: '3F2A9C7B1D4E5F60718293A4B5C6D7E8F9012345',
      displayName: 'CN=badge-reader',
      daysLeft: -4,
      threshold: 0,
      endDateTime: '2026-11-19T22:00:00Z',
      ownerIds: [ownerIds[0]!, unnamedOwnerId],
    }),
    expiring({ keyId: 'k-7', daysLeft: 6, threshold: 7, endDateTime: '2026-11-29T10:00:00Z', ownerIds: [...ownerIds] }),
    expiring({
      keyId: 'k-1',
      appName: 'Door sync',
      appId: '11111111-0000-4000-8000-000000000001',
      daysLeft: 0,
      threshold: 1,
      endDateTime: '2026-11-23T20:00:00Z',
      ownerIds: [ownerIds[1]!],
    }),
    expiring({
      keyId: 'k-60',
      appName: 'Wiki bot',
      appId: '11111111-0000-4000-8000-000000000060',
      daysLeft: 59,
      threshold: 60,
      endDateTime: '2027-01-21T10:00:00Z',
      displayName: undefined,
    }),
  ];
}

const thresholdCycle = [0, 1, 7, 14, 30, 60];
const guid = (prefix: string, i: number) => `${prefix}-0000-4000-8000-${String(i).padStart(12, '0')}`;
/** Owners of the generated credentials: three per credential from a pool of 40 named people. */
export const manyOwnerNames: Record<string, string> = Object.fromEntries(
  Array.from({ length: 40 }, (_, i) => [guid('0a0a0a0a', i), `Owner Person-${i} Contoso-Admins`]),
);

/** `count` credentials spread over every urgency, each of its own app, with realistic lengths. */
export function manyExpiring(count: number): ExpiringCredential[] {
  return Array.from({ length: count }, (_, i) => {
    const threshold = thresholdCycle[i % thresholdCycle.length]!;
    const daysLeft = threshold === 0 ? -1 - (i % 9) : Math.max(0, threshold - 1 - (i % 3));
    return expiring({
      applicationObjectId: guid('0c0c0c0c', i),
      appId: guid('a9a9a9a9', i),
      appName: `Line-of-business integration ${i} (finance, EMEA)`,
      keyId: guid('4e4e4e4e', i),
      kind: i % 4 === 3 ? 'certificate' : 'secret',
      hint: i % 4 === 3 ? undefined : 'Xy7',
      thumbprint: i % 4 === 3 ? 'A1B2C3D4E5F60718293A4B5C6D7E8F9012345678' : undefined,
      displayName: `Rotated by pipeline ${i}`,
      daysLeft,
      threshold,
      endDateTime: new Date(scanAt.getTime() + (daysLeft + 0.5) * 86_400_000).toISOString(),
      ownerIds: [0, 1, 2].map((k) => guid('0a0a0a0a', (i + k * 7) % 40)),
    });
  });
}

export function cleanupView(overrides: Partial<RotationCleanupView> = {}): RotationCleanupView {
  return {
    requestId: 'R7T2K9M4',
    appName: 'Payroll sync',
    appId,
    old: {
      kind: 'secret',
      keyId: 'b7d0f8a2-0000-4000-8000-00000000000a',
      hint: 'Q_e',
      endDateTime: '2026-11-30T10:00:00Z',
      displayName: 'Production',
    },
    newSecret: { hint: 'Xy7', endDateTime: '2027-05-29T10:00:00Z' },
    state: 'ask',
    ...overrides,
  };
}

/** Expense Bot, whose secret the rotation samples replace. */
const expenseBotTarget = {
  applicationObjectId: 'a1e5c0de-0000-4000-9000-000000000103',
  appId: 'a1e5c0de-0000-4000-9000-000000000203',
  appName: 'Expense Bot',
  old: {
    kind: 'secret',
    keyId: 'b1e5c0de-0000-4000-9000-000000000001',
    hint: 'Ex3',
    endDateTime: '2026-11-30T08:00:00Z',
    displayName: 'Expense Bot secret',
  },
} as const;

/**
 * An owner's rotation of Expense Bot (no approval needed), moved to `status`: provisioned (the new secret ready to
 * reveal), or delivered (revealed, with its hint and expiry).
 */
export function ownerRotation(status: 'approved' | 'provisioned' | 'delivered' = 'provisioned'): AppRequest {
  const created = createRotation({
    id: 'DNH5ZYME',
    requester,
    target: { ...expenseBotTarget, askedAs: 'owner' },
    lifetimeDays: 180,
    risk: { level: 'low', items: [], notes: [] },
    approvalsRequired: 1,
    pendingTtlDays: 7,
    now: new Date('2026-11-23T08:00:00Z'),
  }).request;
  const steps: Step[] = [
    [{ type: 'startProvisioning' }, registrarActor],
    [{ type: 'succeed' }, registrarActor],
    [
      {
        type: 'deliver',
        delivery: {
          kind: 'secret',
          keyId: 'b1e5c0de-0000-4000-9000-000000000002',
          hint: 'Xy7',
          endDateTime: '2027-05-22T08:05:00Z',
          revealedAt: '2026-11-23T08:05:00Z',
        },
      },
      requester,
    ],
  ];
  const count = { approved: 0, provisioned: 2, delivered: 3 }[status];
  return steps.slice(0, count).reduce((r, [event, actor]) => {
    const result = transition(r, event, actor, new Date('2026-11-23T08:05:00Z'));
    if (!result.changed) throw new Error(`fixture move ${event.type} from ${r.status} changed nothing`);
    return result.request;
  }, created);
}

/** `mine`'s apps, as of scanAt (23 Nov 2026, 06:00 UTC): one with a secret and a certificate, one unread. */
export function myAppViews(): MyAppView[] {
  return [
    {
      appId: 'a1e5c0de-0000-4000-9000-000000000203',
      name: 'Expense Bot',
      rotations: [{ status: 'delivered', createdAt: '2026-11-20T08:00:00Z' }],
      credentials: [
        expiring({
          kind: 'secret',
          displayName: 'Expense Bot secret',
          hint: 'Ex3',
          endDateTime: '2026-11-30T08:00:00Z',
        }),
        expiring({
          kind: 'certificate',
          displayName: 'CN=expense-bot',
          hint: undefined,
          thumbprint: '3F2A9C7B1D4E5F60718293A4B5C6D7E8F9012345',
          endDateTime: '2027-03-01T00:00:00Z',
        }),
      ],
    },
    {
      appId,
      name: 'Payroll sync',
      rotations: [],
      unread: 'Registrar could not read its credentials just now; try again in a minute.',
    },
  ];
}

/** A rotation of an existing app's secret that needs an approver (ROTATION_NEEDS_APPROVAL); `risk` is the app's standing. */
/** `federate Expense Bot` by someone who does not own it: a GitHub Actions workload, waiting for approvers. */
export function federationRequest(risk: AppRequest['risk'] = { level: 'low', items: [], notes: [] }): AppRequest {
  const parsed = parseFederatedWorkload({
    federatedWorkload: 'github',
    githubOrganization: 'contoso',
    githubRepository: 'expenses',
    githubEntity: 'branch',
    githubEntityName: 'main',
  });
  if (!parsed.ok) throw new Error('the sample workload is refused');
  return createFederation({
    id: 'F3D9K2QX',
    requester,
    target: {
      applicationObjectId: expenseBotTarget.applicationObjectId,
      appId: expenseBotTarget.appId,
      appName: expenseBotTarget.appName,
      askedAs: 'approval',
    },
    credential: { kind: 'federated', workload: parsed.workload, credential: parsed.credential },
    approvalReason: 'the person asking does not own the app in Entra ID',
    risk,
    approvalsRequired: 1,
    pendingTtlDays: 7,
    now: new Date('2026-11-23T08:00:00Z'),
  }).request;
}

export function rotationRequest(risk: AppRequest['risk'] = { level: 'low', items: [], notes: [] }): AppRequest {
  return createRotation({
    id: '7K3M9Q2X',
    requester,
    target: expenseBotTarget,
    lifetimeDays: 180,
    approvalReason: 'the person asking does not own the app in Entra ID',
    risk,
    approvalsRequired: 1,
    pendingTtlDays: 7,
    now: new Date('2026-11-23T08:00:00Z'),
  }).request;
}
