/**
 * Posting what an expiry scan found: a digest in each channel the reminders are routed to (the default reminders
 * channel, and those of `setup reminders for <rule>`; split over several cards when long), and to each owner
 * Registrar can reach, one personal message about their own apps, however many channels heard of them. A channel's
 * post must land: when none can, this throws and the scan keeps every claim; when some cannot, it names them and the
 * scan keeps their claims for the next run. Owners' messages are best effort.
 */
import { renderOwnerReminder, splitDigest } from '../cards/reminder-cards';
import { RegistrarError } from '../domain/errors';
import type { ConversationAddress } from '../domain/conversation';
import type { ExpiringCredential } from '../domain/expiry';
import { DEFAULT_ROUTE } from '../domain/reminder-routes';
import type { AnnounceOutcome } from './expiry-service';
import type { Logger } from '../lib/logger';
import type { ChannelService } from './channel-service';
import type { Clock, Notifier, PeopleDirectory, Store } from './ports';

export interface ReminderAnnouncerDeps {
  store: Store;
  notifier: Notifier;
  channels: ChannelService;
  clock: Clock;
  logger: Logger;
  /** Names of owners Registrar has no chat with, so that they are mentioned too (best effort). */
  people?: PeopleDirectory;
}

export type Announce = (credentials: readonly ExpiringCredential[], scanId: string) => Promise<void | AnnounceOutcome>;

/** Members of the reminders channel's team looked at to find the owners' Teams ids. */
const MAX_MEMBERS_SCANNED = 500;

export function createReminderAnnouncer(deps: ReminderAnnouncerDeps): Announce {
  const { store, notifier: messenger, channels, clock, logger } = deps;

  /**
   * The owners' Teams user ids (29:...), for the digest's refresh.userIds, so that Teams shows each owner the card
   * with Rotate: from their personal chats with Registrar, then the reminders team's roster. Best effort: an owner
   * without one still sees the card, and can rotate in their chat.
   */
  async function teamsIdsOf(
    ownerIds: readonly string[],
    homes: ReadonlyMap<string, Awaited<ReturnType<Store['conversations']['get']>>>,
    channel: ConversationAddress,
    log: Logger,
  ): Promise<Record<string, string>> {
    const ids: Record<string, string> = {};
    for (const id of ownerIds) {
      const teamsId = homes.get(id)?.value.user?.id;
      if (teamsId) ids[id.toLowerCase()] = teamsId;
    }
    const missing = new Set(ownerIds.map((id) => id.toLowerCase()).filter((id) => !ids[id]));
    if (missing.size === 0 || !channel.team?.id) return ids;
    try {
      for (const member of await messenger.teamMembers(channel, MAX_MEMBERS_SCANNED)) {
        const id = member.aadObjectId?.toLowerCase();
        if (id && missing.has(id)) ids[id] = member.id;
      }
    } catch (err) {
      log.warn(
        { err, owners: missing.size },
        "could not read the reminders team's members; those owners see no Rotate",
      );
    }
    return ids;
  }

  /** Where each channel of the announcement is: the default binding, or the route's (by conversation id). */
  async function addressesOf(channelIds: ReadonlySet<string>): Promise<Map<string, ConversationAddress | undefined>> {
    const addresses = new Map<string, ConversationAddress | undefined>();
    if (channelIds.has(DEFAULT_ROUTE)) addresses.set(DEFAULT_ROUTE, (await channels.getChannel('reminders'))?.address);
    if ([...channelIds].some((c) => c !== DEFAULT_ROUTE)) {
      for (const route of await channels.listRoutes())
        if (channelIds.has(route.address.conversation.id)) addresses.set(route.address.conversation.id, route.address);
    }
    return addresses;
  }

  return async (credentials, scanId) => {
    if (credentials.length === 0) return;
    const log = logger.child({ scanId });
    const byChannel = new Map<string, ExpiringCredential[]>();
    for (const c of credentials) {
      const channel = c.channel ?? DEFAULT_ROUTE;
      byChannel.set(channel, [...(byChannel.get(channel) ?? []), c]);
    }
    const addresses = await addressesOf(new Set(byChannel.keys()));
    // Names for the mentions: from the personal chats Registrar has with the owners, then the directory for the rest.
    const ownerIds = [...new Set(credentials.flatMap((c) => c.ownerIds))];
    const homes = new Map<string, Awaited<ReturnType<Store['conversations']['get']>>>();
    for (const id of ownerIds) homes.set(id, await store.conversations.get('user', id));
    const ownerNames: Record<string, string> = {};
    for (const [id, home] of homes) if (home?.value.user?.name) ownerNames[id] = home.value.user.name;
    const unnamed = ownerIds.filter((id) => !ownerNames[id]);
    if (unnamed.length > 0 && deps.people) {
      try {
        const found = await deps.people.displayNames(unnamed);
        for (const id of unnamed) if (found[id.toLowerCase()]) ownerNames[id] = found[id.toLowerCase()]!;
      } catch (err) {
        log.warn(
          { err, owners: unnamed.length },
          "could not read owners' names from the directory; they are listed by id",
        );
      }
    }

    const failed: string[] = [];
    let firstError: unknown;
    for (const [channelId, own] of byChannel) {
      const channel = addresses.get(channelId);
      try {
        if (!channel) {
          throw new RegistrarError(
            'unavailable',
            channelId === DEFAULT_ROUTE
              ? 'No reminders channel is set up.'
              : 'A reminders channel was removed before its digest was posted.',
            {
              detail:
                channelId === DEFAULT_ROUTE
                  ? `${own.length === 1 ? '1 credential' : `${own.length} credentials`} to announce and no reminders channel: an operator must mention Registrar with "setup reminders" in a channel; the next scan posts them`
                  : `${own.length} credentials routed to ${channelId}, whose rule is gone: the next scan routes them again`,
            },
          );
        }
        const ownerTeamsIds = await teamsIdsOf([...new Set(own.flatMap((c) => c.ownerIds))], homes, channel, log);
        const cards = splitDigest(own, { ownerNames, ownerTeamsIds, scanAt: clock.now() });
        for (const card of cards) await messenger.post(channel, card);
        log.info(
          {
            credentials: own.length,
            cards: cards.length,
            channel: channelId === DEFAULT_ROUTE ? 'default' : channelId,
          },
          'expiry digest posted',
        );
      } catch (err) {
        log.error({ err, channel: channelId }, 'expiry digest not posted in a channel');
        failed.push(channelId);
        firstError ??= err;
      }
    }
    if (failed.length === byChannel.size) throw firstError;
    const posted = credentials.filter((c) => !failed.includes(c.channel ?? DEFAULT_ROUTE));

    // Each owner once, each credential once, whatever the number of channels it went to.
    const once = [...new Map(posted.map((c) => [`${c.applicationObjectId}:${c.keyId}:${c.threshold}`, c])).values()];
    for (const id of ownerIds) {
      const home = homes.get(id)?.value;
      if (!home) continue;
      const own = once.filter((c) => c.ownerIds.includes(id));
      if (own.length === 0) continue;
      await messenger
        .post(
          home,
          renderOwnerReminder({
            credentials: own,
            ...(ownerNames[id] ? { ownerName: ownerNames[id] } : {}),
          }),
        )
        .catch((err: unknown) => {
          log.warn({ err, ownerId: id }, 'could not tell an owner about their expiring credentials');
        });
    }
    return failed.length > 0 ? { failedChannels: failed } : undefined;
  };
}
