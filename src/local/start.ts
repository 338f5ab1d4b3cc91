/**
 * `npm start`: local mode in one command. The local tenant (the Graph and Entra emulator, seeded with the demo
 * tenant and kept in LOCAL_DATA_DIR), the bot (with its embedded Azurite) pointed at it, and the Microsoft 365
 * Agents Playground with the demo people. Ctrl-C stops them all; tables and tenant stay for the next start.
 *
 * The bot runs as a child process because it must trust the tenant's development certificate, and Node reads
 * NODE_EXTRA_CA_CERTS only when a process starts.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { loadConfig } from '../config';
import { TARGET_PREFIX } from '../config-targets';
import { exitOnStartupError } from '../index';
import { localDefaults } from './demo-identities';
import { type Playground, startPlayground } from './playground';
import { type LocalTenant, startLocalTenant } from './tenant/main';
import { demoIds } from './tenant/seed';

const BOT_READY_TIMEOUT_MS = 60_000;
const BOT_STOP_TIMEOUT_MS = 15_000;

interface BotProcess {
  url: string;
  stop(): Promise<void>;
}

/** What the bot needs to reach the local tenant as its Microsoft Graph; the person's own settings win. */
function botEnvironment(tenant: LocalTenant): NodeJS.ProcessEnv {
  const registrar = tenant.registrar;
  if (!registrar?.clientSecret) {
    throw new Error(
      `The local tenant in ${tenant.dataDir} no longer has Registrar's demo secret. Delete ${join(tenant.dataDir, 'tenant.json')} to start from the demo tenant again.`,
    );
  }
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    AZURE_TENANT_ID: tenant.tenantId,
    AZURE_CLIENT_ID: registrar.clientId,
    AZURE_CLIENT_SECRET: registrar.clientSecret,
    AUTHORITY_HOST: tenant.url,
    GRAPH_ENDPOINT: tenant.url,
    NODE_EXTRA_CA_CERTS: tenant.caBundlePath,
  };
  // Operators are the demo admins group, checked in the local tenant like in a real one, unless set explicitly.
  if (!process.env.ADMIN_IDS && !process.env.ADMIN_GROUP_ID) env.ADMIN_GROUP_ID = demoIds.adminsGroup;
  // The demo B2C directory as a target ("Create the app in: Contoso B2C"), unless the person names targets.
  const namesTargets = Object.keys(process.env).some((name) => name.startsWith(TARGET_PREFIX));
  if (!namesTargets && tenant.demoB2cTarget) env[`${TARGET_PREFIX}B2C`] = tenant.demoB2cTarget;
  return env;
}

async function startBotProcess(env: NodeJS.ProcessEnv, port: number): Promise<BotProcess> {
  // An IPC channel: the bot stops itself when it closes, so a launcher killed with SIGKILL leaves no bot behind.
  const child: ChildProcess = fork(join(__dirname, '..', 'index.js'), [], {
    env,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + BOT_READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `The bot exited (code ${child.exitCode ?? child.signalCode}) before it was ready; its messages are above.`,
      );
    }
    try {
      if ((await fetch(`${url}/readyz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`The bot did not become ready within ${BOT_READY_TIMEOUT_MS / 1000} s.`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), BOT_STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function main(): Promise<void> {
  const config = loadConfig(process.env, localDefaults);
  if (config.mode !== 'local') {
    throw new Error(
      'npm start runs local mode, but BOT_ID is set. To serve Microsoft Teams, run "npm run bot" with your configuration.',
    );
  }
  const stack: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stack.splice(0).reverse()) await stop().catch(() => undefined);
  };
  let stopping = false;
  const shutdown = (code: number) => {
    if (stopping) return;
    stopping = true;
    void stopAll().finally(() => process.exit(code));
  };
  // Ctrl-C reaches every process of the terminal's group; the bot stops itself, and this waits for it.
  process.on('SIGINT', () => shutdown(0));
  process.on('SIGTERM', () => shutdown(0));

  try {
    const tenant = await startLocalTenant({ dataDir: config.local.dataDir, port: config.local.tenantPort });
    stack.push(() => tenant.stop());
    const bot = await startBotProcess(botEnvironment(tenant), config.port);
    stack.push(() => bot.stop());
    const playground: Playground = await startPlayground({
      botEndpoint: `${bot.url}/api/messages`,
      port: config.local.playgroundPort,
      dataDir: config.local.dataDir,
      onUnexpectedExit: (code) => {
        process.stderr.write(`The Agents Playground stopped unexpectedly (code ${code}); stopping Registrar.\n`);
        shutdown(1);
      },
    });
    stack.push(() => playground.stop());
    process.stdout.write(
      [
        '',
        '  Registrar is running in local mode.',
        `  Open the Agents Playground:  ${playground.url}`,
        `  Bot endpoint:                ${bot.url}/api/messages`,
        `  Local tenant (Graph/Entra):  ${tenant.url}  (tenant ${tenant.tenantId})`,
        `  Data:                        ${config.local.dataDir} (Azure Tables in azurite/, the tenant in tenant.json)`,
        '  Type "help" in the personal chat. In the team "IT Operations", mention Registrar with "setup approvals"',
        '  in General and with "setup reminders" in Credential reminders.',
        '  Press Ctrl-C to stop.',
        '',
      ].join('\n') + '\n',
    );
  } catch (err) {
    await stopAll();
    throw err;
  }
}

main().catch(exitOnStartupError);
