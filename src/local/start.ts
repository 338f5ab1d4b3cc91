/**
 * `npm start`: local mode in one command. The bot (with its embedded Azurite) and the Microsoft 365 Agents
 * Playground, with the demo people. Ctrl-C stops them all; the tables stay in LOCAL_DATA_DIR for the next start.
 */
import { exitOnStartupError, runBot, stopOnSignals } from '../index';
import { loadConfig } from '../config';
import { localDefaults } from './demo-identities';
import { startPlayground } from './playground';

async function main(): Promise<void> {
  const config = loadConfig(process.env, localDefaults);
  if (config.mode !== 'local') {
    throw new Error('npm start runs local mode, but BOT_ID is set. To serve Microsoft Teams, run "npm run bot" with your configuration.');
  }
  const bot = await runBot(process.env);
  let playground;
  try {
    playground = await startPlayground({
      botEndpoint: `${bot.url}/api/messages`,
      port: config.local.playgroundPort,
      dataDir: config.local.dataDir,
      onUnexpectedExit: (code) => {
        process.stderr.write(`The Agents Playground stopped unexpectedly (code ${code}); stopping Registrar.\n`);
        void bot.stop().finally(() => process.exit(1));
      },
    });
  } catch (err) {
    await bot.stop();
    throw err;
  }
  const started = playground;
  process.stdout.write(
    [
      '',
      '  Registrar is running in local mode.',
      `  Open the Agents Playground:  ${started.url}`,
      `  Bot endpoint:                ${bot.url}/api/messages`,
      `  Data (Azure Tables):         ${config.local.dataDir}/azurite`,
      '  Type "help" in the personal chat. In the team "IT Operations", mention Registrar with "setup approvals"',
      '  in General and with "setup reminders" in Credential reminders.',
      '  Press Ctrl-C to stop.',
      '',
    ].join('\n') + '\n',
  );
  stopOnSignals(async () => {
    await started.stop();
    await bot.stop();
  });
}

main().catch(exitOnStartupError);
