/**
 * Inbound authentication with a bot identity: every activity's JWT is validated against the channel's OpenID
 * keys. Only a valid token reaches a handler; every kind of bad one is a 401, never a 500.
 */
import { Verb } from '../../../src/cards/verbs';
import { alex, demoTenantId } from '../../../src/local/demo-identities';
import { BotFrameworkIdentity, channelIssuer, otherSigningKey } from '../../helpers/bot-framework-identity';
import { FakeConnector } from '../../helpers/connector';
import { type TestRegistrar, startAuthenticatedRegistrar, testBotId } from '../../helpers/registrar';
import { Teams, cardText, personalChat } from '../../helpers/teams';

const botId = testBotId;

describe('inbound Bot Framework authentication', () => {
  let identity: BotFrameworkIdentity;
  let registrar: TestRegistrar;
  let connector: FakeConnector;
  let teams: Teams;

  beforeAll(async () => {
    identity = await new BotFrameworkIdentity().start();
    connector = await new FakeConnector().start();
    registrar = await startAuthenticatedRegistrar(identity.endpoints, alex.aadObjectId, demoTenantId);
    teams = new Teams(registrar.url, connector);
  });

  afterAll(async () => {
    await registrar.stop();
    await connector.stop();
    await identity.stop();
  });

  // An invoke is answered in the HTTP response, so a valid token shows a handler ran without any outbound call.
  const activity = () => teams.cardAction(personalChat(alex, demoTenantId), alex, Verb.showHelp);
  const claims = (a: Record<string, unknown>) => ({ aud: botId, serviceurl: String(a.serviceUrl) });

  test('when the token is valid, then the activity is served (200 and the card)', async () => {
    const a = activity();

    const result = await teams.post(a, `Bearer ${identity.sign(claims(a))}`);

    expect(result.status).toBe(200);
    expect(cardText((result.body as { value: unknown }).value)).toContain('setup approvals');
  });

  const bad: Array<[string, (a: Record<string, unknown>) => string | undefined]> = [
    ['no Authorization header', () => undefined],
    ['an unsigned token (alg none)', (a) => `Bearer ${unsigned(claims(a))}`],
    ['an expired token', (a) => `Bearer ${identity.sign(claims(a), { expiresInSeconds: -600 })}`],
    [
      'a token for another audience',
      (a) => `Bearer ${identity.sign({ ...claims(a), aud: '11111111-2222-4333-8444-555555555555' })}`,
    ],
    [
      'a token from another issuer',
      (a) => `Bearer ${identity.sign({ ...claims(a), iss: 'https://sts.example.net/' })}`,
    ],
    [
      'a token for another serviceUrl',
      (a) => `Bearer ${identity.sign({ ...claims(a), serviceurl: 'https://smba.trafficmanager.net/evil/' })}`,
    ],
    [
      'a token signed by another key under the same kid',
      (a) => `Bearer ${identity.sign(claims(a), { key: otherSigningKey() })}`,
    ],
    ['a token that is not a JWT', () => 'Bearer not-a-token'],
  ];

  test.each(bad)(
    'when the request carries %s, then it is refused with 401 and no handler runs',
    async (_name, header) => {
      const a = activity();
      const before = registrar.logs.lines.length;

      const result = await teams.post(a, header(a));

      expect(result.status).toBe(401);
      expect(connector.sent).toHaveLength(0);
      const logged = registrar.logs.entries.slice(before);
      expect(logged.some((e) => e.msg === 'activity refused: not authenticated')).toBe(true);
      expect(logged.some((e) => e.msg === 'greeted' || e.msg === 'channel set')).toBe(false);
    },
  );

  test('when a valid token is logged, then it is never written to the logs', async () => {
    const a = activity();
    const token = identity.sign(claims(a));

    await teams.post(a, `Bearer ${token}`);
    await teams.post(a, `Bearer ${token.slice(0, -4)}AAAA`);

    expect(registrar.logs.text).not.toContain(token.split('.')[2]);
  });
});

function unsigned(claims: Record<string, unknown>): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${encode({ alg: 'none', typ: 'JWT' })}.${encode({ iss: channelIssuer, nbf: now - 60, exp: now + 3600, ...claims })}.`;
}
