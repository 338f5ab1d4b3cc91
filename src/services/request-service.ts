/**
 * Asking for an app and deciding on it: submit, approve, reject, cancel, status, mine, pending and the expiry
 * sweep. Every function takes the person who acted (authority from their aadObjectId and the stored request,
 * never from card data) and returns what a card needs. Every save is ETag-guarded: on a conflict the request
 * is read again and the decision taken again, so two approvers at once give one consistent outcome. Every
 * move appends exactly one audit row (see request-records.ts for how a failed audit write is made good).
 */
import { MICROSOFT_GRAPH_APP_ID, type PermissionRef } from '../domain/app-spec';
import { approvalsNeeded, canApprove, canCancel, canReject, isExpired, type Decision } from '../domain/approval-policy';
import type { Actor, ConversationAddress } from '../domain/conversation';
import { ConflictError, NotAuthorized, RegistrarError } from '../domain/errors';
import { createPermissionIndex, type PermissionIndex, type PermissionSearchOptions, type PermissionSearchResult } from '../domain/permission-search';
import {
  createRequest,
  registrarActor,
  type AppRequest,
  type AuditEvent,
  type RequestEvent,
  type TransitionActor,
} from '../domain/request';
import { validateRequestForm, type FormErrorKey, type FormValues } from '../domain/request-form';
import { newRequestId, type RandomSource } from '../domain/request-id';
import { assessRisk } from '../domain/risk';
import type { Config } from '../config';
import type { Logger } from '../lib/logger';
import { REQUEST_INDEX_PREFIX, type Clock, type Directory, type PeopleDirectory, type Provisioner, type ResourceCatalog, type Store } from './ports';
import { tooManyOpen, type CardRef, type OwnerDetail } from '../domain/request';
import type { ApproverPolicy } from './request-approvers';
import {
  REQUEST_PARTITION,
  RequestNotFound,
  annotateRequest,
  auditTrail,
  moveRequest,
  openRequestCount,
  createRecord,
  loadRequest,
  requestsInState,
  requestsOf,
  toRequest,
  type CommitOutcome,
} from './request-records';
import { sameObject } from '../domain/object-id';

export { RequestNotFound };

/**
 * The reservation of a form's id for the person it was sent to: an index row of the Requests table (no state
 * index reads it, so the sweeps and lists do not grow with forms opened and never sent).
 */
const formRow = (aadObjectId: string, requestId: string) => `${REQUEST_INDEX_PREFIX}form.${aadObjectId.toLowerCase()}.${requestId}`;

const MAX_ATTEMPTS = 5;
/** `mine` lists a person's newest requests, this many at most. */
const MINE_LIMIT = 100;

export interface FormContext {
  policy: { secretMaxDays: number; secretDefaultDays: number; namePrefix?: string };
  /** The Microsoft Graph catalog, for the form's choices. */
  catalog: PermissionIndex;
}

export type SubmitResult =
  | { ok: true; request: AppRequest; /** False when this form had already been submitted (a retried invoke). */ created: boolean }
  | { ok: false; errors: Partial<Record<FormErrorKey, string>>; values: FormValues };

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

export interface RequestService {
  formContext(): Promise<FormContext>;
  /**
   * The id a new form carries: minted here and reserved for this person in the store before the form is sent, so
   * that Submit accepts only an id this store gave this person (a retried Submit finds its request by it).
   */
  newForm(actor: Actor): Promise<{ requestId: string }>;
  searchPermissions(query: string, options?: PermissionSearchOptions): Promise<PermissionSearchResult>;
  /** `statusCard`: the card the form was, which becomes the request's status card and follows it. */
  submit(actor: Actor, input: unknown, conversation?: ConversationAddress, statusCard?: CardRef): Promise<SubmitResult>;
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
  /** The actor's requests, newest first (the newest 100). */
  mine(actor: Actor): Promise<AppRequest[]>;
  /** Requests waiting for this approver: not their own, not already approved by them, not expired; oldest first. */
  pending(actor: Actor): Promise<AppRequest[]>;
  /** Moves every undecided request past its expiry to expired; returns those this call moved. */
  expireDue(now: Date): Promise<AppRequest[]>;
}

export interface RequestServiceDeps {
  store: Store;
  provisioner: Pick<Provisioner, 'catalog' | 'resolvePermission'>;
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
}


/** What the person typed, as text, to put back in the form. */
function textValues(input: unknown): FormValues {
  const values = (input && typeof input === 'object' ? input : {}) as Record<string, unknown>;
  return Object.fromEntries(Object.entries(values).filter(([, v]) => typeof v === 'string')) as FormValues;
}

/** The person behind a click, for the domain; refused when Teams did not say who they are in Entra ID. */
function personOf(actor: Actor, conversationId?: string): TransitionActor {
  if (!actor.aadObjectId) throw new NotAuthorized('Registrar cannot tell who you are in Entra ID, so it cannot act for you. Use Teams signed in with your work account.');
  return { aadObjectId: actor.aadObjectId.toLowerCase(), name: actor.name, ...(conversationId ? { conversationId } : {}) };
}

export function createRequestService(deps: RequestServiceDeps): RequestService {
  const { store, provisioner, approvers, clock, random, policy, logger, directory, isOperator, people, startProvisioning, onChange } = deps;
  if (policy.requesterGroupId && !directory) {
    throw new RegistrarError('unavailable', 'Registrar is not configured to read the directory.', {
      detail: 'REQUESTER_GROUP_ID is set but no Microsoft Graph identity is configured; set AZURE_CLIENT_ID (and a credential) or unset REQUESTER_GROUP_ID.',
    });
  }
  const log = (requestId: string) => logger.child({ requestId });

  // The provisioner caches the catalog; the index is rebuilt only when it hands back a different one.
  let indexed: { catalog: ResourceCatalog; index: PermissionIndex } | undefined;
  async function graphIndex(): Promise<PermissionIndex> {
    const catalog = await provisioner.catalog(MICROSOFT_GRAPH_APP_ID);
    if (indexed?.catalog !== catalog) indexed = { catalog, index: createPermissionIndex(catalog.permissions) };
    return indexed.index;
  }

  async function requireRequester(actor: Actor): Promise<void> {
    const groupId = policy.requesterGroupId;
    if (!groupId || !directory || !actor.aadObjectId) return;
    let member: boolean;
    try {
      member = await directory.isMemberOfAnyGroup(actor.aadObjectId.toLowerCase(), [groupId]);
    } catch (err) {
      throw new RegistrarError('unavailable', 'Registrar cannot check your rights in the directory right now. Try again in a minute.', {
        cause: err,
        detail: `checking membership of ${actor.aadObjectId} in REQUESTER_GROUP_ID ${groupId} failed; check the Graph identity (Directory.Read.All, granted by npm run setup:permissions)`,
      });
    }
    if (!member) throw new NotAuthorized(`Only members of the Entra group ${groupId} (REQUESTER_GROUP_ID) can ask for apps here. Ask an operator to add you.`);
  }

  /**
   * The additional owners as the directory knows them. Only users of this tenant may own what Registrar creates:
   * an id that /users does not return (a service principal, a group, a deleted or unknown user) is refused.
   */
  async function ownersOf(ids: readonly string[]): Promise<{ ok: true; details: OwnerDetail[] } | { ok: false; message: string }> {
    if (ids.length === 0) return { ok: true, details: [] };
    if (!people) return { ok: false, message: 'Registrar cannot look people up in the directory, so it cannot add other owners. Leave this empty; owners can be added to the app later.' };
    let found: OwnerDetail[];
    try {
      found = await people.users(ids);
    } catch (err) {
      throw new RegistrarError('unavailable', 'Registrar cannot look up the owners you named in the directory right now. Try again in a minute.', {
        cause: err,
        detail: 'reading the additional owners with GET /users?$filter=id in (...) failed; check the Graph identity (Directory.Read.All)',
      });
    }
    const byId = new Map(found.map((user) => [user.id.toLowerCase(), user]));
    const missing = ids.filter((id) => !byId.has(id.toLowerCase()));
    if (missing.length > 0) {
      const one = missing.length === 1;
      return {
        ok: false,
        message: `${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ` and ${missing.length - 3} more` : ''} ${one ? 'is not a user' : 'are not users'} of this tenant. Owners must be people: choose them with the people picker.`,
      };
    }
    return { ok: true, details: ids.map((id) => byId.get(id.toLowerCase())!) };
  }

  /** Why a form's id cannot be used by this person, or undefined when it was minted for them (or is their request already). */
  async function refusedFormId(requestId: string, aadObjectId: string): Promise<string | undefined> {
    const existing = await store.requests.get(REQUEST_PARTITION, requestId);
    if (existing) return sameObject(aadObjectId, existing.value.requester.aadObjectId) ? undefined : 'This form belongs to another request. Open a new one with `request`.';
    if (await store.requests.index.get(REQUEST_PARTITION, formRow(aadObjectId, requestId))) return undefined;
    return 'This form belongs to another request, or to none Registrar sent you. Open a new one with `request`.';
  }

  function noteAudit(outcome: CommitOutcome, requestId: string): void {
    // The move is saved; the row is written by the next save or read of this request (request-records.ts).
    if (!outcome.audited) log(requestId).warn({ sequence: outcome.stored.value.lastAudit?.sequence }, 'audit row deferred');
  }

  async function submit(actor: Actor, input: unknown, conversation?: ConversationAddress, statusCard?: CardRef): Promise<SubmitResult> {
    const result = await create(actor, input, conversation);
    if (!result.ok) return result;
    let request = result.request;
    if (statusCard) request = await annotateRequest(store, request.id, (latest) => (latest.statusCard ? undefined : { statusCard }));
    if (result.created) onChange?.(request);
    return { ...result, request };
  }

  async function create(actor: Actor, input: unknown, conversation?: ConversationAddress): Promise<SubmitResult> {
    const requester = personOf(actor, conversation?.conversation.id);
    await requireRequester(actor);
    const now = clock.now();
    const catalog = await graphIndex();
    const checked = validateRequestForm(input, {
      catalog,
      policy: { secretMaxDays: policy.secretMaxDays, secretDefaultDays: policy.secretDefaultDays, ...(policy.namePrefix ? { namePrefix: policy.namePrefix } : {}) },
      now,
    });
    if (!checked.ok) return checked;
    const { form } = checked;

    const permissions: PermissionRef[] = [...form.graphPermissions];
    const unknown: string[] = [];
    for (const other of form.otherPermissions) {
      const found = await provisioner.resolvePermission(other.resourceAppId, other.value, other.type);
      if (found) permissions.push(found);
      else unknown.push(`${other.value} (${other.type === 'Role' ? 'application' : 'delegated'}) on ${other.resourceAppId}`);
    }
    if (unknown.length > 0) {
      return {
        ok: false,
        errors: { otherPermissions: `These APIs have no such permission: ${unknown.slice(0, 5).join('; ')}. Check the resource app id and the permission's exact name.` },
        values: textValues(input),
      };
    }

    const owners = await ownersOf(form.additionalOwnerIds);
    if (!owners.ok) return { ok: false, errors: { owners: owners.message }, values: textValues(input) };

    const risk = assessRisk({ permissions, signInAudience: form.signInAudience, ...(form.directoryRole ? { directoryRole: form.directoryRole } : {}) });
    // A form's id is one this store minted for this person (newForm): card data only looks a request up.
    if (checked.requestId !== undefined) {
      const refused = await refusedFormId(checked.requestId, requester.aadObjectId);
      if (refused) return { ok: false, errors: { form: refused }, values: {} };
    }
    // At most OPEN_REQUESTS_PER_USER undecided at once: each one puts a card in front of the approvers. A retried
    // Submit of a request already made is not a new one.
    const retried = checked.requestId !== undefined && (await store.requests.get(REQUEST_PARTITION, checked.requestId)) !== undefined;
    if (!retried && (await openRequestCount(store, requester.aadObjectId)) >= policy.openRequestsPerUser) {
      return { ok: false, errors: { form: tooManyOpen(policy.openRequestsPerUser) }, values: textValues(input) };
    }
    for (let attempt = 1; ; attempt++) {
      const id = checked.requestId ?? newRequestId(random);
      const { request, audit } = createRequest({
        id,
        requester,
        form,
        permissions,
        risk,
        approvalsRequired: approvalsNeeded(risk.level, policy),
        pendingTtlDays: policy.pendingTtlDays,
        now,
        ...(conversation ? { requesterAddress: conversation } : {}),
        ownerDetails: owners.details,
        marker: Buffer.from(random(16)).toString('hex'),
      });
      try {
        const outcome = await createRecord(store, request, audit);
        noteAudit(outcome, id);
        log(id).info({ risk: risk.level, approvalsRequired: request.approvalsRequired }, 'request submitted');
        return { ok: true, request: toRequest(outcome.stored.value), created: true };
      } catch (err) {
        if (!(err instanceof ConflictError && err.reason === 'exists')) throw err;
        if (checked.requestId === undefined) {
          if (attempt >= MAX_ATTEMPTS) throw err;
          continue; // a generated id collided: draw another
        }
        const existing = await loadRequest(store, id);
        if (!sameObject(requester.aadObjectId, existing.value.requester.aadObjectId)) {
          return { ok: false, errors: { form: 'This form belongs to another request. Open a new one with `request`.' }, values: {} };
        }
        await auditTrail(store, existing.value);
        log(id).info('request submitted again');
        return { ok: true, request: toRequest(existing.value), created: false };
      }
    }
  }

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
          if (decision.reason !== 'not-pending' && decision.reason !== 'expired') throw new NotAuthorized(decision.message);
        }
        return event;
      },
      actor,
      () => clock.now(),
    );
    if (!moved.changed) return { request: moved.request, changed: false, reachedApproval: false, ...(moved.message ? { message: moved.message } : {}) };
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

  const service: RequestService = {
    async newForm(actor) {
      const person = personOf(actor).aadObjectId;
      for (let attempt = 1; ; attempt++) {
        const requestId = newRequestId(random);
        try {
          // Reserved before any card carries it; an id some request already holds is drawn again at Submit's create.
          await store.requests.index.create(REQUEST_PARTITION, formRow(person, requestId), { requestId });
          return { requestId };
        } catch (err) {
          if (!(err instanceof ConflictError && err.reason === 'exists') || attempt >= MAX_ATTEMPTS) throw err;
        }
      }
    },

    async formContext() {
      return {
        policy: { secretMaxDays: policy.secretMaxDays, secretDefaultDays: policy.secretDefaultDays, ...(policy.namePrefix ? { namePrefix: policy.namePrefix } : {}) },
        catalog: await graphIndex(),
      };
    },

    async searchPermissions(query, options) {
      return (await graphIndex()).search(query, options);
    },

    submit,

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
        throw new NotAuthorized(`Only the person who asked for request ${requestId}, the approvers and the operators can see it.`);
      }
      return { request, audit: await auditTrail(store, stored.value) };
    },

    async view(requestId) {
      return toRequest((await loadRequest(store, requestId)).value);
    },

    async review(actor, requestId, where) {
      const request = where.inApprovalsChannel ? toRequest((await loadRequest(store, requestId)).value) : (await service.status(actor, requestId)).request;
      const decidable = request.status === 'submitted' || request.status === 'failed';
      if (!decidable) return { request, mode: 'everyone' };
      if (sameObject(actor.aadObjectId, request.requester.aadObjectId)) return { request, mode: 'everyone', message: 'You asked for this app, so someone else decides.' };
      if (!(await approvers.isApprover(actor))) return { request, mode: 'everyone', message: `Only approvers decide requests. ${approvers.describe()}` };
      if (request.status === 'submitted' && request.approvals.some((a) => sameObject(a.aadObjectId, actor.aadObjectId))) {
        const more = request.approvalsRequired - request.approvals.length;
        return { request, mode: 'everyone', message: `You have approved this request; it needs ${more} more approval${more === 1 ? '' : 's'}.` };
      }
      return { request, mode: 'approver' };
    },

    async mine(actor) {
      const person = personOf(actor);
      // The person's index rows, newest first: what it reads does not grow with anyone's older requests.
      const theirs = await requestsOf(store, person.aadObjectId, { limit: MINE_LIMIT });
      return theirs
        .map((s) => toRequest(s.value))
        .sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id < b.id ? 1 : -1));
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
        const outcome = await moveRequest(store, id, (latest) => (isExpired(latest, now) ? { type: 'expire' } : undefined), registrarActor, () => now).catch((err: unknown) => {
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
