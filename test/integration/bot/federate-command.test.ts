/**
 * `federate <app>` (issue 17) through the running bot, against the local tenant's demo apps and Azurite: an owner
 * adds a federated credential to an existing app, anyone else can only ask the approvers (and cannot approve their
 * own asking), ownership is read again at Submit and before the credential is added, a bad field is said on the card
 * with nothing made, an app at Entra ID's 20 is refused before anything is asked, and Registrar's own registration
 * never gets one.
 */
import { alex, demoTenantId, demoUsers } from '../../../src/local/demo-identities';
import { allRoutes } from '../../../src/local/tenant/routes';
import { demoApplicationIds, demoTenant } from '../../../src/local/tenant/seed';
import type { RunningTenant } from '../../../src/local/tenant/server';
import type { TenantData } from '../../../src/local/tenant/state';
import { Verb } from '../../../src/cards/verbs';
import type { AppRequest } from '../../../src/domain/request';
import { actionFor, verbsOf } from '../../helpers/cards';
import { FakeConnector } from '../../helpers/connector';
import { type TestRegistrar, startRegistrar } from '../../helpers/registrar';
import { registrarEnv, startTestTenant } from '../../helpers/tenant';
import { Teams, cardText, personalChat, teamChannel } from '../../helpers/teams';

jest.setTimeout(120_000);

const megan = demoUsers[0]!;
const isaiah = demoUsers[2]!;
/** Owned by Alex in the demo tenant; its service principal holds nothing high-risk. */
const expenseBot = demoApplicationIds(3);

const github = {
  federatedWorkload: 'github',
  githubOrganization: 'contoso',
  githubRepository: 'expenses',
  githubEntity: 'environment',
  githubEntityName: 'production',
};
const githubSubject = 'repo:contoso/expenses:environment:production';

type Json = Record<string, unknown>;

/** Expense Bot already holds `count` federated credentials. */
const withFederated =
  (count: number) =>
  (data: TenantData): TenantData => {
    const app = data.applications[expenseBot.id]!;
    app.federatedIdentityCredentials = Array.from({ length: count }, (_, i) => ({
      id: `f0000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      name: `existing-${i}`,
      issuer: 'https://token.actions.githubusercontent.com',
      subject: `repo:contoso/other:environment:env${i}`,
      description: null,
      audiences: ['api://AzureADTokenExchange'],
    }));
    return data;
  };

describe('federate <app>', () => {
  let tenant: RunningTenant;
  let registrar: TestRegistrar;
  let connector: FakeConnector;
  let teams: Teams;
  const approvals = teamChannel(demoTenantId, 'App approvals');
  const alexChat = personalChat(alex, demoTenantId);
  const isaiahChat = personalChat(isaiah, demoTenantId);
  const meganChat = personalChat(megan, demoTenantId);

  async function start(env: Record<string, string> = {}, data: (d: TenantData) => TenantData = (d) => d) {
    tenant = await startTestTenant({ data: data(demoTenant().data), routes: allRoutes });
    connector = await new FakeConnector().start();
    registrar = await startRegistrar({
      env: {
        ADMIN_IDS: `${alex.aadObjectId},${isaiah.aadObjectId}`,
        APPROVER_IDS: `${megan.aadObjectId},${demoUsers[1]!.aadObjectId}`,
        ...registrarEnv(tenant),
        REMINDER_CRON: 'off',
        ...env,
      },
      overrides: { graphTiming: { baseDelayMs: 50, maxDelayMs: 500, stepTimeoutMs: 20_000 } },
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

  const federatedOf = (applicationObjectId: string) =>
    (tenant.state().data.applications[applicationObjectId]!.federatedIdentityCredentials ?? []) as Json[];

  async function federations(): Promise<AppRequest[]> {
    const all: AppRequest[] = [];
    for await (const { row, value } of registrar.container.store.requests.list('request'))
      if (/^[0-9A-Z]{8}$/.test(row)) all.push(value);
    return all.filter((r) => r.kind === 'federation');
  }

  function lastReply(conversationId: string) {
    return connector.cards({ conversationId, kind: 'reply' }).at(-1)?.card;
  }

  /** Types `federate <app>` and returns the card offered, with its Submit's data. */
  async function openCard(chat: typeof alexChat, person: typeof alex, app = 'Expense Bot') {
    await teams.post(teams.message(chat, person, `federate ${app}`));
    const card = lastReply(chat.conversation.id);
    return { card, data: actionFor(card, Verb.federateSubmit).data };
  }

  async function submit(chat: typeof alexChat, person: typeof alex, data: Json, values: Json) {
    return teams.invoke(teams.cardAction(chat, person, Verb.federateSubmit, { ...data, ...values }));
  }

  test('when an owner federates their app with GitHub Actions, then the credential exists in Entra ID with the right subject and the delivery comes to their chat', async () => {
    await start();

    const offered = await openCard(alexChat, alex);
    expect(cardText(offered.card)).toMatch(/you own expense bot/i);
    expect(cardText(offered.card)).toContain('0 federated credentials of the 20');
    expect(offered.data).toEqual({ appId: expenseBot.appId, offeredAs: 'owner' });

    const answered = await submit(alexChat, alex, offered.data, github);
    await registrar.runtime.idle();

    expect(cardText(answered.card)).toMatch(/adding the federated credential to expense bot/i);
    expect(federatedOf(expenseBot.id)).toEqual([
      expect.objectContaining({
        issuer: 'https://token.actions.githubusercontent.com',
        subject: githubSubject,
        audiences: ['api://AzureADTokenExchange'],
      }),
    ]);
    const [request] = await federations();
    expect(request).toMatchObject({
      status: 'delivered',
      requester: { aadObjectId: alex.aadObjectId },
      federation: { appId: expenseBot.appId, askedAs: 'owner' },
      delivery: { kind: 'federated', subject: githubSubject, credentialId: federatedOf(expenseBot.id)[0]!.id },
      provisioning: { application: { applicationObjectId: expenseBot.id, appId: expenseBot.appId } },
    });
    const delivered = connector.sent.some(
      (s) =>
        s.kind === 'send' &&
        s.conversationId === alexChat.conversation.id &&
        JSON.stringify(s.activity).includes(expenseBot.appId),
    );
    expect(delivered).toBe(true);
    // Nothing else about the app changed: no new secret, the same owners.
    expect(tenant.state().data.applications[expenseBot.id]!.owners).toEqual([alex.aadObjectId]);

    // The same workload again: already trusted, said so, and nothing more is asked or made.
    const again = await submit(alexChat, alex, offered.data, github);
    await registrar.runtime.idle();
    expect(cardText(again.card)).toMatch(/already trusts this workload/i);
    expect(federatedOf(expenseBot.id)).toHaveLength(1);
    expect(await federations()).toHaveLength(1);
  });

  test('when someone who does not own the app federates it, then the approvers decide, the asker cannot approve it, and the credential exists only once approved', async () => {
    await start();

    const offered = await openCard(isaiahChat, isaiah);
    expect(cardText(offered.card)).toMatch(/you do not own expense bot/i);
    expect(offered.data.offeredAs).toBe('approval');

    const kubernetes = {
      federatedWorkload: 'kubernetes',
      federatedIssuer: 'https://oidc.prod-aks.azure.com/00000000-0000-0000-0000-000000000000/',
      kubernetesNamespace: 'expenses',
      kubernetesServiceAccount: 'expense-bot',
    };
    const answered = await submit(isaiahChat, isaiah, offered.data, kubernetes);
    await registrar.runtime.idle();
    expect(cardText(answered.card)).toMatch(/waits for an approver/i);
    // Submit pressed again (or Teams retrying the invoke): the same request, not a second one.
    const twice = await submit(isaiahChat, isaiah, offered.data, kubernetes);
    expect(cardText(twice.card)).toMatch(/waits for an approver/i);
    expect(await federations()).toHaveLength(1);
    const [asked] = await federations();
    expect(asked).toMatchObject({ status: 'submitted', federation: { askedAs: 'approval' } });
    expect(federatedOf(expenseBot.id)).toEqual([]);
    const approval = connector
      .cards({ conversationId: approvals.conversation.id })
      .map((c) => c.card)
      .find((card) => cardText(card).includes('Expense Bot'));
    expect(cardText(approval)).toMatch(/does not own the app/i);

    const self = await teams.invoke(
      teams.cardAction(isaiahChat, isaiah, Verb.approvalApprove, { requestId: asked!.id }),
    );
    expect(cardText(self.card)).toMatch(/someone else|only approvers/i);
    expect((await federations())[0]!.status).toBe('submitted');
    expect(federatedOf(expenseBot.id)).toEqual([]);

    await teams.invoke(teams.cardAction(approvals, megan, Verb.approvalApprove, { requestId: asked!.id }));
    await registrar.runtime.idle();
    expect(federatedOf(expenseBot.id)).toEqual([
      expect.objectContaining({ subject: 'system:serviceaccount:expenses:expense-bot' }),
    ]);
    expect((await federations())[0]).toMatchObject({ status: 'delivered', delivery: { kind: 'federated' } });
  });

  test('when the owner is removed as owner between the card and Submit, then Submit is refused and nothing is asked or made', async () => {
    await start();
    const offered = await openCard(alexChat, alex);

    tenant.state().data.applications[expenseBot.id]!.owners = [megan.aadObjectId];
    const refused = await submit(alexChat, alex, offered.data, github);
    await registrar.runtime.idle();

    expect(cardText(refused.card)).toMatch(/not an owner of expense bot in entra id any more/i);
    expect(await federations()).toEqual([]);
    expect(federatedOf(expenseBot.id)).toEqual([]);
  });

  test('when the owner is removed as owner while the approvers decide, then provisioning adds nothing and the request fails saying why', async () => {
    await start({ ROTATION_NEEDS_APPROVAL: 'always' });
    const offered = await openCard(alexChat, alex);
    expect(cardText(offered.card)).toMatch(/an approver decides first because every new credential/i);
    await submit(alexChat, alex, offered.data, github);
    await registrar.runtime.idle();
    const [asked] = await federations();
    expect(asked).toMatchObject({ status: 'submitted', federation: { askedAs: 'owner' } });

    tenant.state().data.applications[expenseBot.id]!.owners = [megan.aadObjectId];
    await teams.invoke(teams.cardAction(approvals, megan, Verb.approvalApprove, { requestId: asked!.id }));
    await registrar.runtime.idle();

    const [failed] = await federations();
    expect(failed!.status).toBe('failed');
    expect(failed!.provisioning.lastError?.message).toMatch(/not an owner of Expense Bot in Entra ID any more/);
    expect(federatedOf(expenseBot.id)).toEqual([]);
  });

  test('when a field is wrong, then the card comes back with the message under it and the values typed, and nothing is asked or made', async () => {
    await start();
    const offered = await openCard(alexChat, alex);

    const answered = await submit(alexChat, alex, offered.data, {
      federatedWorkload: 'other',
      federatedIssuer: 'https://issuer.example.com',
      federatedSubject: 'workload-*',
    });

    const text = cardText(answered.card);
    expect(text).toMatch(/nothing was added/i);
    expect(text).toMatch(/matches the subject exactly and has no wildcards/i);
    expect(text).toContain('workload-*');
    expect(verbsOf(answered.card)).toContain(Verb.federateSubmit);
    expect(await federations()).toEqual([]);
    expect(federatedOf(expenseBot.id)).toEqual([]);
  });

  test('when the app has the 20 federated credentials Entra ID allows, then federate is refused before anything is asked, and a Submit of an older card too', async () => {
    await start({}, withFederated(19));
    const offered = await openCard(alexChat, alex);
    expect(cardText(offered.card)).toContain('19 federated credentials of the 20');

    // Someone adds the 20th meanwhile.
    withFederated(20)(tenant.state().data);
    const refused = await submit(alexChat, alex, offered.data, github);
    expect(cardText(refused.card)).toMatch(/already has 20 federated credentials, the most Microsoft Entra ID allows/i);

    await teams.post(teams.message(alexChat, alex, 'federate Expense Bot'));
    expect(cardText(lastReply(alexChat.conversation.id))).toMatch(/already has 20 federated credentials/i);
    expect(verbsOf(lastReply(alexChat.conversation.id))).not.toContain(Verb.federateSubmit);
    await registrar.runtime.idle();
    expect(await federations()).toEqual([]);
    expect(federatedOf(expenseBot.id)).toHaveLength(20);
  });

  test('when someone asks to federate Registrar itself, or types federate in a channel, then it is refused with why', async () => {
    await start();
    const registrarAppId = registrarEnv(tenant).AZURE_CLIENT_ID!;

    await teams.post(teams.message(alexChat, alex, 'federate Registrar'));
    expect(cardText(lastReply(alexChat.conversation.id))).toMatch(/does not add federated credentials to its own/i);
    const forged = await submit(alexChat, alex, { appId: registrarAppId, offeredAs: 'owner' }, github);
    expect(cardText(forged.card)).toMatch(/does not add federated credentials to its own/i);

    await teams.post(teams.message(approvals, alex, 'federate Expense Bot', { mentionBot: true }));
    expect(cardText(lastReply(approvals.conversation.id))).toMatch(/personal chat/i);
    expect(await federations()).toEqual([]);
  });

  test('when a person who does not own the app already has OPEN_REQUESTS_PER_USER undecided requests, then federate is refused', async () => {
    await start({ OPEN_REQUESTS_PER_USER: '1' });
    const offered = await openCard(isaiahChat, isaiah);
    await submit(isaiahChat, isaiah, offered.data, github);
    expect(await federations()).toHaveLength(1);

    await teams.post(teams.message(isaiahChat, isaiah, 'federate Expense Bot'));
    expect(cardText(lastReply(isaiahChat.conversation.id))).toMatch(/1 requests waiting for a decision/i);
    const again = await submit(isaiahChat, isaiah, offered.data, { ...github, githubEntityName: 'staging' });
    expect(cardText(again.card)).toMatch(/waiting for a decision/i);
    expect(await federations()).toHaveLength(1);
  });
});
