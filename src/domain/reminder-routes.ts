/**
 * Where an expiry reminder goes: the routing rules an operator gives a channel with `setup reminders for <rule>`,
 * and which channels a credential's reminder reaches. Pure; the store keeps the rules, the scan applies them.
 *
 * A rule names the apps a team owns in one of three ways:
 * - `tag:<tag>`: the app registration carries that tag (Entra's `tags` property,
 *   https://learn.microsoft.com/graph/api/resources/application), compared without regard to case;
 * - `prefix:<name prefix>`: the app's display name starts with it, without regard to case;
 * - `group:<owners group>`: one of the app's owners is a member, directly or through nested groups, of that
 *   Entra group, named by object id or display name (a name is looked up once, when the rule is set).
 *
 * A credential goes to every channel with a rule that matches it: each team that owns an app hears about it,
 * none is left out because another team's rule came first. One that no rule matches goes to the default
 * reminders channel.
 */
import { isGuid } from './guid';

export type ReminderRule =
  | { kind: 'tag'; tag: string }
  | { kind: 'prefix'; prefix: string }
  | { kind: 'group'; groupId: string; groupName?: string }
  /** A group named by display name, before the directory has turned the name into an object id. */
  | { kind: 'groupName'; groupName: string };

export type RuleParse = { ok: true; rule: ReminderRule } | { ok: false; message: string };

/** Entra allows tags of up to 256 characters and display names of up to 256 (https://learn.microsoft.com/graph/api/resources/application). */
const MAX_RULE_VALUE = 256;

export const ruleExamples =
  '`setup reminders for tag:payments`, `setup reminders for prefix:fin-` or `setup reminders for group:Payments owners`';

const usage = `Name the apps this channel should hear about, for example ${ruleExamples}.`;

/** A rule as an operator types it; what is wrong with one is said in words that show how to write it. */
export function parseReminderRule(text: string): RuleParse {
  const trimmed = text.trim();
  const colon = trimmed.indexOf(':');
  if (!trimmed || colon === -1) {
    return { ok: false, message: `"${trimmed || '(nothing)'}" is not a reminder rule. ${usage}` };
  }
  const kind = trimmed.slice(0, colon).trim().toLowerCase();
  const value = trimmed.slice(colon + 1).trim();
  if (kind !== 'tag' && kind !== 'prefix' && kind !== 'group') {
    return {
      ok: false,
      message: `"${trimmed.slice(0, colon).trim()}" is not a kind of rule Registrar knows: use tag:, prefix: or group:. ${usage}`,
    };
  }
  if (!value) return { ok: false, message: `Say which ${kindWords[kind]} after "${kind}:". ${usage}` };
  if (value.length > MAX_RULE_VALUE) {
    return {
      ok: false,
      message: `That ${kindWords[kind]} is longer than Entra allows (${MAX_RULE_VALUE} characters).`,
    };
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) {
    return { ok: false, message: `That ${kindWords[kind]} holds control characters; type it as it reads in Entra.` };
  }
  if (kind === 'tag') return { ok: true, rule: { kind, tag: value } };
  if (kind === 'prefix') return { ok: true, rule: { kind, prefix: value } };
  return isGuid(value)
    ? { ok: true, rule: { kind: 'group', groupId: value.toLowerCase() } }
    : { ok: true, rule: { kind: 'groupName', groupName: value } };
}

const kindWords = { tag: 'tag', prefix: 'name prefix', group: 'owners group (its name or object id)' } as const;

/**
 * One rule's identity, the same however it was typed: `tag:payments`, `prefix:fin-`, `group:<object id>`. Two rules
 * with one key are one rule (setting it again in another channel adds that channel; removing it names it so).
 */
export function ruleKey(rule: ReminderRule): string {
  switch (rule.kind) {
    case 'tag':
      return `tag:${rule.tag.toLowerCase()}`;
    case 'prefix':
      return `prefix:${rule.prefix.toLowerCase()}`;
    case 'group':
      return `group:${rule.groupId.toLowerCase()}`;
    case 'groupName':
      return `group-name:${rule.groupName.toLowerCase()}`;
  }
}

/** The rule in words for cards: "apps tagged payments", "apps whose name starts with fin-", "apps owned by Payments owners". */
export function describeRule(rule: ReminderRule): string {
  switch (rule.kind) {
    case 'tag':
      return `apps tagged "${rule.tag}"`;
    case 'prefix':
      return `apps whose name starts with "${rule.prefix}"`;
    case 'group':
      return `apps with an owner in the group ${rule.groupName ? `"${rule.groupName}"` : rule.groupId}`;
    case 'groupName':
      return `apps with an owner in the group "${rule.groupName}"`;
  }
}

/** The rule as an operator would type it again: `tag:payments`, `prefix:fin-`, `group:Payments owners`. */
export function ruleText(rule: ReminderRule): string {
  switch (rule.kind) {
    case 'tag':
      return `tag:${rule.tag}`;
    case 'prefix':
      return `prefix:${rule.prefix}`;
    case 'group':
      return `group:${rule.groupName ?? rule.groupId}`;
    case 'groupName':
      return `group:${rule.groupName}`;
  }
}

/** What a rule looks at: the app's display name and tags, and the groups (object ids) its owners belong to. */
export interface RoutedApp {
  appName: string;
  tags?: readonly string[];
  /** Object ids, lower case, of the rules' groups that have one of the app's owners as a member. */
  ownerGroups?: ReadonlySet<string>;
}

export function ruleMatches(rule: ReminderRule, app: RoutedApp): boolean {
  switch (rule.kind) {
    case 'tag': {
      const wanted = rule.tag.toLowerCase();
      return (app.tags ?? []).some((t) => typeof t === 'string' && t.toLowerCase() === wanted);
    }
    case 'prefix':
      return app.appName.toLowerCase().startsWith(rule.prefix.toLowerCase());
    case 'group':
      return app.ownerGroups?.has(rule.groupId.toLowerCase()) ?? false;
    case 'groupName':
      // Never resolved to a group: it names no owners.
      return false;
  }
}

/** A rule and the channel it sends reminders to (by conversation id). */
export interface ReminderRoute {
  rule: ReminderRule;
  channelId: string;
}

/** The channel of the default reminders channel in routeOf's answer, and in the ledger. */
export const DEFAULT_ROUTE = 'default';

/**
 * The channels a credential's reminder goes to: every channel one of whose rules matches, each once, in the order
 * of the routes; DEFAULT_ROUTE when none does.
 */
export function routeOf(routes: readonly ReminderRoute[], app: RoutedApp): string[] {
  const channels: string[] = [];
  for (const route of routes) {
    if (!channels.includes(route.channelId) && ruleMatches(route.rule, app)) channels.push(route.channelId);
  }
  return channels.length > 0 ? channels : [DEFAULT_ROUTE];
}

/** The groups the routes name (object ids, lower case): whose membership the scan reads for the apps' owners. */
export function groupsOf(routes: readonly ReminderRoute[]): string[] {
  const ids = new Set<string>();
  for (const { rule } of routes) if (rule.kind === 'group') ids.add(rule.groupId.toLowerCase());
  return [...ids];
}
