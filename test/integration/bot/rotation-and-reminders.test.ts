/**
 * Expiry reminders and rotation through the running bot, against the local tenant's demo apps (credentials that
 * expire in 60, 30, 7 and 1 days, or have expired) and Azurite: `scan` posts the digest to the reminders channel
 * and tells owners; the Rotate button and `rotate <app>` give an owner a new secret the way a new app's is
 * delivered; the old secret goes only when the owner says so; nobody else can rotate; the job endpoint takes
 * only its own token.
 */
import { alex, demoTenantId, demoUsers } from '../../../src/local/demo-identities';
import { allRoutes } from '../../../src/local/tenant/routes';
import { demoApplicationIds, demoTenant } from '../../../src/local/tenant/seed';
import type { RunningTenant } from '../../../src/local/tenant/server';
import { Verb } from '../../../src/cards/verbs';
import type { AppRequest } from '../../../src/domain/request';
import { actionFor, cardActions, verbsOf } from '../../helpers/cards';
import { FakeConnector } from '../../helpers/connector';
import { type TestRegistrar, startRegistrar } from '../../helpers/registrar';
import { registrarEnv, startTestTenant } from '../../helpers/tenant';
import { Teams, cardText, personalChat, teamChannel } from '../../helpers/teams';

jest.setTimeout(120_000);

const megan = demoUsers[0]!;
const isaiah = demoUsers[2]!;
const expenseBot = demoApplicationIds(3);
const JOB_TOKEN = 'job-token-for-tests-0123456789abcdef0123456789';

describe('expiry reminders and rotation', () => {
  let tenant: RunningTenant;
  let registrar: TestRegistrar;
  let connector: FakeConnector;
  let teams: Teams;
  const approvals = teamChannel(demoTenantId, 'App approvals');
  const reminders = teamChannel(demoTenantId, 'Credential reminders');
  const alexChat = personalChat(alex, demoTenantId);

  async function start(env: Record<string, string> = {}) {
    const demo = demoTenant();
    tenant = await startTestTenant({ data: demo.data, routes: allRoutes });
    connector = await new FakeConnector().start();
    registrar = await startRegistrar({
      env: {
        ADMIN_IDS: alex.aadObjectId,
        APPROVER_IDS: `${megan.aadObjectId},${demoUsers[1]!.aadObjectId}`,
        ...registrarEnv(tenant),
        REMINDER_CRON: 'off',
        JOB_TOKEN,
        ...env,
      },
      overrides: {
        graphTiming: { baseDelayMs: 50, maxDelayMs: 500, stepTimeoutMs: 20_000 },
        secretCheckBudgetMs: 1500,
      },
    });
    teams = new Teams(registrar.url, connector);
    await teams.post(teams.message(approvals, alex, 'setup approvals', { mentionBot: true }));
    await teams.post(teams.message(reminders, alex, 'setup reminders', { mentionBot: true }));
    // Alex has a personal chat with Registrar, so that it can write to him there.
    await teams.post(teams.message(alexChat, alex, 'help'));
  }

  afterEach(async () => {
    await registrar.stop();
    await connector.stop();
    await tenant.stop();
  });

  const passwordsOf = (applicationObjectId: string) =>
    (
      tenant.state().data.applications[applicationObjectId]!.data.passwordCredentials as Array<{
        keyId: string;
        hint: string;
      }>
    ).map((p) => p.keyId);

  async function stored(requestId: string): Promise<AppRequest> {
    return (await registrar.container.store.requests.get('request', requestId))!.value;
  }

  /** Cards posted to a conversation (new messages, not updates). */
  function sentTo(conversationId: string) {
    return connector
      .cards({ conversationId })
      .filter((c) => c.kind === 'send' || c.kind === 'reply')
      .map((c) => c.card);
  }

  /** Replies to what a person typed in a conversation. */
  function repliesIn(conversationId: string) {
    return connector.cards({ conversationId, kind: 'reply' }).map((c) => c.card);
  }

  test('when an operator types scan, then the digest lists the due demo credentials, most urgent first, with owners mentioned and no Rotate for everyone; a second scan posts nothing', async () => {
    await start();

    await teams.post(teams.message(alexChat, alex, 'scan'));
    await registrar.runtime.idle();

    const answer = repliesIn(alexChat.conversation.id).at(-1)!;
    expect(cardText(answer)).toMatch(/announced/i);
    const digest = sentTo(reminders.conversation.id).filter((card) => cardText(card).includes('Expense Bot'));
    expect(digest).toHaveLength(1);
    const text = cardText(digest[0]);
    for (const name of [
      'Old Reporting Job',
      'Legacy CRM Connector',
      'Expense Bot',
      'Payroll Sync',
      'Contoso HR Portal',
    ])
      expect(text).toContain(name);
    expect(text.indexOf('Old Reporting Job')).toBeLessThan(text.indexOf('Expense Bot'));
    const entities = (
      (digest[0] as { msteams?: { entities?: Array<{ mentioned: { id: string } }> } }).msteams?.entities ?? []
    ).map((e) => e.mentioned.id);
    expect(entities).toContain(alex.aadObjectId);
    // Owners Registrar never chatted with are named from the directory and mentioned too.
    for (const owner of demoUsers.slice(0, 4)) {
      expect(entities).toContain(owner.aadObjectId);
      expect(text).toContain(owner.name);
    }
    expect(cardActions(digest[0]).filter((a) => a.verb === Verb.rotationStart)).toEqual([]);
    // Teams refreshes it for the owners it knows: Alex has a personal chat with Registrar.
    expect((digest[0] as { refresh?: { userIds: string[] } }).refresh?.userIds).toContain(alex.id);
    // Alex owns Expense Bot and has a personal chat: he is told there too.
    expect(
      sentTo(alexChat.conversation.id).some(
        (card) => cardText(card).includes('Expense Bot') && verbsOf(card).includes(Verb.rotationStart),
      ),
    ).toBe(true);

    const before = connector.sent.length;
    await registrar.runtime.scan();
    await registrar.runtime.idle();
    expect(connector.sent.slice(before).filter((s) => s.conversationId === reminders.conversation.id)).toEqual([]);
  });

  test('when an owner and someone else refresh the digest, then only the owner sees Rotate, on the apps the directory says they own now', async () => {
    await start();
    await teams.post(teams.message(alexChat, alex, 'scan'));
    await registrar.runtime.idle();
    const digest = sentTo(reminders.conversation.id).find((card) => cardText(card).includes('Expense Bot'))!;
    const refresh = (digest as { refresh: { action: { verb: string; data: Record<string, unknown> } } }).refresh;
    const rotateFor = async (who: typeof alex) => {
      const activity = teams.cardAction(reminders, who, refresh.action.verb, refresh.action.data);
      (activity.value as { trigger: string }).trigger = 'automatic';
      const batches = () => tenant.counters.snapshot()['POST /$batch'] ?? 0;
      const before = batches();
      const answer = await teams.invoke(activity);
      expect(answer.status).toBe(200);
      // The owners of the card's apps (fewer than 20) are read in one JSON batch, not a call per app.
      expect(batches() - before).toBe(1);
      expect(cardText(answer.card)).toContain('Expense Bot');
      // One Rotate per credential: an app with two on the card has two.
      const apps = cardActions(answer.card)
        .filter((a) => a.verb === Verb.rotationStart)
        .map((a) => String(a.data.appId));
      return [...new Set(apps)].sort();
    };

    // What each person owns on the card, as the local tenant's directory says.
    const ownedOnCard = (who: typeof alex) =>
      Object.values(tenant.state().data.applications)
        .filter((app) => app.owners.includes(who.aadObjectId) && cardText(digest).includes(String(app.data.appId)))
        .map((app) => String(app.data.appId))
        .sort();
    expect(ownedOnCard(alex)).toEqual([expenseBot.appId]);
    expect(await rotateFor(alex)).toEqual([expenseBot.appId]);
    const megans = await rotateFor(megan);
    expect(megans).not.toContain(expenseBot.appId);
    expect(megans).toEqual(ownedOnCard(megan));
    expect(await rotateFor(isaiah)).toEqual(ownedOnCard(isaiah));

    // Ownership is read at each refresh: once Alex is no longer an owner, his refresh offers no Rotate.
    const app = tenant.state().data.applications[expenseBot.id]!;
    app.owners = app.owners.filter((id) => id !== alex.aadObjectId);
    expect(await rotateFor(alex)).toEqual([]);
  });

  test('when an operator scans again, then the reply says it read only the changes since the last scan; scan full lists the tenant again', async () => {
    await start();

    await teams.post(teams.message(alexChat, alex, 'scan'));
    expect(cardText(repliesIn(alexChat.conversation.id).at(-1)!)).toMatch(/Scanned \w+ app registrations/);

    await teams.post(teams.message(alexChat, alex, 'scan'));
    const changes = cardText(repliesIn(alexChat.conversation.id).at(-1)!);
    expect(changes).toContain('Read the changes since the last scan (nothing changed)');
    expect(changes).toContain('nothing new to announce');
    expect(changes).not.toContain('Scanned');

    await teams.post(teams.message(alexChat, alex, 'scan full'));
    const full = cardText(repliesIn(alexChat.conversation.id).at(-1)!);
    expect(full).toMatch(/Scanned \w+ app registrations/);
    expect(full).toContain('nothing new to announce');
  });

  test('when someone who is not an operator types scan, then they are refused and nothing is posted', async () => {
    await start();
    const meganChat = personalChat(megan, demoTenantId);

    await teams.post(teams.message(meganChat, megan, 'scan'));

    expect(cardText(repliesIn(meganChat.conversation.id).at(-1))).toMatch(/only registrar operators/i);
    expect(sentTo(reminders.conversation.id).filter((card) => cardText(card).includes('Expense Bot'))).toEqual([]);
  });

  test('when the owner presses Rotate, then a new secret is revealed once in their chat, and the old one goes only when they say so', async () => {
    await start();
    const oldKeys = passwordsOf(expenseBot.id);
    expect(oldKeys).toHaveLength(1);

    const pressed = await teams.invoke(
      teams.cardAction(reminders, alex, Verb.rotationStart, { appId: expenseBot.appId }),
    );
    await registrar.runtime.idle();

    expect(pressed.message).toMatch(/personal chat/i);
    const delivery = connector.sent.find(
      (s) =>
        s.kind === 'send' &&
        s.conversationId === alexChat.conversation.id &&
        JSON.stringify(s.activity).includes(Verb.deliveryReveal),
    );
    expect(delivery).toBeDefined();
    const requestId = String(
      actionFor((delivery!.activity.attachments as Array<{ content: unknown }>)[0]!.content, Verb.deliveryReveal).data
        .requestId,
    );
    expect((await stored(requestId)).kind).toBe('rotation');

    const revealed = await teams.invoke(
      teams.cardAction(alexChat, alex, Verb.deliveryReveal, { requestId }, delivery!.id),
    );
    expect(verbsOf(revealed.card)).toContain(Verb.deliveryStored);
    expect(passwordsOf(expenseBot.id)).toHaveLength(2);

    await teams.invoke(teams.cardAction(alexChat, alex, Verb.deliveryStored, { requestId }, delivery!.id));
    await registrar.runtime.idle();
    const cleanup = sentTo(alexChat.conversation.id).find((card) => verbsOf(card).includes(Verb.rotationRemoveOld));
    expect(cleanup).toBeDefined();
    // Nothing is removed by itself.
    expect(passwordsOf(expenseBot.id)).toEqual(expect.arrayContaining(oldKeys));

    const outsider = await teams.invoke(
      teams.cardAction(personalChat(isaiah, demoTenantId), isaiah, Verb.rotationRemoveOld, { requestId }),
    );
    expect(cardText(outsider.card)).toMatch(/only the owners/i);
    expect(passwordsOf(expenseBot.id)).toHaveLength(2);

    const removed = await teams.invoke(teams.cardAction(alexChat, alex, Verb.rotationRemoveOld, { requestId }));
    expect(verbsOf(removed.card)).toEqual([]);
    expect(passwordsOf(expenseBot.id)).toHaveLength(1);
    expect(passwordsOf(expenseBot.id)).not.toEqual(oldKeys);
    // The removal is in the request's audit trail, with who did it and which key went.
    const trail: Array<{ event: string; by: { aadObjectId: string }; objectIds?: string[] }> = [];
    for await (const row of registrar.container.store.audit.list(requestId)) trail.push(row.value);
    expect(trail.at(-1)).toMatchObject({
      event: 'decideOld',
      by: { aadObjectId: alex.aadObjectId },
      objectIds: oldKeys,
    });
  });

  test('when someone who does not own the app presses Rotate or types rotate, whatever the card data says, then they can only ask the approvers and no secret is made', async () => {
    await start();
    const meganChat = personalChat(megan, demoTenantId);
    await teams.post(teams.message(meganChat, megan, 'help'));

    const pressed = await teams.invoke(
      teams.cardAction(reminders, megan, Verb.rotationStart, {
        appId: expenseBot.appId,
        owner: megan.aadObjectId,
        isOwner: true,
      }),
    );
    await registrar.runtime.idle();

    expect(pressed.message).toMatch(/waits for an approver/i);
    const all: AppRequest[] = [];
    for await (const { row, value } of registrar.container.store.requests.list('request'))
      if (/^[0-9A-Z]{8}$/.test(row)) all.push(value);
    expect(all.map((r) => [r.kind, r.status, r.rotation?.askedAs])).toEqual([['rotation', 'submitted', 'approval']]);
    expect(connector.sent.some((s) => JSON.stringify(s.activity).includes(Verb.deliveryReveal))).toBe(false);
    expect(passwordsOf(expenseBot.id)).toHaveLength(1);
  });

  test('when rotations need approval, then rotate waits for an approver before any secret can be revealed', async () => {
    await start({ ROTATION_NEEDS_APPROVAL: 'always' });

    await teams.post(teams.message(alexChat, alex, 'rotate Expense Bot'));
    await registrar.runtime.idle();

    const all: AppRequest[] = [];
    for await (const { row, value } of registrar.container.store.requests.list('request'))
      if (/^[0-9A-Z]{8}$/.test(row)) all.push(value);
    expect(all.map((r) => [r.kind, r.status])).toEqual([['rotation', 'submitted']]);
    const approval = sentTo(approvals.conversation.id).find((card) => cardText(card).includes('Expense Bot'));
    expect(cardText(approval)).toContain('New client secret for Expense Bot');
    expect(cardText(approval)).toContain('What changes and what stays');
    expect(cardText(approval)).not.toMatch(/Request [0-9A-Z]{8}|Permissions to grant|only signs people in/);
    expect(connector.sent.some((s) => JSON.stringify(s.activity).includes(Verb.deliveryReveal))).toBe(false);
  });

  test.each([
    ['no token', undefined],
    ['a wrong token', `Bearer ${JOB_TOKEN.slice(0, -1)}x`],
    ['the token without Bearer', JOB_TOKEN],
  ])(
    'when the job endpoint is called with %s, then it answers 401 and scans nothing',
    async (_label, authorization) => {
      await start();

      const response = await fetch(`${registrar.url}/jobs/expiry-scan`, {
        method: 'POST',
        headers: authorization ? { authorization } : {},
      });

      expect(response.status).toBe(401);
      expect(sentTo(reminders.conversation.id).filter((card) => cardText(card).includes('Expense Bot'))).toEqual([]);
    },
  );

  test('when the job endpoint is called with its token, then it scans and says what it announced', async () => {
    await start();

    const response = await fetch(`${registrar.url}/jobs/expiry-scan`, {
      method: 'POST',
      headers: { authorization: `Bearer ${JOB_TOKEN}` },
    });

    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'done', announced: expect.any(Number) });
    expect(sentTo(reminders.conversation.id).some((card) => cardText(card).includes('Expense Bot'))).toBe(true);
  });
});
