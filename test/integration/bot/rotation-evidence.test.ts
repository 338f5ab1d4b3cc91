/**
 * Rotation with evidence (issue 17), through the running bot against the local tenant and Azurite: the old secret
 * can be removed only once the new one exists; the cleanup card shows when the old secret last signed in (Entra's
 * credential sign-in report, which the local tenant's token endpoint feeds) and warns while it is in use; a sign-in
 * after the card was shown stops the first Remove; a tenant without the report's licence gets a card that says so.
 */
import { createHash } from 'node:crypto';
import { ClientSecretCredential } from '@azure/identity';
import { alex, demoTenantId, demoUsers } from '../../../src/local/demo-identities';
import { allRoutes } from '../../../src/local/tenant/routes';
import { demoApplicationIds, demoTenant } from '../../../src/local/tenant/seed';
import type { RunningTenant } from '../../../src/local/tenant/server';
import type { TenantData } from '../../../src/local/tenant/state';
import { Verb } from '../../../src/cards/verbs';
import { actionFor, verbsOf } from '../../helpers/cards';
import { FakeConnector } from '../../helpers/connector';
import { type TestRegistrar, startRegistrar } from '../../helpers/registrar';
import { registrarEnv, startTestTenant } from '../../helpers/tenant';
import { Teams, cardText, personalChat, teamChannel } from '../../helpers/teams';

jest.setTimeout(120_000);

const expenseBot = demoApplicationIds(3);
/** Expense Bot's old secret, made known to the test so that its "job" can sign in with it. */
const OLD_SECRET = 'Ex38Q~the-old-secret-of-expense-bot-for-this-test';

function withKnownOldSecret(data: TenantData): TenantData {
  const app = data.applications[expenseBot.id]!;
  const keyId = (app.data.passwordCredentials as Array<{ keyId: string }>)[0]!.keyId;
  app.secretHashes[keyId] = createHash('sha256').update(OLD_SECRET, 'utf8').digest('hex');
  return data;
}

describe('rotation with evidence', () => {
  let tenant: RunningTenant;
  let registrar: TestRegistrar;
  let connector: FakeConnector;
  let teams: Teams;
  const approvals = teamChannel(demoTenantId, 'App approvals');
  const alexChat = personalChat(alex, demoTenantId);

  async function start(data: (d: TenantData) => TenantData = (d) => d) {
    tenant = await startTestTenant({ data: data(demoTenant().data), routes: allRoutes });
    connector = await new FakeConnector().start();
    registrar = await startRegistrar({
      env: {
        ADMIN_IDS: alex.aadObjectId,
        APPROVER_IDS: `${demoUsers[0]!.aadObjectId},${demoUsers[1]!.aadObjectId}`,
        ...registrarEnv(tenant),
        REMINDER_CRON: 'off',
      },
      overrides: {
        graphTiming: { baseDelayMs: 50, maxDelayMs: 500, stepTimeoutMs: 20_000 },
        secretCheckBudgetMs: 1500,
      },
    });
    teams = new Teams(registrar.url, connector);
    await teams.post(teams.message(approvals, alex, 'setup approvals', { mentionBot: true }));
    await teams.post(teams.message(alexChat, alex, 'help'));
  }

  afterEach(async () => {
    await registrar.stop();
    await connector.stop();
    await tenant.stop();
  });

  const passwordsOf = () =>
    (tenant.state().data.applications[expenseBot.id]!.data.passwordCredentials as Array<{ keyId: string }>).map(
      (p) => p.keyId,
    );

  /** Alex types rotate; the delivery card and its request id. */
  async function rotate(): Promise<{ activityId: string; requestId: string }> {
    await teams.post(teams.message(alexChat, alex, 'rotate Expense Bot'));
    await registrar.runtime.idle();
    const sent = connector.sent.find(
      (s) =>
        s.kind === 'send' &&
        s.conversationId === alexChat.conversation.id &&
        JSON.stringify(s.activity).includes(Verb.deliveryReveal),
    );
    expect(sent).toBeDefined();
    const card = (sent!.activity.attachments as Array<{ content: unknown }>)[0]!.content;
    return { activityId: sent!.id, requestId: String(actionFor(card, Verb.deliveryReveal).data.requestId) };
  }

  /** Reveal and "I stored it": the new secret exists; the cleanup card that follows. */
  async function revealAndStore(delivery: { activityId: string; requestId: string }) {
    const { requestId, activityId } = delivery;
    await teams.invoke(teams.cardAction(alexChat, alex, Verb.deliveryReveal, { requestId }, activityId));
    await teams.invoke(teams.cardAction(alexChat, alex, Verb.deliveryStored, { requestId }, activityId));
    await registrar.runtime.idle();
    const cleanup = connector
      .cards({ conversationId: alexChat.conversation.id })
      .filter((c) => c.kind === 'send')
      .map((c) => c.card)
      .find((card) => verbsOf(card).includes(Verb.rotationRemoveOld));
    expect(cleanup).toBeDefined();
    return cleanup!;
  }

  const remove = (requestId: string) =>
    teams.invoke(teams.cardAction(alexChat, alex, Verb.rotationRemoveOld, { requestId }));

  test('when the owner presses Remove before the new secret exists, then nothing is removed: the new secret always comes first', async () => {
    await start();
    const oldKeys = passwordsOf();
    const delivery = await rotate();

    const early = await remove(delivery.requestId);

    expect(cardText(early.card)).toMatch(/Reveal and store the new secret first/);
    expect(passwordsOf()).toEqual(oldKeys);
    await revealAndStore(delivery);
    expect(passwordsOf()).toHaveLength(2);
    expect(passwordsOf()).toEqual(expect.arrayContaining(oldKeys));
  });

  test('when the old secret is still used after the card was shown, then the card warned, the first Remove is stopped and says why, and a second removes it', async () => {
    await start(withKnownOldSecret);
    const oldKeys = passwordsOf();
    const delivery = await rotate();
    const cleanup = await revealAndStore(delivery);
    // The demo seed: Expense Bot's old secret signed in two hours ago.
    expect(cardText(cleanup)).toMatch(/Last signed in/);
    expect(cardText(cleanup)).toMatch(/Probably still in use: the old secret signed in today/);

    // Something still signs in with the old secret, after the new one was made.
    await new ClientSecretCredential(tenant.tenantId, expenseBot.appId, OLD_SECRET, {
      authorityHost: tenant.url,
      disableInstanceDiscovery: true,
    }).getToken('https://graph.microsoft.com/.default');

    const stopped = await remove(delivery.requestId);
    expect(cardText(stopped.card)).toMatch(
      /Not removed: the old secret signed in at .*which this card had not shown yet/,
    );
    expect(cardText(stopped.card)).toMatch(/Still in use: the old secret signed in at .*after the new secret was made/);
    expect(verbsOf(stopped.card)).toContain(Verb.rotationRemoveOld);
    expect(passwordsOf()).toEqual(expect.arrayContaining(oldKeys));

    const removed = await remove(delivery.requestId);
    expect(verbsOf(removed.card)).toEqual([]);
    expect(cardText(removed.card)).toMatch(/The old secret was removed/);
    expect(passwordsOf()).toHaveLength(1);
    expect(passwordsOf()).not.toEqual(expect.arrayContaining(oldKeys));
  });

  test('when the tenant has no Entra ID P1 or P2 licence, then the card says it cannot tell whether the old secret is in use, and Remove still works', async () => {
    await start((data) => ({ ...data, entraIdLicense: 'free' }));
    const delivery = await rotate();

    const cleanup = await revealAndStore(delivery);

    expect(cardText(cleanup)).toMatch(/Last signed in\s*Not known/);
    expect(cardText(cleanup)).toMatch(
      /Registrar cannot tell whether the old secret is still in use: This tenant has no Microsoft Entra ID P1 or P2 licence/,
    );
    const removed = await remove(delivery.requestId);
    expect(verbsOf(removed.card)).toEqual([]);
    expect(passwordsOf()).toHaveLength(1);
  });
});
