import ownerReminderTemplate from '../../adaptiveCards/owner-reminder.json';
import reminderDigestTemplate from '../../adaptiveCards/reminder-digest.json';
import reminderRoutesTemplate from '../../adaptiveCards/reminder-routes.json';
import rotationCleanupTemplate from '../../adaptiveCards/rotation-cleanup.json';
import { credentialUse, type SignInEvidence } from '../domain/credential-evidence';
import { byUrgency, type ExpiringCredential } from '../domain/expiry';
import type { AdaptiveCard } from './adaptive-card';
import { expandTemplate, formatUtc, safeText, TextLimit } from './render';
import { plural } from './request-card-parts';
import { Verb } from './verbs';
import { isGuid } from '../domain/guid';
import { describeRule, type ReminderRule, ruleText } from '../domain/reminder-routes';

/*
 * The expiry reminders: the reminders channel's digest, the owner's personal
 * reminder, and the card that asks an owner whether to remove the old credential after a rotation. As in cards.ts, each
 * renderer builds a flat view model and every string from the directory goes through safeText; all of it lands in
 * TextRuns, except the owners' names of the digest (see mentionName).
 */

/**
 * The JSON bytes a digest card may take, Teams mention entities included. Teams carries about 28 KB per message, and
 * the activity around the card (its attachment envelope, conversation and service fields) takes some of that.
 */
export const digestCardBudget = 24 * 1024;

/** The personal reminder lists at most this many credentials (fewer when they would not fit within digestCardBudget). */
export const ownerReminderMax = 20;

/** Owners named on one credential of the digest; the rest are counted, which keeps one credential far below the budget. */
const ownersShown = 5;

/** A credential whose date cannot be read is still listed: a broken date must not stop a reminder. */
function dateOf(value: Date | string): string {
  try {
    return formatUtc(value);
  } catch {
    return 'an unknown date';
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Words

/** "Expired", "Expiring within 1 day", "Expiring within 30 days". */
export function thresholdLabel(threshold: number): string {
  return threshold <= 0 ? 'Expired' : `Expiring within ${plural(threshold, 'day')}`;
}

/**
 * A group's urgency as the style of its heading's container. Not as a text colour: Teams' Warning and Attention text
 * fail WCAG AA contrast (about 1.5:1 on white, 3.2:1 on the dark theme's grey), while Default text on these styles'
 * light backgrounds keeps it in both themes.
 */
function thresholdStyle(threshold: number): string {
  if (threshold <= 1) return 'attention';
  return threshold <= 14 ? 'warning' : 'emphasis';
}

/**
 * "expired 3 days ago", "expired today", "expires today", "2 days left". daysLeft is rounded down, so -1 means it
 * expired less than a day ago, and 0 on a credential not yet expired means less than a day is left.
 */
export function daysLeftWords(credential: Pick<ExpiringCredential, 'daysLeft' | 'threshold'>): string {
  const { daysLeft, threshold } = credential;
  if (threshold <= 0 || daysLeft < 0) {
    const ago = Math.max(0, -daysLeft - 1);
    return ago === 0 ? 'expired today' : `expired ${plural(ago, 'day')} ago`;
  }
  return daysLeft <= 0 ? 'expires today' : `${plural(daysLeft, 'day')} left`;
}

// ---------------------------------------------------------------------------------------------------------------
// Mentions

export interface MentionEntity {
  type: 'mention';
  /** Exactly the `<at>…</at>` text in the card. */
  text: string;
  /** Teams accepts a user's Entra object id here. */
  mentioned: { id: string; name: string };
}

/** Markdown (emphasis, links, code, strike, escapes), HTML and mention tags, entities, and templating or {{DATE()}} braces. */
const MARKUP = /[<>[\]{}*_~`\\&]/g;

/**
 * An owner's display name made fit for a TextBlock's text. Teams makes `<at>Name</at>` a mention only in a TextBlock,
 * whose text it reads as markdown (and as mention tags): this is the one place the cards put directory text outside a
 * TextRun. So besides what safeText removes, the name loses every character that could open markup: `</at><at>Global
 * Admin` cannot close the mention and open another, `[x](https://evil)` cannot become a link (nor can a bare address:
 * `://` goes too), `**`, `_` and backticks cannot format, and with no braces neither `${...}` nor `{{DATE()}}` is left.
 * The person stays recognisable by what remains, and the mention entity carries the real id.
 */
export function mentionName(name: unknown): string {
  const cleaned = safeText(name, { max: TextLimit.personName }).replace(MARKUP, '').replace(/:\/+/g, ':');
  return safeText(cleaned, { max: TextLimit.personName });
}

/** The mentions of one card: one entity per person, and a different text for two people whose names read the same. */
class Mentions {
  private readonly byId = new Map<string, MentionEntity>();
  private readonly idByText = new Map<string, string>();

  constructor(private readonly names: Readonly<Record<string, string>>) {}

  /** `<at>Name</at>` for an owner with a known name and a valid id; otherwise plain, safe words. */
  owner(rawId: string): string {
    const id = isGuid(rawId) ? rawId.toLowerCase() : undefined;
    const key = [rawId, id].find((k) => k !== undefined && Object.hasOwn(this.names, k));
    const name = mentionName(key === undefined ? undefined : this.names[key]);
    if (!id) return name || 'an owner';
    if (!name) return `an owner (id ${id})`;
    const known = this.byId.get(id);
    if (known) return known.text;
    let text = `<at>${name}</at>`;
    if (this.idByText.has(text)) text = `<at>${name} (${id.slice(0, 8)})</at>`;
    this.idByText.set(text, id);
    this.byId.set(id, { type: 'mention', text, mentioned: { id, name } });
    return text;
  }

  entities(): MentionEntity[] {
    return [...this.byId.values()];
  }
}

/** "Owners: <at>Megan Bowen</at>, an owner (id …) and 3 more". Every piece is a cleaned name, a mention or a GUID. */
function ownersLine(ownerIds: readonly string[], mentions: Mentions): string {
  const ids = [...new Set(ownerIds.filter((id) => typeof id === 'string'))];
  if (ids.length === 0) return 'Owners: none recorded';
  const named = ids.slice(0, ownersShown).map((id) => mentions.owner(id));
  const more = ids.length - named.length;
  const parts = more > 0 ? [...named, plural(more, 'more owner')] : named;
  const list = parts.length === 1 ? parts[0]! : `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]!}`;
  return `${ids.length === 1 ? 'Owner' : 'Owners'}: ${list}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Credentials, grouped by urgency

interface CredentialItem {
  appName: string;
  appId: string;
  /** "App registration" or "Enterprise application (service principal)": which object holds the credential. */
  holder: string;
  /** The Rotate button's appId; no button without one. */
  rotate?: string;
  /** How a credential Rotate cannot renew is renewed (a SAML signing certificate). */
  renew?: string;
  kind: string;
  name?: string;
  hint?: string;
  thumbprint?: string;
  left: string;
  expiry: string;
  owners?: string;
}

/** Which object holds a credential, in the Entra admin center's words. */
export function holderLabel(credential: Pick<ExpiringCredential, 'source'>): string {
  return credential.source === 'servicePrincipal' ? 'Enterprise application (service principal)' : 'App registration';
}

/**
 * How a SAML token-signing certificate is renewed
 * (https://learn.microsoft.com/entra/identity/enterprise-apps/tutorial-manage-certificates-for-federated-single-sign-on).
 */
export const samlRenewal =
  "Renew it in the enterprise application's Single sign-on page in the Entra admin center: create a new certificate, make it active, then update the service provider.";

function credentialItem(credential: ExpiringCredential): CredentialItem {
  const expired = credential.threshold <= 0 || credential.daysLeft < 0;
  const appId = safeText(credential.appId, { max: TextLimit.reference });
  // Rotate gives an application a new client secret: it renews nothing a service principal holds.
  const rotatable = credential.source !== 'servicePrincipal' && !credential.samlSigning;
  return {
    appName: safeText(credential.appName, { max: TextLimit.title }) || 'Unnamed app',
    appId: appId || 'appId not known',
    holder: holderLabel(credential),
    rotate: rotatable ? appId || undefined : undefined,
    renew: credential.samlSigning ? samlRenewal : undefined,
    kind: credential.samlSigning
      ? 'SAML signing certificate'
      : credential.kind === 'certificate'
        ? 'Certificate'
        : 'Client secret',
    name: safeText(credential.displayName, { max: TextLimit.title }) || undefined,
    hint: credential.kind === 'secret' ? safeText(credential.hint, { max: 10 }) || undefined : undefined,
    thumbprint:
      credential.kind === 'certificate'
        ? safeText(credential.thumbprint, { max: TextLimit.reference }) || undefined
        : undefined,
    left: daysLeftWords(credential),
    expiry: `${expired ? 'expired on' : 'expires on'} ${dateOf(credential.endDateTime)}`,
  };
}

/** Most urgent first, one group per threshold. */
function groupsOf(
  credentials: readonly ExpiringCredential[],
  item: (credential: ExpiringCredential) => CredentialItem,
) {
  const groups: { threshold: number; label: string; style: string; items: CredentialItem[] }[] = [];
  for (const credential of [...credentials].sort(byUrgency)) {
    const last = groups[groups.length - 1];
    if (last && last.threshold === credential.threshold) last.items.push(item(credential));
    else
      groups.push({
        threshold: credential.threshold,
        label: thresholdLabel(credential.threshold),
        style: thresholdStyle(credential.threshold),
        items: [item(credential)],
      });
  }
  return groups;
}

const bytesOf = (card: AdaptiveCard) => Buffer.byteLength(JSON.stringify(card), 'utf8');

/**
 * The largest n in [1, max] whose card fits within budget (1 when none does: a credential is never dropped). Card size
 * grows with n, so this gallops up from `guess` and then halves the gap, rendering cards of about the final size only.
 */
function largestFitting(max: number, budget: number, render: (n: number) => AdaptiveCard, guess = 8): number {
  const fits = (n: number) => bytesOf(render(n)) <= budget;
  let low = 1;
  let high = max;
  let probe = Math.min(Math.max(1, guess), max);
  while (probe > low && fits(probe)) {
    low = probe;
    if (probe === max) return max;
    probe = Math.min(probe * 2, max);
  }
  if (probe > low) high = probe - 1;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (fits(mid)) low = mid;
    else high = mid - 1;
  }
  return low;
}

// ---------------------------------------------------------------------------------------------------------------
// The reminders channel's digest

/** Teams refreshes a card automatically for at most 60 users (Universal Actions, refresh.userIds). */
export const maxRefreshUsers = 60;

/** Credentials a digest refresh accepts back from its card: more than any card within digestCardBudget holds. */
const maxRefreshCredentials = 200;

export interface ReminderDigestView {
  credentials: readonly ExpiringCredential[];
  scanAt: Date | string;
  /** Entra object id → display name, for the mentions. An owner without a name is listed by id, not mentioned. */
  ownerNames?: Readonly<Record<string, string>>;
  /** When the digest is split over several cards: this card's place, from 1. */
  part?: { index: number; count: number };
  /**
   * Entra object id → Teams user id (29:...) of the owners Registrar knows in Teams. Teams refreshes the card for the
   * owners of its apps (at most maxRefreshUsers), so they see Rotate; without one, nobody sees Rotate on the card.
   */
  ownerTeamsIds?: Readonly<Record<string, string>>;
  /**
   * For a refresh: the applications (object ids) the person viewing the card owns, read from the directory. Only
   * their rows offer Rotate; the card as posted, for everyone, offers none.
   */
  ownedApplications?: ReadonlySet<string>;
}

/** What the digest's refresh carries back to Registrar: the card's own content, ids and words, never a right. */
interface DigestRefreshData {
  scanAt: string;
  part?: { index: number; count: number };
  ownerNames: Record<string, string>;
  ownerTeamsIds: Record<string, string>;
  credentials: Array<Omit<ExpiringCredential, 'keyId' | 'managed'>>;
}

const lower = (id: string) => id.toLowerCase();

function refreshDataOf(view: ReminderDigestView): DigestRefreshData {
  const owners = new Set(view.credentials.flatMap((c) => c.ownerIds ?? []).map(lower));
  const pick = (from: Readonly<Record<string, string>> | undefined) =>
    Object.fromEntries(Object.entries(from ?? {}).filter(([id]) => owners.has(lower(id))));
  return {
    scanAt: typeof view.scanAt === 'string' ? view.scanAt : view.scanAt.toISOString(),
    ...(view.part ? { part: view.part } : {}),
    ownerNames: pick(view.ownerNames),
    ownerTeamsIds: pick(view.ownerTeamsIds),
    credentials: view.credentials.map((c) => ({
      applicationObjectId: c.applicationObjectId,
      source: c.source,
      samlSigning: c.samlSigning,
      appId: c.appId,
      appName: c.appName,
      kind: c.kind,
      ...(c.displayName ? { displayName: c.displayName } : {}),
      ...(c.hint ? { hint: c.hint } : {}),
      ...(c.thumbprint ? { thumbprint: c.thumbprint } : {}),
      endDateTime: c.endDateTime,
      daysLeft: c.daysLeft,
      threshold: c.threshold,
      ownerIds: c.ownerIds ?? [],
    })),
  };
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const stringsOf = (value: unknown): Record<string, string> =>
  isRecord(value)
    ? Object.fromEntries(Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string'))
    : {};
const optionalString = (value: unknown) => (typeof value === 'string' ? value : undefined);

/**
 * The digest a refresh's data describes, or undefined when it is not one. The data comes from the card, so from the
 * client: it decides only what the person refreshing sees on their own copy, every word goes through the renderer's
 * cleaning again, and whom Rotate is offered to is read from the directory, never from here.
 */
export function digestFromRefresh(data: Record<string, unknown>): ReminderDigestView | undefined {
  const digest = data.digest;
  if (!isRecord(digest) || typeof digest.scanAt !== 'string' || !Array.isArray(digest.credentials)) return undefined;
  const credentials: ExpiringCredential[] = [];
  for (const c of digest.credentials.slice(0, maxRefreshCredentials)) {
    if (!isRecord(c) || typeof c.applicationObjectId !== 'string' || typeof c.appId !== 'string') continue;
    if (typeof c.endDateTime !== 'string' || typeof c.daysLeft !== 'number' || typeof c.threshold !== 'number')
      continue;
    const displayName = optionalString(c.displayName);
    const hint = optionalString(c.hint);
    const thumbprint = optionalString(c.thumbprint);
    credentials.push({
      applicationObjectId: c.applicationObjectId,
      // Refresh data of a card posted before service principals were scanned names applications only.
      source: c.source === 'servicePrincipal' ? 'servicePrincipal' : 'application',
      samlSigning: c.samlSigning === true,
      appId: c.appId,
      appName: optionalString(c.appName) ?? '',
      kind: c.kind === 'certificate' ? 'certificate' : 'secret',
      keyId: '',
      ...(displayName ? { displayName } : {}),
      ...(hint ? { hint } : {}),
      ...(thumbprint ? { thumbprint } : {}),
      endDateTime: c.endDateTime,
      managed: false,
      daysLeft: Math.trunc(c.daysLeft),
      threshold: Math.trunc(c.threshold),
      ownerIds: Array.isArray(c.ownerIds) ? c.ownerIds.filter((id): id is string => typeof id === 'string') : [],
    });
  }
  const part = isRecord(digest.part) ? digest.part : undefined;
  return {
    credentials,
    scanAt: digest.scanAt,
    ownerNames: stringsOf(digest.ownerNames),
    ownerTeamsIds: stringsOf(digest.ownerTeamsIds),
    ...(part && Number.isInteger(part.index) && Number.isInteger(part.count)
      ? { part: { index: part.index as number, count: part.count as number } }
      : {}),
  };
}

/** Teams ids of the owners of the card's apps, each once, at most maxRefreshUsers. */
function refreshUserIdsOf(view: ReminderDigestView): string[] {
  const byOwner = new Map(Object.entries(view.ownerTeamsIds ?? {}).map(([id, teamsId]) => [lower(id), teamsId]));
  const ids = new Set<string>();
  for (const credential of [...view.credentials].sort(byUrgency))
    for (const owner of credential.ownerIds ?? []) {
      const teamsId = safeText(byOwner.get(lower(owner)), { max: 200 });
      if (teamsId) ids.add(teamsId);
    }
  return [...ids].slice(0, maxRefreshUsers);
}

/**
 * One digest card. The card's `msteams.entities` hold one mention per owner named on it, so Teams notifies them; the
 * caller sends the card as it is. Use splitDigest for a list of any length.
 */
export function renderReminderDigest(view: ReminderDigestView): AdaptiveCard {
  const mentions = new Mentions(view.ownerNames ?? {});
  const owned = new Set([...(view.ownedApplications ?? [])].map(lower));
  const groups = groupsOf(view.credentials, (credential) => {
    const item = credentialItem(credential);
    return {
      ...item,
      rotate: owned.has(lower(credential.applicationObjectId)) ? item.rotate : undefined,
      owners: ownersLine(credential.ownerIds ?? [], mentions),
    };
  });
  const part = view.part && view.part.count > 1 ? `, part ${view.part.index} of ${view.part.count}` : '';
  const refreshUserIds = refreshUserIdsOf(view);
  return expandTemplate(reminderDigestTemplate, {
    title: `Credentials expiring${part}`,
    summary: `${plural(view.credentials.length, 'credential')} · scan of ${dateOf(view.scanAt)}`,
    rotateNote:
      owned.size > 0
        ? 'You see Rotate on the apps you own. Others see this card without it.'
        : "Only each app's owners see its Rotate button. An owner can also type rotate <app name> in their chat with Registrar.",
    groups,
    mentions: mentions.entities(),
    refreshUserIds,
    refreshData: refreshDataOf(view),
    verb: Verb,
  });
}

/**
 * The whole digest of a scan, most urgent first, over as many cards as it takes for each to stay within maxBytes
 * (default digestCardBudget). Every credential is on exactly one card; none when there is nothing to announce.
 */
export function splitDigest(
  credentials: readonly ExpiringCredential[],
  options: {
    ownerNames?: Readonly<Record<string, string>>;
    ownerTeamsIds?: Readonly<Record<string, string>>;
    scanAt: Date | string;
    maxBytes?: number;
  },
): AdaptiveCard[] {
  const budget = options.maxBytes ?? digestCardBudget;
  const sorted = [...credentials].sort(byUrgency);
  const render = (slice: readonly ExpiringCredential[], part?: { index: number; count: number }) =>
    renderReminderDigest({
      credentials: slice,
      scanAt: options.scanAt,
      ownerNames: options.ownerNames,
      ownerTeamsIds: options.ownerTeamsIds,
      part,
    });
  // Measured with the longest "part i of n" there could be, so the real numbers never make a card bigger.
  const widest = { index: sorted.length, count: sorted.length };
  const slices: ExpiringCredential[][] = [];
  for (let start = 0; start < sorted.length;) {
    const rest = sorted.slice(start);
    const n = largestFitting(
      rest.length,
      budget,
      (k) => render(rest.slice(0, k), widest),
      slices[slices.length - 1]?.length,
    );
    slices.push(rest.slice(0, n));
    start += n;
  }
  return slices.map((slice, i) => render(slice, { index: i + 1, count: slices.length }));
}

// ---------------------------------------------------------------------------------------------------------------
// The owner's personal reminder

export interface OwnerReminderView {
  /** The credentials of the apps this person owns. */
  credentials: readonly ExpiringCredential[];
  ownerName?: string;
}

export function renderOwnerReminder(view: OwnerReminderView): AdaptiveCard {
  const sorted = [...view.credentials].sort(byUrgency);
  const name = safeText(view.ownerName, { max: TextLimit.personName });
  const render = (shown: number) => {
    const more = sorted.length - shown;
    const groups = groupsOf(sorted.slice(0, shown), credentialItem);
    return expandTemplate(ownerReminderTemplate, {
      greeting: name ? `Hello ${name},` : undefined,
      title: sorted.length === 1 ? 'A credential of your app is expiring' : 'Credentials of your apps are expiring',
      groups,
      // The note on Rotate, only when a row offers it (a SAML certificate or a service principal's credential does not).
      rotatable: groups.some((g) => g.items.some((item) => item.rotate !== undefined)),
      more:
        more > 0
          ? `…and ${plural(more, 'more credential')} of your apps, not listed here. The reminders channel lists them all.`
          : undefined,
      verb: Verb,
    });
  };
  if (sorted.length === 0) return render(0);
  return render(largestFitting(Math.min(sorted.length, ownerReminderMax), digestCardBudget, render));
}

// ---------------------------------------------------------------------------------------------------------------
// After a rotation: remove the old credential?

export interface RotationCleanupView {
  requestId: string;
  appName: string;
  appId: string;
  old: {
    kind: 'secret' | 'certificate';
    keyId: string;
    hint?: string;
    thumbprint?: string;
    endDateTime: string;
    displayName?: string;
  };
  /** When the new secret was created (revealed), and its end. */
  newSecret?: { hint: string; endDateTime: string; createdAt?: string };
  /** What Entra's sign-in report said of the old credential when last read; absent on cards from before it was read. */
  signIns?: SignInEvidence;
  state: 'ask' | 'removed' | 'kept';
  /** A line for the person who clicked (e.g. "Only the app's owners can remove its credentials."). */
  message?: string;
}

/** The state is the container's style; the headline stays Default, the one colour with AA contrast on all three. */
const cleanupTone = {
  ask: { style: 'warning', color: 'Default' },
  removed: { style: 'good', color: 'Default' },
  kept: { style: 'emphasis', color: 'Default' },
} as const;

export function renderRotationCleanup(view: RotationCleanupView): AdaptiveCard {
  const { old } = view;
  const what = old.kind === 'certificate' ? 'certificate' : 'secret';
  const until = dateOf(old.endDateTime);
  const row = (label: string, value: string, font = 'Default') => ({ label, value, font });
  const evidence = view.signIns ? signInLines(view.signIns, what, view.newSecret?.createdAt) : undefined;
  const rows = [
    old.kind === 'certificate'
      ? row(
          'Old certificate',
          safeText(old.thumbprint, { max: TextLimit.reference }) || 'thumbprint not known',
          'Monospace',
        )
      : row('Old secret', `${safeText(old.hint, { max: 10 }) || '?'}…`, 'Monospace'),
    ...(safeText(old.displayName, { max: TextLimit.title })
      ? [row('Description', safeText(old.displayName, { max: TextLimit.title }))]
      : []),
    row(view.state === 'removed' ? 'Was valid until' : 'Valid until', until),
    ...(evidence ? [row('Last signed in', evidence.row)] : []),
    ...(view.newSecret
      ? [
          row('New secret', `${safeText(view.newSecret.hint, { max: 10 }) || '?'}…`, 'Monospace'),
          row('Valid until', dateOf(view.newSecret.endDateTime)),
        ]
      : []),
  ];
  const says = (text: string, weight = 'Default') => ({ text, weight });
  const explanation = {
    ask: [
      ...(evidence ? [says(evidence.text, evidence.warn ? 'Bolder' : 'Default')] : []),
      says(
        `Removing the old ${what} breaks anything that still uses it: apps, scripts and pipelines signing in with it stop working at once.`,
        'Bolder',
      ),
      says(
        `Remove it once everything uses the new secret. Until then it keeps working until ${until}; Registrar never removes it on its own.`,
      ),
    ],
    removed: [says(`The old ${what} was removed from the app. Anything still using it can no longer sign in.`)],
    kept: [
      says(`The old ${what} still works until ${until}. Remove it in the Entra admin center once nothing uses it.`),
    ],
  }[view.state];
  return expandTemplate(rotationCleanupTemplate, {
    tone: cleanupTone[view.state] ?? cleanupTone.ask,
    headline:
      { ask: `Remove the old ${what}?`, removed: `The old ${what} was removed`, kept: `The old ${what} was kept` }[
        view.state
      ] ?? `Remove the old ${what}?`,
    appName: safeText(view.appName, { max: TextLimit.title }) || 'Unnamed app',
    appId: safeText(view.appId, { max: TextLimit.reference }) || 'not known',
    requestId: safeText(view.requestId, { max: TextLimit.reference }),
    message: safeText(view.message ?? stoppedRemove(view), { max: TextLimit.paragraph, multiline: true }) || undefined,
    rows,
    explanation: explanation ?? [],
    ask: view.state === 'ask',
    removeTitle: `Remove the old ${what}`,
    verb: Verb,
  });
}

/** Why a Remove click did not remove: the report showed a sign-in the card had not shown. */
function stoppedRemove(view: RotationCleanupView): string | undefined {
  const signIns = view.signIns;
  if (view.state !== 'ask' || !signIns || 'unavailable' in signIns || !signIns.stoppedRemove || !signIns.lastSignIn)
    return undefined;
  const what = view.old.kind === 'certificate' ? 'certificate' : 'secret';
  return `Not removed: the old ${what} signed in at ${dateOf(signIns.lastSignIn)}, which this card had not shown yet. Press Remove again if you are sure nothing needs it any more.`;
}

/**
 * The "Last signed in" row and the line about it (domain/credential-evidence.ts decides what counts as in use). The
 * report's age is said, as its data comes late; where it could not be read the card says why rather than guess.
 */
function signInLines(
  evidence: SignInEvidence,
  what: string,
  newCreatedAt: string | undefined,
): { row: string; text: string; warn: boolean } {
  const read = `Entra's sign-in report, read ${dateOf(evidence.readAt)}; it can lag by hours`;
  if ('unavailable' in evidence)
    return {
      row: 'Not known',
      text: `Registrar cannot tell whether the old ${what} is still in use: ${safeText(evidence.unavailable, { max: TextLimit.paragraph })} Check the app's sign-in logs before you remove it.`,
      warn: true,
    };
  const last = evidence.lastSignIn ? dateOf(evidence.lastSignIn) : '';
  const daysAgo = evidence.lastSignIn
    ? Math.floor((Date.parse(evidence.readAt) - Date.parse(evidence.lastSignIn)) / 86_400_000)
    : 0;
  switch (credentialUse(evidence, newCreatedAt)) {
    case 'in-use':
      return {
        row: last,
        text: `Still in use: the old ${what} signed in at ${last}, after the new secret was made. Something still signs in with it; switch it to the new secret first (${read}).`,
        warn: true,
      };
    case 'recent':
      return {
        row: last,
        text: `Probably still in use: the old ${what} signed in ${daysAgo === 0 ? 'today' : plural(daysAgo, 'day') + ' ago'}, and a job that runs daily or weekly has not had the chance to sign in with the new secret yet (${read}).`,
        warn: true,
      };
    case 'idle':
      return {
        row: last,
        text: `Nothing has signed in with the old ${what} for ${plural(daysAgo, 'day')} (${read}).`,
        warn: false,
      };
    default:
      return {
        row: 'No sign-in on record',
        text: `Entra has no sign-in with the old ${what} on record (${read}).`,
        warn: false,
      };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Where reminders go: `list reminders`, and the answers to `setup reminders for` and `remove reminders for`

/** A channel as the route cards name it. */
export interface RoutePlace {
  channelName?: string;
  teamName?: string;
}

export interface ReminderRoutesView {
  routes: ReadonlyArray<{ rule: ReminderRule; place: RoutePlace; setBy: string; setAt: Date | string }>;
  /** The default reminders channel; undefined when none is set up. */
  defaultPlace?: RoutePlace;
}

/** "Payments, in Contoso Apps"; "a channel" when Teams gave no names. */
function placeText(place: RoutePlace | undefined): string {
  const channel = safeText(place?.channelName, { max: TextLimit.placeName });
  const team = safeText(place?.teamName, { max: TextLimit.placeName });
  if (channel && team) return `${channel}, in ${team}`;
  return channel || (team ? `a channel in ${team}` : 'a channel');
}

const routeHowTo =
  'An operator changes this in a channel with "setup reminders for <rule>" or "remove reminders for <rule>". A reminder goes to every channel whose rule matches its app.';

export function renderReminderRoutes(view: ReminderRoutesView): AdaptiveCard {
  return expandTemplate(reminderRoutesTemplate, {
    routes: view.routes.map((r) => ({
      rule: safeText(ruleText(r.rule), { max: TextLimit.title }),
      description: safeText(describeRule(r.rule), { max: TextLimit.paragraph }),
      channel: placeText(r.place),
      setBy: safeText(r.setBy, { max: TextLimit.personName }) || 'someone',
      setAt: formatUtc(r.setAt),
    })),
    defaultChannel: view.defaultPlace
      ? placeText(view.defaultPlace)
      : 'no default reminders channel yet: an operator runs "setup reminders" in one',
    howTo: routeHowTo,
  });
}

/** The notice that answers `setup reminders for <rule>`: what goes here now, and what else hears of it. */
export function routeSetNotice(input: {
  rule: ReminderRule;
  alreadySet: boolean;
  alsoSentTo: readonly RoutePlace[];
  defaultPlace?: RoutePlace;
}): { title: string; text: string } {
  const what = describeRule(input.rule);
  const lines = [
    input.alreadySet
      ? `This channel already receives the reminders of ${what}; nothing changed.`
      : `From the next scan, the expiry reminders of ${what} are posted in this channel, in a digest of their own.`,
  ];
  if (input.alsoSentTo.length > 0)
    lines.push(`The same rule also sends them to ${input.alsoSentTo.map(placeText).join('; ')}.`);
  lines.push(
    input.defaultPlace
      ? `Apps no rule names still go to ${placeText(input.defaultPlace)}.`
      : 'Apps no rule names go to the default reminders channel, which is not set up yet: run "setup reminders" in it.',
  );
  lines.push(`"remove reminders for ${ruleText(input.rule)}" here undoes this; "list reminders" shows every rule.`);
  return { title: `Reminders for ${what} come here`, text: lines.join('\n') };
}

/** The notice that answers `remove reminders for <rule>`. */
export function routeRemovedNotice(input: {
  typed: string;
  removed: ReadonlyArray<{ rule: ReminderRule; place: RoutePlace }>;
  inChannel: boolean;
}): { title: string; text: string } {
  if (input.removed.length === 0) {
    return {
      title: 'No such rule',
      text: `"${input.typed}" sends no reminders ${input.inChannel ? 'to this channel' : 'anywhere'}. "list reminders" shows the rules and where they go.`,
    };
  }
  const what = describeRule(input.removed[0]!.rule);
  return {
    title: `Reminders for ${what} no longer come ${input.inChannel ? 'here' : 'to their channels'}`,
    text: `Removed from ${input.removed.map((r) => placeText(r.place)).join('; ')}. From the next scan those apps' reminders follow the other rules, or go to the default reminders channel.`,
  };
}
