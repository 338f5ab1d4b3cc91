import requestListTemplate from '../../adaptiveCards/request-list.json';
import { daysLeft, type CredentialInfo } from '../domain/expiry';
import type { AppRequest } from '../domain/request';
import type { AdaptiveCard } from './adaptive-card';
import { expandTemplate, formatUtc, safeText, TextLimit } from './render';
import { appNameOf, idOf, plural, riskColor, riskWords, shown, statusTone, tidy } from './request-card-parts';
import { Verb } from './verbs';

/*
 * A list of requests (adaptiveCards/request-list.json): those waiting for an approver, or `mine`: a person's apps with
 * their credentials' expiry, then their requests for new apps.
 */

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
  /** `mine`: the person's apps above the requests (an empty list says they have none). */
  apps?: {
    items: readonly MyAppView[];
    /** Apps not read in this turn. */
    notShown: number;
    now: Date;
  };
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
      // An approver's list may hold rotations: they read as what they are, not as a request for a new app.
      idLabel: request.kind === 'rotation' ? 'Rotation reference' : 'Request',
      name: request.kind === 'rotation' ? `New client secret for ${appNameOf(request)}` : appNameOf(request),
      status: listStatus(request),
      statusColor: statusTone[request.status]?.color ?? 'Default',
      risk: riskWords[request.risk.level] ?? riskWords.high,
      riskColor: riskColor[request.risk.level] ?? riskColor.high,
      created: formatUtc(request.createdAt),
    })),
    more: more > 0 ? `…and ${more} more, not shown.` : undefined,
    apps: [],
    ...(view.apps ? appsSection(view.apps) : {}),
    review: view.rowAction === 'review',
    verb: Verb,
  });
  return tidy(card);
}

/** An app of `mine` (services/my-apps.ts MyApp), as the card needs it. */
export interface MyAppView {
  appId: string;
  name: string;
  directory?: string;
  rotations: ReadonlyArray<Pick<AppRequest, 'status' | 'createdAt'>>;
  credentials?: readonly CredentialInfo[];
  unread?: string;
}

const DAY_MS = 86_400_000;

/** "12 days left", "1 day left", "expires within a day", "expired today", "expired 3 days ago". */
export function expiryWords(endDateTime: string, now: Date): string {
  const left = daysLeft(endDateTime, now);
  const ms = Date.parse(endDateTime) - now.getTime();
  if (ms <= 0) {
    const ago = Math.floor(-ms / DAY_MS);
    return ago === 0 ? 'expired today' : `expired ${plural(ago, 'day')} ago`;
  }
  return left === 0 ? 'expires within a day' : `${plural(left, 'day')} left`;
}

const rotationStatus: Record<string, string> = {
  submitted: 'waiting for approval',
  approved: 'being prepared',
  provisioning: 'being prepared',
  provisioned: 'ready to reveal in this chat',
  delivered: 'revealed',
  rejected: 'rejected',
  expired: 'expired',
  cancelled: 'cancelled',
  failed: 'failed',
};

/**
 * The name Reveal gives a secret it creates ("Registrar 7K3M9Q2X", delivery-service.ts), which carries the id of a
 * request or rotation that the owner may never have made: said as who made it instead.
 */
const madeByRegistrar = /^Registrar [0-9A-Z]{8}$/;

function credentialName(c: CredentialInfo): string {
  const given = safeText(c.displayName, { max: TextLimit.title });
  const name = madeByRegistrar.test(given) ? 'made by Registrar' : given;
  const key =
    c.kind === 'secret'
      ? c.hint
        ? `${safeText(c.hint, { max: 10 })}…`
        : ''
      : safeText(c.thumbprint?.slice(0, 8), { max: 10 }) &&
        `thumbprint ${safeText(c.thumbprint?.slice(0, 8), { max: 10 })}…`;
  return [name, key && (name ? `(${key})` : key)].filter(Boolean).join(' ') || 'unnamed';
}

function appsSection(apps: NonNullable<RequestListView['apps']>) {
  const items = apps.items.slice(0, shown.listRows).map((app) => {
    const credentials = app.credentials?.map((c) => {
      const left = expiryWords(c.endDateTime, apps.now);
      return {
        kind: c.kind === 'secret' ? 'Client secret' : 'Certificate',
        name: credentialName(c),
        expires: `expires ${formatUtc(c.endDateTime)}`,
        left,
      };
    });
    return {
      name: safeText(app.name, { max: TextLimit.title }) || 'unnamed app',
      appId: safeText(app.appId, { max: TextLimit.reference }),
      directory: app.directory ? `In ${safeText(app.directory, { max: TextLimit.placeName })}` : undefined,
      count: credentials
        ? credentials.length === 0
          ? 'No credentials'
          : plural(credentials.length, 'credential')
        : undefined,
      credentials: credentials ?? [],
      unread: safeText(app.unread, { max: TextLimit.paragraph }) || undefined,
      rotations: app.rotations.slice(0, 5).map((r) => ({
        text: `New client secret asked for on ${formatUtc(r.createdAt)}: ${rotationStatus[r.status] ?? r.status}`,
      })),
    };
  });
  const notShown = apps.notShown + Math.max(0, apps.items.length - shown.listRows);
  return {
    showApps: true,
    apps: items,
    appsEmpty: 'Registrar has made or rotated no app for you yet.',
    appsMore:
      notShown > 0
        ? `${plural(notShown, 'more app')} not shown: Registrar reads ${plural(apps.items.length, 'app')} per message, the most recent first.`
        : undefined,
    appsNote:
      'Apps you own in Entra ID that Registrar did not make or rotate for you are not listed; `rotate <app>` works for them too.',
  };
}
