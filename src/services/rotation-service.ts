/**
 * Rotation (PRODUCT "Expiry reminders and rotation"): an app's owner, or an operator, asks for a new client
 * secret; ROTATION_NEEDS_APPROVAL decides whether the approvers see it first. The new secret is delivered as a
 * new app's is (delivery-service.ts). The old credential stays until the owner answers the cleanup card; it is
 * never removed automatically. Who owns the app is read from the directory on every click, never from the card.
 */
import type { Actor, ConversationAddress } from '../domain/conversation';
import { ConflictError, NotAuthorized, RegistrarError } from '../domain/errors';
import type { CredentialInfo } from '../domain/expiry';
import { createRotation, type AppRequest, type RotationTarget, type TransitionActor } from '../domain/request';
import { newRequestId, type RandomSource } from '../domain/request-id';
import type { Config } from '../config';
import type { Logger } from '../lib/logger';
import type { OperatorPolicy } from './operator-policy';
import type { ApplicationSummary, Clock, CredentialSource, Provisioner, Store } from './ports';
import { createRecord, loadRequest, moveRequest, toRequest } from './request-records';

export interface RotationService {
  /** Starts a rotation of the app named by appId or exact display name, for an owner or an operator. */
  start(actor: Actor, appIdOrName: string, home?: ConversationAddress): Promise<AppRequest>;
  /** The cleanup card's answer: remove the old secret (from Entra ID) or keep it. Owners and operators only. */
  decideOld(actor: Actor, requestId: string, remove: boolean): Promise<AppRequest>;
}

export interface RotationServiceDeps {
  store: Store;
  source: CredentialSource;
  provisioner: Pick<Provisioner, 'removePassword'>;
  operators: OperatorPolicy;
  clock: Clock;
  random: RandomSource;
  policy: Config['policy'];
  logger: Logger;
}

const MAX_ATTEMPTS = 5;

/** The credential a rotation replaces: the secret that expires first, else the certificate that does. */
function oldest(credentials: readonly CredentialInfo[]): CredentialInfo | undefined {
  const soonest = (list: CredentialInfo[]) => list.sort((a, b) => Date.parse(a.endDateTime) - Date.parse(b.endDateTime))[0];
  return soonest(credentials.filter((c) => c.kind === 'secret')) ?? soonest(credentials.filter((c) => c.kind === 'certificate'));
}

export function createRotationService(deps: RotationServiceDeps): RotationService {
  const { store, source, provisioner, operators, clock, random, policy, logger } = deps;

  async function requireOwnerOrOperator(actor: Actor, app: Pick<ApplicationSummary, 'applicationObjectId' | 'displayName'>): Promise<void> {
    if (!actor.aadObjectId) throw new NotAuthorized('Registrar cannot tell who you are in Entra ID, so it cannot rotate a secret for you.');
    const owners = await source.ownersOf(app.applicationObjectId);
    if (owners.includes(actor.aadObjectId.toLowerCase())) return;
    if (await operators.isOperator(actor)) return;
    throw new NotAuthorized(`Only the owners of ${app.displayName} in Entra ID, and the Registrar operators, can rotate its secret. Ask an owner to add you.`);
  }

  return {
    async start(actor, appIdOrName, home) {
      const wanted = appIdOrName.trim();
      if (!wanted) throw new RegistrarError('invalid-input', 'Say which app: `rotate <app name or appId>`.');
      const app = await source.findApplication(wanted);
      if (!app) throw new RegistrarError('not-found', `Registrar finds no app registration called "${wanted.slice(0, 120)}". Use its exact name or its appId.`);
      await requireOwnerOrOperator(actor, app);
      const old = oldest(app.credentials);
      const target: Omit<RotationTarget, 'oldDecision' | 'cleanupCard'> = {
        applicationObjectId: app.applicationObjectId,
        appId: app.appId,
        appName: app.displayName,
        ...(old
          ? {
              old: {
                kind: old.kind,
                keyId: old.keyId,
                endDateTime: old.endDateTime,
                ...(old.hint ? { hint: old.hint } : {}),
                ...(old.thumbprint ? { thumbprint: old.thumbprint } : {}),
                ...(old.displayName ? { displayName: old.displayName } : {}),
              },
            }
          : {}),
      };
      for (let attempt = 1; ; attempt++) {
        const { request, audit } = createRotation({
          id: newRequestId(random),
          requester: { aadObjectId: actor.aadObjectId!.toLowerCase(), name: actor.name, ...(home ? { conversationId: home.conversation.id } : {}) },
          target,
          lifetimeDays: Math.min(policy.secretDefaultDays, policy.secretMaxDays),
          needsApproval: policy.rotationNeedsApproval === 'always',
          pendingTtlDays: policy.pendingTtlDays,
          now: clock.now(),
          ...(home ? { requesterAddress: home } : {}),
        });
        try {
          const created = await createRecord(store, request, audit);
          logger.child({ requestId: request.id }).info({ appId: app.appId, status: request.status }, 'rotation asked');
          return toRequest(created.stored.value);
        } catch (err) {
          if (!(err instanceof ConflictError && err.reason === 'exists') || attempt >= MAX_ATTEMPTS) throw err;
        }
      }
    },

    async decideOld(actor, requestId, remove) {
      const request = toRequest((await loadRequest(store, requestId)).value);
      const rotation = request.rotation;
      if (request.kind !== 'rotation' || !rotation) throw new RegistrarError('invalid-input', `Request ${requestId} is not a rotation.`);
      if (rotation.oldDecision) return request;
      await requireOwnerOrOperator(actor, { applicationObjectId: rotation.applicationObjectId, displayName: rotation.appName });
      if (request.status !== 'delivered') throw new RegistrarError('conflict', 'Reveal and store the new secret first; then decide about the old one.');
      const old = rotation.old;
      if (remove && old?.kind === 'secret') {
        await provisioner.removePassword(rotation.applicationObjectId, old.keyId);
        logger.child({ requestId }).info({ appId: rotation.appId, keyId: old.keyId }, 'old secret removed');
      }
      if (remove && old?.kind === 'certificate') {
        throw new RegistrarError('invalid-input', 'Registrar removes old client secrets only; remove the old certificate in the app registration once nothing uses it.');
      }
      const by: TransitionActor = { aadObjectId: actor.aadObjectId!.toLowerCase(), name: actor.name };
      // In the audit trail, like every other decision: who removed or kept which credential, and when.
      return (await moveRequest(store, requestId, { type: 'decideOld', removed: remove }, by, () => clock.now(), MAX_ATTEMPTS)).request;
    },
  };
}
