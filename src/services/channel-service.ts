/**
 * Naming the approvals and reminders channels, and the channels that receive the reminders of the apps a rule names.
 * An operator runs `setup approvals` in a channel; the channel's conversation address is kept so that later features
 * can post there. The write is ETag-guarded: two operators at once give one consistent binding, the last to commit,
 * and each is told what it replaced.
 *
 * `setup reminders for <rule>` keeps (rule, channel) as a row of its own in partition 'reminder-route': a rule may
 * send to several channels and a channel hear several rules, so setting one never replaces another. The operator is
 * read from the activity and checked again for every change; a group named by display name is turned into its object
 * id here, once, so that the scan reads memberships by id.
 */
import { createHash } from 'node:crypto';
import type { Actor, ChannelBinding, ChannelPurpose, ConversationAddress } from '../domain/conversation';
import { ConflictError, NotAuthorized, RegistrarError, WrongPlace } from '../domain/errors';
import { type ReminderRoute, type ReminderRule, parseReminderRule, ruleKey } from '../domain/reminder-routes';
import type { Clock, GroupDirectory, Store } from './ports';
import type { OperatorPolicy } from './operator-policy';

export interface ChannelSetResult {
  binding: ChannelBinding;
  /** The binding this one replaced, when it named another channel. */
  replaced?: ChannelBinding;
}

/** A reminder rule kept for a channel: a ChannelBinding of purpose 'reminders' with its rule. */
export type RouteBinding = ChannelBinding & { rule: ReminderRule };

export interface RouteSetResult {
  binding: RouteBinding;
  /** True when this channel already had the rule (it is kept as it was set first). */
  alreadySet: boolean;
  /** Other channels the same rule sends to. */
  alsoSentTo: RouteBinding[];
}

const PARTITION = 'channel';
const ROUTE_PARTITION = 'reminder-route';
const MAX_ATTEMPTS = 5;
/** Rules kept in all: each is read by every scan, and the list must fit one card. */
export const MAX_ROUTES = 100;

export interface ChannelService {
  setChannel(purpose: ChannelPurpose, address: ConversationAddress, actor: Actor): Promise<ChannelSetResult>;
  getChannel(purpose: ChannelPurpose): Promise<ChannelBinding | undefined>;
  /** `setup reminders for <rule>` in a channel: the rule's reminders go there too. A bad rule is invalid input. */
  setRoute(ruleText: string, address: ConversationAddress, actor: Actor): Promise<RouteSetResult>;
  /**
   * `remove reminders for <rule>`: in a channel, that channel's rule; elsewhere, the rule wherever it sends.
   * Returns what was removed (nothing when the rule was not set there).
   */
  removeRoute(ruleText: string, address: ConversationAddress, actor: Actor): Promise<RouteBinding[]>;
  /** Every rule and its channel, in the order they were set (the order routeOf reads them in). */
  listRoutes(): Promise<RouteBinding[]>;
  /** The rules as the scan applies them. */
  routes(): Promise<ReminderRoute[]>;
}

export function createChannelService(deps: {
  store: Store;
  operators: OperatorPolicy;
  clock: Clock;
  /** Finds the group a group: rule names; without it such rules are refused with a reason. */
  groups?: GroupDirectory;
}): ChannelService {
  const { store, operators, clock } = deps;

  async function operator(actor: Actor, doing: string): Promise<{ aadObjectId: string; name: string }> {
    if (!(await operators.isOperator(actor)) || !actor.aadObjectId) {
      throw new NotAuthorized(`Only an operator can ${doing}. ${operators.describe()} Ask one of them to run this.`);
    }
    return { aadObjectId: actor.aadObjectId, name: actor.name };
  }

  function parsed(ruleText: string): ReminderRule {
    const rule = parseReminderRule(ruleText);
    if (!rule.ok) throw new RegistrarError('invalid-input', rule.message);
    return rule.rule;
  }

  /** A group named by its display name or object id, as the directory knows it now. */
  async function resolved(rule: ReminderRule): Promise<ReminderRule> {
    if (rule.kind !== 'group' && rule.kind !== 'groupName') return rule;
    const asked = rule.kind === 'group' ? rule.groupId : rule.groupName;
    if (!deps.groups) {
      throw new RegistrarError(
        'unavailable',
        "Registrar cannot read the directory's groups here, so it cannot route by group. Use a tag: or prefix: rule.",
        {
          detail: `group rule "${asked}": no GroupDirectory configured`,
        },
      );
    }
    const found = await deps.groups.findGroups(asked);
    if (found.length === 0) {
      throw new RegistrarError(
        'not-found',
        `No group "${asked}" in the directory. Give the group's exact display name or its object id, as the Entra admin center shows them.`,
      );
    }
    if (found.length > 1) {
      throw new RegistrarError(
        'invalid-input',
        `${found.length} groups are named "${asked}". Name the one you mean by its object id: ${found.map((g) => `group:${g.id}`).join(', ')}.`,
      );
    }
    return { kind: 'group', groupId: found[0]!.id, groupName: found[0]!.displayName };
  }

  async function listRoutes(): Promise<RouteBinding[]> {
    const routes: RouteBinding[] = [];
    for await (const { value } of store.channels.list(ROUTE_PARTITION))
      if (value.rule) routes.push(value as RouteBinding);
    return routes.sort((a, b) => a.setAt.localeCompare(b.setAt) || ruleKey(a.rule).localeCompare(ruleKey(b.rule)));
  }

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

    async setRoute(ruleText, address, actor) {
      // The rule is read first: a bad one is told how to write it, whoever typed it.
      const typed = parsed(ruleText);
      if (address.conversation.conversationType !== 'channel') {
        throw new WrongPlace(
          `Run "setup reminders for ${ruleText.trim()}" in the Teams channel that should receive those apps' reminders, mentioning Registrar.`,
        );
      }
      const setBy = await operator(actor, 'choose where reminders go');
      const rule = await resolved(typed);
      const existing = await listRoutes();
      const row = routeRow(rule, address.conversation.id);
      const alsoSentTo = existing.filter(
        (r) => ruleKey(r.rule) === ruleKey(rule) && r.address.conversation.id !== address.conversation.id,
      );
      const binding: RouteBinding = { purpose: 'reminders', address, setBy, setAt: clock.now().toISOString(), rule };
      try {
        await store.channels.create(ROUTE_PARTITION, row, binding);
      } catch (err) {
        if (!(err instanceof ConflictError && err.reason === 'exists')) throw err;
        const kept = await store.channels.get(ROUTE_PARTITION, row);
        return { binding: (kept?.value as RouteBinding | undefined) ?? binding, alreadySet: true, alsoSentTo };
      }
      if ((await listRoutes()).length > MAX_ROUTES) {
        // Counted after the write: operators adding rules at once cannot pass the bound together (both give way).
        await store.channels.delete(ROUTE_PARTITION, row);
        throw new RegistrarError(
          'invalid-input',
          `Registrar keeps at most ${MAX_ROUTES} reminder rules. Remove one with "remove reminders for <rule>" first ("list reminders" shows them).`,
        );
      }
      return { binding, alreadySet: false, alsoSentTo };
    },

    async removeRoute(ruleText, address, actor) {
      const typed = parsed(ruleText);
      await operator(actor, 'change where reminders go');
      const inChannel = address.conversation.conversationType === 'channel';
      const routes = await listRoutes();
      // A group is matched by the name it was set with as well as by id: the group may be gone from the directory.
      const matches = (r: RouteBinding) =>
        ruleKey(r.rule) === ruleKey(typed) ||
        (typed.kind === 'groupName' &&
          r.rule.kind === 'group' &&
          r.rule.groupName?.toLowerCase() === typed.groupName.toLowerCase());
      const removed = routes.filter(
        (r) => matches(r) && (!inChannel || r.address.conversation.id === address.conversation.id),
      );
      for (const r of removed)
        await store.channels.delete(ROUTE_PARTITION, routeRow(r.rule, r.address.conversation.id));
      return removed;
    },

    listRoutes,

    async routes() {
      return (await listRoutes()).map((r) => ({ rule: r.rule, channelId: r.address.conversation.id }));
    },
  };
}

/**
 * A route's row: a hash of the rule and the channel, since a rule may be 256 characters of anything and a key is
 * at most 1 KiB once escaped (https://learn.microsoft.com/rest/api/storageservices/understanding-the-table-service-data-model).
 */
function routeRow(rule: ReminderRule, conversationId: string): string {
  return `route.${createHash('sha256')
    .update(`${ruleKey(rule)}\n${conversationId}`)
    .digest('hex')
    .slice(0, 40)}`;
}
