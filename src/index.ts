/**
 * `npm run bot`: the bot alone. Reads the configuration, builds the container, serves, and stops cleanly on
 * SIGTERM / SIGINT, letting turns in flight finish. A bad configuration exits 1 with a message that says what to fix.
 */
import { inspect } from 'node:util';
import { ConfigError, describeConfig, loadConfig } from './config';
import { createLogger } from './lib/logger';
import { localDefaults } from './local/demo-identities';
import { recordException, startTelemetry, type Telemetry } from './telemetry';

export interface RunningBot {
  url: string;
  stop(): Promise<void>;
}

export async function runBot(env: NodeJS.ProcessEnv = process.env): Promise<RunningBot> {
  const config = loadConfig(env, localDefaults);
  const logger = createLogger({ level: config.logLevel });
  logger.info(
    { config: describeConfig(config) },
    config.mode === 'local'
      ? 'starting in LOCAL MODE: no Bot Framework authentication, loopback only, embedded storage'
      : 'starting for Microsoft Teams: Bot Framework authentication on',
  );
  // Telemetry first: the runtime loads http, restify, botbuilder, the Graph client and the Azure SDK, which are
  // instrumented only if they load after it. Nothing above this line loads them (config: zod, croner, domain).
  const telemetry = startTelemetry(config.telemetry);
  if (telemetry) exportCrashes(telemetry);
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- after startTelemetry, see above
  const { startRuntime } = require('./runtime') as typeof import('./runtime');
  const runtime = await startRuntime(config, logger);
  logger.info({ url: `${runtime.url}/api/messages` }, 'bot listening');
  return {
    url: runtime.url,
    async stop() {
      logger.info('stopping: finishing turns in flight');
      await runtime.stop();
      // The last requests' spans are exported before the process goes.
      await telemetry?.shutdown();
      logger.info('stopped');
    },
  };
}

/**
 * With telemetry on, an uncaught exception or unhandled rejection is recorded and exported (for at most 5 s)
 * before the process exits 1, as Node would have exited without this listener.
 */
function exportCrashes(telemetry: Telemetry): void {
  let crashing = false;
  process.on('uncaughtException', (err, origin) => {
    if (crashing) process.exit(1);
    crashing = true;
    process.stderr.write(
      `${origin === 'unhandledRejection' ? 'Unhandled rejection' : 'Uncaught exception'}: ${inspect(err)}\n`,
    );
    recordException(err);
    void telemetry.shutdown(5_000).finally(() => process.exit(1));
  });
}

/**
 * Runs until SIGINT or SIGTERM (a second signal exits at once), or, when a launcher started this process with
 * an IPC channel (npm start), until that channel closes: a launcher that dies, even by SIGKILL, leaves no bot behind.
 */
export function stopOnSignals(stop: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130);
    stopping = true;
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(
          `Error while stopping after ${signal}: ${err instanceof Error ? err.message : String(err)}\n`,
        );
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  if (process.send) process.once('disconnect', () => onSignal('SIGTERM'));
}

/** What a person reads when Registrar cannot start: the fix first, the stack only for the unexpected. */
export function startupErrorMessage(err: unknown): string {
  if (err instanceof ConfigError) return err.message;
  const { code, port, address } = (err ?? {}) as NodeJS.ErrnoException & { port?: number; address?: string };
  if (code === 'EADDRINUSE') {
    return (
      `Registrar could not start: port ${port ?? '?'} on ${address ?? 'this machine'} is already in use. ` +
      'Another Registrar may still be running: stop it, or choose free ports with PORT (the bot), LOCAL_TENANT_PORT, ' +
      'LOCAL_STORAGE_PORT or LOCAL_PLAYGROUND_PORT.'
    );
  }
  return `Registrar could not start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`;
}

export function exitOnStartupError(err: unknown): never {
  process.stderr.write(`${startupErrorMessage(err)}\n`);
  process.exit(1);
}

if (require.main === module) {
  runBot().then((bot) => stopOnSignals(bot.stop), exitOnStartupError);
}
