/**
 * A slow message turn sends no "typing": teams-ai 1.7 starts its typing timer whatever the option says
 * (src/bot/quiet-application.ts), and Registrar's Application must not.
 */
import { type Activity, TestAdapter } from 'botbuilder';
import { Application, type TurnState } from '@microsoft/teams-ai';
import { QuietApplication } from '../../../src/bot/quiet-application';

const options = { startTypingTimer: false, removeRecipientMention: true, longRunningMessages: false };

/** The types of the activities sent while a message turn that waits `ms` before answering runs. */
async function sentBy(app: Application<TurnState>, ms: number): Promise<string[]> {
  app.message(/.*/, async (context) => {
    await new Promise((resolve) => setTimeout(resolve, ms));
    await context.sendActivity('done');
  });
  const sent: string[] = [];
  const adapter = new TestAdapter(async (context) => {
    await app.run(context);
  });
  adapter.use(async (context, next) => {
    context.onSendActivities(async (_context, activities, send) => {
      sent.push(...activities.map((a) => String(a.type)));
      return send();
    });
    await next();
  });
  await adapter.send({ type: 'message', text: 'hello', channelId: 'msteams' } as Partial<Activity>);
  return sent;
}

describe('QuietApplication', () => {
  test('when a message turn takes over a second, then only its answer is sent, no typing', async () => {
    expect(await sentBy(new QuietApplication<TurnState>(options), 1_300)).toEqual(['message']);
  });

  test('when the same turn runs on teams-ai Application with startTypingTimer false, then typing is sent (why the class exists)', async () => {
    expect(await sentBy(new Application<TurnState>(options), 1_300)).toEqual(['typing', 'message']);
  });
});
