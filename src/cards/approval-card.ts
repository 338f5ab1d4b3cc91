import approvalTemplate from '../../adaptiveCards/approval.json';
import { MICROSOFT_GRAPH_APP_ID, type PermissionRef, type Platform, type SignInAudience } from '../domain/app-spec';
import { pendingPermissions, type AppRequest } from '../domain/request';
import { exchangeScopable } from '../domain/exchange-rbac';
import { federatedLimits, workloadWords } from '../domain/federated-credential';
import { classifyPermission, hardeningNotes, type RiskLevel } from '../domain/risk';
import type { AdaptiveCard } from './adaptive-card';
import { expandTemplate, formatUtc, safeText, TextLimit } from './render';
import {
  appNameOf,
  approvalsLine,
  describeStatus,
  idOf,
  person,
  plural,
  resourceServicePrincipalsText,
  riskColor,
  riskWords,
  rotationStatus,
  shown,
  stepRows,
  tidy,
  typeWords,
} from './request-card-parts';
import { Verb } from './verbs';

/*
 * The approvers' card (adaptiveCards/approval.json): what will be created and how risky it is, permission by
 * permission, with the decision buttons for approvers and the status for everyone else.
 */

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

const levelWords: Record<RiskLevel, string> = { low: 'Low', medium: 'Medium', high: 'High' };
const levelColor = (level: RiskLevel) => riskColor[level] ?? riskColor.high;
const riskOrder: Record<RiskLevel, number> = { high: 0, medium: 1, low: 2 };

/** What risk.ts calls a permission in RiskItem.subject, to find the item that was assessed at submission. */
const riskSubject = (p: PermissionRef) =>
  `${p.resourceAppId === MICROSOFT_GRAPH_APP_ID ? '' : `${p.resourceDisplayName}: `}${p.value} (${typeWords[p.type]})`;

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
    const requester = person(request.requester.name);
    const days = form.credential.kind === 'secret' ? form.credential.lifetimeDays : 0;
    const before = [
      row('App', safeText(rotation.appName, { max: TextLimit.title }) || appNameOf(request)),
      row('Application (client) ID', safeText(rotation.appId, { max: TextLimit.reference }), 'Monospace'),
      row(
        'Changes',
        `The app gets a new client secret, valid ${plural(days, 'day')} from when ${requester} reveals it in their personal chat with Registrar.${rotation.lifetimeNote ? ` ${safeText(rotation.lifetimeNote, { max: 600 })}` : ''}`,
      ),
      row('Stays', rotationStays(request)),
    ];
    return { before, after: [] };
  }
  const federation = request.kind === 'federation' ? request.federation : undefined;
  if (federation && form.credential.kind === 'federated') {
    const before = [
      row('App', safeText(federation.appName, { max: TextLimit.title }) || appNameOf(request)),
      row('Application (client) ID', safeText(federation.appId, { max: TextLimit.reference }), 'Monospace'),
      row(
        'Changes',
        'The app trusts one more workload: its tokens from the issuer below, with exactly this subject, sign in as the app.',
      ),
      row(
        'Stays',
        "Everything else: the app's permissions, owners, secrets, certificates and other federated credentials.",
      ),
    ];
    return { before, after: federatedRows(form.credential) };
  }
  const resources = resourceServicePrincipalsText(request);
  const target = request.target;
  const before = [
    ...(target
      ? [
          row(
            'Created in',
            `${safeText(target.name, { max: TextLimit.title })} (${safeText(target.tenantId, { max: TextLimit.reference })}), another directory than this Teams tenant's`,
          ),
        ]
      : []),
    row('Display name', appNameOf(request)),
    row('Who can sign in', audienceWords[form.signInAudience] ?? form.signInAudience),
    row('Platform', platformWords[form.platform] ?? form.platform),
    ...(resources ? [row('Service principals of APIs', resources)] : []),
    ...(form.platform === 'publicClient'
      ? [
          row(
            'Sign-in without a redirect URI',
            form.publicClientFlows
              ? 'Allowed: device code, integrated Windows authentication and username and password (isFallbackPublicClient)'
              : 'Not allowed',
          ),
        ]
      : []),
  ];
  const after: SpecRow[] = [];
  const credential = form.credential;
  if (credential.kind === 'secret') {
    after.push(
      row(
        'Credential',
        `Client secret, valid ${plural(credential.lifetimeDays, 'day')} from when the requester reveals it`,
      ),
    );
  } else if (credential.kind === 'certificate') {
    after.push(
      row('Credential', `Certificate (public key only), valid until ${formatUtc(credential.certificate.notAfter)}`),
    );
    after.push(
      row('Thumbprint', safeText(credential.certificate.thumbprint, { max: TextLimit.reference }), 'Monospace'),
    );
  } else if (credential.kind === 'federated') {
    after.push(...federatedRows(credential));
  } else {
    after.push(row('Credential', 'None: a public client'));
  }
  const mailbox = mailboxRow(request);
  if (mailbox) after.push(row('Mailbox permissions', mailbox));
  if (form.oidcConsent === 'declare')
    after.push(row('openid and offline_access', 'Declared on the app without admin consent'));
  after.push(row('Owners', target ? targetOwnersText(request) : ownersText(request)));
  const role = form.directoryRole;
  after.push(
    row(
      'Directory role',
      role
        ? `${safeText(role.displayName, { max: TextLimit.title })}: the app could ${safeText(role.summary, { max: TextLimit.paragraph })}`
        : 'None',
    ),
  );
  return { before, after };
}

/**
 * Exactly which workload will be able to act as the app: in words, and as Entra ID will match it, issuer and subject
 * compared with the token's iss and sub claims, case included, with no wildcards
 * (https://learn.microsoft.com/entra/workload-id/workload-identity-federation-considerations).
 */
function federatedRows(credential: Extract<AppRequest['form']['credential'], { kind: 'federated' }>): SpecRow[] {
  const text = (value: string, max: number) => safeText(value, { max });
  return [
    {
      label: 'Credential',
      value: 'Federated credential: no secret or key exists; Entra ID accepts tokens of this workload instead',
      font: 'Default',
    },
    {
      label: 'Who can act as the app',
      value: text(workloadWords(credential.workload), TextLimit.paragraph),
      font: 'Default',
    },
    { label: 'Issuer', value: text(credential.credential.issuer, federatedLimits.issuer), font: 'Monospace' },
    { label: 'Subject', value: text(credential.credential.subject, federatedLimits.subject), font: 'Monospace' },
    {
      label: 'Audience',
      value: text(credential.credential.audiences.join(', '), TextLimit.reference),
      font: 'Monospace',
    },
  ];
}

/** What a rotation leaves as it is, for approvers: everything but the new secret, and the old one until an owner decides. */
function rotationStays(request: AppRequest): string {
  const rotation = request.rotation!;
  const old = rotation.old;
  const base = 'The app itself, its Application (client) ID, its permissions and owners, and its other credentials';
  if (!old) return `${base}. The app has no other credential now.`;
  const oldWords =
    old.kind === 'secret'
      ? `Its current client secret${old.hint ? ` ${safeText(old.hint, { max: 10 })}…` : ''} (expires ${formatUtc(old.endDateTime)})`
      : `Its certificate${old.thumbprint ? ` ${safeText(old.thumbprint, { max: TextLimit.reference })}` : ''} (expires ${formatUtc(old.endDateTime)})`;
  const decided = rotation.oldDecision;
  if (!decided) return `${base}. ${oldWords} keeps working until an owner removes it.`;
  return decided.removed
    ? `${base}. ${oldWords} was removed on ${formatUtc(decided.at)}, as ${person(decided.by.name)} chose.`
    : `${base}. ${oldWords} keeps working; an owner chose to keep it on ${formatUtc(decided.at)}.`;
}

/** Whether the mailbox permissions are granted tenant-wide or only declared and scoped in Exchange. */
function mailboxRow(request: AppRequest): string | undefined {
  const scopable = exchangeScopable(request.permissions);
  if (scopable.length === 0) return undefined;
  const names = scopable.map((p) => safeText(p.value, { max: TextLimit.title })).join(', ');
  const choice = request.form.exchangeRbac;
  if (!choice) return `${names}: granted tenant-wide by admin consent, for every mailbox in the organisation.`;
  const mailboxes = choice.mailboxes.map((m) => safeText(m, { max: TextLimit.personName })).filter(Boolean);
  return (
    `${names}: declared without tenant-wide consent; Registrar grants no mailbox. Scoped in Exchange Online with RBAC for Applications to ` +
    (mailboxes.length > 0
      ? `${mailboxes.join(', ')}, once an Exchange administrator runs the commands below.`
      : 'the mailboxes an Exchange administrator chooses, with the commands below.')
  );
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

/**
 * Who will own an app made in a target directory: the users there, resolved at submission, by name and user principal
 * name; the requester is a Teams person and owns nothing there.
 */
function targetOwnersText(request: AppRequest): string {
  const where = safeText(request.target?.name, { max: TextLimit.title });
  const owners = request.targetOwners?.owners ?? [];
  const lines = owners.map((owner) => {
    const name = safeText(owner.displayName, { max: TextLimit.personName });
    const upn = safeText(owner.userPrincipalName, { max: TextLimit.personName });
    return name && upn ? `${name} (${upn})` : name || upn || safeText(owner.id, { max: TextLimit.reference });
  });
  if (lines.length === 0) return `Nobody in ${where}: the requester is not a user there`;
  const head =
    request.targetOwners?.from === 'group'
      ? `In ${where}, the users of its owners group (${safeText(request.targetOwners.groupId, { max: TextLimit.reference })}):`
      : `In ${where}, named by the requester:`;
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
  const assessed = (p: PermissionRef) =>
    request.risk.items.find((item) => item.kind === 'permission' && item.subject === riskSubject(p)) ??
    classifyPermission(p, request.form.exchangeRbac);
  const permissions = [...request.permissions, ...pendingPermissions(request)]
    .map((p) => ({ p, risk: assessed(p) }))
    .sort((a, b) => (riskOrder[a.risk.level] ?? 0) - (riskOrder[b.risk.level] ?? 0));
  const more = permissions.length - shown.permissions;
  const submitted = request.status === 'submitted';
  const failed = request.status === 'failed';
  const userIds = [...new Set(view.refreshUserIds.map((id) => safeText(id, { max: 200 })).filter(Boolean))].slice(
    0,
    maxRefreshUsers,
  );
  // Once the app and its service principal exist, the commands of the hardening notes name them.
  const appId = safeText(request.provisioning.application?.appId, { max: TextLimit.reference });
  const servicePrincipalId = safeText(request.provisioning.servicePrincipal?.servicePrincipalId, {
    max: TextLimit.reference,
  });
  const notes =
    request.kind === 'rotation' || request.kind === 'federation'
      ? request.risk.notes
      : hardeningNotes(request.permissions, {
          ...(appId ? { appId } : {}),
          ...(servicePrincipalId ? { servicePrincipalId } : {}),
          displayName: request.form.displayName,
          requestId: request.id,
          ...(request.form.exchangeRbac ? { exchangeRbac: request.form.exchangeRbac } : {}),
        });

  const spec = specRows(request);
  const federating = request.kind === 'federation';
  // A rotation or a federated credential for an existing app grants nothing: what it carries is what the app
  // already holds (held, below).
  const existing = request.kind === 'rotation' || federating;
  const rotatedApp =
    safeText(request.rotation?.appName ?? request.federation?.appName, { max: TextLimit.title }) || appNameOf(request);
  const data = {
    kindLabel: federating
      ? 'Federated credential for an existing app'
      : existing
        ? 'Rotation: a new client secret for an existing app'
        : 'App registration request',
    specTitle: existing ? 'What changes and what stays' : 'What will be created',
    hasPermissions: !existing && permissions.length > 0,
    noPermissions: !existing && permissions.length === 0,
    requestId: idOf(request),
    // The requester asked for a new secret, not for a request: the id is a reference for approvers, named so.
    referenceLabel: federating ? 'Reference ' : existing ? 'Rotation reference ' : 'Request ',
    appName: federating
      ? `Federated credential for ${rotatedApp}`
      : existing
        ? `New client secret for ${rotatedApp}`
        : appNameOf(request),
    held: existing
      ? request.risk.items
          .filter((item) => item.kind === 'permission')
          .map((item) => ({
            subject: safeText(item.subject, { max: TextLimit.title }),
            level: levelWords[item.level] ?? levelWords.high,
            color: levelColor(item.level),
            reason: safeText(item.reason, { max: TextLimit.paragraph }),
          }))
      : [],
    reasonPlaceholder: federating
      ? `Why ${rotatedApp} should not trust this workload`
      : existing
        ? `Why ${rotatedApp} should not get a new client secret`
        : 'What the requester should change, or why this app should not exist',
    risk: {
      words: riskWords[level] ?? riskWords.high,
      color: levelColor(level),
      approvals: `${plural(request.approvalsRequired, 'approval')} needed`,
    },
    message: safeText(view.message, { max: TextLimit.paragraph, multiline: true }) || undefined,
    status: request.kind === 'rotation' ? rotationStatus(request, 'approvers') : describeStatus(request),
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
    permissions: (existing ? [] : permissions.slice(0, shown.permissions)).map(({ p, risk }) => ({
      value: safeText(p.value, { max: TextLimit.title }),
      type: typeWords[p.type] ?? 'delegated',
      resource: safeText(p.resourceDisplayName, { max: TextLimit.placeName }) || 'unknown API',
      level: levelWords[risk.level] ?? levelWords.high,
      color: levelColor(risk.level),
      reason: safeText(risk.reason, { max: TextLimit.paragraph }),
    })),
    permissionsMore:
      !existing && more > 0
        ? `…and ${plural(more, 'more permission')} of the same or lower risk, left out to keep this card within Teams' size limit.`
        : undefined,
    otherRisks: request.risk.items
      .filter((item) => item.kind !== 'permission')
      .map((item) => ({
        subject: safeText(item.subject, { max: TextLimit.title }),
        level: levelWords[item.level] ?? levelWords.high,
        color: levelColor(item.level),
        reason: safeText(item.reason, { max: TextLimit.paragraph }),
      })),
    notes: notes.map((note) => ({
      subject: safeText(note.subject, { max: TextLimit.title }),
      advice: safeText(note.advice, { max: TextLimit.paragraph, multiline: true }),
      commands: (note.commands ?? [])
        .map((command) => ({ text: safeText(command, { max: 500 }) }))
        .filter((c) => c.text),
    })),
    showDecision: view.mode === 'approver' && submitted,
    showRetry: view.mode === 'approver' && failed,
    showOpenDecision: view.mode === 'everyone' && submitted,
    showOpenRetry: view.mode === 'everyone' && failed,
    refreshUserIds: userIds,
    verb: Verb,
  };
  // Every redirect URI when they fit; otherwise as many as do, halving the hidden ones, and the card says so.
  const uris = request.kind === 'rotation' || request.kind === 'federation' ? [] : request.form.redirectUris;
  for (let fit = Math.max(0, uris.length - redirectUrisFirst); ; fit = Math.floor(fit / 2)) {
    const card = tidy(expandTemplate(approvalTemplate, { ...data, redirect: redirectSection(uris, fit) }));
    if (fit === 0 || Buffer.byteLength(JSON.stringify(card), 'utf8') <= approvalBudgetBytes) return card;
  }
}
