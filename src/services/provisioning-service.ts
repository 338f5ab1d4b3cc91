/**
 * Provisioning an approved request in Entra ID, in the background (PRODUCT "Provisioning"): the steps of
 * stepsFor() in order, each done through the Provisioner and then checkpointed on the request with an
 * ETag-guarded completeStep, so that a restart resumes after the last checkpoint. The Provisioner makes every
 * step safe to repeat, which is what makes the rest simple:
 * - one run per request in this process (a second start() only asks the run to look again when it ends);
 * - a duplicate run elsewhere is harmless: its Graph calls adopt what exists, and its commits lose the ETag race,
 *   read the request again and carry on from what is stored (a step checkpointed meanwhile is skipped);
 * - a Provisioner failure fails the request with a message an administrator can act on; Retry by an approver
 *   starts again from the first step not checkpointed.
 * stop() lets running steps end and starts nothing more: what was stopped stays 'provisioning' and
 * resumeUnfinished() picks it up at the next start.
 */
import { performance } from 'node:perf_hooks';
import type { PermissionRef } from '../domain/app-spec';
import type { Actor } from '../domain/conversation';
import { sameObject } from '../domain/object-id';
import { resolvePermissionsIn } from '../domain/resource-apis';
import { NotAuthorized, RegistrarError } from '../domain/errors';
import { certificateProblem, secretProblem } from '../domain/credential-rules';
import { scopedInExchange } from '../domain/exchange-rbac';
import {
  consentedPermissions,
  nextStep,
  registrarActor,
  toAppSpec,
  type AppRequest,
  type ProvisioningStep,
  type RequestEvent,
  type StepResult,
  type TransitionActor,
} from '../domain/request';
import { redactText, type Logger } from '../lib/logger';
import { createKeyedQueue, createLimiter } from '../lib/queues';
import type { Clock, CredentialPolicies, Provisioner, StepContext, Store, Stored, TargetDirectory } from './ports';
import { targetOf } from './target-directories';
import type { ApproverPolicy } from './request-approvers';
import {
  RequestNotFound,
  loadRequest,
  moveRequest,
  requestsInState,
  toRequest,
  type RequestRecord,
} from './request-records';

export interface ProvisioningService {
  /** Runs provisioning of an approved (or provisioning) request in the background; never awaited by a Teams invoke. A second call for a request already running in this process does nothing. */
  start(requestId: string): void;
  /** An approver's Retry of a failed request: the 'retry' transition (failed → provisioning) by this actor (must be an approver: ApproverPolicy.isApprover, else NotAuthorized with approvers.describe()), then start(). A repeat (already provisioning) changes nothing and says so. */
  retry(
    actor: Actor,
    requestId: string,
    conversationId?: string,
  ): Promise<{ request: AppRequest; changed: boolean; message?: string }>;
  /** At startup: starts every request found in 'approved' or 'provisioning'. Returns their ids. */
  resumeUnfinished(): Promise<string[]>;
  /** Resolves when every run started by this service has ended (tests and shutdown). */
  idle(): Promise<void>;
  /** Stops starting new runs and steps; resolves when running steps have ended. A stopped run stays 'provisioning' in the store and is resumed by resumeUnfinished on the next start. */
  stop(): Promise<void>;
}

export interface ProvisioningServiceDeps {
  store: Store;
  provisioner: Provisioner;
  approvers: ApproverPolicy;
  clock: Clock;
  logger: Logger;
  /** Directories other than the Teams tenant: a request that records one is provisioned there, by its provisioner. */
  targets?: readonly TargetDirectory[];
  /** Called after every committed move of a request (started, each step, provisioned, failed, retried), with the request as saved. Errors thrown by it are logged and ignored; it must never fail provisioning. Called in order per request. */
  onChange?: (request: AppRequest) => void | Promise<void>;
  /**
   * How many requests are provisioned at once (default 8); the others wait their turn. Graph throttles per app
   * and tenant, so a resume of many requests at startup gains nothing from running them all at once.
   */
  maxConcurrentRuns?: number;
  /**
   * The Teams tenant's app management policies, read before a run's first write: a credential the policy in force
   * forbids (it changed after the approval) fails the request before anything is made. None: not checked.
   */
  credentialPolicies?: CredentialPolicies;
  /**
   * The requester's right, read again before a run's first write (FederationService.confirmRight: a federated
   * credential an owner asked for needs them to own the app still). A refusal fails the request in its words.
   */
  confirmRight?: (request: AppRequest) => Promise<void>;
}

const DEFAULT_CONCURRENT_RUNS = 8;

const stepWords: Record<ProvisioningStep, string> = {
  application: 'application',
  owners: 'owners',
  servicePrincipal: 'service principal',
  consent: 'admin consent',
  directoryRole: 'directory role',
  certificate: 'certificate',
  federatedCredential: 'federated credential',
  resources: 'resource service principals',
};

/** What an administrator reads on the failed request: what went wrong, in which step, and (when it adds to that) the detail. */
function failureMessage(step: ProvisioningStep, err: unknown): string {
  if (err instanceof RegistrarError) {
    const detail =
      err.message && err.message !== err.userMessage && !err.userMessage.includes(err.message)
        ? ` Details (${stepWords[step]} step): ${err.message}`
        : '';
    return redactText(`${err.userMessage}${detail}`);
  }
  const said = err instanceof Error ? err.message : String(err);
  return redactText(
    `Registrar hit an unexpected error: ${said} (in the ${stepWords[step]} step). The logs of this request say more; Retry continues from this step.`,
  );
}

function need<T>(value: T | undefined, what: string, requestId: string): T {
  // nextStep() gives steps in order, so this is a bug if it ever throws.
  if (value === undefined) throw new Error(`request ${requestId} has no ${what} checkpoint`);
  return value;
}

interface Run {
  promise: Promise<void>;
  /** start() was called again while this run was going: look at the request once more before ending. */
  again: boolean;
}

export function createProvisioningService(deps: ProvisioningServiceDeps): ProvisioningService {
  const { store, approvers, clock, logger, onChange } = deps;
  const maxRuns = Math.max(1, deps.maxConcurrentRuns ?? DEFAULT_CONCURRENT_RUNS);
  const runs = new Map<string, Run>();
  const notifications = createKeyedQueue();
  const slots = createLimiter(maxRuns);
  let stopping = false;

  /** onChange, in order per request, never awaited by the run and never failing it. */
  function notify(request: AppRequest): void {
    if (!onChange) return;
    const id = request.id;
    void notifications
      .run(id, async () => onChange(request))
      .catch((err: unknown) =>
        logger.child({ requestId: id }).warn({ err, status: request.status }, 'provisioning change listener failed'),
      );
  }

  /**
   * Makes `event` through the one move loop (moveRequest), starting from the request as this run last read it: on a
   * conflict it is read again and, while `wanted` still holds for it, the move is decided again. Returns the request
   * as it now stands (saved, or as found when the move was already made or is no longer wanted), and tells onChange.
   */
  async function commit(
    log: Logger,
    current: Stored<RequestRecord>,
    event: RequestEvent,
    wanted: (request: AppRequest) => boolean,
  ): Promise<Stored<RequestRecord>> {
    const moved = await moveRequest(
      store,
      current.value.id,
      (request) => (wanted(request) ? event : undefined),
      registrarActor,
      () => clock.now(),
      current,
    );
    if (moved.changed) {
      if (!moved.audited) log.warn({ sequence: moved.stored.value.lastAudit?.sequence }, 'audit row deferred');
      notify(moved.request);
    }
    return moved.stored;
  }

  /** One step through the Provisioner, from what the request and its checkpoints say. */
  async function perform(step: ProvisioningStep, request: AppRequest): Promise<StepResult> {
    const provisioner = targetOf(deps.targets, request)?.provisioner ?? deps.provisioner;
    const spec = toAppSpec(request);
    const done = request.provisioning;
    const app = () => need(done.application, 'application', request.id);
    const servicePrincipalId = () => need(done.servicePrincipal, 'servicePrincipal', request.id).servicePrincipalId;
    // When the objects the step refers to were created (by this run or one before a restart): a 404 about them
    // within Entra ID's replication window is then waited out, not taken for a deletion.
    const createdAt = done.servicePrincipal?.at ?? done.application?.at;
    const context: StepContext = { requestId: request.id, ...(createdAt ? { createdAt: new Date(createdAt) } : {}) };
    switch (step) {
      case 'application': {
        const { applicationObjectId, appId } = await provisioner.upsertApplication(spec, context);
        return { step, applicationObjectId, appId };
      }
      case 'owners':
        await provisioner.ensureApplicationOwners(app().applicationObjectId, spec.ownerIds, context);
        return { step, ownerIds: [...spec.ownerIds] };
      case 'servicePrincipal':
        return {
          step,
          servicePrincipalId: await provisioner.ensureServicePrincipal(app().appId, spec.ownerIds, context),
        };
      case 'consent': {
        // Every permission is declared on the application (spec.permissions); only the consented ones get admin consent,
        // and mailbox permissions scoped in Exchange (RBAC for Applications) are declared, never granted tenant-wide.
        const consented = consentedPermissions({ form: request.form, permissions: spec.permissions });
        // The adapter leaves out of the grant what is scoped in Exchange, on this run and any re-run.
        const roles = consented.filter((p) => p.type === 'Role');
        const scoped = scopedInExchange(spec.permissions, spec.exchangeRbac);
        const scopes = consented.filter((p) => p.type === 'Scope');
        const appRoleAssignmentIds =
          roles.length > 0 || scoped.length > 0
            ? await provisioner.grantApplicationPermissions(servicePrincipalId(), roles, context, scoped)
            : [];
        const oauth2PermissionGrantIds =
          scopes.length > 0 ? await provisioner.grantDelegatedPermissions(servicePrincipalId(), scopes, context) : [];
        return { step, appRoleAssignmentIds, oauth2PermissionGrantIds };
      }
      case 'directoryRole':
        return {
          step,
          roleAssignmentId: await provisioner.assignDirectoryRole(
            servicePrincipalId(),
            need(spec.directoryRoleTemplateId, 'directory role', request.id),
            context,
          ),
        };
      case 'certificate': {
        const certificate = need(spec.certificate, 'certificate', request.id);
        await provisioner.addCertificate(app().applicationObjectId, certificate, context);
        return { step, thumbprint: certificate.thumbprint };
      }
      case 'federatedCredential': {
        // After the application exists: POST /applications/{id}/federatedIdentityCredentials
        // (https://learn.microsoft.com/graph/api/application-post-federatedidentitycredentials). The adapter counts a
        // credential with the same name, issuer and subject as done, so a re-run returns the same id.
        const federated = need(spec.federatedCredential, 'federated credential', request.id);
        const credentialId = await provisioner.addFederatedCredential(app().applicationObjectId, federated, context);
        return { step, credentialId, name: federated.name };
      }
      case 'resources':
        return createResources(provisioner, request, context);
    }
  }

  /**
   * The service principals of the APIs the tenant lacked at submission, and the form's permissions on them resolved
   * against what each declares (the ids exist only now). A name the API does not declare fails the request with
   * that name: nothing is created for the app until every permission is known.
   */
  async function createResources(
    provisioner: Provisioner,
    request: AppRequest,
    context: StepContext,
  ): Promise<StepResult> {
    const servicePrincipalIds: string[] = [];
    const permissions: PermissionRef[] = [];
    const unknown: string[] = [];
    for (const resource of request.resourceServicePrincipals ?? []) {
      const { servicePrincipalId, catalog } = await provisioner.ensureResourceServicePrincipal(resource.appId, context);
      servicePrincipalIds.push(servicePrincipalId);
      const resolved = resolvePermissionsIn(
        catalog,
        request.form.otherPermissions.filter((p) => sameObject(p.resourceAppId, resource.appId)),
      );
      permissions.push(...resolved.found);
      unknown.push(...resolved.unknown);
    }
    if (unknown.length > 0)
      throw new RegistrarError(
        'invalid-input',
        `The service principal${servicePrincipalIds.length === 1 ? ' is' : 's are'} in the tenant now, but ${unknown.join('; ')} ${unknown.length === 1 ? 'is' : 'are'} not a permission the API declares, so no app was created. Ask again with the permission's exact name (the API's Enterprise application page lists them).`,
        { detail: `resolving the permissions of request ${request.id} against the new resource service principals` },
      );
    return { step: 'resources', servicePrincipalIds, permissions };
  }

  /**
   * The approved credential against the app management policy in force now (approval may be days old): a refusal in
   * the policy's own words, before this run writes anything. A policy Registrar may not read is logged and left to
   * Entra ID, which refuses the credential itself when it is added (graph-errors.ts passes its words on).
   */
  async function checkCredentialPolicy(request: AppRequest, log: Logger): Promise<void> {
    const policies = deps.credentialPolicies;
    const credential = request.form.credential;
    if (!policies || targetOf(deps.targets, request)) return;
    if (credential.kind !== 'secret' && credential.kind !== 'certificate') return;
    const made = request.provisioning.application;
    const rules = made ? await policies.forApp(made.applicationObjectId) : await policies.forNewApp();
    if (rules.unreadable) {
      log.warn({ reason: rules.unreadable }, 'app management policy not read before provisioning');
      return;
    }
    const problem =
      credential.kind === 'secret'
        ? secretProblem(rules, credential.lifetimeDays, clock.now())
        : certificateProblem(rules, credential.certificate);
    if (!problem) return;
    const outcome = made
      ? 'Provisioning stopped before the credential was added.'
      : 'Provisioning stopped before anything was created.';
    throw new RegistrarError(
      'invalid-input',
      `${problem} ${outcome} The policy changed after this request was approved: ask again with a credential the policy allows.`,
      { detail: `checking request ${request.id}'s ${credential.kind} against the app management policy in force` },
    );
  }

  /** Provisions the request from where it stands until it is provisioned, failed, or this service stops. */
  async function provision(requestId: string): Promise<void> {
    const log = logger.child({ requestId });
    const began = performance.now();
    let current = await loadRequest(store, requestId);
    if (current.value.status === 'approved') {
      current = await commit(log, current, { type: 'startProvisioning' }, (r) => r.status === 'approved');
      if (current.value.status === 'provisioning')
        log.info({ attempts: current.value.provisioning.attempts }, 'provisioning started');
    } else if (current.value.status === 'provisioning') {
      log.info(
        { step: nextStep(current.value), attempts: current.value.provisioning.attempts },
        'provisioning resumed',
      );
    } else {
      log.debug({ status: current.value.status }, 'nothing to provision');
    }
    let policyChecked = false;
    while (current.value.status === 'provisioning') {
      const request = toRequest(current.value);
      const step = nextStep(request);
      if (!step) {
        current = await commit(log, current, { type: 'succeed' }, (r) => r.status === 'provisioning' && !nextStep(r));
        if (current.value.status === 'provisioned')
          log.info({ durationMs: Math.round(performance.now() - began) }, 'provisioning finished');
        continue;
      }
      if (stopping) {
        log.info({ step }, 'provisioning paused for shutdown');
        return;
      }
      const stepBegan = performance.now();
      let result: StepResult;
      try {
        if (!policyChecked) {
          await deps.confirmRight?.(request);
          await checkCredentialPolicy(request, log);
        }
        policyChecked = true;
        result = await perform(step, request);
      } catch (err) {
        const durationMs = Math.round(performance.now() - stepBegan);
        if (stopping) {
          // Likely the shutdown itself; the step is done again (it is safe to repeat) when this request resumes.
          log.info(
            { step, durationMs, error: err instanceof Error ? err.message : String(err) },
            'provisioning step interrupted by shutdown',
          );
          return;
        }
        if (err instanceof RegistrarError)
          log.warn({ step, durationMs, code: err.code, detail: err.message }, 'provisioning step failed');
        else log.error({ step, durationMs, err }, 'provisioning step hit an unexpected error');
        // A duplicate run elsewhere may have done this step meanwhile: then its checkpoint stands and this goes on.
        current = await commit(
          log,
          current,
          { type: 'fail', message: failureMessage(step, err) },
          (r) => r.status === 'provisioning' && !r.provisioning[step],
        );
        if (current.value.status === 'failed') log.info({ step }, 'provisioning failed');
        continue;
      }
      log.info({ step, durationMs: Math.round(performance.now() - stepBegan) }, 'provisioning step done');
      current = await commit(
        log,
        current,
        { type: 'completeStep', result },
        (r) => r.status === 'provisioning' && !r.provisioning[step],
      );
    }
  }

  /** provision(), with nothing escaping: what cannot be saved now (storage down) is resumed at the next start. */
  async function provisionSafely(requestId: string): Promise<void> {
    try {
      await provision(requestId);
    } catch (err) {
      const log = logger.child({ requestId });
      if (err instanceof RequestNotFound) log.warn('provisioning found no such request');
      else log.error({ err }, 'provisioning interrupted; it resumes at the next start');
    }
  }

  function start(requestId: string): void {
    if (stopping) {
      logger.child({ requestId }).info('provisioning not started: stopping');
      return;
    }
    const running = runs.get(requestId);
    if (running) {
      running.again = true;
      return;
    }
    const run: Run = { again: false, promise: Promise.resolve() };
    run.promise = slots
      .run(async () => {
        do {
          run.again = false;
          if (stopping) break;
          await provisionSafely(requestId);
        } while (run.again);
      })
      .finally(() => runs.delete(requestId));
    runs.set(requestId, run);
  }

  async function idle(): Promise<void> {
    while (runs.size > 0 || notifications.size > 0) {
      await Promise.allSettled([...runs.values()].map((r) => r.promise));
      await notifications.idle();
    }
  }

  return {
    start,

    async retry(actor, requestId, conversationId) {
      if (!actor.aadObjectId)
        throw new NotAuthorized(
          'Registrar cannot tell who you are in Entra ID, so it cannot act for you. Use Teams signed in with your work account.',
        );
      const person: TransitionActor = {
        aadObjectId: actor.aadObjectId.toLowerCase(),
        name: actor.name,
        ...(conversationId ? { conversationId } : {}),
      };
      if (!(await approvers.isApprover(actor)))
        throw new NotAuthorized(`Only approvers can retry provisioning. ${approvers.describe()}`);
      const log = logger.child({ requestId });
      const moved = await moveRequest(store, requestId, { type: 'retry' }, person, () => clock.now());
      if (!moved.changed)
        return {
          request: moved.request,
          changed: false,
          message: moved.message ?? `Request ${requestId} is not waiting for a retry.`,
        };
      if (!moved.audited) log.warn('audit row deferred: the next save or read of the request writes it');
      log.info(
        { by: person.aadObjectId, attempts: moved.request.provisioning.attempts, step: nextStep(moved.request) },
        'provisioning retried',
      );
      notify(moved.request);
      start(requestId);
      return { request: moved.request, changed: true };
    },

    async resumeUnfinished() {
      if (stopping) return [];
      // From the index rows of the two unfinished states: decided requests are not read.
      const unfinished = [
        ...(await requestsInState(store, 'approved')),
        ...(await requestsInState(store, 'provisioning')),
      ].map((s) => s.value);
      const ids = unfinished
        .sort((a, b) => (a.updatedAt < b.updatedAt ? -1 : a.updatedAt > b.updatedAt ? 1 : 0))
        .map((r) => r.id);
      for (const id of ids) start(id);
      if (ids.length > 0) logger.info({ count: ids.length }, 'unfinished provisioning resumed');
      return ids;
    },

    idle,

    async stop() {
      stopping = true;
      await idle();
    },
  };
}
