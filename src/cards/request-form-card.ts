import requestFormTemplate from '../../adaptiveCards/request-form.json';
import { findDirectoryRole, requestableDirectoryRoles } from '../domain/directory-roles';
import { permissionKey, type SearchablePermission } from '../domain/permission-search';
import {
  holdsPrivateKey,
  certificateHoldsPrivateKey,
  privateKeyInCertificateMessage,
  privateKeyInFieldMessage,
} from '../domain/private-key';
import {
  credentialKinds,
  exchangeRbacValues,
  formLimits,
  platforms,
  signInAudiences,
  TEAMS_TENANT_CHOICE,
  type CredentialKind,
  type FormErrorKey,
  type FormValues,
  type RequestFormField,
} from '../domain/request-form';
import type { SignInAudience } from '../domain/app-spec';
import { federatedFields, federatedWorkloadKinds, gitHubEntities } from '../domain/federated-credential';
import { noPolicyRules, policyWords, secretBlockedReason, type CredentialRules } from '../domain/credential-rules';
import type { AdaptiveCard } from './adaptive-card';
import { expandTemplate, safeText, TextLimit } from './render';
import { plural, tidy } from './request-card-parts';
import { Dataset, Verb } from './verbs';

/*
 * The request form (adaptiveCards/request-form.json): a new request, and the same form sent back by Find, by a
 * Submit the server refused, or after a dependency was down. Every value the person typed comes back, except a
 * private key (see withoutPrivateKeys).
 */

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
   * The client that will show the form runs Data.Query type-ahead (Teams; see src/bot/client-support.ts). Absent or
   * false: the form offers no type-ahead input; permissions are found with the Find box alone, and additional owners
   * are typed by user principal name instead of chosen with the people picker.
   */
  typeahead?: boolean;
  /**
   * The directories other than the Teams tenant an app can be made in (TARGET_DIRECTORY_<KEY>); none: the form does
   * not ask where.
   */
  targets?: ReadonlyArray<{ key: string; name: string }>;
  /**
   * Names of the people in values.owners, by Entra object id, offered as the people picker's choices by name. Teams
   * resolves ids it is given without this.
   */
  ownerNames?: Readonly<Record<string, string>>;
  /** The audiences this cloud offers (audiencesIn); all three when absent. */
  audiences?: readonly SignInAudience[];
  /**
   * What the tenant's app management policies allow (policy.secretMaxDays is already capped by them): no secret
   * choice when they block secrets, and a line that says what they allow, or that they could not be read.
   */
  credentialRules?: CredentialRules;
}

/** The line under the credential choice: what the policy allows, in its terms, or that it could not be read. */
function credentialPolicyLine(rules: CredentialRules): string | undefined {
  if (rules.unreadable) return rules.unreadable;
  const said = [
    secretBlockedReason(rules),
    rules.secretMaxLifetime ? `client secrets live at most ${rules.secretMaxLifetime} (passwordLifetime)` : undefined,
    rules.certificateMaxLifetime
      ? `certificates are valid at most ${rules.certificateMaxLifetime} (asymmetricKeyLifetime)`
      : undefined,
  ].filter(Boolean);
  if (said.length === 0) return undefined;
  const [blocked, ...limits] = rules.passwordBlocked ? said : [undefined, ...said];
  const limitLine = limits.length > 0 ? `Under ${policyWords(rules.policy)}, ${limits.join(' and ')}.` : undefined;
  return [blocked, limitLine].filter(Boolean).join(' ');
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
  // A federated credential's fields: a little above what the server accepts (federated-credential.ts).
  githubOrganization: { max: 60 },
  githubRepository: { max: 120 },
  githubEntityName: { max: 260 },
  kubernetesNamespace: { max: 70 },
  kubernetesServiceAccount: { max: 260 },
  federatedIssuer: { max: 620 },
  federatedSubject: { max: 620 },
  exchangeMailboxes: { max: 700, multiline: true },
  // 20 owners (formLimits.owners) of about 45 characters each.
  targetOwners: { max: 900, multiline: true },
  // The additional owners as typed where there is no people picker: user principal names, like targetOwners.
  owners: { max: 900 },
} as const;

/** A message under a field, or a notice: the server's are one or two sentences. */
const messageLimit = 250;
const shortMessageLimit = 120;
/** The last resort, when even short messages under every field leave the card too large. */
const shortestMessageLimit = 40;

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

/**
 * How a permission's row starts: the kind in words, so that an application permission and a delegated one of the
 * same name differ at a glance, not by one word in brackets (the form explains both kinds above the list).
 */
const kindLabels: Record<SearchablePermission['type'], string> = {
  Role: 'Application (acts as itself)',
  Scope: 'Delegated (acts as the signed-in person)',
};
const shortKindLabels: Record<SearchablePermission['type'], string> = { Role: 'Application', Scope: 'Delegated' };

/** A permission as Teams' type-ahead lists it: one line, its kind in the same words as the form's rows. */
export function typeaheadTitle(p: SearchablePermission): string {
  const kind = kindLabels[p.type] ?? kindLabels.Scope;
  return `${kind}: ${safeText(p.value, { max: 120 })} · ${p.adminConsentRequired ? 'admin consent' : 'no admin consent'}`;
}

/**
 * Far above any description Microsoft Graph has (the longest is about 400 characters): a description is shown whole,
 * and the budget is kept by showing fewer results instead.
 */
const descriptionLimit = 1000;

/** `short`: the kind and the name alone, for a chosen permission when nothing else keeps the form within budget. */
function permissionTitle(p: SearchablePermission, short = false): string {
  const value = safeText(p.value, { max: 120 });
  if (short) return `${shortKindLabels[p.type] ?? shortKindLabels.Scope}: ${value}`;
  const about = safeText(p.description || p.displayName, { max: descriptionLimit });
  return [
    `${kindLabels[p.type] ?? kindLabels.Scope}: ${value}`,
    p.adminConsentRequired ? 'admin consent' : 'no admin consent',
    about,
  ]
    .filter(Boolean)
    .join(' · ');
}

/** Delegated rows together, then application rows, each group in the order given (the search's best first). */
function byKind(permissions: readonly SearchablePermission[]): SearchablePermission[] {
  return [...permissions.filter((p) => p.type !== 'Role'), ...permissions.filter((p) => p.type === 'Role')];
}

function matchLine(filterText: string | undefined, count: number, matchesTotal: number): string | undefined {
  const filter = safeText(filterText, { max: formLimits.permissionFilter });
  const total = Math.max(matchesTotal, count);
  if (filter) {
    if (total === 0) return `No permission matches “${filter}”. Try part of a name, like Mail or User.Read.`;
    if (count < total)
      return `Showing ${count} of ${total} permissions that match “${filter}”: search for more words to narrow them down.`;
    return `${plural(total, 'permission matches', 'permissions match')} “${filter}”. Tick the ones the app needs.`;
  }
  if (count === 0) return undefined;
  return count < total
    ? `Showing ${count} of ${total} permissions: search to find others.`
    : `Showing ${plural(count, 'permission')}.`;
}

export function renderRequestForm(shownView: RequestFormView): AdaptiveCard {
  const view = withoutPrivateKeys(shownView);
  const chosen = new Set(view.selected.map((p) => permissionKey(p)));
  const found = view.matches.filter((p) => !chosen.has(permissionKey(p)));
  // A choice set with Data.Query is Teams' type-ahead ("Typeahead search in Adaptive Cards",
  // https://learn.microsoft.com/microsoftteams/platform/task-modules-and-cards/cards/dynamic-search: Teams desktop,
  // web and mobile). Other hosts of the adaptivecards library, the Agents Playground among them, send no
  // application/search invoke and render it as a text box that finds nothing and submits nothing when multi-select.
  // A `fallback` cannot tell them apart: a host falls back only from an element type or a `requires` it does not
  // know, and every host knows Input.ChoiceSet. So the server decides (view.typeahead, from the activity), and only
  // while there is nothing to tick: chosen or found permissions are a plain list, which every client submits. The
  // Find box and its button are on every form and work everywhere.
  const typeahead = view.typeahead === true && view.selected.length === 0 && view.matches.length === 0;
  let card: AdaptiveCard | undefined;
  // Whole descriptions make each result a few hundred bytes: a form too large for a Teams message shows fewer.
  const counts = [...new Set([found.length, 20, 15, 10, 5, 3, 1, 0])].filter((n) => n <= found.length);
  // Then, when every field holds a long message at once: the messages are cut shorter; the summaries name the
  // fields without repeating their messages; then a chosen permission shows only its kind and name (the person has
  // read its description, and ticked it); and at last the people picker is given the owners' ids without their
  // names, which Teams looks up itself; and last, the fields of the credentials not chosen go empty, with their
  // messages (the server only ever reports the chosen credential's).
  const full = {
    messageLimit,
    summary: 'messages',
    chosen: 'whole',
    ownerNames: true,
    otherCredentials: true,
  } as const;
  const attempts = [
    ...counts.map((count) => ({ ...full, count })),
    { ...full, count: 0, messageLimit: shortMessageLimit },
    { ...full, count: 0, messageLimit: shortestMessageLimit, summary: 'names' },
    { ...full, count: 0, messageLimit: shortestMessageLimit, summary: 'count', chosen: 'short' },
    { ...full, count: 0, messageLimit: shortestMessageLimit, summary: 'count', chosen: 'short', ownerNames: false },
    {
      count: 0,
      messageLimit: shortestMessageLimit,
      summary: 'count',
      chosen: 'short',
      ownerNames: false,
      otherCredentials: false,
    },
  ] as const;
  for (const { count, messageLimit: limit, summary, chosen: chosenRows, ownerNames, otherCredentials } of attempts) {
    const shown = otherCredentials ? view : onlyChosenCredential(view);
    card = tidy(
      expandTemplate(requestFormTemplate, {
        ...formModel(ownerNames ? shown : { ...shown, ownerNames: {} }, limit, summary),
        ...permissionList(
          [
            ...byKind(view.selected).map((p) => ({ p, short: chosenRows === 'short' })),
            ...byKind(found.slice(0, count)).map((p) => ({ p, short: false })),
          ],
          typeahead,
        ),
        typeahead,
        matchLine: matchLine(view.filter, count, view.matchesTotal),
      }),
    );
    if (Buffer.byteLength(JSON.stringify(card), 'utf8') <= formBudgetBytes) break;
  }
  return keepEdges(card!);
}

/** The fields each credential uses; the form shows them all, as a card cannot hide inputs by another input's value. */
const credentialFields: Record<CredentialKind, readonly RequestFormField[]> = {
  federated: federatedFields,
  secret: ['secretDays'],
  certificate: ['certificatePem'],
  none: [],
};

/** The view without the values and messages of the credentials other than the chosen one (the form's default: secret). */
function onlyChosenCredential(view: RequestFormView): RequestFormView {
  const chosen = credentialKinds.find((k) => k === view.values.credential?.trim()) ?? 'secret';
  const values: FormValues = { ...view.values };
  const errors: Partial<Record<FormErrorKey, string>> = { ...view.errors };
  for (const kind of credentialKinds.filter((k) => k !== chosen))
    for (const field of credentialFields[kind]) {
      delete values[field];
      delete errors[field];
    }
  return { ...view, values, errors };
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
  federatedWorkload: 'what will act as the app',
  githubOrganization: 'the GitHub organisation',
  githubRepository: 'the GitHub repository',
  githubEntity: 'which GitHub runs may act as the app',
  githubEntityName: 'the environment, branch or tag name',
  kubernetesNamespace: 'the Kubernetes namespace',
  kubernetesServiceAccount: 'the Kubernetes service account',
  federatedIssuer: 'the issuer URL',
  federatedSubject: 'the subject',
  owners: 'the owners',
  directoryRole: 'the directory role',
  exchangeRbac: 'how mailbox permissions are granted',
  exchangeMailboxes: 'the mailboxes',
  publicClientFlows: 'device code and desktop sign-in',
  target: 'where the app is created',
  targetOwners: 'the owners in the other directory',
  oidcConsent: 'the consent to openid and offline_access',
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
    errors[field] =
      field === 'certificatePem' ? privateKeyInCertificateMessage : privateKeyInFieldMessage(fieldNames[field]);
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

/**
 * Each field as the form labels it, in the order the form shows them: the summary of what to change, at the top and
 * by the Submit button, names the fields this way.
 */
const fieldLabels: Record<Exclude<RequestFormField, 'requestId'>, string> = {
  name: 'App name',
  purpose: 'Purpose',
  audience: 'Who can sign in',
  platform: 'Platform',
  redirectUris: 'Redirect URIs',
  publicClientFlows: 'Sign-in without a redirect URI',
  permissions: 'Microsoft Graph permissions',
  permissionFilter: 'Find permissions',
  otherPermissions: 'Permissions on other APIs',
  exchangeRbac: 'Exchange RBAC for Applications',
  exchangeMailboxes: 'Mailboxes',
  credential: 'How the app proves who it is',
  federatedWorkload: 'What will act as the app',
  githubOrganization: 'GitHub organisation or user',
  githubRepository: 'GitHub repository',
  githubEntity: 'Which runs may act as the app',
  githubEntityName: 'Environment, branch or tag name',
  kubernetesNamespace: 'Namespace',
  kubernetesServiceAccount: 'Service account',
  federatedIssuer: 'Issuer URL',
  federatedSubject: 'Subject',
  secretDays: 'Client secret lifetime',
  certificatePem: 'Public certificate',
  owners: 'Additional owners',
  directoryRole: 'Directory role',
  target: 'Create the app in',
  targetOwners: 'Owners in that directory',
  oidcConsent: 'Admin consent to openid and offline_access',
};

/** "App name", "App name and Purpose", "App name, Purpose and Platform". */
function listed(names: readonly string[]): string {
  return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

/**
 * What a Submit the server refused must change, for the summaries at the top and just above the Submit button: the
 * person clicked Submit at the bottom of a long form, and must see there, without scrolling, that nothing was sent
 * and why. Each message is also under its own field.
 */
type Summary = 'messages' | 'names' | 'count';

/**
 * What a Submit the server refused must change, for the summaries at the top and just above the Submit button: the
 * person clicked Submit at the bottom of a long form, and must see there, without scrolling, that nothing was sent
 * and why. Each message is also under its own field. `summary` says how much the summaries repeat: each field with
 * its message by the Submit button (the form as it should be), or, for a form too large for that, the fields' names,
 * or how many there are.
 */
function problemsOf(errors: Partial<Record<FormErrorKey, string>>, summary: Summary) {
  const problems = (Object.keys(fieldLabels) as Array<keyof typeof fieldLabels>)
    .filter((field) => errors[field])
    .map((field) => ({ label: fieldLabels[field], message: errors[field]! }));
  const count = plural(problems.length, 'field needs', 'fields need');
  const line =
    summary === 'count'
      ? `${count} a change. Each has a message under it.`
      : `${count} a change: ${listed(problems.map((p) => p.label))}. Each has a message under it.`;
  return {
    notSent: problems.length > 0 || errors.form !== undefined,
    problemsLine: problems.length > 0 ? line : undefined,
    problems: summary === 'messages' ? problems : [],
    problemsBrief: summary !== 'messages' && problems.length > 0 ? line : undefined,
  };
}

const audienceTitles: Record<SignInAudience, string> = {
  AzureADMyOrg: 'This organisation only',
  AzureADMultipleOrgs: 'Any organisation',
  AzureADandPersonalMicrosoftAccount: 'Any organisation and personal Microsoft accounts',
};

/**
 * The chosen permissions first, then the search results, each once; `listed` when there is anything to tick. With
 * nothing to tick and no type-ahead, the form shows no permission input at all (an empty list would be a box that
 * does nothing) and says how to find them.
 */
function permissionList(
  permissions: ReadonlyArray<{ p: SearchablePermission; short: boolean }>,
  typeahead: boolean,
): { permissionChoices: { title: string; value: string }[]; listed: boolean } {
  const choices = new Map<string, { title: string; value: string }>();
  for (const { p, short } of permissions) {
    const key = safeText(permissionKey(p), { max: TextLimit.reference });
    if (key && !choices.has(key)) choices.set(key, { title: permissionTitle(p, short), value: key });
  }
  if (choices.size > 0) return { permissionChoices: [...choices.values()], listed: !typeahead };
  // The adaptivecards library refuses a choice set without choices; Teams adds what its type-ahead finds to this one.
  return { permissionChoices: [{ title: 'No permission chosen yet', value: noValue }], listed: false };
}

/** Everything on the form but the permission choices. */
function formModel(view: RequestFormView, limit: number, summary: Summary) {
  const v = view.values;
  const echo = (field: keyof typeof echoLimits) => safeText(v[field], echoLimits[field]);
  const selectedIds = view.selected
    .map((p) => safeText(permissionKey(p), { max: TextLimit.reference }))
    .filter(Boolean);

  // The people picker's choices: Teams looks up the people it is given by id, and shows by name those named here.
  const ownerIds = [
    ...new Set(
      (v.owners ?? '')
        .split(/[\s,;]+/)
        .map((id) => safeText(id, { max: TextLimit.reference }))
        .filter(Boolean),
    ),
  ].slice(0, formLimits.owners);
  const ownerChoices = ownerIds
    .map((id) => ({
      title: safeText(view.ownerNames?.[id] ?? view.ownerNames?.[id.toLowerCase()], { max: 60 }),
      value: id,
    }))
    .filter((choice) => choice.title);

  const errors: Partial<Record<FormErrorKey, string>> = {};
  for (const [key, message] of Object.entries(view.errors) as [FormErrorKey, unknown][]) {
    const text = safeText(message, { max: limit, multiline: true });
    if (text) errors[key] = text;
  }

  const offered = view.audiences ?? signInAudiences;
  const audiences = signInAudiences.filter((a) => offered.includes(a));
  const targets = [
    { title: 'The Teams tenant (where you are)', value: TEAMS_TENANT_CHOICE },
    ...(view.targets ?? []).map((t) => ({
      title: safeText(t.name, { max: 60 }),
      value: safeText(t.key, { max: TextLimit.reference }),
    })),
  ];
  const { secretMaxDays, secretDefaultDays } = view.policy;
  const defaultDays = Math.min(secretDefaultDays, secretMaxDays);
  const rules = view.credentialRules ?? noPolicyRules;
  const secretOffered = !rules.passwordBlocked;
  const chosenCredential = credentialKinds.find((k) => k === v.credential?.trim());
  const prefix = safeText(view.policy.namePrefix, { max: 50 });
  return {
    requestId: safeText(view.requestId, { max: TextLimit.reference }),
    verb: Verb,
    dataset: Dataset.graphPermissions,
    notice: safeText(view.notice, { max: limit, multiline: true }) || undefined,
    errors,
    ...problemsOf(errors, summary),
    values: {
      name: echo('name'),
      purpose: echo('purpose'),
      audience: audiences.find((a) => a === v.audience?.trim()) ?? 'AzureADMyOrg',
      platform: platforms.find((p) => p === v.platform?.trim()) ?? 'none',
      redirectUris: echo('redirectUris'),
      otherPermissions: echo('otherPermissions'),
      permissionFilter: echo('permissionFilter') || safeText(view.filter, { max: formLimits.permissionFilter }),
      credential:
        chosenCredential && (secretOffered || chosenCredential !== 'secret')
          ? chosenCredential
          : secretOffered
            ? 'secret'
            : 'certificate',
      secretDays: echo('secretDays'),
      certificatePem: echo('certificatePem'),
      federatedWorkload: federatedWorkloadKinds.find((k) => k === v.federatedWorkload?.trim()) ?? 'github',
      githubOrganization: echo('githubOrganization'),
      githubRepository: echo('githubRepository'),
      githubEntity: gitHubEntities.find((e) => e === v.githubEntity?.trim()) ?? 'environment',
      githubEntityName: echo('githubEntityName'),
      kubernetesNamespace: echo('kubernetesNamespace'),
      kubernetesServiceAccount: echo('kubernetesServiceAccount'),
      federatedIssuer: echo('federatedIssuer'),
      federatedSubject: echo('federatedSubject'),
      directoryRole: findDirectoryRole(v.directoryRole ?? '')?.templateId ?? noValue,
      exchangeRbac: exchangeRbacValues.find((s) => s === v.exchangeRbac?.trim()) ?? 'false',
      exchangeMailboxes: echo('exchangeMailboxes'),
      publicClientFlows: v.publicClientFlows?.trim() === 'true' ? 'true' : 'false',
      target: targets.some((t) => t.value === v.target?.trim().toLowerCase())
        ? v.target!.trim().toLowerCase()
        : TEAMS_TENANT_CHOICE,
      targetOwners: echo('targetOwners'),
      owners: echo('owners'),
      oidcConsent: v.oidcConsent?.trim() === 'declare' ? 'declare' : 'grant',
    },
    audienceChoices: audiences.map((value) => ({ title: audienceTitles[value], value })),
    audienceHelp: audiences.includes('AzureADandPersonalMicrosoftAccount')
      ? 'Letting other organisations sign in makes the request high risk.'
      : 'Letting other organisations sign in makes the request high risk. Personal Microsoft accounts do not exist in this national cloud.',
    hasTargets: targets.length > 1,
    targetChoices: targets,
    help: {
      name: `Up to ${formLimits.name} characters.${prefix ? ` Registrar puts “${prefix}” in front of it.` : ''}`,
      secretDays: `For a client secret: from 1 to ${secretMaxDays} days. Left empty, it lasts ${defaultDays} days.`,
      exchangeMailboxes: `Mailboxes to reach, one per line`,
    },
    secretPlaceholder: String(defaultDays),
    secretOffered,
    credentialPolicy: safeText(credentialPolicyLine(rules), { max: 600, multiline: true }) || undefined,
    permissionsValue: selectedIds.join(','),
    // The people picker is a Data.Query type-ahead too: where the client runs none, it would be a box that finds
    // nobody, so people are named by user principal name in a text box instead, and looked up at Submit.
    peoplePicker: view.typeahead === true,
    ownerChoices: ownerChoices.length > 0 ? ownerChoices : [{ title: 'No additional owners', value: noValue }],
    ownersValue: ownerIds.join(','),
    roleChoices: [
      { title: 'None', value: noValue },
      ...requestableDirectoryRoles.map((role) => ({
        title: `${role.displayName}: ${role.summary}`,
        value: role.templateId,
      })),
    ],
  };
}
