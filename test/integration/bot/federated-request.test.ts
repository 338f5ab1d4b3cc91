/**
 * A request with a federated credential through the running bot, as Teams sends it, with Microsoft Graph reached
 * through the production adapter against the local tenant and the state in Azure Tables (Azurite): the form names a
 * GitHub Actions workload → the approval card names it and rates it low → approve → provisioning adds the credential
 * (read back from the tenant) → the requester's delivery card has the workflow snippet with the real ids, and no
 * secret exists anywhere. And the refusals: a subject Entra ID could never match, and a 21st credential on one app.
 */
import { GraphCaller } from '../../../src/adapters/graph/graph-caller';
import { GraphProvisioner } from '../../../src/adapters/graph/graph-provisioner';
import { FEDERATED_AUDIENCE, MAX_FEDERATED_CREDENTIALS, uniqueNameFor } from '../../../src/domain/app-spec';
import { toAppSpec, type AppRequest } from '../../../src/domain/request';
import { createLogger } from '../../../src/lib/logger';
import { alex, demoTenantId, demoUsers } from '../../../src/local/demo-identities';
import { allRoutes } from '../../../src/local/tenant/routes';
import { demoTenant } from '../../../src/local/tenant/seed';
import type { RunningTenant } from '../../../src/local/tenant/server';
import { Verb } from '../../../src/cards/verbs';
import { actionFor, verbsOf } from '../../helpers/cards';
import { FakeConnector } from '../../helpers/connector';
import { LogCapture } from '../../helpers/logs';
import { type TestRegistrar, startRegistrar } from '../../helpers/registrar';
import { permissionChoice } from '../../helpers/runbook';
import { registrarConnection, registrarEnv, startTestTenant } from '../../helpers/tenant';
import { Teams, cardText, personalChat, teamChannel, type TeamsUser } from '../../helpers/teams';

jest.setTimeout(120_000);

const megan = demoUsers[0]!;
const adele = demoUsers[1]!;
const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';

/** Every CodeBlock's snippet of a card (cardText reads only the fallback's lines). */
function snippets(card: unknown): string[] {
  const out: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!node || typeof node !== 'object') return;
    const element = node as Record<string, unknown>;
    if (element.type === 'CodeBlock' && typeof element.codeSnippet === 'string') out.push(element.codeSnippet);
    Object.values(element).forEach(walk);
  };
  walk(card);
  return out;
}

describe('a request with a federated credential', () => {
  let tenant: RunningTenant;
  let registrar: TestRegistrar;
  let connector: FakeConnector;
  let teams: Teams;
  const channel = teamChannel(demoTenantId, 'App approvals');
  const alexChat = personalChat(alex, demoTenantId);

  beforeEach(async () => {
    tenant = await startTestTenant({ data: demoTenant().data, routes: allRoutes });
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
      .find((s) => s.kind === 'reply' && s.conversationId === chat.conversation.id);
    const card = (reply!.activity.attachments as Array<{ content: Record<string, unknown> }>)[0]!.content;
    return String(actionFor(card, Verb.requestSubmit).data.requestId);
  }

  /** The form as Alex fills it: a daemon that signs in from GitHub Actions of contoso/payments, environment production. */
  function formData(requestId: string, fields: Record<string, string> = {}): Record<string, string> {
    return {
      requestId,
      name: 'Payments deploy',
      purpose: 'Deploys the payments service from GitHub Actions.',
      audience: 'AzureADMyOrg',
      platform: 'none',
      permissions: permissionChoice('User.Read', 'Scope'),
      credential: 'federated',
      federatedWorkload: 'github',
      githubOrganization: 'contoso',
      githubRepository: 'payments',
      githubEntity: 'environment',
      githubEntityName: 'production',
      secretDays: '',
      ...fields,
    };
  }

  const submit = (data: Record<string, string>) =>
    teams.invoke(teams.cardAction(alexChat, alex, Verb.requestSubmit, data, `form-${data.requestId}`));

  async function stored(requestId: string): Promise<AppRequest> {
    const found = await registrar.container.store.requests.get('request', requestId);
    if (!found) throw new Error(`request ${requestId} is not stored`);
    return found.value;
  }

  const appOf = (requestId: string) =>
    Object.values(tenant.state().data.applications).find((a) => a.data.uniqueName === uniqueNameFor(requestId));

  function approvalPost() {
    return connector.sent
      .filter(
        (s) =>
          s.kind === 'send' &&
          s.conversationId === channel.conversation.id &&
          JSON.stringify(s.activity).includes(Verb.approvalRefresh),
      )
      .at(-1);
  }

  /** Writes Graph would refuse or that change the tenant; the form's refusals make none. */
  const writes = () =>
    Object.entries(tenant.counters.snapshot())
      .filter(([call]) => !call.startsWith('GET'))
      .map(([call]) => call);

  /** Registrar's own Graph adapter, to read the tenant (and, for the limit, to fill an app first). */
  const provisioner = () =>
    new GraphProvisioner({
      graph: new GraphCaller({
        connection: registrarConnection(tenant),
        baseDelayMs: 50,
        maxDelayMs: 500,
        stepTimeoutMs: 20_000,
      }),
      logger: createLogger({ level: 'silent', destination: new LogCapture() }),
    });

  test('when Alex asks for a GitHub Actions credential and Megan approves, then the tenant trusts that workload alone, and the delivery card has the workflow with the real ids and no secret', async () => {
    const requestId = await openForm(alex);
    const answer = await submit(formData(requestId));
    expect(answer.status).toBe(200);
    expect((await stored(requestId)).status).toBe('submitted');

    // The approvers see exactly which workload will act as the app, and that this is the low-risk credential.
    await registrar.runtime.idle();
    const post = approvalPost();
    expect(post).toBeDefined();
    const approvalCard = connector.cards({ conversationId: channel.conversation.id, kind: 'send' }).at(-1)!.card;
    const approvalText = cardText(approvalCard);
    expect(approvalText).toContain('GitHub Actions in contoso/payments, environment production');
    expect(approvalText).toContain(GITHUB_ISSUER);
    expect(approvalText).toContain('repo:contoso/payments:environment:production');
    expect(approvalText).toContain('Low risk');
    expect(approvalText).toMatch(/Credential: federated \(no secret\)\n · \nLow\nNo secret exists to leak/);
    expect(approvalText).not.toMatch(/client secret/i);

    await teams.invoke(teams.cardAction(channel, megan, Verb.approvalApprove, { requestId }, post!.id));
    await registrar.runtime.idle();

    // The tenant holds one app with this one federated credential, and no secret or certificate.
    const request = await stored(requestId);
    expect(request.status).toBe('delivered');
    const app = appOf(requestId)!;
    expect(app).toBeDefined();
    const appId = String(app.data.appId);
    const held = await provisioner().listFederatedCredentials(String(app.data.id));
    expect(held).toEqual([
      expect.objectContaining({
        name: request.provisioning.federatedCredential?.name,
        issuer: GITHUB_ISSUER,
        subject: 'repo:contoso/payments:environment:production',
        audiences: [FEDERATED_AUDIENCE],
      }),
    ]);
    expect(request.delivery).toMatchObject({
      kind: 'federated',
      credentialId: held[0]!.id,
      issuer: GITHUB_ISSUER,
      subject: 'repo:contoso/payments:environment:production',
    });
    expect(app.data.passwordCredentials).toEqual([]);
    expect(app.data.keyCredentials).toEqual([]);
    expect(tenant.counters.snapshot()['POST /applications/{id}/addPassword']).toBeUndefined();

    // Alex's delivery card: the ids, the credential, and the job that uses it; nothing to reveal.
    const delivery = connector
      .cards({ conversationId: alexChat.conversation.id, kind: 'send' })
      .map((c) => c.card)
      .find((card) => snippets(card).some((s) => s.includes('azure/login@v2')));
    expect(delivery).toBeDefined();
    expect(verbsOf(delivery)).not.toContain(Verb.deliveryReveal);
    const text = cardText(delivery);
    expect(text).toContain(appId);
    expect(text).toContain(demoTenantId);
    expect(text).toContain(request.provisioning.federatedCredential!.name);
    expect(text).toContain('No secret or key exists, so there is nothing to reveal or to store.');
    expect(text).not.toMatch(/client secret|AZURE_CLIENT_SECRET/i);
    const workflow = snippets(delivery).find((s) => s.includes('azure/login@v2'))!;
    expect(workflow).toContain('    environment: production');
    expect(workflow).toContain('      id-token: write');
    expect(workflow).toContain('      contents: read');
    expect(workflow).toContain(`          client-id: ${appId}`);
    expect(workflow).toContain(`          tenant-id: ${demoTenantId}`);
    expect(workflow).toContain('          allow-no-subscriptions: true');

    // Alex's status card says so too.
    expect(
      connector
        .cards({ conversationId: alexChat.conversation.id })
        .some((c) => cardText(c.card).includes('The federated credential and how to use it were delivered')),
    ).toBe(true);
  });

  test.each([
    [
      'a branch with a wildcard',
      { githubEntity: 'branch', githubEntityName: 'release/*' },
      /The branch name holds a wildcard\. Entra ID matches the subject exactly/,
    ],
    [
      'another issuer over http',
      {
        federatedWorkload: 'other',
        federatedIssuer: 'http://oidc.example.com',
        federatedSubject: 'deploy-bot',
      },
      /must start with https:\/\//,
    ],
    [
      'another issuer with a wildcard subject',
      { federatedWorkload: 'other', federatedIssuer: 'https://oidc.example.com', federatedSubject: 'deploy-*' },
      /matches the subject exactly and has no wildcards/,
    ],
  ])(
    'when the form names %s, then it comes back with a message that says why, and nothing is stored or written to Graph',
    async (_name, fields, message) => {
      const requestId = await openForm(alex);
      tenant.counters.reset();

      const answer = await submit(formData(requestId, fields));

      expect(verbsOf(answer.card)).toContain(Verb.requestSubmit);
      expect(cardText(answer.card)).toMatch(message);
      expect(await registrar.container.store.requests.get('request', requestId)).toBeUndefined();
      expect(writes()).toEqual([]);
      expect(appOf(requestId)).toBeUndefined();
    },
  );

  test(`when the app already holds ${MAX_FEDERATED_CREDENTIALS} federated credentials, then the ${MAX_FEDERATED_CREDENTIALS + 1}st is refused with what an owner can do, and none is added`, async () => {
    const requestId = await openForm(alex);
    await submit(formData(requestId));
    await registrar.runtime.idle();

    // The request's app exists already, with its marker (as after an earlier run that stopped), and holds Entra's maximum.
    const graph = provisioner();
    const context = { requestId };
    const made = await graph.upsertApplication(toAppSpec(await stored(requestId)), context);
    for (let i = 1; i <= MAX_FEDERATED_CREDENTIALS; i += 1)
      await graph.addFederatedCredential(
        made.applicationObjectId,
        {
          name: `staging-${i}`,
          issuer: GITHUB_ISSUER,
          subject: `repo:contoso/payments:environment:staging-${i}`,
          audiences: [FEDERATED_AUDIENCE],
        },
        context,
      );

    await teams.invoke(teams.cardAction(channel, megan, Verb.approvalApprove, { requestId }, approvalPost()!.id));
    await registrar.runtime.idle();

    const request = await stored(requestId);
    expect(request.status).toBe('failed');
    const said =
      /already has 20 federated credentials, the most Microsoft Entra ID allows \(20\)\. An owner needs to remove one/;
    expect(request.provisioning.lastError?.message ?? '').toMatch(said);
    const held = await graph.listFederatedCredentials(made.applicationObjectId);
    expect(held).toHaveLength(MAX_FEDERATED_CREDENTIALS);
    expect(held.map((c) => c.subject)).not.toContain('repo:contoso/payments:environment:production');
    // The approvers' card says why, with Retry for once an owner has made room.
    const updated = connector
      .cards({ conversationId: channel.conversation.id, kind: 'update' })
      .map((c) => cardText(c.card))
      .at(-1);
    expect(updated).toMatch(said);
  });
});
