/**
 * Rotation is an owner's act, checked where it takes effect (issue 11): through the running bot, against the local
 * tenant's demo apps and Azurite. An operator who owns nothing can only ask the approvers; Registrar never rotates
 * its own registration; an app whose service principal holds a high-risk permission needs approval even for its
 * owner; an owner removed in Entra ID after starting a rotation gets no secret; a secret nobody revealed within
 * DELIVERY_TTL_DAYS is never made.
 */
import { alex, demoTenantId, demoUsers } from '../../../src/local/demo-identities';
import { allRoutes } from '../../../src/local/tenant/routes';
import { demoApplicationIds, demoIds, demoTenant } from '../../../src/local/tenant/seed';
import type { RunningTenant } from '../../../src/local/tenant/server';
import type { TenantData } from '../../../src/local/tenant/state';
import { Verb } from '../../../src/cards/verbs';
import type { AppRequest } from '../../../src/domain/request';
import { actionFor, verbsOf } from '../../helpers/cards';
import { FakeConnector } from '../../helpers/connector';
import { roleIds } from '../../helpers/graph-catalog';
import { type TestRegistrar, startRegistrar } from '../../helpers/registrar';
import { registrarEnv, startTestTenant } from '../../helpers/tenant';
import { Teams, cardText, personalChat, teamChannel } from '../../helpers/teams';

jest.setTimeout(120_000);

const megan = demoUsers[0]!;
const isaiah = demoUsers[2]!;
const expenseBot = demoApplicationIds(3);
const DAY_MS = 24 * 60 * 60 * 1000;

/** The system clock, moved forward on demand. */
class OffsetClock {
  offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
}

/** Expense Bot's service principal holds Directory.ReadWrite.All, as an application permission. */
function withPrivilegedExpenseBot(data: TenantData): TenantData {
  const { 'Directory.ReadWrite.All': directoryWrite } = roleIds(['Directory.ReadWrite.All'] as const);
  const id = 'expense-bot-directory-readwrite-all-assignment-0001';
  const at = new Date().toISOString();
  data.appRoleAssignments[id] = {
    data: {
      id,
      appRoleId: directoryWrite,
      createdDateTime: at,
      deletedDateTime: null,
      principalDisplayName: 'Expense Bot',
      principalId: expenseBot.servicePrincipalId,
      principalType: 'ServicePrincipal',
      resourceDisplayName: 'Microsoft Graph',
      resourceId: demoIds.graphServicePrincipal,
    },
    visibleFrom: 0,
    sequence: 1,
  };
  return data;
}

describe('rotation authority', () => {
  let tenant: RunningTenant;
  let registrar: TestRegistrar;
  let connector: FakeConnector;
  let teams: Teams;
  let clock: OffsetClock;
  const approvals = teamChannel(demoTenantId, 'App approvals');
  const alexChat = personalChat(alex, demoTenantId);
  const isaiahChat = personalChat(isaiah, demoTenantId);
  const meganChat = personalChat(megan, demoTenantId);

  async function start(env: Record<string, string> = {}, data: (d: TenantData) => TenantData = (d) => d) {
    tenant = await startTestTenant({ data: data(demoTenant().data), routes: allRoutes });
    connector = await new FakeConnector().start();
    clock = new OffsetClock();
    registrar = await startRegistrar({
      env: {
        // Isaiah is an operator who owns no app; Alex owns Expense Bot (and, in the demo tenant, Registrar).
        ADMIN_IDS: `${alex.aadObjectId},${isaiah.aadObjectId}`,
        APPROVER_IDS: `${megan.aadObjectId},${demoUsers[1]!.aadObjectId}`,
        ...registrarEnv(tenant),
        REMINDER_CRON: 'off',
        ...env,
      },
      overrides: {
        clock,
        graphTiming: { baseDelayMs: 50, maxDelayMs: 500, stepTimeoutMs: 20_000 },
        secretCheckBudgetMs: 1500,
      },
    });
    teams = new Teams(registrar.url, connector);
    await teams.post(teams.message(approvals, alex, 'setup approvals', { mentionBot: true }));
    for (const [chat, person] of [
      [alexChat, alex],
      [isaiahChat, isaiah],
      [meganChat, megan],
    ] as const) {
      await teams.post(teams.message(chat, person, 'help'));
    }
  }

  afterEach(async () => {
    await registrar.stop();
    await connector.stop();
    await tenant.stop();
  });

  const passwordsOf = (applicationObjectId: string) =>
    (tenant.state().data.applications[applicationObjectId]!.data.passwordCredentials as Array<{ keyId: string }>).map(
      (p) => p.keyId,
    );

  async function rotations(): Promise<AppRequest[]> {
    const all: AppRequest[] = [];
    for await (const { row, value } of registrar.container.store.requests.list('request'))
      if (/^[0-9A-Z]{8}$/.test(row)) all.push(value);
    return all.filter((r) => r.kind === 'rotation');
  }

  function lastReply(conversationId: string) {
    return connector.cards({ conversationId, kind: 'reply' }).at(-1)?.card;
  }

  /** The delivery card posted in a personal chat, and the request id its Reveal names. */
  function deliveryIn(conversationId: string): { activityId: string; requestId: string } | undefined {
    const sent = connector.sent.find(
      (s) =>
        s.kind === 'send' &&
        s.conversationId === conversationId &&
        JSON.stringify(s.activity).includes(Verb.deliveryReveal),
    );
    if (!sent) return undefined;
    const card = (sent.activity.attachments as Array<{ content: unknown }>)[0]!.content;
    return { activityId: sent.id, requestId: String(actionFor(card, Verb.deliveryReveal).data.requestId) };
  }

  test('when an operator who owns nothing types rotate, then the approvers decide, the operator cannot approve it, and only then is a secret made', async () => {
    await start();

    await teams.post(teams.message(isaiahChat, isaiah, 'rotate Expense Bot'));
    await registrar.runtime.idle();

    const [asked] = await rotations();
    expect(asked).toMatchObject({
      status: 'submitted',
      requester: { aadObjectId: isaiah.aadObjectId },
      rotation: { askedAs: 'approval' },
    });
    expect(cardText(lastReply(isaiahChat.conversation.id))).toMatch(/waits for an approver/i);
    expect(deliveryIn(isaiahChat.conversation.id)).toBeUndefined();
    expect(passwordsOf(expenseBot.id)).toHaveLength(1);
    const approval = connector
      .cards({ conversationId: approvals.conversation.id })
      .map((c) => c.card)
      .find((card) => cardText(card).includes('Expense Bot'));
    expect(cardText(approval)).toMatch(/does not own the app/i);

    // Operators are no approvers of their own asking.
    const self = await teams.invoke(
      teams.cardAction(isaiahChat, isaiah, Verb.approvalApprove, { requestId: asked!.id }),
    );
    expect(cardText(self.card)).toMatch(/someone else|only approvers/i);
    expect((await rotations())[0]!.status).toBe('submitted');

    await teams.invoke(teams.cardAction(approvals, megan, Verb.approvalApprove, { requestId: asked!.id }));
    await registrar.runtime.idle();
    const delivery = deliveryIn(isaiahChat.conversation.id);
    expect(delivery?.requestId).toBe(asked!.id);
    const revealed = await teams.invoke(
      teams.cardAction(isaiahChat, isaiah, Verb.deliveryReveal, { requestId: asked!.id }, delivery!.activityId),
    );
    expect(verbsOf(revealed.card)).toContain(Verb.deliveryStored);
    expect(passwordsOf(expenseBot.id)).toHaveLength(2);
  });

  test('when anyone, an owner of it included, asks to rotate Registrar itself, then it is refused with why, and nothing is asked or made', async () => {
    await start();
    const registrarAppId = registrarEnv(tenant).AZURE_CLIENT_ID!;

    await teams.post(teams.message(alexChat, alex, 'rotate Registrar'));
    await teams.post(teams.message(isaiahChat, isaiah, `rotate ${registrarAppId}`));

    for (const chat of [alexChat, isaiahChat]) {
      const text = cardText(lastReply(chat.conversation.id));
      expect(text).toMatch(/does not rotate its own registration/i);
      expect(text).toContain('infra/README.md');
    }
    expect(await rotations()).toEqual([]);
    expect(passwordsOf(demoIds.registrarApplication)).toHaveLength(1);
  });

  test('when the app holds a high-risk application permission, then even its owner waits for an approver, with the permission on the approval card', async () => {
    await start({}, withPrivilegedExpenseBot);

    await teams.post(teams.message(alexChat, alex, 'rotate Expense Bot'));
    await registrar.runtime.idle();

    const [asked] = await rotations();
    expect(asked).toMatchObject({ status: 'submitted', rotation: { askedAs: 'owner' }, risk: { level: 'high' } });
    expect(deliveryIn(alexChat.conversation.id)).toBeUndefined();
    const approval = connector
      .cards({ conversationId: approvals.conversation.id })
      .map((c) => c.card)
      .find((card) => cardText(card).includes('Expense Bot'));
    expect(cardText(approval)).toContain('Directory.ReadWrite.All');
    expect(passwordsOf(expenseBot.id)).toHaveLength(1);
  });

  test('when ROTATION_NEEDS_APPROVAL is never, then the owner of a privileged app rotates it straight away', async () => {
    await start({ ROTATION_NEEDS_APPROVAL: 'never' }, withPrivilegedExpenseBot);

    await teams.post(teams.message(alexChat, alex, 'rotate Expense Bot'));
    await registrar.runtime.idle();

    expect((await rotations())[0]).toMatchObject({ status: 'provisioned', rotation: { askedAs: 'owner' } });
    expect(deliveryIn(alexChat.conversation.id)).toBeDefined();
  });

  test('when the owner is removed as owner in Entra ID after starting a rotation, then Reveal is refused and no secret is made', async () => {
    await start();
    await teams.post(teams.message(alexChat, alex, 'rotate Expense Bot'));
    await registrar.runtime.idle();
    const delivery = deliveryIn(alexChat.conversation.id)!;
    expect(delivery).toBeDefined();

    tenant.state().data.applications[expenseBot.id]!.owners = [megan.aadObjectId];
    const refused = await teams.invoke(
      teams.cardAction(alexChat, alex, Verb.deliveryReveal, { requestId: delivery.requestId }, delivery.activityId),
    );

    expect(cardText(refused.card)).toMatch(/not an owner of expense bot/i);
    expect(verbsOf(refused.card)).not.toContain(Verb.deliveryStored);
    expect(passwordsOf(expenseBot.id)).toHaveLength(1);
    expect((await rotations())[0]!.status).toBe('provisioned');
  });

  test('when a secret is not revealed within DELIVERY_TTL_DAYS, then the delivery expires, its card says how to get one, and Reveal makes nothing', async () => {
    await start({ DELIVERY_TTL_DAYS: '2' });
    await teams.post(teams.message(alexChat, alex, 'rotate Expense Bot'));
    await registrar.runtime.idle();
    const delivery = deliveryIn(alexChat.conversation.id)!;

    clock.offsetMs = 2 * DAY_MS + 60_000;
    await registrar.runtime.sweep();
    await registrar.runtime.idle();

    expect((await rotations())[0]!.status).toBe('expired');
    const update = connector.sent.filter((s) => s.kind === 'update' && s.activityId === delivery.activityId).at(-1);
    const updated = (update?.activity.attachments as Array<{ content: unknown }> | undefined)?.[0]?.content;
    expect(cardText(updated)).toMatch(/expired unrevealed/i);
    expect(cardText(updated)).toContain('rotate Expense Bot');
    expect(verbsOf(updated)).not.toContain(Verb.deliveryReveal);

    const late = await teams.invoke(
      teams.cardAction(alexChat, alex, Verb.deliveryReveal, { requestId: delivery.requestId }, delivery.activityId),
    );
    expect(cardText(late.card)).toContain(
      'The new client secret for Expense Bot was not revealed within 2 days, so Registrar will not create it any more. Expense Bot and its credentials are unchanged',
    );
    expect(cardText(late.card)).not.toContain(delivery.requestId);
    expect(passwordsOf(expenseBot.id)).toHaveLength(1);
  });

  test('when someone who lost the owner role presses Remove on the cleanup card, then the old secret stays', async () => {
    await start();
    await teams.post(teams.message(alexChat, alex, 'rotate Expense Bot'));
    await registrar.runtime.idle();
    const delivery = deliveryIn(alexChat.conversation.id)!;
    await teams.invoke(
      teams.cardAction(alexChat, alex, Verb.deliveryReveal, { requestId: delivery.requestId }, delivery.activityId),
    );
    await teams.invoke(
      teams.cardAction(alexChat, alex, Verb.deliveryStored, { requestId: delivery.requestId }, delivery.activityId),
    );
    await registrar.runtime.idle();
    const keys = passwordsOf(expenseBot.id);
    expect(keys).toHaveLength(2);

    tenant.state().data.applications[expenseBot.id]!.owners = [megan.aadObjectId];
    const refused = await teams.invoke(
      teams.cardAction(alexChat, alex, Verb.rotationRemoveOld, { requestId: delivery.requestId }),
    );

    expect(cardText(refused.card)).toMatch(/only the owners of expense bot/i);
    expect(passwordsOf(expenseBot.id)).toEqual(keys);
    expect((await rotations())[0]!.rotation?.oldDecision).toBeUndefined();
  });
});
