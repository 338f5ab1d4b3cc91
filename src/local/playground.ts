/**
 * The Microsoft 365 Agents Playground (a Teams-like web client with a mock connector), started for local mode
 * with Registrar's demo people. It is a child process: its own console output goes to its log file.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { alex, demoBot, demoTeam, demoTenantId, demoUsers, type DemoUser } from './demo-identities';

export interface Playground {
  /** The page to open in a browser. */
  url: string;
  port: number;
  logFile: string;
  stop(): Promise<void>;
}

export interface PlaygroundOptions {
  botEndpoint: string;
  port: number;
  dataDir: string;
  /** Called when the Playground exits without being asked to. */
  onUnexpectedExit?: (code: number | null) => void;
  /** Who uses this Playground (default Alex Wilber); `npm run playground -- megan` opens one as an approver. */
  currentUser?: DemoUser;
}

const READY_TIMEOUT_MS = 60_000;

/**
 * The Playground serves on every interface and has no option to change it. It drives a bot whose
 * authentication is off, so it must not be reachable from the network: this preload binds its servers to
 * the loopback interface. It also ends the Playground when its parent process ends.
 */
const loopbackOnly = [
  'import net from "node:net";',
  'const listen = net.Server.prototype.listen;',
  // Started with an IPC channel: when the launcher goes, even by SIGKILL, the channel closes and so does the Playground.
  'process.once("disconnect", () => process.exit(0));',
  'net.Server.prototype.listen = function (...args) {',
  '  if (typeof args[0] === "number" && typeof args[1] !== "string") args.splice(1, 0, "127.0.0.1");',
  '  else if (args[0] && typeof args[0] === "object" && args[0].host === undefined && args[0].path === undefined) args[0] = { ...args[0], host: "127.0.0.1" };',
  '  return listen.apply(this, args);',
  '};',
].join('\n');

function playgroundUser(user: DemoUser) {
  return {
    id: user.id,
    name: user.name,
    userPrincipleName: user.userPrincipalName, // sic: the Playground's schema spells it so
    aadObjectId: user.aadObjectId,
    givenName: user.givenName,
    surname: user.surname,
    email: user.email,
  };
}

/** The Playground's config (YAML; JSON is valid YAML). It requires exactly five `users` besides the current one. */
export function playgroundConfig(currentUser: DemoUser = alex): Record<string, unknown> {
  const others = [alex, ...demoUsers].filter((person) => person.aadObjectId !== currentUser.aadObjectId);
  if (others.length !== 5) throw new Error('the Agents Playground needs exactly 5 users besides the current one');
  return {
    version: '0.1.1',
    tenantId: demoTenantId,
    bot: { id: demoBot.id, name: demoBot.name },
    currentUser: playgroundUser(currentUser),
    users: others.map(playgroundUser),
    personalChat: { id: 'personal-chat-registrar' },
    groupChat: { id: 'group-chat-registrar', name: 'App owners' },
    team: { id: demoTeam.id, name: demoTeam.name, aadGroupId: demoTeam.aadGroupId, channels: demoTeam.channels },
  };
}

function playgroundCli(): string {
  const manifest = require.resolve('@microsoft/m365agentsplayground/package.json');
  const { bin } = JSON.parse(readFileSync(manifest, 'utf8')) as { bin: Record<string, string> };
  return join(dirname(manifest), bin.agentsplayground ?? 'cli.js');
}

export async function startPlayground(options: PlaygroundOptions): Promise<Playground> {
  const dataDir = resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const configFile = join(dataDir, 'm365agentsplayground.yml');
  const logFile = join(dataDir, 'playground.log');
  writeFileSync(configFile, `${JSON.stringify(playgroundConfig(options.currentUser), null, 2)}\n`);
  writeFileSync(logFile, '');

  let cli: string;
  try {
    cli = playgroundCli();
  } catch {
    throw new Error(
      'The Microsoft 365 Agents Playground is not installed. Run "npm ci" (it is a development dependency).',
    );
  }

  const child: ChildProcess = spawn(
    process.execPath,
    [
      `--import=data:text/javascript,${encodeURIComponent(loopbackOnly)}`,
      cli,
      '-e',
      options.botEndpoint,
      '-c',
      'msteams',
      '-p',
      String(options.port),
      '--dt',
    ],
    {
      cwd: dataDir,
      env: {
        ...process.env,
        // Without it the Playground tries to open a browser (xdg-open) and dies when there is none.
        TEAMSAPPTESTER_BROWSER: 'none',
        M365_AGENTS_PLAYGROUND_CONFIG_PATH: configFile,
        M365_AGENTS_PLAYGROUND_LOGFILE: logFile,
      },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });

  let stopping = false;
  let ready = false;
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  void exited.then((code) => {
    // Before it is ready, an exit is a startup failure, reported by the rejection below.
    if (ready && !stopping) options.onUnexpectedExit?.(code);
  });

  const port = await Promise.race([
    waitForListening(logFile, options.port),
    exited.then((code) => {
      throw new Error(
        `The Agents Playground exited (code ${code}) before it was ready.\n${stderr}${errorLines(logFile)}\n` +
          `If port ${options.port} is taken, set LOCAL_PLAYGROUND_PORT.`,
      );
    }),
  ]).catch(async (err: unknown) => {
    stopping = true;
    child.kill('SIGTERM');
    throw err;
  });
  ready = true;

  return {
    url: `http://localhost:${port}`,
    port,
    logFile,
    async stop() {
      if (stopping) return;
      stopping = true;
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

/** The Playground logs "Listening on N" (N may differ from the port asked for when that is busy), then answers HTTP. */
async function waitForListening(logFile: string, requested: number): Promise<number> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let port: number | undefined;
  while (Date.now() < deadline) {
    port ??= Number(/Listening on (\d+)/.exec(tail(logFile))?.[1]) || undefined;
    if (port) {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/`);
        if (response.ok) return port;
      } catch {
        // not answering yet
      }
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(
    `The Agents Playground did not become ready within ${READY_TIMEOUT_MS / 1000} s (asked for port ${requested}). Its log: ${logFile}`,
  );
}

/** The Playground's own explanation of a failure: its "error" lines. */
function errorLines(file: string): string {
  return tail(file)
    .split('\n')
    .filter((line) => line.startsWith('error'))
    .join('\n');
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').slice(-4000);
  } catch {
    return '';
  }
}
