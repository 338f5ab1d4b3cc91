/**
 * A `help` message and a `help.show` click cost no templating and no storage write after the first: the bot
 * answers both with the one frozen help card, and remembers a person's personal chat once, not on every message.
 */
import { type Activity, type ConversationReference, TestAdapter, TurnContext } from 'botbuilder';
import { Template } from 'adaptivecards-templating';
import { type BotServices, createBot } from '../../../src/bot/app';
import { setTurnLogger, turnLogger } from '../../../src/bot/turn';
import { helpCard } from '../../../src/cards/cards';
import { Verb } from '../../../src/cards/verbs';
import { createLogger } from '../../../src/lib/logger';
import { createGreetingService } from '../../../src/services/greeting-service';
import type { Store } from '../../../src/services/ports';

const person = { id: '29:adele', name: 'Adele Vance', aadObjectId: 'a1e5c0de-0000-4000-8000-000000000022' };

function activity(kind: 'help' | 'help.show'): Activity {
  const base = {
    id: `activity-${Math.random()}`,
    channelId: 'msteams',
    serviceUrl: 'https://smba.example.invalid/',
    from: person,
    recipient: { id: '28:registrar', name: 'Registrar' },
    conversation: { id: 'a:personal-adele', conversationType: 'personal', tenantId: 'contoso' },
  };
  if (kind === 'help') return { ...base, type: 'message', text: 'help' } as Partial<Activity> as Activity;
  return {
    ...base,
    type: 'invoke',
    name: 'adaptiveCard/action',
    value: { action: { type: 'Action.Execute', verb: Verb.showHelp, data: {} }, trigger: 'manual' },
  } as Partial<Activity> as Activity;
}

/**
 * The bot with the real greeting service over a store that only counts its writes. These turns reach nothing
 * else: any other service a route touched throws here.
 */
function botAndWrites() {
  const writes: string[] = [];
  const store = {
    conversations: {
      upsert: async (_kind: string, key: string) => {
        writes.push(key);
      },
    },
  } as unknown as Store;
  const greetings = createGreetingService({ store, clock: { now: () => new Date('2026-12-07T09:00:00Z') } });
  const services = new Proxy({ greetings } as unknown as BotServices, {
    get: (target, key) => {
      if (key in target) return target[key as keyof BotServices];
      return new Proxy(
        {},
        {
          get: (_, method) => () => {
            throw new Error(`a help turn called ${String(key)}.${String(method)}`);
          },
        },
      );
    },
  });
  return { bot: createBot(services), writes };
}

/** Runs one turn and returns the card it answered with: the reply's attachment, or the invoke response's card. */
async function cardOf(bot: ReturnType<typeof createBot>, incoming: Activity): Promise<unknown> {
  const context = new TurnContext(
    new TestAdapter(TurnContext.getConversationReference(incoming) as ConversationReference),
    incoming,
  );
  setTurnLogger(context, () => createLogger({ level: 'silent' }));
  const sent: Array<Partial<Activity>> = [];
  context.onSendActivities(async (_ctx, activities, next) => {
    sent.push(...activities);
    return next();
  });
  expect(await bot.run(context)).toBe(true);
  const reply = sent.find((a) => a.type === 'message');
  if (reply) return reply.attachments?.[0]?.content;
  const response = sent.find((a) => a.type === 'invokeResponse')?.value as { body?: { value?: unknown } } | undefined;
  return response?.body?.value;
}

describe('help turns', () => {
  afterEach(() => jest.restoreAllMocks());

  test('when people type help and click Show commands, then every answer is the one frozen help card and nothing is expanded', async () => {
    const { bot } = botAndWrites();
    const card = helpCard();
    const expand = jest.spyOn(Template.prototype, 'expand');

    const answers = [];
    for (const kind of ['help', 'help.show', 'help', 'help.show'] as const)
      answers.push(await cardOf(bot, activity(kind)));

    expect(answers).toHaveLength(4);
    for (const answer of answers) expect(answer).toBe(card);
    expect(Object.isFrozen(card)).toBe(true);
    expect(expand).not.toHaveBeenCalled();
  });

  test('when a person types help many times in their personal chat, then their conversation is written once', async () => {
    const { bot, writes } = botAndWrites();

    for (let i = 0; i < 5; i += 1) await cardOf(bot, activity('help'));

    expect(writes).toEqual([person.aadObjectId]);
  });
});

describe('turn logger', () => {
  test('when a turn logs nothing, then no child logger is made; when it logs, one is made once', () => {
    const incoming = activity('help');
    const context = new TurnContext(new TestAdapter(), incoming);
    const make = jest.fn(() => createLogger({ level: 'silent' }));

    setTurnLogger(context, make);
    expect(make).not.toHaveBeenCalled();

    const first = turnLogger(context);
    const second = turnLogger(context);
    expect(make).toHaveBeenCalledTimes(1);
    expect(second).toBe(first);
  });
});
