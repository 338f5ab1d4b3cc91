/**
 * The deploy bundle runs on its own: `npm run bundle`'s zip, unpacked into a folder outside the repository (so no
 * package can come from the repository's node_modules), starts as App Service starts it (appCommandLine
 * `node dist/src/index.js` in the unpacked folder, PORT set by the platform; infra/main.bicep) and answers
 * /healthz. A production dependency missing from the bundle makes the start fail.
 *
 * The bot runs in local mode (no BOT_ID: no Bot Framework or managed identity, loopback only) against the test
 * run's Azurite, since the bundle has no Azurite of its own: embedded storage is a development dependency.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { openPromise } from 'yauzl';
import { bundle, type Bundle } from '../../scripts/bundle';
import { freePort, killed, root } from '../helpers/bot-process';
import { deleteTables, testStorageConnectionString, uniqueTablePrefix } from '../helpers/registrar';

/** Unpacks every entry of the zip into dir as a zip deploy does, each file with the mode the zip records. */
async function unpack(zip: string, dir: string): Promise<number> {
  // yauzl refuses absolute names and names that climb out with '..' (strictFileNames also refuses '\').
  const archive = await openPromise(zip, { lazyEntries: true, strictFileNames: true });
  let count = 0;
  try {
    for await (const entry of archive.eachEntry()) {
      const path = resolve(dir, entry.fileName);
      if (!path.startsWith(dir + sep)) throw new Error(`${entry.fileName} would unpack outside ${dir}`);
      if (entry.fileName.endsWith('/')) {
        mkdirSync(path, { recursive: true });
        continue;
      }
      mkdirSync(dirname(path), { recursive: true });
      await pipeline(await archive.openReadStreamPromise(entry), createWriteStream(path));
      const mode = (entry.externalFileAttributes >>> 16) & 0o777;
      if (mode !== 0) chmodSync(path, mode);
      count += 1;
    }
  } finally {
    archive.close();
  }
  return count;
}

interface Started {
  child: ChildProcess;
  /** Resolves with the exit code once the process has exited. */
  exit: Promise<number | null>;
  output: () => string;
}

/** `node dist/src/index.js` in dir with only the environment App Service would give it, and nothing of jest's. */
function start(dir: string, env: Record<string, string>): Started {
  let output = '';
  const child = spawn(process.execPath, ['dist/src/index.js'], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exit = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  return { child, exit, output: () => output };
}

/**
 * Waits until the process has printed `text`: its log lines reach this process through a pipe, after the answers
 * its server gives, so a line may still be on its way when /healthz already answers.
 */
async function printed(bot: Started, text: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!bot.output().includes(text)) {
    if (bot.child.exitCode !== null || Date.now() > deadline)
      throw new Error(`the bundled bot did not print "${text}":\n${bot.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Polls url until it answers 200, or fails with the process's output if it exits first or 90 s pass. */
async function answers(url: string, bot: Started): Promise<void> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (bot.child.exitCode !== null)
      throw new Error(`the bundled bot exited with ${bot.child.exitCode}:\n${bot.output()}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer 200 in 90 s:\n${bot.output()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('the deploy bundle (npm run bundle), unpacked outside the repository', () => {
  const connectionString = testStorageConnectionString();
  const prefix = uniqueTablePrefix();
  let out: string;
  let dir: string;
  let built: Bundle;
  let unpacked: number;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), 'registrar-bundle-build-'));
    dir = mkdtempSync(join(tmpdir(), 'registrar-bundle-'));
    built = await bundle(root, out);
    // The zip alone is deployed: the folder it was made from goes before the bot starts.
    rmSync(join(out, 'app'), { recursive: true, force: true });
    unpacked = await unpack(built.zip, dir);
  }, 900_000);

  afterAll(async () => {
    await Promise.all(children.map((child) => killed(child, 'SIGKILL')));
    for (const folder of [out, dir]) if (folder) rmSync(folder, { recursive: true, force: true });
    await deleteTables(connectionString, prefix);
  }, 120_000);

  const env = async () => ({
    PORT: String(await freePort()),
    STORAGE_CONNECTION_STRING: connectionString,
    STORAGE_TABLE_PREFIX: prefix,
    LOG_LEVEL: 'info',
  });

  test('when the zip is unpacked, then it holds the bot, the production dependencies and no development one', () => {
    expect(relative(root, dir).startsWith('..')).toBe(true);
    expect(unpacked).toBe(built.files);
    expect(built.files).toBeGreaterThan(1000);
    for (const file of ['package.json', 'dist/src/index.js', 'node_modules/botbuilder/package.json'])
      expect(existsSync(join(dir, file))).toBe(true);
    for (const devOnly of ['azurite', 'jest', 'typescript', 'yazl'])
      expect(existsSync(join(dir, 'node_modules', devOnly))).toBe(false);
  });

  test('when it is started as App Service starts it, then GET /healthz answers 200 and SIGTERM stops it with code 0', async () => {
    const settings = await env();
    const bot = start(dir, settings);
    children.push(bot.child);

    await answers(`http://127.0.0.1:${settings.PORT}/healthz`, bot);
    await printed(bot, 'bot listening');

    bot.child.kill('SIGTERM');
    expect(await bot.exit).toBe(0);
  }, 180_000);

  test('when a production dependency is missing from it, then the bot does not start and says which', async () => {
    // restify, which the server loads at start; removed last, as the other tests need it.
    expect(readdirSync(join(dir, 'node_modules'))).toContain('restify');
    rmSync(join(dir, 'node_modules', 'restify'), { recursive: true, force: true });
    const bot = start(dir, await env());
    children.push(bot.child);

    expect(await bot.exit).toBe(1);
    expect(bot.output()).toMatch(/Cannot find module 'restify'/);
  }, 180_000);
});
