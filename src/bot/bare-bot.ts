/**
 * The baseline of `npm run bench` (bench/turn-cost.ts): a bare teams-ai bot on Registrar's stack, restify with
 * botbuilder's CloudAdapter (no bot identity, as in local mode) and a teams-ai Application with the same options,
 * that answers a message with a card and a `help.show` click with the same card, and does nothing else. What a
 * turn costs there is what the stack costs; the difference from Registrar is Registrar's own work.
 * It lives here because only src/bot/ and src/server.ts import botbuilder and teams-ai.
 */
import type { AddressInfo } from 'node:net';
import { CardFactory, CloudAdapter, ConfigurationBotFrameworkAuthentication, MessageFactory } from 'botbuilder';
import type { TurnState } from '@microsoft/teams-ai';
import { QuietApplication } from './quiet-application';
import * as restify from 'restify';
import type { AdaptiveCard } from '../cards/adaptive-card';
import { Verb } from '../cards/verbs';

export interface BareBot {
  url: string;
  stop(): Promise<void>;
}

/** Starts the bare bot on 127.0.0.1 (port 0: any free port); every message and every `help.show` click gets `card`. */
export async function startBareBot(card: AdaptiveCard, port = 0): Promise<BareBot> {
  const adapter = new CloudAdapter(new ConfigurationBotFrameworkAuthentication({}));
  const app = new QuietApplication<TurnState>({
    startTypingTimer: false,
    removeRecipientMention: true,
    longRunningMessages: false,
  });
  app.message(/[\s\S]*/, async (context) => {
    await context.sendActivity(MessageFactory.attachment(CardFactory.adaptiveCard(card)));
  });
  app.adaptiveCards.actionExecute(Verb.showHelp, async () => card);

  const server = restify.createServer({ name: 'bare-bot', handleUncaughtExceptions: false });
  const jsonBody = [
    restify.plugins.bodyReader({ maxBodySize: 1024 * 1024 }),
    ...restify.plugins.jsonBodyParser({ bodyReader: true, mapParams: false }),
  ];
  server.post('/api/messages', ...jsonBody, async (req: restify.Request, res: restify.Response) => {
    await adapter.process(req, res, (context) => app.run(context).then(() => undefined));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${bound}`,
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.server.closeAllConnections();
      await closed;
    },
  };
}
