/**
 * `federate <app>` as a person types it, and as the help card lists it.
 */
import { helpCard } from '../../../src/cards/cards';
import { commands, parseCommand } from '../../../src/domain/commands';
import { cardText } from '../../helpers/teams';

describe('federate <app>', () => {
  test('when a person types federate and an app, then the command is federate with the app as its argument, case and spaces aside', () => {
    expect(parseCommand('federate Expense Bot')).toMatchObject({
      command: { usage: 'federate <app>' },
      argument: 'Expense Bot',
    });
    expect(parseCommand('  FEDERATE   a1e5c0de-0000-4000-9000-000000000203 ')).toMatchObject({
      command: { usage: 'federate <app>' },
      argument: 'a1e5c0de-0000-4000-9000-000000000203',
    });
  });

  test('when a person types federate alone, then it is the command with no argument (the route asks which app)', () => {
    expect(parseCommand('federate')).toMatchObject({ command: { usage: 'federate <app>' }, argument: '' });
  });

  test('when a word only starts like federate, then it is not the command', () => {
    expect(parseCommand('federated Expense Bot')?.command.usage).not.toBe('federate <app>');
    expect(parseCommand('federation')).toBeUndefined();
  });

  test('when the help card is shown, then it lists federate for everyone, in personal chat, after rotate', () => {
    const federate = commands.find((c) => c.usage === 'federate <app>');
    expect(federate).toMatchObject({ audience: 'everyone', where: 'personal', available: true });
    const usages = commands.map((c) => c.usage);
    expect(usages.indexOf('federate <app>')).toBe(usages.indexOf('rotate <app>') + 1);

    const text = cardText(helpCard());
    expect(text).toContain('federate <app>');
    expect(text).toMatch(/GitHub Actions job or a Kubernetes service account sign in as an app I own, with no secret/);
  });
});
