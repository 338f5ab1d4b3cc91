/**
 * Directory on Microsoft Graph. Membership is checked with checkMemberGroups, which follows nested groups and
 * takes up to 20 group ids per call. Names are read with `$filter=id in (...)`, which takes up to 15 values.
 */
import type { Client } from '@microsoft/microsoft-graph-client';
import type { OwnerDetail } from '../../domain/request';
import type { Directory, PeopleDirectory } from '../../services/ports';
import { isGuid } from '../../domain/guid';

const CHECK_MEMBER_GROUPS_LIMIT = 20;
const FILTER_IN_LIMIT = 15;

export class GraphDirectory implements Directory, PeopleDirectory {
  constructor(private readonly client: Client) {}

  async isMemberOfAnyGroup(userObjectId: string, groupIds: readonly string[]): Promise<boolean> {
    for (let i = 0; i < groupIds.length; i += CHECK_MEMBER_GROUPS_LIMIT) {
      const batch = groupIds.slice(i, i + CHECK_MEMBER_GROUPS_LIMIT);
      let result: { value?: string[] };
      try {
        result = (await this.client
          .api(`/directoryObjects/${encodeURIComponent(userObjectId)}/checkMemberGroups`)
          .post({ groupIds: batch })) as { value?: string[] };
      } catch (err) {
        // Someone the directory does not know (removed since, or from another tenant) is in no group.
        if ((err as { statusCode?: number }).statusCode === 404) return false;
        throw err;
      }
      if ((result.value ?? []).length > 0) return true;
    }
    return false;
  }

  async displayNames(userObjectIds: readonly string[]): Promise<Record<string, string>> {
    const ids = [...new Set(userObjectIds.map((id) => id.toLowerCase()))].filter((id) => isGuid(id));
    const names: Record<string, string> = {};
    for (let i = 0; i < ids.length; i += FILTER_IN_LIMIT) {
      const batch = ids.slice(i, i + FILTER_IN_LIMIT);
      const page = (await this.client
        .api('/users')
        .filter(`id in (${batch.map((id) => `'${id}'`).join(',')})`)
        .select(['id', 'displayName'])
        .top(FILTER_IN_LIMIT)
        .get()) as { value?: Array<{ id: string; displayName?: string | null }> };
      for (const user of page.value ?? []) if (user.displayName) names[user.id.toLowerCase()] = user.displayName;
    }
    return names;
  }

  /** /users answers with users only, so a group's or a service principal's id is simply not found. */
  async users(userObjectIds: readonly string[]): Promise<OwnerDetail[]> {
    const ids = [...new Set(userObjectIds.map((id) => id.toLowerCase()))].filter((id) => isGuid(id));
    const found: OwnerDetail[] = [];
    for (let i = 0; i < ids.length; i += FILTER_IN_LIMIT) {
      const batch = ids.slice(i, i + FILTER_IN_LIMIT);
      const page = (await this.client
        .api('/users')
        .filter(`id in (${batch.map((id) => `'${id}'`).join(',')})`)
        .select(['id', 'displayName', 'userPrincipalName'])
        .top(FILTER_IN_LIMIT)
        .get()) as { value?: Array<{ id: string; displayName?: string | null; userPrincipalName?: string | null }> };
      for (const user of page.value ?? []) {
        found.push({ id: user.id.toLowerCase(), displayName: user.displayName ?? user.userPrincipalName ?? user.id, userPrincipalName: user.userPrincipalName ?? '' });
      }
    }
    return found;
  }
}
