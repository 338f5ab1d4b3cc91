/**
 * The teams-ai Application and its one ordered routing table. Handlers translate: they read the activity,
 * call one service, and answer with a card. Invokes are answered at once; every handler is safe to repeat.
 */
import { type Activity, CardFactory, MessageFactory, TeamsInfo, type TurnContext } from 'botbuilder';
import type { Application, TurnState } from '@microsoft/teams-ai';
import { QuietApplication } from './quiet-application';
import type { AdaptiveCard } from '../cards/adaptive-card';
import { helpCard, renderChannelSet, renderNotice, renderWelcome, unknownActionCard } from '../cards/cards';
import { renderReminderRoutes, routeRemovedNotice, routeSetNotice } from '../cards/reminder-cards';
import { typeaheadTitle } from '../cards/request-form-card';
import { Dataset, Verb, type VerbName } from '../cards/verbs';
import type { ChannelPurpose, ConversationAddress } from '../domain/conversation';
import { RegistrarError } from '../domain/errors';
import { permissionKey } from '../domain/permission-search';
import { ruleKey } from '../domain/reminder-routes';
import type { ChannelService } from '../services/channel-service';
import type { GreetingService } from '../services/greeting-service';
import { requestCardRoutes, requestCommands, type RequestRouteServices } from './request-routes';
import { rotationCardRoutes, rotationCommands, type RotationRouteServices } from './rotation-routes';
import { federateCardRoutes, federateCommands, type FederateRouteServices } from './federate-routes';
import { actorFrom, addressFrom, turnCommand, turnLogger } from './turn';

export interface BotServices extends RequestRouteServices, RotationRouteServices, FederateRouteServices {
  channels: ChannelService;
  greetings: GreetingService;
}

export interface Bot {
  /** Runs one turn; resolves false when no route took the activity. */
  run(context: TurnContext): Promise<boolean>;
}

type Handler = (context: TurnContext) => Promise<void>;
/** A card replaces the one clicked (for the person who clicked); a string is shown as a message and leaves the card as it is. */
type CardActionHandler = (context: TurnContext, data: Record<string, unknown>) => Promise<AdaptiveCard | string>;

/**
 * Every Action.Execute verb and its handler. Typed as a full record of Verb, so a verb without a handler does
 * not compile; test/unit/bot/verbs.test.ts checks that every verb is used by a card and every card verb is here.
 */
export function cardActionRoutes(services: BotServices): Record<VerbName, CardActionHandler> {
  const request = requestCardRoutes(services);
  const rotation = rotationCardRoutes(services);
  const federate = federateCardRoutes(services);
  return {
    [Verb.digestRefresh]: rotation.refreshDigest,
    [Verb.rotationStart]: rotation.start,
    [Verb.rotationRemoveOld]: rotation.removeOld,
    [Verb.rotationKeepOld]: rotation.keepOld,
    [Verb.federateSubmit]: federate.submit,
    [Verb.showHelp]: async () => helpCard(),
    [Verb.requestOpen]: request.open,
    [Verb.requestFind]: request.find,
    [Verb.requestSubmit]: request.submit,
    [Verb.requestCancel]: request.cancel,
    [Verb.requestShow]: request.show,
    [Verb.approvalRefresh]: request.refresh,
    [Verb.approvalApprove]: request.approve,
    [Verb.approvalReject]: request.reject,
    [Verb.approvalRetry]: request.retry,
    [Verb.deliveryReveal]: request.reveal,
    [Verb.deliveryStored]: request.stored,
  };
}

/** Type-ahead (Data.Query) of the request form's permission list, in Teams. */
async function searchPermissions(
  services: BotServices,
  query: { parameters?: { queryText?: string }; count?: number; skip?: number },
) {
  const text = typeof query.parameters?.queryText === 'string' ? query.parameters.queryText : '';
  const count = Math.max(1, Math.min(query.count ?? 25, 50));
  const skip = Math.max(0, query.skip ?? 0);
  const found = await services.requests.searchPermissions(text, { limit: Math.min(skip + count, 100) });
  return found.items.slice(skip, skip + count).map((p) => ({
    title: typeaheadTitle(p),
    value: permissionKey(p),
  }));
}

export function createBot(services: BotServices): Bot {
  // No storage: Registrar keeps its state in its own Store, and teams-ai's turn state would be a second,
  // unguarded copy. No typing timer (quiet-application.ts): teams-ai keeps one per Application, shared by concurrent turns.
  const app = new QuietApplication<TurnState>({
    startTypingTimer: false,
    removeRecipientMention: true,
    longRunningMessages: false,
  });
  registerRoutes(app, services);
  return { run: (context) => app.run(context) };
}

function registerRoutes(app: Application<TurnState>, services: BotServices): void {
  // 1. Card actions (invokes: answered within Teams' five seconds, matched before everything else).
  for (const [verb, handler] of Object.entries(cardActionRoutes(services))) {
    app.adaptiveCards.actionExecute(verb, (context, _state, data) =>
      answerCardAction(context, () => handler(context, data as Record<string, unknown>)),
    );
  }
  app.adaptiveCards.search(Dataset.graphPermissions, async (_context, _state, query) =>
    searchPermissions(services, query),
  );
  app.activity(isUnroutedCardAction, async (context) => {
    await sendInvokeCard(context, unknownActionCard());
  });

  // 2. Installs and removals.
  app.activity('installationUpdate', guarded(onInstallationUpdate(services)));
  app.conversationUpdate('membersAdded', guarded(onMembersAdded(services)));
  app.conversationUpdate('membersRemoved', guarded(onMembersRemoved(services)));

  // 3. Commands, in the order people are most likely to type them. Unknown text gets the help card: never silence.
  app.message(isCommand('setup approvals', 'setup reminders'), guarded(onSetupChannel(services)));
  app.message(isCommand('setup reminders for <rule>'), guarded(onSetupRoute(services)));
  app.message(isCommand('remove reminders for <rule>'), guarded(onRemoveRoute(services)));
  app.message(isCommand('list reminders'), guarded(onListRoutes(services)));
  const requestCommand = requestCommands(services);
  const answer = (work: (context: TurnContext, argument: string) => Promise<AdaptiveCard>): Handler =>
    guarded(async (context) => {
      await rememberPersonal(context, services);
      await reply(context, await work(context, turnCommand(context)?.argument ?? ''));
    });
  app.message(isCommand('request'), answer(requestCommand.request));
  app.message(isCommand('mine'), answer(requestCommand.mine));
  app.message(isCommand('status <id>'), answer(requestCommand.status));
  app.message(isCommand('cancel <id>'), answer(requestCommand.cancel));
  app.message(isCommand('pending'), answer(requestCommand.pending));
  const rotationCommand = rotationCommands(services);
  app.message(isCommand('rotate <app>'), answer(rotationCommand.rotate));
  app.message(isCommand('federate <app>'), answer(federateCommands(services).federate));
  app.message(isCommand('scan'), answer(rotationCommand.scan));
  app.message(isCommand('scan full'), answer(rotationCommand.scanFull));
  app.message(/[\s\S]*/, guarded(onAnyOtherMessage(services)));
}

/** Selects messages whose text, once mentions and Teams' HTML are removed, is one of these commands (parsed once a turn). */
function isCommand(...usages: string[]) {
  return async (context: TurnContext): Promise<boolean> =>
    context.activity.type === 'message' && usages.includes(turnCommand(context)?.command.usage ?? '');
}

const isUnroutedCardAction = async (context: TurnContext): Promise<boolean> =>
  context.activity.type === 'invoke' && context.activity.name === 'adaptiveCard/action';

/** Turns a RegistrarError into a notice card for the person who clicked; anything else is the server's error. */
async function answerCardAction(
  context: TurnContext,
  work: () => Promise<AdaptiveCard | string>,
): Promise<AdaptiveCard | string> {
  try {
    return await work();
  } catch (err) {
    if (!(err instanceof RegistrarError)) throw err;
    turnLogger(context).info({ code: err.code, detail: err.message }, 'card action refused');
    return renderNotice({
      tone: err.code === 'unavailable' ? 'error' : 'refusal',
      title: titleFor(err),
      text: err.userMessage,
    });
  }
}

function guarded(handler: Handler): (context: TurnContext) => Promise<void> {
  return async (context) => {
    try {
      await handler(context);
    } catch (err) {
      if (!(err instanceof RegistrarError)) throw err;
      turnLogger(context).info({ code: err.code, detail: err.message }, 'request refused');
      await reply(
        context,
        renderNotice({
          tone: err.code === 'unavailable' ? 'error' : 'refusal',
          title: titleFor(err),
          text: err.userMessage,
        }),
      );
    }
  };
}

function titleFor(err: RegistrarError): string {
  switch (err.code) {
    case 'not-authorized':
      return 'Not allowed';
    case 'wrong-place':
      return 'Not here';
    case 'invalid-input':
      return 'Please check this';
    case 'conflict':
      return 'Changed meanwhile';
    case 'not-found':
      return 'Not found';
    case 'unavailable':
      return 'Registrar is unavailable';
  }
}

async function reply(context: TurnContext, card: AdaptiveCard): Promise<void> {
  await context.sendActivity(MessageFactory.attachment(CardFactory.adaptiveCard(card)));
}

async function sendInvokeCard(context: TurnContext, card: AdaptiveCard): Promise<void> {
  await context.sendActivity({
    type: 'invokeResponse',
    value: { status: 200, body: { statusCode: 200, type: 'application/vnd.microsoft.card.adaptive', value: card } },
  });
}

function onSetupChannel(services: BotServices): Handler {
  return async (context) => {
    const purpose: ChannelPurpose =
      turnCommand(context)?.command.usage === 'setup approvals' ? 'approvals' : 'reminders';
    const address = await withPlaceNames(context, addressFrom(context.activity));
    const { binding, replaced } = await services.channels.setChannel(purpose, address, actorFrom(context.activity));
    turnLogger(context).info(
      { purpose, channel: address.conversation.id, replaced: replaced?.address.conversation.id },
      'channel set',
    );
    await reply(
      context,
      renderChannelSet({
        purpose,
        channelName: address.channel?.name ?? address.conversation.name,
        teamName: address.team?.name,
        setBy: binding.setBy.name,
        setAt: binding.setAt,
        replaced: replaced
          ? {
              channelName: replaced.address.channel?.name ?? replaced.address.conversation.name,
              teamName: replaced.address.team?.name,
            }
          : undefined,
      }),
    );
  };
}

/** The names a route card shows for a channel, as the binding kept them. */
const placeOf = (address: ConversationAddress) => ({
  channelName: address.channel?.name ?? address.conversation.name,
  teamName: address.team?.name,
});

function onSetupRoute(services: BotServices): Handler {
  return async (context) => {
    const argument = turnCommand(context)?.argument ?? '';
    const address = await withPlaceNames(context, addressFrom(context.activity));
    const result = await services.channels.setRoute(argument, address, actorFrom(context.activity));
    const fallback = await services.channels.getChannel('reminders');
    turnLogger(context).info(
      { rule: ruleKey(result.binding.rule), channel: address.conversation.id, alreadySet: result.alreadySet },
      'reminder route set',
    );
    await reply(
      context,
      renderNotice({
        tone: 'info',
        ...routeSetNotice({
          rule: result.binding.rule,
          alreadySet: result.alreadySet,
          alsoSentTo: result.alsoSentTo.map((r) => placeOf(r.address)),
          ...(fallback ? { defaultPlace: placeOf(fallback.address) } : {}),
        }),
      }),
    );
  };
}

function onRemoveRoute(services: BotServices): Handler {
  return async (context) => {
    const argument = turnCommand(context)?.argument ?? '';
    const address = addressFrom(context.activity);
    const removed = await services.channels.removeRoute(argument, address, actorFrom(context.activity));
    turnLogger(context).info(
      { rules: removed.map((r) => ruleKey(r.rule)), channels: removed.map((r) => r.address.conversation.id) },
      'reminder routes removed',
    );
    const notice = routeRemovedNotice({
      typed: argument,
      removed: removed.map((r) => ({ rule: r.rule, place: placeOf(r.address) })),
      inChannel: address.conversation.conversationType === 'channel',
    });
    await reply(context, renderNotice({ tone: removed.length > 0 ? 'info' : 'refusal', ...notice }));
  };
}

function onListRoutes(services: BotServices): Handler {
  return async (context) => {
    await rememberPersonal(context, services);
    const [routes, fallback] = await Promise.all([
      services.channels.listRoutes(),
      services.channels.getChannel('reminders'),
    ]);
    await reply(
      context,
      renderReminderRoutes({
        routes: routes.map((r) => ({ rule: r.rule, place: placeOf(r.address), setBy: r.setBy.name, setAt: r.setAt })),
        ...(fallback ? { defaultPlace: placeOf(fallback.address) } : {}),
      }),
    );
  };
}

function onAnyOtherMessage(services: BotServices): Handler {
  return async (context) => {
    await rememberPersonal(context, services);
    const parsed = turnCommand(context);
    if (parsed && !parsed.command.available) {
      await reply(
        context,
        renderNotice({
          tone: 'info',
          title: `"${parsed.command.usage}" is coming soon`,
          text: `${parsed.command.summary} This command is not built yet. Type "help" to see what works today.`,
        }),
      );
      return;
    }
    await reply(context, helpCard());
  };
}

/**
 * The greeting key: a team is greeted once, whichever channel the bot was added through; a person once, in their
 * own personal chat. A personal chat is keyed by the person and not by its conversation id, because that id does
 * not always tell people apart: every Agents Playground names its current user's chat with the same configured id,
 * so the first person greeted there used to take the greeting of everyone after them.
 */
function greetingKey(activity: Partial<Activity>): string {
  const address = addressFrom(activity);
  if (address.team?.id) return `team:${address.team.id}`;
  const person = actorFrom(activity).aadObjectId;
  if (activity.conversation?.conversationType === 'personal' && person) return `person:${person}`;
  return `conversation:${address.conversation.id}`;
}

async function greetOnce(context: TurnContext, services: BotServices): Promise<void> {
  await rememberPersonal(context, services);
  if (!(await services.greetings.claimGreeting(greetingKey(context.activity)))) return;
  const personal = context.activity.conversation?.conversationType === 'personal';
  turnLogger(context).info({ scope: personal ? 'personal' : 'team' }, 'greeted');
  // Install events often carry no sender name: ask the connector, and greet without one rather than "Hello, Someone".
  const name = personal
    ? await personName(context)
    : (await withPlaceNames(context, addressFrom(context.activity))).team?.name;
  await reply(context, renderWelcome({ scope: personal ? 'personal' : 'team', name: name || undefined }));
}

function onInstallationUpdate(services: BotServices): Handler {
  return async (context) => {
    const action = String(context.activity.action ?? '');
    if (action === 'add' || action === 'add-upgrade') await greetOnce(context, services);
    else if (action === 'remove') await services.greetings.forget(greetingKey(context.activity));
  };
}

function onMembersAdded(services: BotServices): Handler {
  return async (context) => {
    const botId = context.activity.recipient?.id;
    if (context.activity.membersAdded?.some((member) => member.id === botId)) await greetOnce(context, services);
  };
}

function onMembersRemoved(services: BotServices): Handler {
  return async (context) => {
    const botId = context.activity.recipient?.id;
    if (context.activity.membersRemoved?.some((member) => member.id === botId)) {
      await services.greetings.forget(greetingKey(context.activity));
    }
  };
}

async function personName(context: TurnContext): Promise<string | undefined> {
  const from = context.activity.from;
  if (from?.name?.trim()) return from.name.trim();
  if (!from?.id) return undefined;
  try {
    return (await TeamsInfo.getMember(context, from.id)).name?.trim() || undefined;
  } catch (err) {
    turnLogger(context).debug({ err }, 'could not read the member name');
    return undefined;
  }
}

/**
 * Teams sends channel activities with the team and channel ids only. Their names, for the cards people read,
 * come from the Bot Connector (the General channel's id is the team's and it has no name there).
 * Best effort: without names the cards still say what happened.
 */
async function withPlaceNames(context: TurnContext, address: ConversationAddress): Promise<ConversationAddress> {
  const team = address.team;
  if (!team?.id || (team.name && address.channel?.name)) return address;
  const named: ConversationAddress = {
    ...address,
    team: { ...team },
    channel: address.channel ? { ...address.channel } : undefined,
  };
  try {
    named.team!.name ||= (await TeamsInfo.getTeamDetails(context, team.id)).name;
    if (named.channel && !named.channel.name) {
      const channels = await TeamsInfo.getTeamChannels(context, team.id);
      named.channel.name =
        channels.find((c) => c.id === named.channel!.id)?.name ||
        (named.channel.id === team.id ? 'General' : undefined);
    }
  } catch (err) {
    turnLogger(context).warn({ err, teamId: team.id }, 'could not read team and channel names');
  }
  return named;
}

async function rememberPersonal(context: TurnContext, services: BotServices): Promise<void> {
  const actor = actorFrom(context.activity);
  if (context.activity.conversation?.conversationType !== 'personal' || !actor.aadObjectId) return;
  await services.greetings.rememberPersonalConversation(actor.aadObjectId, addressFrom(context.activity));
}
