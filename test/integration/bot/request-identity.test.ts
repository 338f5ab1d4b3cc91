/**
 * Who a request's app will belong to, and which request a form is (issue 11), through the running bot against
 * the local tenant and Azurite: additional owners must be users of the tenant and are named on the approval card
 * from the directory; the request id a form carries is one the server minted for that person when it sent the form,
 * so a hand-made id (for instance the uniqueName suffix of an app that exists) is refused and changes nothing.
 */
import { alex, demoTenantId, demoUsers } from '../../../src/local/demo-identities';
import { allRoutes } from '../../../src/local/tenant/routes';
import { demoIds, demoTenant } from '../../../src/local/tenant/seed';
import type { RunningTenant } from '../../../src/local/tenant/server';
import { Verb } from '../../../src/cards/verbs';
import type { AppRequest } from '../../../src/domain/request';
import { actionFor } from '../../helpers/cards';
import { FakeConnector } from '../../helpers/connector';
import { roleIds, scopeIds } from '../../helpers/graph-catalog';
import { type TestRegistrar, startRegistrar } from '../../helpers/registrar';
import { registrarEnv, startTestTenant } from '../../helpers/tenant';
import { Teams, cardText, personalChat, teamChannel, type TeamsUser } from '../../helpers/teams';

jest.setTimeout(120_000);

const megan = demoUsers[0]!;
const adele = demoUsers[1]!;
const isaiah = demoUsers[2]!;
const { 'User.Read': userRead } = scopeIds(['User.Read'] as const);
const { 'User.Read.All': userReadAll } = roleIds(['User.Read.All'] as const);

describe('who owns a request, and which request a form is', () => {
  let tenant: RunningTenant;
  let registrar: TestRegistrar;
  let connector: FakeConnector;
  let teams: Teams;
  const channel = teamChannel(demoTenantId, 'App approvals');

  beforeEach(async () => {
    tenant = await startTestTenant({ data: demoTenant().data, routes: allRoutes });
    connector = await new FakeConnector().start();
    registrar = await startRegistrar({
      env: {
        ADMIN_IDS: alex.aadObjectId,
        APPROVER_IDS: `${megan.aadObjectId},${adele.aadObjectId}`,
        ...registrarEnv(tenant),
        REMINDER_CRON: 'off',
        OPEN_REQUESTS_PER_USER: '2',
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

  async function openForm(user: TeamsUser): Promise<string> {
    const chat = personalChat(user, demoTenantId);
    const before = connector.sent.length;
    await teams.post(teams.message(chat, user, 'request'));
    const reply = connector.sent
      .slice(before)
      .find((s) => s.kind === 'reply' && s.conversationId === chat.conversation.id)!;
    const card = (reply.activity.attachments as Array<{ content: Record<string, unknown> }>)[0]!.content;
    return String(actionFor(card, Verb.requestSubmit).data.requestId);
  }

  const form = (requestId: string, fields: Record<string, string> = {}) => ({
    requestId,
    name: 'Profile reader',
    purpose: 'Reads the signed-in user profile for the intranet.',
    audience: 'AzureADMyOrg',
    platform: 'none',
    permissions: userRead,
    credential: 'secret',
    secretDays: '30',
    ...fields,
  });

  const submit = (user: TeamsUser, data: Record<string, string>) =>
    teams.invoke(
      teams.cardAction(personalChat(user, demoTenantId), user, Verb.requestSubmit, data, `form-${data.requestId}`),
    );

  async function allRequests(): Promise<AppRequest[]> {
    const out: AppRequest[] = [];
    for await (const { value } of registrar.container.store.requests.list('request')) out.push(value);
    return out;
  }

  test('when an additional owner is a service principal or nobody the directory knows, then the form says so and nothing is stored', async () => {
    const requestId = await openForm(alex);

    for (const owner of [demoIds.registrarServicePrincipal, 'a1e5c0de-0000-4000-8000-00000000dead']) {
      const answer = await submit(alex, form(requestId, { owners: owner }));
      expect(cardText(answer.card)).toContain(`${owner} is not a user of this tenant`);
    }
    expect(await allRequests()).toEqual([]);
  });

  test('when additional owners are users, then the request keeps their names from the directory and the approval card names every one', async () => {
    const requestId = await openForm(alex);

    const answer = await submit(alex, form(requestId, { owners: `${megan.aadObjectId},${isaiah.aadObjectId}` }));
    await registrar.runtime.idle();

    expect(cardText(answer.card)).toContain(requestId);
    const [request] = await allRequests();
    expect(request!.ownerDetails).toEqual([
      { id: megan.aadObjectId, displayName: megan.name, userPrincipalName: expect.stringContaining('@') },
      { id: isaiah.aadObjectId, displayName: isaiah.name, userPrincipalName: expect.stringContaining('@') },
    ]);
    const approval = connector
      .cards({ conversationId: channel.conversation.id })
      .map((c) => c.card)
      .find((card) => cardText(card).includes('Profile reader'));
    for (const owner of request!.ownerDetails!) {
      expect(cardText(approval)).toContain(owner.displayName);
      expect(cardText(approval)).toContain(owner.userPrincipalName);
    }
  });

  test('when a form carries a request id the server did not give this person, then it is refused and nothing is stored or created', async () => {
    const meganForm = await openForm(megan);

    // A hand-made id (say, the uniqueName suffix of an app that exists), and another person's form.
    for (const requestId of ['ZZZZZZZZ', meganForm]) {
      const answer = await submit(alex, form(requestId, { permissions: userReadAll }));
      expect(cardText(answer.card)).toMatch(/belongs to another request|open a new one/i);
    }
    expect(await allRequests()).toEqual([]);
    expect(
      Object.values(tenant.state().data.applications).filter((a) =>
        String(a.data.uniqueName ?? '').startsWith('registrar-'),
      ),
    ).toEqual([]);
  });

  test('when a person already has OPEN_REQUESTS_PER_USER undecided requests, then a new one is refused with a message, a retried one still answers, and a decision frees a place', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const requestId = await openForm(isaiah);
      await submit(isaiah, form(requestId, { name: `Reader ${i}` }));
      ids.push(requestId);
    }
    const third = await openForm(isaiah);

    const refused = await submit(isaiah, form(third, { name: 'Reader 2' }));
    expect(cardText(refused.card)).toMatch(/you have 2 requests waiting for a decision/i);
    expect((await allRequests()).map((r) => r.id).sort()).toEqual([...ids].sort());
    const retried = await submit(isaiah, form(ids[0]!, { name: 'Reader 0' }));
    expect(cardText(retried.card)).toContain(ids[0]!);
    await teams.post(teams.message(personalChat(isaiah, demoTenantId), isaiah, 'rotate Expense Bot'));
    expect(
      cardText(
        connector.cards({ conversationId: personalChat(isaiah, demoTenantId).conversation.id, kind: 'reply' }).at(-1)
          ?.card,
      ),
    ).toMatch(/you have 2 requests waiting/i);

    await teams.invoke(
      teams.cardAction(personalChat(isaiah, demoTenantId), isaiah, Verb.requestCancel, { requestId: ids[1]! }),
    );
    const again = await submit(isaiah, form(third, { name: 'Reader 2' }));
    expect(cardText(again.card)).toContain(third);
  });

  test('when the same form is submitted twice, then there is one request with the id the server gave it, and the second answers from the store', async () => {
    const requestId = await openForm(alex);
    const data = form(requestId, { owners: megan.aadObjectId });

    const first = await submit(alex, data);
    tenant.counters.reset();
    const second = await submit(alex, data);

    expect(cardText(first.card)).toContain(requestId);
    expect(cardText(second.card)).toContain(requestId);
    expect((await allRequests()).map((r) => r.id)).toEqual([requestId]);
    // The owners were looked up once, at the first Submit: a retried invoke makes no Graph call.
    expect(tenant.counters.total()).toBe(0);
  });
});
