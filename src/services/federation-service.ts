/**
 * `federate <app>` (issue 17): a federated credential for an existing app, so that a workload (a GitHub Actions
 * job, a Kubernetes service account, another issuer's subject) signs in as the app with its own token and no secret.
 * The workload gets the app's whole power, so it is approved like a rotation (rotation-service.ts):
 * - an owner of the app in Entra ID adds one straight away, unless ROTATION_NEEDS_APPROVAL says otherwise ('always',
 *   or 'privileged', the default, when the app's service principal holds a high-risk permission or a directory role);
 * - anyone else can only ask: the approvers decide, never the asker;
 * - Registrar's own registration never gets one from chat: the workload would carry Registrar's tenant-wide power.
 * Ownership is read from the directory at each moment it matters: when the card is offered, when it is submitted,
 * and when provisioning adds the credential (confirmRight). The card carries the app's id, never a right.
 * Entra ID allows 20 federated credentials per app
 * (https://learn.microsoft.com/entra/workload-id/workload-identity-federation-considerations#general-federated-identity-credential-considerations):
 * the existing ones are read before a request is made, and the adapter reads them again before its write.
 */
import type { Actor, ConversationAddress } from '../domain/conversation';
import { ConflictError, NotAuthorized, RegistrarError } from '../domain/errors';
import { approvalsNeeded } from '../domain/approval-policy';
import { MAX_FEDERATED_CREDENTIALS } from '../domain/app-spec';
import { parseFederatedWorkload, type FederatedField } from '../domain/federated-credential';
import { sameObject } from '../domain/object-id';
import { createFederation, tooManyOpen, type AppRequest, type CardRef } from '../domain/request';
import { newRequestId, type RandomSource } from '../domain/request-id';
import type { RiskAssessment } from '../domain/risk';
import type { Config } from '../config';
import { approvalReason, ownsApp, standingRisk } from './existing-app-authority';
import type { Logger } from '../lib/logger';
import type { ApplicationSummary, Clock, CredentialSource, Provisioner, Store } from './ports';
import { annotateRequest, createRecord, openRequestCount, requestsOf, toRequest } from './request-records';

/** What the `federate <app>` card offers, as read from the directory now. */
export interface FederationOffer {
  appId: string;
  appName: string;
  /** 'owner': the person owns the app now; 'approval': they can only ask. */
  askedAs: 'owner' | 'approval';
  /** Why the approvers decide first; undefined when an owner adds it straight away. */
  approvalReason?: string;
  /** The app's federated credentials now, of the MAX_FEDERATED_CREDENTIALS Entra ID allows. */
  existing: number;
}

export type FederationSubmission =
  /** A field is wrong: the card again, with the person's values and a message under each bad field; nothing made. */
  | { kind: 'invalid'; offer: FederationOffer; errors: Partial<Record<FederatedField, string>> }
  /** A request was made (approved straight away, or waiting for the approvers). */
  | { kind: 'created'; request: AppRequest }
  /** The same credential for the same app was asked for already and is still under way: that request. */
  | { kind: 'repeat'; request: AppRequest };

export interface FederationService {
  /** The card's offer for the app named by appId or exact display name; refusals (Registrar's own, the 20) throw. */
  open(actor: Actor, appIdOrName: string): Promise<FederationOffer>;
  /**
   * The card's Submit: every check again, now (the app, the person's ownership, the count), then the workload's
   * fields; `offeredAs` is what the card told the person, so an owner whose ownership ended meanwhile is refused
   * rather than silently turned into someone asking.
   */
  submit(
    actor: Actor,
    input: {
      appId: string;
      offeredAs: 'owner' | 'approval';
      values: Partial<Record<FederatedField, string>>;
      /** The card submitted, which becomes the request's status card and follows it. */
      statusCard?: CardRef;
    },
    home?: ConversationAddress,
  ): Promise<FederationSubmission>;
  /**
   * Before provisioning adds the credential: an owner's request needs the requester to own the app still; one the
   * approvers decided needs their approvals. Throws NotAuthorized, which fails the request with its words.
   */
  confirmRight(request: AppRequest): Promise<void>;
}

export interface FederationServiceDeps {
  store: Store;
  source: Pick<CredentialSource, 'findApplication' | 'ownersOf' | 'privilegesOf'>;
  provisioner: Pick<Provisioner, 'listFederatedCredentials'>;
  /** The owners as confirmRight reads them, in the background with the full Graph budget; default `source`. */
  owners?: Pick<CredentialSource, 'ownersOf'>;
  clock: Clock;
  random: RandomSource;
  policy: Config['policy'];
  logger: Logger;
  /** appIds of Registrar's own registrations (AZURE_CLIENT_ID, BOT_ID): never federated from chat. */
  ownAppIds: readonly string[];
  /** Starts provisioning of an approved request (ProvisioningService.start). */
  startProvisioning?: (requestId: string) => void;
  /** Told of every saved request, to post and keep its cards (CardService.changed). Never awaited. */
  onChange?: (request: AppRequest) => void;
}

const MAX_ATTEMPTS = 5;
/** A person's recent requests looked through for a repeat of the same Submit. */
const REPEAT_LOOKBACK = 20;
const underWay: ReadonlyArray<AppRequest['status']> = ['submitted', 'approved', 'provisioning', 'provisioned'];

export function createFederationService(deps: FederationServiceDeps): FederationService {
  const { store, source, provisioner, clock, random, policy, logger } = deps;
  const ownAppIds = new Set(deps.ownAppIds.map((id) => id.toLowerCase()));

  function who(actor: Actor): string {
    if (!actor.aadObjectId)
      throw new NotAuthorized(
        'Registrar cannot tell who you are in Entra ID, so it cannot add a federated credential for you.',
      );
    return actor.aadObjectId.toLowerCase();
  }

  async function findApp(appIdOrName: string): Promise<ApplicationSummary> {
    const wanted = appIdOrName.trim();
    if (!wanted) throw new RegistrarError('invalid-input', 'Say which app: `federate <app name or appId>`.');
    const app = await source.findApplication(wanted);
    if (!app)
      throw new RegistrarError(
        'not-found',
        `Registrar finds no app registration called "${wanted.slice(0, 120)}". Use its exact name or its appId.`,
      );
    if (ownAppIds.has(app.appId.toLowerCase()))
      throw new NotAuthorized(
        `Registrar does not add federated credentials to its own registration from chat: a workload trusted by ${app.displayName} would carry Registrar's permissions over the whole tenant. Its identity is a managed identity; see infra/README.md, "Registrar's identity is Tier 0".`,
      );
    return app;
  }

  function tooMany(app: ApplicationSummary, count: number): RegistrarError {
    return new RegistrarError(
      'conflict',
      `${app.displayName} already has ${count} federated credentials, the most Microsoft Entra ID allows (${MAX_FEDERATED_CREDENTIALS}). An owner needs to remove one it no longer uses (Certificates & secrets, Federated credentials) before Registrar can add another.`,
      { detail: `application ${app.applicationObjectId} holds ${count} federated identity credentials` },
    );
  }

  /** The person's right and the app's room for one more, read now; the limit of open requests when approvers decide. */
  async function offerFor(
    person: string,
    app: ApplicationSummary,
  ): Promise<FederationOffer & { risk: RiskAssessment; credentials: Awaited<ReturnType<typeof list>> }> {
    const [owner, risk, credentials] = await Promise.all([
      ownsApp(source, person, app.applicationObjectId),
      standingRisk(source, app.appId),
      list(app),
    ]);
    if (credentials.length >= MAX_FEDERATED_CREDENTIALS) throw tooMany(app, credentials.length);
    const reason = approvalReason(
      policy,
      owner,
      risk,
      'every new credential for an existing app goes to the approvers',
    );
    if (reason && (await openRequestCount(store, person)) >= policy.openRequestsPerUser)
      throw new RegistrarError('conflict', tooManyOpen(policy.openRequestsPerUser));
    return {
      appId: app.appId,
      appName: app.displayName,
      askedAs: owner ? 'owner' : 'approval',
      ...(reason ? { approvalReason: reason } : {}),
      existing: credentials.length,
      risk,
      credentials,
    };
  }

  function list(app: ApplicationSummary) {
    return provisioner.listFederatedCredentials(app.applicationObjectId);
  }

  /** An open request of this person for the same credential of the same app: a repeated Submit, not a new ask. */
  async function sameAskUnderWay(person: string, applicationObjectId: string, name: string) {
    const recent = await requestsOf(store, person, { limit: REPEAT_LOOKBACK });
    return recent
      .map((s) => toRequest(s.value))
      .find(
        (r) =>
          r.kind === 'federation' &&
          underWay.includes(r.status) &&
          sameObject(r.federation?.applicationObjectId ?? '', applicationObjectId) &&
          r.form.credential.kind === 'federated' &&
          r.form.credential.credential.name === name,
      );
  }

  return {
    async open(actor, appIdOrName) {
      const person = who(actor);
      const app = await findApp(appIdOrName);
      const { risk: _risk, credentials: _credentials, ...offer } = await offerFor(person, app);
      return offer;
    },

    async submit(actor, input, home) {
      const person = who(actor);
      const app = await findApp(input.appId);
      const { risk, credentials, ...offer } = await offerFor(person, app);
      const log = logger.child({ appId: app.appId });
      if (input.offeredAs === 'owner' && offer.askedAs !== 'owner') {
        log.info({ by: person }, 'federated credential refused: ownership ended after the card');
        throw new NotAuthorized(
          `You are not an owner of ${app.displayName} in Entra ID any more, so Registrar added nothing. If you were just removed by mistake, ask an owner to add you again; otherwise type \`federate ${app.displayName}\` to ask the approvers.`,
        );
      }
      const parsed = parseFederatedWorkload(input.values);
      if (!parsed.ok) return { kind: 'invalid', offer, errors: parsed.errors };
      const { workload, credential } = parsed;
      const trusted = credentials.find((c) => c.issuer === credential.issuer && c.subject === credential.subject);
      if (trusted)
        throw new RegistrarError(
          'conflict',
          `${app.displayName} already trusts this workload (issuer ${credential.issuer}, subject ${credential.subject}) through its federated credential "${trusted.name}": it can sign in as the app already, and Entra ID allows one credential per issuer and subject. Nothing was added.`,
        );
      const repeat = await sameAskUnderWay(person, app.applicationObjectId, credential.name);
      if (repeat) return { kind: 'repeat', request: repeat };
      const askedAs = offer.askedAs;
      for (let attempt = 1; ; attempt++) {
        const { request, audit } = createFederation({
          id: newRequestId(random),
          requester: {
            aadObjectId: person,
            name: actor.name,
            ...(home ? { conversationId: home.conversation.id } : {}),
          },
          target: { applicationObjectId: app.applicationObjectId, appId: app.appId, appName: app.displayName, askedAs },
          credential: { kind: 'federated', workload, credential },
          ...(offer.approvalReason ? { approvalReason: offer.approvalReason } : {}),
          risk,
          approvalsRequired: approvalsNeeded(risk.level, policy),
          pendingTtlDays: policy.pendingTtlDays,
          now: clock.now(),
          ...(home ? { requesterAddress: home } : {}),
        });
        try {
          let created = toRequest((await createRecord(store, request, audit)).stored.value);
          const statusCard = input.statusCard;
          if (statusCard)
            created = await annotateRequest(store, created.id, (latest) =>
              latest.statusCard ? undefined : { statusCard },
            );
          log
            .child({ requestId: created.id })
            .info(
              { status: created.status, askedAs, risk: risk.level, credential: credential.name },
              'federated credential asked',
            );
          if (created.status === 'approved') deps.startProvisioning?.(created.id);
          deps.onChange?.(created);
          return { kind: 'created', request: created };
        } catch (err) {
          if (!(err instanceof ConflictError && err.reason === 'exists') || attempt >= MAX_ATTEMPTS) throw err;
        }
      }
    },

    async confirmRight(request) {
      const target = request.federation;
      if (request.kind !== 'federation' || !target) return;
      if (target.askedAs === 'approval') {
        if (request.approvals.length >= request.approvalsRequired) return;
        throw new NotAuthorized(
          `The federated credential for ${target.appName} has not been approved, so Registrar did not add it.`,
        );
      }
      const owners = await (deps.owners ?? source).ownersOf(target.applicationObjectId);
      if (owners.some((owner) => sameObject(owner, request.requester.aadObjectId))) return;
      throw new NotAuthorized(
        `${request.requester.name} is not an owner of ${target.appName} in Entra ID any more, so Registrar did not add the federated credential; nothing was changed. An owner can ask again with \`federate ${target.appName}\`.`,
      );
    },
  };
}
