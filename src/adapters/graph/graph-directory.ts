/**
 * Directory on Microsoft Graph. Membership is checked with checkMemberGroups, which follows nested groups and
 * takes up to 20 group ids per call.
 */
import type { Client } from '@microsoft/microsoft-graph-client';
import type { Directory } from '../../services/ports';

const CHECK_MEMBER_GROUPS_LIMIT = 20;

export class GraphDirectory implements Directory {
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
}
