/**
 * Starts the real Registrar in this process, as `npm run bot` would, on an ephemeral port with its own tables
 * in the test run's Azurite, and a log capture. Every test stops what it started.
 */
import { randomBytes } from 'node:crypto';
import { TableServiceClient } from '@azure/data-tables';
import type { BotFrameworkEndpoints } from '../../src/bot/auth';
import { type Config, loadConfig } from '../../src/config';
import type { Container, ContainerOverrides } from '../../src/container';
import { createLogger } from '../../src/lib/logger';
import { localDefaults } from '../../src/local/demo-identities';
import { type Runtime, startRuntime } from '../../src/runtime';
import { LogCapture } from './logs';

export interface TestRegistrar {
  url: string;
  config: Config;
  container: Container;
  runtime: Runtime;
  logs: LogCapture;
  stop(): Promise<void>;
}

export function testStorageConnectionString(): string {
  const value = process.env.TEST_STORAGE_CONNECTION_STRING;
  if (!value)
    throw new Error(
      'TEST_STORAGE_CONNECTION_STRING is not set: run the tests through jest, whose global setup starts Azurite',
    );
  return value;
}

export function uniqueTablePrefix(): string {
  return `t${randomBytes(6).toString('hex')}`;
}

export async function deleteTables(connectionString: string, prefix: string): Promise<void> {
  const service = TableServiceClient.fromConnectionString(connectionString, { allowInsecureConnection: true });
  for await (const table of service.listTables()) {
    if (table.name?.startsWith(prefix)) await service.deleteTable(table.name);
  }
}

export async function startRegistrar(
  options: {
    env?: Record<string, string>;
    botFrameworkEndpoints?: BotFrameworkEndpoints;
    overrides?: ContainerOverrides;
  } = {},
): Promise<TestRegistrar> {
  const connectionString = testStorageConnectionString();
  const env: Record<string, string> = {
    STORAGE_CONNECTION_STRING: connectionString,
    STORAGE_TABLE_PREFIX: uniqueTablePrefix(),
    LOG_LEVEL: 'debug',
    ...options.env,
  };
  const config = loadConfig(env, localDefaults);
  const logs = new LogCapture();
  const logger = createLogger({ level: config.logLevel, destination: logs });
  const runtime = await startRuntime(config, logger, {
    port: 0,
    sweepIntervalMs: 0,
    ...(options.botFrameworkEndpoints ? { botFrameworkEndpoints: options.botFrameworkEndpoints } : {}),
    ...(options.overrides ? { overrides: options.overrides } : {}),
  });
  return {
    url: runtime.url,
    config,
    container: runtime.container,
    runtime,
    logs,
    async stop() {
      await runtime.stop();
      await deleteTables(connectionString, config.storage.tablePrefix);
    },
  };
}

/** The Azure Bot id the authenticated test bots use; tokens are signed for it. */
export const testBotId = '3f0c6a52-8d1e-4b7a-9c2f-5e4d3c2b1a09';

/**
 * Registrar with a bot identity (not local mode): inbound tokens are checked against `endpoints` (a local OpenID
 * server), and Alex operates in the demo tenant.
 */
export function startAuthenticatedRegistrar(
  endpoints: BotFrameworkEndpoints,
  operatorId: string,
  tenantId: string,
): Promise<TestRegistrar> {
  return startRegistrar({
    env: {
      BOT_ID: testBotId,
      BOT_TYPE: 'MultiTenant',
      BOT_PASSWORD: 'not-used-by-these-tests',
      HOST: '127.0.0.1',
      ADMIN_IDS: operatorId,
      ALLOWED_TENANT_IDS: tenantId,
    },
    botFrameworkEndpoints: endpoints,
  });
}
