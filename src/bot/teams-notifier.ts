/**
 * The Notifier port over the Bot Framework: posting and updating cards outside a turn (approval cards in the approvals channel,
 * status and delivery cards in a requester's personal chat), through botbuilder's CloudAdapter so that the
 * outbound calls carry the bot's token exactly as replies do.
 */
import {
  type CloudAdapter,
  CardFactory,
  type ConversationReference,
  MessageFactory,
  TeamsInfo,
  TurnContext,
} from 'botbuilder';
import type { ConnectorClient } from 'botframework-connector';
import type { ConversationAddress } from '../domain/conversation';
import type { Notifier, TeamMember } from '../services/ports';
import { referenceFrom } from './turn';

export function createTeamsNotifier(adapter: CloudAdapter, botAppId: string): Notifier {
  async function within<T>(
    address: ConversationAddress,
    conversationId: string,
    work: (context: TurnContext) => Promise<T>,
  ): Promise<T> {
    const base = referenceFrom(address);
    const reference = { ...base, conversation: { ...base.conversation!, id: conversationId } } as ConversationReference;
    // The work's failure is the caller's to handle (each caller logs it and carries on). Thrown inside the
    // continuation it would reach the adapter's onTurnError instead, which logs "turn failed", marks the turn
    // that asked as failed in telemetry, and swallows it, so the caller would get undefined back as a result.
    let outcome: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
    await adapter.continueConversationAsync(botAppId, reference, async (context) => {
      try {
        outcome = { ok: true, value: await work(context) };
      } catch (error) {
        outcome = { ok: false, error };
      }
    });
    if (!outcome) throw new Error(`the Bot Framework adapter did not continue the conversation ${conversationId}`);
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  }

  return {
    async post(address, card) {
      return within(address, address.conversation.id, async (context) => {
        // Straight to the conversation: context.sendActivity would make it a reply to the continuation activity,
        // and in a channel a new approval card is a new post, not a reply in someone's thread.
        const client = context.turnState.get<ConnectorClient>(context.adapter.ConnectorClientKey);
        const reference = TurnContext.getConversationReference(context.activity);
        const activity = {
          ...MessageFactory.attachment(CardFactory.adaptiveCard(card)),
          from: reference.bot,
          recipient: reference.user,
          conversation: reference.conversation,
          channelId: reference.channelId,
          serviceUrl: reference.serviceUrl,
        };
        const sent = await client.conversations.sendToConversation(address.conversation.id, activity);
        if (!sent?.id)
          throw new Error(`the connector returned no activity id for a card posted to ${address.conversation.id}`);
        return { conversationId: address.conversation.id, activityId: sent.id };
      });
    },

    async update(address, ref, card) {
      await within(address, ref.conversationId, async (context) => {
        await context.updateActivity({
          ...MessageFactory.attachment(CardFactory.adaptiveCard(card)),
          id: ref.activityId,
        });
      });
    },

    async teamMembers(address, limit) {
      const teamId = address.team?.id;
      if (!teamId) return [];
      return within(address, address.conversation.id, async (context) => {
        const members: TeamMember[] = [];
        let continuationToken: string | undefined;
        do {
          const page = await TeamsInfo.getPagedTeamMembers(context, teamId, Math.min(limit, 500), continuationToken);
          for (const m of page.members ?? []) members.push({ id: m.id, aadObjectId: m.aadObjectId?.toLowerCase() });
          continuationToken = page.continuationToken;
        } while (continuationToken && members.length < limit);
        return members.slice(0, limit);
      });
    },
  };
}
