/**
 * Registrar running: starts and stops what the container built. The HTTP server, the work a previous process left
 * (provisioning to finish, cards unsent), the sweep (undecided requests and unrevealed deliveries that expire,
 * revealed secrets to hide) and the expiry scan on its schedule. `npm run bot` and the tests start it the same way.
 */
import type { BotFrameworkEndpoints } from './bot/auth';
import type { CardService } from './services/card-service';
import type { Config } from './config';
import { type Container, type ContainerOverrides, createContainer } from './container';
import type { Logger } from './lib/logger';
import { Cron } from 'croner';
import type { ExpiryScanResult } from './services/expiry-service';
import { startServer } from './server';
import { untraced } from './telemetry';

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
  notifier: CardService;
  /** Runs an expiry scan now (as the schedule would); one at a time in this process. */
  scan(): Promise<ExpiryScanResult>;
  /** Expires undecided requests past PENDING_TTL_DAYS and deliveries past DELIVERY_TTL_DAYS, hides secrets past REVEAL_TTL, updating their cards. */
  sweep(): Promise<void>;
  /** Resolves when background work (provisioning, card updates) has ended. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

export async function startRuntime(config: Config, logger: Logger, options: RuntimeOptions = {}): Promise<Runtime> {
  const container = await createContainer(config, logger, {
    ...options.overrides,
    ...(options.botFrameworkEndpoints ? { botFrameworkEndpoints: options.botFrameworkEndpoints } : {}),
  });
  const { bot, adapter, cards: notifier } = container;
  const scanOnce = container.scan;

  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer(
      { config, logger, store: container.store, bot, adapter, jobs: { expiryScan: () => scanOnce('job') } },
      {
        ...(options.port !== undefined ? { port: options.port } : {}),
        botFrameworkEndpoints: options.botFrameworkEndpoints,
      },
    );
  } catch (err) {
    await container.close();
    throw err;
  }

  // Each service tells the card service about what it moved; the sweep only tells requesters of expiries.
  async function sweep(): Promise<void> {
    const now = container.clock.now();
    for (const request of await container.requests.expireDue(now)) void notifier.expired(request);
    await container.delivery.redactDue(now);
    await container.delivery.expireDeliveriesDue(now);
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
          // Every 30 s, mostly finding nothing: not traced (its failures are logged).
          sweeping ??= untraced(sweep)
            .catch((err: unknown) => logger.error({ err }, 'sweep failed'))
            .finally(() => (sweeping = undefined));
        }, interval)
      : undefined;
  timer?.unref();

  // The expiry scan on REMINDER_CRON; the lease makes one of several running copies scan.
  const schedule = config.reminders.cron
    ? new Cron(config.reminders.cron, { timezone: config.reminders.timeZone, protect: true }, () => {
        scanOnce('schedule').catch((err: unknown) =>
          logger.error({ err }, 'scheduled expiry scan failed; the next one picks up what it left'),
        );
      })
    : undefined;
  if (schedule)
    logger.info(
      { cron: config.reminders.cron, timeZone: config.reminders.timeZone, next: schedule.nextRun()?.toISOString() },
      'expiry scan scheduled',
    );

  return {
    url: server.url,
    port: server.port,
    container,
    notifier,
    scan: () => scanOnce('command'),
    sweep,
    async idle() {
      await container.provisioning.idle();
      await notifier.idle();
      await container.provisioning.idle();
      await container.delivery.idle();
    },
    async stop() {
      schedule?.stop();
      if (timer) clearInterval(timer);
      await sweeping;
      await server.stop();
      await container.provisioning.stop();
      await notifier.idle();
      await container.delivery.idle();
      await container.close();
    },
  };
}
