import { ConfigError, describeConfig, loadConfig } from '../../../src/config';
import { localDefaults } from '../../../src/local/demo-identities';

const production = {
  BOT_ID: '3f0c6a52-8d1e-4b7a-9c2f-5e4d3c2b1a09',
  BOT_TENANT_ID: '9d2a1b3c-4e5f-4a6b-8c7d-0e1f2a3b4c5d',
  STORAGE_ACCOUNT_URL: 'https://registrarprod.table.core.windows.net',
  ADMIN_GROUP_ID: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
};
const approverGroup = '7b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e';

function problemsOf(env: Record<string, string>): string {
  try {
    loadConfig(env, localDefaults);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.join('\n');
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('request policy configuration', () => {
  test('when nothing is set, then the documented defaults apply and the operators approve', () => {
    const { policy, operators } = loadConfig(production, localDefaults);

    expect(policy).toEqual({
      approvalsByRisk: { low: 1, medium: 1, high: 2 },
      pendingTtlDays: 7,
      secretMaxDays: 730,
      secretDefaultDays: 180,
      revealTtlMinutes: 10,
      namePrefix: undefined,
      approvers: { ids: operators.ids, groupId: production.ADMIN_GROUP_ID },
      requesterGroupId: undefined,
      rotationNeedsApproval: 'privileged',
      deliveryTtlDays: 7,
      openRequestsPerUser: 10,
    });
    expect(Object.isFrozen(policy.approvalsByRisk)).toBe(true);
  });

  test('when every policy variable is set, then each is read', () => {
    const { policy } = loadConfig(
      {
        ...production,
        APPROVALS_BY_RISK: 'low=1,medium=2,high=3',
        PENDING_TTL_DAYS: '14',
        SECRET_MAX_DAYS: '365',
        SECRET_DEFAULT_DAYS: '90',
        REVEAL_TTL_MINUTES: '5',
        APP_NAME_PREFIX: 'app-',
        APPROVER_IDS: 'A1E5C0DE-0000-4000-8000-000000000021',
        APPROVER_GROUP_ID: approverGroup,
        REQUESTER_GROUP_ID: approverGroup.toUpperCase(),
        ROTATION_NEEDS_APPROVAL: 'always',
        DELIVERY_TTL_DAYS: '3',
        OPEN_REQUESTS_PER_USER: '4',
      },
      localDefaults,
    );

    expect(policy).toEqual({
      approvalsByRisk: { low: 1, medium: 2, high: 3 },
      pendingTtlDays: 14,
      secretMaxDays: 365,
      secretDefaultDays: 90,
      revealTtlMinutes: 5,
      namePrefix: 'app-',
      approvers: { ids: ['a1e5c0de-0000-4000-8000-000000000021'], groupId: approverGroup },
      requesterGroupId: approverGroup,
      rotationNeedsApproval: 'always',
      deliveryTtlDays: 3,
      openRequestsPerUser: 4,
    });
  });

  test('when SECRET_MAX_DAYS is below the default lifetime, then the default follows it down', () => {
    expect(loadConfig({ SECRET_MAX_DAYS: '90' }, localDefaults).policy).toMatchObject({
      secretMaxDays: 90,
      secretDefaultDays: 90,
    });
  });

  test('when local mode names demo approvers, then they approve', () => {
    const ids = ['a1e5c0de-0000-4000-8000-000000000021'];

    expect(loadConfig({}, { ...localDefaults, approverIds: ids }).policy.approvers).toEqual({ ids });
  });

  test.each([
    [{ APPROVALS_BY_RISK: 'high=1,low=2' }, /APPROVALS_BY_RISK: a higher risk cannot need fewer approvers/],
    [{ APPROVALS_BY_RISK: 'lots' }, /APPROVALS_BY_RISK: "lots" is not level=count/],
    [{ PENDING_TTL_DAYS: '0' }, /PENDING_TTL_DAYS must be a whole number from 1 to 90 \(got "0"\)/],
    [{ PENDING_TTL_DAYS: 'a week' }, /PENDING_TTL_DAYS must be a whole number/],
    [{ SECRET_MAX_DAYS: '731' }, /SECRET_MAX_DAYS must be a whole number from 1 to 730/],
    [
      { SECRET_DEFAULT_DAYS: '400', SECRET_MAX_DAYS: '365' },
      /SECRET_DEFAULT_DAYS \(400\) is longer than SECRET_MAX_DAYS \(365\)/,
    ],
    [{ REVEAL_TTL_MINUTES: '1.5' }, /REVEAL_TTL_MINUTES must be a whole number from 1 to 60/],
    [{ APPROVER_IDS: 'megan@contoso.com' }, /APPROVER_IDS must be GUIDs separated by commas/],
    [{ APPROVER_GROUP_ID: 'approvers' }, /APPROVER_GROUP_ID must be a GUID/],
    [{ REQUESTER_GROUP_ID: 'everyone' }, /REQUESTER_GROUP_ID must be a GUID/],
    [{ APP_NAME_PREFIX: '${x}' }, /APP_NAME_PREFIX must be at most 40 letters/],
  ])('when %j is given, then the process is stopped with a message naming the variable', (env, message) => {
    expect(problemsOf(env)).toMatch(message);
  });

  test('when the configuration is described for the startup log, then the policy is in it', () => {
    expect(describeConfig(loadConfig({}, localDefaults))).toMatchObject({
      policy: { approvalsByRisk: { high: 2 }, secretDays: { default: 180, max: 730 } },
    });
  });
});

describe('reminder configuration', () => {
  test('when nothing is set, then the scan runs daily at 08:00 UTC over every app, at 60, 30, 14, 7 and 1 days, with no job endpoint', () => {
    expect(loadConfig(production, localDefaults).reminders).toEqual({
      days: [60, 30, 14, 7, 1],
      scope: 'all',
      fullScanDays: 7,
      cron: '0 8 * * *',
      timeZone: 'UTC',
    });
  });

  test('when every reminder variable is set, then each is read', () => {
    const token = 'x'.repeat(40);
    const reminders = loadConfig(
      {
        ...production,
        REMINDER_DAYS: '7, 90,7,1',
        REMINDER_SCOPE: 'managed',
        REMINDER_FULL_SCAN_DAYS: '14',
        REMINDER_CRON: '30 6 * * 1-5',
        TZ: 'Europe/Berlin',
        JOB_TOKEN: token,
      },
      localDefaults,
    ).reminders;

    expect(reminders).toEqual({
      days: [90, 7, 1],
      scope: 'managed',
      fullScanDays: 14,
      cron: '30 6 * * 1-5',
      timeZone: 'Europe/Berlin',
      jobToken: token,
    });
  });

  test('when REMINDER_CRON is off, then no schedule is kept', () => {
    expect(loadConfig({ ...production, REMINDER_CRON: 'off' }, localDefaults).reminders.cron).toBeUndefined();
  });

  test.each([
    [{ REMINDER_DAYS: '30,0' }, /REMINDER_DAYS must be comma-separated whole numbers of days from 1 to 365/],
    [{ REMINDER_DAYS: 'monthly' }, /REMINDER_DAYS must be/],
    [{ REMINDER_SCOPE: 'mine' }, /REMINDER_SCOPE must be all or managed/],
    [{ REMINDER_CRON: 'every day' }, /REMINDER_CRON is not a cron expression/],
    [{ TZ: 'Mars/Olympus' }, /TZ must be an IANA time zone name/],
    [{ ROTATION_NEEDS_APPROVAL: 'true' }, /ROTATION_NEEDS_APPROVAL must be never, privileged or always/],
    [{ DELIVERY_TTL_DAYS: '0' }, /DELIVERY_TTL_DAYS must be a whole number from 1 to 90/],
    [{ OPEN_REQUESTS_PER_USER: '1000' }, /OPEN_REQUESTS_PER_USER must be a whole number from 1 to 100/],
    [{ JOB_TOKEN: 'short' }, /JOB_TOKEN must be at least 32 characters/],
  ])('when %j is set, then the start is refused with a message that names the variable', (env, message) => {
    expect(() => loadConfig({ ...production, ...env }, localDefaults)).toThrow(message);
  });
});
