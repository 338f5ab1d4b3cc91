import channelSetTemplate from '../../adaptiveCards/channel-set.json';
import helpTemplate from '../../adaptiveCards/help.json';
import noticeTemplate from '../../adaptiveCards/notice.json';
import welcomePersonalTemplate from '../../adaptiveCards/welcome-personal.json';
import welcomeTeamTemplate from '../../adaptiveCards/welcome-team.json';
import { type Audience, type CommandInfo, commands as registrarCommands } from '../domain/commands';
import type { ChannelPurpose } from '../domain/conversation';
import type { AdaptiveCard } from './adaptive-card';
import { deepFreeze, expandTemplate, formatUtc, safeText, TextLimit } from './render';
import { Verb } from './verbs';

/*
 * One renderer per template. Each builds a flat view model of plain strings and booleans: text from people or
 * the directory goes through safeText here, and expandTemplate neutralises the rest (see render.ts).
 */

const audienceLabel: Record<Audience, string> = {
  everyone: 'For everyone',
  approvers: 'For approvers',
  operators: 'For operators',
};

const whereLabel: Record<CommandInfo['where'], string> = {
  personal: 'in personal chat',
  channel: 'in a channel, mentioning me',
  anywhere: 'in personal chat or a channel',
};

export function renderHelp(input: { commands: readonly CommandInfo[] }): AdaptiveCard {
  const commands = input.commands.map((c) => ({
    usage: safeText(c.usage, { max: TextLimit.title }),
    aliases: c.aliases.length > 0 ? safeText(c.aliases.join(', '), { max: TextLimit.title }) : undefined,
    summary: safeText(c.summary, { max: TextLimit.paragraph }),
    audience: audienceLabel[c.audience],
    where: whereLabel[c.where],
    comingSoon: !c.available,
  }));
  return expandTemplate(helpTemplate, { commands, anyComingSoon: commands.some((c) => c.comingSoon), verb: Verb });
}

/**
 * A card whose content never changes in a process, rendered on its first use and frozen: every later call returns
 * the same object, so a turn that sends it does no templating work, and no turn can change what the next one sends.
 */
function renderedOnce(render: () => AdaptiveCard): () => AdaptiveCard {
  let card: AdaptiveCard | undefined;
  return () => (card ??= deepFreeze(render()));
}

/** The help card for Registrar's commands: what `help`, any unknown text and a `help.show` click answer with. */
export const helpCard = renderedOnce(() => renderHelp({ commands: registrarCommands }));

/** The answer to a click on a button whose verb Registrar no longer has. */
export const unknownActionCard = renderedOnce(() =>
  renderNotice({
    tone: 'info',
    title: 'This button no longer works',
    text: 'Registrar no longer knows this action. Type "help" to see what it can do.',
  }),
);

/** `name` is the person greeted in personal scope, the team in team scope. */
export function renderWelcome(input: { scope: 'personal' | 'team'; name?: string }): AdaptiveCard {
  const name = safeText(input.name, { max: input.scope === 'personal' ? TextLimit.personName : TextLimit.placeName });
  if (input.scope === 'personal') {
    return expandTemplate(welcomePersonalTemplate, { greeting: name ? `Hello, ${name}` : 'Hello', verb: Verb });
  }
  return expandTemplate(welcomeTeamTemplate, {
    greeting: name ? `Registrar has joined ${name}` : 'Registrar has joined this team',
    verb: Verb,
  });
}

const purposeText: Record<ChannelPurpose, { headline: string; explanation: string }> = {
  approvals: {
    headline: 'This channel now receives approval requests',
    explanation: 'Each new app registration request is posted here, and approvers decide on it here.',
  },
  reminders: {
    headline: 'This channel now receives credential-expiry reminders',
    explanation: 'Reminders about app secrets and certificates that are about to expire are posted here.',
  },
};

export function renderChannelSet(input: {
  purpose: ChannelPurpose;
  channelName?: string;
  teamName?: string;
  setBy: string;
  setAt: Date | string;
  replaced?: { channelName?: string; teamName?: string };
}): AdaptiveCard {
  return expandTemplate(channelSetTemplate, {
    ...purposeText[input.purpose],
    channel: place(input.channelName, input.teamName),
    setBy: safeText(input.setBy, { max: TextLimit.personName }) || 'someone',
    setAt: formatUtc(input.setAt),
    replaced: input.replaced
      ? (place(input.replaced.channelName, input.replaced.teamName) ?? 'another channel')
      : undefined,
  });
}

/** "General, in Contoso Apps"; undefined when neither name is known. */
function place(channelName: string | undefined, teamName: string | undefined): string | undefined {
  const channel = safeText(channelName, { max: TextLimit.placeName });
  const team = safeText(teamName, { max: TextLimit.placeName });
  if (channel && team) return `${channel}, in ${team}`;
  if (channel) return channel;
  if (team) return `a channel in ${team}`;
  return undefined;
}

/**
 * The tone is the container's style; on the coloured ones only Default text keeps WCAG AA contrast in Teams' light
 * and dark themes (Warning on warning is about 1.2:1, Attention on attention under 3.6:1).
 */
const toneStyle = {
  info: { style: 'emphasis', color: 'Accent' },
  refusal: { style: 'warning', color: 'Default' },
  error: { style: 'attention', color: 'Default' },
} as const;

export function renderNotice(input: {
  tone: 'info' | 'refusal' | 'error';
  title: string;
  text: string;
  reference?: string;
}): AdaptiveCard {
  return expandTemplate(noticeTemplate, {
    ...(toneStyle[input.tone] ?? toneStyle.error),
    title: safeText(input.title, { max: TextLimit.title }),
    text: safeText(input.text, { max: TextLimit.paragraph, multiline: true }),
    reference: safeText(input.reference, { max: TextLimit.reference }) || undefined,
  });
}
