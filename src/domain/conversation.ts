/**
 * Where the bot can write: a serialisable copy of a Bot Framework conversation reference.
 * Kept free of botbuilder types so that nothing outside src/bot/ depends on them.
 */
import type { ReminderRule } from './reminder-routes';

export interface ConversationAddress {
  channelId: string;
  serviceUrl: string;
  conversation: {
    id: string;
    conversationType?: string;
    tenantId?: string;
    isGroup?: boolean;
    name?: string;
  };
  bot: { id: string; name?: string };
  /** The Teams team and channel, for channel conversations. */
  team?: { id: string; name?: string; aadGroupId?: string };
  channel?: { id: string; name?: string };
  /** The user, for personal conversations. */
  user?: { id: string; name?: string; aadObjectId?: string };
  locale?: string;
}

/** The person behind an activity, as Teams says it. Authority is decided from `aadObjectId`, never from card data. */
export interface Actor {
  /** Teams user id (29:...). */
  id: string;
  name: string;
  /** Entra object id; absent for anonymous or non-Teams callers, who are then never authorised. */
  aadObjectId?: string;
  tenantId?: string;
}

export type ChannelPurpose = 'approvals' | 'reminders';
export const channelPurposes: readonly ChannelPurpose[] = ['approvals', 'reminders'];

/**
 * A channel named for a purpose by an operator. A reminders channel with a rule receives the reminders of the apps
 * the rule names (domain/reminder-routes.ts); the one without is the default.
 */
export interface ChannelBinding {
  purpose: ChannelPurpose;
  address: ConversationAddress;
  setBy: { aadObjectId: string; name: string };
  setAt: string;
  rule?: ReminderRule;
}
