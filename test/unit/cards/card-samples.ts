import type { AdaptiveCard } from '../../../src/cards/adaptive-card';
import { renderChannelSet, renderHelp, renderNotice, renderWelcome } from '../../../src/cards/cards';
import { commands } from '../../../src/domain/commands';

/**
 * Representative renders of every template in adaptiveCards/, keyed by file name without `.json`. A template
 * without an entry here fails cards-valid.test.ts: add one when you add a template.
 */
export const samples: Record<string, Array<{ label: string; render: () => AdaptiveCard }>> = {
  help: [{ label: 'the full command list', render: () => renderHelp({ commands }) }],
  'welcome-personal': [
    { label: 'with a name', render: () => renderWelcome({ scope: 'personal', name: 'Adele Vance' }) },
    { label: 'without a name', render: () => renderWelcome({ scope: 'personal' }) },
  ],
  'welcome-team': [
    { label: 'with a team name', render: () => renderWelcome({ scope: 'team', name: 'Contoso Apps' }) },
    { label: 'without a team name', render: () => renderWelcome({ scope: 'team' }) },
  ],
  'channel-set': [
    {
      label: 'approvals, replacing another channel',
      render: () =>
        renderChannelSet({
          purpose: 'approvals',
          channelName: 'App approvals',
          teamName: 'Contoso Apps',
          setBy: 'Megan Bowen',
          setAt: new Date('2026-11-23T09:15:00Z'),
          replaced: { channelName: 'General', teamName: 'Contoso Apps' },
        }),
    },
    {
      label: 'reminders, first time, no names known',
      render: () => renderChannelSet({ purpose: 'reminders', setBy: 'Megan Bowen', setAt: '2026-11-23T09:15:00Z' }),
    },
  ],
  notice: [
    { label: 'info', render: () => renderNotice({ tone: 'info', title: 'Nothing to do', text: 'You have no requests yet.' }) },
    { label: 'refusal', render: () => renderNotice({ tone: 'refusal', title: 'Not allowed', text: 'Only operators can set up channels.\nAsk an operator.' }) },
    {
      label: 'error with a reference',
      render: () => renderNotice({ tone: 'error', title: 'Something went wrong', text: 'Registrar could not save this.', reference: 'c0ffee12-3456' }),
    },
  ],
};
