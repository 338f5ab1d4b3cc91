/**
 * Naming the approvals and reminders channels. An operator runs `setup approvals` in a channel; the channel's
 * conversation address is kept so that later features can post there. The write is ETag-guarded: two
 * operators at once give one consistent binding, the last to commit, and each is told what it replaced.
 */
import type { Actor, ChannelBinding, ChannelPurpose, ConversationAddress } from '../domain/conversation';
import { ConflictError, NotAuthorized, WrongPlace } from '../domain/errors';
import type { Clock, Store } from './ports';
import type { OperatorPolicy } from './operator-policy';

export interface ChannelSetResult {
  binding: ChannelBinding;
  /** The binding this one replaced, when it named another channel. */
  replaced?: ChannelBinding;
}

const PARTITION = 'channel';
const MAX_ATTEMPTS = 5;

export interface ChannelService {
  setChannel(purpose: ChannelPurpose, address: ConversationAddress, actor: Actor): Promise<ChannelSetResult>;
  getChannel(purpose: ChannelPurpose): Promise<ChannelBinding | undefined>;
}

export function createChannelService(deps: { store: Store; operators: OperatorPolicy; clock: Clock }): ChannelService {
  const { store, operators, clock } = deps;
  return {
    async setChannel(purpose, address, actor) {
      if (address.conversation.conversationType !== 'channel') {
        throw new WrongPlace(
          `Run "setup ${purpose}" in the Teams channel that should receive ${purpose === 'approvals' ? 'approval requests' : 'expiry reminders'}, mentioning Registrar.`,
        );
      }
      if (!(await operators.isOperator(actor)) || !actor.aadObjectId) {
        throw new NotAuthorized(
          `Only an operator can choose the ${purpose} channel. ${operators.describe()} Ask one of them to run this here.`,
        );
      }
      const binding: ChannelBinding = {
        purpose,
        address,
        setBy: { aadObjectId: actor.aadObjectId, name: actor.name },
        setAt: clock.now().toISOString(),
      };
      for (let attempt = 1; ; attempt++) {
        const current = await store.channels.get(PARTITION, purpose);
        try {
          if (current) await store.channels.replace(PARTITION, purpose, binding, current.etag);
          else await store.channels.create(PARTITION, purpose, binding);
          const replaced =
            current && current.value.address.conversation.id !== address.conversation.id ? current.value : undefined;
          return { binding, replaced };
        } catch (err) {
          if (!(err instanceof ConflictError) || attempt >= MAX_ATTEMPTS) throw err;
        }
      }
    },
    async getChannel(purpose) {
      return (await store.channels.get(PARTITION, purpose))?.value;
    },
  };
}
