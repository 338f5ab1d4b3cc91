/**
 * Commands over HTTP as Teams sends them: each turn's text is parsed once, however many routes look at it, and a
 * message built to be slow to parse (nothing but `<`, up to the 1 MiB body limit) is answered like any other
 * unknown text, by the same linear code, while a `help` sent at the same time is answered too.
 */
import * as commandsModule from '../../../src/domain/commands';
import { alex, demoTenantId } from '../../../src/local/demo-identities';
import { FakeConnector } from '../../helpers/connector';
import { type TestRegistrar, startRegistrar } from '../../helpers/registrar';
import { Teams, cardText, personalChat, teamChannel } from '../../helpers/teams';

const BODY_LIMIT = 1024 * 1024;

describe('command parsing over HTTP', () => {
  let registrar: TestRegistrar;
  let connector: FakeConnector;
  let teams: Teams;
  const chat = personalChat(alex, demoTenantId);

  beforeAll(async () => {
    connector = await new FakeConnector().start();
    registrar = await startRegistrar({ env: { ADMIN_IDS: alex.aadObjectId } });
    teams = new Teams(registrar.url, connector);
  });

  afterAll(async () => {
    await registrar.stop();
    await connector.stop();
  });

  afterEach(() => jest.restoreAllMocks());

  /** The cards sent in reply to one activity. */
  const repliesTo = (activity: Record<string, unknown>): unknown[] =>
    connector.sent
      .filter((s) => s.activityId === activity.id)
      .flatMap((s) =>
        ((s.activity.attachments as Array<{ content: unknown }> | undefined) ?? []).map((a) => a.content),
      );

  test.each([
    ['help', () => teams.message(chat, alex, 'help'), 'setup approvals'],
    ['status of an unknown request', () => teams.message(chat, alex, 'status REQ-404'), 'REQ-404'],
    ['unknown text', () => teams.message(chat, alex, 'what can you do?'), 'setup approvals'],
    [
      'a mention and a command in a channel',
      () =>
        teams.message(teamChannel(demoTenantId, 'Credential reminders'), alex, 'setup&nbsp;reminders', {
          mentionBot: true,
        }),
      'reminders',
    ],
  ])(
    'when a person sends %s, then its text is parsed once for every route and the handler',
    async (_name, make, expected) => {
      const parse = jest.spyOn(commandsModule, 'parseCommand');
      const activity = make();

      expect((await teams.post(activity)).status).toBe(200);

      expect(parse).toHaveBeenCalledTimes(1);
      expect(cardText(repliesTo(activity)[0])).toContain(expected);
    },
  );

  test('when a 1 MiB message of < and a "help" arrive together, then both are answered with the help card, each parsed once by the linear scanner', async () => {
    const strip = jest.spyOn(commandsModule, 'stripMarkup');
    const parse = jest.spyOn(commandsModule, 'parseCommand');
    const overhead = JSON.stringify(teams.message(chat, alex, '')).length;
    const worst = teams.message(chat, alex, '<'.repeat(BODY_LIMIT - overhead - 64));
    const help = teams.message(chat, alex, 'help');
    expect(JSON.stringify(worst).length).toBeLessThanOrEqual(BODY_LIMIT);

    const [worstResult, helpResult] = await Promise.all([teams.post(worst), teams.post(help)]);

    expect([worstResult.status, helpResult.status]).toEqual([200, 200]);
    expect(cardText(repliesTo(help)[0])).toContain('setup approvals');
    expect(cardText(repliesTo(worst)[0])).toContain('setup approvals');
    expect(parse).toHaveBeenCalledTimes(2);
    const stripped = strip.mock.calls.map(([text]) => text.length).sort((a, b) => b - a);
    expect(stripped).toEqual([String(worst.text).length, 'help'.length]);
  });
});
