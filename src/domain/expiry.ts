/**
 * Credential expiry: which credentials cross which reminder threshold,
 * and which (credential, threshold) pairs a scan announces. Pure; the scan, the ledger and the cards build on it.
 *
 * Thresholds are days before expiry (default 60, 30, 14, 7, 1) and 0 for "expired". A credential is due at the
 * most urgent threshold it has crossed; one that crossed several since the last scan is announced once, at the
 * most urgent, and the less urgent ones it skipped are recorded as done too.
 */

export const defaultReminderDays: readonly number[] = [60, 30, 14, 7, 1];

/**
 * Where a credential lives: on an app registration (the application object), or on a service principal, the
 * enterprise application in this tenant (https://learn.microsoft.com/entra/identity-platform/app-objects-and-service-principals).
 */
export type CredentialOwnerKind = 'application' | 'servicePrincipal';

/** One credential of one application or service principal, as the scan reads it from Graph. */
export interface CredentialInfo {
  /**
   * The object id of what holds the credential: the application's, or for source 'servicePrincipal' the service
   * principal's. Directory object ids are unique across object types, so with the keyId it names the credential.
   */
  applicationObjectId: string;
  source: CredentialOwnerKind;
  appId: string;
  appName: string;
  kind: 'secret' | 'certificate';
  keyId: string;
  /** passwordCredential / keyCredential displayName. */
  displayName?: string;
  /** The secret's first characters (passwordCredential.hint). */
  hint?: string;
  /** The certificate's SHA-1 thumbprint (keyCredential.customKeyIdentifier), upper-case hex. */
  thumbprint?: string;
  endDateTime: string;
  /** Whether Registrar created the application (tagged "registrar"). */
  managed: boolean;
  /**
   * The application's tags (application.tags, https://learn.microsoft.com/graph/api/resources/application), which
   * reminder rules of the form tag:<tag> match; absent for a service principal's own credentials.
   */
  tags?: string[] | undefined;
  /**
   * A service principal's SAML token-signing certificate: renewed in the enterprise application's Single sign-on
   * page (https://learn.microsoft.com/entra/identity/enterprise-apps/tutorial-manage-certificates-for-federated-single-sign-on),
   * never by rotating the application's client secret.
   */
  samlSigning: boolean;
}

/** A credential a scan announces, at one threshold. */
export interface ExpiringCredential extends CredentialInfo {
  /** Whole days left, rounded down; negative once expired. */
  daysLeft: number;
  /** The threshold announced: 0 for expired, else one of the reminder days. */
  threshold: number;
  /** Entra object ids of the application's owners that are users (filled by the scan for announced credentials). */
  ownerIds: string[];
  /**
   * The channel this announcement goes to: a routed channel's conversation id, or absent for the default reminders
   * channel (domain/reminder-routes.ts). A credential routed to several channels is announced once for each.
   */
  channel?: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;

export function daysLeft(endDateTime: string, now: Date): number {
  return Math.floor((Date.parse(endDateTime) - now.getTime()) / DAY_MS);
}

/** Thresholds sorted most urgent last: [60, 30, 14, 7, 1, 0]. */
export function thresholdsOf(reminderDays: readonly number[]): number[] {
  return [...new Set([...reminderDays.filter((d) => Number.isInteger(d) && d > 0), 0])].sort((a, b) => b - a);
}

/**
 * The most urgent threshold the credential has crossed, or undefined when it is not yet within the first.
 * Expired (end in the past) is threshold 0.
 */
export function crossedThreshold(endDateTime: string, now: Date, reminderDays: readonly number[]): number | undefined {
  const end = Date.parse(endDateTime);
  if (!Number.isFinite(end)) return undefined;
  if (end <= now.getTime()) return 0;
  const left = (end - now.getTime()) / DAY_MS;
  const crossed = thresholdsOf(reminderDays).filter((t) => t > 0 && left <= t);
  return crossed.length > 0 ? Math.min(...crossed) : undefined;
}

/**
 * The ledger row of a (credential, threshold): one per announcement, ever. A keyId alone does not name a
 * credential: a keyCredential's keyId is chosen by whoever adds it (Graph takes it from the PATCH body,
 * https://learn.microsoft.com/graph/api/resources/keycredential), so an owner of one app can give a certificate of
 * theirs the keyId of another app's secret. The application's object id makes the row that app's alone; a service
 * principal's credential is keyed by the service principal's object id, which no application shares.
 */
export function ledgerRow(applicationObjectId: string, keyId: string, threshold: number): string {
  return `${applicationObjectId.toLowerCase()}:${keyId.toLowerCase()}:${threshold}`;
}

/**
 * The row the ledger used before it named the application ("keyId:threshold"). Such a row counts for a
 * credential only when the application it records is the credential's (see isAnnounced): then an upgrade
 * announces nothing twice, and a row written for another app's credential with the same keyId silences nothing.
 */
export function earlierLedgerRow(keyId: string, threshold: number): string {
  return `${keyId.toLowerCase()}:${threshold}`;
}

/** What a ledger row records that tells whether it is about this credential and was posted. */
export interface LedgerState {
  applicationObjectId: string;
  state: 'claimed' | 'posted';
}

/**
 * Whether (credential, threshold) was announced: its row is posted, or a posted row of the earlier format was
 * written for this same application.
 */
export function isAnnounced(
  row: (key: string) => LedgerState | undefined,
  credential: Pick<CredentialInfo, 'applicationObjectId' | 'keyId'>,
  threshold: number,
): boolean {
  if (row(ledgerRow(credential.applicationObjectId, credential.keyId, threshold))?.state === 'posted') return true;
  const earlier = row(earlierLedgerRow(credential.keyId, threshold));
  return (
    earlier?.state === 'posted' &&
    earlier.applicationObjectId.toLowerCase() === credential.applicationObjectId.toLowerCase()
  );
}

/**
 * What announcing `threshold` for a credential records: that threshold and every less urgent one (larger
 * days) it skipped, so that none of them is announced later.
 */
export function thresholdsCovered(threshold: number, reminderDays: readonly number[]): number[] {
  return thresholdsOf(reminderDays).filter((t) => t >= threshold);
}

/** Digest order: most urgent first, then soonest expiry, then app name. */
export function byUrgency(a: ExpiringCredential, b: ExpiringCredential): number {
  return (
    a.threshold - b.threshold ||
    Date.parse(a.endDateTime) - Date.parse(b.endDateTime) ||
    a.appName.localeCompare(b.appName)
  );
}

/**
 * crossedThreshold with the thresholds worked out once, for a scan that asks about every credential of a tenant:
 * same answers, without sorting the thresholds again for each credential.
 */
export function thresholdCrossing(
  reminderDays: readonly number[],
): (endDateTime: string, now: Date) => number | undefined {
  const ascending = thresholdsOf(reminderDays)
    .filter((t) => t > 0)
    .reverse();
  const widest = ascending[ascending.length - 1] ?? 0;
  return (endDateTime, now) => {
    const end = Date.parse(endDateTime);
    if (!Number.isFinite(end)) return undefined;
    const leftMs = end - now.getTime();
    if (leftMs <= 0) return 0;
    const left = leftMs / DAY_MS;
    if (left > widest) return undefined;
    for (const t of ascending) if (left <= t) return t;
    return undefined;
  };
}

/** The credential as announced at `threshold`, with its owners. */
export function expiringCredential(
  credential: CredentialInfo,
  threshold: number,
  now: Date,
  ownerIds: string[] = [],
): ExpiringCredential {
  return { ...credential, daysLeft: daysLeft(credential.endDateTime, now), threshold, ownerIds };
}
