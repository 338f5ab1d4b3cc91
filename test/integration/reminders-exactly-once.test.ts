/**
 * Exactly once, across processes: three bot processes share one Azurite and one local tenant and scan on the
 * same schedule (every two seconds), for several cycles, one of them killed with SIGKILL and started again in
 * between, while credentials move closer to expiry. Every (credential, threshold) reaches the reminders channel
 * once, and only once.
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
  const children: ChildProcess[] = [];
  let tenant: RunningTenant;
  let connector: FakeConnector;
  let env: Record<string, string>;

  beforeAll(async () => {
    const demo = demoTenant();
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

  /** How often each app's id appears in the digests posted so far: one per credential and threshold announced. */
  function announcements(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const { card } of connector.cards({ conversationId: reminders.conversation.id, kind: 'send' })) {
      const text = cardText(card);
      for (const app of demoApplications) {
        const { appId } = demoApplicationIds(app.index);
        counts.set(app.name, (counts.get(app.name) ?? 0) + text.split(appId).length - 1);
      }
    }
    return counts;
  }

  async function settled(expected: Record<string, number>, cycles = 3): Promise<void> {
    // Wait until the expected digests are in, then a few more cycles to see that nothing else comes.
    const deadline = Date.now() + 60_000;
    const matches = () => demoApplications.every((app) => (announcements().get(app.name) ?? 0) >= expected[app.name]!);
    while (!matches()) {
      if (Date.now() > deadline)
        throw new Error(`digests never reached ${JSON.stringify(expected)}: ${JSON.stringify([...announcements()])}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    await new Promise((r) => setTimeout(r, cycles * 2000 + 500));
    expect(Object.fromEntries(announcements())).toEqual(expected);
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

  test('when three processes scan every two seconds and one is killed and restarted, then each credential is announced once per threshold', async () => {
    const bots: BotProcess[] = [];
    for (let i = 0; i < 3; i++) {
      const bot = await startBotProcess(env);
      children.push(bot.child);
      bots.push(bot);
    }
    const teams = new Teams(bots[0]!.url, connector);
    await teams.post(teams.message(reminders, alex, 'setup reminders', { mentionBot: true }));

    // The demo's due credentials: HR Portal's secret (60 days), Payroll Sync's certificate (30), Expense Bot's
    // secret (7), Legacy CRM's secret and certificate (1), Old Reporting Job's secret and certificate (expired).
    await settled({
      'Contoso HR Portal': 1,
      'Payroll Sync': 1,
      'Expense Bot': 1,
      'Legacy CRM Connector': 2,
      'Old Reporting Job': 2,
    });

    await killed(bots[1]!.child, 'SIGKILL');
    const restarted = await startBotProcess(env);
    children.push(restarted.child);

    // HR Portal's secret crosses 30 days and then, in one jump, 14 and 7: announced at 30, then once at 7.
    secretExpiresIn(1, 20);
    await settled({
      'Contoso HR Portal': 2,
      'Payroll Sync': 1,
      'Expense Bot': 1,
      'Legacy CRM Connector': 2,
      'Old Reporting Job': 2,
    });
    secretExpiresIn(1, 5);
    await settled({
      'Contoso HR Portal': 3,
      'Payroll Sync': 1,
      'Expense Bot': 1,
      'Legacy CRM Connector': 2,
      'Old Reporting Job': 2,
    });
  });
});
