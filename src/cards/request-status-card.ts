import requestStatusTemplate from '../../adaptiveCards/request-status.json';
import { pendingPermissions, type AppRequest, type AuditEvent } from '../domain/request';
import type { AdaptiveCard } from './adaptive-card';
import { expandTemplate, formatUtc, safeText, TextLimit } from './render';
import {
  appNameOf,
  describeStatus,
  idOf,
  permissionLines,
  person,
  plural,
  resourceServicePrincipalsText,
  riskColor,
  riskWords,
  shown,
  stepRows,
  tidy,
} from './request-card-parts';
import { Verb } from './verbs';

/* The requester's status card (adaptiveCards/request-status.json), with the audit trail for `status <id>`. */

export interface RequestStatusView {
  request: AppRequest;
  /** Given, the card ends with the audit trail (what `status <id>` shows). */
  audit?: readonly AuditEvent[];
  /** Only the requester is offered Cancel. */
  viewer: 'requester' | 'other';
  /** Shown beside the app's client id once it exists. */
  tenantId?: string;
  notice?: string;
}

export function renderRequestStatus(view: RequestStatusView): AdaptiveCard {
  const { request } = view;
  const row = (label: string, value: string, color = 'Default') => ({ label, value, color });
  const appId = request.provisioning.application?.appId;
  const rows = [
    row('Risk', riskWords[request.risk.level] ?? riskWords.high, riskColor[request.risk.level] ?? riskColor.high),
    row('Asked by', person(request.requester.name)),
    row('Created', formatUtc(request.createdAt)),
    ...(resourceServicePrincipalsText(request)
      ? [row('Service principals of APIs', resourceServicePrincipalsText(request)!)]
      : []),
    row('Last change', formatUtc(request.updatedAt)),
    ...(appId ? [row('Client id', safeText(appId, { max: TextLimit.reference }))] : []),
    ...(appId && view.tenantId ? [row('Tenant id', safeText(view.tenantId, { max: TextLimit.reference }))] : []),
  ];
  const events = view.audit ?? [];
  const omitted = Math.max(0, events.length - shown.auditEvents);
  const card = expandTemplate(requestStatusTemplate, {
    appName: appNameOf(request),
    requestId: idOf(request),
    notice: safeText(view.notice, { max: TextLimit.paragraph, multiline: true }) || undefined,
    status: describeStatus(request),
    steps: stepRows(request),
    rows,
    ...permissionLines([...request.permissions, ...pendingPermissions(request)], shown.statusPermissions),
    showAudit: view.audit !== undefined,
    auditOmitted: omitted > 0 ? `${plural(omitted, 'earlier event')} not shown.` : undefined,
    audit: events.slice(omitted).map((event) => ({
      at: formatUtc(event.at),
      by: person(event.by?.name),
      detail: safeText(event.detail, { max: TextLimit.paragraph, multiline: true }) || event.event,
    })),
    canCancel: request.status === 'submitted' && view.viewer === 'requester',
    verb: Verb,
  });
  return tidy(card);
}
