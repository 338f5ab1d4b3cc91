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
  shown,
  stepRows,
  tidy,
  type StatusView,
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

/**
 * A rotation's state in its own words: the app exists already, and what comes is a new client secret for it. The
 * states a rotation shares with a new app's request (waiting, rejected, cancelled) read the same for both.
 */
function rotationStatus(request: AppRequest, general: StatusView): StatusView {
  const app = safeText(request.rotation?.appName, { max: TextLimit.title }) || appNameOf(request);
  const requester = person(request.requester.name);
  const lines = (...texts: string[]) => texts.map((text) => ({ text }));
  switch (request.status) {
    case 'approved':
    case 'provisioning':
      return { ...general, lines: lines('Registrar is getting the new client secret ready.') };
    case 'provisioned':
      return {
        ...general,
        headline: 'Ready to reveal',
        lines: lines(
          `The new client secret waits in ${requester}'s personal chat with Registrar. It is created at the click on Reveal client secret.`,
        ),
      };
    case 'delivered': {
      const d = request.delivery;
      return {
        ...general,
        lines: lines(
          d?.kind === 'secret'
            ? `The new client secret was revealed to ${requester} on ${formatUtc(d.revealedAt)}.`
            : `Delivered on ${formatUtc(request.updatedAt)}.`,
        ),
      };
    }
    case 'expired':
      return {
        ...general,
        lines: lines(
          request.provisionedAt
            ? `The new client secret was not revealed in time, so it was never created. ${app} and its credentials are unchanged; type rotate ${app} to try again.`
            : `Nobody decided by ${formatUtc(request.expiresAt)}. ${app} and its credentials are unchanged; type rotate ${app} to ask again.`,
        ),
      };
    case 'failed':
      return {
        ...general,
        lines: lines(
          `Registrar could not get the new client secret ready${request.provisioning.lastError ? `: ${safeText(request.provisioning.lastError.message, { max: TextLimit.paragraph })}` : '.'}`,
          'An approver can retry it.',
        ),
      };
    default:
      return general;
  }
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
  const status = rotating ? rotationStatus(request, general) : general;
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
