/**
 * Deciding on a request and reading it: approve, reject, cancel, status, review, mine, pending and the expiry
 * sweep; asking (the form and Submit) is request-submission.ts, offered through the same service. Every function
 * takes the person who acted (authority from their aadObjectId and the stored request, never from card data) and
 * returns what a card needs. Every save is ETag-guarded: on a conflict the request
 * is read again and the decision taken again, so two approvers at once give one consistent outcome. Every
 * move appends exactly one audit row (see request-records.ts for how a failed audit write is made good).
 */
import { canApprove, canCancel, canReject, isExpired, type Decision } from '../domain/approval-policy';
import type { Actor } from '../domain/conversation';
import { NotAuthorized, RegistrarError } from '../domain/errors';
import { sameObject } from '../domain/object-id';
import {
  registrarActor,
  type AppRequest,
  type AuditEvent,
  type RequestEvent,
  type TransitionActor,
} from '../domain/request';
import type { RandomSource } from '../domain/request-id';
import type { Config, GraphCloud } from '../config';
import type { Logger } from '../lib/logger';
import type {
  Clock,
  CredentialPolicies,
  CredentialSource,
  Directory,
  PeopleDirectory,
  Provisioner,
  Store,
  TargetDirectory,
} from './ports';
import { myApps, type MyApp } from './my-apps';
import type { ApproverPolicy } from './request-approvers';
import {
  RequestNotFound,
  auditTrail,
  loadRequest,
  moveRequest,
  requestsInState,
  requestsOf,
  toRequest,
} from './request-records';
import { createRequestSubmission, type RequestSubmission } from './request-submission';

export { RequestNotFound };
export type { FormContext, SubmitResult } from './request-submission';

/** `mine` reads a person's newest requests, this many at most. */
const MINE_LIMIT = 100;

/** `mine`: the person's apps with their credentials, and their requests for new apps (rotations are under the apps). */
export interface MineView {
  apps: MyApp[];
  /** Apps not read in this turn (over MY_APPS_READ). */
  appsNotShown: number;
  /** New-app requests, newest first. */
  requests: AppRequest[];
  /** When the credentials were read, for their days left. */
  at: Date;
}

export interface DecisionResult {
  request: AppRequest;
  /** False when nothing changed (a repeated click); `message` then says why. */
  changed: boolean;
  /** True only for the one call whose save moved the request to approved (which started provisioning). */
  reachedApproval: boolean;
  message?: string;
}

export interface ReviewView {
  request: AppRequest;
  mode: 'everyone' | 'approver';
  message?: string;
}

export interface RequestStatusView {
  request: AppRequest;
  audit: AuditEvent[];
}

/** Asking (request-submission.ts) and deciding, reading and expiring (here). */
export interface RequestService extends RequestSubmission {
  approve(actor: Actor, requestId: string, conversationId?: string): Promise<DecisionResult>;
  reject(actor: Actor, requestId: string, reason: string, conversationId?: string): Promise<DecisionResult>;
  cancel(actor: Actor, requestId: string, conversationId?: string): Promise<DecisionResult>;
  status(actor: Actor, requestId: string): Promise<RequestStatusView>;
  /** The request as stored, for a card already shown where the person is (an approval card in the approvals channel). */
  view(requestId: string): Promise<AppRequest>;
  /**
   * The approval card as this person may see it: with the decision buttons for an approver who may still decide,
   * otherwise as everyone sees it, with why. In the approvals channel the card is in front of everyone already;
   * elsewhere (from `pending`, or hand-made data) only the requester, the approvers and the operators see it.
   */
  review(actor: Actor, requestId: string, where: { inApprovalsChannel: boolean }): Promise<ReviewView>;
  /** The actor's apps with their credentials' expiry, and their new-app requests, newest first (of their newest 100). */
  mine(actor: Actor): Promise<MineView>;
  /** Requests waiting for this approver: not their own, not already approved by them, not expired; oldest first. */
  pending(actor: Actor): Promise<AppRequest[]>;
  /** Moves every undecided request past its expiry to expired; returns those this call moved. */
  expireDue(now: Date): Promise<AppRequest[]>;
}

export interface RequestServiceDeps {
  store: Store;
  provisioner: Pick<Provisioner, 'catalog' | 'findResource'>;
  approvers: ApproverPolicy;
  clock: Clock;
  random: RandomSource;
  policy: Config['policy'];
  logger: Logger;
  /** Needed when policy.requesterGroupId is set. */
  directory?: Directory;
  /** Operators may read any request's status. */
  isOperator?: (actor: Actor) => Promise<boolean>;
  /** Names the additional owners a form lists, and says which are users of the tenant. */
  people?: PeopleDirectory;
  /** Starts provisioning of a request that an approval just moved to approved (ProvisioningService.start). */
  startProvisioning?: (requestId: string) => void;
  /** Told of every saved move and annotation, to keep the request's cards current (CardService.changed). Never awaited. */
  onChange?: (request: AppRequest) => void;
  /** The cloud apps are made in (GRAPH_CLOUD), which decides the audiences a form offers; the global one when unset. */
  cloud?: GraphCloud;
  /** Directories other than the Teams tenant the form offers (TARGET_DIRECTORY_<KEY>). */
  targets?: readonly TargetDirectory[];
  /** Reads an app's credentials for `mine` (within a turn's budget); without it `mine` lists apps without them. */
  applications?: Pick<CredentialSource, 'findApplication'>;
  /** The tenant's app management policies, read for every form and every Submit; none: no policy is applied. */
  credentialPolicies?: CredentialPolicies;
}

/** The person behind a click, for the domain; refused when Teams did not say who they are in Entra ID. */
function personOf(actor: Actor, conversationId?: string): TransitionActor {
  if (!actor.aadObjectId)
    throw new NotAuthorized(
      'Registrar cannot tell who you are in Entra ID, so it cannot act for you. Use Teams signed in with your work account.',
    );
  return {
    aadObjectId: actor.aadObjectId.toLowerCase(),
    name: actor.name,
    ...(conversationId ? { conversationId } : {}),
  };
}

export function createRequestService(deps: RequestServiceDeps): RequestService {
  const { store, approvers, clock, policy, logger, directory, isOperator, startProvisioning, onChange } = deps;
  if (policy.requesterGroupId && !directory) {
    throw new RegistrarError('unavailable', 'Registrar is not configured to read the directory.', {
      detail:
        'REQUESTER_GROUP_ID is set but no Microsoft Graph identity is configured; set AZURE_CLIENT_ID (and a credential) or unset REQUESTER_GROUP_ID.',
    });
  }
  const log = (requestId: string) => logger.child({ requestId });

  /**
   * A decision through the one load → transition → commit loop (moveRequest). `check` says whether the actor may
   * make the move; a refusal that is only "no longer pending" goes to transition(), which tells a repeat (answered
   * without a change) from a move that cannot be made. What follows a decision starts here: cards are brought up
   * to date, and the one call whose save reached 'approved' starts provisioning.
   */
  async function decide(
    requestId: string,
    event: RequestEvent,
    actor: TransitionActor,
    check: (request: AppRequest, now: Date) => Decision,
  ): Promise<DecisionResult> {
    const moved = await moveRequest(
      store,
      requestId,
      (request, now) => {
        const decision = check(request, now);
        if (!decision.allowed) {
          if (decision.repeat) return { unchanged: decision.message };
          if (decision.reason !== 'not-pending' && decision.reason !== 'expired')
            throw new NotAuthorized(decision.message);
        }
        return event;
      },
      actor,
      () => clock.now(),
    );
    if (!moved.changed)
      return {
        request: moved.request,
        changed: false,
        reachedApproval: false,
        ...(moved.message ? { message: moved.message } : {}),
      };
    if (!moved.audited) log(requestId).warn('audit row deferred');
    log(requestId).info({ event: event.type, from: moved.from.status, to: moved.request.status }, 'request moved');
    const reachedApproval = moved.from.status !== 'approved' && moved.request.status === 'approved';
    if (reachedApproval) startProvisioning?.(requestId);
    onChange?.(moved.request);
    return { request: moved.request, changed: true, reachedApproval };
  }

  async function visibleTo(actor: Actor, request: AppRequest): Promise<boolean> {
    if (sameObject(actor.aadObjectId, request.requester.aadObjectId)) return true;
    if (await approvers.isApprover(actor)) return true;
    return isOperator ? isOperator(actor) : false;
  }

  const notApprover = (message: string) => new NotAuthorized(`${message} ${approvers.describe()}`);

  const submission = createRequestSubmission({ ...deps, personOf });
  const service: RequestService = {
    ...submission,
    async approve(actor, requestId, conversationId) {
      const person = personOf(actor, conversationId);
      const isApprover = await approvers.isApprover(actor);
      return decide(requestId, { type: 'approve' }, person, (request, now) => {
        const decision = canApprove(request, person, { isApprover, now });
        if (!decision.allowed && decision.reason === 'not-an-approver') throw notApprover(decision.message);
        return decision;
      });
    },

    async reject(actor, requestId, reason, conversationId) {
      const person = personOf(actor, conversationId);
      const isApprover = await approvers.isApprover(actor);
      return decide(requestId, { type: 'reject', reason }, person, (request, now) => {
        const decision = canReject(request, person, { isApprover, now });
        if (!decision.allowed && decision.reason === 'not-an-approver') throw notApprover(decision.message);
        return decision;
      });
    },

    async cancel(actor, requestId, conversationId) {
      const person = personOf(actor, conversationId);
      return decide(requestId, { type: 'cancel' }, person, (request) => canCancel(request, person));
    },

    async status(actor, requestId) {
      personOf(actor);
      const stored = await loadRequest(store, requestId);
      const request = toRequest(stored.value);
      if (!(await visibleTo(actor, request))) {
        throw new NotAuthorized(
          `Only the person who asked for request ${requestId}, the approvers and the operators can see it.`,
        );
      }
      return { request, audit: await auditTrail(store, stored.value) };
    },

    async view(requestId) {
      return toRequest((await loadRequest(store, requestId)).value);
    },

    async review(actor, requestId, where) {
      const request = where.inApprovalsChannel
        ? toRequest((await loadRequest(store, requestId)).value)
        : (await service.status(actor, requestId)).request;
      const decidable = request.status === 'submitted' || request.status === 'failed';
      if (!decidable) return { request, mode: 'everyone' };
      if (sameObject(actor.aadObjectId, request.requester.aadObjectId))
        return { request, mode: 'everyone', message: 'You asked for this app, so someone else decides.' };
      if (!(await approvers.isApprover(actor)))
        return { request, mode: 'everyone', message: `Only approvers decide requests. ${approvers.describe()}` };
      if (
        request.status === 'submitted' &&
        request.approvals.some((a) => sameObject(a.aadObjectId, actor.aadObjectId))
      ) {
        const more = request.approvalsRequired - request.approvals.length;
        return {
          request,
          mode: 'everyone',
          message: `You have approved this request; it needs ${more} more approval${more === 1 ? '' : 's'}.`,
        };
      }
      return { request, mode: 'approver' };
    },

    async mine(actor) {
      const person = personOf(actor);
      // The person's index rows, newest first: what it reads does not grow with anyone's older requests.
      const theirs = (await requestsOf(store, person.aadObjectId, { limit: MINE_LIMIT }))
        .map((s) => toRequest(s.value))
        .sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id < b.id ? 1 : -1));
      const { apps, notShown } = await myApps(theirs, {
        ...(deps.applications ? { applications: deps.applications } : {}),
        ...(deps.targets ? { targets: deps.targets } : {}),
        logger,
      });
      return {
        apps,
        appsNotShown: notShown,
        requests: theirs.filter((r) => r.kind !== 'rotation'),
        at: clock.now(),
      };
    },

    async pending(actor) {
      const person = personOf(actor);
      if (!(await approvers.isApprover(actor))) throw notApprover('Only approvers have requests waiting for them.');
      const now = clock.now();
      const waiting = await requestsInState(store, 'submitted');
      return waiting
        .map((s) => toRequest(s.value))
        .filter(
          (r) =>
            r.status === 'submitted' &&
            !isExpired(r, now) &&
            !sameObject(person.aadObjectId, r.requester.aadObjectId) &&
            !r.approvals.some((a) => sameObject(person.aadObjectId, a.aadObjectId)),
        )
        .sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : 1));
    },

    async expireDue(now) {
      const moved: AppRequest[] = [];
      // Only the submitted requests already due, from their index rows: the sweep does not read decided requests.
      for (const candidate of await requestsInState(store, 'submitted', { dueBy: now })) {
        if (!isExpired(candidate.value, now)) continue;
        const id = candidate.value.id;
        const outcome = await moveRequest(
          store,
          id,
          (latest) => (isExpired(latest, now) ? { type: 'expire' } : undefined),
          registrarActor,
          () => now,
        ).catch((err: unknown) => {
          if (err instanceof RequestNotFound) return undefined;
          throw err;
        });
        if (!outcome?.changed) continue;
        if (!outcome.audited) log(id).warn('audit row deferred');
        log(id).info({ expiresAt: outcome.request.expiresAt }, 'request expired');
        onChange?.(outcome.request);
        moved.push(outcome.request);
      }
      return moved;
    },
  };
  return service;
}
