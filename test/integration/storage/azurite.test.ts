/**
 * The embedded Azurite: data kept across a graceful restart, no orphan when the parent is killed, and clear
 * failures when it cannot start.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { TableStore } from '../../../src/adapters/storage/table-store';
import { startAzurite, type LocalAzurite } from '../../../src/local/azurite';

const greeting = { conversationId: '19:general@thread.tacv2', greetedAt: '2026-01-01T00:00:00.000Z' };

function isListening(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}

async function waitUntilClosed(port: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!(await isListening(port))) return true;
    await delay(100);
  }
  return false;
}

/** If a test failed half-way, the Azurite it started may still run: find it by its port and end it. */
async function killAzuriteOnPort(port: number): Promise<void> {
  const pids = await readdir('/proc').catch(() => []);
  for (const pid of pids.filter((name) => /^\d+$/.test(name))) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes('azurite') && cmdline.includes(`--tablePort\0${port}\0`)) process.kill(Number(pid), 'SIGKILL');
  }
}

test('when Azurite with a location is stopped and started again, then the data written just before the stop is there', async () => {
  const location = await mkdtemp(join(tmpdir(), 'registrar-azurite-'));
  let azurite: LocalAzurite | undefined;
  try {
    azurite = await startAzurite({ location });
    const first = new TableStore({ connectionString: azurite.connectionString, tablePrefix: 'persist' });
    await first.init();
    // Well within LokiJS's 5 s autosave: only the flush on a graceful stop can keep this.
    const written = await first.greetings.create('greeting', '19:general@thread.tacv2', greeting);
    await azurite.stop();

    azurite = await startAzurite({ location });
    const second = new TableStore({ connectionString: azurite.connectionString, tablePrefix: 'persist' });

    expect(await second.greetings.get('greeting', '19:general@thread.tacv2')).toEqual(written);
  } finally {
    await azurite?.stop();
    await rm(location, { recursive: true, force: true });
  }
});

test('when stop is called more than once, then every call resolves after the process has exited and the port is free', async () => {
  const azurite = await startAzurite({ inMemory: true });
  expect(await isListening(azurite.port)).toBe(true);
  expect(azurite.connectionString).toContain(`TableEndpoint=http://127.0.0.1:${azurite.port}/devstoreaccount1;`);

  await Promise.all([azurite.stop(), azurite.stop()]);
  await azurite.stop();

  expect(await isListening(azurite.port)).toBe(false);
});

test('when the parent process is killed with SIGKILL, then its Azurite exits and frees the port within a few seconds', async () => {
  // A separate Node process starts Azurite through the real module (TypeScript compiled on the fly) and prints the port.
  const script = `
    const fs = require('node:fs');
    const ts = require(${JSON.stringify(require.resolve('typescript'))});
    require.extensions['.ts'] = (module, filename) => {
      const options = { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true };
      module._compile(ts.transpileModule(fs.readFileSync(filename, 'utf8'), { compilerOptions: options }).outputText, filename);
    };
    require(${JSON.stringify(resolve(__dirname, '../../../src/local/azurite.ts'))})
      .startAzurite({ inMemory: true })
      .then((azurite) => console.log(JSON.stringify({ port: azurite.port })), (err) => { console.error(err); process.exit(1); });
  `;
  const parent = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let port: number | undefined;
  try {
    let stdout = '';
    let stderr = '';
    parent.stderr.on('data', (chunk: Buffer) => (stderr += String(chunk)));
    parent.stdout.on('data', (chunk: Buffer) => (stdout += String(chunk)));
    const deadline = Date.now() + 20_000;
    while (port === undefined && parent.exitCode === null && Date.now() < deadline) {
      port = (JSON.parse(stdout.split('\n')[0] || '{}') as { port?: number }).port;
      if (port === undefined) await delay(50);
    }
    if (port === undefined) throw new Error(`the parent did not report a port:\n${stderr}`);
    expect(await isListening(port)).toBe(true);

    parent.kill('SIGKILL');
    await once(parent, 'exit');

    expect(await waitUntilClosed(port, 5000)).toBe(true);
  } finally {
    if (parent.exitCode === null && parent.signalCode === null) parent.kill('SIGKILL');
    if (port !== undefined) await killAzuriteOnPort(port);
  }
});

describe('when the requested port is already taken', () => {
  const message =
    /port \d+ on 127\.0\.0\.1 is already in use\. Another Registrar may still be running: stop it\. Or set LOCAL_STORAGE_PORT/;

  test('by another server, then start fails with a message that says so and how to fix it', async () => {
    const blocker = createServer().listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    try {
      const { port } = blocker.address() as AddressInfo;
      await expect(startAzurite({ inMemory: true, port })).rejects.toThrow(message);
    } finally {
      blocker.close();
      await once(blocker, 'close');
    }
  });

  test('by a Registrar Azurite still running, then start fails with the same message and the first keeps serving', async () => {
    const running = await startAzurite({ inMemory: true });
    try {
      await expect(startAzurite({ inMemory: true, port: running.port })).rejects.toThrow(message);
      await expect(
        new TableStore({ connectionString: running.connectionString, tablePrefix: 'still' }).init(),
      ).resolves.toBeUndefined();
    } finally {
      await running.stop();
    }
  });
});

test('when Azurite exits before it is ready, then start fails with what Azurite said', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'registrar-azurite-'));
  try {
    // A location under a regular file cannot be created.
    await writeFile(join(dir, 'file'), '');
    await expect(startAzurite({ location: join(dir, 'file', 'data') })).rejects.toThrow(
      /Azurite exited \(code 1\) before it was ready:[\s\S]*ENOTDIR/,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
