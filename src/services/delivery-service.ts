/**
 * Private delivery of the credential: the client secret is created by addPassword only when the
 * requester clicks "Reveal client secret", checked at the token endpoint, and handed back to that one click.
 * It is never stored, logged or sent in a message: the request keeps only its keyId, hint and expiry. A second
 * Reveal never creates or shows a secret. "I have stored it", or REVEAL_TTL passing, hides it again.
 *
 * A double click (Teams retries a slow invoke) must not make two secrets: reveals of one request are serialised
 * in this process, and the secret is recorded by an ETag-guarded move; a copy that loses that race (another
 * process delivered first) removes the secret it made before answering.
 *
 * A crash between addPassword and that save (or an addPassword whose answer was lost) leaves a secret named for
 * the request that nobody can read. Once a delivery is recorded, any other secret with that name is such an
 * orphan: it is removed in the background after the reveal answers.
 *
 * The right to the secret is read at the click, before addPassword, never remembered: the person must be the
 * requester (from the activity), the delivery must not have expired (DELIVERY_TTL_DAYS after provisioning), and
 * they must own the app in Entra ID now (read from the directory), unless the approvers decided a rotation a
 * non-owner asked for, in which case that decision, in the store, is the right.
 */
import { ConflictError, NotAuthorized, RegistrarError } from '../domain/errors';
import type { Actor } from '../domain/conversation';
import {
  deliveryDueBy,
  registrarActor,
  transition,
  type AppRequest,
  type CardRef,
  type RequestEvent,
  type TransitionActor,
} from '../domain/request';
import type { Config } from '../config';
import type { Logger } from '../lib/logger';
import type { Clock, CredentialSource, NewSecret, Provisioner, Store, TargetDirectory } from './ports';
import { targetOf } from './target-directories';
import {
  annotateRequest,
  commitTransition,
  loadRequest,
  moveRequest,
  requestsInState,
  revealedBy,
  toRequest,
} from './request-records';
import { sameObject } from '../domain/object-id';

const DAY_MS = 24 * 60 * 60 * 1000;

export type RevealResult =
  | {
      kind: 'revealed';
      request: AppRequest;
      /** Only for the invoke response to the requester's click. */
      secret: NewSecret & { check: 'works' | 'pending' };
    }
  /** Nothing was created: the request was already delivered (or needs no secret); `message` says what to do. */
  | { kind: 'already'; request: AppRequest; message: string };

export interface DeliveryService {
  /** The requester's Reveal click. Must answer within an invoke: the secret check stops at `checkBudgetMs`. */
  reveal(actor: Actor, requestId: string, conversationId?: string, deliveryCard?: CardRef): Promise<RevealResult>;
  /** "I have stored it": the secret leaves the card; returns the request with redactedAt set. */
  stored(actor: Actor, requestId: string): Promise<AppRequest>;
  /** Requests whose revealed secret is past REVEAL_TTL and still on a card: marks them redacted and returns them. */
  redactDue(now: Date): Promise<AppRequest[]>;
  /** Provisioned requests whose client secret was not revealed within DELIVERY_TTL_DAYS: moves them to expired and returns them. */
  expireDeliveriesDue(now: Date): Promise<AppRequest[]>;
  /** Only the requester sees the delivery; refuses anyone else. */
  requireRequester(actor: Actor, request: AppRequest): void;
  /**
   * A certificate or no credential needs no click: once its card is posted, the request is delivered (by
   * Registrar; a repeat changes nothing). Returns the request as saved.
   */
  deliverWithoutSecret(requestId: string): Promise<AppRequest>;
  /** Resolves when the background removal of orphaned secrets started by reveals has finished. */
  idle(): Promise<void>;
}

export interface DeliveryServiceDeps {
  store: Store;
  provisioner: Pick<Provisioner, 'addPassword' | 'removePassword' | 'verifySecret'>;
  clock: Clock;
  policy: Pick<Config['policy'], 'secretMaxDays' | 'revealTtlMinutes' | 'deliveryTtlDays'>;
  logger: Logger;
  /** Told of every saved move and annotation but deliverWithoutSecret (whose caller keeps the cards), to keep cards current. */
  onChange?: (request: AppRequest) => void;
  /** The app's owners in Entra ID, read at every Reveal (inside the invoke's budget). */
  owners: Pick<CredentialSource, 'ownersOf'>;
  /**
   * Background removal of orphaned secrets after a reveal, with the full retry budget (not an invoke's): reads the
   * app's secrets and removes those named for the request but not recorded. Without it, orphans stay.
   */
  orphans?: {
    applications: Pick<CredentialSource, 'findApplication'>;
    provisioner: Pick<Provisioner, 'removePassword'>;
  };
  /**
   * Directories other than the Teams tenant: a request made in one gets its secret there, from its Graph identity,
   * and its requester's right rests on the stored request (its people are not Teams users, so no Teams person owns it).
   */
  targets?: readonly TargetDirectory[];
  /** How long Reveal waits for a new secret to work before answering "not yet" (default 1.5 s: with addPassword it must fit in the few seconds Teams gives an invoke). */
  checkBudgetMs?: number;
}

export function createDeliveryService(deps: DeliveryServiceDeps): DeliveryService {
  const { store, clock, policy, logger, onChange } = deps;
  const checkBudgetMs = deps.checkBudgetMs ?? 1500;
  const running = new Map<string, Promise<RevealResult>>();
  const cleanups = new Set<Promise<void>>();

  const secretName = (requestId: string) => `Registrar ${requestId}`;

  /** Removes every secret named for this request except the one its delivery recorded. */
  async function removeOrphans(
    request: AppRequest,
    appId: string,
    applicationObjectId: string,
    requestId: string,
    recordedKeyId: string,
  ): Promise<void> {
    const target = targetOf(deps.targets, request);
    const orphans = target ? { applications: target.credentials, provisioner: target.provisioner } : deps.orphans;
    if (!orphans) return;
    const log = logger.child({ requestId });
    const app = await orphans.applications.findApplication(appId);
    const left = (app?.credentials ?? []).filter(
      (c) => c.kind === 'secret' && c.displayName === secretName(requestId) && c.keyId !== recordedKeyId,
    );
    for (const orphan of left) {
      await orphans.provisioner.removePassword(applicationObjectId, orphan.keyId);
      log.warn(
        { keyId: orphan.keyId, hint: orphan.hint },
        'removed a client secret an interrupted reveal had created and nobody read',
      );
    }
  }

  function inBackground(work: Promise<void>, requestId: string): void {
    const tracked = work
      .catch((err: unknown) =>
        logger.warn(
          { err, requestId },
          `could not look for secrets an interrupted reveal left: any named "${secretName(requestId)}" but the delivered one can be removed in the app registration`,
        ),
      )
      .finally(() => cleanups.delete(tracked));
    cleanups.add(tracked);
  }

  /** The app a request is about, by name: a rotation's words name its app, never the id the person did not make. */
  const appName = (request: AppRequest) => request.rotation?.appName ?? request.form.displayName;

  function requireRequester(actor: Actor, request: AppRequest): void {
    if (sameObject(actor.aadObjectId, request.requester.aadObjectId)) return;
    throw new NotAuthorized(
      request.kind === 'rotation'
        ? `Only ${request.requester.name}, who asked for a new client secret for ${appName(request)}, can reveal it.`
        : `Only ${request.requester.name}, who asked for this app, can see its credentials.`,
    );
  }

  function alreadyMessage(request: AppRequest): string {
    const d = request.delivery;
    const app = appName(request);
    if (d?.kind === 'secret') {
      return request.kind === 'rotation'
        ? `The new client secret for ${app} was revealed on ${d.revealedAt.slice(0, 10)} and is shown only once. If you did not store it, ask for another with \`rotate ${app}\`.`
        : `The client secret of this app was revealed on ${d.revealedAt.slice(0, 10)} and is shown only once. If you did not store it, ask for a new one with \`rotate ${app}\`.`;
    }
    return 'This app has no client secret to reveal.';
  }

  /** The delivery has expired, or will have by `now`; then what the person can do instead. */
  function expiredMessage(request: AppRequest): string {
    const app = appName(request);
    return request.kind === 'rotation'
      ? `The new client secret for ${app} was not revealed within ${policy.deliveryTtlDays} days, so Registrar will not create it any more. ${app} and its credentials are unchanged; to ask again, type \`rotate ${app}\`.`
      : `The client secret of ${app} was not revealed within ${policy.deliveryTtlDays} days, so Registrar will not create it any more. The app exists; if you own it, get a secret with \`rotate ${app}\`.`;
  }

  /** The requester's right to a new secret of this app, read now: ownership from the directory, or the approvers' decision. */
  async function requireRight(actor: Actor, request: AppRequest, applicationObjectId: string): Promise<void> {
    if (request.kind === 'rotation' && request.rotation?.askedAs === 'approval') {
      if (request.approvals.length >= request.approvalsRequired) return;
      throw new NotAuthorized(
        `The new client secret for ${appName(request)} has not been approved, so Registrar does not create it.`,
      );
    }
    // An app in a target directory: the requester asked for it and the approvers approved it, which the stored
    // request records (requireRequester checked who clicks). Its owners are that directory's people, never a Teams
    // user, so a Teams ownership check could only refuse.
    if (request.target && request.kind !== 'rotation') return;
    const owners = await deps.owners.ownersOf(applicationObjectId);
    if (owners.some((owner) => sameObject(owner, actor.aadObjectId))) return;
    throw new NotAuthorized(
      `You are not an owner of ${appName(request)} in Entra ID any more, so Registrar will not create a secret for it. If you were just made an owner, try again in a minute; otherwise ask an owner of the app to add you.`,
    );
  }

  async function revealOnce(
    actor: Actor,
    requestId: string,
    conversationId: string | undefined,
    deliveryCard: CardRef | undefined,
  ): Promise<RevealResult> {
    const current = await loadRequest(store, requestId);
    const request = toRequest(current.value);
    requireRequester(actor, request);
    if (request.form.credential.kind !== 'secret' || request.status === 'delivered')
      return { kind: 'already', request, message: alreadyMessage(request) };
    if (request.status === 'expired' && request.provisionedAt)
      throw new RegistrarError('conflict', expiredMessage(request));
    if (request.status !== 'provisioned') {
      throw new RegistrarError(
        'conflict',
        request.kind === 'rotation'
          ? `The new client secret for ${appName(request)} is not ready yet. The card updates when it is.`
          : `Request ${requestId} is not ready yet: its app is still being set up. The card updates when it is.`,
      );
    }
    const application = request.provisioning.application;
    if (!application) throw new Error(`request ${requestId} is provisioned without an application`);
    const now = clock.now();
    const due = deliveryDueBy(request, policy.deliveryTtlDays);
    if (due && now.getTime() >= Date.parse(due)) throw new RegistrarError('conflict', expiredMessage(request));
    await requireRight(actor, request, application.applicationObjectId);
    const provisioner = targetOf(deps.targets, request)?.inTurn ?? deps.provisioner;
    const days = Math.min(request.form.credential.lifetimeDays, policy.secretMaxDays);
    const secret = await provisioner.addPassword(application.applicationObjectId, {
      displayName: secretName(requestId),
      endDateTime: new Date(now.getTime() + days * DAY_MS),
    });
    const person: TransitionActor = {
      aadObjectId: actor.aadObjectId!.toLowerCase(),
      name: actor.name,
      ...(conversationId ? { conversationId } : {}),
    };
    const delivery = {
      kind: 'secret' as const,
      keyId: secret.keyId,
      hint: secret.hint,
      endDateTime: secret.endDateTime,
      revealedAt: now.toISOString(),
    };
    const log = logger.child({ requestId });
    let saved: AppRequest;
    try {
      const result = transition(request, { type: 'deliver', delivery }, person, now);
      if (!result.changed) throw new ConflictError('changed', requestId);
      saved = toRequest((await commitTransition(store, current, result.request, result.audit)).stored.value);
    } catch (err) {
      // Another copy delivered first, or the save failed: this secret is recorded nowhere, so it must not live.
      await provisioner.removePassword(application.applicationObjectId, secret.keyId).catch((removeError: unknown) => {
        log.error(
          { err: removeError, keyId: secret.keyId },
          'an unrecorded secret could not be removed; remove it in the app registration',
        );
      });
      if (err instanceof ConflictError) {
        const latest = toRequest((await loadRequest(store, requestId)).value);
        return { kind: 'already', request: latest, message: alreadyMessage(latest) };
      }
      throw err;
    }
    log.info({ keyId: secret.keyId, endDateTime: secret.endDateTime }, 'client secret revealed');
    // The card clicked is where the (hidden) secret's hint and expiry stay, and what REVEAL_TTL updates.
    if (deliveryCard)
      saved = await annotateRequest(store, requestId, (latest) => (latest.deliveryCard ? undefined : { deliveryCard }));
    onChange?.(saved);
    inBackground(
      removeOrphans(request, application.appId, application.applicationObjectId, requestId, secret.keyId),
      requestId,
    );
    const check = await provisioner
      .verifySecret(application.appId, secret.secretText, new Date(clock.now().getTime() + checkBudgetMs))
      .catch((err: unknown) => {
        log.warn({ err }, 'the new secret could not be checked');
        return 'pending' as const;
      });
    return { kind: 'revealed', request: saved, secret: { ...secret, check } };
  }

  return {
    requireRequester,

    reveal(actor, requestId, conversationId, deliveryCard) {
      if (!actor.aadObjectId)
        return Promise.reject(
          new NotAuthorized('Registrar cannot tell who you are in Entra ID, so it cannot show you a secret.'),
        );
      // A second click while the first is still running gets the first one's answer, not a second secret.
      const inFlight = running.get(requestId);
      if (inFlight) {
        return inFlight.then(async () => {
          const request = toRequest((await loadRequest(store, requestId)).value);
          return { kind: 'already' as const, request, message: alreadyMessage(request) };
        });
      }
      const work = revealOnce(actor, requestId, conversationId, deliveryCard).finally(() => running.delete(requestId));
      running.set(requestId, work);
      return work;
    },

    async idle() {
      while (cleanups.size > 0) await Promise.all([...cleanups]);
    },

    async deliverWithoutSecret(requestId) {
      const delivery = (request: AppRequest, now: Date): RequestEvent => {
        const credential = request.form.credential;
        if (credential.kind === 'federated')
          return {
            type: 'deliver',
            delivery: {
              kind: 'federated',
              credentialId: request.provisioning.federatedCredential?.credentialId ?? '',
              issuer: credential.credential.issuer,
              subject: credential.credential.subject,
              deliveredAt: now.toISOString(),
            },
          };
        return credential.kind === 'certificate'
          ? {
              type: 'deliver',
              delivery: {
                kind: 'certificate',
                thumbprint: request.provisioning.certificate?.thumbprint ?? credential.certificate.thumbprint,
                deliveredAt: now.toISOString(),
              },
            }
          : { type: 'deliver', delivery: { kind: 'none', deliveredAt: now.toISOString() } };
      };
      return (await moveRequest(store, requestId, delivery, registrarActor, () => clock.now())).request;
    },

    async stored(actor, requestId) {
      const request = toRequest((await loadRequest(store, requestId)).value);
      requireRequester(actor, request);
      const saved = await annotateRequest(store, requestId, (latest) =>
        latest.redactedAt || latest.delivery?.kind !== 'secret' ? undefined : { redactedAt: clock.now().toISOString() },
      );
      onChange?.(saved);
      return saved;
    },

    async expireDeliveriesDue(now) {
      const due = (r: AppRequest) => {
        const by =
          r.status === 'provisioned' && r.form.credential.kind === 'secret'
            ? deliveryDueBy(r, policy.deliveryTtlDays)
            : undefined;
        return by !== undefined && Date.parse(by) <= now.getTime();
      };
      const expired: AppRequest[] = [];
      // Only requests provisioned before the cutoff, from their index rows (ix.state.provisioned sorts by provisionedAt).
      const cutoff = new Date(now.getTime() - policy.deliveryTtlDays * DAY_MS);
      for (const request of (await requestsInState(store, 'provisioned', { dueBy: cutoff }))
        .map((s) => toRequest(s.value))
        .filter(due)) {
        const moved = await moveRequest(
          store,
          request.id,
          (latest) => (due(latest) ? { type: 'expireDelivery', ttlDays: policy.deliveryTtlDays } : undefined),
          registrarActor,
          () => now,
        );
        if (moved.changed) {
          logger
            .child({ requestId: request.id })
            .info(
              { provisionedAt: moved.request.provisionedAt },
              'delivery expired: the client secret was not revealed in time',
            );
          onChange?.(moved.request);
          expired.push(moved.request);
        }
      }
      return expired;
    },

    async redactDue(now) {
      const ttlMs = policy.revealTtlMinutes * 60_000;
      const due = (r: AppRequest) =>
        r.delivery?.kind === 'secret' && !r.redactedAt && Date.parse(r.delivery.revealedAt) + ttlMs <= now.getTime();
      const redacted: AppRequest[] = [];
      // Only secrets revealed before the cutoff and still shown, from their index rows.
      for (const request of (await revealedBy(store, new Date(now.getTime() - ttlMs)))
        .map((s) => toRequest(s.value))
        .filter(due)) {
        let changed = false;
        const saved = await annotateRequest(store, request.id, (latest) => {
          if (!due(latest)) return undefined;
          changed = true;
          return { redactedAt: now.toISOString() };
        });
        if (!changed) continue;
        onChange?.(saved);
        redacted.push(saved);
      }
      return redacted;
    },
  };
}
