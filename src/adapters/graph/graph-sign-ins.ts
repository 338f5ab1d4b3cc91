/**
 * CredentialSignIns on Microsoft Graph: GET /beta/reports/appCredentialSignInActivities?$filter=appId eq '…'
 * (https://learn.microsoft.com/graph/api/reportroot-list-appcredentialsigninactivities?view=graph-rest-beta), the last
 * sign-in of each credential of one app. Read through the one Graph caller (its retry policy and deadline), below
 * /beta: the report has no v1.0 endpoint. Every way the report cannot be read becomes `unavailable` in plain words,
 * for the cleanup card to say instead of guessing:
 * - the page's national cloud table lists the global service only, so elsewhere nothing is called;
 * - 403 Authentication_RequestFromNonPremiumTenantOrB2CTenant: the tenant has no Microsoft Entra ID P1 or P2 licence,
 *   which the report needs (https://learn.microsoft.com/entra/identity/monitoring-health/concept-usage-insights-report);
 * - any other 403: Registrar lacks both AuditLog.Read.All and Directory.Read.All (the page accepts either; Registrar
 *   holds Directory.Read.All already, src/domain/graph-app-permissions.ts);
 * - throttling, outages, no answer within the deadline.
 */
import type { GraphCloud } from '../../config';
import type { Logger } from '../../lib/logger';
import type { CredentialSignIns } from '../../services/ports';
import { type GraphCaller, stringLiteral } from './graph-caller';
import { readGraphFailure } from './graph-errors';

type Row = { keyId?: string | null; signInActivity?: { lastSignInDateTime?: string | null } | null };
type Page = { value?: Row[]; '@odata.nextLink'?: string };

/** The clouds the report's "national cloud deployments" table marks available. */
const REPORT_CLOUDS: ReadonlySet<GraphCloud> = new Set(['global']);
const CLOUD_NAMES: Readonly<Record<GraphCloud, string>> = {
  global: 'global',
  usgov: 'US Government L4',
  usgovdod: 'US Government L5 (DOD)',
  china: 'China (21Vianet)',
};
/** Pages one app's report is read in at most (a row per credential: a few pages even for many certificates). */
const MAX_PAGES = 5;

export class GraphSignIns implements CredentialSignIns {
  constructor(private readonly deps: { graph: GraphCaller; cloud: GraphCloud; logger: Logger }) {}

  async lastSignIns(appId: string): Promise<Map<string, string | undefined> | { unavailable: string }> {
    const { graph, cloud, logger } = this.deps;
    if (!REPORT_CLOUDS.has(cloud))
      return {
        unavailable: `Microsoft does not offer the credential sign-in report in the ${CLOUD_NAMES[cloud]} cloud, so Registrar cannot tell when this credential was last used.`,
      };
    const log = logger.child({ appId });
    const options = {
      log,
      help: {
        doing: `reading the credential sign-in report of app ${appId}`,
        requires: 'AuditLog.Read.All or Directory.Read.All',
      },
    };
    const last = new Map<string, string | undefined>();
    try {
      let target: { path: string; filter?: string } | undefined = {
        path: `${graph.connection.graphHost}/beta/reports/appCredentialSignInActivities`,
        filter: `appId eq ${stringLiteral(appId)}`,
      };
      for (let page = 0; target && page < MAX_PAGES; page += 1) {
        const read: Page = await graph.attempt<Page>(target, options);
        for (const row of read.value ?? []) {
          const keyId = row.keyId?.toLowerCase();
          if (!keyId) continue;
          const at = row.signInActivity?.lastSignInDateTime ?? undefined;
          const known = last.get(keyId);
          // A certificate can have a row per use (sign, verify) and origin: the latest counts.
          if (!last.has(keyId) || (at && (!known || Date.parse(at) > Date.parse(known)))) last.set(keyId, at);
        }
        target = read['@odata.nextLink'] ? { path: read['@odata.nextLink'] } : undefined;
      }
      return last;
    } catch (err) {
      const f = readGraphFailure(err);
      log.info({ status: f.status, code: f.code, graphMessage: f.message }, 'credential sign-in report not read');
      if (f.status === 403 && f.code === 'Authentication_RequestFromNonPremiumTenantOrB2CTenant')
        return {
          unavailable:
            'This tenant has no Microsoft Entra ID P1 or P2 licence, which Entra needs to report when a credential was last used.',
        };
      if (f.status === 403)
        return {
          unavailable:
            'Registrar was refused the credential sign-in report: it needs AuditLog.Read.All or Directory.Read.All (npm run setup:permissions grants the latter).',
        };
      return { unavailable: "Entra's credential sign-in report did not answer in time; try again in a few minutes." };
    }
  }
}
