import {
  DEFAULT_ROUTE,
  describeRule,
  groupsOf,
  parseReminderRule,
  type ReminderRoute,
  routeOf,
  ruleKey,
  ruleMatches,
  ruleText,
} from '../../../src/domain/reminder-routes';
import { parseCommand } from '../../../src/domain/commands';

const GROUP = '6f1c2b7e-4a59-4e2b-9d0e-1c2d3e4f5a6b';

describe('parseReminderRule', () => {
  test('when a rule is tag:, prefix: or group: with a value, then it is read whatever the case of its kind', () => {
    expect(parseReminderRule('tag:payments')).toEqual({ ok: true, rule: { kind: 'tag', tag: 'payments' } });
    expect(parseReminderRule(' Prefix: fin- ')).toEqual({ ok: true, rule: { kind: 'prefix', prefix: 'fin-' } });
    expect(parseReminderRule(`group:${GROUP.toUpperCase()}`)).toEqual({
      ok: true,
      rule: { kind: 'group', groupId: GROUP },
    });
    expect(parseReminderRule('group:Payments owners')).toEqual({
      ok: true,
      rule: { kind: 'groupName', groupName: 'Payments owners' },
    });
  });

  test.each([
    ['', /not a reminder rule/],
    ['payments', /not a reminder rule.*tag:payments/],
    ['owner:someone', /"owner" is not a kind of rule.*tag:, prefix: or group:/],
    ['tag:', /Say which tag after "tag:"/],
    ['prefix:   ', /Say which name prefix/],
    [`tag:${'x'.repeat(257)}`, /longer than Entra allows/],
    ['tag:a\u0007b', /control characters/],
  ])('when the rule is %j, then it is refused with a message that shows how to write one', (text, message) => {
    const parsed = parseReminderRule(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.message).toMatch(message);
  });
});

describe('ruleKey and describeRule', () => {
  test('when two rules differ only in case, then they are one rule', () => {
    const a = parseReminderRule('tag:Payments');
    const b = parseReminderRule('TAG:payments');
    if (!a.ok || !b.ok) throw new Error('parse failed');
    expect(ruleKey(a.rule)).toBe(ruleKey(b.rule));
    expect(ruleKey({ kind: 'prefix', prefix: 'Fin-' })).toBe('prefix:fin-');
    expect(describeRule({ kind: 'prefix', prefix: 'fin-' })).toBe('apps whose name starts with "fin-"');
  });
});

describe('ruleMatches', () => {
  test('when the app carries the tag in another case, then a tag rule matches; a tag that only contains it does not', () => {
    expect(ruleMatches({ kind: 'tag', tag: 'payments' }, { appName: 'x', tags: ['Payments'] })).toBe(true);
    expect(ruleMatches({ kind: 'tag', tag: 'payments' }, { appName: 'x', tags: ['payments-old'] })).toBe(false);
    expect(ruleMatches({ kind: 'tag', tag: 'payments' }, { appName: 'payments' })).toBe(false);
  });

  test('when the name starts with the prefix in any case, then a prefix rule matches, and only then', () => {
    expect(ruleMatches({ kind: 'prefix', prefix: 'fin-' }, { appName: 'FIN-ledger' })).toBe(true);
    expect(ruleMatches({ kind: 'prefix', prefix: 'fin-' }, { appName: 'old fin-ledger' })).toBe(false);
  });

  test('when one of the owners is in the group, then a group rule matches; a name never resolved matches nothing', () => {
    expect(ruleMatches({ kind: 'group', groupId: GROUP }, { appName: 'x', ownerGroups: new Set([GROUP]) })).toBe(true);
    expect(ruleMatches({ kind: 'group', groupId: GROUP }, { appName: 'x', ownerGroups: new Set() })).toBe(false);
    expect(ruleMatches({ kind: 'groupName', groupName: 'Payments' }, { appName: 'Payments' })).toBe(false);
  });
});

describe('routeOf', () => {
  const routes: ReminderRoute[] = [
    { rule: { kind: 'tag', tag: 'payments' }, channelId: 'payments-channel' },
    { rule: { kind: 'prefix', prefix: 'pay' }, channelId: 'payments-channel' },
    { rule: { kind: 'group', groupId: GROUP }, channelId: 'platform-channel' },
  ];

  test('when several rules match, then the credential goes to every matching channel, each once', () => {
    expect(routeOf(routes, { appName: 'Payroll', tags: ['payments'], ownerGroups: new Set([GROUP]) })).toEqual([
      'payments-channel',
      'platform-channel',
    ]);
  });

  test('when no rule matches, then it goes to the default channel', () => {
    expect(routeOf(routes, { appName: 'Wiki' })).toEqual([DEFAULT_ROUTE]);
    expect(routeOf([], { appName: 'Payroll' })).toEqual([DEFAULT_ROUTE]);
  });

  test('the groups the routes name are read once each', () => {
    expect(groupsOf([...routes, { rule: { kind: 'group', groupId: GROUP.toUpperCase() }, channelId: 'c' }])).toEqual([
      GROUP,
    ]);
  });
});

describe('the reminder rule commands', () => {
  test.each([
    ['setup reminders for group:Payments owners', 'setup reminders for <rule>', 'group:Payments owners'],
    ['Setup Reminders For tag:Payments', 'setup reminders for <rule>', 'tag:Payments'],
    ['remove reminders for prefix:fin-', 'remove reminders for <rule>', 'prefix:fin-'],
    ['list reminders', 'list reminders', ''],
    ['setup reminders', 'setup reminders', ''],
  ])('when "%s" is typed, then it is %s with the rule as typed', (text, usage, argument) => {
    const parsed = parseCommand(text);

    expect(parsed?.command.usage).toBe(usage);
    expect(parsed?.argument).toBe(argument);
  });

  test('when a rule is shown again, then it reads as it would be typed, with a group by its name when known', () => {
    expect(ruleText({ kind: 'tag', tag: 'Payments' })).toBe('tag:Payments');
    expect(ruleText({ kind: 'prefix', prefix: 'fin-' })).toBe('prefix:fin-');
    expect(ruleText({ kind: 'group', groupId: 'a1e5c0de-0000-4000-8000-000000000032', groupName: 'Approvers' })).toBe(
      'group:Approvers',
    );
    expect(ruleText({ kind: 'group', groupId: 'a1e5c0de-0000-4000-8000-000000000032' })).toBe(
      'group:a1e5c0de-0000-4000-8000-000000000032',
    );
  });
});
