import deliveryTemplate from '../../adaptiveCards/delivery.json';
import {
  exchangeRbacCommands,
  exchangeScopable,
  removeTenantWideGrantCommands,
  scopeNameFor,
  scopedInExchange,
} from '../domain/exchange-rbac';
import { federatedLimits, workloadWords, type FederatedWorkload } from '../domain/federated-credential';
import type { AppRequest } from '../domain/request';
import type { AdaptiveCard } from './adaptive-card';
import { expandTemplate, formatUtc, safeText, TextLimit } from './render';
import { federatedUsage } from './federated-snippets';
import { appNameOf, idOf, permissionLines, plural, shown, tidy } from './request-card-parts';
import { shellWord, type TokenEndpoints } from './shell-word';
import { Verb } from './verbs';

export { shellWord, type TokenEndpoints } from './shell-word';

/*
 * The private delivery card (adaptiveCards/delivery.json), in the requester's personal chat: the app's ids, and its
 * credential ready to reveal, revealed once (only in the invoke response), or stored; a certificate or a federated
 * credential has nothing to reveal, and the card says how to use it.
 */

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
  endpoints?: TokenEndpoints;
}

/** Every character Microsoft Graph puts in a secret is printable ASCII without spaces (today letters, digits, ~ . _ -). */
const secretShape = /^[\x21-\x7E]{8,256}$/;

const checkWords = {
  works: 'A token was issued with this secret: it works.',
  pending: 'Entra ID has not started accepting it yet; this usually takes a few minutes.',
} as const;

/**
 * The token request that tests a client secret, one shell line per element (joined with " \\" continuations): the
 * client credentials grant of the Microsoft identity platform
 * (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow#first-case-access-token-request-with-a-shared-secret),
 * with the secret read from AZURE_CLIENT_SECRET so that it never lands in the shell history.
 */
export function tokenRequestLines(endpoints: TokenEndpoints, tenantId: string, appId: string): string[] {
  const login = endpoints.login.replace(/\/+$/, '');
  const graph = endpoints.graph.replace(/\/+$/, '');
  const lines = [
    `curl -X POST ${shellWord(`${login}/${tenantId}/oauth2/v2.0/token`)}`,
    ...(endpoints.caFile ? [`--cacert ${shellWord(endpoints.caFile)}`] : []),
    '-d grant_type=client_credentials',
    `-d client_id=${shellWord(appId)}`,
    '--data-urlencode "client_secret=$AZURE_CLIENT_SECRET"',
    `-d scope=${shellWord(`${graph}/.default`)}`,
  ];
  return lines.map((line, i) => (i < lines.length - 1 ? `${line} \\` : line));
}

/**
 * What a rotation changes and what it leaves alone, in the words of its delivery and status cards; `until` is when
 * the new secret expires, once it exists. Undefined for a new-app request.
 */
export function rotationWords(
  request: AppRequest,
  until?: string,
): { title: string; changes: string; stays: string } | undefined {
  const rotation = request.rotation;
  if (request.kind !== 'rotation' || !rotation) return undefined;
  const appName = safeText(rotation.appName, { max: TextLimit.title }) || appNameOf(request);
  const lifetime = request.form.credential.kind === 'secret' ? request.form.credential.lifetimeDays : 0;
  const old = rotation.old;
  const oldWords = old
    ? old.kind === 'secret'
      ? `its current client secret${old.hint ? ` ${safeText(old.hint, { max: 10 })}…` : ''} (expires ${formatUtc(old.endDateTime)})`
      : `its certificate${old.thumbprint ? ` ${safeText(old.thumbprint, { max: TextLimit.reference })}` : ''} (expires ${formatUtc(old.endDateTime)})`
    : undefined;
  const decided = rotation.oldDecision;
  const oldFate = !oldWords
    ? '.'
    : decided
      ? decided.removed
        ? `. ${capitalise(oldWords)} was removed on ${formatUtc(decided.at)}, as ${safeText(decided.by.name, { max: TextLimit.personName }) || 'an owner'} chose.`
        : `: ${oldWords} keeps working; it was kept on ${formatUtc(decided.at)}.`
      : `: ${oldWords} keeps working until you remove it. Registrar asks you about it once you have stored the new one.`;
  // The app management policy's cap, as it stood when the rotation began (rotation-service.ts).
  const note = safeText(rotation.lifetimeNote, { max: 600 });
  return {
    title: `New client secret for ${appName}`,
    changes: until
      ? `${appName} gets a new client secret, valid until ${until}.`
      : `${appName} gets a new client secret, valid for ${plural(lifetime, 'day')} from the moment you reveal it.${note ? ` ${note}` : ''}`,
    stays: `the app itself, its Application (client) ID, its permissions and owners, and its other credentials${oldFate}`,
  };
}

const capitalise = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

export function renderDelivery(view: DeliveryView): AdaptiveCard {
  const { request } = view;
  const credential = request.form.credential;
  const rotating = request.kind === 'rotation';
  const appId = safeText(request.provisioning.application?.appId, { max: TextLimit.reference }) || 'not known yet';
  const tenantId = safeText(view.tenantId, { max: TextLimit.reference }) || '<your tenant id>';
  const endpoints: TokenEndpoints = {
    login: safeText(view.endpoints?.login, { max: 200 }) || 'https://login.microsoftonline.com',
    graph: safeText(view.endpoints?.graph, { max: 200 }) || 'https://graph.microsoft.com',
    ...(view.endpoints?.caFile ? { caFile: safeText(view.endpoints.caFile, { max: 1000 }) } : {}),
  };
  const role = request.form.directoryRole;

  const secretKind = credential.kind === 'secret';
  if (secretKind && view.state === 'revealed' && (!view.secret || !secretShape.test(view.secret.text))) {
    throw new Error(
      'renderDelivery: the revealed state needs the secret Graph returned (8 to 256 printable characters); pass view.secret.',
    );
  }
  const storedSecret = view.stored ?? (request.delivery?.kind === 'secret' ? request.delivery : undefined);
  if (secretKind && view.state === 'stored' && !storedSecret) {
    throw new Error(
      'renderDelivery: the stored state needs what identifies the secret; pass view.stored or a request delivered with a secret.',
    );
  }

  const certificate =
    credential.kind === 'certificate'
      ? {
          rows: [
            {
              label: 'Thumbprint',
              value: safeText(request.provisioning.certificate?.thumbprint ?? credential.certificate.thumbprint, {
                max: TextLimit.reference,
              }),
              font: 'Monospace',
            },
            { label: 'Valid until', value: formatUtc(credential.certificate.notAfter), font: 'Default' },
            {
              label: 'Subject',
              value: safeText(credential.certificate.subject, { max: TextLimit.title }) || 'none',
              font: 'Default',
            },
          ],
        }
      : undefined;

  const federated =
    credential.kind === 'federated' ? federatedSection(request, { appId, tenantId }, endpoints) : undefined;

  const envLines =
    credential.kind === 'none' || credential.kind === 'federated'
      ? []
      : [
          `AZURE_TENANT_ID=${tenantId}`,
          `AZURE_CLIENT_ID=${appId}`,
          credential.kind === 'secret'
            ? 'AZURE_CLIENT_SECRET=<your client secret>'
            : 'AZURE_CLIENT_CERTIFICATE_PATH=<path to the PEM file with the certificate and its private key>',
        ];
  const testLines = secretKind ? tokenRequestLines(endpoints, tenantId, appId) : [];

  const granted = permissionLines(request.permissions, shown.statusPermissions);
  const scoped = new Set(scopedInExchange(request.permissions, request.form.exchangeRbac));
  granted.permissions = granted.permissions.map((line, i) =>
    scoped.has(request.permissions[i]!)
      ? { ...line, detail: `${line.detail.replace(/\)$/, '')}: declared, not granted tenant-wide; scoped in Exchange)` }
      : line,
  );
  const ids = (label: string, value: string | undefined) => {
    const shownValue = safeText(value, { max: TextLimit.reference });
    return shownValue ? [{ label, value: shownValue }] : [];
  };
  const storedView =
    secretKind && view.state === 'stored' && storedSecret
      ? { hint: safeText(storedSecret.hint, { max: 10 }), until: formatUtc(storedSecret.endDateTime) }
      : undefined;

  const card = expandTemplate(deliveryTemplate, {
    appName: appNameOf(request),
    requestId: idOf(request),
    rotation: rotationWords(request, view.secret ? formatUtc(view.secret.endDateTime) : storedView?.until),
    message: safeText(view.message, { max: TextLimit.paragraph, multiline: true }) || undefined,
    // Each id on its own line, labelled as the Entra admin center labels it, never wrapped inside the value.
    idRows: [
      { label: 'Application (client) ID', value: appId },
      { label: 'Directory (tenant) ID', value: tenantId },
      ...(rotating ? [] : ids('Object ID', request.provisioning.application?.applicationObjectId)),
      ...(rotating
        ? []
        : ids('Enterprise application object ID', request.provisioning.servicePrincipal?.servicePrincipalId)),
    ],
    ...granted,
    exchange: rotating ? undefined : exchangeSection(request),
    directoryRole:
      role && !rotating
        ? `${safeText(role.displayName, { max: TextLimit.title })}, to ${safeText(role.summary, { max: TextLimit.paragraph })}`
        : undefined,
    secretReady: secretKind && view.state === 'ready',
    secretLifetime:
      credential.kind === 'secret'
        ? `It will be valid for ${plural(credential.lifetimeDays, 'day')} from that click.`
        : '',
    secretRevealed: secretKind && view.state === 'revealed',
    secretExpiry: view.secret ? `Valid until ${formatUtc(view.secret.endDateTime)}.` : '',
    secretCheck: { text: checkWords[view.secret?.check ?? 'pending'] ?? checkWords.pending },
    secretStored: storedView,
    certificate,
    federated,
    noCredential: credential.kind === 'none',
    envLines: envLines.map((text) => ({ text })),
    envSnippet: envLines.join('\n'),
    testLines: testLines.map((text) => ({ text })),
    testSnippet: testLines.join('\n'),
    verb: Verb,
  });
  if (secretKind && view.state === 'revealed' && view.secret) placeSecret(card, view.secret.text);
  return tidy(card);
}

/**
 * A federated credential's delivery: nothing to reveal, what Entra ID will match (its name, issuer, subject and
 * audience, as provisioned), and the snippet that makes the workload use it. Every value is the server's: the name
 * Graph holds, the workload as validated at submission, the app's client id and the tenant id.
 */
function federatedSection(request: AppRequest, ids: { appId: string; tenantId: string }, endpoints: TokenEndpoints) {
  const credential = request.form.credential;
  if (credential.kind !== 'federated') return undefined;
  const spec = credential.credential;
  const limit = { max: federatedLimits.subject };
  const workload = safeWorkload(credential.workload);
  const usage = federatedUsage(workload, ids, endpoints);
  const row = (label: string, value: string) => ({ label, value: safeText(value, limit) || 'none' });
  return {
    lead: `No secret or key exists, so there is nothing to reveal or to store. Entra ID gives tokens of this app only to ${safeText(workloadWords(workload), { max: TextLimit.paragraph }).replace(/^The /, 'the ')}.`,
    rows: [
      row('Name', request.provisioning.federatedCredential?.name ?? spec.name),
      row('Issuer', spec.issuer),
      row('Subject', spec.subject),
      row('Audience', spec.audiences.join(', ')),
    ],
    intro: usage.intro,
    language: usage.language,
    code: usage.lines.join('\n'),
    // An empty line would be an empty TextRun, which hosts drop: a space keeps the line.
    lines: usage.lines.map((text) => ({ text: text || ' ' })),
    notes: usage.notes.map((text) => ({ text })),
  };
}

/** The workload with every name passed through safeText, for snippets that quote them. */
function safeWorkload(workload: FederatedWorkload): FederatedWorkload {
  const text = (value: string) => safeText(value, { max: federatedLimits.subject });
  switch (workload.kind) {
    case 'github':
      return {
        kind: 'github',
        organization: text(workload.organization),
        repository: text(workload.repository),
        entity: workload.entity,
        ...(workload.entityName !== undefined ? { entityName: text(workload.entityName) } : {}),
      };
    case 'kubernetes':
      return {
        kind: 'kubernetes',
        issuer: text(workload.issuer),
        namespace: text(workload.namespace),
        serviceAccount: text(workload.serviceAccount),
      };
    case 'other':
      return { kind: 'other', issuer: text(workload.issuer), subject: text(workload.subject) };
  }
}

/**
 * The mailbox permissions' next step, for an Exchange administrator, with this app's client id and service principal
 * object id filled in: scope them with RBAC for Applications (https://learn.microsoft.com/exchange/permissions-exo/application-rbac),
 * which the request asked for, or which a tenant-wide grant can still be turned into.
 */
function exchangeSection(request: AppRequest) {
  const scopable = exchangeScopable(request.permissions);
  if (scopable.length === 0) return undefined;
  const names = scopable.map((p) => safeText(p.value, { max: TextLimit.title })).join(', ');
  const appId = safeText(request.provisioning.application?.appId, { max: TextLimit.reference });
  const servicePrincipalId = safeText(request.provisioning.servicePrincipal?.servicePrincipalId, {
    max: TextLimit.reference,
  });
  const choice = request.form.exchangeRbac;
  const target = {
    ...(appId ? { appId } : {}),
    ...(servicePrincipalId ? { servicePrincipalId } : {}),
    displayName: request.form.displayName,
    requestId: request.id,
    mailboxes: choice?.mailboxes ?? [],
  };
  const lines = (commands: string[]) =>
    commands.map((command) => ({ text: safeText(command, { max: 600 }) })).filter((line) => line.text);
  if (choice) {
    const mailboxes = choice.mailboxes.map((m) => safeText(m, { max: TextLimit.personName })).filter(Boolean);
    return {
      title: 'Next step: scope the app in Exchange Online',
      text:
        `${names} ${scopable.length === 1 ? 'is' : 'are'} declared on the app without tenant-wide consent, so the app reaches no mailbox yet. ` +
        `An Exchange administrator (Organization Management role group) runs these commands in Exchange Online PowerShell; the app then reaches only ` +
        `${mailboxes.length > 0 ? mailboxes.join(', ') : 'the members of the group named in the scope'} (management scope ${scopeNameFor(request.id)}). ` +
        'Do not grant admin consent for this app in the Entra admin center: a tenant-wide grant reaches every mailbox whatever the scope.',
      commands: lines(exchangeRbacCommands(scopable, target)),
    };
  }
  return {
    title: 'Mailbox access: every mailbox',
    text:
      `${names} ${scopable.length === 1 ? 'was' : 'were'} granted tenant-wide: the app reaches every mailbox in the organisation. ` +
      'To scope it to some mailboxes, an administrator removes the tenant-wide grant (RBAC for Applications does not narrow it) with Microsoft Graph PowerShell, ' +
      'then assigns the Exchange roles over a management scope in Exchange Online PowerShell (replace the group placeholder with the mailboxes to allow). ' +
      'Application access policies are the legacy way.',
    commands: lines([
      ...removeTenantWideGrantCommands(scopable, servicePrincipalId || undefined),
      ...exchangeRbacCommands(scopable, target),
    ]),
  };
}

/**
 * Puts the secret into its code block (Teams shows it with a copy button:
 * https://learn.microsoft.com/microsoftteams/platform/task-modules-and-cards/cards/cards-format#codeblock-in-adaptive-cards)
 * and into the TextRun of that block's fallback, which other hosts show, after expansion: no rule of expandTemplate
 * can change a character of it (code and a TextRun are never read as markdown, and nothing expands this card again).
 */
function placeSecret(card: AdaptiveCard, secret: string): void {
  const placed = { code: false, text: false };
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(visit);
    if (typeof value !== 'object' || value === null) return;
    const element = value as Record<string, unknown>;
    if (element.id === 'clientSecretCode' && element.type === 'CodeBlock') {
      element.codeSnippet = secret;
      placed.code = true;
    }
    if (element.id === 'clientSecret' && Array.isArray(element.inlines)) {
      element.inlines = [{ ...(element.inlines[0] as object), text: secret }];
      placed.text = true;
      return;
    }
    Object.values(element).forEach(visit);
  };
  visit(card.body);
  if (!placed.code || !placed.text)
    throw new Error(
      'renderDelivery: adaptiveCards/delivery.json needs a CodeBlock with the id clientSecretCode for the secret, and in its fallback a RichTextBlock with the id clientSecret.',
    );
}
