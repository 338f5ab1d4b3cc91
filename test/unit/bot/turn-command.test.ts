/**
 * A turn's command is parsed once, however many routes ask for it, and read from the message's words.
 */
import { type Activity, TestAdapter, TurnContext } from 'botbuilder';
import { turnCommand } from '../../../src/bot/turn';
import * as commandsModule from '../../../src/domain/commands';

function contextFor(text: string): TurnContext {
  return new TurnContext(new TestAdapter(), {
    type: 'message',
    text,
    channelId: 'msteams',
    conversation: { id: 'c-1' },
  } as Partial<Activity> as Activity);
}

describe('turnCommand', () => {
  afterEach(() => jest.restoreAllMocks());

  test('when a turn asks for its command many times, then the text is parsed once and every answer is the same', () => {
    const parse = jest.spyOn(commandsModule, 'parseCommand');
    const strip = jest.spyOn(commandsModule, 'stripMarkup');
    const context = contextFor('<at>Registrar</at>&nbsp;status  REQ-42');

    const answers = Array.from({ length: 9 }, () => turnCommand(context));

    expect(parse).toHaveBeenCalledTimes(1);
    expect(strip).toHaveBeenCalledTimes(1);
    expect(answers[0]).toMatchObject({ command: { usage: 'status <id>' }, argument: 'REQ-42' });
    expect(new Set(answers).size).toBe(1);
  });

  test('when a message holds no command, then that too is parsed once and remembered', () => {
    const parse = jest.spyOn(commandsModule, 'parseCommand');
    const context = contextFor('<'.repeat(28_000));

    expect(turnCommand(context)).toBeUndefined();
    expect(turnCommand(context)).toBeUndefined();
    expect(parse).toHaveBeenCalledTimes(1);
  });

  test('when two turns carry different messages, then each has its own command', () => {
    expect(turnCommand(contextFor('help'))?.command.usage).toBe('help');
    expect(turnCommand(contextFor('setup reminders'))?.command.usage).toBe('setup reminders');
  });
});
