import approvalTemplate from '../../adaptiveCards/approval.json';
import deliveryTemplate from '../../adaptiveCards/delivery.json';
import requestFormTemplate from '../../adaptiveCards/request-form.json';
import requestListTemplate from '../../adaptiveCards/request-list.json';
import requestStatusTemplate from '../../adaptiveCards/request-status.json';
import { MICROSOFT_GRAPH_APP_ID, type PermissionRef, type Platform, type SignInAudience } from '../domain/app-spec';
import { findDirectoryRole, requestableDirectoryRoles } from '../domain/directory-roles';
import type { SearchablePermission } from '../domain/permission-search';
import { stepsFor, type AppRequest, type AuditEvent, type ProvisioningStep, type RequestStatus } from '../domain/request';
import { holdsPrivateKey, certificateHoldsPrivateKey, privateKeyInCertificateMessage, privateKeyInFieldMessage } from '../domain/private-key';
import { credentialKinds, formLimits, platforms, signInAudiences, type FormErrorKey, type FormValues, type RequestFormField } from '../domain/request-form';
import { classifyPermission, hardeningNotes, type RiskLevel } from '../domain/risk';
import type { AdaptiveCard } from './adaptive-card';
import { expandTemplate, formatUtc, safeText, TextLimit } from './render';
import { Dataset, Verb } from './verbs';

/*
 * The request path's cards: the form, the requester's status card, the lists, the approvers' card and the private
 * delivery card. As in cards.ts, each renderer builds a flat view model; every string from people or the directory
 * goes through safeText here and lands only in TextRuns or input values (see render.ts).
 */

// ---------------------------------------------------------------------------------------------------------------
// Words shared by the cards

const audienceWords: Record<SignInAudience, string> = {
  AzureADMyOrg: 'This organisation only',
  AzureADMultipleOrgs: 'Any organisation',
  AzureADandPersonalMicrosoftAccount: 'Any organisation and personal Microsoft accounts',
};

const platformWords: Record<Platform, string> = {
  none: 'None: a daemon or API (client credentials)',
  web: 'Web',
  spa: 'Single-page app',
  publicClient: 'Mobile and desktop (public client)',
};

const riskWords: Record<RiskLevel, string> = { low: 'Low risk', medium: 'Medium risk', high: 'High risk' };
const levelWords: Record<RiskLevel, string> = { low: 'Low', medium: 'Medium', high: 'High' };
const riskColor: Record<RiskLevel, string> = { low: 'Good', medium: 'Warning', high: 'Attention' };
const riskOrder: Record<RiskLevel, number> = { high: 0, medium: 1, low: 2 };

const typeWords: Record<PermissionRef['type'], string> = { Role: 'application', Scope: 'delegated' };

const stepWords: Record<ProvisioningStep, string> = {
  application: 'Create the application',
  owners: 'Add the owners',
  servicePrincipal: 'Create the service principal',
  consent: 'Grant admin consent',
  directoryRole: 'Assign the directory role',
  certificate: 'Add the certificate',
};

const statusTone: Record<RequestStatus, { style: string; color: string }> = {
  submitted: { style: 'emphasis', color: 'Accent' },
  approved: { style: 'good', color: 'Good' },
  provisioning: { style: 'accent', color: 'Accent' },
  provisioned: { style: 'good', color: 'Good' },
  delivered: { style: 'good', color: 'Good' },
  rejected: { style: 'attention', color: 'Attention' },
  expired: { style: 'warning', color: 'Warning' },
  cancelled: { style: 'emphasis', color: 'Default' },
  failed: { style: 'attention', color: 'Attention' },
};

/** How many permissions, audit events and list rows a card shows: a Teams message carries about 28 KB. */
const shown = { permissions: 40, statusPermissions: 60, auditEvents: 40, listRows: 25 } as const;

const person = (name: unknown) => safeText(name, { max: TextLimit.personName }) || 'someone';
const appNameOf = (request: AppRequest) => safeText(request.form.displayName, { max: TextLimit.title }) || 'Unnamed app';
const idOf = (request: AppRequest) => safeText(request.id, { max: TextLimit.reference });
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** "Megan Bowen", "Megan Bowen and Adele Vance", "A, B and C". */
function names(people: readonly { name: string }[]): string {
  const all = people.map((p) => person(p.name));
  return all.length <= 1 ? (all[0] ?? '') : `${all.slice(0, -1).join(', ')} and ${all[all.length - 1]}`;
}

const approvalsLine = (request: AppRequest) =>
  `${request.approvals.length} of ${plural(request.approvalsRequired, 'approval')} so far${request.approvals.length > 0 ? `: ${names(request.approvals)}` : ''}.`;

interface StatusView {
  headline: string;
  lines: { text: string }[];
  reason?: string;
  style: string;
  color: string;
}

/** The request's state in words, for the status and approval cards. */
function describeStatus(request: AppRequest): StatusView {
  const tone = statusTone[request.status] ?? statusTone.failed;
  const lines = (...texts: string[]) => texts.filter(Boolean).map((text) => ({ text }));
  const steps = stepsFor(request);
  const done = steps.filter((step) => request.provisioning[step]).length;
  const requester = person(request.requester.name);
  const approvedBy = request.approvals.length > 0 ? `Approved by ${names(request.approvals)}.` : '';
  switch (request.status) {
    case 'submitted':
      return {
        ...tone,
        headline: `Waiting for approval: ${request.approvals.length} of ${request.approvalsRequired}`,
        lines: lines(approvalsLine(request), `If nobody decides by ${formatUtc(request.expiresAt)}, the request expires.`),
      };
    case 'approved':
      return { ...tone, headline: 'Approved', lines: lines(approvedBy, 'Registrar is about to create the app.') };
    case 'provisioning':
      return { ...tone, headline: 'Being provisioned', lines: lines(approvedBy, `${done} of ${plural(steps.length, 'step')} done.`) };
    case 'provisioned':
      return { ...tone, headline: 'Provisioned', lines: lines('The app exists in Entra ID.', `Its credentials go to ${requester} privately, in a personal chat with Registrar.`) };
    case 'delivered': {
      const delivery = request.delivery;
      const when = delivery ? formatUtc(delivery.kind === 'secret' ? delivery.revealedAt : delivery.deliveredAt) : formatUtc(request.updatedAt);
      const what =
        delivery?.kind === 'secret'
          ? `The client secret was revealed to ${requester} on ${when}.`
          : delivery?.kind === 'certificate'
            ? `The certificate was confirmed to ${requester} on ${when}.`
            : `The app's ids were delivered to ${requester} on ${when}.`;
      return { ...tone, headline: 'Delivered', lines: lines(what) };
    }
    case 'rejected': {
      const rejection = request.rejection;
      return {
        ...tone,
        headline: 'Rejected',
        lines: lines(rejection ? `Rejected by ${person(rejection.by.name)} on ${formatUtc(rejection.at)}.` : `Rejected on ${formatUtc(request.updatedAt)}.`),
        reason: safeText(rejection?.reason, { max: TextLimit.paragraph, multiline: true }) || undefined,
      };
    }
    case 'expired':
      // Provisioned, but the client secret was not revealed within DELIVERY_TTL_DAYS: the app exists without it.
      if (request.provisionedAt) {
        return { ...tone, headline: 'Expired', lines: lines(`The app exists, but its client secret was not revealed in time and will not be created. Its owners get one with rotate ${request.form.displayName}.`) };
      }
      return { ...tone, headline: 'Expired', lines: lines(`Nobody decided by ${formatUtc(request.expiresAt)}. To ask again, type request.`) };
    case 'cancelled':
      return { ...tone, headline: 'Cancelled', lines: lines(`Cancelled by ${requester} on ${formatUtc(request.updatedAt)}.`) };
    case 'failed': {
      const error = request.provisioning.lastError;
      return {
        ...tone,
        headline: 'Provisioning failed',
        lines: lines(
          error ? `On ${formatUtc(error.at)}, after ${done} of ${plural(steps.length, 'step')}:` : `After ${done} of ${plural(steps.length, 'step')}.`,
          safeText(error?.message, { max: TextLimit.paragraph, multiline: true }),
          'An approver can retry it; the steps already done are kept.',
        ),
      };
    }
  }
}

/** Each provisioning step, done or not, while the request is approved, being provisioned or failed. */
function stepRows(request: AppRequest): { label: string; state: string; color: string }[] {
  if (!['approved', 'provisioning', 'failed'].includes(request.status)) return [];
  const steps = stepsFor(request);
  const next = steps.find((step) => !request.provisioning[step]);
  return steps.map((step) => {
    const label = stepWords[step];
    if (request.provisioning[step]) return { label, state: 'Done', color: 'Good' };
    if (step === next && request.status === 'provisioning') return { label, state: 'In progress', color: 'Accent' };
    if (step === next && request.status === 'failed') return { label, state: 'Failed', color: 'Attention' };
    return { label, state: 'Pending', color: 'Default' };
  });
}

/** "Mail.Send" and " (application, Microsoft Graph)". */
function permissionLine(p: PermissionRef): { value: string; detail: string } {
  return {
    value: safeText(p.value, { max: TextLimit.title }),
    detail: ` (${typeWords[p.type] ?? 'delegated'}, ${safeText(p.resourceDisplayName, { max: TextLimit.placeName }) || 'unknown API'})`,
  };
}

function permissionLines(permissions: readonly PermissionRef[], max: number): { permissions: { value: string; detail: string }[]; permissionsMore?: string } {
  const more = permissions.length - max;
  return {
    permissions: permissions.slice(0, max).map(permissionLine),
    permissionsMore: more > 0 ? `…and ${plural(more, 'more permission')}.` : undefined,
  };
}

/** What risk.ts calls a permission in RiskItem.subject, to find the item that was assessed at submission. */
const riskSubject = (p: PermissionRef) => `${p.resourceAppId === MICROSOFT_GRAPH_APP_ID ? '' : `${p.resourceDisplayName}: `}${p.value} (${typeWords[p.type]})`;

/** Drops what templating leaves behind for a guarded root property (`refresh: null`) and an empty action bar. */
function tidy(card: AdaptiveCard): AdaptiveCard {
  const out: AdaptiveCard = { ...card };
  if (out.refresh === null) delete out.refresh;
  if (Array.isArray(out.actions) && out.actions.length === 0) delete out.actions;
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// The request form

export interface RequestFormView {
  /** Put in the Submit and Find actions' data as { requestId }. */
  requestId: string;
  /** The person's values, put back as each input's value (kept on errors). */
  values: FormValues;
  /** A message under each bad field; errors.form at the top. */
  errors: Partial<Record<FormErrorKey, string>>;
  policy: { secretMaxDays: number; secretDefaultDays: number; namePrefix?: string };
  /** Permissions already chosen (the ids in values.permissions): always among the choices, so they stay selected. */
  selected: readonly SearchablePermission[];
  /** The filter box's results (at most ~25), added as choices after `selected`. */
  matches: readonly SearchablePermission[];
  /** How many matched in all. */
  matchesTotal: number;
  /** What was searched. */
  filter?: string;
  /** An info line at the top. */
  notice?: string;
  /**
   * Names of the people in values.owners, by Entra object id, so the people picker shows them by name where it
   * cannot look them up itself (the Agents Playground). Teams resolves ids it is given without this.
   */
  ownerNames?: Readonly<Record<string, string>>;
}

/**
 * How much of each typed value the form gives back. Somewhat above the server's limits where it has them, so a person
 * sees what was too long, and small enough that a form with every field full still fits in a Teams message.
 */
const echoLimits = {
  name: { max: 150 },
  purpose: { max: 1100, multiline: true },
  redirectUris: { max: 1500, multiline: true },
  otherPermissions: { max: 800, multiline: true },
  permissionFilter: { max: formLimits.permissionFilter },
  secretDays: { max: 12 },
  // A 4096-bit RSA certificate is about 1.9 KB of PEM.
  certificatePem: { max: 2500, multiline: true },
} as const;

/** A message under a field, or a notice: the server's are one or two sentences. */
const messageLimit = 250;

/**
 * A Teams message carries about 28 KB, and the card is not all of it (the activity around it takes some). When a
 * form with every field full would be larger, it shows fewer search results: the chosen permissions always stay.
 */
const formBudgetBytes = 26 * 1024;

/**
 * The value of a choice that stands for nothing ("None", "No additional owners"). Not '': the adaptivecards library
 * refuses a choice without a value. The server trims each value and splits lists on spaces and commas, so it reads
 * this as nothing chosen.
 */
const noValue = ' ';

function permissionTitle(p: SearchablePermission): string {
  const about = safeText(p.displayName || p.description, { max: 60 });
  const parts = [`${safeText(p.value, { max: 60 })} (${typeWords[p.type] ?? 'delegated'})`, p.adminConsentRequired ? 'admin consent' : 'no admin consent', about];
  return safeText(parts.filter(Boolean).join(' · '), { max: 110 });
}

function matchLine(filterText: string | undefined, count: number, matchesTotal: number): string | undefined {
  const filter = safeText(filterText, { max: formLimits.permissionFilter });
  const total = Math.max(matchesTotal, count);
  if (filter) {
    if (total === 0) return `No permission matches “${filter}”. Try part of a name, like Mail or User.Read.`;
    if (count < total) return `Showing ${count} of ${total} permissions that match “${filter}”: search for more words to narrow them down.`;
    return `${plural(total, 'permission matches', 'permissions match')} “${filter}”. Tick the ones the app needs.`;
  }
  if (count === 0) return undefined;
  return count < total ? `Showing ${count} of ${total} permissions: search to find others.` : `Showing ${plural(count, 'permission')}.`;
}

export function renderRequestForm(shownView: RequestFormView): AdaptiveCard {
  const view = withoutPrivateKeys(shownView);
  const fixed = formModel(view);
  const chosen = new Set(view.selected.map((p) => p.id.toLowerCase()));
  const found = view.matches.filter((p) => !chosen.has(p.id.toLowerCase()));
  // A choice set with Data.Query is Teams' type-ahead, but the adaptivecards library (the Agents Playground and
  // other web hosts) renders it as a text box that submits nothing when multi-select: so the type-ahead is offered
  // only while there is nothing to tick, and chosen or found permissions are a plain list that works everywhere.
  const typeahead = view.selected.length === 0 && view.matches.length === 0;
  let card: AdaptiveCard | undefined;
  for (const count of [...new Set([view.matches.length, 10, 0])].filter((n) => n <= view.matches.length)) {
    card = tidy(
      expandTemplate(requestFormTemplate, {
        ...fixed,
        permissionChoices: permissionChoices([...view.selected, ...found.slice(0, count)]),
        typeahead,
        matchLine: matchLine(view.filter, count, view.matchesTotal),
      }),
    );
    if (Buffer.byteLength(JSON.stringify(card), 'utf8') <= formBudgetBytes) break;
  }
  return keepEdges(card!);
}

/** How the person knows each field, in the message that says a private key was found in it. */
const fieldNames: Record<RequestFormField, string> = {
  requestId: 'the request id',
  name: 'the app name',
  purpose: 'the purpose',
  audience: 'who can sign in',
  platform: 'the platform',
  redirectUris: 'the redirect URIs',
  permissions: 'the permissions',
  otherPermissions: 'the permissions on other APIs',
  permissionFilter: 'the permission search',
  credential: 'the credential',
  secretDays: "the secret's lifetime",
  certificatePem: 'the certificate',
  owners: 'the owners',
  directoryRole: 'the directory role',
};

/**
 * Every form Registrar sends passes here, whatever sent it back (Submit, Find, a dependency that was down): a field
 * that holds a private key comes back empty, with the message Submit gives, so that no card, and no copy Teams keeps
 * of it, ever holds the key. The search that was run goes too when it held one.
 */
function withoutPrivateKeys(view: RequestFormView): RequestFormView {
  const values: FormValues = { ...view.values };
  const errors: Partial<Record<FormErrorKey, string>> = { ...view.errors };
  for (const field of Object.keys(fieldNames) as RequestFormField[]) {
    const value = values[field];
    if (field === 'certificatePem' ? !certificateHoldsPrivateKey(value) : !holdsPrivateKey(value)) continue;
    values[field] = '';
    errors[field] = field === 'certificatePem' ? privateKeyInCertificateMessage : privateKeyInFieldMessage(fieldNames[field]);
  }
  const { filter, ...rest } = view;
  return { ...rest, values, errors, ...(filter !== undefined && !holdsPrivateKey(filter) ? { filter } : {}) };
}

/**
 * expandTemplate puts a zero-width space before a leading `{` and after a trailing `$` or `{` of every value, against
 * a join with template text. An input's value is all of its string, with nothing to join, and the server refuses
 * invisible characters: so those two marks come off the inputs' values (a `${` inside a value stays broken).
 */
function keepEdges(card: AdaptiveCard): AdaptiveCard {
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(visit);
    if (typeof value !== 'object' || value === null) return;
    const element = value as Record<string, unknown>;
    if (typeof element.type === 'string' && element.type.startsWith('Input.') && typeof element.value === 'string') {
      element.value = element.value.replace(/^\u200B(?=\{)/, '').replace(/(?<=[${])\u200B$/, '');
    }
    Object.values(element).forEach(visit);
  };
  visit(card.body);
  return card;
}

/** The chosen permissions first, then the search results, each once. */
function permissionChoices(permissions: readonly SearchablePermission[]): { title: string; value: string }[] {
  const choices = new Map<string, { title: string; value: string }>();
  for (const p of permissions) {
    const id = safeText(p.id, { max: TextLimit.reference });
    if (id && !choices.has(id.toLowerCase())) choices.set(id.toLowerCase(), { title: permissionTitle(p), value: id });
  }
  // The adaptivecards library refuses a choice set without choices; Teams adds what its type-ahead finds to these.
  return choices.size > 0 ? [...choices.values()] : [{ title: 'No permission chosen yet', value: noValue }];
}

/** Everything on the form but the permission choices. */
function formModel(view: RequestFormView) {
  const v = view.values;
  const echo = (field: keyof typeof echoLimits) => safeText(v[field], echoLimits[field]);
  const selectedIds = view.selected.map((p) => safeText(p.id, { max: TextLimit.reference })).filter(Boolean);

  // Teams looks up the people it is given by id; a name is needed only where it cannot (the Agents Playground).
  const ownerIds = [
    ...new Set(
      (v.owners ?? '')
        .split(/[\s,;]+/)
        .map((id) => safeText(id, { max: TextLimit.reference }))
        .filter(Boolean),
    ),
  ].slice(0, formLimits.owners);
  const ownerChoices = ownerIds
    .map((id) => ({ title: safeText(view.ownerNames?.[id] ?? view.ownerNames?.[id.toLowerCase()], { max: 60 }), value: id }))
    .filter((choice) => choice.title);

  const errors: Partial<Record<FormErrorKey, string>> = {};
  for (const [key, message] of Object.entries(view.errors) as [FormErrorKey, unknown][]) {
    const text = safeText(message, { max: messageLimit, multiline: true });
    if (text) errors[key] = text;
  }

  const { secretMaxDays, secretDefaultDays } = view.policy;
  const defaultDays = Math.min(secretDefaultDays, secretMaxDays);
  const prefix = safeText(view.policy.namePrefix, { max: 50 });
  return {
    requestId: safeText(view.requestId, { max: TextLimit.reference }),
    verb: Verb,
    dataset: Dataset.graphPermissions,
    notice: safeText(view.notice, { max: messageLimit, multiline: true }) || undefined,
    errors,
    anyFieldError: Object.keys(errors).some((key) => key !== 'form'),
    values: {
      name: echo('name'),
      purpose: echo('purpose'),
      audience: signInAudiences.find((a) => a === v.audience?.trim()) ?? 'AzureADMyOrg',
      platform: platforms.find((p) => p === v.platform?.trim()) ?? 'none',
      redirectUris: echo('redirectUris'),
      otherPermissions: echo('otherPermissions'),
      permissionFilter: echo('permissionFilter') || safeText(view.filter, { max: formLimits.permissionFilter }),
      credential: credentialKinds.find((k) => k === v.credential?.trim()) ?? 'secret',
      secretDays: echo('secretDays'),
      certificatePem: echo('certificatePem'),
      directoryRole: findDirectoryRole(v.directoryRole ?? '')?.templateId ?? noValue,
    },
    help: {
      name: `Up to ${formLimits.name} characters.${prefix ? ` Registrar puts “${prefix}” in front of it.` : ''}`,
      secretDays: `For a client secret: from 1 to ${secretMaxDays} days. Left empty, it lasts ${defaultDays} days.`,
    },
    secretPlaceholder: String(defaultDays),
    permissionsValue: selectedIds.join(','),
    ownerChoices: ownerChoices.length > 0 ? ownerChoices : [{ title: 'No additional owners', value: noValue }],
    ownersValue: ownerIds.join(','),
    roleChoices: [{ title: 'None', value: noValue }, ...requestableDirectoryRoles.map((role) => ({ title: `${role.displayName}: ${role.summary}`, value: role.templateId }))],
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The requester's status card, and the lists

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
    ...permissionLines(request.permissions, shown.statusPermissions),
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

// ---------------------------------------------------------------------------------------------------------------
// The approvers' card

export interface ApprovalView {
  request: AppRequest;
  /** approver: the decision inputs and buttons; everyone: the status, and a button that asks for the approver's view. */
  mode: 'everyone' | 'approver';
  /** Teams user ids (29:...) of the approvers for the Universal Actions refresh (at most 60 are used); no refresh when empty. */
  refreshUserIds: readonly string[];
  /** A line for the person who clicked (e.g. "You have already approved this request."). */
  message?: string;
}

/** Teams refreshes a card automatically for at most 60 users. */
const maxRefreshUsers = 60;

type SpecRow = { label: string; value: string; font: string };

/** The approval card's "what will be created" rows: those above the redirect URIs, and those below. */
function specRows(request: AppRequest): { before: SpecRow[]; after: SpecRow[] } {
  const { form } = request;
  const row = (label: string, value: string, font = 'Default') => ({ label, value, font });
  const rotation = request.kind === 'rotation' ? request.rotation : undefined;
  if (rotation) {
    const old = rotation.old;
    const credential = form.credential.kind === 'secret' ? form.credential.lifetimeDays : 0;
    const before = [
      row('App', safeText(rotation.appName, { max: TextLimit.title })),
      row('Client id', safeText(rotation.appId, { max: TextLimit.reference }), 'Monospace'),
      row('New credential', `A client secret, valid ${plural(credential, 'day')} from when the requester reveals it`),
      row(
        'Replaces',
        old
          ? `${old.kind === 'secret' ? `Client secret ${safeText(old.hint ?? '', { max: 20 })}…` : `Certificate ${safeText(old.thumbprint ?? '', { max: TextLimit.reference })}`}, expiring ${formatUtc(old.endDateTime)}. It keeps working until an owner removes it.`
          : 'Nothing: the app has no other credential',
      ),
    ];
    return { before, after: [] };
  }
  const before = [
    row('Display name', appNameOf(request)),
    row('Who can sign in', audienceWords[form.signInAudience] ?? form.signInAudience),
    row('Platform', platformWords[form.platform] ?? form.platform),
  ];
  const after: SpecRow[] = [];
  const credential = form.credential;
  if (credential.kind === 'secret') {
    after.push(row('Credential', `Client secret, valid ${plural(credential.lifetimeDays, 'day')} from when the requester reveals it`));
  } else if (credential.kind === 'certificate') {
    after.push(row('Credential', `Certificate (public key only), valid until ${formatUtc(credential.certificate.notAfter)}`));
    after.push(row('Thumbprint', safeText(credential.certificate.thumbprint, { max: TextLimit.reference }), 'Monospace'));
  } else {
    after.push(row('Credential', 'None: a public client'));
  }
  after.push(row('Owners', ownersText(request)));
  const role = form.directoryRole;
  after.push(row('Directory role', role ? `${safeText(role.displayName, { max: TextLimit.title })}: the app could ${safeText(role.summary, { max: TextLimit.paragraph })}` : 'None'));
  return { before, after };
}

/**
 * Who will control the app: every additional owner as the directory named them at submission, "Megan Bowen
 * (MeganB@contoso.com)", so that approvers see the people and not a count. A request made before Registrar looked
 * owners up has only their object ids, and says so.
 */
function ownersText(request: AppRequest): string {
  const ids = request.form.additionalOwnerIds;
  if (ids.length === 0) return 'The requester only';
  const named = new Map((request.ownerDetails ?? []).map((owner) => [owner.id.toLowerCase(), owner]));
  const lines = ids.map((id) => {
    const owner = named.get(id.toLowerCase());
    const objectId = safeText(id, { max: TextLimit.reference });
    if (!owner) return `${objectId} (object id only)`;
    const name = safeText(owner.displayName, { max: TextLimit.personName });
    const upn = safeText(owner.userPrincipalName, { max: TextLimit.personName });
    return name && upn ? `${name} (${upn})` : name || upn || `${objectId} (object id only)`;
  });
  const others = plural(ids.length, 'other person', 'other people');
  const head = request.ownerDetails
    ? `The requester and ${others}:`
    : `The requester and ${others}, by Entra object id (this request was made before Registrar looked owners up in the directory):`;
  return [head, ...lines].join('\n');
}

/** Redirect URIs shown before "Show all": enough to read at a glance; the rest are one click away. */
const redirectUrisFirst = 5;

/**
 * The redirect URIs for the approval card: the first few, and the rest behind "Show all N redirect URIs". `fit` is
 * how many of the rest the card has room for (all, unless Teams' message size forces fewer, which the card then
 * says in a warning). The button is an Action.ToggleVisibility, which works in the client with no round trip and
 * is in schema 1.2 and later (https://learn.microsoft.com/adaptive-cards/schema-explorer/action-toggle-visibility).
 */
function redirectSection(uris: readonly string[], fit: number) {
  if (uris.length === 0) return undefined;
  const shownUris = uris.map((uri) => safeText(uri, { max: 300 }));
  const rest = shownUris.slice(redirectUrisFirst, redirectUrisFirst + fit);
  const missing = shownUris.length - redirectUrisFirst - rest.length;
  return {
    first: shownUris.slice(0, redirectUrisFirst).join('\n'),
    rest: rest.length > 0 ? rest.join('\n') : undefined,
    showAll: `Show all ${shownUris.length} redirect URIs`,
    showFewer: `Show the first ${redirectUrisFirst} only`,
    notShown:
      missing > 0
        ? `${plural(missing, 'more redirect URI')} do${missing === 1 ? 'es' : ''} not fit in a Teams message and ${missing === 1 ? 'is' : 'are'} not shown. Ask the requester for the full list before you approve.`
        : undefined,
  };
}

/** Teams carries about 28 KB in a message: room is kept for the activity around the card. */
const approvalBudgetBytes = 26 * 1024;

export function renderApproval(view: ApprovalView): AdaptiveCard {
  const { request } = view;
  const level = request.risk.level;
  const assessed = (p: PermissionRef) => request.risk.items.find((item) => item.kind === 'permission' && item.subject === riskSubject(p)) ?? classifyPermission(p);
  const permissions = request.permissions
    .map((p) => ({ p, risk: assessed(p) }))
    .sort((a, b) => (riskOrder[a.risk.level] ?? 0) - (riskOrder[b.risk.level] ?? 0));
  const more = permissions.length - shown.permissions;
  const submitted = request.status === 'submitted';
  const failed = request.status === 'failed';
  const userIds = [...new Set(view.refreshUserIds.map((id) => safeText(id, { max: 200 })).filter(Boolean))].slice(0, maxRefreshUsers);
  // Once the app exists, the commands of the hardening notes can name it instead of <appId>.
  const appId = request.provisioning.application?.appId;
  const notes = appId ? hardeningNotes(request.permissions, safeText(appId, { max: TextLimit.reference })) : request.risk.notes;

  const spec = specRows(request);
  const data = {
    kindLabel: request.kind === 'rotation' ? 'Client secret rotation' : 'App registration request',
    specTitle: request.kind === 'rotation' ? 'What will change' : 'What will be created',
    hasPermissions: request.permissions.length > 0,
    requestId: idOf(request),
    appName: appNameOf(request),
    risk: {
      words: riskWords[level] ?? riskWords.high,
      color: riskColor[level] ?? riskColor.high,
      approvals: `${plural(request.approvalsRequired, 'approval')} needed`,
    },
    message: safeText(view.message, { max: TextLimit.paragraph, multiline: true }) || undefined,
    status: describeStatus(request),
    steps: stepRows(request),
    askedRows: [
      { label: 'Asked by', value: person(request.requester.name) },
      { label: 'Asked on', value: formatUtc(request.createdAt) },
      // While it waits, the status line says the same.
      ...(submitted ? [] : [{ label: 'Approvals', value: approvalsLine(request) }]),
    ],
    purpose: safeText(request.form.purpose, { max: TextLimit.paragraph, multiline: true }) || '(none given)',
    specRows: spec.before,
    specRowsAfter: spec.after,
    permissions: permissions.slice(0, shown.permissions).map(({ p, risk }) => ({
      value: safeText(p.value, { max: TextLimit.title }),
      type: typeWords[p.type] ?? 'delegated',
      resource: safeText(p.resourceDisplayName, { max: TextLimit.placeName }) || 'unknown API',
      level: levelWords[risk.level] ?? levelWords.high,
      color: riskColor[risk.level] ?? riskColor.high,
      reason: safeText(risk.reason, { max: TextLimit.paragraph }),
    })),
    permissionsMore: more > 0 ? `…and ${plural(more, 'more permission')} of the same or lower risk, left out to keep this card within Teams' size limit.` : undefined,
    otherRisks: request.risk.items
      .filter((item) => item.kind !== 'permission')
      .map((item) => ({
        subject: safeText(item.subject, { max: TextLimit.title }),
        level: levelWords[item.level] ?? levelWords.high,
        color: riskColor[item.level] ?? riskColor.high,
        reason: safeText(item.reason, { max: TextLimit.paragraph }),
      })),
    notes: notes.map((note) => ({
      subject: safeText(note.subject, { max: TextLimit.title }),
      advice: safeText(note.advice, { max: TextLimit.paragraph, multiline: true }),
      commands: (note.commands ?? []).map((command) => ({ text: safeText(command, { max: 500 }) })).filter((c) => c.text),
    })),
    showDecision: view.mode === 'approver' && submitted,
    showRetry: view.mode === 'approver' && failed,
    showOpenDecision: view.mode === 'everyone' && submitted,
    showOpenRetry: view.mode === 'everyone' && failed,
    refreshUserIds: userIds,
    verb: Verb,
  };
  // Every redirect URI when they fit; otherwise as many as do, halving the hidden ones, and the card says so.
  const uris = request.kind === 'rotation' ? [] : request.form.redirectUris;
  for (let fit = Math.max(0, uris.length - redirectUrisFirst); ; fit = Math.floor(fit / 2)) {
    const card = tidy(expandTemplate(approvalTemplate, { ...data, redirect: redirectSection(uris, fit) }));
    if (fit === 0 || Buffer.byteLength(JSON.stringify(card), 'utf8') <= approvalBudgetBytes) return card;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The private delivery card

export interface DeliveryView {
  /** request.provisioning.application has the appId; request.permissions are what was granted. */
  request: AppRequest;
  tenantId: string;
  state: 'ready' | 'revealed' | 'stored';
  /** Only for state 'revealed': the secret, shown once in the invoke response. */
  secret?: { text: string; hint: string; endDateTime: string; check: 'works' | 'pending' };
  /** For 'stored': what identifies the secret without it (default: request.delivery when it is a secret). */
  stored?: { hint: string; endDateTime: string };
  /** E.g. "This secret was already revealed on ... To get a new one, ask for a rotation with `rotate <app>`." */
  message?: string;
  /** The cloud's sign-in and Microsoft Graph addresses, for the token request (default: the global cloud). */
  endpoints?: { login: string; graph: string };
}

/** Every character Microsoft Graph puts in a secret is printable ASCII without spaces (today letters, digits, ~ . _ -). */
const secretShape = /^[\x21-\x7E]{8,256}$/;

const checkWords = {
  works: { text: 'A token was issued with this secret: it works.', color: 'Good' },
  pending: { text: 'Entra ID has not started accepting it yet; this usually takes a few minutes.', color: 'Warning' },
} as const;

export function renderDelivery(view: DeliveryView): AdaptiveCard {
  const { request } = view;
  const credential = request.form.credential;
  const appId = safeText(request.provisioning.application?.appId, { max: TextLimit.reference }) || 'not known yet';
  const tenantId = safeText(view.tenantId, { max: TextLimit.reference }) || '<your tenant id>';
  const login = (safeText(view.endpoints?.login, { max: 200 }) || 'https://login.microsoftonline.com').replace(/\/+$/, '');
  const graph = (safeText(view.endpoints?.graph, { max: 200 }) || 'https://graph.microsoft.com').replace(/\/+$/, '');
  const role = request.form.directoryRole;

  const secretKind = credential.kind === 'secret';
  if (secretKind && view.state === 'revealed' && (!view.secret || !secretShape.test(view.secret.text))) {
    throw new Error('renderDelivery: the revealed state needs the secret Graph returned (8 to 256 printable characters); pass view.secret.');
  }
  const storedSecret = view.stored ?? (request.delivery?.kind === 'secret' ? request.delivery : undefined);
  if (secretKind && view.state === 'stored' && !storedSecret) {
    throw new Error('renderDelivery: the stored state needs what identifies the secret; pass view.stored or a request delivered with a secret.');
  }

  const certificate =
    credential.kind === 'certificate'
      ? {
          rows: [
            { label: 'Thumbprint', value: safeText(request.provisioning.certificate?.thumbprint ?? credential.certificate.thumbprint, { max: TextLimit.reference }), font: 'Monospace' },
            { label: 'Valid until', value: formatUtc(credential.certificate.notAfter), font: 'Default' },
            { label: 'Subject', value: safeText(credential.certificate.subject, { max: TextLimit.title }) || 'none', font: 'Default' },
          ],
        }
      : undefined;

  const envLines =
    credential.kind === 'none'
      ? []
      : [
          `AZURE_TENANT_ID=${tenantId}`,
          `AZURE_CLIENT_ID=${appId}`,
          credential.kind === 'secret' ? 'AZURE_CLIENT_SECRET=<your client secret>' : 'AZURE_CLIENT_CERTIFICATE_PATH=<path to the PEM file with the certificate and its private key>',
        ].map((text) => ({ text }));
  const testLines = secretKind
    ? [
        `curl -X POST ${login}/${tenantId}/oauth2/v2.0/token \\`,
        '-d grant_type=client_credentials \\',
        `-d client_id=${appId} \\`,
        '--data-urlencode "client_secret=$AZURE_CLIENT_SECRET" \\',
        `-d scope=${graph}/.default`,
      ].map((text) => ({ text }))
    : [];

  const card = expandTemplate(deliveryTemplate, {
    appName: appNameOf(request),
    requestId: idOf(request),
    message: safeText(view.message, { max: TextLimit.paragraph, multiline: true }) || undefined,
    idRows: [
      { label: 'Client id', value: appId, font: 'Monospace' },
      { label: 'Tenant id', value: tenantId, font: 'Monospace' },
    ],
    ...permissionLines(request.permissions, shown.statusPermissions),
    directoryRole: role ? `${safeText(role.displayName, { max: TextLimit.title })}, to ${safeText(role.summary, { max: TextLimit.paragraph })}` : undefined,
    secretReady: secretKind && view.state === 'ready',
    secretLifetime: credential.kind === 'secret' ? `It will be valid for ${plural(credential.lifetimeDays, 'day')} from that click.` : '',
    secretRevealed: secretKind && view.state === 'revealed',
    secretExpiry: view.secret ? `Valid until ${formatUtc(view.secret.endDateTime)}.` : '',
    secretCheck: checkWords[view.secret?.check ?? 'pending'] ?? checkWords.pending,
    secretStored:
      secretKind && view.state === 'stored' && storedSecret
        ? { hint: safeText(storedSecret.hint, { max: 10 }), until: formatUtc(storedSecret.endDateTime) }
        : undefined,
    certificate,
    noCredential: credential.kind === 'none',
    envLines,
    testLines,
    verb: Verb,
  });
  if (secretKind && view.state === 'revealed' && view.secret) placeSecret(card, view.secret.text);
  return tidy(card);
}

/**
 * Puts the secret into its TextRun after expansion, so that no rule of expandTemplate can change a character of it
 * (a TextRun is never read as markdown, and nothing expands this card again).
 */
function placeSecret(card: AdaptiveCard, secret: string): void {
  let placed = false;
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(visit);
    if (typeof value !== 'object' || value === null) return;
    const element = value as Record<string, unknown>;
    if (element.id === 'clientSecret' && Array.isArray(element.inlines)) {
      element.inlines = [{ ...(element.inlines[0] as object), text: secret }];
      placed = true;
      return;
    }
    Object.values(element).forEach(visit);
  };
  visit(card.body);
  if (!placed) throw new Error('renderDelivery: adaptiveCards/delivery.json has no RichTextBlock with the id clientSecret for the secret.');
}
