import deliveryTemplate from '../../adaptiveCards/delivery.json';
import {
  exchangeRbacCommands,
  exchangeScopable,
  removeTenantWideGrantCommands,
  scopeNameFor,
  scopedInExchange,
} from '../domain/exchange-rbac';
import type { AppRequest } from '../domain/request';
import type { AdaptiveCard } from './adaptive-card';
import { expandTemplate, formatUtc, safeText, TextLimit } from './render';
import { appNameOf, idOf, permissionLines, plural, shown, tidy } from './request-card-parts';
import { Verb } from './verbs';

/*
 * The private delivery card (adaptiveCards/delivery.json), in the requester's personal chat: the app's ids, and its
 * credential ready to reveal, revealed once (only in the invoke response), or stored.
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
  const login = (safeText(view.endpoints?.login, { max: 200 }) || 'https://login.microsoftonline.com').replace(
    /\/+$/,
    '',
  );
  const graph = (safeText(view.endpoints?.graph, { max: 200 }) || 'https://graph.microsoft.com').replace(/\/+$/, '');
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

  const envLines =
    credential.kind === 'none'
      ? []
      : [
          `AZURE_TENANT_ID=${tenantId}`,
          `AZURE_CLIENT_ID=${appId}`,
          credential.kind === 'secret'
            ? 'AZURE_CLIENT_SECRET=<your client secret>'
            : 'AZURE_CLIENT_CERTIFICATE_PATH=<path to the PEM file with the certificate and its private key>',
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

  const granted = permissionLines(request.permissions, shown.statusPermissions);
  const scoped = new Set(scopedInExchange(request.permissions, request.form.exchangeRbac));
  granted.permissions = granted.permissions.map((line, i) =>
    scoped.has(request.permissions[i]!)
      ? { ...line, detail: `${line.detail.replace(/\)$/, '')}: declared, not granted tenant-wide; scoped in Exchange)` }
      : line,
  );

  const card = expandTemplate(deliveryTemplate, {
    appName: appNameOf(request),
    requestId: idOf(request),
    message: safeText(view.message, { max: TextLimit.paragraph, multiline: true }) || undefined,
    idRows: [
      { label: 'Client id', value: appId, font: 'Monospace' },
      { label: 'Tenant id', value: tenantId, font: 'Monospace' },
    ],
    ...granted,
    exchange: exchangeSection(request),
    directoryRole: role
      ? `${safeText(role.displayName, { max: TextLimit.title })}, to ${safeText(role.summary, { max: TextLimit.paragraph })}`
      : undefined,
    secretReady: secretKind && view.state === 'ready',
    secretLifetime:
      credential.kind === 'secret'
        ? `It will be valid for ${plural(credential.lifetimeDays, 'day')} from that click.`
        : '',
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
  if (!placed)
    throw new Error(
      'renderDelivery: adaptiveCards/delivery.json has no RichTextBlock with the id clientSecret for the secret.',
    );
}
