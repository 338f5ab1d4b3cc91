/**
 * What the tenant's app management policies allow for a credential added now, read before the form is sent, again
 * at Submit and again before provisioning writes anything. Pure: the policies come in as Graph returns them.
 *
 * Precedence, as "Microsoft Entra application authentication methods API overview" gives it
 * (https://learn.microsoft.com/graph/api/resources/applicationauthenticationmethodpolicy): when an app management
 * policy is assigned to the app it takes precedence and the app does not inherit from the tenant default
 * (tenantAppManagementPolicy, https://learn.microsoft.com/graph/api/resources/tenantappmanagementpolicy), whose
 * applicationRestrictions otherwise apply when it is enabled. Whether an assigned policy that is disabled still
 * shields the app from the default is not documented: here it does not (the default then applies), the strict reading.
 * A restriction binds when its state is enabled and the app was created on or after its
 * restrictForAppsCreatedAfterDateTime (passwordCredentialConfiguration, keyCredentialConfiguration). Lifetimes are
 * ISO 8601 durations. Trusted certificate authorities (keyCredentials trustedCertificateAuthority) exist only in
 * Graph's beta, so v1.0 policies never name them.
 */
import type { CertificateSpec } from './app-spec';

/** The policy whose restrictions bind, as its admin named it. */
export interface PolicyName {
  id: string;
  displayName: string;
  /** 'tenant': the tenant default; 'app': a policy assigned to the app. */
  scope: 'tenant' | 'app';
}

export interface CredentialRules {
  /** The policy that binds; absent when none does (no policy enabled, or none of its restrictions applies). */
  policy?: PolicyName;
  /** passwordAddition: no new client secret at all. */
  passwordBlocked: boolean;
  /** customPasswordAddition: no secret value chosen by the caller (Entra-generated secrets, Registrar's only kind, pass). */
  customPasswordBlocked: boolean;
  /** passwordLifetime maxLifetime, as the policy wrote it. */
  secretMaxLifetime?: string;
  /** asymmetricKeyLifetime maxLifetime, as the policy wrote it. */
  certificateMaxLifetime?: string;
  /** Set when the policies could not be read: why, in words for the form. The rules are then Registrar's own. */
  unreadable?: string;
}

/** No policy binds: what an unread or absent policy leaves. */
export const noPolicyRules: CredentialRules = Object.freeze({ passwordBlocked: false, customPasswordBlocked: false });

/** The rules when the policies could not be read: Registrar's own limits, and the reason said on the card. */
export function unreadableRules(reason: string): CredentialRules {
  return { ...noPolicyRules, unreadable: reason };
}

/** A policy object as Graph returns it (tenantAppManagementPolicy or appManagementPolicy); unknown fields ignored. */
export type PolicyJson = Record<string, unknown>;

interface Restriction {
  restrictionType: string;
  maxLifetime?: string;
}

const DAY_MS = 86_400_000;
const DURATION = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

/** `start` + an ISO 8601 duration (years and months as calendar steps), or undefined when the text is not one. */
export function addIsoDuration(start: Date, text: string): Date | undefined {
  const m = DURATION.exec(text);
  if (!m || text === 'P' || text.endsWith('T')) return undefined;
  const n = (i: number) => Number(m[i] ?? 0);
  const end = new Date(start.getTime());
  if (n(1) || n(2)) {
    const months = start.getUTCFullYear() * 12 + start.getUTCMonth() + n(1) * 12 + n(2);
    const year = Math.floor(months / 12);
    const month = months % 12;
    const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
    end.setUTCFullYear(year, month, Math.min(start.getUTCDate(), lastDay));
  }
  const ms = (((n(3) * 7 + n(4)) * 24 + n(5)) * 60 + n(6)) * 60_000 + Math.round(n(7) * 1000);
  return new Date(end.getTime() + ms);
}

/** The longest lifetime in whole days that `maxLifetime` allows for a credential starting at `now`. */
export function maxWholeDays(maxLifetime: string, now: Date): number | undefined {
  const end = addIsoDuration(now, maxLifetime);
  return end ? Math.floor((end.getTime() - now.getTime()) / DAY_MS) : undefined;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The restrictions of one list that bind an app created at `created`. */
function binding(configuration: unknown, list: 'passwordCredentials' | 'keyCredentials', created: Date): Restriction[] {
  if (!isObject(configuration)) return [];
  const items = configuration[list];
  if (!Array.isArray(items)) return [];
  return items.filter(isObject).flatMap((r) => {
    if (typeof r.restrictionType !== 'string' || r.state === 'disabled') return [];
    const after = r.restrictForAppsCreatedAfterDateTime;
    if (typeof after === 'string' && !Number.isNaN(Date.parse(after)) && created.getTime() < Date.parse(after))
      return [];
    return [
      {
        restrictionType: r.restrictionType,
        ...(typeof r.maxLifetime === 'string' ? { maxLifetime: r.maxLifetime } : {}),
      },
    ];
  });
}

function nameOf(policy: PolicyJson, scope: PolicyName['scope']): PolicyName {
  const id = typeof policy.id === 'string' ? policy.id : '';
  const displayName =
    typeof policy.displayName === 'string' && policy.displayName.trim() !== '' ? policy.displayName : id;
  return { id, displayName, scope };
}

/**
 * The rules for a credential added now to an app created at `appCreated` (now, for an app about to be made).
 * `assigned`: the policies GET /applications/{id}/appManagementPolicies lists (at most one; none for a new app).
 */
export function credentialRules(input: {
  tenantDefault: PolicyJson | undefined;
  assigned: readonly PolicyJson[];
  appCreated: Date;
}): CredentialRules {
  const own = input.assigned.find((p) => p.isEnabled === true);
  const source = own
    ? { policy: nameOf(own, 'app'), configuration: own.restrictions }
    : input.tenantDefault?.isEnabled === true
      ? { policy: nameOf(input.tenantDefault, 'tenant'), configuration: input.tenantDefault.applicationRestrictions }
      : undefined;
  if (!source) return { ...noPolicyRules };
  const passwords = binding(source.configuration, 'passwordCredentials', input.appCreated);
  const keys = binding(source.configuration, 'keyCredentials', input.appCreated);
  const secretMaxLifetime = passwords.find((r) => r.restrictionType === 'passwordLifetime')?.maxLifetime;
  const certificateMaxLifetime = keys.find((r) => r.restrictionType === 'asymmetricKeyLifetime')?.maxLifetime;
  const rules: CredentialRules = {
    passwordBlocked: passwords.some((r) => r.restrictionType === 'passwordAddition'),
    customPasswordBlocked: passwords.some((r) => r.restrictionType === 'customPasswordAddition'),
    ...(secretMaxLifetime ? { secretMaxLifetime } : {}),
    ...(certificateMaxLifetime ? { certificateMaxLifetime } : {}),
  };
  const binds = rules.passwordBlocked || rules.customPasswordBlocked || secretMaxLifetime || certificateMaxLifetime;
  return binds ? { ...rules, policy: source.policy } : rules;
}

/** "the tenant's app management policy “Secrets at most 180 days”", "the app management policy “X” assigned to the app". */
export function policyWords(policy: PolicyName | undefined): string {
  if (!policy) return "the tenant's app management policy";
  return policy.scope === 'tenant'
    ? `the tenant's app management policy “${policy.displayName}”`
    : `the app management policy “${policy.displayName}” assigned to this app`;
}

const capitalised = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

/** Why no client secret can be added, in the policy's terms; undefined when one can. */
export function secretBlockedReason(rules: CredentialRules): string | undefined {
  if (!rules.passwordBlocked) return undefined;
  return `${capitalised(policyWords(rules.policy))} blocks new client secrets (passwordAddition).`;
}

/** The longest secret lifetime in days: Registrar's own maximum, capped by the policy's passwordLifetime. */
export function secretMaxDays(rules: CredentialRules, registrarMaxDays: number, now: Date): number {
  const policyDays = rules.secretMaxLifetime ? maxWholeDays(rules.secretMaxLifetime, now) : undefined;
  return policyDays === undefined ? registrarMaxDays : Math.max(0, Math.min(registrarMaxDays, policyDays));
}

/** What the policy says of a secret of `lifetimeDays` added now; undefined when it passes. */
export function secretProblem(rules: CredentialRules, lifetimeDays: number, now: Date): string | undefined {
  const blocked = secretBlockedReason(rules);
  if (blocked) return blocked;
  if (!rules.secretMaxLifetime) return undefined;
  const cap = addIsoDuration(now, rules.secretMaxLifetime);
  if (cap && now.getTime() + lifetimeDays * DAY_MS > cap.getTime()) {
    const days = maxWholeDays(rules.secretMaxLifetime, now) ?? 0;
    return `${capitalised(policyWords(rules.policy))} allows a client secret to live at most ${rules.secretMaxLifetime} (passwordLifetime), that is ${days} days; ${lifetimeDays} days is longer.`;
  }
  return undefined;
}

/**
 * What the policy says of this certificate: its lifetime, from its start to its end date, against
 * asymmetricKeyLifetime (the dates Graph checks are the key credential's, which Registrar takes from the
 * certificate). Undefined when it passes.
 */
export function certificateProblem(
  rules: CredentialRules,
  certificate: Pick<CertificateSpec, 'notBefore' | 'notAfter'>,
): string | undefined {
  if (!rules.certificateMaxLifetime) return undefined;
  const start = new Date(certificate.notBefore);
  const cap = addIsoDuration(start, rules.certificateMaxLifetime);
  if (cap && Date.parse(certificate.notAfter) > cap.getTime()) {
    const days = Math.ceil((Date.parse(certificate.notAfter) - start.getTime()) / DAY_MS);
    return `${capitalised(policyWords(rules.policy))} allows a certificate to be valid at most ${rules.certificateMaxLifetime} (asymmetricKeyLifetime); this one is valid for ${days} days, from ${certificate.notBefore.slice(0, 10)} to ${certificate.notAfter.slice(0, 10)}. Issue one with a shorter validity.`;
  }
  return undefined;
}

/**
 * What a rotation's cards say of the new secret's lifetime, `days` long: capped by the policy, within it, or that the
 * policy could not be read. Undefined when no policy speaks of secret lifetimes.
 */
export function secretLifetimeNote(rules: CredentialRules, days: number, registrarDays: number): string | undefined {
  if (rules.unreadable) return rules.unreadable;
  if (!rules.secretMaxLifetime) return undefined;
  const policy = policyWords(rules.policy);
  return days < registrarDays
    ? `That is the most ${policy} allows (passwordLifetime ${rules.secretMaxLifetime}), shorter than Registrar's ${plural(registrarDays)}.`
    : `${capitalised(policy)} allows a client secret at most ${rules.secretMaxLifetime} (passwordLifetime).`;
}

const plural = (days: number) => `${days} day${days === 1 ? '' : 's'}`;

/** Why no client secret of at least a day can be added, when the policy's passwordLifetime is shorter than one. */
export function secretTooShortReason(rules: CredentialRules, now: Date): string | undefined {
  if (!rules.secretMaxLifetime || secretMaxDays(rules, 1, now) >= 1) return undefined;
  return `${capitalised(policyWords(rules.policy))} allows a client secret to live at most ${rules.secretMaxLifetime} (passwordLifetime), less than the one day that is the shortest secret Registrar makes.`;
}
