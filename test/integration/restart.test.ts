/**
 * The bot as a real process (`node dist/src/index.js`, as `npm run bot` runs it), killed with SIGKILL and started
 * again: nothing it was told lives only in its memory.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';
import { killed, root, startBotProcess } from '../helpers/bot-process';
import { TableStore } from '../../src/adapters/storage/table-store';
import { alex, demoTenantId } from '../../src/local/demo-identities';
import { FakeConnector } from '../helpers/connector';
import { deleteTables, testStorageConnectionString, uniqueTablePrefix } from '../helpers/registrar';
import { Teams, cardText, teamChannel } from '../helpers/teams';

describe('a bot process that is killed and started again', () => {
  const connectionString = testStorageConnectionString();
  const prefix = uniqueTablePrefix();
  const env = {
    STORAGE_CONNECTION_STRING: connectionString,
    STORAGE_TABLE_PREFIX: prefix,
    LOG_LEVEL: 'info',
    ADMIN_IDS: alex.aadObjectId,
  };
  let connector: FakeConnector;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    connector = await new FakeConnector().start();
  });

  afterAll(async () => {
    await Promise.all(children.map((child) => killed(child, 'SIGKILL')));
    await connector.stop();
    await deleteTables(connectionString, prefix);
  });

  test('when it is SIGKILLed after the channels were named, then the new process still knows both channels', async () => {
    const approvals = teamChannel(demoTenantId, 'App approvals');
    const reminders = teamChannel(demoTenantId, 'Credential reminders');
    const first = await startBotProcess(env);
    children.push(first.child);
    const teamsA = new Teams(first.url, connector);
    expect((await teamsA.post(teamsA.message(approvals, alex, 'setup approvals', { mentionBot: true }))).status).toBe(
      200,
    );
    expect((await teamsA.post(teamsA.message(reminders, alex, 'setup reminders', { mentionBot: true }))).status).toBe(
      200,
    );

    await killed(first.child, 'SIGKILL');
    const second = await startBotProcess(env);
    children.push(second.child);
    const teamsB = new Teams(second.url, connector);
    const moved = teamChannel(demoTenantId, 'New approvals');
    await teamsB.post(teamsB.message(moved, alex, 'setup approvals', { mentionBot: true }));

    // The restarted bot knew the first approvals channel: its confirmation names what it replaced.
    const confirmation = connector.cards({ conversationId: moved.conversation.id });
    expect(cardText(confirmation[0]!.card)).toContain('App approvals');
    const store = new TableStore({ tablePrefix: prefix, connectionString });
    expect((await store.channels.get('channel', 'reminders'))?.value.address.conversation.id).toBe(
      reminders.conversation.id,
    );
  });

  test('when it receives SIGTERM, then it stops cleanly with exit code 0', async () => {
    const bot = await startBotProcess(env);
    children.push(bot.child);

    const exit = new Promise<number | null>((resolve) => bot.child.once('exit', (code) => resolve(code)));
    bot.child.kill('SIGTERM');

    expect(await exit).toBe(0);
    expect(bot.output()).toContain('"msg":"stopped"');
  });

  test('when its configuration is wrong, then it exits 1 and says which variable to fix', async () => {
    const child = spawn(process.execPath, [join(root, 'dist/src/index.js')], {
      cwd: root,
      env: { ...process.env, ...env, PORT: 'eighty' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));

    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));

    expect(code).toBe(1);
    expect(stderr).toContain('PORT must be a port number');
  });
});

describe('starting on a port that is taken', () => {
  test('when the bot port is already in use, then it exits 1 and says which port and which variables choose others', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as net.AddressInfo;
    const connectionString = testStorageConnectionString();
    const prefix = uniqueTablePrefix();
    try {
      const child = spawn(process.execPath, [join(root, 'dist/src/index.js')], {
        cwd: root,
        env: {
          ...process.env,
          STORAGE_CONNECTION_STRING: connectionString,
          STORAGE_TABLE_PREFIX: prefix,
          PORT: String(port),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));

      const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));

      expect(code).toBe(1);
      expect(stderr).toContain(`port ${port} on 127.0.0.1 is already in use`);
      expect(stderr).toContain('LOCAL_TENANT_PORT');
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
      await deleteTables(connectionString, prefix);
    }
  });
});
