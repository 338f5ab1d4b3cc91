/**
 * The whole request path through the running bot, driven by Bot Framework activities as Teams sends them, with
 * Microsoft Graph reached through the production adapter against the local tenant and the state in Azure Tables
 * (Azurite): request → approve in the approvals channel → background provisioning → private delivery → reveal →
 * stored. The tenant, the connector and the tables are the judges.
 */
import { uniqueNameFor } from '../../../src/domain/app-spec';
import { alex, demoTenantId, demoUsers } from '../../../src/local/demo-identities';
import { allRoutes } from '../../../src/local/tenant/routes';
import { demoTenant } from '../../../src/local/tenant/seed';
import type { RunningTenant } from '../../../src/local/tenant/server';
import { Dataset, Verb } from '../../../src/cards/verbs';
import type { AppRequest } from '../../../src/domain/request';
import { actionFor, cardInputs, refreshOf, verbsOf } from '../../helpers/cards';
import { FakeConnector } from '../../helpers/connector';
import { type TestRegistrar, startRegistrar, testStorageConnectionString } from '../../helpers/registrar';
import { selfSignedCertificate } from '../../../src/local/tenant/self-signed';
import { permissionChoice } from '../../helpers/runbook';
import { graphClientFor, registrarConnection, registrarEnv, startTestTenant } from '../../helpers/tenant';
import { Teams, cardText, personalChat, teamChannel, type TeamsUser } from '../../helpers/teams';
import { TableClient, TableServiceClient } from '@azure/data-tables';

jest.setTimeout(120_000);

const megan = demoUsers[0]!;
const adele = demoUsers[1]!;
const isaiah = demoUsers[2]!;

/** The system clock moved forward on demand, so that the sweep can be tested without waiting days. */
class OffsetClock {
  offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
}

describe('request, approve, provision, deliver', () => {
  let clock: OffsetClock;
  let tenant: RunningTenant;
  let registrar: TestRegistrar;
  let connector: FakeConnector;
  let teams: Teams;
  const channel = teamChannel(demoTenantId, 'App approvals');
  const alexChat = personalChat(alex, demoTenantId);

  beforeEach(async () => {
    const demo = demoTenant();
    clock = new OffsetClock();
    tenant = await startTestTenant({ data: demo.data, routes: allRoutes });
    connector = await new FakeConnector().start();
    connector.teamMembers.set(
      channel.team!.id,
      [alex, megan, adele, isaiah].map((u) => ({ id: u.id, name: u.name, aadObjectId: u.aadObjectId })),
    );
    await startBot({ stepTimeoutMs: 20_000 });
  });

  /** The bot against this tenant and connector, with Graph retries as long as `graphTiming` says; approvals channel set. */
  async function startBot(graphTiming: { stepTimeoutMs: number; maxDelayMs?: number }): Promise<void> {
    registrar = await startRegistrar({
      env: {
        ADMIN_IDS: alex.aadObjectId,
        APPROVER_IDS: `${megan.aadObjectId},${adele.aadObjectId}`,
        ...registrarEnv(tenant),
      },
      overrides: {
        clock,
        graphTiming: { baseDelayMs: 50, maxDelayMs: 500, ...graphTiming },
        secretCheckBudgetMs: 2000,
      },
    });
    teams = new Teams(registrar.url, connector);
    await teams.post(teams.message(channel, alex, 'setup approvals', { mentionBot: true }));
  }

  afterEach(async () => {
    await registrar.stop();
    await connector.stop();
    await tenant.stop();
  });

  async function openForm(user: TeamsUser): Promise<{ card: Record<string, unknown>; requestId: string }> {
    const chat = personalChat(user, demoTenantId);
    const before = connector.sent.length;
    await teams.post(teams.message(chat, user, 'request'));
    const replies = connector.sent
      .slice(before)
      .filter((s) => s.kind === 'reply' && s.conversationId === chat.conversation.id);
    expect(replies).toHaveLength(1);
    const card = (replies[0]!.activity.attachments as Array<{ content: Record<string, unknown> }>)[0]!.content;
    return { card, requestId: String(actionFor(card, Verb.requestSubmit).data.requestId) };
  }

  function formData(requestId: string, fields: Record<string, string> = {}): Record<string, string> {
    return {
      requestId,
      name: 'Payroll export',
      purpose: 'Nightly export of payroll data to the finance warehouse.',
      audience: 'AzureADMyOrg',
      platform: 'none',
      permissions: [permissionChoice('User.Read.All', 'Role'), permissionChoice('User.Read', 'Scope')].join(','),
      credential: 'secret',
      secretDays: '30',
      ...fields,
    };
  }

  async function submit(user: TeamsUser, data: Record<string, string>, formActivityId = `form-${data.requestId}`) {
    return teams.invoke(
      teams.cardAction(personalChat(user, demoTenantId), user, Verb.requestSubmit, data, formActivityId),
    );
  }

  async function stored(requestId: string): Promise<AppRequest> {
    const found = await registrar.container.store.requests.get('request', requestId);
    if (!found) throw new Error(`request ${requestId} is not stored`);
    return found.value;
  }

  function approvalPosts() {
    return connector.sent.filter(
      (s) =>
        s.kind === 'send' &&
        s.conversationId === channel.conversation.id &&
        JSON.stringify(s.activity).includes(Verb.approvalRefresh),
    );
  }

  test('when a person asks, an approver approves and the person reveals the secret, then one app exists, the secret works once, and it is nowhere else', async () => {
    const { card: form, requestId } = await openForm(alex);
    // This connector is not Teams' own, so the form has no type-ahead: permissions are found with Find.
    expect([...cardInputs(form).keys()]).toEqual(
      expect.arrayContaining([
        'name',
        'purpose',
        'audience',
        'platform',
        'permissionFilter',
        'credential',
        'secretDays',
        'owners',
      ]),
    );

    const found = await teams.invoke(
      teams.cardAction(alexChat, alex, Verb.requestFind, { requestId, permissionFilter: 'Mail.Send' }, 'form-1'),
    );
    expect(
      cardInputs(found.card)
        .get('permissions')
        ?.choices?.map((c) => c.value),
    ).toContain(permissionChoice('Mail.Send', 'Role'));

    const submitted = await submit(alex, formData(requestId), 'form-1');
    expect(submitted.status).toBe(200);
    expect(cardText(submitted.card)).toContain(requestId);
    expect((await stored(requestId)).status).toBe('submitted');
    expect(tenant.counters.snapshot()["PATCH /applications(uniqueName='{uniqueName}')"]).toBeUndefined();

    await registrar.runtime.idle();
    const posts = approvalPosts();
    expect(posts).toHaveLength(1);
    const approvalCard = connector.cards({ conversationId: channel.conversation.id, kind: 'send' }).at(-1)!.card;
    expect(refreshOf(approvalCard)?.userIds?.sort()).toEqual([megan.id, adele.id].sort());
    expect(verbsOf(approvalCard)).toEqual([Verb.approvalRefresh]);

    const decide = await teams.invoke(
      teams.cardAction(channel, megan, Verb.approvalRefresh, { requestId }, posts[0]!.id),
    );
    expect(verbsOf(decide.card)).toEqual(expect.arrayContaining([Verb.approvalApprove, Verb.approvalReject]));
    const approved = await teams.invoke(
      teams.cardAction(channel, megan, Verb.approvalApprove, { requestId }, posts[0]!.id),
    );
    expect(cardText(approved.card)).toMatch(/approved/i);

    await registrar.runtime.idle();
    const provisioned = await stored(requestId);
    expect(provisioned.status).toBe('provisioned');
    const apps = Object.values(tenant.state().data.applications).filter(
      (a) => a.data.uniqueName === uniqueNameFor(requestId),
    );
    expect(apps).toHaveLength(1);

    // The approval card and the status card were updated in place; the delivery card went to Alex alone.
    expect(connector.sent.some((s) => s.kind === 'update' && s.activityId === posts[0]!.id)).toBe(true);
    expect(connector.sent.some((s) => s.kind === 'update' && s.activityId === 'form-1')).toBe(true);
    const delivery = connector.sent.find(
      (s) =>
        s.kind === 'send' &&
        s.conversationId === alexChat.conversation.id &&
        JSON.stringify(s.activity).includes(Verb.deliveryReveal),
    );
    expect(delivery).toBeDefined();
    // The token request to try it names the authority Registrar itself uses (here the local tenant).
    expect(cardText((delivery!.activity.attachments as Array<{ content: unknown }>)[0]!.content)).toContain(
      `${tenant.url.replace(/\/+$/, '')}/${demoTenantId}/oauth2/v2.0/token`,
    );

    const revealed = await teams.invoke(
      teams.cardAction(alexChat, alex, Verb.deliveryReveal, { requestId }, delivery!.id),
    );
    const current = Object.values(tenant.state().data.applications).find(
      (a) => a.data.uniqueName === uniqueNameFor(requestId),
    )!;
    const credentials = current.data.passwordCredentials as Array<{ keyId: string; hint: string }>;
    expect(credentials).toHaveLength(1);
    const secret = cardText(revealed.card)
      .split('\n')
      .find((line) => line.startsWith(credentials[0]!.hint) && line.length >= 30);
    if (!secret)
      throw new Error(`no secret starting with ${credentials[0]!.hint} on the card:\n${cardText(revealed.card)}`);
    // It works: Registrar says so on the card, and the tenant's token endpoint issues a token with it.
    expect(cardText(revealed.card)).toMatch(/it works/i);
    const token = await graphClientFor(tenant, String(current.data.appId), secret).credential.getToken(
      `${tenant.url}/.default`,
    );
    expect(token?.token).toBeTruthy();
    expect(verbsOf(revealed.card)).toContain(Verb.deliveryStored);
    expect((await stored(requestId)).status).toBe('delivered');

    // A second Reveal creates nothing and shows nothing.
    const again = await teams.invoke(
      teams.cardAction(alexChat, alex, Verb.deliveryReveal, { requestId }, delivery!.id),
    );
    expect(JSON.stringify(again.card)).not.toContain(secret!);
    expect(cardText(again.card)).toMatch(/rotate/i);

    const done = await teams.invoke(teams.cardAction(alexChat, alex, Verb.deliveryStored, { requestId }, delivery!.id));
    expect(JSON.stringify(done.card)).not.toContain(secret!);
    expect(cardText(done.card)).toContain(credentials[0]!.hint);
    await registrar.runtime.idle();
    expect(
      Object.values(tenant.state().data.applications).find((a) => a.data.uniqueName === uniqueNameFor(requestId))!.data
        .passwordCredentials,
    ).toHaveLength(1);

    // Secrecy: not in the logs, not in anything sent to the connector, not in any table.
    expect(registrar.logs.text).not.toContain(secret!);
    expect(JSON.stringify(connector.sent)).not.toContain(secret!);
    const service = TableServiceClient.fromConnectionString(testStorageConnectionString(), {
      allowInsecureConnection: true,
    });
    for await (const table of service.listTables()) {
      if (!table.name?.startsWith(registrar.config.storage.tablePrefix)) continue;
      const client = TableClient.fromConnectionString(testStorageConnectionString(), table.name, {
        allowInsecureConnection: true,
      });
      for await (const entity of client.listEntities()) expect(JSON.stringify(entity)).not.toContain(secret!);
    }
  });

  test('when the same approval arrives twice at once and a second approver clicks too, then there is one decision and one application', async () => {
    const { requestId } = await openForm(alex);
    await submit(alex, formData(requestId));
    await registrar.runtime.idle();
    const cardId = approvalPosts()[0]!.id;

    const click = (user: TeamsUser) =>
      teams.invoke(teams.cardAction(channel, user, Verb.approvalApprove, { requestId }, cardId));
    const answers = await Promise.all([click(megan), click(megan), click(adele)]);

    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    await registrar.runtime.idle();
    const request = await stored(requestId);
    expect(request.status).toBe('provisioned');
    expect(request.approvals).toHaveLength(1);
    expect(
      Object.values(tenant.state().data.applications).filter((a) => a.data.uniqueName === uniqueNameFor(requestId)),
    ).toHaveLength(1);
    expect(tenant.counters.snapshot()["PATCH /applications(uniqueName='{uniqueName}')"]).toBe(1);
  });

  test('when someone who is not an approver, or the requester, clicks Approve, then they are refused and nothing changes', async () => {
    const { requestId } = await openForm(alex);
    await submit(alex, formData(requestId));
    await registrar.runtime.idle();
    const cardId = approvalPosts()[0]!.id;

    const outsider = await teams.invoke(teams.cardAction(channel, isaiah, Verb.approvalApprove, { requestId }, cardId));
    const own = await teams.invoke(teams.cardAction(channel, alex, Verb.approvalApprove, { requestId }, cardId));

    expect(cardText(outsider.card)).toMatch(/approver/i);
    expect(cardText(own.card)).toMatch(/someone else/i);
    expect((await stored(requestId)).status).toBe('submitted');
    expect((await stored(requestId)).approvals).toEqual([]);
  });

  test('when an approver rejects without a reason, then the card asks for one; with a reason the requester sees it', async () => {
    const { requestId } = await openForm(alex);
    await submit(alex, formData(requestId), 'alex-form');
    await registrar.runtime.idle();
    const cardId = approvalPosts()[0]!.id;

    const noReason = await teams.invoke(
      teams.cardAction(channel, megan, Verb.approvalReject, { requestId, reason: '  ' }, cardId),
    );
    expect(verbsOf(noReason.card)).toEqual(expect.arrayContaining([Verb.approvalApprove, Verb.approvalReject]));
    expect(cardText(noReason.card)).toMatch(/reason/i);
    expect((await stored(requestId)).status).toBe('submitted');

    await teams.invoke(
      teams.cardAction(
        channel,
        megan,
        Verb.approvalReject,
        { requestId, reason: 'Use the existing HR export app instead.' },
        cardId,
      ),
    );
    await registrar.runtime.idle();

    expect((await stored(requestId)).status).toBe('rejected');
    const statusUpdate = connector.sent.filter((s) => s.kind === 'update' && s.activityId === 'alex-form').at(-1);
    expect(cardText((statusUpdate!.activity.attachments as Array<{ content: unknown }>)[0]!.content)).toContain(
      'Use the existing HR export app instead.',
    );
  });

  test('when the form comes back with an unknown field and an http redirect URI, then it is returned with messages and values, and nothing is stored or sent to Graph', async () => {
    const { requestId } = await openForm(alex);
    tenant.counters.reset();

    const answer = await submit(alex, {
      ...formData(requestId, { platform: 'web', redirectUris: 'http://app.contoso.com/callback' }),
      isAdmin: 'true',
    });

    expect(verbsOf(answer.card)).toContain(Verb.requestSubmit);
    expect(cardText(answer.card)).toMatch(/does not know|https/i);
    expect(cardInputs(answer.card).get('name')?.value).toBe('Payroll export');
    expect(await registrar.container.store.requests.get('request', requestId)).toBeUndefined();
    expect(Object.keys(tenant.counters.snapshot()).filter((k) => !k.startsWith('GET'))).toEqual([]);
  });

  test('when a request is cancelled by its requester, then the approval card says so and approvers can no longer decide', async () => {
    const { requestId } = await openForm(alex);
    await submit(alex, formData(requestId));
    await registrar.runtime.idle();
    const cardId = approvalPosts()[0]!.id;

    await teams.post(teams.message(alexChat, alex, `cancel ${requestId}`));
    await registrar.runtime.idle();
    const late = await teams.invoke(teams.cardAction(channel, megan, Verb.approvalApprove, { requestId }, cardId));

    expect((await stored(requestId)).status).toBe('cancelled');
    expect(cardText(late.card)).toMatch(/cancelled/i);
    const update = connector.sent.filter((s) => s.kind === 'update' && s.activityId === cardId).at(-1);
    expect(verbsOf((update!.activity.attachments as Array<{ content: unknown }>)[0]!.content)).toEqual([]);
  });

  /** A request submitted by Alex and approved by Megan, provisioned; returns its id and its delivery card's id. */
  async function provisioned(): Promise<{ requestId: string; deliveryId: string }> {
    const { requestId } = await openForm(alex);
    await submit(alex, formData(requestId));
    await registrar.runtime.idle();
    await teams.invoke(teams.cardAction(channel, megan, Verb.approvalApprove, { requestId }, approvalPosts()[0]!.id));
    await registrar.runtime.idle();
    const delivery = connector.sent.find(
      (s) =>
        s.kind === 'send' &&
        s.conversationId === alexChat.conversation.id &&
        JSON.stringify(s.activity).includes(requestId) &&
        JSON.stringify(s.activity).includes(Verb.deliveryReveal),
    );
    if (!delivery) throw new Error(`no delivery card for ${requestId}`);
    return { requestId, deliveryId: delivery.id };
  }

  test('when a revealed secret is left on the card past REVEAL_TTL, then the sweep replaces the card with its hint and expiry', async () => {
    const { requestId, deliveryId } = await provisioned();
    const revealed = await teams.invoke(
      teams.cardAction(alexChat, alex, Verb.deliveryReveal, { requestId }, deliveryId),
    );
    const hint = (await stored(requestId)).delivery;
    expect(hint?.kind).toBe('secret');
    const secretLine = cardText(revealed.card)
      .split('\n')
      .find((line) => hint?.kind === 'secret' && line.startsWith(hint.hint) && line.length >= 30);
    expect(secretLine).toBeDefined();

    await registrar.runtime.sweep();
    await registrar.runtime.idle();
    expect(connector.sent.filter((s) => s.kind === 'update' && s.activityId === deliveryId)).toEqual([]);

    clock.offsetMs = (registrar.config.policy.revealTtlMinutes + 1) * 60_000;
    await registrar.runtime.sweep();
    await registrar.runtime.idle();

    const updates = connector.sent.filter((s) => s.kind === 'update' && s.activityId === deliveryId);
    expect(updates).toHaveLength(1);
    const card = (updates[0]!.activity.attachments as Array<{ content: unknown }>)[0]!.content;
    expect(JSON.stringify(card)).not.toContain(secretLine!);
    expect(cardText(card)).toContain(hint?.kind === 'secret' ? hint.hint : '?');
    expect(verbsOf(card)).not.toContain(Verb.deliveryReveal);
    expect((await stored(requestId)).redactedAt).toBeDefined();
  });

  test("when a reveal lost Graph's answer to addPassword (a secret made that nobody read), then the next Reveal delivers one secret and removes the unread one", async () => {
    const { requestId, deliveryId } = await provisioned();
    const appId = (await stored(requestId)).provisioning.application!.appId;
    const graph = registrarConnection(tenant).client;
    const secretsOf = async () =>
      (
        (await graph.api(`/applications(appId='${appId}')`).select(['passwordCredentials']).get()) as {
          passwordCredentials: Array<{ keyId: string; displayName: string }>;
        }
      ).passwordCredentials;
    // Somebody's own secret on the same app, which must survive.
    await graph
      .api(`/applications(appId='${appId}')/addPassword`)
      .post({ passwordCredential: { displayName: 'Owner key' } });

    tenant.faults.configure({ loseResponses: 1 });
    const lost = await teams.invoke(teams.cardAction(alexChat, alex, Verb.deliveryReveal, { requestId }, deliveryId));
    expect(cardText(lost.card)).toMatch(/did not confirm/i);
    expect((await stored(requestId)).status).toBe('provisioned');
    const orphan = (await secretsOf()).filter((c) => c.displayName === `Registrar ${requestId}`);
    expect(orphan).toHaveLength(1);

    const revealed = await teams.invoke(
      teams.cardAction(alexChat, alex, Verb.deliveryReveal, { requestId }, deliveryId),
    );
    expect(cardText(revealed.card)).toMatch(/it works/i);
    await registrar.runtime.idle();
    const delivery = (await stored(requestId)).delivery;
    expect(delivery?.kind).toBe('secret');
    const left = await secretsOf();
    expect(left.filter((c) => c.displayName === `Registrar ${requestId}`).map((c) => c.keyId)).toEqual([
      delivery?.kind === 'secret' ? delivery.keyId : '?',
    ]);
    expect(left.map((c) => c.displayName)).toContain('Owner key');
    expect(left.map((c) => c.keyId)).not.toContain(orphan[0]!.keyId);
    expect(
      registrar.logs.find('removed a client secret an interrupted reveal had created and nobody read'),
    ).toHaveLength(1);
  });

  test('when a request waits past PENDING_TTL_DAYS, then the sweep expires it, tells the requester, and the approval card loses its button', async () => {
    const { requestId } = await openForm(alex);
    await submit(alex, formData(requestId), 'expiring-form');
    await registrar.runtime.idle();
    const cardId = approvalPosts()[0]!.id;

    clock.offsetMs = (registrar.config.policy.pendingTtlDays * 24 + 1) * 3_600_000;
    await registrar.runtime.sweep();
    await registrar.runtime.idle();

    expect((await stored(requestId)).status).toBe('expired');
    const told = connector
      .cards({ conversationId: alexChat.conversation.id, kind: 'send' })
      .map((c) => cardText(c.card));
    expect(told.some((text) => text.includes(requestId) && /expired/i.test(text))).toBe(true);
    const approval = connector.sent.filter((s) => s.kind === 'update' && s.activityId === cardId).at(-1);
    expect(verbsOf((approval!.activity.attachments as Array<{ content: unknown }>)[0]!.content)).toEqual([]);
    const late = await teams.invoke(teams.cardAction(channel, megan, Verb.approvalApprove, { requestId }, cardId));
    expect(cardText(late.card)).toMatch(/expired/i);
  });

  test("when hand-made card data has wrong types or names another person's request, then it is refused with a message and nothing changes", async () => {
    const { requestId } = await openForm(alex);
    await submit(alex, formData(requestId));
    await registrar.runtime.idle();
    const { requestId: isaiahsForm } = await openForm(isaiah);
    const before = JSON.stringify(await stored(requestId));

    const wrongTypes = await teams.invoke(
      teams.cardAction(personalChat(isaiah, demoTenantId), isaiah, Verb.requestSubmit, {
        ...formData(isaiahsForm),
        secretDays: 30,
        permissions: ['x'],
      }),
    );
    const someoneElses = await submit(isaiah, formData(requestId));
    const cancelOthers = await teams.invoke(
      teams.cardAction(personalChat(isaiah, demoTenantId), isaiah, Verb.requestCancel, { requestId }),
    );
    const notAnId = await teams.invoke(
      teams.cardAction(channel, megan, Verb.approvalApprove, { requestId: { $ne: null } }),
    );

    expect(cardText(wrongTypes.card)).toMatch(/must be text/i);
    expect(await registrar.container.store.requests.get('request', isaiahsForm)).toBeUndefined();
    expect(cardText(someoneElses.card)).toMatch(/belongs to another request/i);
    expect(cardText(cancelOthers.card)).toMatch(/only the person who asked/i);
    expect(cardText(notAnId.card)).toMatch(/does not name a request/i);
    expect(JSON.stringify(await stored(requestId))).toBe(before);
  });

  test('when an approver clicks Approve, then the answer comes before provisioning, which runs afterwards in the background', async () => {
    const { requestId } = await openForm(alex);
    await submit(alex, formData(requestId));
    await registrar.runtime.idle();
    tenant.faults.configure({ latencyMs: 400 });

    const answer = await teams.invoke(
      teams.cardAction(channel, megan, Verb.approvalApprove, { requestId }, approvalPosts()[0]!.id),
    );

    // Answered while provisioning (at least four slow Graph calls) had not finished: the invoke did not wait for it.
    expect(answer.status).toBe(200);
    expect(['approved', 'provisioning']).toContain((await stored(requestId)).status);
    await registrar.runtime.idle();
    expect((await stored(requestId)).status).toBe('provisioned');
  });

  test('when provisioning fails because Graph is down, then an approver sees why and Retry finishes it once Graph is back', async () => {
    await registrar.stop();
    await startBot({ stepTimeoutMs: 1500, maxDelayMs: 200 });
    const { requestId } = await openForm(alex);
    await submit(alex, formData(requestId));
    await registrar.runtime.idle();
    const cardId = approvalPosts().at(-1)!.id;

    tenant.faults.configure({ unavailable: { rate: 1 } });
    await teams.invoke(teams.cardAction(channel, megan, Verb.approvalApprove, { requestId }, cardId));
    await registrar.runtime.idle();
    const failed = await stored(requestId);
    expect(failed.status).toBe('failed');
    expect(failed.provisioning.lastError?.message).toMatch(/busy or unreachable/i);
    const failedCard = connector.sent.filter((s) => s.kind === 'update' && s.activityId === cardId).at(-1)!;
    expect(cardText((failedCard.activity.attachments as Array<{ content: unknown }>)[0]!.content)).toMatch(
      /busy or unreachable/i,
    );

    tenant.faults.reset();
    const outsider = await teams.invoke(teams.cardAction(channel, isaiah, Verb.approvalRetry, { requestId }, cardId));
    expect(cardText(outsider.card)).toMatch(/approver/i);
    const view = await teams.invoke(teams.cardAction(channel, adele, Verb.approvalRefresh, { requestId }, cardId));
    expect(verbsOf(view.card)).toContain(Verb.approvalRetry);
    await teams.invoke(teams.cardAction(channel, adele, Verb.approvalRetry, { requestId }, cardId));
    await registrar.runtime.idle();

    expect((await stored(requestId)).status).toBe('provisioned');
    expect(
      Object.values(tenant.state().data.applications).filter((a) => a.data.uniqueName === uniqueNameFor(requestId)),
    ).toHaveLength(1);
  });

  test('when an approver types pending in personal chat and presses Review, then they can approve there; others cannot review it', async () => {
    const { requestId } = await openForm(alex);
    await submit(alex, formData(requestId));
    await registrar.runtime.idle();
    const meganChat = personalChat(megan, demoTenantId);

    await teams.post(teams.message(meganChat, megan, 'pending'));
    const list = connector.cards({ conversationId: meganChat.conversation.id }).at(-1)!.card;
    const review = actionFor(list, Verb.approvalRefresh);
    expect(review.data.requestId).toBe(requestId);
    const outsider = await teams.invoke(
      teams.cardAction(personalChat(isaiah, demoTenantId), isaiah, Verb.approvalRefresh, { requestId }),
    );
    const card = await teams.invoke(teams.cardAction(meganChat, megan, Verb.approvalRefresh, review.data));
    await teams.invoke(
      teams.cardAction(meganChat, megan, actionFor(card.card, Verb.approvalApprove).verb, { requestId }),
    );
    await registrar.runtime.idle();

    expect(cardText(outsider.card)).not.toContain(formData(requestId).purpose);
    expect(cardText(outsider.card)).toMatch(/only the person who asked/i);
    expect((await stored(requestId)).status).toBe('provisioned');
  });

  test('when an approver approves from pending in her personal chat, then after delivery that card says Delivered, as she sees it, with no decision left on it', async () => {
    const { requestId } = await openForm(alex);
    await submit(alex, formData(requestId), 'alex-form');
    await registrar.runtime.idle();
    const meganChat = personalChat(megan, demoTenantId);

    // Megan types pending; Review turns the list (that message) into the request's decision card, and she approves.
    await teams.post(teams.message(meganChat, megan, 'pending'));
    const list = connector.sent
      .filter((s) => s.kind === 'reply' && s.conversationId === meganChat.conversation.id)
      .at(-1)!;
    const listCard = (list.activity.attachments as Array<{ content: Record<string, unknown> }>)[0]!.content;
    const decision = await teams.invoke(
      teams.cardAction(meganChat, megan, Verb.approvalRefresh, actionFor(listCard, Verb.approvalRefresh).data, list.id),
    );
    expect(verbsOf(decision.card)).toEqual(expect.arrayContaining([Verb.approvalApprove, Verb.approvalReject]));
    // In Teams the card refreshes itself for her whenever she looks at it; elsewhere the bot's updates keep it current.
    expect(refreshOf(decision.card)?.userIds).toEqual([megan.id]);
    const approved = await teams.invoke(
      teams.cardAction(meganChat, megan, Verb.approvalApprove, { requestId }, list.id),
    );
    expect(cardText(approved.card)).toContain('You approved this request. Registrar is creating the app now.');
    await registrar.runtime.idle();
    expect((await stored(requestId)).reviewCards?.map((c) => [c.conversationId, c.activityId, c.viewer.id])).toEqual([
      [meganChat.conversation.id, list.id, megan.id],
    ]);

    // Alex reveals the secret and stores it.
    const delivery = connector.sent.find(
      (s) =>
        s.kind === 'send' &&
        s.conversationId === alexChat.conversation.id &&
        JSON.stringify(s.activity).includes(Verb.deliveryReveal),
    )!;
    const revealed = await teams.invoke(
      teams.cardAction(alexChat, alex, Verb.deliveryReveal, { requestId }, delivery.id),
    );
    expect(verbsOf(revealed.card)).toContain(Verb.deliveryStored);
    await teams.invoke(teams.cardAction(alexChat, alex, Verb.deliveryStored, { requestId }, delivery.id));
    await registrar.runtime.idle();
    expect((await stored(requestId)).status).toBe('delivered');

    // The card Megan approved on was updated in place, in her chat, to Delivered: her approval stays, the message
    // of her click and the decision are gone, and nothing of the delivery card (no secret, no hint) reached it.
    const updates = connector.sent.filter(
      (s) => s.kind === 'update' && s.conversationId === meganChat.conversation.id && s.activityId === list.id,
    );
    expect(updates.length).toBeGreaterThan(0);
    const latest = (updates.at(-1)!.activity.attachments as Array<{ content: Record<string, unknown> }>)[0]!.content;
    const text = cardText(latest);
    expect(text).toContain('Delivered');
    expect(text).toContain(`The client secret was revealed to ${alex.name}`);
    expect(text).toContain(`1 of 1 approval so far: ${megan.name}.`);
    expect(text).not.toContain('Registrar is creating the app now');
    expect(verbsOf(latest)).not.toContain(Verb.approvalApprove);
    expect(verbsOf(latest)).not.toContain(Verb.deliveryReveal);
    expect(refreshOf(latest)?.userIds).toEqual([megan.id]);
    const delivered = (await stored(requestId)).delivery;
    if (delivered?.kind !== 'secret') throw new Error(`request ${requestId} has no secret delivery`);
    expect(JSON.stringify(updates.map((u) => u.activity))).not.toContain(`Client secret ${delivered.hint}`);
    // The channel's card and Alex's status card say Delivered too.
    const channelCard = connector.cards({ conversationId: channel.conversation.id, kind: 'update' }).at(-1)!.card;
    expect(cardText(channelCard)).toContain('Delivered');
    const statusCard = connector.sent.filter((s) => s.kind === 'update' && s.activityId === 'alex-form').at(-1)!;
    expect(cardText((statusCard.activity.attachments as Array<{ content: unknown }>)[0]!.content)).toContain(
      'Delivered',
    );
  });

  test('when a private key is pasted instead of a certificate, then it is refused and not echoed; with the certificate, the delivery card confirms its thumbprint', async () => {
    const now = Date.now();
    const certificate = selfSignedCertificate(
      'CN=payroll-export',
      new Date(now - 60_000),
      new Date(now + 90 * 86_400_000),
    );
    const { requestId } = await openForm(alex);

    const refused = await submit(
      alex,
      formData(requestId, { credential: 'certificate', certificatePem: certificate.keyPem, secretDays: '' }),
    );
    expect(cardText(refused.card)).toMatch(/private key/i);
    expect(JSON.stringify(refused.card)).not.toContain(certificate.keyPem.split('\n')[1]!);
    expect(await registrar.container.store.requests.get('request', requestId)).toBeUndefined();

    await submit(
      alex,
      formData(requestId, { credential: 'certificate', certificatePem: certificate.certPem, secretDays: '' }),
    );
    await registrar.runtime.idle();
    await teams.invoke(
      teams.cardAction(channel, megan, Verb.approvalApprove, { requestId }, approvalPosts().at(-1)!.id),
    );
    await registrar.runtime.idle();

    const request = await stored(requestId);
    expect(request.status).toBe('delivered');
    expect(request.delivery).toMatchObject({ kind: 'certificate', thumbprint: certificate.thumbprint });
    const delivery = connector
      .cards({ conversationId: alexChat.conversation.id, kind: 'send' })
      .map((c) => c.card)
      .find((card) => cardText(card).includes(certificate.thumbprint));
    expect(delivery).toBeDefined();
    expect(verbsOf(delivery)).not.toContain(Verb.deliveryReveal);
    const app = Object.values(tenant.state().data.applications).find(
      (a) => a.data.uniqueName === uniqueNameFor(requestId),
    )!;
    expect(
      (app.data.keyCredentials as Array<{ customKeyIdentifier: string }>).map((k) => k.customKeyIdentifier),
    ).toEqual([certificate.thumbprint]);
    expect(app.data.passwordCredentials).toEqual([]);
  });

  test('when the form is asked for through the Teams Bot Connector, then it offers type-ahead beside Find; through any other connector, only Find', async () => {
    const { requestId } = await openForm(alex);
    const find = (serviceUrl?: string) =>
      teams.invoke({
        ...teams.cardAction(alexChat, alex, Verb.requestFind, { requestId, permissionFilter: '' }, 'form-typeahead'),
        ...(serviceUrl ? { serviceUrl } : {}),
      });
    /** The permission inputs with a Data.Query, wherever they sit in the card. */
    const typeaheadInputs = (card: unknown) => {
      const found: unknown[] = [];
      const walk = (node: unknown): void => {
        if (Array.isArray(node)) return node.forEach(walk);
        if (!node || typeof node !== 'object') return;
        const n = node as Record<string, unknown>;
        if (n.id === 'permissions' && n['choices.data'] !== undefined) found.push(n);
        Object.values(n).forEach(walk);
      };
      walk(card);
      return found;
    };

    const inTeams = await find('https://smba.trafficmanager.net/teams/');
    const elsewhere = await find();

    expect(inTeams.status).toBe(200);
    expect(typeaheadInputs(inTeams.card)).toHaveLength(1);
    expect(cardInputs(inTeams.card).has('permissionFilter')).toBe(true);
    expect(elsewhere.status).toBe(200);
    expect(typeaheadInputs(elsewhere.card)).toEqual([]);
    expect(cardInputs(elsewhere.card).has('permissionFilter')).toBe(true);
    expect(cardText(elsewhere.card)).toContain('No Microsoft Graph permission chosen yet');
  });

  test('when Submit comes back with the required fields empty, then the form says above its Submit button that nothing was sent and what to change', async () => {
    const { requestId } = await openForm(alex);
    const answer = await submit(alex, { requestId, platform: 'none', credential: 'secret' });

    expect(verbsOf(answer.card)).toContain(Verb.requestSubmit);
    const body = (answer.card as { body: Array<Record<string, unknown>> }).body;
    const last = body[body.length - 1]!;
    expect(last.id).toBe('problemsAtSubmit');
    expect(cardText(last)).toMatch(/Not sent yet: change these, then submit again/);
    expect(cardText(last)).toMatch(/App name: \s*The app name is required\./);
    expect(cardText(last)).toMatch(/Purpose: \s*The purpose is required\./);
    expect(cardText(answer.card)).toContain('2 fields need a change: App name and Purpose.');
    expect(await registrar.container.store.requests.get('request', requestId)).toBeUndefined();
  });

  test('when Teams asks for type-ahead choices (application/search), then matching Graph permissions come back, best first, paged', async () => {
    const search = (queryText: string, top: number, skip = 0) =>
      teams.post(
        teams.activity(alexChat, alex, {
          type: 'invoke',
          name: 'application/search',
          value: { queryText, dataset: Dataset.graphPermissions, queryOptions: { top, skip } },
        }),
      );

    const exact = await search('Mail.Send', 10);
    const first = await search('mail', 3);
    const next = await search('mail', 3, 3);

    const results = (r: { body: unknown }) =>
      (r.body as { type: string; value: { results: Array<{ title: string; value: string }> } }).value.results;
    expect((first.body as { type: string }).type).toBe('application/vnd.microsoft.search.searchResponse');
    expect(results(first)).toHaveLength(3);
    expect(
      results(exact)
        .slice(0, 2)
        .map((r) => r.value)
        .sort(),
    ).toEqual([permissionChoice('Mail.Send', 'Role'), permissionChoice('Mail.Send', 'Scope')].sort());
    expect(results(exact).find((r) => r.value === permissionChoice('Mail.Send', 'Role'))?.title).toBe(
      'Application (acts as itself): Mail.Send · admin consent',
    );
    expect(results(next)).toHaveLength(3);
    expect(results(next).map((r) => r.value)).not.toEqual(expect.arrayContaining(results(first).map((r) => r.value)));
  });
});
