/**
 * Keeps every card about a request true as it moves, outside the turn that moved it: the requester's status
 * card, the approval card(s) in the approvals channel, those approvers opened in their personal chats (from
 * `pending`), and the delivery card once the app is provisioned. Work
 * for one request runs in order (a later state never lands before an earlier one); failures to reach Teams are
 * logged and never undo or fail a move. `catchUp` finds what a crash left unsent and sends it.
 */
import type { AdaptiveCard } from '../cards/adaptive-card';
import { createKeyedQueue } from '../lib/queues';
import { renderNotice } from '../cards/cards';
import { renderRotationCleanup } from '../cards/reminder-cards';
import { renderApproval } from '../cards/approval-card';
import { renderDelivery, type TokenEndpoints } from '../cards/delivery-card';
import { renderRequestStatus } from '../cards/request-status-card';
import type { Actor, ConversationAddress } from '../domain/conversation';
import type { SignInEvidence } from '../domain/credential-evidence';
import { sameObject } from '../domain/object-id';
import {
  directoryTenantOf,
  withReviewCard,
  type AppRequest,
  type CardRef,
  type ReviewCardRef,
} from '../domain/request';
import type { Logger } from '../lib/logger';
import type { ChannelService } from './channel-service';
import type { DeliveryService } from './delivery-service';
import type { Clock, Notifier, Store } from './ports';
import type { ApproverPolicy } from './request-approvers';
import { annotateRequest, loadRequest, requestsInState, toRequest } from './request-records';

/** Universal Actions refresh serves at most 60 users. */
const MAX_REFRESH_USERS = 60;
/** Team members looked at to find the approvers among them. */
const MAX_MEMBERS_SCANNED = 500;
const APPROVER_CACHE_MS = 10 * 60_000;

/** The card that asks the owner what to do with the credential a rotation replaced, or says what they chose. */
export function rotationCleanupCard(request: AppRequest, message?: string): AdaptiveCard {
  const rotation = request.rotation;
  if (!rotation?.old)
    return renderNotice({
      tone: 'info',
      title: 'Nothing to clean up',
      text: `${request.form.displayName} had no other credential.`,
    });
  const decision = rotation.oldDecision;
  return renderRotationCleanup({
    requestId: request.id,
    appName: rotation.appName,
    appId: rotation.appId,
    old: rotation.old,
    ...(request.delivery?.kind === 'secret'
      ? {
          newSecret: {
            hint: request.delivery.hint,
            endDateTime: request.delivery.endDateTime,
            createdAt: request.delivery.revealedAt,
          },
        }
      : {}),
    ...(rotation.oldSignIns ? { signIns: rotation.oldSignIns } : {}),
    state: decision ? (decision.removed ? 'removed' : 'kept') : 'ask',
    ...(message ? { message } : {}),
  });
}

/** The delivery card of a client secret nobody revealed within DELIVERY_TTL_DAYS. */
export function expiredDeliveryCard(request: AppRequest, ttlDays: number): AdaptiveCard {
  const app = request.provisioning.application;
  if (request.kind === 'rotation')
    return renderNotice({
      tone: 'info',
      title: `The new client secret for ${request.form.displayName} expired unrevealed`,
      text: `Nobody revealed it within ${ttlDays} days, so Registrar will not create it any more. ${request.form.displayName} and its credentials are unchanged; for a new secret, type \`rotate ${request.form.displayName}\` in this chat.`,
    });
  return renderNotice({
    tone: 'info',
    title: `The client secret of ${request.form.displayName} expired unrevealed`,
    text:
      `Nobody revealed it within ${ttlDays} days of the app being ready, so Registrar will not create it any more. ` +
      `The app registration exists${app ? ` (client id ${app.appId})` : ''}; if you own it, type \`rotate ${request.form.displayName}\` in this chat for a new secret.`,
    reference: request.id,
  });
}

export interface CardService {
  /** The request as just saved: update its cards and send what is missing. Never throws. */
  changed(request: AppRequest): Promise<void>;
  /** At startup: cards a crash left unsent (approval cards of waiting requests, delivery cards of provisioned ones). */
  catchUp(): Promise<void>;
  /**
   * The approval card as `mode` shows it, for an invoke's answer: the refresh names the approvers already known,
   * and finding them (a roster read and a directory check per member) is left to the background.
   */
  approvalCard(request: AppRequest, mode: 'everyone' | 'approver', message?: string): Promise<AdaptiveCard>;
  /**
   * The approval card as `mode` shows it to `shown.viewer` in their personal chat, for an invoke's answer there: its
   * refresh names them alone. The message it answers (`shown.activityId`) is recorded on the request, in the
   * background, so that it follows the request as the channel's cards do.
   */
  personalApprovalCard(
    request: AppRequest,
    mode: 'everyone' | 'approver',
    shown: { address: ConversationAddress; activityId?: string; viewer: Actor },
    message?: string,
  ): AdaptiveCard;
  /** A card showing `request` as it is now was just put in front of people (an invoke's answer): no update needed. */
  shown(ref: CardRef, request: AppRequest): void;
  /** Tells the requester, in their personal chat, that their request expired without a decision. Never throws. */
  expired(request: AppRequest): Promise<void>;
  /** Resolves when the work queued so far has ended (tests, shutdown). */
  idle(): Promise<void>;
}

export interface CardServiceDeps {
  store: Store;
  /** Where cards are posted and updated (Teams, through the Bot Framework). */
  notifier: Notifier;
  channels: ChannelService;
  approvers: ApproverPolicy;
  clock: Clock;
  logger: Logger;
  /** Records a certificate's (or no credential's) delivery once its card is posted. */
  delivery: Pick<DeliveryService, 'deliverWithoutSecret'>;
  /** The tenant the apps live in, for the delivery card. */
  tenantId?: string;
  /** The login and Graph hosts the delivery card's token request names (the cloud's, or the local tenant's). */
  graphEndpoints?: TokenEndpoints;
  /** DELIVERY_TTL_DAYS, for the card of a secret that expired unrevealed. */
  deliveryTtlDays: number;
  /** What Entra's sign-in report says of a rotation's old credential, read before its cleanup card is posted (RotationService.oldSignIns). */
  oldSignIns?: (request: AppRequest) => Promise<SignInEvidence | undefined>;
}

export function createCardService(deps: CardServiceDeps): CardService {
  const { store, notifier: messenger, channels, approvers, clock, logger, deliveryTtlDays } = deps;
  /** Card work for one request runs in order: a queued older state never lands after a newer one. */
  const queue = createKeyedQueue();
  const approverIds = new Map<string, { at: number; ids: string[] }>();
  /**
   * The version of the request each card (by conversation and activity id: Teams numbers messages per conversation)
   * shows, so that a card is updated only when it would change.
   */
  const cardVersions = new Map<string, string>();
  const endpoints = deps.graphEndpoints ? { endpoints: deps.graphEndpoints } : {};
  const versionOf = (request: AppRequest) => `${request.updatedAt}|${request.redactedAt ?? ''}`;
  const cardKey = (ref: CardRef) => `${ref.conversationId}|${ref.activityId}`;
  const current = (ref: CardRef, request: AppRequest) => cardVersions.get(cardKey(ref)) === versionOf(request);
  const mark = (ref: CardRef, request: AppRequest) => {
    cardVersions.set(cardKey(ref), versionOf(request));
    if (cardVersions.size > 10_000) cardVersions.delete(cardVersions.keys().next().value as string);
  };

  async function approvalsChannel(): Promise<ConversationAddress | undefined> {
    return (await channels.getChannel('approvals'))?.address;
  }

  /** Teams ids of the approvers in the channel's team, for refresh.userIds; best effort, cached. */
  async function approversIn(address: ConversationAddress | undefined): Promise<string[]> {
    const teamId = address?.team?.id;
    if (!address || !teamId) return [];
    const cached = approverIds.get(teamId);
    if (cached && clock.now().getTime() - cached.at < APPROVER_CACHE_MS) return cached.ids;
    let ids: string[] = [];
    try {
      const members = await messenger.teamMembers(address, MAX_MEMBERS_SCANNED);
      for (const member of members) {
        if (ids.length >= MAX_REFRESH_USERS) break;
        if (member.aadObjectId && (await approvers.isApprover({ aadObjectId: member.aadObjectId })))
          ids.push(member.id);
      }
    } catch (err) {
      logger.warn(
        { err, teamId },
        'could not list the approvers of the approvals team; approval cards offer a button instead',
      );
      ids = [];
    }
    approverIds.set(teamId, { at: clock.now().getTime(), ids });
    return ids;
  }

  async function approvalCard(
    request: AppRequest,
    mode: 'everyone' | 'approver',
    message?: string,
  ): Promise<AdaptiveCard> {
    const refreshUserIds = await approversIn(await approvalsChannel());
    return renderApproval({ request, mode, refreshUserIds, ...(message ? { message } : {}) });
  }

  /** approvalCard within an invoke: no Teams or Graph call waits here. */
  async function approvalCardInTurn(
    request: AppRequest,
    mode: 'everyone' | 'approver',
    message?: string,
  ): Promise<AdaptiveCard> {
    const channel = await approvalsChannel();
    const teamId = channel?.team?.id;
    const cached = teamId ? approverIds.get(teamId) : undefined;
    if (channel && teamId && (!cached || clock.now().getTime() - cached.at >= APPROVER_CACHE_MS)) {
      void approversIn(channel).catch((err: unknown) =>
        logger.warn({ err, teamId }, 'could not list the approvers of the approvals team'),
      );
    }
    return renderApproval({ request, mode, refreshUserIds: cached?.ids ?? [], ...(message ? { message } : {}) });
  }

  /**
   * An approval card in a personal chat, as its viewer would be answered: the decision for an approver who may still
   * decide (checked in the directory, as every click is again), otherwise the status. Its refresh names the viewer, so
   * that Teams fetches their view whenever they look at it (the refresh model of Universal Actions,
   * https://learn.microsoft.com/microsoftteams/platform/task-modules-and-cards/cards/universal-actions-for-adaptive-cards/work-with-universal-actions-for-adaptive-cards);
   * the update is what clients without it (the Agents Playground) show.
   */
  async function reviewCardOf(request: AppRequest, ref: ReviewCardRef): Promise<AdaptiveCard> {
    const viewer = ref.viewer;
    const undecided =
      request.status === 'failed' ||
      (request.status === 'submitted' && !request.approvals.some((a) => sameObject(a.aadObjectId, viewer.aadObjectId)));
    let mode: 'everyone' | 'approver' = 'everyone';
    if (undecided && !sameObject(viewer.aadObjectId, request.requester.aadObjectId)) {
      mode = await approvers.isApprover(viewer).then(
        (yes) => (yes ? 'approver' : 'everyone'),
        (err: unknown) => {
          logger.warn(
            { err, requestId: request.id },
            "could not tell whether a review card is an approver's: it shows the status",
          );
          return 'everyone' as const;
        },
      );
    }
    return renderApproval({ request, mode, refreshUserIds: [viewer.id] });
  }

  function deliveryCard(request: AppRequest): AdaptiveCard {
    const tenantId = directoryTenantOf(request, deps.tenantId ?? request.requesterAddress?.conversation.tenantId ?? '');
    if (request.delivery?.kind === 'secret') {
      return renderDelivery({
        request,
        tenantId,
        ...endpoints,
        state: 'stored',
        stored: { hint: request.delivery.hint, endDateTime: request.delivery.endDateTime },
      });
    }
    return renderDelivery({ request, tenantId, ...endpoints, state: 'ready' });
  }

  async function updateCards(request: AppRequest): Promise<void> {
    const log = logger.child({ requestId: request.id });
    const tries: Array<Promise<void>> = [];
    const attempt = (what: string, ref: CardRef, work: () => Promise<void>) => {
      if (current(ref, request)) return;
      tries.push(
        work().then(
          () => mark(ref, request),
          (err: unknown) => log.warn({ err, card: what }, 'could not update a card'),
        ),
      );
    };
    const home = request.requesterAddress;
    if (home && request.statusCard) {
      const ref = request.statusCard;
      attempt('status', ref, () => messenger.update(home, ref, renderRequestStatus({ request, viewer: 'requester' })));
    }
    const channel = await approvalsChannel();
    const stale = (request.approvalCards ?? []).filter((ref) => !current(ref, request));
    if (channel && stale.length > 0) {
      const card = await approvalCard(request, 'everyone');
      for (const ref of stale) attempt('approval', ref, () => messenger.update(channel, ref, card));
    }
    // Each card an approver opened in their personal chat, as they see it there (never the requester's status card).
    for (const ref of request.reviewCards ?? [])
      attempt('review', ref, async () => messenger.update(ref.address, ref, await reviewCardOf(request, ref)));
    // A delivered secret is shown only in the requester's own click; every later state of its card has no secret.
    if (
      home &&
      request.deliveryCard &&
      request.status === 'delivered' &&
      (request.delivery?.kind !== 'secret' || request.redactedAt)
    ) {
      const ref = request.deliveryCard;
      attempt('delivery', ref, () => messenger.update(home, ref, deliveryCard(request)));
    }
    // A secret nobody revealed in time: the card loses its Reveal button and says how to get one now.
    if (home && request.deliveryCard && request.status === 'expired' && request.provisionedAt) {
      const ref = request.deliveryCard;
      attempt('delivery', ref, () => messenger.update(home, ref, expiredDeliveryCard(request, deliveryTtlDays)));
    }
    await Promise.all(tries);
  }

  async function postApprovalCard(request: AppRequest): Promise<AppRequest> {
    const channel = await approvalsChannel();
    if (!channel) {
      logger.warn({ requestId: request.id }, 'no approvals channel: approvers find the request with `pending`');
      return request;
    }
    const ref = await messenger.post(channel, await approvalCard(request, 'everyone'));
    mark(ref, request);
    return annotateRequest(store, request.id, (latest) => ({ approvalCards: [...(latest.approvalCards ?? []), ref] }));
  }

  async function postDeliveryCard(request: AppRequest): Promise<AppRequest> {
    const home = request.requesterAddress;
    if (!home) {
      logger.warn(
        { requestId: request.id },
        'the requester has no personal chat with Registrar: the delivery card waits for their next message',
      );
      return request;
    }
    const ref: CardRef = await messenger.post(
      home,
      renderDelivery({
        request,
        tenantId: directoryTenantOf(request, deps.tenantId ?? home.conversation.tenantId ?? ''),
        ...endpoints,
        state: 'ready',
      }),
    );
    mark(ref, request);
    let saved = await annotateRequest(store, request.id, () => ({ deliveryCard: ref }));
    // A certificate or no credential needs no click: the card itself is the delivery.
    if (saved.status === 'provisioned' && saved.form.credential.kind !== 'secret')
      saved = await deps.delivery.deliverWithoutSecret(saved.id);
    return saved;
  }

  async function handle(request: AppRequest): Promise<void> {
    // Always act on the latest saved state: a queued older state would put a stale card back.
    let latest = toRequest((await loadRequest(store, request.id)).value);
    if (latest.status === 'submitted' && !latest.approvalCards?.length) latest = await postApprovalCard(latest);
    if (latest.status === 'provisioned' && !latest.deliveryCard) latest = await postDeliveryCard(latest);
    // After a rotation's new secret is stored, the owner decides about the old one; never before, never for them.
    if (
      latest.kind === 'rotation' &&
      latest.status === 'delivered' &&
      latest.redactedAt &&
      latest.rotation?.old &&
      !latest.rotation.cleanupCard &&
      latest.requesterAddress
    ) {
      const address = latest.requesterAddress;
      // What Entra's sign-in report says of the old credential goes on the card (and stays on the request, for the
      // Remove click to compare with).
      const signIns = await deps.oldSignIns?.(latest);
      if (signIns)
        latest = await annotateRequest(store, latest.id, (current) =>
          current.rotation ? { rotation: { ...current.rotation, oldSignIns: signIns } } : undefined,
        );
      const ref = await messenger.post(address, rotationCleanupCard(latest));
      latest = await annotateRequest(store, latest.id, (current) =>
        current.rotation ? { rotation: { ...current.rotation, cleanupCard: ref } } : undefined,
      );
    }
    await updateCards(latest);
  }

  function changed(request: AppRequest): Promise<void> {
    return queue
      .run(request.id, () => handle(request))
      .catch((err: unknown) =>
        logger.error({ err, requestId: request.id }, 'could not bring the cards of a request up to date'),
      );
  }

  /** Records a review card on the request and brings it up to date, should the request have moved since it was answered. */
  function recordReviewCard(requestId: string, ref: ReviewCardRef): void {
    void queue
      .run(requestId, async () => {
        const saved = await annotateRequest(store, requestId, (latest) => {
          const reviewCards = withReviewCard(latest.reviewCards, ref);
          return reviewCards ? { reviewCards } : undefined;
        });
        await handle(saved);
      })
      .catch((err: unknown) =>
        logger.warn({ err, requestId }, 'could not record an approval card shown in a personal chat'),
      );
  }

  return {
    changed,
    approvalCard: approvalCardInTurn,
    personalApprovalCard(request, mode, shown, message) {
      const viewer = shown.viewer;
      const card = renderApproval({
        request,
        mode,
        refreshUserIds: [viewer.id],
        ...(message ? { message } : {}),
      });
      if (shown.activityId && viewer.aadObjectId) {
        const ref: ReviewCardRef = {
          conversationId: shown.address.conversation.id,
          activityId: shown.activityId,
          address: shown.address,
          viewer: { id: viewer.id, aadObjectId: viewer.aadObjectId.toLowerCase(), name: viewer.name },
          shownAt: clock.now().toISOString(),
        };
        // The answer shows this version: only a later one updates it.
        mark(ref, request);
        recordReviewCard(request.id, ref);
      }
      return card;
    },
    shown: mark,
    async expired(request) {
      const home = request.requesterAddress;
      if (!home) return;
      const card =
        request.kind === 'rotation'
          ? renderNotice({
              tone: 'info',
              title: `Your request for a new client secret for ${request.form.displayName} expired`,
              text: `No approver decided by ${request.expiresAt.slice(0, 10)}, so no secret was created; ${request.form.displayName} and its credentials are unchanged. To ask again, type \`rotate ${request.form.displayName}\`.`,
            })
          : renderNotice({
              tone: 'info',
              title: `Your request for "${request.form.displayName}" expired`,
              text: `Nobody decided on request ${request.id} by ${request.expiresAt.slice(0, 10)}, so it has expired and nothing was created. If you still need the app, ask again with \`request\`.`,
              reference: request.id,
            });
      await messenger.post(home, card).then(
        () => undefined,
        (err: unknown) =>
          logger.warn({ err, requestId: request.id }, 'could not tell the requester that the request expired'),
      );
    },
    async catchUp() {
      // Only the two states a card can be missing in, from their index rows: decided requests are not read.
      const open = [...(await requestsInState(store, 'submitted')), ...(await requestsInState(store, 'provisioned'))];
      for (const { value } of open) {
        const request = toRequest(value);
        const missingApproval = request.status === 'submitted' && !request.approvalCards?.length;
        const missingDelivery = request.status === 'provisioned' && !request.deliveryCard;
        if (missingApproval || missingDelivery) await changed(request);
      }
    },
    async idle() {
      await queue.idle();
    },
  };
}
