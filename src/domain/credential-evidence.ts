/**
 * What Entra's credential sign-in report says of a rotation's old credential, as the cleanup card shows it before an
 * owner removes it (no I/O). Entra's report data comes late (https://learn.microsoft.com/entra/identity/monitoring-health/reference-log-latency),
 * so the reading is taken as evidence, never as proof, and the card says how old it is.
 *
 * When the old credential counts as still in use, and why:
 * - it signed in after the new secret was created: something has not switched to the new one ('in-use');
 * - or it signed in within RECENT_DAYS: right after a rotation every working consumer signed in with the old secret
 *   shortly before, and a job that runs daily or weekly shows no sign-in after the new secret until its next run
 *   ('recent'). A week covers weekly jobs; the warning goes by itself a week after the last use.
 * Otherwise it is 'idle' (last sign-in longer ago), 'never' (no sign-in on record) or 'unknown' (no report).
 */

/** A reading of the report, kept on the rotation (the card shows it; the Remove click compares a new one with it). */
export type SignInEvidence =
  /**
   * lastSignIn absent: the report has no sign-in of this credential. stoppedRemove: read at a Remove click, it showed
   * a sign-in the card had not shown, so the secret was not removed and the card asks again.
   */
  { readAt: string; lastSignIn?: string; stoppedRemove?: boolean } | { readAt: string; unavailable: string };

export type CredentialUse = 'in-use' | 'recent' | 'idle' | 'never' | 'unknown';

export const RECENT_DAYS = 7;
const DAY = 86_400_000;

/** The reading for one keyId from what CredentialSignIns answered. */
export function evidenceOf(
  answer: Map<string, string | undefined> | { unavailable: string },
  keyId: string,
  now: Date,
): SignInEvidence {
  const readAt = now.toISOString();
  if (!(answer instanceof Map)) return { readAt, unavailable: answer.unavailable };
  const lastSignIn = answer.get(keyId.toLowerCase());
  return lastSignIn ? { readAt, lastSignIn } : { readAt };
}

/** How the old credential is used, by the rules above; `newCreatedAt` is when the new secret was made. */
export function credentialUse(evidence: SignInEvidence, newCreatedAt: string | undefined): CredentialUse {
  if ('unavailable' in evidence) return 'unknown';
  if (!evidence.lastSignIn) return 'never';
  const last = Date.parse(evidence.lastSignIn);
  if (newCreatedAt && last >= Date.parse(newCreatedAt)) return 'in-use';
  return Date.parse(evidence.readAt) - last < RECENT_DAYS * DAY ? 'recent' : 'idle';
}

/**
 * Whether `after` shows a sign-in that `before` (what the owner's card showed) did not: a later one, or one where the
 * card had none or no report. A card that showed no reading at all (posted before this existed) compares as unchanged.
 */
export function signedInSince(before: SignInEvidence | undefined, after: SignInEvidence): boolean {
  if (!before || 'unavailable' in after || !after.lastSignIn) return false;
  if ('unavailable' in before || !before.lastSignIn) return true;
  return Date.parse(after.lastSignIn) > Date.parse(before.lastSignIn);
}
