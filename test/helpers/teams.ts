/**
 * Acts as Microsoft Teams towards the bot: builds real Bot Framework activities (message, conversationUpdate,
 * installationUpdate, invoke adaptiveCard/action) and POSTs them to the bot's /api/messages, with the local
 * connector as their serviceUrl. Replies and proactive messages land in that connector.
 */
import { randomUUID } from 'node:crypto';
import { FakeConnector } from './connector';

export interface TeamsUser {
  id: string;
  name: string;
  aadObjectId?: string;
}

export interface TeamsPlace {
  conversation: {
    id: string;
    conversationType: 'personal' | 'channel' | 'groupChat';
    tenantId: string;
    isGroup?: boolean;
    name?: string;
  };
  team?: { id: string; name: string; aadGroupId?: string };
  channel?: { id: string; name?: string };
}

export interface PostResult {
  status: number;
  body: unknown;
}

export interface InvokeResult extends PostResult {
  /** The card of an application/vnd.microsoft.card.adaptive invoke response. */
  card?: Record<string, unknown>;
  /** The text of an application/vnd.microsoft.activity.message invoke response. */
  message?: string;
}

export const bot = { id: '28:registrar-bot', name: 'Registrar' };

export function personalChat(user: TeamsUser, tenantId: string): TeamsPlace {
  return { conversation: { id: `a:personal-${user.id}`, conversationType: 'personal', tenantId } };
}

export function teamChannel(
  tenantId: string,
  channelName = 'App approvals',
  channelId = `19:${randomUUID()}@thread.tacv2`,
): TeamsPlace {
  const teamId = '19:team-general@thread.tacv2';
  return {
    conversation: { id: channelId, conversationType: 'channel', tenantId, isGroup: true },
    team: { id: teamId, name: 'IT Operations', aadGroupId: 'b7c2a1d0-0000-4000-8000-000000000031' },
    channel: { id: channelId, name: channelName },
  };
}

export class Teams {
  constructor(
    readonly botUrl: string,
    readonly connector: FakeConnector,
    /** Returns the Authorization header for an activity; none when the bot runs without authentication. */
    private readonly authorize: (activity: Record<string, unknown>) => string | undefined = () => undefined,
  ) {}

  /**
   * Like Teams, activities name the team and channel by id only; their names are known to the connector,
   * which the bot asks (GET /v3/teams/...).
   */
  activity(place: TeamsPlace, from: TeamsUser, fields: Record<string, unknown>): Record<string, unknown> {
    const channelData: Record<string, unknown> = { tenant: { id: place.conversation.tenantId } };
    if (place.team) {
      channelData.team = { id: place.team.id, aadGroupId: place.team.aadGroupId };
      const known = this.connector.teams.get(place.team.id) ?? {
        id: place.team.id,
        name: place.team.name,
        aadGroupId: place.team.aadGroupId,
        channels: [{ id: place.team.id }],
      };
      if (place.channel && !known.channels.some((c) => c.id === place.channel!.id))
        known.channels.push({ id: place.channel.id, name: place.channel.name });
      this.connector.teams.set(place.team.id, known);
    }
    if (place.channel) channelData.channel = { id: place.channel.id };
    return {
      id: randomUUID(),
      timestamp: new Date().toISOString(),
      channelId: 'msteams',
      serviceUrl: this.connector.url,
      from: { id: from.id, name: from.name, aadObjectId: from.aadObjectId },
      recipient: bot,
      conversation: place.conversation,
      channelData,
      locale: 'en-US',
      ...fields,
    };
  }

  message(
    place: TeamsPlace,
    from: TeamsUser,
    text: string,
    options: { mentionBot?: boolean } = {},
  ): Record<string, unknown> {
    if (!options.mentionBot) return this.activity(place, from, { type: 'message', text, textFormat: 'plain' });
    const mention = `<at>${bot.name}</at>`;
    return this.activity(place, from, {
      type: 'message',
      text: `${mention} ${text}`,
      textFormat: 'plain',
      entities: [{ type: 'mention', text: mention, mentioned: bot }],
    });
  }

  cardAction(
    place: TeamsPlace,
    from: TeamsUser,
    verb: string,
    data: Record<string, unknown> = {},
    replyToId: string = randomUUID(),
  ): Record<string, unknown> {
    return this.activity(place, from, {
      type: 'invoke',
      name: 'adaptiveCard/action',
      replyToId,
      value: { action: { type: 'Action.Execute', verb, data }, trigger: 'manual' },
    });
  }

  installationUpdate(place: TeamsPlace, from: TeamsUser, action: 'add' | 'remove'): Record<string, unknown> {
    return this.activity(place, from, { type: 'installationUpdate', action });
  }

  botAdded(place: TeamsPlace, from: TeamsUser): Record<string, unknown> {
    return this.activity(place, from, { type: 'conversationUpdate', membersAdded: [{ id: bot.id }] });
  }

  async post(activity: Record<string, unknown>, authorization = this.authorize(activity)): Promise<PostResult> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (authorization) headers.authorization = authorization;
    const response = await fetch(`${this.botUrl}/api/messages`, {
      method: 'POST',
      headers,
      body: JSON.stringify(activity),
    });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, body };
  }

  async invoke(activity: Record<string, unknown>): Promise<InvokeResult> {
    const result = await this.post(activity);
    const body = result.body as { type?: string; value?: unknown } | undefined;
    return {
      ...result,
      card:
        body?.type === 'application/vnd.microsoft.card.adaptive' ? (body.value as Record<string, unknown>) : undefined,
      message: body?.type === 'application/vnd.microsoft.activity.message' ? String(body.value) : undefined,
    };
  }
}

/** All the text a card shows (TextBlock, TextRun, FactSet, action titles), for assertions on what a person reads. */
export function cardText(card: unknown): string {
  const out: string[] = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!node || typeof node !== 'object') return;
    const n = node as Record<string, unknown>;
    for (const key of ['text', 'title', 'value', 'placeholder', 'label'])
      if (typeof n[key] === 'string') out.push(n[key] as string);
    for (const value of Object.values(n)) if (typeof value === 'object') walk(value);
  };
  walk(card);
  return out.join('\n');
}
