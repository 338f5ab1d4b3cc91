/**
 * What a turn knows about who acts and where: translated from Bot Framework activities into domain types,
 * so that nothing outside src/bot/ sees botbuilder.
 */
import { type Activity, TurnContext } from 'botbuilder';
import { type ParsedCommand, parseCommand, stripMarkup } from '../domain/commands';
import type { Actor, ConversationAddress } from '../domain/conversation';
import type { Logger } from '../lib/logger';

const TURN_LOGGER = Symbol('registrar.turnLogger');
const TURN_COMMAND = Symbol('registrar.turnCommand');

/**
 * Gives the turn its logger. `make` runs on the turn's first log line, not before: most turns (a `help`, a click
 * answered with a card) log nothing, and a child logger redacts and serialises its bindings when it is made.
 */
export function setTurnLogger(context: TurnContext, make: () => Logger): void {
  let logger: Logger | undefined;
  context.turnState.set(TURN_LOGGER, () => (logger ??= make()));
}

export function turnLogger(context: TurnContext): Logger {
  const logger = context.turnState.get(TURN_LOGGER) as (() => Logger) | undefined;
  if (!logger) throw new Error('turn logger missing: the server sets it before every turn');
  return logger();
}

interface TeamsChannelData {
  tenant?: { id?: string };
  team?: { id?: string; name?: string; aadGroupId?: string };
  channel?: { id?: string; name?: string };
}

function channelData(activity: Partial<Activity>): TeamsChannelData {
  const data: unknown = activity.channelData;
  return data && typeof data === 'object' ? (data as TeamsChannelData) : {};
}

/** The tenant an activity comes from, as Teams states it (channelData first, then the conversation). */
export function tenantOf(activity: Partial<Activity>): string | undefined {
  return (channelData(activity).tenant?.id ?? activity.conversation?.tenantId)?.toLowerCase();
}

export function actorFrom(activity: Partial<Activity>): Actor {
  const from = activity.from;
  return {
    id: from?.id ?? '',
    name: from?.name?.trim() || 'Someone',
    aadObjectId: from?.aadObjectId?.toLowerCase(),
    tenantId: tenantOf(activity),
  };
}

/**
 * The address to write to this conversation later. For a channel the thread suffix (";messageid=...") is removed,
 * so that a later post starts a new thread in the channel instead of replying in this one.
 */
export function addressFrom(activity: Partial<Activity>): ConversationAddress {
  const ref = TurnContext.getConversationReference(activity);
  const data = channelData(activity);
  const conversation = ref.conversation ?? { id: '', isGroup: false, name: '', conversationType: '' };
  const isChannel = conversation.conversationType === 'channel';
  const address: ConversationAddress = {
    channelId: ref.channelId ?? 'msteams',
    serviceUrl: ref.serviceUrl ?? '',
    conversation: {
      id: isChannel ? (conversation.id.split(';messageid=')[0] ?? conversation.id) : conversation.id,
      conversationType: conversation.conversationType,
      tenantId: conversation.tenantId ?? tenantOf(activity),
      isGroup: conversation.isGroup,
      name: conversation.name || undefined,
    },
    bot: { id: ref.bot?.id ?? '', name: ref.bot?.name },
    locale: ref.locale,
  };
  if (data.team?.id) address.team = { id: data.team.id, name: data.team.name, aadGroupId: data.team.aadGroupId };
  if (data.channel?.id) address.channel = { id: data.channel.id, name: data.channel.name };
  if (conversation.conversationType === 'personal' && ref.user) {
    address.user = { id: ref.user.id, name: ref.user.name, aadObjectId: ref.user.aadObjectId };
  }
  return address;
}

/** A conversation reference botbuilder can continue, from a stored address. */
export function referenceFrom(
  address: ConversationAddress,
): Partial<ReturnType<typeof TurnContext.getConversationReference>> {
  return {
    channelId: address.channelId,
    serviceUrl: address.serviceUrl,
    conversation: {
      id: address.conversation.id,
      conversationType: address.conversation.conversationType ?? '',
      tenantId: address.conversation.tenantId,
      isGroup: address.conversation.isGroup ?? false,
      name: address.conversation.name ?? '',
    },
    bot: { id: address.bot.id, name: address.bot.name ?? '' },
    user: address.user
      ? { id: address.user.id, name: address.user.name ?? '', aadObjectId: address.user.aadObjectId }
      : undefined,
    locale: address.locale,
  };
}

/** The text of a message with mentions and Teams' HTML leftovers removed, whitespace collapsed. */
export function commandText(context: TurnContext): string {
  return stripMarkup(context.activity.text ?? '');
}

/**
 * The command this turn's message holds, if any: parsed once, on first use, and kept in the turn state, so that
 * the routing table's selectors and the handler read the same result.
 */
export function turnCommand(context: TurnContext): ParsedCommand | undefined {
  const state = context.turnState;
  if (!state.has(TURN_COMMAND)) state.set(TURN_COMMAND, parseCommand(commandText(context)));
  return state.get(TURN_COMMAND) as ParsedCommand | undefined;
}
