/**
 * `mine` through the running bot, against the local tenant and Azurite: after Alex gets a new app and rotates one he
 * owns (the demo's Expense Bot), `mine` lists both apps with their credentials as the tenant holds them (kind, name,
 * expiry, days left), the rotation under its app and not as a request, and only the new app under his requests.
 */
import { alex, demoTenantId, demoUsers } from '../../../src/local/demo-identities';
import { allRoutes } from '../../../src/local/tenant/routes';
import { demoApplicationIds, demoTenant } from '../../../src/local/tenant/seed';
import type { RunningTenant } from '../../../src/local/tenant/server';
import { Verb } from '../../../src/cards/verbs';
import { actionFor } from '../../helpers/cards';
import { FakeConnector } from '../../helpers/connector';
import { type TestRegistrar, startRegistrar } from '../../helpers/registrar';
import { permissionChoice } from '../../helpers/runbook';
import { registrarEnv, startTestTenant } from '../../helpers/tenant';
import { Teams, cardText, personalChat, teamChannel } from '../../helpers/teams';

jest.setTimeout(120_000);

const megan = demoUsers[0]!;
const expenseBot = demoApplicationIds(3);

describe('mine', () => {
  let tenant: RunningTenant;
  let registrar: TestRegistrar;
  let connector: FakeConnector;
  let teams: Teams;
  const channel = teamChannel(demoTenantId, 'App approvals');
  const alexChat = personalChat(alex, demoTenantId);

  beforeEach(async () => {
    tenant = await startTestTenant({ data: demoTenant().data, routes: allRoutes });
    connector = await new FakeConnector().start();
    registrar = await startRegistrar({
      env: {
        ADMIN_IDS: alex.aadObjectId,
        APPROVER_IDS: megan.aadObjectId,
        REMINDER_CRON: 'off',
        ...registrarEnv(tenant),
      },
      overrides: { graphTiming: { baseDelayMs: 50, maxDelayMs: 500, stepTimeoutMs: 20_000 } },
    });
    teams = new Teams(registrar.url, connector);
    await teams.post(teams.message(channel, alex, 'setup approvals', { mentionBot: true }));
  });

  afterEach(async () => {
    await registrar.stop();
    await connector.stop();
    await tenant.stop();
  });

  const lastReply = () =>
    connector
      .cards({ conversationId: alexChat.conversation.id, kind: 'reply' })
      .map((c) => c.card)
      .at(-1);

  /** The delivery card's request id and activity, for the app named `name`. */
  function deliveryOf(text: string): { requestId: string; id: string } {
    const sent = connector.sent.find(
      (s) =>
        s.kind === 'send' &&
        s.conversationId === alexChat.conversation.id &&
        JSON.stringify(s.activity).includes(text) &&
        JSON.stringify(s.activity).includes(Verb.deliveryReveal),
    );
    if (!sent) throw new Error(`no delivery card with ${text}`);
    const content = (sent.activity.attachments as Array<{ content: unknown }>)[0]!.content;
    return { requestId: String(actionFor(content, Verb.deliveryReveal).data.requestId), id: sent.id };
  }

  test('when Alex has a new app and has rotated Expense Bot, then mine lists both apps with their credentials and days left, the rotation under its app, and only the new app as a request', async () => {
    // A new app: asked, approved by Megan, provisioned, its secret revealed.
    await teams.post(teams.message(alexChat, alex, 'request'));
    const form = lastReply();
    const requestId = String(actionFor(form, Verb.requestSubmit).data.requestId);
    await teams.invoke(
      teams.cardAction(
        alexChat,
        alex,
        Verb.requestSubmit,
        {
          requestId,
          name: 'Payroll export',
          purpose: 'Nightly export of payroll data to the finance warehouse.',
          audience: 'AzureADMyOrg',
          platform: 'none',
          permissions: permissionChoice('User.Read', 'Scope'),
          credential: 'secret',
          secretDays: '30',
        },
        'form-1',
      ),
    );
    await registrar.runtime.idle();
    const approval = connector.sent.find(
      (s) => s.conversationId === channel.conversation.id && JSON.stringify(s.activity).includes(Verb.approvalApprove),
    );
    await teams.invoke(teams.cardAction(channel, megan, Verb.approvalApprove, { requestId }, approval?.id));
    await registrar.runtime.idle();
    const newApp = deliveryOf('Payroll export');
    await teams.invoke(teams.cardAction(alexChat, alex, Verb.deliveryReveal, { requestId }, newApp.id));

    // A rotation of an app Alex owns in the directory.
    await teams.post(teams.message(alexChat, alex, 'rotate Expense Bot'));
    await registrar.runtime.idle();
    const rotation = deliveryOf(expenseBot.appId);
    await teams.invoke(
      teams.cardAction(alexChat, alex, Verb.deliveryReveal, { requestId: rotation.requestId }, rotation.id),
    );

    await teams.post(teams.message(alexChat, alex, 'mine'));
    const text = cardText(lastReply());

    const apps = text.slice(text.indexOf('Your apps'), text.indexOf('Your requests for new apps'));
    const requests = text.slice(text.indexOf('Your requests for new apps'));
    expect(apps).toContain('Expense Bot');
    expect(apps).toContain(expenseBot.appId);
    expect(apps).toContain('Payroll export');
    // Expense Bot has its old secret and the new one; the new app its one secret, 30 days from now.
    expect(apps).toContain('2 credentials');
    expect(apps).toContain('1 credential');
    expect(apps).not.toContain('credential(s)');
    // cardText gives each TextRun its own line: kind, name, expiry, days left.
    expect(apps).toMatch(/^Client secret \nmade by Registrar \(.{3}…\)\n · expires .* · \n(29|30) days left$/m);
    expect(apps).toMatch(/^Client secret \nExpense Bot secret \(.{3}…\)\n · expires .* · \n\d+ days? left$/m);
    expect(apps).toMatch(/New client secret asked for on .*: revealed/);
    // The rotation is no request of Alex's; the new app is.
    expect(requests).toContain('Payroll export');
    expect(requests).not.toContain('Expense Bot');
    expect(requests).not.toContain(rotation.requestId);

    // The expiry dates are the tenant's.
    const stored = tenant.state().data.applications[expenseBot.id]!.data.passwordCredentials as Array<{
      endDateTime: string;
    }>;
    expect(stored).toHaveLength(2);
  });

  test('when Alex has nothing yet, then mine says he has no app and no request', async () => {
    await teams.post(teams.message(alexChat, alex, 'mine'));
    const text = cardText(lastReply());
    expect(text).toContain('Registrar has made or rotated no app for you yet.');
    expect(text).toContain('You have not asked for any app yet.');
  });
});
