/**
 * `npm run playground -- <first name>`: a second Agents Playground for another demo person, pointed at the bot
 * that `npm start` runs, so that one person can act as two: ask as Alex Wilber in the first, decide as Megan
 * Bowen (an approver) in this one. Each demo person gets their own port, LOCAL_PLAYGROUND_PORT + 1 + their place
 * in the list, and their own folder for the Playground's config and log.
 */
import { loadConfig } from '../config';
import { exitOnStartupError } from '../index';
import { alex, demoUsers, localDefaults, type DemoUser } from './demo-identities';
import { startPlayground } from './playground';

const people: readonly DemoUser[] = [alex, ...demoUsers];

export function personNamed(name: string | undefined): DemoUser {
  const wanted = (name ?? '').trim().toLowerCase();
  const found = people.find((p) => p.givenName.toLowerCase() === wanted || p.name.toLowerCase() === wanted);
  if (!found) {
    throw new Error(
      `Say who opens this Playground: npm run playground -- <first name>, one of ${people.map((p) => p.givenName.toLowerCase()).join(', ')}.`,
    );
  }
  return found;
}

async function main(): Promise<void> {
  const person = personNamed(process.argv[2]);
  const config = loadConfig(process.env, localDefaults);
  const playground = await startPlayground({
    botEndpoint: `http://127.0.0.1:${config.port}/api/messages`,
    port: config.local.playgroundPort + 1 + people.indexOf(person),
    dataDir: `${config.local.dataDir}/playground-${person.givenName.toLowerCase()}`,
    currentUser: person,
    onUnexpectedExit: (code) => {
      process.stderr.write(`The Agents Playground stopped unexpectedly (code ${code}).\n`);
      process.exit(1);
    },
  });
  process.stdout.write(
    [
      '',
      `  An Agents Playground for ${person.name}: ${playground.url}`,
      `  It talks to the bot of \`npm start\` on port ${config.port}; cards the bot posts in channels appear in the first Playground.`,
      '  As an approver, type "pending" in the personal chat and press Review. Ctrl-C stops this Playground only.',
      '',
    ].join('\n'),
  );
  const stop = () => void playground.stop().finally(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (require.main === module) main().catch(exitOnStartupError);
