/**
 * The expiry scan's routing of due credentials to channels (domain/reminder-routes.ts): the rules are read once a
 * scan; tag: and prefix: rules are decided from the credential alone; group: rules need the app's owners and their
 * groups, read only for the credentials that a group rule could still send somewhere new, each owner's groups once a
 * scan, in checkMemberGroups calls of up to 20 groups, a few owners at a time.
 */
import { RegistrarError } from '../domain/errors';
import type { CredentialInfo } from '../domain/expiry';
import { DEFAULT_ROUTE, groupsOf, type ReminderRoute, routeOf } from '../domain/reminder-routes';
import { createLimiter } from '../lib/queues';
import type { Logger } from '../lib/logger';
import type { CredentialSource, GroupDirectory } from './ports';

/** Owners whose groups are read at once. */
const MEMBERSHIP_CONCURRENCY = 4;

export interface Routed<T> {
  item: T;
  channel: string;
}

export interface ScanRouting {
  /**
   * Each item once per channel its credential goes to. `settled(item, channel)` says that channel has it already:
   * an item that every channel a group rule could add has, needs no owners read.
   */
  route<T extends { credential: CredentialInfo }>(
    items: readonly T[],
    settled: (item: T, channel: string) => boolean,
  ): Promise<Array<Routed<T>>>;
  /** The owners read for routing, by holder object id: the scan announces with them instead of reading them again. */
  readonly owners: ReadonlyMap<string, string[]>;
}

export interface ReminderRoutingDeps {
  routes(): Promise<ReminderRoute[]>;
  source: Pick<CredentialSource, 'ownersOfEach'>;
  groups?: GroupDirectory;
  logger: Logger;
}

export async function startScanRouting(deps: ReminderRoutingDeps, log: Logger): Promise<ScanRouting> {
  const routes = await deps.routes();
  const groupIds = groupsOf(routes);
  // The channels only a group rule can send to: whether an item may go there is not known from the credential.
  const staticRoutes = routes.filter((r) => r.rule.kind !== 'group');
  const groupChannels = [...new Set(routes.filter((r) => r.rule.kind === 'group').map((r) => r.channelId))];
  const owners = new Map<string, string[]>();
  const groupsOfOwner = new Map<string, Promise<Set<string>>>();
  const limiter = createLimiter(MEMBERSHIP_CONCURRENCY);
  if (groupIds.length > 0 && !deps.groups)
    log.warn(
      { groups: groupIds.length },
      'group reminder rules set but no directory to read groups: they match no app',
    );

  function memberGroups(ownerId: string): Promise<Set<string>> {
    let known = groupsOfOwner.get(ownerId);
    if (!known) {
      known = limiter.run(async () => {
        try {
          return new Set(await deps.groups!.memberGroupsOf(ownerId, groupIds));
        } catch (err) {
          // Graph not answering: the scan fails and its claims wait; anything else (a permission) is said and passed.
          if (err instanceof RegistrarError && err.code !== 'unavailable') {
            log.warn({ ownerId, code: err.code, detail: err.message }, 'owner groups not read: group rules skip them');
            return new Set<string>();
          }
          throw err;
        }
      });
      groupsOfOwner.set(ownerId, known);
    }
    return known;
  }

  async function readOwners(holders: readonly CredentialInfo[]): Promise<void> {
    const unknown = [...new Map(holders.map((c) => [c.applicationObjectId, c])).values()].filter(
      (c) => !owners.has(c.applicationObjectId),
    );
    if (unknown.length === 0) return;
    for (const [id, read] of await deps.source.ownersOfEach(unknown)) {
      if (!(read instanceof RegistrarError)) {
        owners.set(id, read);
        continue;
      }
      if (read.code === 'unavailable') throw read;
      log.warn({ applicationObjectId: id, code: read.code, detail: read.message }, 'owners not read for routing');
      owners.set(id, []);
    }
  }

  return {
    owners,
    async route(items, settled) {
      if (routes.length === 0) return items.map((item) => ({ item, channel: DEFAULT_ROUTE }));
      const needGroups = (item: (typeof items)[number]) => {
        if (groupIds.length === 0 || !deps.groups) return false;
        const fixed = routeOf(staticRoutes, { appName: item.credential.appName, tags: item.credential.tags });
        return [...fixed, ...groupChannels].some((channel) => !settled(item, channel));
      };
      const asking = new Set(items.filter(needGroups));
      await readOwners([...asking].map((i) => i.credential));
      // Every owner's groups asked for together (a few at a time), each once a scan.
      const ownerIds = new Set([...asking].flatMap((i) => owners.get(i.credential.applicationObjectId) ?? []));
      await Promise.all([...ownerIds].map((id) => memberGroups(id.toLowerCase())));
      const routed: Array<Routed<(typeof items)[number]>> = [];
      for (const item of items) {
        const { credential } = item;
        let ownerGroups: Set<string> | undefined;
        if (asking.has(item)) {
          ownerGroups = new Set<string>();
          for (const owner of owners.get(credential.applicationObjectId) ?? [])
            for (const g of await memberGroups(owner.toLowerCase())) ownerGroups.add(g);
        }
        const channels = ownerGroups
          ? routeOf(routes, { appName: credential.appName, tags: credential.tags, ownerGroups })
          : // No group could add a channel it has not had: the rules that need no owners decide.
            routeOf(staticRoutes, { appName: credential.appName, tags: credential.tags });
        for (const channel of channels) routed.push({ item, channel });
      }
      return routed;
    },
  };
}
