import type { AdaptiveCard } from '../../../src/cards/adaptive-card';
import { renderChannelSet, renderHelp, renderNotice, renderWelcome } from '../../../src/cards/cards';
import { formatUtc } from '../../../src/cards/render';
import { Verb } from '../../../src/cards/verbs';
import { type CommandInfo, commands } from '../../../src/domain/commands';
import { type Json, objectsOfType, texts } from './card-walk';

/** One entry per command block of the help card: its texts in reading order. */
function commandBlocks(card: AdaptiveCard): string[][] {
  return card.body.filter((item): item is Json => (item as Json).type === 'Container').map((block) => texts(block));
}

describe('help card', () => {
  test('when it is rendered with the command catalogue, then it lists every command in order with its summary, audience and place', () => {
    const blocks = commandBlocks(renderHelp({ commands }));
    expect(blocks.map((b) => b[0])).toEqual(commands.map((c) => c.usage));
    for (const [i, c] of commands.entries()) expect(blocks[i]).toContain(c.summary);
    expect(blocks.find((b) => b[0] === 'scan')).toContain('For operators · in personal chat or a channel');
    expect(blocks.find((b) => b[0] === 'pending')).toContain('For approvers · in personal chat or a channel');
    expect(blocks.find((b) => b[0] === 'setup approvals')).toContain('For operators · in a channel, mentioning me');
    expect(blocks.find((b) => b[0] === 'mine')).toContain('For everyone · in personal chat');
  });

  test('when a command is not available yet, then exactly those commands are marked Coming soon', () => {
    const some: CommandInfo[] = commands.map((c, i) => ({ ...c, available: i % 2 === 0 }));
    const marked = commandBlocks(renderHelp({ commands: some })).map((b) => b.includes('Coming soon'));
    expect(marked).toEqual(some.map((c) => !c.available));
    expect(marked).toContain(true);
    expect(marked).toContain(false);
  });

  test('when a command has aliases, then they are shown with it', () => {
    const request = commandBlocks(renderHelp({ commands })).find((b) => b[0] === 'request');
    expect(request).toContain('also new app');
  });

  test('when every command is available, then no Coming soon mark or footnote appears', () => {
    const ready: CommandInfo[] = commands.map((c) => ({ ...c, available: true }));
    const all = texts(renderHelp({ commands: ready })).join('\n');
    expect(all).not.toMatch(/coming soon/i);
  });

  test('when it is rendered, then it opens with the title Registrar and a line on what it does', () => {
    const [title, line] = texts(renderHelp({ commands }));
    expect(title).toBe('Registrar');
    expect(line).toMatch(/app registration/);
  });
});

describe('welcome cards', () => {
  test('when a person installs the bot, then they are greeted by name and offered the commands', () => {
    const card = renderWelcome({ scope: 'personal', name: 'Adele Vance' });
    expect(texts(card)[0]).toBe('Hello, Adele Vance');
    expect(texts(card).join(' ')).toMatch(/privately/);
    expect(card.actions).toEqual([{ type: 'Action.Execute', title: 'Show commands', verb: Verb.showHelp }]);
  });

  test('when a person is welcomed, then the card says what Registrar does today and nothing about being unfinished', () => {
    const all = texts(renderWelcome({ scope: 'personal', name: 'Adele Vance' })).join(' ');
    expect(all).toMatch(/approvers/);
    expect(all).toMatch(/remind you/);
    expect(all).toMatch(/rotate/);
    expect(all).toContain('"mine"');
    expect(all).not.toMatch(/still being built|coming soon/i);
  });

  test('when the name is unknown, then the greeting stands without it', () => {
    expect(texts(renderWelcome({ scope: 'personal' }))[0]).toBe('Hello');
    expect(texts(renderWelcome({ scope: 'team', name: '  ' }))[0]).toBe('Registrar has joined this team');
  });

  test('when the bot is added to a team, then operators are told to mention it with setup approvals and setup reminders', () => {
    const card = renderWelcome({ scope: 'team', name: 'Contoso Apps' });
    const all = texts(card);
    expect(all[0]).toBe('Registrar has joined Contoso Apps');
    expect(all).toContain('Mention me with setup approvals in the channel where approvers should decide on requests.');
    expect(all).toContain(
      'Mention me with setup reminders in the channel where credential-expiry reminders should go.',
    );
    const commandRuns = objectsOfType(card, 'TextRun')
      .filter((run) => run.fontType === 'Monospace')
      .map((run) => run.text);
    expect(commandRuns).toEqual(['setup approvals', 'setup reminders']);
    expect(card.actions).toEqual([{ type: 'Action.Execute', title: 'Show commands', verb: Verb.showHelp }]);
  });
});

describe('channel-set card', () => {
  const base = {
    channelName: 'App approvals',
    teamName: 'Contoso Apps',
    setBy: 'Megan Bowen',
    setAt: new Date('2026-11-23T09:15:00Z'),
  };

  test('when the approvals channel is set, then the card names the purpose, the channel, the person and the time', () => {
    const all = texts(renderChannelSet({ ...base, purpose: 'approvals' }));
    expect(all[0]).toBe('This channel now receives approval requests');
    expect(all).toEqual(
      expect.arrayContaining([
        'Channel',
        'App approvals, in Contoso Apps',
        'Set by',
        'Megan Bowen',
        'When',
        '23 Nov 2026, 09:15 UTC',
      ]),
    );
    expect(all).not.toContain('Replaces');
  });

  test('when the reminders channel is set from an ISO string, then the card names that purpose and the time', () => {
    const all = texts(renderChannelSet({ ...base, purpose: 'reminders', setAt: '2026-01-05T17:04:59.999Z' }));
    expect(all[0]).toBe('This channel now receives credential-expiry reminders');
    expect(all).toContain('5 Jan 2026, 17:04 UTC');
  });

  test('when the setting replaced another channel, then the card names the replaced channel', () => {
    const all = texts(
      renderChannelSet({ ...base, purpose: 'approvals', replaced: { channelName: 'General', teamName: 'Contoso IT' } }),
    );
    expect(all).toEqual(expect.arrayContaining(['Replaces', 'General, in Contoso IT']));
  });

  test('when the replaced channel has no known name, then the card still says one was replaced', () => {
    const all = texts(renderChannelSet({ ...base, purpose: 'reminders', replaced: {} }));
    expect(all).toEqual(expect.arrayContaining(['Replaces', 'another channel']));
  });

  test('when neither the channel nor the team name is known, then the channel line is left out', () => {
    const all = texts(renderChannelSet({ purpose: 'approvals', setBy: 'Megan Bowen', setAt: base.setAt }));
    expect(all).not.toContain('Channel');
    expect(all).toContain('Megan Bowen');
  });

  test('when the time is not a date, then rendering says so instead of showing "Invalid Date"', () => {
    expect(() => renderChannelSet({ ...base, purpose: 'approvals', setAt: 'yesterday-ish' })).toThrow(RangeError);
  });
});

describe('notice card', () => {
  test('when a reference is given, then the notice shows it on its own line', () => {
    const card = renderNotice({
      tone: 'error',
      title: 'Something went wrong',
      text: 'Registrar could not save this.',
      reference: 'c0ffee12-3456',
    });
    expect(texts(card)).toEqual(['Something went wrong', 'Registrar could not save this.', 'Reference: c0ffee12-3456']);
  });

  test('when no reference is given, then no reference line appears', () => {
    const all = texts(renderNotice({ tone: 'info', title: 'Nothing to do', text: 'You have no requests yet.' }));
    expect(all.join('\n')).not.toMatch(/Reference/);
  });

  test('when the tone differs, then the notice is styled for it', () => {
    const style = (tone: 'info' | 'refusal' | 'error') =>
      (renderNotice({ tone, title: 't', text: 'x' }).body[0] as Json).style;
    expect([style('info'), style('refusal'), style('error')]).toEqual(['emphasis', 'warning', 'attention']);
  });

  test('when the text has several lines, then the lines are kept', () => {
    const all = texts(
      renderNotice({
        tone: 'refusal',
        title: 'Not allowed',
        text: 'Only operators can set up channels.\r\nAsk an operator.',
      }),
    );
    expect(all[1]).toBe('Only operators can set up channels.\nAsk an operator.');
  });
});

test('when a date is shown, then it is in UTC with a padded time', () => {
  expect(formatUtc(new Date('2026-11-23T09:05:00+01:00'))).toBe('23 Nov 2026, 08:05 UTC');
  expect(formatUtc('2026-12-31T23:59:00Z')).toBe('31 Dec 2026, 23:59 UTC');
});
