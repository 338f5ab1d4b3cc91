/**
 * Local mode as a person starts it: `node dist/src/local/start.js` (what `npm start` runs after building) as a
 * child process, with its embedded Azurite and the Agents Playground, on free loopback ports and a data folder
 * of the test's choosing. It is stopped with SIGINT, as Ctrl-C stops it, and never outlives the test run.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync } from 'node:fs';
import https from 'node:https';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium } from 'playwright-core';
import { variables } from '../../src/config';
import type { DemoUser } from '../../src/local/demo-identities';

const root = join(__dirname, '../..');

export interface LocalModeSettings {
  port: number;
  storagePort: number;
  playgroundPort: number;
  tenantPort: number;
  dataDir: string;
}

export interface StopResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** It had not exited within the time allowed and was killed. */
  killed: boolean;
  output: string;
}

export interface LocalMode {
  /** The address start.js printed ("Open the Agents Playground: ..."). */
  playgroundUrl: string;
  /** Calls the local tenant has answered, by method and route ("POST /directoryObjects/{id}/checkMemberGroups"). */
  tenantCalls(): Promise<Record<string, number>>;
  output(): string;
  /** SIGINT, then waits for the exit; SIGKILLs the process group when it takes longer than `withinMs`. */
  stop(withinMs?: number): Promise<StopResult>;
}

/** Distinct ports that were free on 127.0.0.1 a moment ago (all held open together, so they differ). */
export async function freeLoopbackPorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer().listen(0, '127.0.0.1');
      servers.push(server);
      await once(server, 'listening');
    }
    return servers.map((server) => (server.address() as AddressInfo).port);
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((done) => server.close(() => done()))));
  }
}

/**
 * Settings for a local mode of a test's own: a new data folder under the system's temporary folder (named from
 * `prefix`; the test removes it) and free loopback ports, with `extraPorts` more for what else the test starts.
 */
export async function freshLocalModeSettings(
  prefix: string,
  extraPorts = 0,
): Promise<{ settings: LocalModeSettings; extraPorts: number[] }> {
  const [port, storagePort, playgroundPort, tenantPort, ...extra] = await freeLoopbackPorts(4 + extraPorts);
  const dataDir = mkdtempSync(join(tmpdir(), prefix));
  return {
    settings: {
      port: port!,
      storagePort: storagePort!,
      playgroundPort: playgroundPort!,
      tenantPort: tenantPort!,
      dataDir,
    },
    extraPorts: extra,
  };
}

/** The environment of a person who has configured nothing: no Registrar variable but the ones given. */
function localModeEnv(settings: LocalModeSettings): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(variables)) delete env[name];
  // What the test run's global setup adds for other tests (its Azurite, its certificates).
  for (const name of Object.keys(env)) if (name.startsWith('TEST_')) delete env[name];
  return {
    ...env,
    PORT: String(settings.port),
    LOCAL_STORAGE_PORT: String(settings.storagePort),
    LOCAL_PLAYGROUND_PORT: String(settings.playgroundPort),
    LOCAL_TENANT_PORT: String(settings.tenantPort),
    LOCAL_DATA_DIR: settings.dataDir,
    LOG_LEVEL: 'info',
  };
}

/** The tenant's admin API, over https with the certificate local mode made in its data folder. */
function tenantCalls(tenantUrl: string, dataDir: string): Promise<Record<string, number>> {
  const ca = readFileSync(join(dataDir, 'certs', 'tenant-cert.pem'));
  return new Promise((resolve, reject) => {
    https
      .get(`${tenantUrl}/_emulator/counters`, { ca }, (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => resolve((JSON.parse(body) as { calls: Record<string, number> }).calls));
      })
      .on('error', reject);
  });
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Kills start.js and what it spawned (its own process group); Azurite and the bot also stop themselves when start.js is gone. */
function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

export async function startLocalMode(settings: LocalModeSettings, readyWithinMs = 90_000): Promise<LocalMode> {
  const child = spawn(process.execPath, [join(root, 'dist/src/local/start.js')], {
    cwd: root,
    env: localModeEnv(settings),
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so that a failed test can kill the Playground with it (start.js does not
    // stop its Playground when it is killed with SIGKILL).
    detached: true,
  });
  // Should the test worker exit while it runs (a crash, a timeout), it goes too.
  const killOnExit = () => killGroup(child);
  process.once('exit', killOnExit);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => process.removeListener('exit', killOnExit));

  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));

  let stopping: Promise<StopResult> | undefined;
  const stop = (withinMs = 15_000): Promise<StopResult> =>
    (stopping ??= (async () => {
      let killed = false;
      if (!hasExited(child)) {
        child.kill('SIGINT');
        const timer = setTimeout(() => {
          killed = true;
          killGroup(child);
        }, withinMs);
        await exited;
        clearTimeout(timer);
      }
      return { code: child.exitCode, signal: child.signalCode, killed, output };
    })());

  const deadline = Date.now() + readyWithinMs;
  for (;;) {
    const url = /Open the Agents Playground:\s+(http:\/\/\S+)/.exec(output)?.[1];
    const tenantUrl = /Local tenant \(Graph\/Entra\):\s+(https:\/\/\S+)/.exec(output)?.[1];
    if (url && tenantUrl)
      return {
        playgroundUrl: url,
        output: () => output,
        stop,
        tenantCalls: () => tenantCalls(tenantUrl, settings.dataDir),
      };
    if (hasExited(child)) throw new Error(`local mode exited (code ${child.exitCode}) before it was ready:\n${output}`);
    if (Date.now() > deadline) {
      await stop(5_000);
      throw new Error(`local mode printed no Playground address within ${readyWithinMs / 1000} s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Debian's Chromium, headless, with nothing that reaches the network on its own. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/**
 * Makes the Playground pages of `context` act as `user` (one of its configured users): the Playground has no way to
 * switch people, and its client takes the current user from this one response. Card clicks then reach the bot
 * from that person; typed messages still come from the configured current user.
 */
export async function actAs(context: BrowserContext, user: DemoUser): Promise<void> {
  await context.route('**/_internal/v1/config', async (route) => {
    const response = await route.fetch();
    const body = (await response.json()) as { config: { currentUser: unknown; users: { id: string }[] } };
    const configured = body.config.users.find((u) => u.id === user.id);
    if (!configured) {
      await route.fulfill({
        status: 500,
        contentType: 'text/plain',
        body: `${user.name} (${user.id}) is not among the Playground's users, so a page cannot act as them`,
      });
      return;
    }
    // users[] stays as it is: the team's and chats' member lists point at its ids.
    body.config.currentUser = configured;
    await route.fulfill({ response, json: body });
  });
}
