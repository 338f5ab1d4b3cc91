/**
 * Greeting once per conversation. Teams sends both installationUpdate and conversationUpdate on install, and the
 * Playground sends them on every page load; the greeting marker is created atomically, so exactly one of any
 * number of concurrent or repeated events greets.
 */
import type { ConversationAddress } from '../domain/conversation';
import { ConflictError } from '../domain/errors';
import type { Clock, Store } from './ports';

export interface GreetingService {
  /** True for the first caller for this conversation, false ever after (until forget). */
  claimGreeting(conversationId: string): Promise<boolean>;
  /** The bot was uninstalled: a later install greets again. */
  forget(conversationId: string): Promise<void>;
  /** Keeps a person's personal conversation, for the proactive messages of later features. */
  rememberPersonalConversation(userObjectId: string, address: ConversationAddress): Promise<void>;
  /** The person's personal conversation with Registrar, when they have had one. */
  personalConversation(userObjectId: string): Promise<ConversationAddress | undefined>;
}

export function createGreetingService(deps: { store: Store; clock: Clock }): GreetingService {
  const { store, clock } = deps;
  const remembered = new Map<string, string>();
  return {
    async claimGreeting(conversationId) {
      try {
        await store.greetings.create('greeting', conversationId, {
          conversationId,
          greetedAt: clock.now().toISOString(),
        });
        return true;
      } catch (err) {
        if (err instanceof ConflictError && err.reason === 'exists') return false;
        throw err;
      }
    },
    async forget(conversationId) {
      await store.greetings.delete('greeting', conversationId);
    },
    async rememberPersonalConversation(userObjectId, address) {
      // One write per person and process, or when the conversation changes: not one per message.
      const key = `${address.serviceUrl}|${address.conversation.id}`;
      if (remembered.get(userObjectId) === key) return;
      await store.conversations.upsert('user', userObjectId, address);
      remembered.set(userObjectId, key);
    },
    async personalConversation(userObjectId) {
      return (await store.conversations.get('user', userObjectId.toLowerCase()))?.value;
    },
  };
}
