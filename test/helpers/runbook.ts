/**
 * A runbook as a person does it in Teams: the bot, the local tenant and the connector started; a request form
 * opened and submitted in a personal chat with real Bot Framework activities; the approvers approve in the
 * approvals channel until the request needs no more; provisioning runs; the requester reveals the secret. What the
 * tenant then holds for the request is read field by field by the runbook tests (test/integration/runbooks/).
 */
import { uniqueNameFor } from '../../src/domain/app-spec';
import type { AppRequest } from '../../src/domain/request';
import { alex, demoTenantId, demoUsers } from '../../src/local/demo-identities';
import graphPermissions from '../../src/local/tenant/graph-permissions.json';
import { allRoutes } from '../../src/local/tenant/routes';
import { demoTenant } from '../../src/local/tenant/seed';
import type { RunningTenant } from '../../src/local/tenant/server';
import type { Json, TenantData } from '../../src/local/tenant/state';
import { Verb } from '../../src/cards/verbs';
import { actionFor } from './cards';
import { FakeConnector } from './connector';
import { type TestRegistrar, startRegistrar } from './registrar';
import { graphClientFor, registrarEnv, startTestTenant } from './tenant';
import { Teams, cardText, personalChat, teamChannel, type TeamsUser } from './teams';

export const megan = demoUsers[0]!;
export const adele = demoUsers[1]!;

/** The value the form's permission choices carry: Type:id (a role and a scope may share an id). */
export function permissionChoice(value: string, type: 'Role' | 'Scope'): string {
  const found = (graphPermissions as Array<{ id: string; value: string; type: string }>).find(
    (p) => p.value === value && p.type === type,
  );
  if (!found) throw new Error(`no ${type} ${value} in the catalog`);
  return `${type}:${found.id}`;
}

export function permissionId(value: string, type: 'Role' | 'Scope'): string {
  return permissionChoice(value, type).split(':')[1]!;
}

export interface Provisioned {
  requestId: string;
  request: AppRequest;
  /** The application, service principal, app role assignments and delegated grants of this request. */
  app: Json;
  servicePrincipal: Json;
  assignments: Json[];
  grants: Json[];
  /** The delivery card as first sent to the requester. */
  deliveryCard: Record<string, unknown>;
  deliveryActivityId: string;
}

export class Runbook {
  tenant!: RunningTenant;
  registrar!: TestRegistrar;
  connector!: FakeConnector;
  teams!: Teams;
  readonly channel = teamChannel(demoTenantId, 'App approvals');
  readonly requester: TeamsUser = alex;

  /** Starts the bot against a local tenant holding `data` (the demo tenant unless given), with `env` added. */
  async start(env: Record<string, string> = {}, data: TenantData = demoTenant().data): Promise<void> {
    this.tenant = await startTestTenant({ data, routes: allRoutes });
    this.connector = await new FakeConnector().start();
    this.connector.teamMembers.set(
      this.channel.team!.id,
      [alex, megan, adele].map((u) => ({ id: u.id, name: u.name, aadObjectId: u.aadObjectId })),
    );
    this.registrar = await startRegistrar({
      env: {
        ADMIN_IDS: alex.aadObjectId,
        APPROVER_IDS: `${megan.aadObjectId},${adele.aadObjectId}`,
        ...registrarEnv(this.tenant),
        ...env,
      },
      overrides: {
        graphTiming: { baseDelayMs: 50, maxDelayMs: 500, stepTimeoutMs: 20_000 },
        secretCheckBudgetMs: 2000,
      },
    });
    this.teams = new Teams(this.registrar.url, this.connector);
    await this.teams.post(this.teams.message(this.channel, alex, 'setup approvals', { mentionBot: true }));
  }

  async stop(): Promise<void> {
    await this.registrar?.stop();
    await this.connector?.stop();
    await this.tenant?.stop();
  }

  private get chat() {
    return personalChat(this.requester, demoTenantId);
  }

  /** Opens the form with `request` and returns it with its request id. */
  async openForm(): Promise<{ card: Record<string, unknown>; requestId: string }> {
    const before = this.connector.sent.length;
    await this.teams.post(this.teams.message(this.chat, this.requester, 'request'));
    const reply = this.connector.sent
      .slice(before)
      // teams-ai sends a typing activity when a turn takes over a second (a loaded machine): not the form.
      .find(
        (s) => s.kind === 'reply' && s.conversationId === this.chat.conversation.id && s.activity.type !== 'typing',
      );
    if (!reply) throw new Error('the bot sent no form');
    const card = (reply.activity.attachments as Array<{ content: Record<string, unknown> }>)[0]!.content;
    return { card, requestId: String(actionFor(card, Verb.requestSubmit).data.requestId) };
  }

  submit(requestId: string, fields: Record<string, string>) {
    return this.teams.invoke(
      this.teams.cardAction(
        this.chat,
        this.requester,
        Verb.requestSubmit,
        { requestId, ...fields },
        `form-${requestId}`,
      ),
    );
  }

  async stored(requestId: string): Promise<AppRequest> {
    const found = await this.registrar.container.store.requests.get('request', requestId);
    if (!found) throw new Error(`request ${requestId} is not stored`);
    return found.value;
  }

  /** The approval card as an approver sees it (the Universal Actions refresh), then Approve, by each approver in turn until approved. */
  async approve(requestId: string): Promise<{ approvalCard: Record<string, unknown>; approvers: number }> {
    await this.registrar.runtime.idle();
    const post = this.connector.sent.find(
      (s) =>
        s.kind === 'send' &&
        s.conversationId === this.channel.conversation.id &&
        JSON.stringify(s.activity).includes(requestId),
    );
    if (!post) throw new Error(`no approval card for ${requestId} in the approvals channel`);
    let approvalCard: Record<string, unknown> | undefined;
    let approvers = 0;
    for (const approver of [megan, adele]) {
      if ((await this.stored(requestId)).status !== 'submitted') break;
      const view = await this.teams.invoke(
        this.teams.cardAction(this.channel, approver, Verb.approvalRefresh, { requestId }, post.id),
      );
      approvalCard ??= view.card;
      await this.teams.invoke(
        this.teams.cardAction(this.channel, approver, Verb.approvalApprove, { requestId }, post.id),
      );
      approvers++;
    }
    await this.registrar.runtime.idle();
    return { approvalCard: approvalCard!, approvers };
  }

  /** The data of the directory with this tenant id (another directory the local tenant serves), else the Teams tenant's. */
  data(tenantId?: string): TenantData {
    if (tenantId === undefined) return this.tenant.state().data;
    const directory = this.tenant.directory(tenantId);
    if (!directory) throw new Error(`the local tenant serves no directory ${tenantId}`);
    return directory.data;
  }

  /**
   * What the directory (the Teams tenant's, or the one with `tenantId`) holds for the request once it is
   * provisioned, and the delivery card.
   */
  async provisioned(requestId: string, tenantId?: string): Promise<Provisioned> {
    await this.registrar.runtime.idle();
    const request = await this.stored(requestId);
    if (request.status !== 'provisioned')
      throw new Error(`request ${requestId} is ${request.status}: ${request.provisioning.lastError?.message ?? ''}`);
    const data = this.data(tenantId);
    const apps = Object.values(data.applications).filter((a) => a.data.uniqueName === uniqueNameFor(requestId));
    if (apps.length !== 1) throw new Error(`${apps.length} applications for ${requestId}`);
    const app = apps[0]!.data;
    const sps = Object.values(data.servicePrincipals).filter((sp) => sp.data.appId === app.appId);
    if (sps.length !== 1) throw new Error(`${sps.length} service principals for ${requestId}`);
    const servicePrincipal = sps[0]!.data;
    const delivery = this.connector.sent.find(
      (s) =>
        s.kind === 'send' &&
        s.conversationId === this.chat.conversation.id &&
        JSON.stringify(s.activity).includes(Verb.deliveryReveal),
    );
    if (!delivery) throw new Error(`no delivery card for ${requestId}`);
    return {
      requestId,
      request,
      app,
      servicePrincipal,
      assignments: Object.values(data.appRoleAssignments)
        .map((a) => a.data)
        .filter((a) => a.principalId === servicePrincipal.id),
      grants: Object.values(data.oauth2PermissionGrants)
        .map((g) => g.data)
        .filter((g) => g.clientId === servicePrincipal.id),
      deliveryCard: (delivery.activity.attachments as Array<{ content: Record<string, unknown> }>)[0]!.content,
      deliveryActivityId: delivery.id,
    };
  }

  /** Reveal: the secret from the card, found by the hint of the app's one password credential. */
  async reveal(
    done: Provisioned,
    tenantId?: string,
  ): Promise<{ secret: string; card: Record<string, unknown>; credential: Json }> {
    const revealed = await this.teams.invoke(
      this.teams.cardAction(
        this.chat,
        this.requester,
        Verb.deliveryReveal,
        { requestId: done.requestId },
        done.deliveryActivityId,
      ),
    );
    const app = Object.values(this.data(tenantId).applications).find(
      (a) => a.data.uniqueName === uniqueNameFor(done.requestId),
    )!.data;
    const credentials = app.passwordCredentials as Json[];
    if (credentials.length !== 1) throw new Error(`${credentials.length} password credentials`);
    const credential = credentials[0]!;
    const secret = cardText(revealed.card)
      .split('\n')
      .find((line) => line.startsWith(String(credential.hint)) && line.length >= 30);
    if (!secret) throw new Error(`no secret starting with ${String(credential.hint)} on the card`);
    return { secret, card: revealed.card!, credential };
  }

  /** A client credentials token from the local tenant's token endpoint, with its claims. */
  async token(appId: string, secret: string): Promise<{ token: string; claims: Record<string, unknown> }> {
    const token = await graphClientFor(this.tenant, appId, secret).credential.getToken(`${this.tenant.url}/.default`);
    if (!token?.token) throw new Error('no token');
    const payload = token.token.split('.')[1]!;
    return { token: token.token, claims: JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) };
  }
}
