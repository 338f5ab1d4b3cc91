/**
 * The request form under the tenant's app management policies: what it offers when a policy blocks client secrets,
 * caps their lifetime, limits certificates, or cannot be read, and a certificate the policy refuses coming back on
 * the form next to the pasted PEM.
 */
import { renderRequestForm } from '../../../src/cards/request-form-card';
import {
  credentialRules,
  secretMaxDays,
  unreadableRules,
  type CredentialRules,
  type PolicyJson,
} from '../../../src/domain/credential-rules';
import { validateRequestForm, type RequestFormContext } from '../../../src/domain/request-form';
import { selfSignedCertificate } from '../../../src/local/tenant/self-signed';
import { catalogIndex } from '../domain/fixtures';
import { formView } from './card-samples';
import { all, input, inputs } from './request-card-helpers';

const now = new Date('2026-06-01T12:00:00Z');
const registrarPolicy = { secretMaxDays: 730, secretDefaultDays: 180 };

/** The tenant default as Graph returns it, enabled, with these restrictions. */
function tenantDefault(passwordCredentials: PolicyJson[], keyCredentials: PolicyJson[] = []): PolicyJson {
  return {
    id: '00000000-0000-0000-0000-000000000000',
    displayName: 'Contoso credential policy',
    isEnabled: true,
    applicationRestrictions: { passwordCredentials, keyCredentials },
  };
}
const restriction = (restrictionType: string, maxLifetime: string | null = null): PolicyJson => ({
  restrictionType,
  state: 'enabled',
  maxLifetime,
  restrictForAppsCreatedAfterDateTime: null,
});
const rulesOf = (policy: PolicyJson): CredentialRules =>
  credentialRules({ tenantDefault: policy, assigned: [], appCreated: now });

/** The form as the server renders it: its secret maximum already capped by the rules (request-submission.ts). */
function form(rules: CredentialRules, values: Record<string, string> = {}, errors: Record<string, string> = {}) {
  return renderRequestForm(
    formView({
      values,
      errors,
      credentialRules: rules,
      policy: { ...registrarPolicy, secretMaxDays: secretMaxDays(rules, registrarPolicy.secretMaxDays, now) },
    }),
  );
}
const credentialValues = (card: ReturnType<typeof form>) =>
  ((input(card, 'credential')?.choices as Array<{ value: string }> | undefined) ?? []).map((c) => c.value);

describe('the request form under an app management policy', () => {
  test('when the policy blocks passwordAddition, then there is no client secret choice, no lifetime box, and the form says why', () => {
    const card = form(rulesOf(tenantDefault([restriction('passwordAddition')])));

    expect(credentialValues(card)).not.toContain('secret');
    expect(credentialValues(card)).toEqual(expect.arrayContaining(['certificate', 'federated']));
    expect(input(card, 'credential')?.value).not.toBe('secret');
    expect(inputs(card).map((i) => i.id)).not.toContain('secretDays');
    expect(all(card)).toContain(
      "The tenant's app management policy “Contoso credential policy” blocks new client secrets (passwordAddition).",
    );
  });

  test('when a blocked form comes back with secret chosen, then the choice falls to one the policy allows', () => {
    const card = form(rulesOf(tenantDefault([restriction('passwordAddition')])), { credential: 'secret' });

    expect(credentialValues(card)).toContain(String(input(card, 'credential')?.value));
  });

  test('when passwordLifetime is P90D, then the lifetime box offers 1 to 90 days, its placeholder is 90, and the policy is named', () => {
    const card = form(rulesOf(tenantDefault([restriction('passwordLifetime', 'P90D')])));

    expect(credentialValues(card)).toContain('secret');
    expect(input(card, 'secretDays')?.placeholder).toBe('90');
    expect(all(card)).toContain('For a client secret: from 1 to 90 days. Left empty, it lasts 90 days.');
    expect(all(card)).toContain(
      "Under the tenant's app management policy “Contoso credential policy”, client secrets live at most P90D (passwordLifetime).",
    );
  });

  test('when passwordLifetime is longer than Registrar’s own maximum, then Registrar’s 730 days stand and the policy is still named', () => {
    const card = form(rulesOf(tenantDefault([restriction('passwordLifetime', 'P3Y')])));

    expect(input(card, 'secretDays')?.placeholder).toBe('180');
    expect(all(card)).toContain('from 1 to 730 days');
    expect(all(card)).toContain('client secrets live at most P3Y (passwordLifetime)');
  });

  test('when both lifetimes are restricted, then one line names both', () => {
    const card = form(
      rulesOf(
        tenantDefault([restriction('passwordLifetime', 'P180D')], [restriction('asymmetricKeyLifetime', 'P365D')]),
      ),
    );

    expect(all(card)).toContain(
      "Under the tenant's app management policy “Contoso credential policy”, client secrets live at most P180D (passwordLifetime) and certificates are valid at most P365D (asymmetricKeyLifetime).",
    );
  });

  test('when no policy is enabled, then the form says nothing about policies', () => {
    const card = form(credentialRules({ tenantDefault: { isEnabled: false }, assigned: [], appCreated: now }));

    expect(all(card)).not.toMatch(/app management policy|passwordLifetime/);
    expect(all(card)).toContain('from 1 to 730 days');
  });

  test('when the policies could not be read, then the form says so and offers Registrar’s own limits', () => {
    const reason =
      "Registrar could not read the tenant's app management policies (it lacks the Microsoft Graph permission Policy.Read.All), so these choices are Registrar's own limits.";
    const card = form(unreadableRules(reason));

    expect(all(card)).toContain(reason);
    expect(credentialValues(card)).toContain('secret');
    expect(all(card)).toContain('from 1 to 730 days');
  });
});

describe('a certificate under asymmetricKeyLifetime', () => {
  const context = (rules: CredentialRules): RequestFormContext => ({
    catalog: catalogIndex,
    policy: registrarPolicy,
    now,
    cloud: 'global',
    credentialRules: rules,
  });
  const values = (certificatePem: string) => ({
    name: 'Payroll sync',
    purpose: 'Reads users nightly for the payroll run.',
    audience: 'AzureADMyOrg',
    platform: 'none',
    permissions: catalogIndex.byValue('User.Read.All', 'Role')!.id,
    credential: 'certificate',
    certificatePem,
  });
  const rules = rulesOf(tenantDefault([], [restriction('asymmetricKeyLifetime', 'P180D')]));

  test('when the certificate is valid longer than the policy allows, then the form comes back with the policy’s words at the PEM and the PEM kept', () => {
    const yearLong = selfSignedCertificate('payroll', new Date('2026-05-01Z'), new Date('2027-05-01Z'));

    const result = validateRequestForm(values(yearLong.certPem), context(rules));
    if (result.ok) throw new Error('expected the certificate to be refused');
    const card = form(rules, result.values, result.errors);

    expect(result.errors.certificatePem).toBe(
      "The tenant's app management policy “Contoso credential policy” allows a certificate to be valid at most P180D (asymmetricKeyLifetime); this one is valid for 365 days, from 2026-05-01 to 2027-05-01. Issue one with a shorter validity.",
    );
    expect(all(card)).toContain(result.errors.certificatePem);
    expect(input(card, 'certificatePem')?.value).toBe(yearLong.certPem.trim());
    expect(input(card, 'credential')?.value).toBe('certificate');
  });

  test('when the certificate is within the policy, then the form is accepted with it', () => {
    const short = selfSignedCertificate('payroll', new Date('2026-05-01Z'), new Date('2026-10-01Z'));

    const result = validateRequestForm(values(short.certPem), context(rules));

    expect(result.ok).toBe(true);
    if (result.ok) expect(result.form.credential).toMatchObject({ kind: 'certificate' });
  });
});
