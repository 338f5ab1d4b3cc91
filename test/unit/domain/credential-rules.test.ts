import {
  certificateProblem,
  credentialRules,
  secretMaxDays,
  secretProblem,
  type PolicyJson,
} from '../../../src/domain/credential-rules';

const now = new Date('2026-12-07T12:00:00Z');
const tenantDefault = (restrictions: PolicyJson, isEnabled = true): PolicyJson => ({
  id: '00000000-0000-0000-0000-000000000000',
  displayName: 'Secrets at most 180 days',
  isEnabled,
  applicationRestrictions: restrictions,
});
const lifetime = (maxLifetime: string, extra: PolicyJson = {}) => ({
  restrictionType: 'passwordLifetime',
  maxLifetime,
  state: 'enabled',
  ...extra,
});

describe('credential rules from app management policies', () => {
  test('when the tenant default is disabled, then nothing binds', () => {
    const rules = credentialRules({
      tenantDefault: tenantDefault({ passwordCredentials: [{ restrictionType: 'passwordAddition' }] }, false),
      assigned: [],
      appCreated: now,
    });
    expect(rules).toEqual({ passwordBlocked: false, customPasswordBlocked: false });
  });

  test('when the default caps secrets at P180D, then 180 days pass, 181 are refused in the policy terms, and the cap is 180', () => {
    const rules = credentialRules({
      tenantDefault: tenantDefault({ passwordCredentials: [lifetime('P180D')] }),
      assigned: [],
      appCreated: now,
    });
    expect(secretMaxDays(rules, 730, now)).toBe(180);
    expect(secretProblem(rules, 180, now)).toBeUndefined();
    expect(secretProblem(rules, 181, now)).toContain(
      "The tenant's app management policy “Secrets at most 180 days” allows a client secret to live at most P180D (passwordLifetime)",
    );
  });

  test('when a restriction is disabled or binds only apps created later, then it does not bind', () => {
    const rules = credentialRules({
      tenantDefault: tenantDefault({
        passwordCredentials: [
          { restrictionType: 'passwordAddition', state: 'disabled' },
          lifetime('P30D', { restrictForAppsCreatedAfterDateTime: '2027-01-01T00:00:00Z' }),
        ],
      }),
      assigned: [],
      appCreated: now,
    });
    expect(rules.passwordBlocked).toBe(false);
    expect(rules.secretMaxLifetime).toBeUndefined();
    expect(rules.policy).toBeUndefined();
  });

  test('when an enabled policy is assigned to the app, then it replaces the default entirely (no inheritance)', () => {
    const rules = credentialRules({
      tenantDefault: tenantDefault({ passwordCredentials: [{ restrictionType: 'passwordAddition' }] }),
      assigned: [
        {
          id: 'a1',
          displayName: 'Certificates only a year',
          isEnabled: true,
          restrictions: { keyCredentials: [{ restrictionType: 'asymmetricKeyLifetime', maxLifetime: 'P1Y' }] },
        },
      ],
      appCreated: now,
    });
    expect(rules.passwordBlocked).toBe(false);
    expect(rules.certificateMaxLifetime).toBe('P1Y');
    expect(rules.policy).toEqual({ id: 'a1', displayName: 'Certificates only a year', scope: 'app' });
    expect(
      certificateProblem(rules, { notBefore: '2026-01-01T00:00:00Z', notAfter: '2027-06-01T00:00:00Z' }),
    ).toContain('allows a certificate to be valid at most P1Y (asymmetricKeyLifetime)');
    expect(
      certificateProblem(rules, { notBefore: '2026-01-01T00:00:00Z', notAfter: '2026-12-31T00:00:00Z' }),
    ).toBeUndefined();
  });

  test('when the assigned policy is disabled, then the tenant default binds; passwordAddition blocks every secret', () => {
    const rules = credentialRules({
      tenantDefault: tenantDefault({ passwordCredentials: [{ restrictionType: 'passwordAddition' }] }),
      assigned: [{ id: 'a1', displayName: 'Off', isEnabled: false, restrictions: {} }],
      appCreated: now,
    });
    expect(rules.passwordBlocked).toBe(true);
    expect(secretProblem(rules, 1, now)).toBe(
      "The tenant's app management policy “Secrets at most 180 days” blocks new client secrets (passwordAddition).",
    );
  });
});
