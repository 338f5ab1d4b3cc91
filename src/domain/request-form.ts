/**
 * The request form as it comes back from the card (Action.Execute data: every input a string), checked field by
 * field on the server. An invalid form gives a message per field and the person's values, to render the same
 * card again; nothing is stored. Card data is treated as hostile: unknown fields, wrong types, oversized payloads
 * and ids of other requests are refused, not ignored.
 */
import {
  MICROSOFT_GRAPH_APP_ID,
  permissionKind,
  type CatalogPermission,
  type CertificateSpec,
  type FederatedCredentialSpec,
  type PermissionRef,
  type PermissionType,
  type Platform,
  type SignInAudience,
} from './app-spec';
import { InvalidCertificate, parseCertificatePem } from './certificate-pem';
import {
  certificateProblem,
  noPolicyRules,
  secretBlockedReason,
  secretMaxDays as policySecretMaxDays,
  secretProblem,
  type CredentialRules,
} from './credential-rules';
import { findDirectoryRole, type DirectoryRole } from './directory-roles';
import { maxRedirectUris, redirectUriListProblem, redirectUriProblem } from './redirect-uris';
import { personalAccountsIn, type GraphCloudName } from './sign-in-audiences';
import { permissionKey } from './permission-search';
import { parseRequestId } from './request-id';
import { normaliseText, textProblem } from './text-rules';
import { isGuid } from './guid';
import { azureAdGraphRefusal, findResourceApi, isAzureAdGraph, knownResourceApiNames } from './resource-apis';
import { exchangeScopable, isMailboxAddress, maxScopedMailboxes, type ExchangeRbacChoice } from './exchange-rbac';
import { federatedFields, parseFederatedWorkload, type FederatedWorkload } from './federated-credential';

export { parseCertificatePem, InvalidCertificate };

export const requestFormFields = [
  'requestId',
  'name',
  'purpose',
  'audience',
  'platform',
  'redirectUris',
  'permissions',
  'otherPermissions',
  'permissionFilter',
  'credential',
  'secretDays',
  'certificatePem',
  ...federatedFields,
  'owners',
  'directoryRole',
  'exchangeRbac',
  'exchangeMailboxes',
  'publicClientFlows',
  'target',
  'targetOwners',
  'oidcConsent',
] as const;
export type RequestFormField = (typeof requestFormFields)[number];
/** 'form' holds what is wrong with the submission as a whole (unknown fields, size, another request's id). */
export type FormErrorKey = RequestFormField | 'form';

export const formLimits = {
  name: 120,
  purpose: 1000,
  permissionFilter: 100,
  otherPermissionLine: 200,
  owners: 20,
  /**
   * requiredResourceAccess: at most 50 resource APIs, and 400 permissions (30 when personal accounts sign in):
   * https://learn.microsoft.com/graph/api/resources/application and
   * https://learn.microsoft.com/entra/identity-platform/supported-accounts-validation.
   */
  resources: 50,
  /** The whole submission, as JSON: room for Graph's maximum of redirect URIs and a certificate. */
  payload: 128 * 1024,
} as const;

export const maxPermissions = (audience: SignInAudience) =>
  audience === 'AzureADandPersonalMicrosoftAccount' ? 30 : 400;

export const signInAudiences: readonly SignInAudience[] = [
  'AzureADMyOrg',
  'AzureADMultipleOrgs',
  'AzureADandPersonalMicrosoftAccount',
];
export const platforms: readonly Platform[] = ['none', 'web', 'spa', 'publicClient'];
/** 'federated': a federated identity credential, so no secret or private key exists for the app at all. */
export type CredentialKind = 'federated' | 'secret' | 'certificate' | 'none';
/**
 * The exchangeRbac toggle (Input.Toggle's default values): 'false', the Entra admin consent reaches every mailbox;
 * 'true', the mailbox permissions are declared only and scoped in Exchange Online.
 */
export const exchangeRbacValues = ['false', 'true'] as const;
/** In the order the form offers them: the safest first. */
export const credentialKinds: readonly CredentialKind[] = ['federated', 'secret', 'certificate', 'none'];

/** A permission on another resource API, by name; resolved against that resource's service principal at submission. */
export interface OtherApiPermission {
  resourceAppId: string;
  value: string;
  type: PermissionType;
}

export type CredentialChoice =
  | { kind: 'secret'; lifetimeDays: number }
  | { kind: 'certificate'; certificate: CertificateSpec }
  /** The workload as the person named it, and the credential Graph is given for it (its name derived here). */
  | { kind: 'federated'; workload: FederatedWorkload; credential: FederatedCredentialSpec }
  | { kind: 'none' };

export interface RequestForm {
  displayName: string;
  purpose: string;
  signInAudience: SignInAudience;
  platform: Platform;
  redirectUris: string[];
  /** Resolved from the catalog, whether chosen in the list or typed as a Microsoft Graph line. */
  graphPermissions: PermissionRef[];
  otherPermissions: OtherApiPermission[];
  credential: CredentialChoice;
  /**
   * Entra object ids, lower-case, without duplicates. From the card only as the people picker's ids; owners named by
   * user principal name (RequestFormResult.ownerPrincipalNames) join them once the directory has answered for them.
   */
  additionalOwnerIds: string[];
  directoryRole?: DirectoryRole;
  /**
   * Present when the requester chose to scope the mailbox permissions with Exchange RBAC for Applications: those are
   * declared on the app but never granted tenant-wide (exchange-rbac.ts).
   */
  exchangeRbac?: ExchangeRbacChoice;
  /**
   * A mobile and desktop app that also signs in without a redirect URI: device code, integrated Windows
   * authentication or username and password (isFallbackPublicClient).
   */
  publicClientFlows?: boolean;
  /** The key of the target directory (TARGET_DIRECTORY_<KEY>) the app is made in; absent: the Teams tenant. */
  target?: string;
  /** For a target: its owners there, by user principal name, lower-case, without duplicates (empty: the owners group). */
  targetOwnerUpns?: string[];
  /** 'declare': openid and offline_access are in the app's permissions but get no admin consent (a B2C management app). */
  oidcConsent?: 'declare';
}

/** The Teams tenant's value of the form's "Create the app in" choice. */
export const TEAMS_TENANT_CHOICE = 'teams';

/** The OpenID Connect scopes of Microsoft Graph the form can declare without consenting (oidcConsent). */
export const oidcScopes: readonly string[] = ['openid', 'offline_access'];

/** A user principal name as Entra ID accepts one: alias@domain (https://learn.microsoft.com/entra/identity/hybrid/connect/plan-connect-userprincipalname). */
const userPrincipalName = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/;
/** At most 113 characters: 64 before the @ and 48 after it. */
const isUserPrincipalName = (text: string) => text.length <= 113 && userPrincipalName.test(text);

export interface RequestFormContext {
  catalog: {
    /** A permission key (Type:id, what the card sends), or a bare id where it is unique. */
    byKey(key: string): CatalogPermission | undefined;
    byValue(value: string, type: PermissionType): CatalogPermission | undefined;
  };
  policy: { secretMaxDays: number; secretDefaultDays: number; namePrefix?: string };
  now: Date;
  /** The id the server gave this form when it sent it, when it knows it; any other id in the data is refused. */
  expectedRequestId?: string;
  /** The cloud the app is made in (GRAPH_CLOUD): personal Microsoft accounts sign in only in the global one. */
  cloud: GraphCloudName;
  /** The target directories the form offers (TARGET_DIRECTORY_<KEY>), by key and name. */
  targets?: ReadonlyArray<{ key: string; name: string }>;
  /** What the tenant's app management policies allow for a credential added now (read for this Submit); none: no policy. */
  credentialRules?: CredentialRules;
}

export type FormValues = Partial<Record<RequestFormField, string>>;

export type RequestFormResult =
  | {
      ok: true;
      form: RequestForm;
      requestId?: string;
      /**
       * Additional owners typed by user principal name (where the client has no people picker), lower-case, without
       * duplicates: the submission looks them up in the Teams tenant and adds their object ids to
       * form.additionalOwnerIds. Absent when none were typed.
       */
      ownerPrincipalNames?: string[];
    }
  | { ok: false; errors: Partial<Record<FormErrorKey, string>>; values: FormValues };

const permissionName = /^[A-Za-z0-9._:/~+-]{1,120}$/;
const listSeparators = /[\s,;]+/;
const short = (text: string) => (text.length > 40 ? `${text.slice(0, 37)}...` : text);

export const graphResource = { resourceAppId: MICROSOFT_GRAPH_APP_ID, resourceDisplayName: 'Microsoft Graph' } as const;

const typeWords: Record<string, PermissionType> = {
  role: 'Role',
  application: 'Role',
  app: 'Role',
  scope: 'Scope',
  delegated: 'Scope',
};

function withPrefix(name: string, prefix: string | undefined): string {
  if (!prefix || name === '' || name.toLowerCase().startsWith(prefix.toLowerCase())) return name;
  return `${prefix}${name}`;
}

/** Checks the form data of a request card. Pure: the catalog lookups and the clock come in `context`. */
export function validateRequestForm(input: unknown, context: RequestFormContext): RequestFormResult {
  const errors: Partial<Record<FormErrorKey, string>> = {};
  const values: FormValues = {};
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, errors: { form: 'The form arrived empty or damaged. Open a new one with `request`.' }, values };
  }
  const data = input as Record<string, unknown>;
  const known = new Set<string>(requestFormFields);
  const unknown = Object.keys(data).filter((key) => !known.has(key));
  if (unknown.length > 0) {
    errors.form = `The form held fields Registrar does not know (${unknown.slice(0, 5).map(short).join(', ')}). Open a new one with \`request\`.`;
  }
  const oversized = JSON.stringify(data).length > formLimits.payload;
  if (oversized)
    errors.form = 'The form is larger than Registrar accepts. Shorten the longest fields and send it again.';

  const text: Partial<Record<RequestFormField, string>> = {};
  for (const field of requestFormFields) {
    const value = data[field];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string') {
      errors[field] = 'This field must be text; the value sent was not.';
      continue;
    }
    text[field] = value;
    values[field] = oversized ? value.slice(0, 4096) : value;
  }
  const get = (field: RequestFormField) => text[field] ?? '';
  const fail = (field: RequestFormField, message: string) => {
    errors[field] ??= message;
  };

  const requestIdText = get('requestId').trim();
  const requestId = requestIdText === '' ? undefined : parseRequestId(requestIdText);
  if (
    requestIdText !== '' &&
    (!requestId || (context.expectedRequestId !== undefined && requestId !== context.expectedRequestId))
  ) {
    errors.form = 'This form belongs to another request. Open a new one with `request`.';
  } else if (requestIdText === '' && context.expectedRequestId !== undefined) {
    errors.form = 'This form has lost its request id. Open a new one with `request`.';
  }

  const displayName = withPrefix(normaliseText(get('name')), context.policy.namePrefix);
  const nameProblem = textProblem(displayName, { label: 'The app name', max: formLimits.name });
  if (nameProblem) fail('name', nameProblem);

  const purpose = normaliseText(get('purpose'));
  const purposeProblem = textProblem(purpose, { label: 'The purpose', max: formLimits.purpose, multiline: true });
  if (purposeProblem) fail('purpose', purposeProblem);

  const audienceText = get('audience').trim();
  const signInAudience = audienceText === '' ? 'AzureADMyOrg' : signInAudiences.find((a) => a === audienceText);
  if (!signInAudience)
    fail(
      'audience',
      personalAccountsIn(context.cloud)
        ? 'Choose who can sign in: this organisation only, any organisation, or any organisation and personal accounts.'
        : 'Choose who can sign in: this organisation only, or any organisation.',
    );
  else if (signInAudience === 'AzureADandPersonalMicrosoftAccount' && !personalAccountsIn(context.cloud))
    fail(
      'audience',
      'Personal Microsoft accounts cannot sign in to apps in this national cloud: choose this organisation only, or any organisation.',
    );

  const platform = platforms.find((p) => p === get('platform').trim());
  if (!platform)
    fail('platform', 'Choose a platform: none (daemon or API), web, single-page app, or mobile and desktop.');

  const redirectUris = [
    ...new Set(
      get('redirectUris')
        .split(/\r?\n/)
        .map((line) => line.trim())
        .filter(Boolean),
    ),
  ];
  if (platform === 'none' && redirectUris.length > 0) {
    fail(
      'redirectUris',
      'A daemon or API signs in with no redirect URI. Remove them, or choose web, single-page app, or mobile and desktop.',
    );
  } else if (platform === 'spa' && redirectUris.length === 0) {
    // A web app may have none (Entra ID keeps web.redirectUris empty: a confidential client that signs in no one,
    // like a directory reader); a single-page app exists only to sign people in at its redirect URIs.
    fail('redirectUris', 'Give at least one redirect URI, one per line, like https://app.contoso.com/auth/callback.');
  } else if (redirectUris.length > maxRedirectUris(signInAudience ?? 'AzureADMyOrg')) {
    fail(
      'redirectUris',
      `Entra ID accepts at most ${maxRedirectUris(signInAudience ?? 'AzureADMyOrg')} redirect URIs for this audience; you gave ${redirectUris.length}.`,
    );
  } else if (platform) {
    const rules = { platform, audience: signInAudience ?? 'AzureADMyOrg' };
    const problem = redirectUris.map((uri) => redirectUriProblem(uri, rules)).find(Boolean);
    const listProblem = problem ? undefined : redirectUriListProblem(redirectUris);
    if (problem ?? listProblem) fail('redirectUris', (problem ?? listProblem)!);
  }

  const flowsText = get('publicClientFlows').trim();
  const publicClientFlows = flowsText === 'true';
  if (flowsText !== '' && flowsText !== 'true' && flowsText !== 'false')
    fail(
      'publicClientFlows',
      'Say whether the app signs in with a device code or a desktop flow: tick the box, or not.',
    );
  else if (publicClientFlows && platform !== undefined && platform !== 'publicClient')
    fail(
      'publicClientFlows',
      'Device code and desktop sign-in (public client flows) are for mobile and desktop apps: choose that platform, or untick the box.',
    );
  else if (platform === 'publicClient' && redirectUris.length === 0 && !publicClientFlows)
    fail(
      'redirectUris',
      'A mobile and desktop app signs in through a redirect URI, like msauth.com.contoso.app://auth or http://localhost, or with a device code: give a redirect URI, or tick device code and desktop sign-in.',
    );

  const graphPermissions = new Map<string, PermissionRef>();
  const addGraph = (p: CatalogPermission) => graphPermissions.set(permissionKey(p), { ...graphResource, ...p });
  for (const id of get('permissions').split(listSeparators).filter(Boolean)) {
    const found = context.catalog.byKey(id);
    if (found) addGraph(found);
    else
      fail(
        'permissions',
        `Registrar does not know the Microsoft Graph permission ${short(id)}. Choose permissions from the list.`,
      );
  }

  const otherPermissions: OtherApiPermission[] = [];
  const otherLines = get('otherPermissions')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean);
  for (const line of otherLines) {
    // The permission and its type are the last two words; before them the API, by app id or by name (with spaces).
    const words = line.split(/[\s,;]+/).filter(Boolean);
    const typeWord = words.at(-1) ?? '';
    const value = words.at(-2) ?? '';
    const api = words.slice(0, -2).join(' ');
    const type = typeWords[typeWord.toLowerCase()];
    if (line.length > formLimits.otherPermissionLine || api === '' || !permissionName.test(value) || !type) {
      fail(
        'otherPermissions',
        `Write each line as: the API (its name or app id), the permission's name, application or delegated, like "Microsoft Partner Center user_impersonation delegated". This line is not: ${short(line)}`,
      );
      continue;
    }
    if (isAzureAdGraph(api)) {
      fail('otherPermissions', azureAdGraphRefusal(value, type));
      continue;
    }
    const appId = isGuid(api)
      ? api.toLowerCase()
      : api.toLowerCase() === graphResource.resourceDisplayName.toLowerCase()
        ? MICROSOFT_GRAPH_APP_ID
        : findResourceApi(api)?.appId;
    if (!appId) {
      fail(
        'otherPermissions',
        `Registrar does not know an API named ${short(api)}. Name one of ${knownResourceApiNames()}, or give the API's app id (Enterprise applications in the Entra admin center show it).`,
      );
      continue;
    }
    if (appId === MICROSOFT_GRAPH_APP_ID) {
      const found = context.catalog.byValue(value, type);
      if (found) addGraph(found);
      else fail('otherPermissions', `Microsoft Graph has no ${permissionKind(type)} permission named ${short(value)}.`);
      continue;
    }
    const entry = { resourceAppId: appId, value, type };
    if (!otherPermissions.some((p) => p.resourceAppId === entry.resourceAppId && p.value === value && p.type === type))
      otherPermissions.push(entry);
  }
  const permissionCount = graphPermissions.size + otherPermissions.length;
  const resourceCount = new Set([
    ...(graphPermissions.size > 0 ? [MICROSOFT_GRAPH_APP_ID] : []),
    ...otherPermissions.map((p) => p.resourceAppId),
  ]).size;
  const permissionLimit = maxPermissions(signInAudience ?? 'AzureADMyOrg');
  if (permissionCount > permissionLimit)
    fail(
      'permissions',
      `An app may ask for at most ${permissionLimit} permissions for this audience; this form asks for ${permissionCount}.`,
    );
  if (resourceCount > formLimits.resources)
    fail(
      'otherPermissions',
      `An app may ask for permissions on at most ${formLimits.resources} APIs; this form names ${resourceCount}.`,
    );

  const permissionFilterProblem = get('permissionFilter').length > formLimits.permissionFilter;
  if (permissionFilterProblem)
    fail('permissionFilter', `Search for at most ${formLimits.permissionFilter} characters.`);

  const credential = credentialChoice(get, context, platform, fail, values);

  // The people picker sends object ids; where the client has none, people are named by user principal name.
  const named = [
    ...new Set(
      get('owners')
        .split(listSeparators)
        .filter(Boolean)
        .map((name) => name.toLowerCase()),
    ),
  ];
  const owners = named.filter((name) => isGuid(name));
  const ownerPrincipalNames = named.filter((name) => !isGuid(name));
  const badOwner = ownerPrincipalNames.find((upn) => !isUserPrincipalName(upn));
  if (badOwner !== undefined)
    fail(
      'owners',
      `${short(badOwner)} is not a user principal name. Name each owner by the address they sign in with, like alex@contoso.com, separated by commas.`,
    );
  else if (named.length > formLimits.owners) fail('owners', `Name at most ${formLimits.owners} additional owners.`);

  const roleText = get('directoryRole').trim();
  const directoryRole = roleText === '' ? undefined : findDirectoryRole(roleText);
  if (roleText !== '' && !directoryRole) fail('directoryRole', 'Choose a directory role from the list, or none.');

  const exchangeRbac = exchangeChoice(get, [...graphPermissions.values()], fail);
  const targetText = get('target').trim().toLowerCase();
  const target =
    targetText === '' || targetText === TEAMS_TENANT_CHOICE
      ? undefined
      : context.targets?.find((t) => t.key === targetText);
  if (targetText !== '' && targetText !== TEAMS_TENANT_CHOICE && !target)
    fail('target', 'Choose where the app is created from the list.');
  const targetOwnerUpns = [
    ...new Set(
      get('targetOwners')
        .split(listSeparators)
        .filter(Boolean)
        .map((upn) => upn.toLowerCase()),
    ),
  ];
  if (target) {
    const bad = targetOwnerUpns.find((upn) => !isUserPrincipalName(upn));
    if (bad !== undefined)
      fail(
        'targetOwners',
        `${short(bad)} is not a user principal name. Name owners in ${target.name} like someone@${target.key}.onmicrosoft.com, separated by commas.`,
      );
    else if (targetOwnerUpns.length > formLimits.owners)
      fail('targetOwners', `Name at most ${formLimits.owners} owners in ${target.name}.`);
    if (named.length > 0)
      fail(
        'owners',
        `People of this Teams tenant cannot own an app in ${target.name}, another directory: name its owners there by user principal name instead, and leave this empty.`,
      );
  } else if (targetOwnerUpns.length > 0 && !(targetText !== '' && targetText !== TEAMS_TENANT_CHOICE)) {
    fail(
      'targetOwners',
      'Owners by user principal name are for an app made in another directory. Choose that directory, or leave this empty and pick owners above.',
    );
  }
  const oidcText = get('oidcConsent').trim();
  if (oidcText !== '' && oidcText !== 'grant' && oidcText !== 'declare')
    fail('oidcConsent', 'Choose whether openid and offline_access get admin consent.');

  if (Object.keys(errors).length > 0 || !signInAudience || !platform || !credential)
    return { ok: false, errors, values };
  return {
    ok: true,
    requestId,
    form: {
      displayName,
      purpose,
      signInAudience,
      platform,
      redirectUris: platform === 'none' ? [] : redirectUris,
      graphPermissions: [...graphPermissions.values()],
      otherPermissions,
      credential,
      additionalOwnerIds: owners,
      ...(directoryRole ? { directoryRole } : {}),
      ...(exchangeRbac ? { exchangeRbac } : {}),
      ...(publicClientFlows ? { publicClientFlows } : {}),
      ...(target ? { target: target.key, targetOwnerUpns } : {}),
      ...(oidcText === 'declare' ? { oidcConsent: 'declare' as const } : {}),
    },
    ...(ownerPrincipalNames.length > 0 ? { ownerPrincipalNames } : {}),
  };
}

/** The Exchange RBAC for Applications choice: only for mailbox permissions that have a role, with valid mailboxes. */
function exchangeChoice(
  get: (field: RequestFormField) => string,
  graphPermissions: readonly PermissionRef[],
  fail: (field: RequestFormField, message: string) => void,
): ExchangeRbacChoice | undefined {
  const scopeText = get('exchangeRbac').trim();
  const scope = scopeText === '' ? 'false' : exchangeRbacValues.find((s) => s === scopeText);
  const mailboxes = [
    ...new Set(
      get('exchangeMailboxes')
        .split(listSeparators)
        .filter(Boolean)
        .map((m) => m.toLowerCase()),
    ),
  ];
  if (!scope) {
    fail('exchangeRbac', 'Turn the Exchange scoping on or off; the value sent was neither.');
    return undefined;
  }
  if (scope === 'false') {
    if (mailboxes.length > 0)
      fail(
        'exchangeMailboxes',
        'Mailboxes apply only when mailbox access is scoped with Exchange RBAC for Applications. Turn that on, or leave the mailboxes empty.',
      );
    return undefined;
  }
  if (exchangeScopable(graphPermissions).length === 0) {
    fail(
      'exchangeRbac',
      'Only application permissions of mailboxes (Mail, Calendars, Contacts, MailboxSettings) can be scoped in Exchange, and this request asks for none. Add one, or turn this off.',
    );
    return undefined;
  }
  const bad = mailboxes.find((m) => !isMailboxAddress(m));
  if (bad !== undefined) {
    fail(
      'exchangeMailboxes',
      `${short(bad)} is not a mailbox address Registrar accepts: write each one like payroll@contoso.com (letters, digits and . _ % + - only).`,
    );
    return undefined;
  }
  if (mailboxes.length > maxScopedMailboxes) {
    fail(
      'exchangeMailboxes',
      `Name at most ${maxScopedMailboxes} mailboxes; for more, leave this empty and the Exchange administrator scopes the app to a group.`,
    );
    return undefined;
  }
  return { mailboxes };
}

function credentialChoice(
  get: (field: RequestFormField) => string,
  context: RequestFormContext,
  platform: Platform | undefined,
  fail: (field: RequestFormField, message: string) => void,
  values: FormValues,
): CredentialChoice | undefined {
  const pem = get('certificatePem').trim();
  let certificate: CertificateSpec | undefined;
  let pemProblem: string | undefined;
  if (pem !== '') {
    try {
      certificate = parseCertificatePem(pem, context.now);
    } catch (err) {
      if (!(err instanceof InvalidCertificate)) throw err;
      pemProblem = err.userMessage;
      // A private key is never sent back into a card, whatever credential was chosen.
      if (err.privateKey) {
        values.certificatePem = '';
        fail('certificatePem', err.userMessage);
      }
    }
  }

  const kind = credentialKinds.find((k) => k === get('credential').trim());
  if (!kind) {
    fail(
      'credential',
      'Choose a credential: a federated credential, a client secret, a certificate, or none (single-page and mobile apps only).',
    );
    return undefined;
  }
  if (kind === 'federated') {
    if (platform === 'spa' || platform === 'publicClient') {
      fail(
        'credential',
        'A single-page or mobile and desktop app runs where anyone can read it, so it cannot hold any credential: choose none, or the web or daemon platform.',
      );
      return undefined;
    }
    const federated = parseFederatedWorkload(Object.fromEntries(federatedFields.map((f) => [f, get(f)])));
    if (federated.ok) return { kind, workload: federated.workload, credential: federated.credential };
    for (const [field, message] of Object.entries(federated.errors)) fail(field as RequestFormField, message);
    return undefined;
  }
  if (kind === 'none') {
    if (platform === 'spa' || platform === 'publicClient') return { kind };
    fail(
      'credential',
      'Only a single-page app or a mobile and desktop app can go without a credential; choose a client secret or a certificate.',
    );
    return undefined;
  }
  const rules = context.credentialRules ?? noPolicyRules;
  if (kind === 'certificate') {
    const refused = certificate && certificateProblem(rules, certificate);
    if (pem === '')
      fail(
        'certificatePem',
        'Paste the public certificate (PEM), the block from -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----.',
      );
    else if (pemProblem) fail('certificatePem', pemProblem);
    else if (refused) fail('certificatePem', refused);
    return certificate && !refused ? { kind, certificate } : undefined;
  }
  const blocked = secretBlockedReason(rules);
  if (blocked) {
    fail('credential', `${blocked} Choose a certificate instead.`);
    return undefined;
  }
  const secretDefaultDays = context.policy.secretDefaultDays;
  const secretMaxDays = policySecretMaxDays(rules, context.policy.secretMaxDays, context.now);
  if (secretMaxDays < 1) {
    fail('credential', `${secretProblem(rules, 1, context.now)} Choose a certificate instead.`);
    return undefined;
  }
  const daysText = get('secretDays').trim();
  if (daysText === '') return { kind, lifetimeDays: Math.min(secretDefaultDays, secretMaxDays) };
  const days = /^\d{1,6}$/.test(daysText) ? Number(daysText) : NaN;
  if (!Number.isInteger(days) || days < 1) {
    fail('secretDays', `Give the secret's lifetime in whole days, from 1 to ${secretMaxDays}.`);
    return undefined;
  }
  if (days > secretMaxDays) {
    const policyWords =
      secretMaxDays < context.policy.secretMaxDays ? secretProblem(rules, days, context.now) : undefined;
    fail(
      'secretDays',
      policyWords
        ? `${policyWords} Ask for ${secretMaxDays} days or fewer, or use a certificate.`
        : `A client secret may live at most ${secretMaxDays} days here; ask for ${secretMaxDays} or fewer, or use a certificate.`,
    );
    return undefined;
  }
  return { kind, lifetimeDays: days };
}
