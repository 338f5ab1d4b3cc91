/**
 * Exactly once, across processes: three bot processes share one Azurite and one local tenant and scan on the
 * same schedule (every two seconds), for several cycles, one of them killed with SIGKILL and started again in
 * between, while credentials move closer to expiry. Two channels have routing rules (a tag, and a name prefix for
 * an app the tag names too): every (credential, threshold, channel) reaches its channel once, and only once, and
 * what no rule names reaches the default reminders channel once, as every (credential, threshold) did before rules.
 */
import type { ChildProcess } from 'node:child_process';
import { alex, demoTenantId } from '../../src/local/demo-identities';
import { allRoutes } from '../../src/local/tenant/routes';
import { demoApplicationIds, demoApplications, demoTenant } from '../../src/local/tenant/seed';
import type { RunningTenant } from '../../src/local/tenant/server';
import { type BotProcess, killed, startBotProcess } from '../helpers/bot-process';
import { FakeConnector } from '../helpers/connector';
import { deleteTables, testStorageConnectionString, uniqueTablePrefix } from '../helpers/registrar';
import { registrarEnv, startTestTenant } from '../helpers/tenant';
import { Teams, cardText, teamChannel } from '../helpers/teams';

jest.setTimeout(240_000);

const DAY_MS = 24 * 60 * 60 * 1000;

describe('reminders from three processes on one schedule', () => {
  const connectionString = testStorageConnectionString();
  const prefix = uniqueTablePrefix();
  const reminders = teamChannel(demoTenantId, 'Credential reminders');
  const payments = teamChannel(demoTenantId, 'Payments');
  const legacy = teamChannel(demoTenantId, 'Legacy apps');
  const children: ChildProcess[] = [];
  let tenant: RunningTenant;
  let connector: FakeConnector;
  let env: Record<string, string>;

  beforeAll(async () => {
    const demo = demoTenant();
    // Payroll Sync and Legacy CRM Connector carry the tag the Payments channel's rule names.
    for (const index of [2, 4]) demo.data.applications[demoApplicationIds(index).id]!.data.tags = ['payments'];
    tenant = await startTestTenant({ data: demo.data, routes: allRoutes });
    connector = await new FakeConnector().start();
    env = {
      STORAGE_CONNECTION_STRING: connectionString,
      STORAGE_TABLE_PREFIX: prefix,
      LOG_LEVEL: 'info',
      ADMIN_IDS: alex.aadObjectId,
      ...registrarEnv(tenant),
      REMINDER_CRON: '*/2 * * * * *',
    };
  });

  afterAll(async () => {
    await Promise.all(children.map((child) => killed(child, 'SIGKILL')));
    await connector.stop();
    await tenant.stop();
    await deleteTables(connectionString, prefix);
  });

  /** How often each app's id appears in the digests a channel got so far: one per credential and threshold announced. */
  function announcements(conversationId = reminders.conversation.id): Map<string, number> {
    const counts = new Map<string, number>();
    for (const { card } of connector.cards({ conversationId, kind: 'send' })) {
      const text = cardText(card);
      for (const app of demoApplications) {
        const { appId } = demoApplicationIds(app.index);
        counts.set(app.name, (counts.get(app.name) ?? 0) + text.split(appId).length - 1);
      }
    }
    return counts;
  }

  /** The routed channels' counts, which stay as they are once the first scans are in. */
  const routed = {
    payments: { 'Payroll Sync': 1, 'Legacy CRM Connector': 2 },
    legacy: { 'Legacy CRM Connector': 2 },
  };

  /** Counts for every demo app, zero for those not given. */
  const all = (counts: Record<string, number>) =>
    Object.fromEntries(demoApplications.map((app) => [app.name, counts[app.name] ?? 0]));

  async function settled(
    expected: Record<string, number>,
    routedExpected: Record<keyof typeof routed, Record<string, number>> = routed,
    cycles = 3,
  ): Promise<void> {
    const channels = [
      { id: reminders.conversation.id, expected: all(expected) },
      { id: payments.conversation.id, expected: all(routedExpected.payments) },
      { id: legacy.conversation.id, expected: all(routedExpected.legacy) },
    ];
    // Wait until the expected digests are in, then a few more cycles to see that nothing else comes.
    const deadline = Date.now() + 60_000;
    const matches = () =>
      channels.every((c) =>
        demoApplications.every((app) => (announcements(c.id).get(app.name) ?? 0) >= c.expected[app.name]!),
      );
    while (!matches()) {
      if (Date.now() > deadline)
        throw new Error(
          `digests never reached ${JSON.stringify(channels.map((c) => c.expected))}: ${JSON.stringify(channels.map((c) => [...announcements(c.id)]))}`,
        );
      await new Promise((r) => setTimeout(r, 200));
    }
    await new Promise((r) => setTimeout(r, cycles * 2000 + 500));
    for (const c of channels) expect(Object.fromEntries(announcements(c.id))).toEqual(c.expected);
  }

  /**
   * Moves a demo app's client secret to expire `days` from now, as if time had passed. It is a change to the
   * application, as Graph's delta rounds see one (the scans after the first read only what changed).
   */
  function secretExpiresIn(appIndex: number, days: number): void {
    const app = tenant.state().data.applications[demoApplicationIds(appIndex).id]!;
    const [secret] = app.data.passwordCredentials as Array<{ endDateTime: string }>;
    secret!.endDateTime = new Date(Date.now() + days * DAY_MS).toISOString();
    app.sequence = tenant.state().nextSequence();
  }

  test('when three processes scan every two seconds and one is killed and restarted, then each credential is announced once per threshold and channel', async () => {
    const bots: BotProcess[] = [];
    for (let i = 0; i < 3; i++) {
      const bot = await startBotProcess(env);
      children.push(bot.child);
      bots.push(bot);
    }
    const teams = new Teams(bots[0]!.url, connector);
    // Set while the processes scan: whichever scan comes between them, each channel hears of each credential once.
    await teams.post(teams.message(payments, alex, 'setup reminders for tag:payments', { mentionBot: true }));
    await teams.post(teams.message(legacy, alex, 'setup reminders for prefix:legacy', { mentionBot: true }));
    await teams.post(teams.message(reminders, alex, 'setup reminders', { mentionBot: true }));

    // The demo's due credentials: HR Portal's secret (60 days), Payroll Sync's certificate (30), Expense Bot's
    // secret (7), Legacy CRM's secret and certificate (1), Old Reporting Job's secret and certificate (expired).
    // Payroll Sync and Legacy CRM go to Payments (tagged), Legacy CRM to Legacy apps too (prefix); the rest to the default.
    await settled({ 'Contoso HR Portal': 1, 'Expense Bot': 1, 'Old Reporting Job': 2 });

    await killed(bots[1]!.child, 'SIGKILL');
    const restarted = await startBotProcess(env);
    children.push(restarted.child);

    // HR Portal's secret crosses 30 days and then, in one jump, 14 and 7: announced at 30, then once at 7.
    secretExpiresIn(1, 20);
    await settled({ 'Contoso HR Portal': 2, 'Expense Bot': 1, 'Old Reporting Job': 2 });
    secretExpiresIn(1, 5);
    await settled({ 'Contoso HR Portal': 3, 'Expense Bot': 1, 'Old Reporting Job': 2 });
    // Payroll Sync's certificate crosses 14 and 7 days in one jump: announced once more, in Payments only.
    const payroll = tenant.state().data.applications[demoApplicationIds(2).id]!;
    const [certificate] = payroll.data.keyCredentials as Array<{ endDateTime: string }>;
    certificate!.endDateTime = new Date(Date.now() + 5 * DAY_MS).toISOString();
    payroll.sequence = tenant.state().nextSequence();
    await settled(
      { 'Contoso HR Portal': 3, 'Expense Bot': 1, 'Old Reporting Job': 2 },
      { ...routed, payments: { 'Payroll Sync': 2, 'Legacy CRM Connector': 2 } },
    );
  });
});
