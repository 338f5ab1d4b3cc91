import requestListTemplate from '../../adaptiveCards/request-list.json';
import type { AppRequest } from '../domain/request';
import type { AdaptiveCard } from './adaptive-card';
import { expandTemplate, formatUtc, safeText, TextLimit } from './render';
import { appNameOf, idOf, riskColor, riskWords, shown, statusTone, tidy } from './request-card-parts';
import { Verb } from './verbs';

/* A list of requests (adaptiveCards/request-list.json): a person's own, or those waiting for an approver. */

const listStatus = (request: AppRequest): string =>
  request.status === 'submitted'
    ? `Waiting for approval (${request.approvals.length} of ${request.approvalsRequired})`
    : ({
        approved: 'Approved',
        provisioning: 'Being provisioned',
        provisioned: 'Provisioned',
        delivered: 'Delivered',
        rejected: 'Rejected',
        expired: 'Expired',
        cancelled: 'Cancelled',
        failed: 'Provisioning failed',
      }[request.status] ?? request.status);

export interface RequestListView {
  title: string;
  requests: readonly AppRequest[];
  /** Shown when there is no request. */
  empty: string;
  notice?: string;
  /** Each row's button: show the request's status (default), or review it as an approver (the approval card). */
  rowAction?: 'show' | 'review';
}

export function renderRequestList(view: RequestListView): AdaptiveCard {
  const more = view.requests.length - shown.listRows;
  const card = expandTemplate(requestListTemplate, {
    title: safeText(view.title, { max: TextLimit.title }),
    notice: safeText(view.notice, { max: TextLimit.paragraph, multiline: true }) || undefined,
    empty: safeText(view.empty, { max: TextLimit.paragraph, multiline: true }) || 'Nothing here.',
    rows: view.requests.slice(0, shown.listRows).map((request) => ({
      id: idOf(request),
      name: appNameOf(request),
      status: listStatus(request),
      statusColor: statusTone[request.status]?.color ?? 'Default',
      risk: riskWords[request.risk.level] ?? riskWords.high,
      riskColor: riskColor[request.risk.level] ?? riskColor.high,
      created: formatUtc(request.createdAt),
    })),
    more: more > 0 ? `…and ${more} more, not shown.` : undefined,
    review: view.rowAction === 'review',
    verb: Verb,
  });
  return tidy(card);
}
