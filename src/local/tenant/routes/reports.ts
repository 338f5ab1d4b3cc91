/**
 * Beta reports: the application credential activity report, GET /beta/reports/appCredentialSignInActivities and
 * /{id} (https://learn.microsoft.com/graph/api/reportroot-list-appcredentialsigninactivities?view=graph-rest-beta,
 * https://learn.microsoft.com/graph/api/appcredentialsigninactivity-get?view=graph-rest-beta), from what the token
 * endpoint recorded (sign-in-activity.ts).
 * - Permission: AuditLog.Read.All, or the higher privileged Directory.Read.All (the pages' permissions table).
 * - Licence: the report is part of Usage and insights, whose prerequisites are "A Microsoft Entra ID P1 or P2
 *   license" (https://learn.microsoft.com/entra/identity/monitoring-health/concept-usage-insights-report); a tenant
 *   without answers 403 Authentication_RequestFromNonPremiumTenantOrB2CTenant, as Graph's sign-in reports do (the
 *   reporting prerequisites page names its message under "Common errors":
 *   https://learn.microsoft.com/entra/identity/monitoring-health/howto-configure-prerequisites-for-reporting-api).
 * - Query: $filter (eq on appId, keyId and the other ids, joined with and), $top and $orderby, as the list page says.
 */
import type { RouteModule } from '../context';
import { GraphError, type GraphRequest, notFound, unsupportedQuery } from '../http';
import { encodeToken, decodeToken, nextLinkFor } from '../odata';
import { checkFilter, type FilterCapabilities, matchesFilter, parseFilter } from '../odata-filter';
import { hasPremiumReports, signInActivityRow } from '../sign-in-activity';
import type { Json } from '../state';

const REPORT_READ = ['AuditLog.Read.All', 'Directory.Read.All'] as const;
const PATH = '/reports/appCredentialSignInActivities';
const MAX_TOP = 999;

const EQ = { byDefault: ['eq'] } as const;
const capabilities: FilterCapabilities = {
  resource: 'appCredentialSignInActivity',
  filter: { appId: EQ, keyId: EQ, appObjectId: EQ, servicePrincipalObjectId: EQ, keyType: EQ, credentialOrigin: EQ },
};
const ORDERABLE: Readonly<Record<string, (row: Json) => unknown>> = {
  createdDateTime: (row) => row.createdDateTime,
  expirationDateTime: (row) => row.expirationDateTime,
  'signInActivity/lastSignInDateTime': (row) => (row.signInActivity as Json).lastSignInDateTime,
  appId: (row) => row.appId,
  keyId: (row) => row.keyId,
};

export function nonPremiumTenant(): GraphError {
  return new GraphError(
    403,
    'Authentication_RequestFromNonPremiumTenantOrB2CTenant',
    "Neither tenant is B2C or tenant doesn't have premium license",
  );
}

export const reportRoutes: RouteModule = (context) => {
  function rows(): Json[] {
    if (!hasPremiumReports(context.state())) throw nonPremiumTenant();
    return Object.entries(context.state().data.credentialSignIns ?? {}).map(([id, record]) =>
      signInActivityRow(id, record),
    );
  }

  function list(request: GraphRequest) {
    const all = rows();
    const q = request.query;
    const filterText = q.get('$filter');
    let selected = all;
    if (filterText !== null && filterText.trim() !== '') {
      const filter = parseFilter(filterText);
      checkFilter(filter, capabilities, false);
      selected = all.filter((row) => matchesFilter(filter, row));
    }
    const orderText = q.get('$orderby');
    if (orderText !== null) {
      const m = /^\s*([A-Za-z/]+)(?:\s+(asc|desc))?\s*$/i.exec(orderText);
      const key = Object.keys(ORDERABLE).find((k) => k.toLowerCase() === m?.[1]?.toLowerCase());
      if (!m || !key) throw unsupportedQuery(`Unsupported sort property '${orderText.trim()}'.`); // unverified wording
      const sign = (m[2] ?? '').toLowerCase() === 'desc' ? -1 : 1;
      const value = ORDERABLE[key]!;
      selected = [...selected].sort((a, b) => sign * String(value(a) ?? '').localeCompare(String(value(b) ?? '')));
    }
    const topText = q.get('$top');
    const top = topText === null ? MAX_TOP : /^\d+$/.test(topText.trim()) ? Number(topText) : NaN;
    if (!(top >= 1 && top <= MAX_TOP))
      throw unsupportedQuery(`Invalid page size specified: '${topText}'. Must be between 1 and ${MAX_TOP} inclusive.`);
    const skiptoken = q.get('$skiptoken');
    const start = skiptoken
      ? decodeToken(skiptoken, (v): v is { offset: number } => typeof (v as { offset?: unknown })?.offset === 'number')
          .offset
      : 0;
    const page = selected.slice(start, start + top);
    const more = start + top < selected.length;
    return {
      status: 200,
      body: {
        '@odata.context': `${request.serviceRoot}/$metadata#reports/appCredentialSignInActivities`,
        value: page,
        ...(more
          ? { '@odata.nextLink': nextLinkFor(request.serviceRoot, PATH, q, encodeToken({ offset: start + top })) }
          : {}),
      },
    };
  }

  return [
    { method: 'GET', pattern: PATH, version: 'beta', permission: { anyOf: REPORT_READ }, write: false, handler: list },
    {
      method: 'GET',
      pattern: `${PATH}/{id}`,
      version: 'beta',
      permission: { anyOf: REPORT_READ },
      write: false,
      handler: (request) => {
        const row = rows().find((r) => r.id === request.params.id);
        if (!row) throw notFound(request.params.id ?? '');
        return {
          status: 200,
          body: {
            '@odata.context': `${request.serviceRoot}/$metadata#reports/appCredentialSignInActivities/$entity`,
            ...row,
          },
        };
      },
    },
  ];
};
