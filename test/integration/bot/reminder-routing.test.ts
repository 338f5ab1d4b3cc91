/**
 * Reminders that reach the owning team, through the running bot against the local tenant's demo apps: operators
 * give channels rules (`setup reminders for tag:|prefix:|group:`), each channel gets a digest of its own apps, the
 * rest go to the default reminders channel, once per (credential, threshold, channel); `list reminders` and
 * `remove reminders for` say and undo it.
 */
import { alex, demoTenantId, demoUsers } from '../../../src/local/demo-identities';
import { allRoutes } from '../../../src/local/tenant/routes';
import { demoApplicationIds, demoIds, demoTenant } from '../../../src/local/tenant/seed';
import type { RunningTenant } from '../../../src/local/tenant/server';
import { FakeConnector } from '../../helpers/connector';
import { type TestRegistrar, startRegistrar } from '../../helpers/registrar';
import { registrarEnv, startTestTenant } from '../../helpers/tenant';
import { Teams, cardText, personalChat, teamChannel } from '../../helpers/teams';

jest.setTimeout(120_000);

const megan = demoUsers[0]!;
const names = ['Contoso HR Portal', 'Payroll Sync', 'Expense Bot', 'Legacy CRM Connector', 'Old Reporting Job'];

describe('reminder routing rules', () => {
  let tenant: RunningTenant;
  let registrar: TestRegistrar;
  let connector: FakeConnector;
  let teams: Teams;
  const reminders = teamChannel(demoTenantId, 'Credential reminders');
  const payments = teamChannel(demoTenantId, 'Payments');
  const hr = teamChannel(demoTenantId, 'HR apps');
  const reviewers = teamChannel(demoTenantId, 'Security review');
  const alexChat = personalChat(alex, demoTenantId);

  beforeEach(async () => {
    tenant = await startTestTenant({ data: demoTenant().data, routes: allRoutes });
    connector = await new FakeConnector().start();
    registrar = await startRegistrar({
      env: { ADMIN_IDS: alex.aadObjectId, ...registrarEnv(tenant), REMINDER_CRON: 'off' },
      overrides: { graphTiming: { baseDelayMs: 50, maxDelayMs: 500, stepTimeoutMs: 20_000 } },
    });
    teams = new Teams(registrar.url, connector);
  });

  afterEach(async () => {
    await registrar.stop();
    await connector.stop();
    await tenant.stop();
  });

  function tag(appIndex: number, ...tags: string[]): void {
    const app = tenant.state().data.applications[demoApplicationIds(appIndex).id]!;
    app.data.tags = [...((app.data.tags as string[] | undefined) ?? []), ...tags];
    app.sequence = tenant.state().nextSequence();
  }

  /** The demo apps named in the digests a channel received, each as often as it was named. */
  function appsIn(conversationId: string): string[] {
    const found: string[] = [];
    for (const { card } of connector.cards({ conversationId, kind: 'send' })) {
      const text = cardText(card);
      for (const name of names) {
        const { appId } = demoApplicationIds(names.indexOf(name) + 1);
        for (let i = 1; i < text.split(appId).length; i++) found.push(name);
      }
    }
    return found.sort();
  }

  const lastReply = (conversationId: string) =>
    cardText(connector.cards({ conversationId, kind: 'reply' }).at(-1)!.card);

  async function say(place: typeof reminders, text: string, who = alex) {
    const result = await teams.post(teams.message(place, who, text, { mentionBot: place !== alexChat }));
    expect(result.status).toBe(200);
  }

  test('when channels have tag, prefix and group rules, then each gets a digest of its apps, the rest go to the default channel, and a second scan posts nothing', async () => {
    tag(2, 'Payments'); // Payroll Sync (its certificate: 30 days)
    tag(4, 'payments'); // Legacy CRM Connector, owned by a security reviewer: two channels hear of it
    await say(reminders, 'setup reminders');
    await say(payments, 'setup reminders for tag:payments');
    await say(hr, 'setup reminders for prefix:contoso hr');
    await say(reviewers, 'setup reminders for group:Registrar security reviewers');
    expect(lastReply(reviewers.conversation.id)).toMatch(/Registrar security reviewers/);
    const stored = await registrar.container.channels.routes();
    expect(stored.find((r) => r.channelId === reviewers.conversation.id)?.rule).toEqual({
      kind: 'group',
      groupId: demoIds.securityReviewersGroup,
      groupName: 'Registrar security reviewers',
    });

    const reviewer = demoUsers[2]!;
    const reviewerChat = personalChat(reviewer, demoTenantId);
    await say(reviewerChat, 'help', reviewer);

    await say(alexChat, 'scan');
    await registrar.runtime.idle();

    expect(appsIn(payments.conversation.id)).toEqual(['Legacy CRM Connector', 'Legacy CRM Connector', 'Payroll Sync']);
    expect(appsIn(hr.conversation.id)).toEqual(['Contoso HR Portal']);
    expect(appsIn(reviewers.conversation.id)).toEqual(['Legacy CRM Connector', 'Legacy CRM Connector']);
    expect(appsIn(reminders.conversation.id)).toEqual(['Expense Bot', 'Old Reporting Job', 'Old Reporting Job']);
    // The owner of an app heard in two channels is told once in person, of both its credentials.
    const toReviewer = connector.cards({ conversationId: reviewerChat.conversation.id, kind: 'send' });
    expect(toReviewer).toHaveLength(1);
    expect(cardText(toReviewer[0]!.card)).toContain('Legacy CRM Connector');
    // The ledger holds a row per routed channel, beside the default channel's rows.
    const ledger: string[] = [];
    for await (const { row } of registrar.container.store.ledger.list('ledger')) ledger.push(row);
    // Each claim with the less urgent thresholds it covers: Payments 2 + 5 + 5, HR 1, Security review 5 + 5.
    expect(ledger.filter((row) => row.includes(':c.'))).toHaveLength(23);

    const before = connector.cards({ kind: 'send' }).length;
    await say(alexChat, 'scan');
    await registrar.runtime.idle();
    expect(connector.cards({ kind: 'send' }).length).toBe(before);
  });

  test('when a rule is added after a credential was announced, then the new channel hears of it once, and the default channel not again', async () => {
    await say(reminders, 'setup reminders');
    await say(alexChat, 'scan');
    await registrar.runtime.idle();
    expect(appsIn(reminders.conversation.id)).toContain('Expense Bot');
    const defaultBefore = appsIn(reminders.conversation.id);

    tag(3, 'payments'); // Expense Bot
    await say(payments, 'setup reminders for tag:payments');
    await say(alexChat, 'scan');
    await registrar.runtime.idle();
    await say(alexChat, 'scan');
    await registrar.runtime.idle();

    expect(appsIn(payments.conversation.id)).toEqual(['Expense Bot']);
    expect(appsIn(reminders.conversation.id)).toEqual(defaultBefore);
  });

  test('when an operator lists and removes rules, then the list names each rule, its channel and the default, and a removed rule sends nothing more', async () => {
    await say(reminders, 'setup reminders');
    await say(payments, 'setup reminders for tag:payments');
    await say(hr, 'setup reminders for prefix:Contoso HR');

    await say(alexChat, 'list reminders');
    const list = lastReply(alexChat.conversation.id);
    expect(list).toContain('tag:payments');
    expect(list).toContain('Payments, in IT Operations');
    expect(list).toContain('prefix:Contoso HR');
    expect(list).toContain('Credential reminders, in IT Operations');

    await say(hr, 'remove reminders for prefix:contoso hr');
    expect(lastReply(hr.conversation.id)).toMatch(/no longer come here/i);
    expect((await registrar.container.channels.routes()).map((r) => r.channelId)).toEqual([payments.conversation.id]);

    await say(alexChat, 'scan');
    await registrar.runtime.idle();
    expect(appsIn(hr.conversation.id)).toEqual([]);
    expect(appsIn(reminders.conversation.id)).toContain('Contoso HR Portal');
  });

  test.each([
    ['setup reminders for colour:blue', /not a kind of rule/i],
    ['setup reminders for tag:', /say which tag/i],
    ['setup reminders for payments', /not a reminder rule/i],
    ["setup reminders for group:Nobody's group", /no group/i],
  ])('when an operator writes "%s", then the answer says what is wrong and nothing is kept', async (text, answer) => {
    await say(payments, text);

    expect(lastReply(payments.conversation.id)).toMatch(answer);
    expect(await registrar.container.channels.routes()).toEqual([]);
  });

  test('when someone who is not an operator sets or removes a rule, then they are refused and the rules stay as they were', async () => {
    await say(payments, 'setup reminders for tag:payments');

    await say(hr, 'setup reminders for prefix:hr', megan);
    expect(lastReply(hr.conversation.id)).toMatch(/only an operator/i);
    await say(payments, 'remove reminders for tag:payments', megan);
    expect(lastReply(payments.conversation.id)).toMatch(/only an operator/i);

    expect((await registrar.container.channels.routes()).map((r) => r.channelId)).toEqual([payments.conversation.id]);
  });

  test('when a rule is set in personal chat, then the operator is told to run it in the channel', async () => {
    await say(alexChat, 'setup reminders for tag:payments');

    expect(lastReply(alexChat.conversation.id)).toMatch(/in the teams channel/i);
    expect(await registrar.container.channels.routes()).toEqual([]);
  });
});
