/**
 * Registrar's chat commands, in the order the help card lists them. `available` is false for those not
 * built yet: the help card says so rather than pretending.
 */
export type Audience = 'everyone' | 'approvers' | 'operators';

export interface CommandInfo {
  /** What a person types, with placeholders in angle brackets. */
  usage: string;
  aliases: readonly string[];
  summary: string;
  audience: Audience;
  /** Where it works. */
  where: 'personal' | 'channel' | 'anywhere';
  available: boolean;
}

export const commands: readonly CommandInfo[] = [
  {
    usage: 'request',
    aliases: ['new app'],
    summary: 'Ask for a new app registration.',
    audience: 'everyone',
    where: 'personal',
    available: true,
  },
  {
    usage: 'mine',
    aliases: [],
    summary: 'List my requests and my apps, with when their credentials expire.',
    audience: 'everyone',
    where: 'personal',
    available: true,
  },
  {
    usage: 'status <id>',
    aliases: [],
    summary: 'Show one request and its audit trail.',
    audience: 'everyone',
    where: 'anywhere',
    available: true,
  },
  {
    usage: 'cancel <id>',
    aliases: [],
    summary: 'Withdraw my request before it is decided.',
    audience: 'everyone',
    where: 'personal',
    available: true,
  },
  {
    usage: 'rotate <app>',
    aliases: [],
    summary: 'Get a new credential for an app I own.',
    audience: 'everyone',
    where: 'personal',
    available: true,
  },
  {
    usage: 'federate <app>',
    aliases: [],
    summary: 'Let a GitHub Actions job or a Kubernetes service account sign in as an app I own, with no secret.',
    audience: 'everyone',
    where: 'personal',
    available: true,
  },
  {
    usage: 'pending',
    aliases: [],
    summary: 'List the requests waiting for my decision.',
    audience: 'approvers',
    where: 'anywhere',
    available: true,
  },
  {
    usage: 'scan',
    aliases: [],
    summary: 'Run the credential-expiry scan now.',
    audience: 'operators',
    where: 'anywhere',
    available: true,
  },
  {
    usage: 'scan full',
    aliases: [],
    summary: 'Run the scan over every app registration and enterprise application, as the weekly one does.',
    audience: 'operators',
    where: 'anywhere',
    available: true,
  },
  {
    usage: 'setup approvals',
    aliases: [],
    summary: 'Make this channel the one where approvers decide requests.',
    audience: 'operators',
    where: 'channel',
    available: true,
  },
  {
    usage: 'setup reminders',
    aliases: [],
    summary: 'Make this channel the one that receives credential-expiry reminders.',
    audience: 'operators',
    where: 'channel',
    available: true,
  },
  {
    usage: 'setup reminders for <rule>',
    aliases: [],
    summary:
      'Send this channel the reminders of the apps a rule names: tag:<tag>, prefix:<name> or group:<owners group>.',
    audience: 'operators',
    where: 'channel',
    available: true,
  },
  {
    usage: 'remove reminders for <rule>',
    aliases: [],
    summary: "Stop sending this channel a rule's reminders.",
    audience: 'operators',
    // Listed for channels only: Teams shows at most 10 commands a scope. In personal chat it removes the rule everywhere.
    where: 'channel',
    available: true,
  },
  {
    usage: 'list reminders',
    aliases: [],
    summary: 'Show which rule sends reminders to which channel, and the default channel.',
    audience: 'everyone',
    // Listed for channels only (Teams shows at most 10 commands a scope); it answers in personal chat too.
    where: 'channel',
    available: true,
  },
  { usage: 'help', aliases: [], summary: 'Show this list.', audience: 'everyone', where: 'anywhere', available: true },
];

export interface ParsedCommand {
  command: CommandInfo;
  /** What follows the command's words, trimmed; empty when nothing does. */
  argument: string;
}

/** The words that start a command: its usage without placeholders, and its aliases. */
function keywords(command: CommandInfo): string[] {
  return [command.usage.replace(/\s*<[^>]*>/g, ''), ...command.aliases].map((k) => k.toLowerCase());
}

/**
 * Replaces each tag, `<` then at least one character that is not `>` then `>`, with a space; a `<` with no `>`
 * after it stays. Linear: the next `>` is searched again only once the scan has passed it, and once none is
 * left the scan stops. (The pattern /<[^>]+>/g does the same but searches to the end from every unclosed `<`.)
 */
function stripTags(text: string): string {
  let out = '';
  let copied = 0;
  let close = -2;
  for (let at = text.indexOf('<'); at !== -1;) {
    if (close < at) close = text.indexOf('>', at + 1);
    if (close === -1) break;
    if (close === at + 1) {
      at = text.indexOf('<', at + 1);
      continue;
    }
    out += `${text.slice(copied, at)} `;
    copied = close + 1;
    at = text.indexOf('<', copied);
  }
  return out + text.slice(copied);
}

/**
 * The text of a message with mentions and Teams' HTML leftovers (tags, non-breaking spaces) replaced by spaces,
 * whitespace collapsed. Time linear in the length, whatever the text: a message of nothing but `<` up to the
 * 1 MiB body limit costs milliseconds (`npm run bench`).
 */
export function stripMarkup(text: string): string {
  // The mention pattern is linear: [^<]* cannot pass a `<`, so from each `<at>` the engine reads, and backtracks
  // over, only the run before the next `<`, and no two of those runs overlap. The others have no backtracking.
  const words = text.replace(/<at>[^<]*<\/at>/gi, ' ').replace(/&nbsp;|\u00a0/g, ' ');
  return stripTags(words).replace(/\s+/g, ' ').trim();
}

/** Finds the command a person typed. Text is matched case-insensitively on whole words. */
export function parseCommand(text: string): ParsedCommand | undefined {
  const normalised = text.trim().replace(/\s+/g, ' ');
  const lower = normalised.toLowerCase();
  for (const command of commands) {
    const takesArgument = command.usage.includes('<');
    for (const keyword of keywords(command)) {
      if (lower === keyword) return { command, argument: '' };
      if (takesArgument && lower.startsWith(`${keyword} `)) {
        return { command, argument: normalised.slice(keyword.length + 1).trim() };
      }
    }
  }
  return undefined;
}
