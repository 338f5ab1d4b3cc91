/**
 * The tenant's app management policies through the running bot, as Teams drives it, against the local tenant and
 * Azurite: a policy changed in the tenant binds the next form without a restart; a policy changed between the
 * approvals fails provisioning in its own words with nothing made in the tenant; a rotation of an app whose assigned
 * policy blocks client secrets is refused in that policy's words, and one under a passwordLifetime gets a secret no
 * longer than it, the cards saying why; a Registrar without Policy.Read.All says on the form that it could not read.
 */
import { uniqueNameFor } from '../../../src/domain/app-spec';
import type { AppRequest } from '../../../src/domain/request';
import { alex, demoTenantId, demoUsers } from '../../../src/local/demo-identities';
import { allRoutes } from '../../../src/local/tenant/routes';
import { demoApplicationIds, demoIds, demoTenant } from '../../../src/local/tenant/seed';
import type { RunningTenant } from '../../../src/local/tenant/server';
import type { Json, TenantData } from '../../../src/local/tenant/state';
import { Verb } from '../../../src/cards/verbs';
import { actionFor, cardInputs } from '../../helpers/cards';
import { FakeConnector } from '../../helpers/connector';
import { type TestRegistrar, startRegistrar } from '../../helpers/registrar';
import { permissionChoice } from '../../helpers/runbook';
import { registrarEnv, startTestTenant } from '../../helpers/tenant';
import { Teams, cardText, personalChat, teamChannel, type TeamsUser } from '../../helpers/teams';

jest.setTimeout(180_000);

const DAY = 86_400_000;
const megan = demoUsers[0]!;
const adele = demoUsers[1]!;
const payrollSync = demoApplicationIds(2);
const expenseBot = demoApplicationIds(3);

const restriction = (restrictionType: string, maxLifetime: string | null = null): Json => ({
  restrictionType,
  state: 'enabled',
  maxLifetime,
  restrictForAppsCreatedAfterDateTime: null,
  excludeActors: null,
});

describe('app management policies known before the click', () => {
  let tenant: RunningTenant;
  let registrar: TestRegistrar;
  let connector: FakeConnector;
  let teams: Teams;
  const channel = teamChannel(demoTenantId, 'App approvals');

  async function start(change: (data: TenantData) => void = () => {}): Promise<void> {
    const { data } = demoTenant();
    change(data);
    tenant = await startTestTenant({ data, routes: allRoutes });
    connector = await new FakeConnector().start();
    connector.teamMembers.set(
      channel.team!.id,
      [alex, megan, adele].map((u) => ({ id: u.id, name: u.name, aadObjectId: u.aadObjectId })),
    );
    registrar = await startRegistrar({
      env: {
        ADMIN_IDS: alex.aadObjectId,
        APPROVER_IDS: `${megan.aadObjectId},${adele.aadObjectId}`,
        ...registrarEnv(tenant),
        REMINDER_CRON: 'off',
      },
      overrides: {
        graphTiming: { baseDelayMs: 50, maxDelayMs: 500, stepTimeoutMs: 20_000 },
        secretCheckBudgetMs: 1500,
      },
    });
    teams = new Teams(registrar.url, connector);
    await teams.post(teams.message(channel, alex, 'setup approvals', { mentionBot: true }));
  }

  afterEach(async () => {
    await registrar?.stop();
    await connector?.stop();
    await tenant?.stop();
  });

  /** The cards Registrar sent in reply to what `user` typed in their personal chat since `before` (typing skipped). */
  function repliesTo(user: TeamsUser, before: number): Array<Record<string, unknown>> {
    const chat = personalChat(user, demoTenantId);
    return connector.sent
      .slice(before)
      .filter((s) => s.kind === 'reply' && s.conversationId === chat.conversation.id && s.activity.type !== 'typing')
      .map((s) => (s.activity.attachments as Array<{ content: Record<string, unknown> }>)[0]!.content);
  }

  async function say(user: TeamsUser, text: string): Promise<Record<string, unknown>> {
    const before = connector.sent.length;
    await teams.post(teams.message(personalChat(user, demoTenantId), user, text));
    const replies = repliesTo(user, before);
    expect(replies).toHaveLength(1);
    return replies[0]!;
  }

  async function openForm(user: TeamsUser = alex): Promise<{ card: Record<string, unknown>; requestId: string }> {
    const card = await say(user, 'request');
    return { card, requestId: String(actionFor(card, Verb.requestSubmit).data.requestId) };
  }

  const credentialChoices = (card: unknown) =>
    cardInputs(card)
      .get('credential')
      ?.choices?.map((c) => c.value);

  const setTenantDefault = (passwordCredentials: Json[]) => {
    const policy = tenant.state().data.defaultAppManagementPolicy;
    policy.isEnabled = true;
    policy.applicationRestrictions = { passwordCredentials, keyCredentials: [] };
  };

  async function stored(requestId: string): Promise<AppRequest> {
    const found = await registrar.container.store.requests.get('request', requestId);
    if (!found) throw new Error(`request ${requestId} is not stored`);
    return found.value;
  }

  function formData(requestId: string, fields: Record<string, string> = {}): Record<string, string> {
    return {
      requestId,
      name: 'Partner invoices',
      purpose: 'Reads invoices that partner organisations upload to the finance mailbox.',
      audience: 'AzureADMultipleOrgs',
      platform: 'none',
      permissions: permissionChoice('User.Read', 'Scope'),
      credential: 'secret',
      secretDays: '180',
      ...fields,
    };
  }

  const submit = (user: TeamsUser, data: Record<string, string>) =>
    teams.invoke(
      teams.cardAction(personalChat(user, demoTenantId), user, Verb.requestSubmit, data, `form-${data.requestId}`),
    );

  test('when the tenant default changes between two forms, then the next form has the new cap, then no secret choice, without a restart', async () => {
    await start();

    const first = (await openForm()).card;
    setTenantDefault([restriction('passwordLifetime', 'P90D')]);
    const { card: second, requestId } = await openForm();
    const tooLong = await submit(alex, formData(requestId, { audience: 'AzureADMyOrg', secretDays: '120' }));
    setTenantDefault([restriction('passwordAddition')]);
    const third = (await openForm()).card;

    // The demo's default: P2Y, no narrower than Registrar's own 730 days.
    expect(credentialChoices(first)).toContain('secret');
    expect(cardText(first)).toContain('from 1 to 730 days');
    expect(cardText(first)).toContain('client secrets live at most P2Y (passwordLifetime)');
    // P90D: the cap and the default both become 90 days, and the policy is named.
    expect(credentialChoices(second)).toContain('secret');
    expect(cardText(second)).toContain('from 1 to 90 days');
    expect(cardInputs(second).get('secretDays')).toBeDefined();
    expect(JSON.stringify(second)).toContain('"placeholder":"90"');
    expect(cardText(second)).toContain(
      "Under the tenant's app management policy “Default app management tenant policy”, client secrets live at most P90D (passwordLifetime).",
    );
    // A Submit under it is refused in its words, and nothing is stored as submitted.
    expect(cardText(tooLong.card)).toContain('at most P90D (passwordLifetime), that is 90 days; 120 days is longer');
    expect((await registrar.container.store.requests.get('request', requestId))?.value.status).not.toBe('submitted');
    // passwordAddition: no secret to choose, no lifetime box, and why.
    expect(credentialChoices(third)).not.toContain('secret');
    expect(credentialChoices(third)).toEqual(expect.arrayContaining(['certificate']));
    expect(cardInputs(third).has('secretDays')).toBe(false);
    expect(cardText(third)).toContain(
      "The tenant's app management policy “Default app management tenant policy” blocks new client secrets (passwordAddition).",
    );
  });

  test('when the policy changes after the first approval, then provisioning fails in the policy’s words and no application is left in the tenant', async () => {
    await start();
    const { requestId } = await openForm();
    const submitted = await submit(alex, formData(requestId));
    expect(cardText(submitted.card)).toContain(requestId);
    await registrar.runtime.idle();
    // Any organisation may sign in: high risk, two approvers.
    expect((await stored(requestId)).approvalsRequired).toBe(2);
    const cardId = connector.sent.find(
      (s) =>
        s.kind === 'send' &&
        s.conversationId === channel.conversation.id &&
        JSON.stringify(s.activity).includes(Verb.approvalRefresh),
    )!.id;
    const approve = (user: TeamsUser) =>
      teams.invoke(teams.cardAction(channel, user, Verb.approvalApprove, { requestId }, cardId));
    const applicationsBefore = Object.keys(tenant.state().data.applications).sort();

    await approve(megan);
    expect((await stored(requestId)).status).toBe('submitted');
    setTenantDefault([restriction('passwordLifetime', 'P90D')]);
    await approve(adele);
    await registrar.runtime.idle();

    const request = await stored(requestId);
    expect(request.status).toBe('failed');
    expect(request.provisioning.lastError?.message).toContain(
      "The tenant's app management policy “Default app management tenant policy” allows a client secret to live at most P90D (passwordLifetime)",
    );
    expect(request.provisioning.lastError?.message).toContain('Provisioning stopped before anything was created.');
    expect(request.provisioning.application).toBeUndefined();
    expect(
      Object.values(tenant.state().data.applications).filter((a) => a.data.uniqueName === uniqueNameFor(requestId)),
    ).toEqual([]);
    expect(Object.keys(tenant.state().data.applications).sort()).toEqual(applicationsBefore);
    // The requester's card says so, in the same words.
    const updates = connector.sent.filter((s) => s.kind === 'update' && s.activityId === `form-${requestId}`);
    expect(cardText((updates.at(-1)!.activity.attachments as Array<{ content: unknown }>)[0]!.content)).toContain(
      'at most P90D (passwordLifetime)',
    );
  });

  test('when the owner of an app whose assigned policy blocks secrets types rotate, then the policy’s words refuse it and nothing is stored or added', async () => {
    await start();
    const before = tenant.state().data.applications[payrollSync.id]!.data.passwordCredentials as unknown[];
    // Adele owns Payroll Sync, whose "Secretless apps" policy blocks passwordAddition (the demo seed).
    await teams.post(teams.message(personalChat(adele, demoTenantId), adele, 'help'));

    const reply = await say(adele, 'rotate Payroll Sync');
    const pressed = await teams.invoke(
      teams.cardAction(personalChat(adele, demoTenantId), adele, Verb.rotationStart, { appId: payrollSync.appId }),
    );
    await registrar.runtime.idle();

    const words =
      'Registrar cannot give Payroll Sync a new client secret: the app management policy “Secretless apps” assigned to this app blocks new client secrets (passwordAddition). Nothing was changed.';
    expect(cardText(reply)).toContain(words);
    expect(pressed.message).toContain(words);
    const requests: AppRequest[] = [];
    for await (const { row, value } of registrar.container.store.requests.list('request'))
      if (/^[0-9A-Z]{8}$/.test(row)) requests.push(value);
    expect(requests).toEqual([]);
    expect(tenant.state().data.applications[payrollSync.id]!.data.passwordCredentials).toEqual(before);
    expect(connector.sent.some((s) => JSON.stringify(s.activity).includes(Verb.deliveryReveal))).toBe(false);
  });

  test('when an app’s assigned policy allows secrets of 30 days, then its rotation’s card says so and the revealed secret lives 30 days', async () => {
    const policyId = 'a1e5c0de-0000-4000-8000-000000000530';
    await start((data) => {
      data.appManagementPolicies[policyId] = {
        data: {
          id: policyId,
          displayName: 'Short-lived secrets',
          description: 'Client secrets at most 30 days',
          isEnabled: true,
          restrictions: { passwordCredentials: [restriction('passwordLifetime', 'P30D')], keyCredentials: [] },
        },
        visibleFrom: 0,
        sequence: (data.sequence += 1),
        appliesTo: [expenseBot.id],
      };
    });
    const alexChat = personalChat(alex, demoTenantId);
    await teams.post(teams.message(alexChat, alex, 'help'));

    await teams.post(teams.message(alexChat, alex, 'rotate Expense Bot'));
    await registrar.runtime.idle();
    const delivery = connector.sent.find(
      (s) =>
        s.kind === 'send' &&
        s.conversationId === alexChat.conversation.id &&
        JSON.stringify(s.activity).includes(Verb.deliveryReveal),
    )!;
    const card = (delivery.activity.attachments as Array<{ content: unknown }>)[0]!.content;
    const requestId = String(actionFor(card, Verb.deliveryReveal).data.requestId);
    const revealed = await teams.invoke(
      teams.cardAction(alexChat, alex, Verb.deliveryReveal, { requestId }, delivery.id),
    );

    expect(cardText(card)).toContain('valid for 30 days from the moment you reveal it.');
    expect(cardText(card)).toContain(
      "That is the most the app management policy “Short-lived secrets” assigned to this app allows (passwordLifetime P30D), shorter than Registrar's 180 days.",
    );
    expect((await stored(requestId)).form.credential).toEqual({ kind: 'secret', lifetimeDays: 30 });
    expect(cardText(revealed.card)).toMatch(/it works|not started accepting it yet/i);
    const secrets = tenant.state().data.applications[expenseBot.id]!.data.passwordCredentials as Array<{
      keyId: string;
      startDateTime: string;
      endDateTime: string;
    }>;
    const delivered = (await stored(requestId)).delivery;
    const keyId = delivered?.kind === 'secret' ? delivered.keyId : undefined;
    const added = secrets.find((s) => s.keyId === keyId)!;
    expect(Date.parse(added.endDateTime) - Date.parse(added.startDateTime)).toBeLessThanOrEqual(30 * DAY);
    expect(Date.parse(added.endDateTime) - Date.parse(added.startDateTime)).toBeGreaterThan(29 * DAY);
  });

  test('when Registrar lacks Policy.Read.All, then the form says it could not read the policies and offers Registrar’s own limits', async () => {
    await start((data) => {
      const graphSp = data.servicePrincipals[demoIds.graphServicePrincipal]!.data;
      const policyRead = (graphSp.appRoles as Array<{ id: string; value: string }>).find(
        (r) => r.value === 'Policy.Read.All',
      )!.id;
      for (const [id, assignment] of Object.entries(data.appRoleAssignments))
        if (
          assignment.data.principalId === demoIds.registrarServicePrincipal &&
          assignment.data.appRoleId === policyRead
        )
          delete data.appRoleAssignments[id];
    });

    const { card } = await openForm();

    expect(cardText(card)).toContain(
      "Registrar could not read the tenant's app management policies (it lacks the Microsoft Graph permission Policy.Read.All)",
    );
    expect(credentialChoices(card)).toContain('secret');
    expect(cardText(card)).toContain('from 1 to 730 days');
    expect(cardText(card)).not.toContain('P2Y');
  });
});
