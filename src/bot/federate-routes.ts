/**
 * `federate <app>` in Teams: the command answers with the federated credential card, and its Submit makes the request
 * (federation-service.ts). Provisioning and delivery then run as for a new app's federated credential; nothing here
 * waits on them.
 */
import type { TurnContext } from 'botbuilder';
import type { AdaptiveCard } from '../cards/adaptive-card';
import { renderFederateCard } from '../cards/federate-card';
import { renderRequestStatus } from '../cards/request-status-card';
import { RegistrarError } from '../domain/errors';
import { federatedFields, type FederatedField } from '../domain/federated-credential';
import { isGuid } from '../domain/guid';
import type { AppRequest } from '../domain/request';
import type { CardService } from '../services/card-service';
import type { FederationService } from '../services/federation-service';
import { actorFrom, addressFrom, turnLogger } from './turn';

export interface FederateRouteServices {
  federation: FederationService;
  notifier: CardService;
}

/** The delivery and the approval go to the personal chat: the command and its card work there only. */
function requirePersonal(context: TurnContext): void {
  if (context.activity.conversation?.conversationType !== 'personal')
    throw new RegistrarError(
      'wrong-place',
      'Add a federated credential in your personal chat with Registrar: type `federate <app name or appId>` there.',
    );
}

/** The card's inputs: the federated credential fields only, as strings; anything else the card data holds is ignored. */
function fieldValues(data: Record<string, unknown>): Partial<Record<FederatedField, string>> {
  const values: Partial<Record<FederatedField, string>> = {};
  for (const field of federatedFields) {
    const value = data[field];
    if (typeof value === 'string') values[field] = value.slice(0, 2000);
  }
  return values;
}

function submittedText(request: AppRequest): string {
  const app = request.federation?.appName ?? request.form.displayName;
  return request.status === 'submitted'
    ? `Your request for a federated credential for ${app} waits for an approver. This card shows where it stands; the delivery comes to this chat once it is added.`
    : `Registrar is adding the federated credential to ${app}. This card shows where it stands; the delivery with what the workload needs comes to this chat.`;
}

export function federateCommands(services: FederateRouteServices) {
  return {
    async federate(context: TurnContext, argument: string): Promise<AdaptiveCard> {
      requirePersonal(context);
      if (!argument.trim()) throw new RegistrarError('invalid-input', 'Say which app: `federate <app name or appId>`.');
      const offer = await services.federation.open(actorFrom(context.activity), argument);
      turnLogger(context).info({ appId: offer.appId, askedAs: offer.askedAs }, 'federated credential card offered');
      return renderFederateCard(offer);
    },
  };
}

export function federateCardRoutes(services: FederateRouteServices) {
  return {
    async submit(context: TurnContext, data: Record<string, unknown>): Promise<AdaptiveCard> {
      requirePersonal(context);
      const appId = typeof data.appId === 'string' && isGuid(data.appId) ? data.appId : undefined;
      if (!appId)
        throw new RegistrarError(
          'invalid-input',
          'This card does not name an app Registrar knows. Type `federate <app name or appId>` for a new one.',
        );
      const values = fieldValues(data);
      const activityId = context.activity.replyToId;
      const conversationId = context.activity.conversation?.id;
      const result = await services.federation.submit(
        actorFrom(context.activity),
        {
          appId,
          offeredAs: data.offeredAs === 'owner' ? 'owner' : 'approval',
          values,
          ...(activityId && conversationId ? { statusCard: { conversationId, activityId } } : {}),
        },
        addressFrom(context.activity),
      );
      if (result.kind === 'invalid') {
        turnLogger(context).info({ appId, fields: Object.keys(result.errors) }, 'federated credential card refused');
        return renderFederateCard({ ...result.offer, values, errors: result.errors });
      }
      const request = result.request;
      turnLogger(context).info(
        { requestId: request.id, appId, status: request.status, repeat: result.kind === 'repeat' },
        'federated credential submitted',
      );
      // The answer is the status card as it is now: no update of it is needed for this version.
      if (request.statusCard) services.notifier.shown(request.statusCard, request);
      return renderRequestStatus({ request, viewer: 'requester', notice: submittedText(request) });
    },
  };
}
