/**
 * The bot over HTTP, as Teams calls it: help, greeting once, unknown text, and card actions.
 */
import { Verb } from '../../../src/cards/verbs';
import { commands } from '../../../src/domain/commands';
import { alex, demoTenantId, demoUsers } from '../../../src/local/demo-identities';
import { FakeConnector } from '../../helpers/connector';
import { type TestRegistrar, startRegistrar } from '../../helpers/registrar';
import { Teams, cardText, personalChat, teamChannel } from '../../helpers/teams';

describe('conversation basics', () => {
  let registrar: TestRegistrar;
  let connector: FakeConnector;
  let teams: Teams;
  const chat = personalChat(alex, demoTenantId);

  beforeEach(async () => {
    connector = await new FakeConnector().start();
    registrar = await startRegistrar();
    teams = new Teams(registrar.url, connector);
  });

  afterEach(async () => {
    await registrar.stop();
    await connector.stop();
  });

  test('when a person types "help", then the help card lists every command, none of them marked as coming', async () => {
    const message = teams.message(chat, alex, 'help');
    const result = await teams.post(message);

    expect(result.status).toBe(200);
    const cards = connector.cards({ conversationId: chat.conversation.id });
    expect(cards).toHaveLength(1);
    expect(connector.sent[0]).toMatchObject({ kind: 'reply', activityId: message.id });
    const text = cardText(cards[0]!.card);
    for (const command of commands) expect(text).toContain(command.usage);
    expect(text.toLowerCase()).not.toContain('coming soon');
  });

  test.each(['what can you do?', 'hello', '   ', 'setup everything'])(
    'when a person types something unknown (%j), then they get the help card, never silence',
    async (text) => {
      await teams.post(teams.message(chat, alex, text));

      const cards = connector.cards();
      expect(cards).toHaveLength(1);
      expect(cardText(cards[0]!.card)).toContain('setup approvals');
    },
  );

  test('when Registrar has no Microsoft Graph identity and a person types "request", then they are told what is missing, not shown a form', async () => {
    await teams.post(teams.message(chat, alex, 'request'));

    const text = cardText(connector.cards()[0]!.card).toLowerCase();
    expect(text).toContain('not connected to microsoft entra id');
    expect(text).toContain('microsoft graph identity');
  });

  test('when "Show commands" is clicked, then the invoke is answered with the help card in place', async () => {
    const result = await teams.invoke(teams.cardAction(chat, alex, Verb.showHelp));

    expect(result.status).toBe(200);
    expect(cardText(result.card)).toContain('setup reminders');
    expect(connector.sent).toHaveLength(0);
  });

  test('when a card action has a verb no route knows, then the click gets a card saying so and nothing else happens', async () => {
    const result = await teams.invoke(teams.cardAction(chat, alex, 'retired.verb', { requestId: 'r-1' }));

    expect(result.status).toBe(200);
    expect(cardText(result.card)).toMatch(/no longer/i);
    expect(connector.sent).toHaveLength(0);
  });

  test('when the bot is installed, then the person is greeted once, however many install events Teams sends', async () => {
    await teams.post(teams.installationUpdate(chat, alex, 'add'));
    await teams.post(teams.botAdded(chat, alex));
    await Promise.all([1, 2, 3, 4].map(() => teams.post(teams.botAdded(chat, alex))));
    await teams.post(teams.installationUpdate(chat, alex, 'add'));

    const welcomes = connector.cards({ conversationId: chat.conversation.id });
    expect(welcomes).toHaveLength(1);
    expect(cardText(welcomes[0]!.card)).toMatch(/app registration/i);
    expect(cardText(welcomes[0]!.card)).toContain(`Hello, ${alex.name}`);
    expect(JSON.stringify(welcomes[0]!.card)).toContain(Verb.showHelp);
  });

  test("when a turn logs, then its lines carry the activity id, the conversation id and the person's object id", async () => {
    const install = teams.installationUpdate(chat, alex, 'add');

    await teams.post(install);

    const [greeted] = registrar.logs.find('greeted');
    expect(greeted).toMatchObject({
      activityId: install.id,
      conversationId: chat.conversation.id,
      aadObjectId: alex.aadObjectId,
    });
  });

  test('when a second person opens their first personal chat, then they are welcomed too, by name, even where the chat has the id of the first one', async () => {
    // The Agents Playground names every current user's personal chat with the same configured id.
    const megan = demoUsers[0]!;
    const shared = { conversation: { ...chat.conversation, id: 'personal-chat-registrar' } };
    await teams.post(teams.installationUpdate(shared, alex, 'add'));
    await teams.post(teams.botAdded(shared, alex));

    await teams.post(teams.installationUpdate(shared, megan, 'add'));
    await teams.post(teams.botAdded(shared, megan));
    await teams.post(teams.installationUpdate(shared, megan, 'add'));

    const welcomes = connector.cards({ conversationId: 'personal-chat-registrar' }).map((c) => cardText(c.card));
    expect(welcomes).toHaveLength(2);
    expect(welcomes[0]).toContain(`Hello, ${alex.name}`);
    expect(welcomes[1]).toContain(`Hello, ${megan.name}`);
  });

  test('when people open their own personal chats, then each is welcomed once in their own chat', async () => {
    const megan = demoUsers[0]!;
    const meganChat = personalChat(megan, demoTenantId);
    await teams.post(teams.botAdded(chat, alex));
    await teams.post(teams.botAdded(meganChat, megan));
    await teams.post(teams.installationUpdate(meganChat, megan, 'add'));

    expect(connector.cards({ conversationId: chat.conversation.id })).toHaveLength(1);
    expect(connector.cards({ conversationId: meganChat.conversation.id }).map((c) => cardText(c.card))).toEqual([
      expect.stringContaining(`Hello, ${megan.name}`),
    ]);
  });

  test('when the bot is removed and installed again, then the person is greeted again', async () => {
    await teams.post(teams.installationUpdate(chat, alex, 'add'));
    await teams.post(teams.installationUpdate(chat, alex, 'remove'));
    await teams.post(teams.installationUpdate(chat, alex, 'add'));

    expect(connector.cards({ conversationId: chat.conversation.id })).toHaveLength(2);
  });

  test('when the bot is added to a team, then the team is greeted once with how operators set it up', async () => {
    const general = teamChannel(demoTenantId, 'General');
    await teams.post(teams.installationUpdate(general, alex, 'add'));
    await teams.post(teams.botAdded(general, alex));

    const cards = connector.cards({ conversationId: general.conversation.id });
    expect(cards).toHaveLength(1);
    expect(cardText(cards[0]!.card)).toContain('setup approvals');
    expect(cardText(cards[0]!.card)).toContain('IT Operations');
  });

  test('when an install event carries no name for the person, then the welcome greets without one', async () => {
    const install = teams.installationUpdate(chat, alex, 'add');
    delete (install.from as Record<string, unknown>).name;

    await teams.post(install);

    const text = cardText(connector.cards()[0]!.card);
    expect(text).not.toContain('Someone');
    expect(text).toMatch(/^Hello\b/m);
  });

  test('when an install event carries no name but the conversation roster has it, then the welcome greets the person by name', async () => {
    const install = teams.installationUpdate(chat, alex, 'add');
    delete (install.from as Record<string, unknown>).name;
    connector.members.set(alex.id, { id: alex.id, name: alex.name, aadObjectId: alex.aadObjectId });

    await teams.post(install);

    expect(cardText(connector.cards()[0]!.card)).toContain(`Hello, ${alex.name}`);
  });

  test('when a person writes in personal chat, then their conversation is kept for later private messages', async () => {
    await teams.post(teams.message(chat, alex, 'help'));

    const stored = await registrar.container.store.conversations.get('user', alex.aadObjectId);
    expect(stored?.value).toMatchObject({
      serviceUrl: connector.url,
      conversation: { id: chat.conversation.id, conversationType: 'personal' },
      user: { aadObjectId: alex.aadObjectId },
    });
  });
});
