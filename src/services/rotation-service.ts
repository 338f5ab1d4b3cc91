/**
 * Rotation (PRODUCT "Expiry reminders and rotation"): a new client secret for an existing app, delivered as a new
 * app's is (delivery-service.ts). A working secret is the app's whole power, so rotation is an owner's act:
 * - an owner of the app in Entra ID (read from the directory at the click) rotates it, straight away unless
 *   ROTATION_NEEDS_APPROVAL says otherwise: 'always', or 'privileged' (the default) when the app's service
 *   principal holds a high-risk application permission or any directory role;
 * - anyone else, operators included, can only ask: the approvers decide, and never the asker;
 * - Registrar's own registration (AZURE_CLIENT_ID, BOT_ID) is never rotated from chat: a secret of it would carry
 *   Registrar's tenant-wide permissions to whoever revealed it.
 * The right is read again where it takes effect: at Reveal (delivery-service.ts) and here, when the old secret is
 * removed. The old credential stays until an owner answers the cleanup card; it is never removed automatically.
 * The new secret always exists before the old one can go: the cleanup card is posted, and Remove accepted, only once
 * the rotation is delivered (the new secret created at Reveal and stored). Before Remove, the card shows when the old
 * credential last signed in (Entra's sign-in report, CredentialSignIns); the click reads the report again, and a
 * sign-in the card had not shown stops the removal once, with the card saying so.
 * The app management policy in force for the app (the one assigned to it, else the tenant default) is read at the
 * start, before anything is written: a policy that blocks passwordAddition refuses the rotation in its own words, and
 * the new secret's lifetime is capped at its passwordLifetime, which the cards then say. Provisioning reads it again
 * before the rotation becomes ready (provisioning-service.ts), and Entra ID itself judges the secret at Reveal.
 */
import type { Actor, ConversationAddress } from '../domain/conversation';
import { ConflictError, NotAuthorized, RegistrarError } from '../domain/errors';
import {
  noPolicyRules,
  secretBlockedReason,
  secretLifetimeNote,
  secretMaxDays,
  secretTooShortReason,
  unreadableRules,
  type CredentialRules,
} from '../domain/credential-rules';
import { evidenceOf, signedInSince, type SignInEvidence } from '../domain/credential-evidence';
import type { CredentialInfo } from '../domain/expiry';
import { approvalsNeeded } from '../domain/approval-policy';
import { sameObject } from '../domain/object-id';
import {
  createRotation,
  tooManyOpen,
  type AppRequest,
  type RotationTarget,
  type TransitionActor,
} from '../domain/request';
import { newRequestId, type RandomSource } from '../domain/request-id';

import type { Config } from '../config';
import { approvalReason, ownsApp, standingRisk } from './existing-app-authority';
import type { Logger } from '../lib/logger';
import type { Clock, CredentialPolicies, CredentialSignIns, CredentialSource, Provisioner, Store } from './ports';
import {
  annotateRequest,
  createRecord,
  loadRequest,
  moveRequest,
  openRequestCount,
  toRequest,
} from './request-records';

export interface RotationService {
  /** Starts a rotation of the app named by appId or exact display name: an owner's, or anyone else's request to the approvers. */
  start(actor: Actor, appIdOrName: string, home?: ConversationAddress): Promise<AppRequest>;
  /** The cleanup card's answer: remove the old secret (from Entra ID; owners only, read now) or keep it. */
  decideOld(actor: Actor, requestId: string, remove: boolean): Promise<AppRequest>;
  /**
   * Which of these applications (object ids) the person owns, read from the directory now: the rows of a digest
   * that offer them Rotate. An application whose owners cannot be read counts as not theirs.
   */
  ownedAmong(actor: Actor, applicationObjectIds: readonly string[]): Promise<Set<string>>;
  /** What Entra's sign-in report says now of the rotation's old credential; undefined without one or without a report. */
  oldSignIns(request: AppRequest): Promise<SignInEvidence | undefined>;
}

/** Applications whose owners one digest refresh reads (a digest card holds far fewer). */
const MAX_OWNED_CHECKS = 100;

export interface RotationServiceDeps {
  store: Store;
  source: CredentialSource;
  provisioner: Pick<Provisioner, 'removePassword'>;
  clock: Clock;
  random: RandomSource;
  policy: Config['policy'];
  logger: Logger;
  /** appIds of Registrar's own registrations (AZURE_CLIENT_ID, BOT_ID): never rotated from chat. */
  ownAppIds: readonly string[];
  /** Starts what an approved rotation needs (ProvisioningService.start: it has no steps, and ends provisioned). */
  startProvisioning?: (requestId: string) => void;
  /** Told of every saved move, to keep the request's cards current (CardService.changed). Never awaited. */
  onChange?: (request: AppRequest) => void;
  /** Entra's credential sign-in report; without it the cleanup card shows no evidence. */
  signIns?: CredentialSignIns;
  /** The tenant's app management policies; without them a rotation knows only Registrar's own limits. */
  credentialPolicies?: CredentialPolicies;
}

const MAX_ATTEMPTS = 5;

/** The credential a rotation replaces: the secret that expires first, else the certificate that does. */
function oldest(credentials: readonly CredentialInfo[]): CredentialInfo | undefined {
  const soonest = (list: CredentialInfo[]) =>
    list.sort((a, b) => Date.parse(a.endDateTime) - Date.parse(b.endDateTime))[0];
  return (
    soonest(credentials.filter((c) => c.kind === 'secret')) ??
    soonest(credentials.filter((c) => c.kind === 'certificate'))
  );
}

export function createRotationService(deps: RotationServiceDeps): RotationService {
  const { store, source, provisioner, clock, random, policy, logger } = deps;
  const ownAppIds = new Set(deps.ownAppIds.map((id) => id.toLowerCase()));

  function who(actor: Actor): string {
    if (!actor.aadObjectId)
      throw new NotAuthorized('Registrar cannot tell who you are in Entra ID, so it cannot rotate a secret for you.');
    return actor.aadObjectId.toLowerCase();
  }

  /**
   * The policy in force for the app, read now (never cached: a policy changed a minute ago binds this rotation). A
   * read that fails for another reason than a missing permission (which the adapter reports in the rules) leaves
   * Registrar's own limits, said on the card; Entra ID still judges the secret when it is added.
   */
  async function rulesFor(applicationObjectId: string): Promise<CredentialRules> {
    if (!deps.credentialPolicies) return noPolicyRules;
    try {
      return await deps.credentialPolicies.forApp(applicationObjectId);
    } catch (err) {
      if (!(err instanceof RegistrarError)) throw err;
      logger.warn({ err, applicationObjectId }, 'app management policy not read for a rotation');
      return unreadableRules(
        "Registrar could not read the app management policies just now, so this lifetime is Registrar's own; Entra ID may still refuse a secret its policy forbids.",
      );
    }
  }

  async function oldSignIns(request: AppRequest): Promise<SignInEvidence | undefined> {
    const rotation = request.rotation;
    if (!deps.signIns || !rotation?.old) return undefined;
    try {
      return evidenceOf(await deps.signIns.lastSignIns(rotation.appId), rotation.old.keyId, clock.now());
    } catch (err) {
      logger.warn({ err, requestId: request.id }, 'credential sign-in report not read');
      return evidenceOf(
        { unavailable: "Registrar could not read Entra's sign-in report just now." },
        rotation.old.keyId,
        clock.now(),
      );
    }
  }

  return {
    oldSignIns,

    async ownedAmong(actor, applicationObjectIds) {
      const person = actor.aadObjectId?.toLowerCase();
      const apps = [...new Set(applicationObjectIds.map((id) => id.toLowerCase()))].slice(0, MAX_OWNED_CHECKS);
      const owned = new Set<string>();
      if (!person || apps.length === 0) return owned;
      // One batched read (20 applications a request, a few requests at a time) inside the refresh invoke, not a
      // Graph call per application all at once.
      let owners: Map<string, string[] | RegistrarError>;
      try {
        owners = await source.ownersOfEach(
          apps.map((applicationObjectId) => ({ applicationObjectId, source: 'application' as const })),
        );
      } catch (err) {
        logger.info({ err, applications: apps.length }, 'owners not read for a digest refresh: no Rotate shown');
        return owned;
      }
      for (const [app, result] of owners) {
        if (result instanceof RegistrarError)
          logger.info(
            { err: result, applicationObjectId: app },
            'owners not read for a digest refresh: no Rotate shown',
          );
        else if (result.some((owner) => sameObject(owner, person))) owned.add(app.toLowerCase());
      }
      return owned;
    },

    async start(actor, appIdOrName, home) {
      const wanted = appIdOrName.trim();
      if (!wanted) throw new RegistrarError('invalid-input', 'Say which app: `rotate <app name or appId>`.');
      const app = await source.findApplication(wanted);
      if (!app)
        throw new RegistrarError(
          'not-found',
          `Registrar finds no app registration called "${wanted.slice(0, 120)}". Use its exact name or its appId.`,
        );
      const person = who(actor);
      if (ownAppIds.has(app.appId.toLowerCase())) {
        throw new NotAuthorized(
          `Registrar does not rotate its own registration from chat: a secret of ${app.displayName} would carry Registrar's permissions over the whole tenant to whoever revealed it. Its identity is a managed identity with no secret; see infra/README.md, "Registrar's identity is Tier 0".`,
        );
      }
      // The policy first: a rotation it forbids is refused before anything is written or anyone is asked.
      const now = clock.now();
      const rules = await rulesFor(app.applicationObjectId);
      const refused = secretBlockedReason(rules) ?? secretTooShortReason(rules, now);
      if (refused) {
        logger.info(
          { appId: app.appId, policyId: rules.policy?.id, scope: rules.policy?.scope },
          'rotation refused by the app management policy',
        );
        throw new RegistrarError(
          'invalid-input',
          `Registrar cannot give ${app.displayName} a new client secret: ${refused.charAt(0).toLowerCase()}${refused.slice(1)} Nothing was changed. Give it a certificate or a federated credential instead, or ask an administrator whether the policy should change.`,
        );
      }
      const registrarDays = Math.min(policy.secretDefaultDays, policy.secretMaxDays);
      const lifetimeDays = Math.min(registrarDays, secretMaxDays(rules, policy.secretMaxDays, now));
      const lifetimeNote = secretLifetimeNote(rules, lifetimeDays, registrarDays);
      const owner = await ownsApp(source, person, app.applicationObjectId);
      const risk = await standingRisk(source, app.appId);
      const reason = approvalReason(policy, owner, risk, 'every rotation goes to the approvers');
      if (reason && (await openRequestCount(store, person)) >= policy.openRequestsPerUser) {
        throw new RegistrarError('conflict', tooManyOpen(policy.openRequestsPerUser));
      }
      const old = oldest(app.credentials);
      const target: Omit<RotationTarget, 'oldDecision' | 'cleanupCard' | 'askedAs'> = {
        applicationObjectId: app.applicationObjectId,
        appId: app.appId,
        appName: app.displayName,
        ...(lifetimeNote ? { lifetimeNote } : {}),
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
          requester: {
            aadObjectId: person,
            name: actor.name,
            ...(home ? { conversationId: home.conversation.id } : {}),
          },
          target: { ...target, askedAs: owner ? 'owner' : 'approval' },
          lifetimeDays,
          ...(reason ? { approvalReason: reason } : {}),
          risk,
          approvalsRequired: approvalsNeeded(risk.level, policy),
          pendingTtlDays: policy.pendingTtlDays,
          now: clock.now(),
          ...(home ? { requesterAddress: home } : {}),
        });
        try {
          const created = toRequest((await createRecord(store, request, audit)).stored.value);
          logger
            .child({ requestId: request.id })
            .info(
              { appId: app.appId, status: request.status, askedAs: owner ? 'owner' : 'approval', risk: risk.level },
              'rotation asked',
            );
          if (created.status === 'approved') deps.startProvisioning?.(created.id);
          deps.onChange?.(created);
          return created;
        } catch (err) {
          if (!(err instanceof ConflictError && err.reason === 'exists') || attempt >= MAX_ATTEMPTS) throw err;
        }
      }
    },

    async decideOld(actor, requestId, remove) {
      const person = who(actor);
      const request = toRequest((await loadRequest(store, requestId)).value);
      const rotation = request.rotation;
      if (request.kind !== 'rotation' || !rotation)
        throw new RegistrarError(
          'invalid-input',
          `This card is about the new app ${request.form.displayName}, not a new client secret: it has no old secret to remove or keep.`,
        );
      // Read now, not at the start of the rotation: an owner removed since has no say over the app's secrets.
      if (!(await ownsApp(source, person, rotation.applicationObjectId))) {
        throw new NotAuthorized(
          `Only the owners of ${rotation.appName} in Entra ID can remove or keep its old secret. Ask an owner to add you.`,
        );
      }
      const old = rotation.old;
      const log = logger.child({ requestId });
      const removeOld = async (): Promise<void> => {
        if (old?.kind !== 'secret') return;
        try {
          await provisioner.removePassword(rotation.applicationObjectId, old.keyId);
        } catch (err) {
          throw new RegistrarError(
            'unavailable',
            `Your decision is recorded, but Registrar could not remove the old secret of ${rotation.appName} yet. Press Remove again in a minute.`,
            {
              cause: err,
              detail: `removing keyId ${old.keyId} of application ${rotation.applicationObjectId} after the decision committed`,
            },
          );
        }
        log.info({ appId: rotation.appId, keyId: old.keyId }, 'old secret removed');
      };
      if (rotation.oldDecision) {
        // A repeat of a committed Remove finishes it (removing what is gone already is no error); nothing else changes.
        if (rotation.oldDecision.removed && remove) await removeOld();
        return request;
      }
      if (request.status !== 'delivered')
        throw new RegistrarError('conflict', 'Reveal and store the new secret first; then decide about the old one.');
      if (remove && old?.kind === 'certificate') {
        throw new RegistrarError(
          'invalid-input',
          'Registrar removes old client secrets only; remove the old certificate in the app registration once nothing uses it.',
        );
      }
      if (remove) {
        // Read the report again at the click: a sign-in the card did not show means something still uses the secret.
        // It stops the removal once; a Remove pressed on the card that said so goes ahead.
        const shown = rotation.oldSignIns;
        const now = shown && 'stoppedRemove' in shown && shown.stoppedRemove ? undefined : await oldSignIns(request);
        if (now && signedInSince(shown, now)) {
          const stopped = { ...now, stoppedRemove: true };
          log.info({ appId: rotation.appId, keyId: old?.keyId }, 'old secret not removed: it signed in since the card');
          const saved = await annotateRequest(store, requestId, (current) =>
            current.rotation ? { rotation: { ...current.rotation, oldSignIns: stopped } } : undefined,
          );
          deps.onChange?.(saved);
          return saved;
        }
      }
      const by: TransitionActor = { aadObjectId: person, name: actor.name };
      // The decision commits first, and only a committed Remove removes the secret: a Keep that won the race leaves
      // the secret where the card and the audit say it is.
      const moved = await moveRequest(store, requestId, { type: 'decideOld', removed: remove }, by, () => clock.now());
      if (moved.changed) deps.onChange?.(moved.request);
      if (moved.request.rotation?.oldDecision?.removed && remove) await removeOld();
      return moved.request;
    },
  };
}
