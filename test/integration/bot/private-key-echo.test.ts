/**
 * A private key pasted into the request form never comes back in a card: not from Submit, and not from Find or any
 * other form Registrar sends back (a card stays in Teams' copy of the message). The bot runs over HTTP as Teams
 * calls it, against the local tenant and Azurite.
 */
import { generateKeyPairSync } from 'node:crypto';
import { alex, demoTenantId } from '../../../src/local/demo-identities';
import { allRoutes } from '../../../src/local/tenant/routes';
import { demoTenant } from '../../../src/local/tenant/seed';
import type { RunningTenant } from '../../../src/local/tenant/server';
import { selfSignedCertificate } from '../../../src/local/tenant/self-signed';
import { Verb } from '../../../src/cards/verbs';
import { actionFor, cardInputs } from '../../helpers/cards';
import { FakeConnector } from '../../helpers/connector';
import { type TestRegistrar, startRegistrar } from '../../helpers/registrar';
import { registrarEnv, startTestTenant } from '../../helpers/tenant';
import { Teams, cardText, personalChat } from '../../helpers/teams';

jest.setTimeout(120_000);

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
const certificate = selfSignedCertificate(
  'payroll',
  new Date(Date.now() - 86_400_000),
  new Date(Date.now() + 365 * 86_400_000),
);
const pem = {
  pkcs8: rsa.export({ type: 'pkcs8', format: 'pem' }).toString(),
  rsa: rsa.export({ type: 'pkcs1', format: 'pem' }).toString(),
  ec: ec.export({ type: 'sec1', format: 'pem' }).toString(),
  encrypted: rsa
    .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'correct horse' })
    .toString(),
};

const keys: Array<[string, string, string]> = [
  ['a PKCS#8 key', pem.pkcs8, '-----BEGIN PRIVATE KEY-----'],
  ['an RSA key', pem.rsa, '-----BEGIN RSA PRIVATE KEY-----'],
  ['an EC key', pem.ec, '-----BEGIN EC PRIVATE KEY-----'],
  ['an encrypted key', pem.encrypted, '-----BEGIN ENCRYPTED PRIVATE KEY-----'],
  ['a certificate followed by its key', `${certificate.certPem}${pem.pkcs8}`, '-----BEGIN PRIVATE KEY-----'],
];

/** The base64 lines of a PEM's body: any one of them in a card is key material. */
const bodyLines = (text: string) =>
  text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length >= 16 && !line.startsWith('-----'));

function expectNoKey(card: unknown, key: string): void {
  const json = JSON.stringify(card);
  expect(json).not.toMatch(/PRIVATE KEY-----/);
  expect(bodyLines(key).filter((line) => json.includes(line))).toEqual([]);
}

describe('a pasted private key', () => {
  let tenant: RunningTenant;
  let registrar: TestRegistrar;
  let connector: FakeConnector;
  let teams: Teams;
  const chat = personalChat(alex, demoTenantId);

  beforeAll(async () => {
    tenant = await startTestTenant({ data: demoTenant().data, routes: allRoutes });
    connector = await new FakeConnector().start();
    registrar = await startRegistrar({ env: { ADMIN_IDS: alex.aadObjectId, ...registrarEnv(tenant) } });
    teams = new Teams(registrar.url, connector);
  });

  afterAll(async () => {
    await registrar.stop();
    await connector.stop();
    await tenant.stop();
  });

  async function openForm(): Promise<string> {
    const before = connector.sent.length;
    await teams.post(teams.message(chat, alex, 'request'));
    const reply = connector.sent
      .slice(before)
      .find((s) => s.kind === 'reply' && s.conversationId === chat.conversation.id);
    const card = (reply!.activity.attachments as Array<{ content: Record<string, unknown> }>)[0]!.content;
    return String(actionFor(card, Verb.requestSubmit).data.requestId);
  }

  const formData = (requestId: string, fields: Record<string, string>) => ({
    requestId,
    name: 'Payroll export',
    purpose: 'Nightly export of payroll data.',
    audience: 'AzureADMyOrg',
    platform: 'none',
    credential: 'certificate',
    permissionFilter: 'Mail.Send',
    ...fields,
  });

  /** The message under the certificate box: the bold text between that input and the next one. */
  function certificateMessage(card: Record<string, unknown>): string {
    const body = card.body as Array<Record<string, unknown>>;
    const at = body.findIndex((element) => element.id === 'certificatePem');
    const next = body.findIndex(
      (element, i) => i > at && typeof element.type === 'string' && element.type.startsWith('Input.'),
    );
    const found: string[] = [];
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) return node.forEach(walk);
      if (!node || typeof node !== 'object') return;
      const n = node as Record<string, unknown>;
      if (n.type === 'TextRun' && n.weight === 'Bolder' && typeof n.text === 'string') found.push(n.text);
      Object.values(n).forEach(walk);
    };
    walk(body.slice(at + 1, next === -1 ? undefined : next));
    return found.join('\n');
  }

  test.each(keys)(
    'when Find is pressed with %s in the certificate box, then the form comes back without it and with the message Submit gives',
    async (_name, key, header) => {
      expect(key).toContain(header);
      const requestId = await openForm();
      const data = formData(requestId, { certificatePem: key });

      const found = await teams.invoke(teams.cardAction(chat, alex, Verb.requestFind, data, `form-${requestId}`));
      const submitted = await teams.invoke(teams.cardAction(chat, alex, Verb.requestSubmit, data, `form-${requestId}`));

      expect(found.status).toBe(200);
      expect(submitted.status).toBe(200);
      expectNoKey(found.card, key);
      expectNoKey(submitted.card, key);
      expect(cardInputs(found.card).get('certificatePem')?.value).toBe('');
      expect(certificateMessage(found.card!)).toMatch(/^This is a private key, not a certificate\./);
      expect(certificateMessage(found.card!)).toBe(certificateMessage(submitted.card!));
      // Find still did its work: the search results are there.
      expect(cardText(found.card)).toMatch(/Mail\.Send/);
      expect(await registrar.container.store.requests.get('request', requestId)).toBeUndefined();
      expect(registrar.logs.text).not.toMatch(/PRIVATE KEY-----/);
      expect(bodyLines(key).filter((line) => registrar.logs.text.includes(line))).toEqual([]);
    },
  );

  test('when Find is pressed with a private key in the purpose, then the purpose comes back empty with a message that says why', async () => {
    const requestId = await openForm();

    const found = await teams.invoke(
      teams.cardAction(
        chat,
        alex,
        Verb.requestFind,
        formData(requestId, { purpose: `Our key:\n${pem.ec}` }),
        `form-${requestId}`,
      ),
    );

    expectNoKey(found.card, pem.ec);
    expect(cardInputs(found.card).get('purpose')?.value).toBe('');
    expect(cardText(found.card)).toContain(
      'There is a private key in the purpose, so Registrar did not keep it or show it again.',
    );
  });

  test('when a private key is searched for, then neither the search box nor the results line repeats it', async () => {
    const requestId = await openForm();

    const found = await teams.invoke(
      teams.cardAction(
        chat,
        alex,
        Verb.requestFind,
        formData(requestId, { permissionFilter: pem.ec.slice(0, 100) }),
        `form-${requestId}`,
      ),
    );

    expect(found.status).toBe(200);
    expect(JSON.stringify(found.card)).not.toMatch(/PRIVATE KEY-----/);
    expect(cardText(found.card)).toContain('There is a private key in the permission search');
  });
});
