import {
  byUrgency,
  type CredentialInfo,
  crossedThreshold,
  daysLeft,
  defaultReminderDays,
  type ExpiringCredential,
  earlierLedgerRow,
  expiringCredential,
  isAnnounced,
  type LedgerState,
  ledgerRow,
  thresholdCrossing,
  thresholdsCovered,
  thresholdsOf,
} from '../../../src/domain/expiry';

const DAY = 86_400_000;
const now = new Date('2026-03-02T09:00:00.000Z');
const inDays = (days: number) => new Date(now.getTime() + days * DAY).toISOString();

const credential = (overrides: Partial<CredentialInfo> = {}): CredentialInfo => ({
  applicationObjectId: 'a1e5c0de-0000-4000-8000-000000000101',
  appId: 'a1e5c0de-0000-4000-9000-000000000201',
  appName: 'Contoso HR Portal',
  kind: 'secret',
  keyId: '6C1A3B2E-0000-4000-8000-0000000000AA',
  hint: 'Co1',
  endDateTime: inDays(10),
  managed: false,
  source: 'application',
  samlSigning: false,
  ...overrides,
});

describe('thresholds', () => {
  test('the defaults are 60, 30, 14, 7 and 1 days, then expired (0), most urgent last', () => {
    expect(thresholdsOf(defaultReminderDays)).toEqual([60, 30, 14, 7, 1, 0]);
  });

  test('reminder days are deduplicated and sorted, and values that are not whole positive days are ignored', () => {
    expect(thresholdsOf([7, 30, 7, 0, -5, 2.5, Number.NaN, 90])).toEqual([90, 30, 7, 0]);
    expect(thresholdsOf([])).toEqual([0]);
  });

  test('announcing a threshold covers it and every less urgent one', () => {
    expect(thresholdsCovered(60, defaultReminderDays)).toEqual([60]);
    expect(thresholdsCovered(7, defaultReminderDays)).toEqual([60, 30, 14, 7]);
    expect(thresholdsCovered(0, defaultReminderDays)).toEqual([60, 30, 14, 7, 1, 0]);
  });
});

describe('crossedThreshold', () => {
  test.each<[string, number, number | undefined]>([
    ['beyond the first threshold', 61, undefined],
    ['exactly 60 days left', 60, 60],
    ['59.5 days left', 59.5, 60],
    ['30 days left', 30, 30],
    ['20 days left', 20, 30],
    ['14 days left', 14, 14],
    ['7 days left', 7, 7],
    ['a day and a bit left', 1.01, 7],
    ['exactly one day left', 1, 1],
    ['an hour left', 1 / 24, 1],
    ['expiring this instant', 0, 0],
    ['expired three days ago', -3, 0],
  ])('%s → %s', (_, days, expected) => {
    expect(crossedThreshold(inDays(days), now, defaultReminderDays)).toBe(expected);
  });

  test('when several thresholds were crossed since the last look, the answer is the most urgent of them', () => {
    // Last scan at 20 days (threshold 30); the bot was down, and now 3 days are left: 14 and 7 were both crossed.
    expect(crossedThreshold(inDays(3), now, defaultReminderDays)).toBe(7);
    // From "not yet within 60 days" straight to expired.
    expect(crossedThreshold(inDays(-1), now, defaultReminderDays)).toBe(0);
  });

  test('an unreadable end date crosses nothing', () => {
    expect(crossedThreshold('not a date', now, defaultReminderDays)).toBeUndefined();
    expect(crossedThreshold('', now, defaultReminderDays)).toBeUndefined();
  });

  test('with custom reminder days', () => {
    expect(crossedThreshold(inDays(80), now, [90, 3])).toBe(90);
    expect(crossedThreshold(inDays(2), now, [90, 3])).toBe(3);
    expect(crossedThreshold(inDays(2), now, [])).toBeUndefined();
    expect(crossedThreshold(inDays(-2), now, [])).toBe(0);
  });

  test('thresholdCrossing gives the same answer as crossedThreshold, for every offset and set of days', () => {
    for (const days of [defaultReminderDays, [90, 3], [], [7, 7, 30]]) {
      const crossing = thresholdCrossing(days);
      for (let hours = -48; hours <= 24 * 100; hours += 5) {
        const end = new Date(now.getTime() + hours * 3_600_000).toISOString();
        expect(crossing(end, now)).toBe(crossedThreshold(end, now, days));
      }
      expect(crossing('garbage', now)).toBeUndefined();
    }
  });
});

describe('days left', () => {
  test('whole days, rounded down, negative once expired', () => {
    expect(daysLeft(inDays(7), now)).toBe(7);
    expect(daysLeft(inDays(6.9), now)).toBe(6);
    expect(daysLeft(inDays(0.5), now)).toBe(0);
    expect(daysLeft(inDays(-0.5), now)).toBe(-1);
    expect(daysLeft(inDays(-3), now)).toBe(-3);
  });

  test('an announced credential carries its threshold, its days left and its owners', () => {
    const announced = expiringCredential(credential({ endDateTime: inDays(6.5) }), 7, now, ['owner-1']);
    expect(announced).toMatchObject({ keyId: credential().keyId, threshold: 7, daysLeft: 6, ownerIds: ['owner-1'] });
  });
});

describe('ledger rows', () => {
  const app = 'A1E5C0DE-0000-4000-8000-000000000101';
  const other = 'b2e5c0de-0000-4000-8000-000000000102';
  const key = '6C1A3B2E-0000-4000-8000-0000000000AA';

  test('one row per (application, keyId, threshold), whatever the case of the ids', () => {
    expect(ledgerRow(app, key, 7)).toBe('a1e5c0de-0000-4000-8000-000000000101:6c1a3b2e-0000-4000-8000-0000000000aa:7');
    expect(ledgerRow(app.toLowerCase(), key.toLowerCase(), 7)).toBe(ledgerRow(app, key, 7));
    expect(ledgerRow(app, key, 0)).not.toBe(ledgerRow(app, key, 1));
    expect(ledgerRow(other, key, 7)).not.toBe(ledgerRow(app, key, 7));
  });

  test('when a posted row of the earlier format (keyId:threshold) is there, then it counts only for the application it records', () => {
    const rows = new Map<string, LedgerState>([
      [earlierLedgerRow(key, 7), { applicationObjectId: app, state: 'posted' }],
    ]);
    const lookup = (row: string) => rows.get(row);
    expect(isAnnounced(lookup, credential({ applicationObjectId: app.toLowerCase(), keyId: key }), 7)).toBe(true);
    expect(isAnnounced(lookup, credential({ applicationObjectId: other, keyId: key }), 7)).toBe(false);
    expect(isAnnounced(lookup, credential({ applicationObjectId: app, keyId: key }), 1)).toBe(false);
    rows.set(earlierLedgerRow(key, 1), { applicationObjectId: app, state: 'claimed' });
    expect(isAnnounced(lookup, credential({ applicationObjectId: app, keyId: key }), 1)).toBe(false);
    rows.set(ledgerRow(other, key, 1), { applicationObjectId: other, state: 'posted' });
    expect(isAnnounced(lookup, credential({ applicationObjectId: other, keyId: key }), 1)).toBe(true);
  });
});

describe('digest order', () => {
  const at = (threshold: number, days: number, appName: string): ExpiringCredential => ({
    ...expiringCredential(credential({ endDateTime: inDays(days), appName }), threshold, now),
  });

  test('most urgent threshold first, then soonest expiry, then app name', () => {
    const items = [at(30, 20, 'B'), at(0, -1, 'Z'), at(7, 5, 'Q'), at(7, 3, 'R'), at(30, 20, 'A'), at(0, -10, 'Y')];
    expect(items.sort(byUrgency).map((c) => c.appName)).toEqual(['Y', 'Z', 'R', 'Q', 'A', 'B']);
  });
});
