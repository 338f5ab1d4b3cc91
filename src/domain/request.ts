/**
 * An app registration request and its lifecycle:
 *   submitted → approved → provisioning → provisioned → delivered, with rejected, expired, cancelled and failed.
 * The moves are a table; `transition` is pure and returns the next request with the audit event to append (the
 * caller saves both ETag-guarded). A move that was already made (a second click, a retried invoke) comes back
 * as a repeat with the request unchanged; a move that cannot be made throws IllegalTransition.
 *
 * One file on purpose, though long: the request's shape, the transition table and transition() are one contract,
 * and every move is reviewed against all three at once (test/unit/domain/request-lifecycle.test.ts checks the table).
 */
import { MICROSOFT_GRAPH_APP_ID, type AppSpec, type PermissionRef } from './app-spec';
import type { ConversationAddress } from './conversation';
import type { SignInEvidence } from './credential-evidence';
import { NotAuthorized, RegistrarError } from './errors';
import { oidcScopes, type CredentialChoice, type RequestForm } from './request-form';
import type { RiskAssessment } from './risk';
import { textProblem, normaliseText } from './text-rules';
import { sameObject } from './object-id';

export type RequestStatus =
  | 'submitted'
  | 'approved'
  | 'provisioning'
  | 'provisioned'
  | 'delivered'
  | 'rejected'
  | 'expired'
  | 'cancelled'
  | 'failed';
export const requestStatuses: readonly RequestStatus[] = [
  'submitted',
  'approved',
  'provisioning',
  'provisioned',
  'delivered',
  'rejected',
  'expired',
  'cancelled',
  'failed',
];

/** Someone who acted, by Entra object id. */
export interface Person {
  aadObjectId: string;
  name: string;
}

/** Who makes a move, and from which conversation (for the audit). */
export interface TransitionActor extends Person {
  conversationId?: string;
}

/** Registrar itself: expiry and the provisioning worker. Its id is not a GUID, so it is never a person. */
export const registrarActor: TransitionActor = { aadObjectId: 'registrar', name: 'Registrar' };

export type ProvisioningStep =
  | 'application'
  | 'owners'
  | 'servicePrincipal'
  | 'consent'
  | 'directoryRole'
  | 'certificate'
  | 'federatedCredential'
  | 'resources';

/** What a step produced, as the step reports it; recorded on the request so that a restart resumes after it. */
export type StepResult =
  | { step: 'application'; applicationObjectId: string; appId: string }
  | { step: 'owners'; ownerIds: string[] }
  | { step: 'servicePrincipal'; servicePrincipalId: string }
  | { step: 'consent'; appRoleAssignmentIds: string[]; oauth2PermissionGrantIds: string[] }
  | { step: 'directoryRole'; roleAssignmentId: string }
  | { step: 'certificate'; thumbprint: string }
  /** The federated identity credential's id in Graph, and its name (unique within the app). */
  | { step: 'federatedCredential'; credentialId: string; name: string }
  /**
   * The service principals of resource APIs the tenant lacked (AppRequest.resourceServicePrincipals), created, and the
   * permissions asked for on them, resolved against what they declare: the ids those permissions have only exist once
   * the service principal does.
   */
  | { step: 'resources'; servicePrincipalIds: string[]; permissions: PermissionRef[] };

export type ProvisioningCheckpoint = {
  [S in ProvisioningStep]?: Omit<Extract<StepResult, { step: S }>, 'step'> & { at: string };
} & { attempts: number; lastError?: { at: string; message: string } };

export type Delivery =
  /** The secret itself is never here: only what identifies it once it was revealed. */
  | { kind: 'secret'; keyId: string; hint: string; endDateTime: string; revealedAt: string }
  | { kind: 'certificate'; thumbprint: string; deliveredAt: string }
  /** Nothing to reveal: the card itself, with the workload and the snippet that uses it, is the delivery. */
  | { kind: 'federated'; credentialId: string; issuer: string; subject: string; deliveredAt: string }
  | { kind: 'none'; deliveredAt: string };

export interface Approval extends Person {
  at: string;
}

/** Where a card about this request was posted, so that it can be updated. */
export interface CardRef {
  conversationId: string;
  activityId: string;
}

/**
 * An approval card outside the approvals channel: one a person opened in their personal chat (`pending`, then
 * Review) and maybe decided on there. It follows the request like the channel's cards, shown as `viewer` may see it.
 */
export interface ReviewCardRef extends CardRef {
  /** The personal chat it is in (its own serviceUrl: not the channel's). */
  address: ConversationAddress;
  /** Who the card is in front of: their Teams id (29:...) names them in its refresh, their object id decides the view. */
  viewer: { id: string; aadObjectId: string; name: string };
  /** When it was first answered there (and so recorded). */
  shownAt: string;
}

/** Review cards kept per request: approvers are few, and each `pending` → Review is one more message. */
export const MAX_REVIEW_CARDS = 8;

/**
 * `cards` with `card` added as the newest, keeping only the newest MAX_REVIEW_CARDS; undefined when it is recorded
 * already (same conversation, activity and viewer), so that answering a card again, as Teams' refresh does each time
 * it is seen, writes nothing. The same message shown to someone else replaces its older record.
 */
export function withReviewCard(
  cards: readonly ReviewCardRef[] | undefined,
  card: ReviewCardRef,
): ReviewCardRef[] | undefined {
  const list = cards ?? [];
  const same = (c: CardRef) => c.conversationId === card.conversationId && c.activityId === card.activityId;
  if (list.some((c) => same(c) && sameObject(c.viewer.aadObjectId, card.viewer.aadObjectId))) return undefined;
  return [...list.filter((c) => !same(c)), card].slice(-MAX_REVIEW_CARDS);
}

/** The app whose client secret a rotation replaces, and the credential it replaces (when there is one). */
export interface RotationTarget {
  applicationObjectId: string;
  appId: string;
  appName: string;
  /** What the app management policy said of the new secret's lifetime when the rotation began (its cap), for the cards. */
  lifetimeNote?: string;
  old?: {
    kind: 'secret' | 'certificate';
    keyId: string;
    hint?: string;
    thumbprint?: string;
    endDateTime: string;
    displayName?: string;
  };
  /** The last reading of Entra's sign-in report about the old credential, as the cleanup card shows it. */
  oldSignIns?: SignInEvidence;
  /** The owner's answer on the cleanup card: the old secret removed, or kept. Never automatic. */
  oldDecision?: { removed: boolean; at: string; by: Person };
  /** Where the cleanup card was posted. */
  cleanupCard?: CardRef;
  /**
   * On what right the rotation was asked: 'owner' (an owner of the app in Entra ID, read again at Reveal and at
   * Remove) or 'approval' (anyone else: the approvers' decision is the right). Absent on older rotations: 'owner'.
   */
  askedAs?: 'owner' | 'approval';
}

/**
 * The existing app a `federate <app>` request adds a federated credential to (the credential itself is
 * form.credential), and on what right it was asked: 'owner' (an owner in Entra ID, read again when provisioning
 * runs) or 'approval' (anyone else: the approvers' decision is the right).
 */
export interface FederationTarget {
  applicationObjectId: string;
  appId: string;
  appName: string;
  askedAs: 'owner' | 'approval';
}

export interface AppRequest {
  id: string;
  /**
   * 'rotation': a new client secret for an existing app (no provisioning steps); 'federation': a federated credential
   * for an existing app (the federatedCredential step only); absent on new-app requests.
   */
  kind?: 'app' | 'rotation' | 'federation';
  rotation?: RotationTarget;
  federation?: FederationTarget;
  status: RequestStatus;
  requester: Person;
  form: RequestForm;
  /** Every permission resolved (Microsoft Graph and other APIs), as will be granted. */
  permissions: PermissionRef[];
  risk: RiskAssessment;
  /** Distinct approvers needed, fixed at submission by the policy then in force. */
  approvalsRequired: number;
  approvals: Approval[];
  rejection?: { by: Person; at: string; reason: string };
  provisioning: ProvisioningCheckpoint;
  delivery?: Delivery;
  createdAt: string;
  updatedAt: string;
  /** When a still-undecided request expires. */
  expiresAt: string;
  /** When provisioning finished: the delivery of a client secret expires DELIVERY_TTL_DAYS after it. */
  provisionedAt?: string;
  /** A random value minted at submission and tagged on the application (AppSpec.marker): provisioning adopts only an app that carries it. */
  marker?: string;
  requesterAddress?: ConversationAddress;
  /** The approval card(s) posted for approvers, updated in place as the request moves. */
  approvalCards?: CardRef[];
  /** Approval cards opened in personal chats (from `pending`), oldest first, updated in place too. */
  reviewCards?: ReviewCardRef[];
  /** The requester's status card (the submitted form, replaced by the status), updated in place. */
  statusCard?: CardRef;
  /** The delivery card in the requester's personal chat. */
  deliveryCard?: CardRef;
  /** When the revealed secret was taken off the delivery card (the "I have stored it" click or REVEAL_TTL). */
  redactedAt?: string;
  /**
   * The additional owners (form.additionalOwnerIds) as the directory named them at submission, in the same order:
   * approvers see who will control the app. Absent on requests older than this field and on rotations.
   */
  ownerDetails?: ReadonlyArray<OwnerDetail>;
  /**
   * Microsoft first-party APIs named on the form whose service principal the tenant did not have at submission:
   * Registrar creates each as the request's first provisioning step ('resources'), which the approvers consent to, and
   * the form's permissions on it (form.otherPermissions with its appId) are resolved then. Absent when none.
   */
  resourceServicePrincipals?: ReadonlyArray<{ appId: string; displayName: string }>;
  /** The directory the app is made in when it is not the Teams tenant (form.target), as configured at submission. */
  target?: TargetRef;
  /** The app's owners in the target directory, resolved there at submission; never the requester (a Teams person). */
  targetOwners?: TargetOwners;
}

/** A target directory (TARGET_DIRECTORY_<KEY>) as a request records it. */
export interface TargetRef {
  key: string;
  name: string;
  tenantId: string;
}

/** Who owns an app in a target directory: named by the requester (user principal names), or the owners group's users. */
export interface TargetOwners {
  from: 'named' | 'group';
  /** The owners group (from 'group'). */
  groupId?: string;
  owners: OwnerDetail[];
}

/** The tenant whose directory holds the request's app: its target's, or `teamsTenantId` (the Teams tenant's). */
export function directoryTenantOf(request: Pick<AppRequest, 'target'>, teamsTenantId: string): string {
  return request.target?.tenantId ?? teamsTenantId;
}

/** A user of the tenant who will own the app, as the directory names them. */
export interface OwnerDetail {
  id: string;
  displayName: string;
  userPrincipalName: string;
}

/**
 * The latest move's audit event, saved in the same ETag-guarded write as the request: the request save is the
 * commit point, and the audit row (a separate write) is completed from here if it failed (services/request-records.ts).
 */
export interface AuditOutbox {
  sequence: number;
  event: AuditEvent;
}

/** A request as the Store keeps it: the AppRequest and its audit outbox (absent on records older than the outbox). */
export type RequestRecord = AppRequest & { lastAudit?: AuditOutbox };

export type RequestEvent =
  | { type: 'approve' }
  | { type: 'reject'; reason: string }
  | { type: 'cancel' }
  | { type: 'expire' }
  | { type: 'startProvisioning' }
  | { type: 'completeStep'; result: StepResult }
  | { type: 'succeed' }
  | { type: 'fail'; message: string }
  | { type: 'retry' }
  | { type: 'deliver'; delivery: Delivery }
  /** A provisioned client secret was not revealed within DELIVERY_TTL_DAYS: it will not be created any more. */
  | { type: 'expireDelivery'; ttlDays: number }
  /** A rotation's owner removed the old secret (already done in Entra ID), or kept it. */
  | { type: 'decideOld'; removed: boolean };
export type RequestEventType = RequestEvent['type'];

export interface AuditEvent {
  at: string;
  by: Person;
  event: RequestEventType | 'submit';
  from: RequestStatus | null;
  to: RequestStatus;
  detail: string;
  conversationId?: string;
  /** Entra object ids the move produced (application, service principal, grants, role assignment). */
  objectIds?: string[];
}

/**
 * The lifecycle: for each event, the statuses it may start from, the statuses it may lead to, and the statuses
 * in which it was already made (a repeat, answered without a change).
 */
export const transitionTable = {
  approve: {
    from: ['submitted'],
    to: ['submitted', 'approved'],
    doneIn: ['approved', 'provisioning', 'provisioned', 'delivered', 'failed'],
  },
  reject: { from: ['submitted'], to: ['rejected'], doneIn: ['rejected'] },
  cancel: { from: ['submitted'], to: ['cancelled'], doneIn: ['cancelled'] },
  expire: { from: ['submitted'], to: ['expired'], doneIn: ['expired'] },
  startProvisioning: { from: ['approved'], to: ['provisioning'], doneIn: ['provisioning', 'provisioned', 'delivered'] },
  completeStep: { from: ['provisioning'], to: ['provisioning'], doneIn: [] },
  succeed: { from: ['provisioning'], to: ['provisioned'], doneIn: ['provisioned', 'delivered'] },
  fail: { from: ['provisioning'], to: ['failed'], doneIn: ['failed'] },
  retry: { from: ['failed'], to: ['provisioning'], doneIn: ['provisioning'] },
  deliver: { from: ['provisioned'], to: ['delivered'], doneIn: ['delivered'] },
  expireDelivery: { from: ['provisioned'], to: ['expired'], doneIn: ['expired', 'delivered'] },
  decideOld: { from: ['delivered'], to: ['delivered'], doneIn: [] },
} as const satisfies Record<
  RequestEventType,
  { from: readonly RequestStatus[]; to: readonly RequestStatus[]; doneIn: readonly RequestStatus[] }
>;

const statusWords: Record<RequestStatus, string> = {
  submitted: 'waiting for approval',
  approved: 'approved',
  provisioning: 'being provisioned',
  provisioned: 'provisioned',
  delivered: 'delivered',
  rejected: 'rejected',
  expired: 'expired',
  cancelled: 'cancelled',
  failed: 'failed',
};
/** What cannot happen to a request, for IllegalTransition's message: "... so it cannot be approved." */
const cannotWords: Record<RequestEventType, string> = {
  approve: 'be approved',
  reject: 'be rejected',
  cancel: 'be cancelled',
  expire: 'expire',
  startProvisioning: 'be provisioned',
  completeStep: 'take a provisioning step',
  succeed: 'be marked provisioned',
  fail: 'be marked failed',
  retry: 'be retried',
  deliver: 'be delivered',
  expireDelivery: 'have its delivery expire',
  decideOld: 'have its old credential removed or kept',
};

export class IllegalTransition extends RegistrarError {
  constructor(
    readonly requestId: string,
    readonly event: RequestEventType,
    readonly status: RequestStatus,
    userMessage = `Request ${requestId} is ${statusWords[status]}, so it cannot ${cannotWords[event]}.`,
  ) {
    super('conflict', userMessage, { detail: `illegal transition: ${event} from ${status} on request ${requestId}` });
  }
}

export type TransitionResult =
  | { changed: true; request: AppRequest; audit: AuditEvent }
  /** The move was already made: nothing to save, answer the person with `message`. */
  | { changed: false; request: AppRequest; message: string };

/** The refusal of one undecided request too many (OPEN_REQUESTS_PER_USER): each puts a card in front of the approvers. */
export function tooManyOpen(limit: number): string {
  return `You have ${limit} requests waiting for a decision, the most one person may have open at once. Cancel one with \`cancel <id>\` (type \`mine\` to list them), or wait for the approvers.`;
}

/** When a provisioned client secret stops waiting to be revealed (DELIVERY_TTL_DAYS after provisioning); undefined if never provisioned. */
export function deliveryDueBy(
  request: Pick<AppRequest, 'provisionedAt' | 'updatedAt' | 'status'>,
  ttlDays: number,
): string | undefined {
  const from = request.provisionedAt ?? (request.status === 'provisioned' ? request.updatedAt : undefined);
  return from ? new Date(Date.parse(from) + ttlDays * dayMs).toISOString() : undefined;
}

/**
 * The provisioning steps this request needs, in order. A rotation needs none and a federation only its credential:
 * their application exists.
 */
export function stepsFor(request: Pick<AppRequest, 'form' | 'kind' | 'resourceServicePrincipals'>): ProvisioningStep[] {
  if (request.kind === 'rotation') return [];
  if (request.kind === 'federation') return ['federatedCredential'];
  return [
    ...((request.resourceServicePrincipals?.length ?? 0) > 0 ? (['resources'] as const) : []),
    'application',
    'owners',
    'servicePrincipal',
    'consent',
    ...(request.form.directoryRole ? (['directoryRole'] as const) : []),
    ...(request.form.credential.kind === 'certificate' ? (['certificate'] as const) : []),
    ...(request.form.credential.kind === 'federated' ? (['federatedCredential'] as const) : []),
  ];
}

/** The first step not yet done, or undefined when all are. */
export function nextStep(
  request: Pick<AppRequest, 'form' | 'provisioning' | 'kind' | 'resourceServicePrincipals'>,
): ProvisioningStep | undefined {
  return stepsFor(request).find((step) => !request.provisioning[step]);
}

export interface NewRequest {
  id: string;
  requester: TransitionActor;
  form: RequestForm;
  permissions: PermissionRef[];
  risk: RiskAssessment;
  approvalsRequired: number;
  pendingTtlDays: number;
  now: Date;
  requesterAddress?: ConversationAddress;
  /** The additional owners as the directory named them (form.additionalOwnerIds, same order). */
  ownerDetails?: readonly OwnerDetail[];
  /** The application's marker tag (AppRequest.marker). */
  marker?: string;
  /** AppRequest.resourceServicePrincipals. */
  resourceServicePrincipals?: ReadonlyArray<{ appId: string; displayName: string }>;
  /** A target directory and the owners there (AppRequest.target, targetOwners). */
  target?: TargetRef;
  targetOwners?: TargetOwners;
}

const dayMs = 24 * 60 * 60 * 1000;

/** A submitted request and the audit event that records its submission. */
export function createRequest(input: NewRequest): { request: AppRequest; audit: AuditEvent } {
  const at = input.now.toISOString();
  const { conversationId, ...requester } = input.requester;
  const request: AppRequest = {
    id: input.id,
    status: 'submitted',
    requester: { aadObjectId: requester.aadObjectId.toLowerCase(), name: requester.name },
    form: input.form,
    permissions: input.permissions,
    risk: input.risk,
    approvalsRequired: Math.max(1, input.approvalsRequired),
    approvals: [],
    provisioning: { attempts: 0 },
    createdAt: at,
    updatedAt: at,
    expiresAt: new Date(input.now.getTime() + input.pendingTtlDays * dayMs).toISOString(),
    ...(input.requesterAddress ? { requesterAddress: input.requesterAddress } : {}),
    ...(input.ownerDetails && input.ownerDetails.length > 0 ? { ownerDetails: [...input.ownerDetails] } : {}),
    ...(input.marker ? { marker: input.marker } : {}),
    ...(input.resourceServicePrincipals && input.resourceServicePrincipals.length > 0
      ? { resourceServicePrincipals: input.resourceServicePrincipals.map((r) => ({ ...r })) }
      : {}),
    ...(input.target ? { target: input.target } : {}),
    ...(input.target && input.targetOwners ? { targetOwners: input.targetOwners } : {}),
  };
  const audit: AuditEvent = {
    at,
    by: request.requester,
    event: 'submit',
    from: null,
    to: 'submitted',
    detail: `submitted "${input.form.displayName}"${input.target ? ` in ${input.target.name} (tenant ${input.target.tenantId})` : ''} (${input.risk.level} risk, ${request.approvalsRequired} approval${request.approvalsRequired === 1 ? '' : 's'} needed)`,
    ...(conversationId ? { conversationId } : {}),
  };
  return { request, audit };
}

export interface NewRotation {
  id: string;
  requester: TransitionActor;
  target: Omit<RotationTarget, 'oldDecision' | 'cleanupCard'>;
  lifetimeDays: number;
  /** Why the approvers decide first (a non-owner asked, the app is privileged, ROTATION_NEEDS_APPROVAL=always); undefined: it starts approved. */
  approvalReason?: string;
  /** The risk of a working secret of this app: what its service principal holds. */
  risk: RiskAssessment;
  approvalsRequired: number;
  pendingTtlDays: number;
  now: Date;
  requesterAddress?: ConversationAddress;
}

/**
 * A rotation: a new client secret for an existing app, delivered as a new app's is (reveal once, verify, hide).
 * It has no provisioning steps; its application checkpoint is the existing app. Without ROTATION_NEEDS_APPROVAL it
 * starts approved, and the audit says why.
 */
export function createRotation(input: NewRotation): { request: AppRequest; audit: AuditEvent } {
  const at = input.now.toISOString();
  const { conversationId, ...requester } = input.requester;
  const { target } = input;
  const status: RequestStatus = input.approvalReason ? 'submitted' : 'approved';
  const request: AppRequest = {
    id: input.id,
    kind: 'rotation',
    rotation: target,
    status,
    requester: { aadObjectId: requester.aadObjectId.toLowerCase(), name: requester.name },
    form: {
      displayName: target.appName,
      purpose: `A new client secret for ${target.appName}${target.old ? `, replacing the one that expires on ${target.old.endDateTime.slice(0, 10)}` : ''}.${input.approvalReason ? ` Approvers decide because ${input.approvalReason}.` : ''}`,
      signInAudience: 'AzureADMyOrg',
      platform: 'none',
      redirectUris: [],
      graphPermissions: [],
      otherPermissions: [],
      credential: { kind: 'secret', lifetimeDays: input.lifetimeDays },
      additionalOwnerIds: [],
    },
    permissions: [],
    risk: input.risk,
    approvalsRequired: input.approvalReason ? Math.max(1, input.approvalsRequired) : 1,
    approvals: [],
    provisioning: {
      attempts: 0,
      application: { applicationObjectId: target.applicationObjectId, appId: target.appId, at },
    },
    createdAt: at,
    updatedAt: at,
    expiresAt: new Date(input.now.getTime() + input.pendingTtlDays * dayMs).toISOString(),
    ...(input.requesterAddress ? { requesterAddress: input.requesterAddress } : {}),
  };
  const audit: AuditEvent = {
    at,
    by: request.requester,
    event: 'submit',
    from: null,
    to: status,
    detail: input.approvalReason
      ? `asked to rotate the client secret of "${target.appName}" (appId ${target.appId}); ${request.approvalsRequired} approval${request.approvalsRequired === 1 ? '' : 's'} needed: ${input.approvalReason}`
      : `asked to rotate the client secret of "${target.appName}" (appId ${target.appId}) as its owner; no approval needed (ROTATION_NEEDS_APPROVAL)`,
    ...(conversationId ? { conversationId } : {}),
    objectIds: [target.applicationObjectId],
  };
  return { request, audit };
}

export interface NewFederation {
  id: string;
  requester: TransitionActor;
  target: FederationTarget;
  /** The workload, checked (parseFederatedWorkload), and the credential Graph is given for it. */
  credential: Extract<CredentialChoice, { kind: 'federated' }>;
  /** Why the approvers decide first (as for a rotation); undefined: it starts approved. */
  approvalReason?: string;
  /** The risk of the workload acting as this app: what the app's service principal holds. */
  risk: RiskAssessment;
  approvalsRequired: number;
  pendingTtlDays: number;
  now: Date;
  requesterAddress?: ConversationAddress;
}

/**
 * A federated credential for an existing app (`federate <app>`): approved like a rotation, then provisioned as the
 * one federatedCredential step on the app's object id (its application checkpoint is the existing app), and
 * delivered as a new app's federated credential is, with nothing to reveal.
 */
export function createFederation(input: NewFederation): { request: AppRequest; audit: AuditEvent } {
  const at = input.now.toISOString();
  const { conversationId, ...requester } = input.requester;
  const { target, credential } = input;
  const status: RequestStatus = input.approvalReason ? 'submitted' : 'approved';
  const workload = `tokens of ${credential.credential.issuer} for subject ${credential.credential.subject}`;
  const request: AppRequest = {
    id: input.id,
    kind: 'federation',
    federation: { ...target },
    status,
    requester: { aadObjectId: requester.aadObjectId.toLowerCase(), name: requester.name },
    form: {
      displayName: target.appName,
      purpose: `A federated credential for the existing app ${target.appName} (appId ${target.appId}): ${workload} will sign in as the app, with everything it holds. Nothing else about the app changes.${input.approvalReason ? ` Approvers decide because ${input.approvalReason}.` : ''}`,
      signInAudience: 'AzureADMyOrg',
      platform: 'none',
      redirectUris: [],
      graphPermissions: [],
      otherPermissions: [],
      credential,
      additionalOwnerIds: [],
    },
    permissions: [],
    risk: input.risk,
    approvalsRequired: input.approvalReason ? Math.max(1, input.approvalsRequired) : 1,
    approvals: [],
    provisioning: {
      attempts: 0,
      application: { applicationObjectId: target.applicationObjectId, appId: target.appId, at },
    },
    createdAt: at,
    updatedAt: at,
    expiresAt: new Date(input.now.getTime() + input.pendingTtlDays * dayMs).toISOString(),
    ...(input.requesterAddress ? { requesterAddress: input.requesterAddress } : {}),
  };
  const audit: AuditEvent = {
    at,
    by: request.requester,
    event: 'submit',
    from: null,
    to: status,
    detail: input.approvalReason
      ? `asked to add federated credential "${credential.credential.name}" (${workload}) to "${target.appName}" (appId ${target.appId}); ${request.approvalsRequired} approval${request.approvalsRequired === 1 ? '' : 's'} needed: ${input.approvalReason}`
      : `asked to add federated credential "${credential.credential.name}" (${workload}) to "${target.appName}" (appId ${target.appId}) as its owner; no approval needed (ROTATION_NEEDS_APPROVAL)`,
    ...(conversationId ? { conversationId } : {}),
    objectIds: [target.applicationObjectId],
  };
  return { request, audit };
}

const samePerson = (a: Person, b: Person) => sameObject(a.aadObjectId, b.aadObjectId);
const isRegistrar = (actor: Person) => actor.aadObjectId === registrarActor.aadObjectId;

function requirePerson(request: AppRequest, event: RequestEventType, actor: Person): void {
  if (isRegistrar(actor))
    throw new IllegalTransition(
      request.id,
      event,
      request.status,
      `Request ${request.id} can ${cannotWords[event].replace(/^be /, 'only be ')} by a person.`,
    );
}

/** The next state of `request` after `event` by `actor` at `now`. Pure; throws IllegalTransition or NotAuthorized. */
export function transition(
  request: AppRequest,
  event: RequestEvent,
  actor: TransitionActor,
  now: Date,
): TransitionResult {
  const rule = transitionTable[event.type];
  const at = now.toISOString();
  const by: Person = { aadObjectId: actor.aadObjectId, name: actor.name };
  const repeat = (message: string): TransitionResult => ({ changed: false, request, message });
  const move = (
    to: RequestStatus,
    changes: Partial<AppRequest>,
    detail: string,
    objectIds?: string[],
  ): TransitionResult => {
    // The table is the lifecycle: a move it does not list is a bug here, never a state to save.
    if (!(rule.to as readonly RequestStatus[]).includes(to))
      throw new Error(`transition table has no ${event.type} to ${to}`);
    const audit: AuditEvent = {
      at,
      by,
      event: event.type,
      from: request.status,
      to,
      detail,
      ...(actor.conversationId ? { conversationId: actor.conversationId } : {}),
      ...(objectIds && objectIds.length > 0 ? { objectIds } : {}),
    };
    return { changed: true, request: { ...request, ...changes, status: to, updatedAt: at }, audit };
  };

  if (event.type === 'approve') {
    requirePerson(request, 'approve', actor);
    if (samePerson(actor, request.requester))
      throw new NotAuthorized('You asked for this app, so someone else must approve it.');
    if (request.status === 'submitted' && request.approvals.some((a) => samePerson(a, actor)))
      return repeat(`You have already approved request ${request.id}.`);
  }
  if ((rule.doneIn as readonly RequestStatus[]).includes(request.status)) {
    return repeat(`Request ${request.id} is already ${statusWords[request.status]}.`);
  }
  if (!(rule.from as readonly RequestStatus[]).includes(request.status))
    throw new IllegalTransition(request.id, event.type, request.status);
  const expired = request.status === 'submitted' && now.getTime() >= Date.parse(request.expiresAt);
  if (expired && event.type !== 'expire' && event.type !== 'cancel') {
    throw new IllegalTransition(
      request.id,
      event.type,
      request.status,
      `Request ${request.id} expired on ${request.expiresAt.slice(0, 10)} without a decision; ask for it again.`,
    );
  }

  switch (event.type) {
    case 'approve': {
      const approvals = [...request.approvals, { ...by, at }];
      const enough = approvals.length >= request.approvalsRequired;
      return move(
        enough ? 'approved' : 'submitted',
        { approvals },
        `approval ${approvals.length} of ${request.approvalsRequired}`,
      );
    }
    case 'reject': {
      requirePerson(request, 'reject', actor);
      if (samePerson(actor, request.requester))
        throw new NotAuthorized('You cannot reject your own request; cancel it instead.');
      const reason = normaliseText(event.reason);
      const problem = textProblem(reason, { label: 'The reason', max: 1000, multiline: true });
      if (problem) throw new RegistrarError('invalid-input', problem);
      return move('rejected', { rejection: { by, at, reason } }, `rejected: ${reason}`);
    }
    case 'cancel':
      if (!samePerson(actor, request.requester))
        throw new NotAuthorized('Only the person who asked for this app can cancel the request.');
      return move('cancelled', {}, 'cancelled by the requester');
    case 'expire':
      if (!expired)
        throw new IllegalTransition(
          request.id,
          'expire',
          request.status,
          `Request ${request.id} does not expire until ${request.expiresAt}.`,
        );
      return move('expired', {}, `no decision by ${request.expiresAt}`);
    case 'startProvisioning':
      return move(
        'provisioning',
        { provisioning: { ...request.provisioning, attempts: request.provisioning.attempts + 1 } },
        'provisioning started',
      );
    case 'completeStep':
      return completeStep(request, event.result, at, repeat, move);
    case 'succeed': {
      const missing = nextStep(request);
      if (missing)
        throw new IllegalTransition(
          request.id,
          'succeed',
          request.status,
          `Request ${request.id} cannot be complete: the ${missing} step is not done.`,
        );
      return move('provisioned', { provisionedAt: at }, 'every provisioning step is done');
    }
    case 'fail': {
      const message = normaliseText(event.message).slice(0, 2000) || 'provisioning failed';
      return move(
        'failed',
        { provisioning: { ...request.provisioning, lastError: { at, message } } },
        `failed: ${message}`,
      );
    }
    case 'retry':
      requirePerson(request, 'retry', actor);
      return move(
        'provisioning',
        { provisioning: { ...request.provisioning, attempts: request.provisioning.attempts + 1 } },
        'retry of provisioning',
      );
    case 'deliver':
      return deliver(request, event.delivery, move);
    case 'expireDelivery': {
      if (!isRegistrar(actor))
        throw new IllegalTransition(
          request.id,
          'expireDelivery',
          request.status,
          `Only Registrar lets the delivery of request ${request.id} expire.`,
        );
      const due = deliveryDueBy(request, event.ttlDays);
      if (request.form.credential.kind !== 'secret' || !due || now.getTime() < Date.parse(due)) {
        throw new IllegalTransition(
          request.id,
          'expireDelivery',
          request.status,
          `The client secret of request ${request.id} can still be revealed.`,
        );
      }
      return move('expired', {}, `client secret not revealed by ${due}: none will be created for this request`);
    }
    case 'decideOld': {
      requirePerson(request, 'decideOld', actor);
      const rotation = request.rotation;
      if (request.kind !== 'rotation' || !rotation)
        throw new IllegalTransition(
          request.id,
          'decideOld',
          request.status,
          `Request ${request.id} is not a rotation.`,
        );
      if (rotation.oldDecision)
        return repeat(
          `The old credential of ${rotation.appName} was already ${rotation.oldDecision.removed ? 'removed' : 'kept'}.`,
        );
      const old = rotation.old;
      const named = old
        ? `${old.kind === 'secret' ? `client secret ${old.hint ?? old.keyId}…` : `certificate ${old.thumbprint ?? old.keyId}`} (expiring ${old.endDateTime.slice(0, 10)})`
        : 'old credential';
      return move(
        'delivered',
        { rotation: { ...rotation, oldDecision: { removed: event.removed, at, by } } },
        event.removed ? `${named} removed` : `${named} kept`,
        event.removed && old ? [old.keyId] : undefined,
      );
    }
  }
}

type Move = (to: RequestStatus, changes: Partial<AppRequest>, detail: string, objectIds?: string[]) => TransitionResult;

const prerequisites: Record<ProvisioningStep, ProvisioningStep[]> = {
  application: [],
  owners: ['application'],
  servicePrincipal: ['application'],
  consent: ['servicePrincipal'],
  directoryRole: ['servicePrincipal'],
  certificate: ['application'],
  federatedCredential: ['application'],
  resources: [],
};

function idsOf(result: StepResult): string[] {
  switch (result.step) {
    case 'application':
      return [result.applicationObjectId];
    case 'owners':
      return [];
    case 'servicePrincipal':
      return [result.servicePrincipalId];
    case 'consent':
      return [...result.appRoleAssignmentIds, ...result.oauth2PermissionGrantIds];
    case 'directoryRole':
      return [result.roleAssignmentId];
    case 'certificate':
      return [];
    case 'federatedCredential':
      return [result.credentialId];
    case 'resources':
      return [...result.servicePrincipalIds];
  }
}

function completeStep(
  request: AppRequest,
  result: StepResult,
  at: string,
  repeat: (message: string) => TransitionResult,
  move: Move,
): TransitionResult {
  const { step, ...produced } = result;
  const illegal = (message: string) => new IllegalTransition(request.id, 'completeStep', request.status, message);
  if (!stepsFor(request).includes(step)) throw illegal(`Request ${request.id} has no ${step} step.`);
  const done = request.provisioning[step];
  if (done) {
    const { at: _at, ...recorded } = done;
    if (JSON.stringify(recorded) === JSON.stringify(produced))
      return repeat(`The ${step} step of request ${request.id} is already done.`);
    throw illegal(
      `The ${step} step of request ${request.id} was already done with other objects; look at the request's audit trail.`,
    );
  }
  // The resource service principals come before everything else: the application's requiredResourceAccess names
  // permission ids that only exist once they do.
  const missing = [
    ...(step === 'resources' ? [] : stepsFor(request).filter((s) => s === 'resources')),
    ...prerequisites[step],
  ].find((before) => !request.provisioning[before]);
  if (missing) throw illegal(`The ${step} step of request ${request.id} needs the ${missing} step first.`);
  const ids = idsOf(result);
  return move(
    'provisioning',
    { provisioning: { ...request.provisioning, [step]: { ...produced, at } } },
    `${step} done${'thumbprint' in result ? ` (certificate ${result.thumbprint})` : 'appId' in result ? ` (appId ${result.appId})` : result.step === 'federatedCredential' ? ` (federated credential ${result.name})` : ''}`,
    ids,
  );
}

function deliver(request: AppRequest, delivery: Delivery, move: Move): TransitionResult {
  const expected: CredentialChoice['kind'] = request.form.credential.kind;
  if (delivery.kind !== expected) {
    const words = {
      secret: 'a client secret',
      certificate: 'a certificate',
      federated: 'a federated credential',
      none: 'no credential',
    } as const;
    throw new IllegalTransition(
      request.id,
      'deliver',
      request.status,
      `Request ${request.id} asked for ${words[expected]}, not ${words[delivery.kind]}.`,
    );
  }
  const detail =
    delivery.kind === 'secret'
      ? `client secret ${delivery.keyId} (${delivery.hint}...) revealed, valid until ${delivery.endDateTime}`
      : delivery.kind === 'certificate'
        ? `certificate ${delivery.thumbprint} confirmed`
        : delivery.kind === 'federated'
          ? `federated credential ${delivery.credentialId} delivered: tokens of ${delivery.issuer} for ${delivery.subject}`
          : 'delivered with no credential';
  return move('delivered', { delivery }, detail, delivery.kind === 'secret' ? [delivery.keyId] : undefined);
}

/**
 * The permissions that get admin consent: all of them, but openid and offline_access on Microsoft Graph when the
 * form declares them without consent (oidcConsent 'declare'); they stay in requiredResourceAccess.
 */
export function consentedPermissions(
  request: Pick<AppRequest, 'form'> & { permissions: readonly PermissionRef[] },
): PermissionRef[] {
  if (request.form.oidcConsent !== 'declare') return [...request.permissions];
  return request.permissions.filter(
    (p) => !(p.type === 'Scope' && p.resourceAppId === MICROSOFT_GRAPH_APP_ID && oidcScopes.includes(p.value)),
  );
}

/**
 * What the Graph adapter is asked to create for an approved request. Owners: the requester first, once each; in a
 * target directory, the owners resolved there (the requester's Teams object id means nothing in another tenant).
 */
export function toAppSpec(request: AppRequest): AppSpec {
  const { form } = request;
  const ownerIds = request.target
    ? (request.targetOwners?.owners ?? []).map((o) => o.id.toLowerCase())
    : [request.requester.aadObjectId.toLowerCase(), ...form.additionalOwnerIds];
  return {
    requestId: request.id,
    ...(request.marker ? { marker: request.marker } : {}),
    displayName: form.displayName,
    purpose: form.purpose,
    signInAudience: form.signInAudience,
    platform: form.platform,
    redirectUris: form.redirectUris,
    permissions: [...request.permissions, ...(request.provisioning.resources?.permissions ?? [])],
    ownerIds: [...new Set(ownerIds)],
    ...(form.directoryRole ? { directoryRoleTemplateId: form.directoryRole.templateId } : {}),
    ...(form.credential.kind === 'certificate' ? { certificate: form.credential.certificate } : {}),
    ...(form.credential.kind === 'federated' ? { federatedCredential: form.credential.credential } : {}),
    ...(form.exchangeRbac ? { exchangeRbac: { mailboxes: [...form.exchangeRbac.mailboxes] } } : {}),
    ...(form.platform === 'publicClient' && form.publicClientFlows ? { isFallbackPublicClient: true } : {}),
  };
}

/**
 * The form's permissions on APIs whose service principal Registrar creates (AppRequest.resourceServicePrincipals), as
 * they will be granted, by name: their ids are known once the 'resources' step has read the new service principal, so
 * `id` is empty here. For showing and for the risk assessment; never sent to Graph.
 */
export function pendingPermissions(
  request: Pick<AppRequest, 'form' | 'resourceServicePrincipals' | 'provisioning'>,
): PermissionRef[] {
  const resolved = request.provisioning.resources?.permissions;
  if (resolved) return [...resolved];
  const created = new Map((request.resourceServicePrincipals ?? []).map((r) => [r.appId.toLowerCase(), r.displayName]));
  return request.form.otherPermissions
    .filter((p) => created.has(p.resourceAppId.toLowerCase()))
    .map((p) => ({
      resourceAppId: p.resourceAppId,
      resourceDisplayName: created.get(p.resourceAppId.toLowerCase())!,
      id: '',
      value: p.value,
      type: p.type,
      // Unknown until the service principal exists; an approver is asked either way.
      adminConsentRequired: true,
      description: '',
    }));
}
