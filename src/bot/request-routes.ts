/**
 * The request path in Teams: the form, its Find and Submit, the status card, the approval card's decisions,
 * Retry, and the private delivery. Each handler reads the activity, calls one service, starts background work
 * (provisioning, card updates) without waiting for it, and answers with a card: invokes never wait on Graph,
 * except Reveal, whose addPassword and short secret check are the answer itself.
 */
import { type TurnContext } from 'botbuilder';
import type { AdaptiveCard } from '../cards/adaptive-card';
import { renderDelivery, type TokenEndpoints } from '../cards/delivery-card';
import { renderRequestForm } from '../cards/request-form-card';
import { plural } from '../cards/request-card-parts';
import { audiencesIn } from '../domain/sign-in-audiences';
import { renderRequestList } from '../cards/request-list-card';
import { renderRequestStatus } from '../cards/request-status-card';
import type { CatalogPermission } from '../domain/app-spec';
import { RegistrarError, WrongPlace } from '../domain/errors';
import { directoryTenantOf, type AppRequest } from '../domain/request';
import { requestFormFields, type FormErrorKey, type FormValues } from '../domain/request-form';
import { permissionKey } from '../domain/permission-search';
import { parseRequestId } from '../domain/request-id';
import type { DeliveryService } from '../services/delivery-service';
import type { ProvisioningService } from '../services/provisioning-service';
import type { RequestService } from '../services/request-service';
import type { ChannelService } from '../services/channel-service';
import type { ApproverPolicy } from '../services/request-approvers';
import type { CardService } from '../services/card-service';
import { actorFrom, addressFrom, turnLogger } from './turn';
import { runsTypeahead } from './client-support';
import { sameObject } from '../domain/object-id';

export interface RequestRouteServices {
  requests: RequestService;
  provisioning: ProvisioningService;
  delivery: DeliveryService;
  channels: ChannelService;
  approvers: ApproverPolicy;
  notifier: CardService;
  tenantId?: string;
  graphEndpoints?: TokenEndpoints;
}

const MATCHES_SHOWN = 25;

const isPersonal = (context: TurnContext) => context.activity.conversation?.conversationType === 'personal';

function requirePersonal(context: TurnContext, what: string): void {
  if (!isPersonal(context))
    throw new WrongPlace(`${what} in your personal chat with Registrar, so that nobody else sees your request.`);
}

/** The request id a card action names; anything else is refused. */
function requestIdOf(data: Record<string, unknown>): string {
  const id = typeof data.requestId === 'string' ? parseRequestId(data.requestId) : undefined;
  if (!id)
    throw new RegistrarError(
      'invalid-input',
      'This card does not name a request Registrar knows. Type `mine` to list your requests.',
    );
  return id;
}

/** The form's own fields from the card data, as text (what the person typed, to put back in the card). */
function formValues(data: Record<string, unknown>): FormValues {
  const values: FormValues = {};
  for (const field of requestFormFields) {
    const value = data[field];
    if (typeof value === 'string') values[field] = value.slice(0, 8192);
  }
  return values;
}

/** The card data without what Teams adds around the inputs. */
function formData(data: Record<string, unknown>): Record<string, unknown> {
  const { verb: _verb, ...rest } = data;
  return rest;
}

async function renderForm(
  services: RequestRouteServices,
  turn: TurnContext,
  input: {
    requestId: string;
    values: FormValues;
    errors?: Partial<Record<FormErrorKey, string>>;
    filter?: string;
    notice?: string;
  },
): Promise<AdaptiveCard> {
  const context = await services.requests.formContext();
  const selected: CatalogPermission[] = [];
  for (const id of (input.values.permissions ?? '').split(/[\s,;]+/).filter(Boolean)) {
    const found = context.catalog.byKey(id);
    if (found && !selected.some((p) => permissionKey(p) === permissionKey(found))) selected.push(found);
  }
  const found = input.filter?.trim()
    ? context.catalog.search(input.filter, { limit: MATCHES_SHOWN })
    : { total: 0, items: [] };
  const matches = found.items.filter((p) => !selected.some((s) => permissionKey(s) === permissionKey(p)));
  return renderRequestForm({
    requestId: input.requestId,
    values: input.values,
    errors: input.errors ?? {},
    policy: context.policy,
    credentialRules: context.credentialRules,
    audiences: audiencesIn(context.cloud),
    targets: context.targets,
    selected,
    matches,
    matchesTotal: found.total,
    ...(input.filter?.trim() ? { filter: input.filter.trim() } : {}),
    ...(input.notice ? { notice: input.notice } : {}),
    typeahead: runsTypeahead(turn.activity),
  });
}

/** A new, empty request form (the `request` command and the "Ask for an app" button). */
export async function newRequestForm(context: TurnContext, services: RequestRouteServices): Promise<AdaptiveCard> {
  requirePersonal(context, 'Ask for an app');
  const { requestId } = await services.requests.newForm(actorFrom(context.activity));
  return renderForm(services, context, { requestId, values: {} });
}

function statusCard(
  context: TurnContext,
  request: AppRequest,
  extra: { audit?: Parameters<typeof renderRequestStatus>[0]['audit']; notice?: string } = {},
): AdaptiveCard {
  const actor = actorFrom(context.activity);
  const viewer = sameObject(actor.aadObjectId, request.requester.aadObjectId) ? 'requester' : 'other';
  return renderRequestStatus({ request, viewer, ...extra });
}

/** The card an invoke came from, when Teams says which (replyToId): where a status card will be updated. */
function cardRefOf(context: TurnContext): { conversationId: string; activityId: string } | undefined {
  const activityId = context.activity.replyToId;
  const conversationId = context.activity.conversation?.id;
  return activityId && conversationId ? { conversationId, activityId } : undefined;
}

type Handler = (context: TurnContext, data: Record<string, unknown>) => Promise<AdaptiveCard>;

const endpointsOf = (services: RequestRouteServices) =>
  services.graphEndpoints ? { endpoints: services.graphEndpoints } : {};

export function requestCardRoutes(services: RequestRouteServices) {
  const find: Handler = async (context, data) => {
    requirePersonal(context, 'Ask for an app');
    const requestId = requestIdOf(data);
    const values = formValues(data);
    const filter = values.permissionFilter ?? '';
    if (!filter.trim())
      return renderForm(services, context, {
        requestId,
        values,
        notice: 'Type part of a permission name or description in the search box, then Find.',
      });
    return renderForm(services, context, { requestId, values, filter });
  };

  const submit: Handler = async (context, data) => {
    requirePersonal(context, 'Ask for an app');
    const address = addressFrom(context.activity);
    let result: Awaited<ReturnType<RequestService['submit']>>;
    try {
      result = await services.requests.submit(actorFrom(context.activity), formData(data), address, cardRefOf(context));
    } catch (err) {
      // Graph or storage unavailable: the same form back with the reason, so that nothing typed is lost.
      if (!(err instanceof RegistrarError) || err.code !== 'unavailable') throw err;
      turnLogger(context).warn({ detail: err.message }, 'request not submitted: a dependency is unavailable');
      const card = await renderForm(services, context, {
        requestId: requestIdOf(data),
        values: formValues(data),
        errors: { form: err.userMessage },
      }).catch(() => undefined);
      if (!card) throw err;
      return card;
    }
    if (!result.ok) {
      // The form keeps the id it came with (Submit checks it every time), or gets one minted for this person.
      const requestId =
        (typeof data.requestId === 'string' ? parseRequestId(data.requestId) : undefined) ??
        (await services.requests.newForm(actorFrom(context.activity))).requestId;
      return renderForm(services, context, {
        requestId,
        values: result.values,
        errors: result.errors,
        ...(result.values.permissionFilter ? { filter: result.values.permissionFilter } : {}),
      });
    }
    const request = result.request;
    // The answer below is the status card as it is now: no update of it is needed for this version.
    if (request.statusCard) services.notifier.shown(request.statusCard, request);
    const channel = await services.channels.getChannel('approvals');
    const notice = channel
      ? `Sent to the approvers. This card shows where it stands.`
      : 'Registrar has no approvals channel yet, so approvers see your request only with `pending`. An operator can name one with `setup approvals`.';
    return statusCard(context, request, { notice });
  };

  const cancel: Handler = async (context, data) => {
    const result = await services.requests.cancel(
      actorFrom(context.activity),
      requestIdOf(data),
      context.activity.conversation?.id,
    );
    return statusCard(context, result.request, result.message ? { notice: result.message } : {});
  };

  const show: Handler = async (context, data) => {
    const view = await services.requests.status(actorFrom(context.activity), requestIdOf(data));
    return statusCard(context, view.request, { audit: view.audit });
  };

  /**
   * The approval card answering a click, where it was clicked: in a personal chat (a card opened from `pending`) the
   * card names the person in its refresh and, from this answer on, follows the request like the channel's cards.
   */
  const approvalAnswer = async (
    context: TurnContext,
    request: AppRequest,
    mode: 'everyone' | 'approver',
    message?: string,
  ): Promise<AdaptiveCard> => {
    if (!isPersonal(context)) return services.notifier.approvalCard(request, mode, message);
    const shown = {
      address: addressFrom(context.activity),
      viewer: actorFrom(context.activity),
      ...(context.activity.replyToId ? { activityId: context.activity.replyToId } : {}),
    };
    return services.notifier.personalApprovalCard(request, mode, shown, message);
  };

  /** The approval card for the person who clicked: decision buttons for an approver who may still decide. */
  const refresh: Handler = async (context, data) => {
    const actor = actorFrom(context.activity);
    const requestId = requestIdOf(data);
    // In the approvals channel the card is already in front of everyone; elsewhere (from `pending`, or hand-made
    // data) only the requester, the approvers and the operators may see the request.
    const approvals = await services.channels.getChannel('approvals');
    const inApprovalsChannel =
      !!approvals && addressFrom(context.activity).conversation.id === approvals.address.conversation.id;
    const review = await services.requests.review(actor, requestId, { inApprovalsChannel });
    return approvalAnswer(context, review.request, review.mode, review.message);
  };

  const approve: Handler = async (context, data) => {
    const result = await services.requests.approve(
      actorFrom(context.activity),
      requestIdOf(data),
      context.activity.conversation?.id,
    );
    const message =
      result.message ??
      (result.request.status === 'approved'
        ? 'You approved this request. Registrar is creating the app now.'
        : `You approved this request; it needs ${plural(result.request.approvalsRequired - result.request.approvals.length, 'more approval', 'more approvals')}.`);
    return approvalAnswer(context, result.request, 'everyone', message);
  };

  const reject: Handler = async (context, data) => {
    const requestId = requestIdOf(data);
    const reason = typeof data.reason === 'string' ? data.reason : '';
    try {
      const result = await services.requests.reject(
        actorFrom(context.activity),
        requestId,
        reason,
        context.activity.conversation?.id,
      );
      return approvalAnswer(
        context,
        result.request,
        'everyone',
        result.message ?? 'You rejected this request. The requester has been told why.',
      );
    } catch (err) {
      // A missing or unusable reason: the same decision card again, with the message, so nothing typed is lost.
      if (err instanceof RegistrarError && err.code === 'invalid-input')
        return approvalAnswer(context, await services.requests.view(requestId), 'approver', err.userMessage);
      throw err;
    }
  };

  const retry: Handler = async (context, data) => {
    const result = await services.provisioning.retry(
      actorFrom(context.activity),
      requestIdOf(data),
      context.activity.conversation?.id,
    );
    return approvalAnswer(
      context,
      result.request,
      'everyone',
      result.message ?? 'Provisioning started again. This card updates when it ends.',
    );
  };

  const reveal: Handler = async (context, data) => {
    requirePersonal(context, 'Reveal the secret');
    const requestId = requestIdOf(data);
    const teamsTenantId = services.tenantId ?? context.activity.conversation?.tenantId ?? '';
    const result = await services.delivery.reveal(
      actorFrom(context.activity),
      requestId,
      context.activity.conversation?.id,
      cardRefOf(context),
    );
    // The tenant id on the card is the directory's where the app is (a target's, or the Teams tenant's).
    const tenantId = directoryTenantOf(result.request, teamsTenantId);
    if (result.kind === 'already') {
      const d = result.request.delivery;
      return renderDelivery({
        request: result.request,
        tenantId,
        ...endpointsOf(services),
        state: d?.kind === 'secret' ? 'stored' : 'ready',
        ...(d?.kind === 'secret' ? { stored: { hint: d.hint, endDateTime: d.endDateTime } } : {}),
        message: result.message,
      });
    }
    const request = result.request;
    turnLogger(context).info(
      { requestId, keyId: result.secret.keyId, check: result.secret.check },
      'secret handed to its requester',
    );
    const { secretText, hint, endDateTime, check } = result.secret;
    return renderDelivery({
      request,
      tenantId,
      ...endpointsOf(services),
      state: 'revealed',
      secret: { text: secretText, hint, endDateTime, check },
    });
  };

  const stored: Handler = async (context, data) => {
    const request = await services.delivery.stored(actorFrom(context.activity), requestIdOf(data));
    // The answer below is the card everyone (the requester) sees now; the work after it is a rotation's cleanup card.
    if (request.deliveryCard) services.notifier.shown(request.deliveryCard, request);
    const d = request.delivery;
    return renderDelivery({
      request,
      tenantId: directoryTenantOf(request, services.tenantId ?? context.activity.conversation?.tenantId ?? ''),
      ...endpointsOf(services),
      state: 'stored',
      ...(d?.kind === 'secret' ? { stored: { hint: d.hint, endDateTime: d.endDateTime } } : {}),
    });
  };

  return {
    open: (context: TurnContext) => newRequestForm(context, services),
    find,
    submit,
    cancel,
    show,
    refresh,
    approve,
    reject,
    retry,
    reveal,
    stored,
  };
}

/** The chat commands of the request path; each answers with one card. */
export function requestCommands(services: RequestRouteServices) {
  const idFrom = (argument: string, usage: string): string => {
    const id = parseRequestId(argument);
    if (!id)
      throw new RegistrarError(
        'invalid-input',
        argument
          ? `"${argument.slice(0, 40)}" is not a request id. Request ids look like 7K3M9Q2X; type \`mine\` to list yours.`
          : `Say which request: \`${usage}\`.`,
      );
    return id;
  };
  return {
    request: (context: TurnContext) => newRequestForm(context, services),
    /** The person's apps with their credentials' expiry, then their requests for new apps. */
    async mine(context: TurnContext) {
      const mine = await services.requests.mine(actorFrom(context.activity));
      return renderRequestList({
        title: 'Your apps and requests',
        apps: { items: mine.apps, notShown: mine.appsNotShown, now: mine.at },
        requests: mine.requests,
        empty: 'You have not asked for any app yet. Type `request` to ask for one.',
      });
    },
    async pending(context: TurnContext) {
      const requests = await services.requests.pending(actorFrom(context.activity));
      return renderRequestList({
        title: 'Waiting for your decision',
        requests,
        empty: 'Nothing waits for your decision.',
        rowAction: 'review',
      });
    },
    async status(context: TurnContext, argument: string) {
      const view = await services.requests.status(actorFrom(context.activity), idFrom(argument, 'status <id>'));
      return statusCard(context, view.request, { audit: view.audit });
    },
    async cancel(context: TurnContext, argument: string) {
      const result = await services.requests.cancel(
        actorFrom(context.activity),
        idFrom(argument, 'cancel <id>'),
        context.activity.conversation?.id,
      );
      return statusCard(context, result.request, result.message ? { notice: result.message } : {});
    },
  };
}
