/**
 * The embedded storage of local mode and of the tests: Azurite's table service alone, in a child process so
 * that the bot's event loop never waits on it, listening on loopback only.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { get } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

export interface LocalAzurite {
  port: number;
  connectionString: string;
  /** Closes Azurite gracefully (its data is flushed to disk) and resolves once the process has exited. */
  stop(): Promise<void>;
}

export interface AzuriteOptions {
  /** Folder for the data, kept across restarts. Without it, the data lives in memory. */
  location?: string;
  /** Keep nothing on disk (the default when there is no location). */
  inMemory?: boolean;
  /** 0 or omitted: any free port. */
  port?: number;
  host?: string;
}

/** Azurite's well-known development account; not a secret. */
const accountKey = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
const readyTimeoutMs = 20_000;
const stopTimeoutMs = 10_000;

/*
 * Loaded into the Azurite process before Azurite. When the IPC channel closes, either because stop()
 * disconnects or because the parent died (even by SIGKILL), Azurite closes as on Ctrl+C, which flushes its
 * LokiJS database; so it never outlives us holding the port. Writes to the pipes of a dead parent must not
 * crash it before the flush. A data: URL, because a separate .js file would not be copied into dist/ by tsc.
 */
const guard = `
process.stdout.on('error', () => {});
process.stderr.on('error', () => {});
process.once('disconnect', () => {
  setTimeout(() => process.exit(0), ${stopTimeoutMs - 1000}).unref();
  if (process.listenerCount('SIGINT') > 0) process.emit('SIGINT'); else process.exit(0);
});
`;

class PortTaken extends Error {
  constructor(host: string, port: number) {
    super(
      `Cannot start the local storage (Azurite): port ${port} on ${host} is already in use. ` +
        'Another Registrar may still be running: stop it. Or set LOCAL_STORAGE_PORT to a free port.',
    );
    this.name = 'PortTaken';
  }
}

export async function startAzurite(options: AzuriteOptions = {}): Promise<LocalAzurite> {
  const host = options.host ?? '127.0.0.1';
  if (options.inMemory && options.location !== undefined) {
    throw new Error('startAzurite: give either a location (data kept on disk) or inMemory, not both.');
  }
  const location = options.inMemory ? undefined : options.location;
  const fixedPort = options.port ? options.port : undefined;
  // A port we picked can be taken by someone else before Azurite binds it; then we pick again.
  for (let attempt = 1; ; attempt += 1) {
    const port = fixedPort ?? (await freePort(host));
    try {
      return await launch(host, port, location);
    } catch (err) {
      if (fixedPort !== undefined || !(err instanceof PortTaken) || attempt === 3) throw err;
    }
  }
}

/** Azurite is a development dependency: a production install (the Docker image, npm run bundle) has none. */
function azuriteMain(): string {
  try {
    return require.resolve('azurite/dist/src/table/main.js');
  } catch {
    throw new Error(
      'Local mode (no BOT_ID) starts Azurite, a development dependency this installation does not have. Set BOT_ID and STORAGE_ACCOUNT_URL to run in Azure, or install everything with npm ci for local mode.',
    );
  }
}

async function launch(host: string, port: number, location: string | undefined): Promise<LocalAzurite> {
  // Checked first so that the message is clear, and so that another server on the port is never taken for Azurite.
  if (!(await canListen(host, port))) throw new PortTaken(host, port);

  const args = [
    '--tableHost',
    host,
    '--tablePort',
    String(port),
    '--silent',
    '--disableTelemetry',
    '--skipApiVersionCheck',
  ];
  args.push(...(location === undefined ? ['--inMemoryPersistence'] : ['--location', resolve(location)]));
  const child = fork(azuriteMain(), args, {
    execArgv: ['--import', `data:text/javascript,${encodeURIComponent(guard)}`],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    // Its own process group: Ctrl+C in the terminal reaches the bot, which stops Azurite after its last write.
    detached: true,
    // Azurite's default workspace is its working directory: keep it out of the project.
    cwd: tmpdir(),
  });
  let output = '';
  const keep = (chunk: Buffer | string) => {
    output = (output + String(chunk)).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.on('error', (err) => keep(`${err.message}\n`));

  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= shutdown(child));
  try {
    await waitUntilAnswering(child, host, port, () => output);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    port,
    connectionString:
      `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${accountKey};` +
      `TableEndpoint=http://${host}:${port}/devstoreaccount1;`,
    stop,
  };
}

async function waitUntilAnswering(
  child: ChildProcess,
  host: string,
  port: number,
  output: () => string,
): Promise<void> {
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (hasExited(child)) {
      if (/EADDRINUSE/.test(output())) throw new PortTaken(host, port);
      throw new Error(`Azurite exited (code ${child.exitCode ?? child.signalCode}) before it was ready:\n${output()}`);
    }
    if (await answersAsAzurite(host, port)) return;
    if (Date.now() > deadline) {
      throw new Error(`Azurite did not answer on ${host}:${port} within ${readyTimeoutMs / 1000} s:\n${output()}`);
    }
    await delay(100);
  }
}

function answersAsAzurite(host: string, port: number): Promise<boolean> {
  return new Promise((done) => {
    // No keep-alive agent: a pooled socket would outlive the check.
    const request = get({ host, port, path: '/', agent: false, timeout: 1000 }, (response) => {
      response.resume();
      done(String(response.headers.server ?? '').startsWith('Azurite-Table'));
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => done(false));
  });
}

async function shutdown(child: ChildProcess): Promise<void> {
  if (hasExited(child)) return;
  const exited = once(child, 'exit');
  // The guard turns the disconnect into a graceful close; SIGKILL only if that hangs.
  if (child.connected) child.disconnect();
  else child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
  try {
    await exited;
  } finally {
    clearTimeout(killer);
  }
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

async function freePort(host: string): Promise<number> {
  const server = createServer().listen(0, host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

async function canListen(host: string, port: number): Promise<boolean> {
  const server = createServer();
  try {
    server.listen(port, host);
    await once(server, 'listening');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') return false;
    throw err;
  }
  server.close();
  await once(server, 'close');
  return true;
}
