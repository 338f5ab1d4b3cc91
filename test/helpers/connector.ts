/**
 * A local Bot Connector: the serviceUrl of the test activities. It answers the /v3/conversations calls the
 * bot makes as the Bot Connector does, and records each one, so tests assert on what the bot really sent.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type SentKind = 'create-conversation' | 'send' | 'reply' | 'update' | 'delete';

export interface SentActivity {
  kind: SentKind;
  conversationId: string;
  /** The activity replied to, updated or deleted. */
  activityId?: string;
  /** The id the connector gave the new activity. */
  id: string;
  authorization?: string;
  activity: Record<string, unknown>;
}

export interface ConnectorOptions {
  /** When set, a call without a bearer token this function accepts is answered 401, as the real connector does. */
  acceptToken?: (token: string) => boolean;
}

/** How long the connector takes to answer, to hold a turn in flight. */
export interface ConnectorLatency {
  delayMs: number;
}

/** A team as the connector describes it: GET /v3/teams/{id} and /v3/teams/{id}/conversations. */
export interface ConnectorTeam {
  id: string;
  name: string;
  aadGroupId?: string;
  /** The General channel's id is the team id, and Teams returns it without a name. */
  channels: Array<{ id: string; name?: string }>;
}

export class FakeConnector {
  readonly sent: SentActivity[] = [];
  readonly teams = new Map<string, ConnectorTeam>();
  /** Conversation members by user id, for GET /v3/conversations/{id}/members/{userId}. */
  readonly members = new Map<string, { id: string; name: string; aadObjectId?: string }>();
  /** Members of a team by team id, for GET /v3/conversations/{teamId}/pagedmembers. */
  readonly teamMembers = new Map<string, Array<{ id: string; name: string; aadObjectId?: string }>>();
  readonly latency: ConnectorLatency = { delayMs: 0 };
  private server?: http.Server;
  private waiters: Array<() => void> = [];
  private counter = 0;

  constructor(private readonly options: ConnectorOptions = {}) {}

  get url(): string {
    if (!this.server) throw new Error('connector not started');
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Adaptive Cards in what was sent, in order, with the conversation they went to. */
  cards(
    filter: { conversationId?: string; kind?: SentKind } = {},
  ): Array<{ conversationId: string; kind: SentKind; card: Record<string, unknown> }> {
    return this.sent
      .filter(
        (s) =>
          (!filter.conversationId || s.conversationId === filter.conversationId) &&
          (!filter.kind || s.kind === filter.kind),
      )
      .flatMap((s) =>
        ((s.activity.attachments as Array<{ contentType: string; content: Record<string, unknown> }> | undefined) ?? [])
          .filter((a) => a.contentType === 'application/vnd.microsoft.card.adaptive')
          .map((a) => ({ conversationId: s.conversationId, kind: s.kind, card: a.content })),
      );
  }

  /** Resolves when `predicate` holds for what was sent, or rejects after `timeoutMs`. */
  async waitFor(predicate: (sent: readonly SentActivity[]) => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.sent)) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `connector: condition not met within ${timeoutMs} ms; sent: ${JSON.stringify(this.sent.map((s) => s.kind))}`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (this.latency.delayMs > 0) await new Promise((r) => setTimeout(r, this.latency.delayMs));
    const text = Buffer.concat(chunks).toString('utf8');
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const authorization = req.headers.authorization;
    if (this.options.acceptToken) {
      const token = authorization?.startsWith('Bearer ') ? authorization.slice(7) : undefined;
      if (!token || !this.options.acceptToken(token)) {
        json(401, { message: 'Authorization has been denied for this request.' });
        return;
      }
    }
    const url = new URL(req.url ?? '/', 'http://connector');
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    let body: Record<string, unknown> = {};
    try {
      body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      json(400, { error: { code: 'BadSyntax', message: 'Invalid JSON' } });
      return;
    }
    const id = `activity-${++this.counter}`;
    const record = (kind: SentKind, conversationId: string, activityId?: string) => {
      this.sent.push({ kind, conversationId, activityId, id, authorization, activity: body });
      for (const wake of this.waiters.splice(0)) wake();
    };

    // /v3/teams/{teamId}[/conversations]
    if (parts[0] === 'v3' && parts[1] === 'teams' && req.method === 'GET') {
      const team = this.teams.get(parts[2] ?? '');
      if (!team) json(404, { error: { code: 'NotFound', message: 'Team not found' } });
      else if (parts[3] === 'conversations') json(200, { conversations: team.channels });
      else json(200, { id: team.id, name: team.name, aadGroupId: team.aadGroupId });
      return;
    }
    // /v3/conversations[/{conversationId}/activities[/{activityId}]]
    if (parts[0] !== 'v3' || parts[1] !== 'conversations') {
      json(404, { error: { code: 'NotFound', message: `no route ${req.method} ${url.pathname}` } });
      return;
    }
    const conversationId = parts[2];
    const activityId = parts[4];
    if (req.method === 'GET' && parts[3] === 'pagedmembers') {
      const members = this.teamMembers.get(conversationId ?? '');
      if (members) json(200, { members });
      else json(404, { error: { code: 'ConversationNotFound', message: 'Conversation not found.' } });
      return;
    }
    if (req.method === 'GET' && parts[3] === 'members' && parts[4]) {
      const member = this.members.get(parts[4]);
      if (member) json(200, member);
      else
        json(404, {
          error: { code: 'MemberNotFoundInConversation', message: 'The member is not in the conversation.' },
        });
      return;
    }
    if (req.method === 'POST' && !conversationId) {
      const created = `a:${randomUUID()}`;
      record('create-conversation', created);
      json(201, { id: created, activityId: body.activity ? id : undefined, serviceUrl: this.url });
      return;
    }
    if (!conversationId || parts[3] !== 'activities') {
      json(404, { error: { code: 'NotFound', message: `no route ${req.method} ${url.pathname}` } });
      return;
    }
    if (req.method === 'POST') {
      record(activityId ? 'reply' : 'send', conversationId, activityId);
      json(201, { id });
    } else if (req.method === 'PUT' && activityId) {
      record('update', conversationId, activityId);
      json(200, { id: activityId });
    } else if (req.method === 'DELETE' && activityId) {
      record('delete', conversationId, activityId);
      res.writeHead(200).end();
    } else {
      json(405, { error: { code: 'MethodNotAllowed', message: req.method } });
    }
  }
}
