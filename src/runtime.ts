/**
 * Registrar running: the container, the Bot Framework adapter shared by turns and proactive messages, the bot,
 * the HTTP server, and the background work (provisioning resumed after a crash, cards a crash left unsent, and
 * the sweep that expires undecided requests and hides revealed secrets). `npm run bot` and the tests start it
 * the same way.
 */
import { createBot } from './bot/app';
import type { BotFrameworkEndpoints } from './bot/auth';
import { createMessenger } from './bot/messenger';
import { createRequestNotifier, type RequestNotifier } from './bot/request-notifier';
import type { Config } from './config';
import { type Container, type ContainerOverrides, createContainer } from './container';
import type { Logger } from './lib/logger';
import { createAdapter, startServer } from './server';

export interface RuntimeOptions {
  /** Overrides config.port (tests pass 0). */
  port?: number;
  botFrameworkEndpoints?: BotFrameworkEndpoints;
  overrides?: ContainerOverrides;
  /** How often the sweep runs (default 30 s); 0 turns the timer off (tests call sweep()). */
  sweepIntervalMs?: number;
}

export interface Runtime {
  url: string;
  port: number;
  container: Container;
  notifier: RequestNotifier;
  /** Expires undecided requests past PENDING_TTL_DAYS and hides secrets past REVEAL_TTL, updating their cards. */
  sweep(): Promise<void>;
  /** Resolves when background work (provisioning, card updates) has ended. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

export async function startRuntime(config: Config, logger: Logger, options: RuntimeOptions = {}): Promise<Runtime> {
  const container = await createContainer(config, logger, options.overrides);
  const adapter = createAdapter(config, options.botFrameworkEndpoints);
  const notifier = createRequestNotifier({
    store: container.store,
    messenger: createMessenger(adapter, config.bot?.id ?? ''),
    channels: container.channels,
    approvers: container.approvers,
    clock: container.clock,
    logger: logger.child({ component: 'cards' }),
    ...(container.tenantId ? { tenantId: container.tenantId } : {}),
    ...(container.graphEndpoints ? { graphEndpoints: container.graphEndpoints } : {}),
  });
  container.onRequestChanged((request) => void notifier.changed(request));
  const bot = createBot({ ...container, notifier });

  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer({ config, logger, store: container.store, bot, adapter }, { ...(options.port !== undefined ? { port: options.port } : {}), botFrameworkEndpoints: options.botFrameworkEndpoints });
  } catch (err) {
    await container.close();
    throw err;
  }

  async function sweep(): Promise<void> {
    const now = container.clock.now();
    for (const request of await container.requests.expireDue(now)) {
      void notifier.changed(request);
      void notifier.expired(request);
    }
    for (const request of await container.delivery.redactDue(now)) void notifier.changed(request);
  }

  // Work a previous process left: provisioning to finish, cards to send.
  const resumed = await container.provisioning.resumeUnfinished();
  if (resumed.length > 0) logger.info({ requests: resumed }, 'resuming unfinished provisioning');
  void notifier.catchUp().catch((err: unknown) => logger.error({ err }, 'could not catch up on unsent cards'));

  const interval = options.sweepIntervalMs ?? 30_000;
  let sweeping: Promise<void> | undefined;
  const timer =
    interval > 0
      ? setInterval(() => {
          sweeping ??= sweep()
            .catch((err: unknown) => logger.error({ err }, 'sweep failed'))
            .finally(() => (sweeping = undefined));
        }, interval)
      : undefined;
  timer?.unref();

  return {
    url: server.url,
    port: server.port,
    container,
    notifier,
    sweep,
    async idle() {
      await container.provisioning.idle();
      await notifier.idle();
      await container.provisioning.idle();
    },
    async stop() {
      if (timer) clearInterval(timer);
      await sweeping;
      await server.stop();
      await container.provisioning.stop();
      await notifier.idle();
      await container.close();
    },
  };
}
