import requestStatusTemplate from '../../adaptiveCards/request-status.json';
import { pendingPermissions, type AppRequest, type AuditEvent } from '../domain/request';
import type { AdaptiveCard } from './adaptive-card';
import { rotationWords } from './delivery-card';
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
  rotationStatus,
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
  const rotating = request.kind === 'rotation';
  const row = (label: string, value: string, color = 'Default') => ({ label, value, color });
  const appId = safeText(request.provisioning.application?.appId, { max: TextLimit.reference });
  const tenantId = safeText(view.tenantId, { max: TextLimit.reference });
  const rows = [
    row('Risk', riskWords[request.risk.level] ?? riskWords.high, riskColor[request.risk.level] ?? riskColor.high),
    row('Asked by', person(request.requester.name)),
    row('Created', formatUtc(request.createdAt)),
    ...(resourceServicePrincipalsText(request)
      ? [row('Service principals of APIs', resourceServicePrincipalsText(request)!)]
      : []),
    row('Last change', formatUtc(request.updatedAt)),
  ];
  // Each id on its own line, labelled as the Entra admin center labels it, never wrapped inside the value.
  const idRows = [
    ...(appId ? [{ label: 'Application (client) ID', value: appId }] : []),
    ...(appId && tenantId ? [{ label: 'Directory (tenant) ID', value: tenantId }] : []),
  ];
  const general = describeStatus(request);
  const status = rotating ? rotationStatus(request, 'requester') : general;
  const delivered = request.delivery?.kind === 'secret' ? formatUtc(request.delivery.endDateTime) : undefined;
  const rotation = rotationWords(request, delivered);
  const events = view.audit ?? [];
  const omitted = Math.max(0, events.length - shown.auditEvents);
  const card = expandTemplate(requestStatusTemplate, {
    // A rotation's id is the person's only in the card data: they asked for a secret, not for a request.
    title: rotation?.title ?? appNameOf(request),
    requestLine: rotating ? undefined : idOf(request),
    requestId: idOf(request),
    rotation,
    notice: safeText(view.notice, { max: TextLimit.paragraph, multiline: true }) || undefined,
    status,
    steps: stepRows(request),
    rows,
    idRows,
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
