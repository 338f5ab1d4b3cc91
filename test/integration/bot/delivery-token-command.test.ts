/**
 * The delivery card's "test it" command, run exactly as the card prints it: the person copies it into a shell with
 * AZURE_CLIENT_SECRET set, and curl asks the local tenant for a token with the secret just revealed. curl trusts
 * only the CAs it is told of, so in local mode the command must name the local tenant's CA bundle itself.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { promisify } from 'node:util';
import { alex, demoTenantId } from '../../../src/local/demo-identities';
import { allRoutes } from '../../../src/local/tenant/routes';
import { demoApplicationIds, demoTenant } from '../../../src/local/tenant/seed';
import type { RunningTenant } from '../../../src/local/tenant/server';
import { Verb } from '../../../src/cards/verbs';
import { actionFor } from '../../helpers/cards';
import { FakeConnector } from '../../helpers/connector';
import { type TestRegistrar, startRegistrar } from '../../helpers/registrar';
import { registrarEnv, startTestTenant } from '../../helpers/tenant';
import { Teams, personalChat } from '../../helpers/teams';

jest.setTimeout(120_000);

const run = promisify(execFile);
const curlFound = ['/usr/bin/curl', '/usr/local/bin/curl', '/bin/curl'].some((path) => existsSync(path));
const expenseBot = demoApplicationIds(3);

/** The code block of a card with this id, or the one whose code starts with `startsWith`. */
function codeBlock(card: unknown, which: { id: string } | { startsWith: string }): string {
  const found: Array<{ id?: unknown; code: string }> = [];
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(visit);
    if (typeof value !== 'object' || value === null) return;
    const element = value as Record<string, unknown>;
    if (element.type === 'CodeBlock' && typeof element.codeSnippet === 'string')
      found.push({ id: element.id, code: element.codeSnippet });
    Object.values(element).forEach(visit);
  };
  visit(card);
  const block = found.find((b) => ('id' in which ? b.id === which.id : b.code.startsWith(which.startsWith)));
  if (!block) throw new Error(`the card has no code block ${JSON.stringify(which)}`);
  return block.code;
}

/** Runs a command as a person's shell would, with only AZURE_CLIENT_SECRET set and no CA settings of Node or curl. */
async function shell(command: string, secret: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('bash', ['-c', command], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', AZURE_CLIENT_SECRET: secret },
      timeout: 30_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof failed.code === 'number' ? failed.code : -1,
      stdout: failed.stdout ?? '',
      stderr: failed.stderr ?? '',
    };
  }
}

describe('the delivery card token request, in local mode', () => {
  let tenant: RunningTenant;
  let registrar: TestRegistrar;
  let connector: FakeConnector;

  afterEach(async () => {
    await registrar?.stop();
    await connector?.stop();
    await tenant?.stop();
  });

  (curlFound ? test : test.skip)(
    'when the owner reveals a new secret and runs the printed command with it, then the local tenant issues a token; without the CA line curl refuses the certificate',
    async () => {
      tenant = await startTestTenant({ data: demoTenant().data, routes: allRoutes });
      connector = await new FakeConnector().start();
      const caBundle = process.env.NODE_EXTRA_CA_CERTS!;
      registrar = await startRegistrar({
        env: { ...registrarEnv(tenant), REMINDER_CRON: 'off', NODE_EXTRA_CA_CERTS: caBundle },
        overrides: { graphTiming: { baseDelayMs: 50, maxDelayMs: 500, stepTimeoutMs: 20_000 } },
      });
      const teams = new Teams(registrar.url, connector);
      const alexChat = personalChat(alex, demoTenantId);
      await teams.post(teams.message(alexChat, alex, 'rotate Expense Bot'));
      await registrar.runtime.idle();
      const delivery = connector.sent.find(
        (s) =>
          s.conversationId === alexChat.conversation.id && JSON.stringify(s.activity).includes(Verb.deliveryReveal),
      );
      expect(delivery).toBeDefined();
      const content = (delivery!.activity.attachments as Array<{ content: unknown }>)[0]!.content;
      const requestId = String(actionFor(content, Verb.deliveryReveal).data.requestId);

      const revealed = await teams.invoke(
        teams.cardAction(alexChat, alex, Verb.deliveryReveal, { requestId }, delivery!.id),
      );
      const secret = codeBlock(revealed.card, { id: 'clientSecretCode' });
      const command = codeBlock(revealed.card, { startsWith: 'curl ' });
      expect(command).toContain(`--cacert ${caBundle}`);
      expect(isAbsolute(caBundle)).toBe(true);
      expect(command).toContain(`client_id=${expenseBot.appId}`);

      const answer = await shell(command, secret);
      expect({ code: answer.code, stderr: answer.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
      const token = JSON.parse(answer.stdout) as { access_token?: string; token_type?: string; error?: string };
      expect(token).toMatchObject({ token_type: 'Bearer', access_token: expect.any(String) });
      // The token is the new secret's: it names Expense Bot as its client.
      const claims = JSON.parse(Buffer.from(token.access_token!.split('.')[1]!, 'base64url').toString('utf8')) as {
        appid?: string;
        azp?: string;
      };
      expect(claims.appid ?? claims.azp).toBe(expenseBot.appId);

      // What the card printed before: the same command without the CA bundle fails on the certificate (curl exit 60).
      const withoutCa = command.replace(/^--cacert .* \\\n/m, '');
      expect(withoutCa).not.toContain('--cacert');
      expect((await shell(withoutCa, secret)).code).toBe(60);
      // And a wrong secret gets no token, so the success above is the secret's doing.
      const wrong = await shell(command, 'not-the-secret-0123456789');
      expect(JSON.parse(wrong.stdout)).toMatchObject({ error: 'invalid_client' });
    },
  );
});
