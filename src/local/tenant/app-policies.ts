/**
 * App management policies (https://learn.microsoft.com/graph/api/resources/appmanagementpolicy): the tenant default (tenantAppManagementPolicy) and custom policies
 * (appManagementPolicy) in Graph's JSON shape, their validation, ISO-8601 durations, and the check Graph makes
 * when a credential is added or updated (addPassword, PATCH keyCredentials, create with credentials). Tokens are
 * never checked against a policy: a credential that exists keeps working.
 */
import { badRequest, GraphError } from './http';
import type { Json, TenantState } from './state';

/** The tenant default's fixed id (Graph's GET example). */
export const DEFAULT_POLICY_ID = '00000000-0000-0000-0000-000000000000';

/** What GET /policies/defaultAppManagementPolicy answers in a tenant that never changed it (Graph's GET example). */
export function defaultAppManagementPolicy(): Json {
  return {
    id: DEFAULT_POLICY_ID,
    displayName: 'Default app management tenant policy',
    description:
      'Default tenant policy that enforces app management restrictions on applications and service principals. To apply policy to targeted resources, create a new policy under appManagementPolicies collection.',
    isEnabled: false,
    applicationRestrictions: { passwordCredentials: [], keyCredentials: [] },
    servicePrincipalRestrictions: { passwordCredentials: [], keyCredentials: [] },
  };
}

// ---------------------------------------------------------------------------------------------------------
// ISO-8601 durations

export interface Duration {
  years: number;
  months: number;
  /** Weeks, days, hours, minutes and seconds, which have a fixed length. */
  milliseconds: number;
}

const DURATION = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

/**
 * An ISO-8601 duration (P90D, P4DT12H30M5S, PT36H, P1Y6M), or undefined when the text is not one. Graph's
 * metadata pattern allows only days and times; years, months and weeks are accepted too, as the ISO format
 * has them and a person writing a policy may use them.
 */
export function parseDuration(text: string): Duration | undefined {
  const m = DURATION.exec(text);
  // "P" and "P1DT" are not durations: at least one part, and a T only before a time part.
  if (!m || text === 'P' || text.endsWith('T')) return undefined;
  const n = (i: number) => Number(m[i] ?? 0);
  const milliseconds = (((n(3) * 7 + n(4)) * 24 + n(5)) * 60 + n(6)) * 60_000 + Math.round(n(7) * 1000);
  return { years: n(1), months: n(2), milliseconds };
}

/** `start` + `duration`: years and months as calendar steps (31 January + P1M is the last day of February), the rest as elapsed time. */
export function addDuration(start: Date, duration: Duration): Date {
  const totalMonths = start.getUTCFullYear() * 12 + start.getUTCMonth() + duration.years * 12 + duration.months;
  const year = Math.floor(totalMonths / 12);
  const month = totalMonths % 12;
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  const stepped = new Date(start.getTime());
  stepped.setUTCFullYear(year, month, Math.min(start.getUTCDate(), lastDay));
  return new Date(stepped.getTime() + duration.milliseconds);
}

// ---------------------------------------------------------------------------------------------------------
// Validation of policy bodies

const PASSWORD_RESTRICTIONS = [
  'passwordAddition',
  'passwordLifetime',
  'symmetricKeyAddition',
  'symmetricKeyLifetime',
  'customPasswordAddition',
];
const KEY_RESTRICTIONS = ['asymmetricKeyLifetime'];
const DATE_TIME =
  /^\d{4,}-(0[1-9]|1[012])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,12})?(Z|[+-]\d\d:\d\d)$/;

/** Graph's message for a property a type does not have. */
export function unknownProperty(name: string, type: string): GraphError {
  return badRequest(
    `The property '${name}' does not exist on type '${type}'. Make sure to only use property names that are defined by the type or mark the type as open type.`,
  );
}

/** The refusal for a bad value in a policy body (pattern of the directory's messages; exact text for policies unverified). */
export function invalidPolicyValue(property: string, resource: string): GraphError {
  return badRequest(`Invalid value specified for property '${property}' of resource '${resource}'.`);
}

const isPlain = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** One passwordCredentialConfiguration or keyCredentialConfiguration, checked and written in Graph's order with its defaults. */
function restriction(value: unknown, kind: 'password' | 'key'): Json {
  const resource = kind === 'password' ? 'PasswordCredentialConfiguration' : 'KeyCredentialConfiguration';
  if (!isPlain(value))
    throw invalidPolicyValue(
      kind === 'password' ? 'passwordCredentials' : 'keyCredentials',
      'AppManagementConfiguration',
    );
  for (const name of Object.keys(value)) {
    if (
      ![
        'restrictionType',
        'maxLifetime',
        'restrictForAppsCreatedAfterDateTime',
        'state',
        'excludeActors',
        '@odata.type',
      ].includes(name)
    ) {
      throw unknownProperty(name, `microsoft.graph.${kind}CredentialConfiguration`);
    }
  }
  const type = value.restrictionType;
  if (typeof type !== 'string' || !(kind === 'password' ? PASSWORD_RESTRICTIONS : KEY_RESTRICTIONS).includes(type))
    throw invalidPolicyValue('restrictionType', resource);
  const maxLifetime = value.maxLifetime ?? null;
  if (maxLifetime !== null && (typeof maxLifetime !== 'string' || !parseDuration(maxLifetime)))
    throw invalidPolicyValue('maxLifetime', resource);
  // A lifetime restriction without a lifetime restricts nothing (passwordCredentialConfiguration: "required for *Lifetime").
  if (type.endsWith('Lifetime') && maxLifetime === null) throw invalidPolicyValue('maxLifetime', resource);
  const after = value.restrictForAppsCreatedAfterDateTime ?? null;
  if (after !== null && (typeof after !== 'string' || !DATE_TIME.test(after)))
    throw invalidPolicyValue('restrictForAppsCreatedAfterDateTime', resource);
  const state = value.state ?? 'enabled';
  if (state !== 'enabled' && state !== 'disabled') throw invalidPolicyValue('state', resource);
  const excludeActors = value.excludeActors ?? null;
  if (excludeActors !== null && !isPlain(excludeActors)) throw invalidPolicyValue('excludeActors', resource);
  return { restrictionType: type, state, maxLifetime, restrictForAppsCreatedAfterDateTime: after, excludeActors };
}

/**
 * An appManagementConfiguration (tenant default's applicationRestrictions/servicePrincipalRestrictions, or a
 * custom policy's restrictions), merged over what is there: a list given replaces that list, a list not given
 * is kept (complex values merge on PATCH, collections are replaced, as for applications: https://learn.microsoft.com/graph/api/application-update).
 * `extra` names the complex properties the type has besides the two lists (identifierUris,
 * applicationRestrictions), kept as sent.
 */
export function configuration(value: unknown, current: Json | undefined, type: string, extra: readonly string[]): Json {
  if (!isPlain(value)) throw invalidPolicyValue(type, 'AppManagementPolicy');
  const result: Json = { passwordCredentials: [], keyCredentials: [], ...current };
  for (const [name, item] of Object.entries(value)) {
    if (name === '@odata.type') continue;
    if (name === 'passwordCredentials' || name === 'keyCredentials') {
      const kind = name === 'passwordCredentials' ? 'password' : 'key';
      if (item === null) result[name] = [];
      else if (Array.isArray(item)) result[name] = item.map((r) => restriction(r, kind));
      else throw invalidPolicyValue(name, 'AppManagementConfiguration');
    } else if (extra.includes(name)) {
      if (item !== null && !isPlain(item)) throw invalidPolicyValue(name, 'AppManagementConfiguration');
      result[name] = item;
    } else {
      throw unknownProperty(name, `microsoft.graph.${type}`);
    }
  }
  return result;
}

// ---------------------------------------------------------------------------------------------------------
// Enforcement

/** The policy that governs an application's credentials: its id (named in errors) and its restrictions. */
export interface EffectivePolicy {
  id: string;
  restrictions: Json;
}

/**
 * The app's assigned custom policy, when enabled, fully overrides the tenant default (no inheritance);
 * otherwise the tenant default's applicationRestrictions when the default is enabled; otherwise none.
 */
export function effectivePolicy(state: TenantState, applicationId: string | undefined): EffectivePolicy | undefined {
  if (applicationId !== undefined) {
    for (const record of Object.values(state.data.appManagementPolicies)) {
      if (record.appliesTo.includes(applicationId) && record.data.isEnabled === true) {
        return { id: String(record.data.id), restrictions: (record.data.restrictions as Json | null) ?? {} };
      }
    }
  }
  const tenantDefault = state.data.defaultAppManagementPolicy;
  if (tenantDefault.isEnabled !== true) return undefined;
  return { id: String(tenantDefault.id), restrictions: (tenantDefault.applicationRestrictions as Json | null) ?? {} };
}

/**
 * Graph's policy pages do not say how an app without createdDateTime is judged; service principals without one count as
 * created on 2019-01-01, and applications are treated the same way here.
 */
const UNDATED = Date.parse('2019-01-01T00:00:00Z');

/** The restrictions of one kind that bind an app created at `createdDateTime`: enabled, and the app created on or after their date. */
function binding(
  policy: EffectivePolicy,
  list: 'passwordCredentials' | 'keyCredentials',
  createdDateTime: unknown,
): Json[] {
  const created =
    typeof createdDateTime === 'string' && !Number.isNaN(Date.parse(createdDateTime))
      ? Date.parse(createdDateTime)
      : UNDATED;
  return ((policy.restrictions[list] as Json[] | undefined) ?? []).filter((r) => {
    if (r.state === 'disabled') return false;
    const after = r.restrictForAppsCreatedAfterDateTime;
    return typeof after !== 'string' || created >= Date.parse(after);
  });
}

/** The observed body: 400 CredentialInvalidLifetimeAsPerAppPolicy with an InvalidKeyEndDate detail. */
function lifetimeExceeded(policyId: string): GraphError {
  const message = `Credential lifetime exceeds the max value allowed as per assigned policy '${policyId}'.`;
  return new GraphError(400, 'CredentialInvalidLifetimeAsPerAppPolicy', message, [
    { code: 'InvalidKeyEndDate', message, target: 'EndDate' },
  ]);
}

function checkLifetime(policy: EffectivePolicy, restrictions: Json[], type: string, start: string, end: string): void {
  for (const r of restrictions) {
    if (r.restrictionType !== type || typeof r.maxLifetime !== 'string') continue;
    const duration = parseDuration(r.maxLifetime);
    if (duration && Date.parse(end) > addDuration(new Date(start), duration).getTime())
      throw lifetimeExceeded(policy.id);
  }
}

/**
 * May a password credential from `start` to `end` be added to the app? Throws Graph's 400 when not. A blocked
 * addition answers CredentialTypeNotAllowedAsPerAppPolicy: the code is unverified, and so is
 * the message, which follows the lifetime error's pattern.
 * customPasswordAddition blocks client-chosen secret values only; this tenant always generates the secret,
 * so it never applies here.
 */
export function checkPasswordCredential(
  policy: EffectivePolicy | undefined,
  createdDateTime: unknown,
  start: string,
  end: string,
): void {
  if (!policy) return;
  const restrictions = binding(policy, 'passwordCredentials', createdDateTime);
  if (restrictions.some((r) => r.restrictionType === 'passwordAddition')) {
    const message = `Credential type not allowed as per assigned policy '${policy.id}'.`;
    throw new GraphError(400, 'CredentialTypeNotAllowedAsPerAppPolicy', message);
  }
  checkLifetime(policy, restrictions, 'passwordLifetime', start, end);
}

/** May a certificate (asymmetric key) credential from `start` to `end` be added? Throws Graph's 400 when not. */
export function checkKeyCredential(
  policy: EffectivePolicy | undefined,
  createdDateTime: unknown,
  start: string,
  end: string,
): void {
  if (!policy) return;
  checkLifetime(policy, binding(policy, 'keyCredentials', createdDateTime), 'asymmetricKeyLifetime', start, end);
}
