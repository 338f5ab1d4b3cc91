/**
 * `setup approvals` / `setup reminders`: operators name the channels; everyone else is refused politely;
 * the binding lives in Azure Tables.
 */
import { alex, demoTenantId, demoUsers } from '../../../src/local/demo-identities';
import { FakeConnector } from '../../helpers/connector';
import { type TestRegistrar, startRegistrar } from '../../helpers/registrar';
import { Teams, cardText, personalChat, teamChannel } from '../../helpers/teams';

const megan = demoUsers[0]!;

describe('naming the approvals and reminders channels', () => {
  let registrar: TestRegistrar;
  let connector: FakeConnector;
  let teams: Teams;

  beforeEach(async () => {
    connector = await new FakeConnector().start();
    // Alex is an operator (ADMIN_IDS); Megan is not.
    registrar = await startRegistrar({ env: { ADMIN_IDS: alex.aadObjectId } });
    teams = new Teams(registrar.url, connector);
  });

  afterEach(async () => {
    await registrar.stop();
    await connector.stop();
  });

  test.each([
    ['approvals', true],
    ['reminders', false],
  ] as const)(
    'when an operator writes "setup %s" in a channel (mention: %s), then the channel is kept and the bot confirms there',
    async (purpose, mentionBot) => {
      const channel = teamChannel(demoTenantId, purpose === 'approvals' ? 'App approvals' : 'Credential reminders');
      const message = teams.message(channel, alex, `setup ${purpose}`, { mentionBot });

      const result = await teams.post(message);

      expect(result.status).toBe(200);
      const stored = await registrar.container.store.channels.get('channel', purpose);
      expect(stored?.value).toMatchObject({
        purpose,
        address: {
          serviceUrl: connector.url,
          conversation: { id: channel.conversation.id, conversationType: 'channel' },
        },
        setBy: { aadObjectId: alex.aadObjectId, name: alex.name },
      });
      const cards = connector.cards({ conversationId: channel.conversation.id });
      expect(cards).toHaveLength(1);
      expect(cardText(cards[0]!.card)).toContain(alex.name);
      // Teams sent only ids: the names come from the connector, and are kept with the binding.
      expect(cardText(cards[0]!.card)).toContain(channel.channel!.name!);
      expect(stored?.value.address).toMatchObject({
        team: { name: 'IT Operations' },
        channel: { name: channel.channel!.name },
      });
      expect(cardText(cards[0]!.card)).toMatch(purpose === 'approvals' ? /approval/i : /reminder/i);
    },
  );

  test('when Teams sends the command with HTML spaces and a line break, then it is still understood', async () => {
    const channel = teamChannel(demoTenantId);

    await teams.post(teams.message(channel, alex, 'Setup&nbsp;Approvals<br>', { mentionBot: true }));

    expect((await registrar.container.store.channels.get('channel', 'approvals'))?.value.address.conversation.id).toBe(
      channel.conversation.id,
    );
  });

  test('when the setup runs in the General channel, which Teams lists without a name, then the card calls it General', async () => {
    const base = teamChannel(demoTenantId);
    const general = {
      ...base,
      conversation: { ...base.conversation, id: base.team!.id },
      channel: { id: base.team!.id },
    };

    await teams.post(teams.message(general, alex, 'setup approvals', { mentionBot: true }));

    expect(cardText(connector.cards()[0]!.card)).toContain('General, in IT Operations');
  });

  test('when the connector cannot say the names, then the channel is still set and the card says so without them', async () => {
    const channel = teamChannel(demoTenantId, 'Unlisted');
    const activity = teams.message(channel, alex, 'setup approvals', { mentionBot: true });
    connector.teams.clear();

    const result = await teams.post(activity);

    expect(result.status).toBe(200);
    expect((await registrar.container.store.channels.get('channel', 'approvals'))?.value.address.conversation.id).toBe(
      channel.conversation.id,
    );
    expect(cardText(connector.cards()[0]!.card)).toMatch(/approval requests/i);
    expect(registrar.logs.find('could not read team and channel names')).toHaveLength(1);
  });

  test('when Teams replies in a thread, then the kept channel address is the channel, not the thread', async () => {
    const channel = teamChannel(demoTenantId);
    const threaded = {
      ...channel,
      conversation: { ...channel.conversation, id: `${channel.conversation.id};messageid=1700000000000` },
    };

    await teams.post(teams.message(threaded, alex, 'setup approvals', { mentionBot: true }));

    const stored = await registrar.container.store.channels.get('channel', 'approvals');
    expect(stored?.value.address.conversation.id).toBe(channel.conversation.id);
  });

  test('when someone who is not an operator tries, then they are refused, told who can, and nothing is kept', async () => {
    const channel = teamChannel(demoTenantId);

    await teams.post(teams.message(channel, megan, 'setup approvals', { mentionBot: true }));

    expect(await registrar.container.store.channels.get('channel', 'approvals')).toBeUndefined();
    const text = cardText(connector.cards()[0]!.card);
    expect(text).toMatch(/only an operator/i);
    expect(text).toContain('ADMIN_IDS');
  });

  test('when someone without an Entra object id tries, then they are refused', async () => {
    const channel = teamChannel(demoTenantId);
    const anonymous = { id: '29:anonymous', name: 'Guest' };

    await teams.post(teams.message(channel, anonymous, 'setup approvals', { mentionBot: true }));

    expect(await registrar.container.store.channels.get('channel', 'approvals')).toBeUndefined();
    expect(cardText(connector.cards()[0]!.card)).toMatch(/only an operator/i);
  });

  test('when an operator runs setup in personal chat, then they are told to run it in the channel, and nothing is kept', async () => {
    await teams.post(teams.message(personalChat(alex, demoTenantId), alex, 'setup reminders'));

    expect(await registrar.container.store.channels.get('channel', 'reminders')).toBeUndefined();
    expect(cardText(connector.cards()[0]!.card)).toMatch(/in the teams channel/i);
  });

  test('when an operator names another channel, then it replaces the first and the confirmation says which it replaced', async () => {
    const first = teamChannel(demoTenantId, 'Old approvals');
    const second = teamChannel(demoTenantId, 'New approvals');

    await teams.post(teams.message(first, alex, 'setup approvals', { mentionBot: true }));
    await teams.post(teams.message(second, alex, 'setup approvals', { mentionBot: true }));

    const stored = await registrar.container.store.channels.get('channel', 'approvals');
    expect(stored?.value.address.conversation.id).toBe(second.conversation.id);
    const confirmation = connector.cards({ conversationId: second.conversation.id });
    expect(cardText(confirmation[0]!.card)).toContain('Old approvals');
  });

  test('when two operators set the approvals channel at the same moment, then one binding wins whole and both get an answer', async () => {
    const channels = [teamChannel(demoTenantId, 'A'), teamChannel(demoTenantId, 'B'), teamChannel(demoTenantId, 'C')];

    const results = await Promise.all(
      channels.map((c) => teams.post(teams.message(c, alex, 'setup approvals', { mentionBot: true }))),
    );

    expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
    const stored = await registrar.container.store.channels.get('channel', 'approvals');
    expect(channels.map((c) => c.conversation.id)).toContain(stored?.value.address.conversation.id);
    expect(connector.cards()).toHaveLength(3);
  });
});

describe('the tenant allow-list', () => {
  let registrar: TestRegistrar;
  let connector: FakeConnector;
  let teams: Teams;

  beforeEach(async () => {
    connector = await new FakeConnector().start();
    registrar = await startRegistrar({ env: { ADMIN_IDS: alex.aadObjectId, ALLOWED_TENANT_IDS: demoTenantId } });
    teams = new Teams(registrar.url, connector);
  });

  afterEach(async () => {
    await registrar.stop();
    await connector.stop();
  });

  test('when an activity comes from a tenant that is not allowed, then it is refused and logged, and no handler runs', async () => {
    const otherTenant = '0d9c8b7a-6f5e-4d3c-8b2a-190817161514';
    const channel = teamChannel(otherTenant);

    const result = await teams.post(teams.message(channel, alex, 'setup approvals', { mentionBot: true }));
    const invoke = await teams.post(teams.cardAction(personalChat(alex, otherTenant), alex, 'help.show'));

    expect(result.status).toBe(403);
    expect(invoke.status).toBe(403);
    expect(connector.sent).toHaveLength(0);
    expect(await registrar.container.store.channels.get('channel', 'approvals')).toBeUndefined();
    const refusals = registrar.logs.find('activity refused: tenant not allowed');
    expect(refusals).toHaveLength(2);
    expect(refusals[0]).toMatchObject({ tenantId: otherTenant });
  });

  test('when an activity names no tenant at all, then it is refused', async () => {
    const activity = teams.message(personalChat(alex, demoTenantId), alex, 'help');
    delete (activity.conversation as Record<string, unknown>).tenantId;
    activity.channelData = {};

    const result = await teams.post(activity);

    expect(result.status).toBe(403);
    expect(connector.sent).toHaveLength(0);
  });

  test('when the tenant is allowed, then the same activity is served', async () => {
    const result = await teams.post(teams.message(personalChat(alex, demoTenantId), alex, 'help'));

    expect(result.status).toBe(200);
    expect(connector.cards()).toHaveLength(1);
  });
});
