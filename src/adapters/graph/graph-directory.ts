/**
 * Directory on Microsoft Graph, through the GraphCaller (its retry policy and deadline: these calls run inside a
 * Teams turn). Membership is checked with checkMemberGroups, which follows nested groups and takes up to 20 group
 * ids per call (https://learn.microsoft.com/graph/api/directoryobject-checkmembergroups). Names are read with
 * `$filter=id in (...)`, which takes up to 15 values (https://learn.microsoft.com/graph/filter-query-parameter).
 */
import type { OwnerDetail } from '../../domain/request';
import type { Logger } from '../../lib/logger';
import type { Directory, DirectoryGroup, GroupDirectory, PeopleDirectory, TargetPeople } from '../../services/ports';
import { isGuid } from '../../domain/guid';
import { stringLiteral, type GraphCaller } from './graph-caller';
import { readGraphFailure } from './graph-errors';

const CHECK_MEMBER_GROUPS_LIMIT = 20;
const FILTER_IN_LIMIT = 15;
const READ_DIRECTORY = 'Directory.Read.All';

export interface GraphDirectoryOptions {
  graph: GraphCaller;
  logger: Logger;
}

type User = { id: string; displayName?: string | null; userPrincipalName?: string | null };

export class GraphDirectory implements Directory, GroupDirectory, PeopleDirectory, TargetPeople {
  private readonly graph: GraphCaller;

  constructor(private readonly options: GraphDirectoryOptions) {
    this.graph = options.graph;
  }

  async isMemberOfAnyGroup(userObjectId: string, groupIds: readonly string[]): Promise<boolean> {
    const log = this.options.logger.child({ step: 'check-member-groups' });
    const help = { doing: `checking the group memberships of ${userObjectId}`, requires: READ_DIRECTORY };
    for (let i = 0; i < groupIds.length; i += CHECK_MEMBER_GROUPS_LIMIT) {
      const batch = groupIds.slice(i, i + CHECK_MEMBER_GROUPS_LIMIT);
      let result: { value?: string[] };
      try {
        // A read, though a POST: repeating it is safe.
        result = await this.graph.attempt(
          {
            method: 'POST',
            path: `/directoryObjects/${encodeURIComponent(userObjectId)}/checkMemberGroups`,
            body: { groupIds: batch },
          },
          { log, help },
        );
      } catch (err) {
        // Someone the directory does not know (removed since, or from another tenant) is in no group.
        if (readGraphFailure(err).status === 404) return false;
        throw this.graph.fail(err, { log, help });
      }
      if ((result.value ?? []).length > 0) return true;
    }
    return false;
  }

  /** checkMemberGroups in calls of up to 20 group ids; someone the directory does not know is in none. */
  async memberGroupsOf(userObjectId: string, groupIds: readonly string[]): Promise<string[]> {
    const log = this.options.logger.child({ step: 'check-member-groups' });
    const help = { doing: `checking the group memberships of ${userObjectId}`, requires: READ_DIRECTORY };
    const ids = [...new Set(groupIds.map((g) => g.toLowerCase()))];
    const found: string[] = [];
    for (let i = 0; i < ids.length; i += CHECK_MEMBER_GROUPS_LIMIT) {
      const batch = ids.slice(i, i + CHECK_MEMBER_GROUPS_LIMIT);
      let result: { value?: string[] };
      try {
        result = await this.graph.attempt(
          {
            method: 'POST',
            path: `/directoryObjects/${encodeURIComponent(userObjectId)}/checkMemberGroups`,
            body: { groupIds: batch },
          },
          { log, help },
        );
      } catch (err) {
        if (readGraphFailure(err).status === 404) return [];
        throw this.graph.fail(err, { log, help });
      }
      found.push(...(result.value ?? []).map((g) => g.toLowerCase()));
    }
    return found;
  }

  /**
   * `$filter=displayName eq '...'` (or `id eq`, for an object id) on /groups
   * (https://learn.microsoft.com/graph/api/group-list): at most a few, since names are usually unique.
   */
  async findGroups(nameOrId: string): Promise<DirectoryGroup[]> {
    const log = this.options.logger.child({ step: 'find-groups' });
    const help = { doing: `looking up the group "${nameOrId}"`, requires: 'Group.Read.All' };
    const filter = isGuid(nameOrId)
      ? `id eq ${stringLiteral(nameOrId.toLowerCase())}`
      : `displayName eq ${stringLiteral(nameOrId)}`;
    const page = await this.graph.get<{ value?: Array<{ id: string; displayName?: string | null }> }>(
      { path: '/groups', filter, select: ['id', 'displayName'], top: 10 },
      { log, help },
    );
    return (page.value ?? []).map((g) => ({ id: g.id.toLowerCase(), displayName: g.displayName ?? g.id }));
  }

  async displayNames(userObjectIds: readonly string[]): Promise<Record<string, string>> {
    const names: Record<string, string> = {};
    for (const user of await this.usersById(userObjectIds, ['id', 'displayName']))
      if (user.displayName) names[user.id.toLowerCase()] = user.displayName;
    return names;
  }

  /** /users answers with users only, so a group's or a service principal's id is simply not found. */
  async users(userObjectIds: readonly string[]): Promise<OwnerDetail[]> {
    const found = await this.usersById(userObjectIds, ['id', 'displayName', 'userPrincipalName']);
    return found.map((user) => ({
      id: user.id.toLowerCase(),
      displayName: user.displayName ?? user.userPrincipalName ?? user.id,
      userPrincipalName: user.userPrincipalName ?? '',
    }));
  }

  /**
   * The users with these user principal names, by `$filter=userPrincipalName in (...)` (up to 15 values a call);
   * names match without regard to case, as Entra ID compares them.
   */
  async usersByPrincipalName(userPrincipalNames: readonly string[]): Promise<OwnerDetail[]> {
    const names = [...new Set(userPrincipalNames.map((n) => n.toLowerCase()))];
    const log = this.options.logger.child({ step: 'read-users-by-upn' });
    const found: OwnerDetail[] = [];
    for (let i = 0; i < names.length; i += FILTER_IN_LIMIT) {
      const batch = names.slice(i, i + FILTER_IN_LIMIT);
      const help = { doing: `reading ${batch.length} users by user principal name`, requires: 'User.Read.All' };
      const page = await this.graph.get<{ value?: User[] }>(
        {
          path: '/users',
          filter: `userPrincipalName in (${batch.map(stringLiteral).join(',')})`,
          select: ['id', 'displayName', 'userPrincipalName'],
          top: FILTER_IN_LIMIT,
        },
        { log, help },
      );
      for (const user of page.value ?? [])
        found.push({
          id: user.id.toLowerCase(),
          displayName: user.displayName ?? user.userPrincipalName ?? user.id,
          userPrincipalName: user.userPrincipalName ?? '',
        });
    }
    return found;
  }

  /**
   * The users among the group's direct members (https://learn.microsoft.com/graph/api/group-list-members, cast to
   * microsoft.graph.user): an application's owners are users or service principals, never a group.
   */
  async groupUserMembers(groupId: string): Promise<OwnerDetail[]> {
    const log = this.options.logger.child({ step: 'read-group-members' });
    const help = { doing: `reading the members of group ${groupId}`, requires: 'GroupMember.Read.All' };
    const members = await this.graph.list<User & { '@odata.type'?: string }>(
      { path: `/groups/${encodeURIComponent(groupId)}/members`, select: ['id', 'displayName', 'userPrincipalName'] },
      { log, help },
    );
    return members
      .filter((m) => m['@odata.type'] === '#microsoft.graph.user')
      .map((user) => ({
        id: user.id.toLowerCase(),
        displayName: user.displayName ?? user.userPrincipalName ?? user.id,
        userPrincipalName: user.userPrincipalName ?? '',
      }));
  }

  private async usersById(userObjectIds: readonly string[], select: readonly string[]): Promise<User[]> {
    const ids = [...new Set(userObjectIds.map((id) => id.toLowerCase()))].filter((id) => isGuid(id));
    const log = this.options.logger.child({ step: 'read-users' });
    const found: User[] = [];
    for (let i = 0; i < ids.length; i += FILTER_IN_LIMIT) {
      const batch = ids.slice(i, i + FILTER_IN_LIMIT);
      const help = { doing: `reading ${batch.length} users by id`, requires: READ_DIRECTORY };
      const page = await this.graph.get<{ value?: User[] }>(
        { path: '/users', filter: `id in (${batch.map((id) => `'${id}'`).join(',')})`, select, top: FILTER_IN_LIMIT },
        { log, help },
      );
      found.push(...(page.value ?? []));
    }
    return found;
  }
}
