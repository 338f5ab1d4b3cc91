/**
 * What may reach /api/messages: JSON only, so that no web page can post a form to the bot (a form needs no CORS
 * preflight), and in local mode, which has no authentication, only requests addressed to a loopback name, so that
 * a page whose DNS name was rebound to 127.0.0.1 is refused. Every refusal runs nothing.
 */
import { request } from 'node:http';
import { Verb } from '../../src/cards/verbs';
import { alex, demoTenantId } from '../../src/local/demo-identities';
import { BotFrameworkIdentity } from '../helpers/bot-framework-identity';
import { FakeConnector } from '../helpers/connector';
import { type TestRegistrar, startAuthenticatedRegistrar, startRegistrar, testBotId } from '../helpers/registrar';
import { Teams, cardText, personalChat } from '../helpers/teams';

interface RawResponse {
  status: number;
  contentType: string;
  body: string;
}

/** A POST with exactly these headers (fetch would add a content type and refuses to set Host). */
function rawPost(url: string, headers: Record<string, string>, body: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/api/messages`,
      { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body: text }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** An activity as form fields in bracket notation (from[id]=...), the way a hand-made HTML form would post it. */
function formFields(value: unknown, prefix = ''): Array<[string, string]> {
  if (value === null || typeof value !== 'object') return [[prefix, String(value)]];
  return Object.entries(value).flatMap(([k, v]) => formFields(v, prefix ? `${prefix}[${k}]` : k));
}

function multipart(fields: Array<[string, string]>, boundary: string): string {
  return `${fields.map(([k, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`).join('')}--${boundary}--\r\n`;
}

describe('/api/messages in local mode', () => {
  let connector: FakeConnector;
  let registrar: TestRegistrar;
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

  beforeEach(() => {
    connector.sent.length = 0;
  });

  const host = () => new URL(registrar.url).host;

  test.each([
    [
      'text/plain (JSON text, as a form with enctype text/plain sends it)',
      (a: object) => ({ type: 'text/plain', body: JSON.stringify(a) }),
    ],
    [
      'application/x-www-form-urlencoded',
      (a: object) => ({
        type: 'application/x-www-form-urlencoded',
        body: new URLSearchParams(formFields(a)).toString(),
      }),
    ],
    [
      'multipart/form-data',
      (a: object) => ({ type: 'multipart/form-data; boundary=registrar', body: multipart(formFields(a), 'registrar') }),
    ],
    ['no content type', (a: object) => ({ type: undefined, body: JSON.stringify(a) })],
    [
      'a JSON-like type that is not application/json',
      (a: object) => ({ type: 'application/activity+json', body: JSON.stringify(a) }),
    ],
  ])(
    'when a "help" activity arrives as %s, then it is refused with 415 and a JSON reason, and the bot does not run',
    async (_name, encode) => {
      const { type, body } = encode(teams.message(chat, alex, 'help'));

      const response = await rawPost(registrar.url, { host: host(), ...(type ? { 'content-type': type } : {}) }, body);

      expect(response.status).toBe(415);
      expect(response.contentType).toMatch(/^application\/json/);
      expect((JSON.parse(response.body) as { error: string }).error).toContain('application/json');
      expect(connector.sent).toEqual([]);
    },
  );

  test.each(['application/json', 'application/json; charset=utf-8', 'Application/JSON;charset=UTF-8'])(
    'when a "help" activity arrives as %s, then it is answered',
    async (type) => {
      const response = await rawPost(
        registrar.url,
        { host: host(), 'content-type': type },
        JSON.stringify(teams.message(chat, alex, 'help')),
      );

      expect(response.status).toBe(200);
      expect(cardText(connector.cards()[0]!.card)).toContain('setup approvals');
    },
  );

  test.each(['evil.example', 'evil.example:3978', 'registrar.contoso.com', '127.0.0.1.evil.example'])(
    'when a request is addressed to Host %s, then it is refused with 403 and a clear reason, and the bot does not run',
    async (evil) => {
      const response = await rawPost(
        registrar.url,
        { host: evil, 'content-type': 'application/json' },
        JSON.stringify(teams.message(chat, alex, 'help')),
      );

      expect(response.status).toBe(403);
      expect((JSON.parse(response.body) as { error: string }).error).toMatch(/localhost, 127\.0\.0\.1 or \[::1\]/);
      expect(connector.sent).toEqual([]);
      expect(registrar.logs.find('request refused: Host is not a loopback name').length).toBeGreaterThan(0);
    },
  );

  test.each(['localhost', '127.0.0.1', '[::1]'])(
    'when a request is addressed to %s with the port, then it is served',
    async (name) => {
      const port = new URL(registrar.url).port;

      const response = await rawPost(
        registrar.url,
        { host: `${name}:${port}`, 'content-type': 'application/json' },
        JSON.stringify(teams.message(chat, alex, 'help')),
      );

      expect(response.status).toBe(200);
      expect(connector.cards()).toHaveLength(1);
    },
  );
});

describe('/api/messages with a bot identity', () => {
  const botId = testBotId;
  let identity: BotFrameworkIdentity;
  let connector: FakeConnector;
  let registrar: TestRegistrar;
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

  test("when an authenticated activity is addressed to the public host name, then it is served: the Host check is local mode's", async () => {
    const activity = teams.cardAction(personalChat(alex, demoTenantId), alex, Verb.showHelp);
    const token = identity.sign({ aud: botId, serviceurl: String(activity.serviceUrl) });

    const response = await rawPost(
      registrar.url,
      { host: 'registrar.contoso.com', 'content-type': 'application/json', authorization: `Bearer ${token}` },
      JSON.stringify(activity),
    );

    expect(response.status).toBe(200);
    expect(cardText((JSON.parse(response.body) as { value: unknown }).value)).toContain('setup approvals');
  });

  test('when a form is posted with a valid token, then it is still refused with 415', async () => {
    const activity = teams.cardAction(personalChat(alex, demoTenantId), alex, Verb.showHelp);
    const token = identity.sign({ aud: botId, serviceurl: String(activity.serviceUrl) });

    const response = await rawPost(
      registrar.url,
      {
        host: 'registrar.contoso.com',
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Bearer ${token}`,
      },
      new URLSearchParams(formFields(activity)).toString(),
    );

    expect(response.status).toBe(415);
  });
});
