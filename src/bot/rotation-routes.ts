/**
 * Rotation and the expiry scan in Teams: the Rotate button of a reminder, `rotate <app>`, the cleanup card's
 * answer about the old secret, and `scan` for operators. The new secret then travels the request path's
 * delivery (request-routes.ts); nothing here waits on provisioning.
 */
import type { TurnContext } from 'botbuilder';
import type { AdaptiveCard } from '../cards/adaptive-card';
import { renderNotice } from '../cards/cards';
import { digestFromRefresh, renderReminderDigest } from '../cards/reminder-cards';
import { plural } from '../cards/request-card-parts';
import { renderRequestStatus } from '../cards/request-status-card';
import type { ConversationAddress } from '../domain/conversation';
import { NotAuthorized, RegistrarError } from '../domain/errors';
import type { AppRequest } from '../domain/request';
import { parseRequestId } from '../domain/request-id';
import type { ExpiryScanResult, ExpiryService } from '../services/expiry-service';
import type { OperatorPolicy } from '../services/operator-policy';
import type { GreetingService } from '../services/greeting-service';
import type { RotationService } from '../services/rotation-service';
import { rotationCleanupCard, type CardService } from '../services/card-service';
import { actorFrom, addressFrom, turnLogger } from './turn';
import { isGuid } from '../domain/guid';

export interface RotationRouteServices {
  greetings: GreetingService;
  rotation: RotationService;
  notifier: CardService;
  operators: OperatorPolicy;
  expiry: ExpiryService;
}

/** The clicker's personal chat with Registrar: this one, or the one Registrar remembers for them. */
async function personalChatOf(
  context: TurnContext,
  greetings: GreetingService,
): Promise<ConversationAddress | undefined> {
  if (context.activity.conversation?.conversationType === 'personal') return addressFrom(context.activity);
  const aadObjectId = actorFrom(context.activity).aadObjectId;
  return aadObjectId ? greetings.personalConversation(aadObjectId) : undefined;
}

/** Starts a rotation (the service starts what follows: the delivery when approved, and the cards). */
async function startRotation(
  context: TurnContext,
  services: RotationRouteServices,
  appIdOrName: string,
): Promise<AppRequest> {
  const home = await personalChatOf(context, services.greetings);
  if (!home) {
    throw new RegistrarError(
      'wrong-place',
      'Registrar sends the new secret to your personal chat with it, and you have none yet. Open a chat with Registrar and type `rotate <app name or appId>` there.',
    );
  }
  const request = await services.rotation.start(actorFrom(context.activity), appIdOrName, home);
  turnLogger(context).info(
    {
      requestId: request.id,
      appId: request.rotation?.appId,
      status: request.status,
    },
    'rotation started',
  );
  return request;
}

/** What the asker is told; no request id: they asked for a secret, and the cards find the rotation by themselves. */
function startedText(request: AppRequest): string {
  const app = request.rotation?.appName ?? request.form.displayName;
  return request.status === 'submitted'
    ? `Your request for a new client secret for ${app} waits for an approver. The secret comes to your personal chat with Registrar once it is approved.`
    : `A new client secret for ${app} is waiting in your personal chat with Registrar: reveal it there. ${app} and its other credentials stay as they are.`;
}

export function rotationCardRoutes(services: RotationRouteServices) {
  return {
    /** The Rotate button of a reminder: answered with a message, so that the digest stays on the card. */
    async start(context: TurnContext, data: Record<string, unknown>): Promise<string> {
      const appId = typeof data.appId === 'string' && isGuid(data.appId) ? data.appId : undefined;
      if (!appId)
        return 'This button does not name an app Registrar knows. Type `rotate <app name or appId>` in your personal chat with Registrar.';
      try {
        return startedText(await startRotation(context, services, appId));
      } catch (err) {
        if (!(err instanceof RegistrarError)) throw err;
        turnLogger(context).info({ code: err.code, detail: err.message }, 'rotation refused');
        return err.userMessage;
      }
    },

    /**
     * The digest's refresh: the same card, with Rotate on the rows of the apps the person viewing it owns in Entra ID
     * now (read from the directory, not from the card). Teams sends it for the owners named in refresh.userIds.
     */
    async refreshDigest(context: TurnContext, data: Record<string, unknown>): Promise<AdaptiveCard> {
      const view = digestFromRefresh(data);
      if (!view) throw new RegistrarError('invalid-input', 'This card is not a reminder digest Registrar knows.');
      const owned = await services.rotation.ownedAmong(
        actorFrom(context.activity),
        view.credentials.map((c) => c.applicationObjectId),
      );
      return renderReminderDigest({ ...view, ownedApplications: owned });
    },

    async removeOld(context: TurnContext, data: Record<string, unknown>): Promise<AdaptiveCard> {
      const requestId = typeof data.requestId === 'string' ? parseRequestId(data.requestId) : undefined;
      if (!requestId) throw new RegistrarError('invalid-input', 'This card does not name a rotation Registrar knows.');
      const request = await services.rotation.decideOld(actorFrom(context.activity), requestId, true);
      return rotationCleanupCard(request);
    },

    async keepOld(context: TurnContext, data: Record<string, unknown>): Promise<AdaptiveCard> {
      const requestId = typeof data.requestId === 'string' ? parseRequestId(data.requestId) : undefined;
      if (!requestId) throw new RegistrarError('invalid-input', 'This card does not name a rotation Registrar knows.');
      const request = await services.rotation.decideOld(actorFrom(context.activity), requestId, false);
      return rotationCleanupCard(request);
    },
  };
}

export function rotationCommands(services: RotationRouteServices) {
  return {
    async rotate(context: TurnContext, argument: string): Promise<AdaptiveCard> {
      if (!argument.trim()) throw new RegistrarError('invalid-input', 'Say which app: `rotate <app name or appId>`.');
      const request = await startRotation(context, services, argument);
      return renderRequestStatus({
        request,
        viewer: 'requester',
        notice: startedText(request),
      });
    },

    /** Operators: a scan now (the changes since the last one, when it can); answers with what it found. */
    scan: (context: TurnContext) => scanNow(context, services, false),
    /** Operators: a scan that lists the whole tenant, as the weekly one does, whatever changed. */
    scanFull: (context: TurnContext) => scanNow(context, services, true),
  };
}

async function scanNow(context: TurnContext, services: RotationRouteServices, full: boolean): Promise<AdaptiveCard> {
  const actor = actorFrom(context.activity);
  if (!(await services.operators.isOperator(actor)))
    throw new NotAuthorized(`Only Registrar operators can run the expiry scan. ${services.operators.describe()}`);
  const result = await services.expiry.scan({ trigger: 'command', full });
  if (!result.ran)
    return renderNotice({
      tone: 'info',
      title: 'A scan is already running',
      text: 'Another Registrar is scanning right now; its reminders go to the reminders channel.',
    });
  const outcome =
    result.announced.length === 0
      ? 'nothing new to announce.'
      : `${plural(result.announced.length, 'credential')} announced in the reminders channel.`;
  return renderNotice({
    tone: 'info',
    title: 'Expiry scan done',
    text: `${scanSummary(result)}: ${outcome}`,
    reference: result.scanId,
  });
}

/** What a scan read, in the words of its mode: the whole tenant, or only what changed since the last scan. */
function scanSummary(result: ExpiryScanResult): string {
  if (result.mode === 'full') {
    const enterprise =
      result.servicePrincipals > 0 ? `, ${plural(result.servicePrincipals, 'enterprise application')}` : '';
    return `Scanned ${plural(result.applications, 'app registration')}${enterprise} and ${plural(result.credentials, 'credential')}`;
  }
  const changed =
    result.applications + result.servicePrincipals === 0
      ? 'nothing changed'
      : [
          result.applications > 0 ? plural(result.applications, 'app registration') : '',
          result.servicePrincipals > 0 ? plural(result.servicePrincipals, 'enterprise application') : '',
        ]
          .filter(Boolean)
          .join(' and ') + ' changed';
  return `Read the changes since the last scan (${changed}) and found ${plural(result.credentials, 'credential')} ending within the reminder days`;
}
