/**
 * Benchmark: what one turn costs Registrar, beside a bare teams-ai bot on the same stack (src/bot/bare-bot.ts:
 * restify, botbuilder's CloudAdapter and a teams-ai Application that answers with the same help card and does
 * nothing else). Two turns: a `help` message (answered through the Bot Connector) and a `help.show` click (an
 * Action.Execute invoke, answered in the HTTP response).
 *
 * Each bot runs in a process of its own, so that its CPU time (process.cpuUsage, user + system) is the bot's only,
 * not the driver's, the connector's or Azurite's; Registrar runs in local mode on an in-memory Azurite, logging at
 * info to a sink that discards the lines (they are still formatted and redacted). Per turn: the bot's CPU time over
 * a run divided by its turns, and the median latency a client sees, at concurrency 1 and 8. The two bots take turns
 * run by run, and each figure is the median of the rounds, so that other load on the machine falls on both.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { startBareBot } from '../src/bot/bare-bot';
import { renderHelp } from '../src/cards/cards';
import { loadConfig } from '../src/config';
import { commands } from '../src/domain/commands';
import { createLogger } from '../src/lib/logger';
import { startAzurite } from '../src/local/azurite';
import { alex, demoBot, demoTenantId, demoUsers, localDefaults } from '../src/local/demo-identities';
import { startRuntime } from '../src/runtime';

export type TurnKind = 'help' | 'help.show';
export type BotKind = 'registrar' | 'bare';

export interface TurnCostRow {
  bot: BotKind;
  turn: TurnKind;
  concurrency: number;
  turns: number;
  /** The bot process's CPU time per turn, in ms: the median over the rounds. */
  cpuMsPerTurn: number;
  /** The median latency of a turn as the client sees it, in ms: the median over the rounds. */
  p50Ms: number;
}

export interface TurnCostOptions {
  /** Turns measured per run (default 400). */
  turns?: number;
  /** Turns before the first run of each bot, to let the JIT settle (default 400). */
  warmup?: number;
  /** Runs of each bot, turn and concurrency; the figures are their medians (default 3). */
  rounds?: number;
}

export const TURN_KINDS: readonly TurnKind[] = ['help', 'help.show'];
export const CONCURRENCIES: readonly number[] = [1, 8];

/** A Bot Connector that accepts every activity the bots send (the help reply), as little work as can be. */
async function startSinkConnector(): Promise<{ url: string; stop(): Promise<void> }> {
  let counter = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: `activity-${++counter}` }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    stop: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** One person's personal chat with the bot, as Teams sends it. */
function activityFor(kind: TurnKind, lane: number, serviceUrl: string): Record<string, unknown> {
  const person = [alex, ...demoUsers][lane % (demoUsers.length + 1)]!;
  const base = {
    id: randomUUID(),
    timestamp: new Date().toISOString(),
    channelId: 'msteams',
    serviceUrl,
    from: { id: `29:${person.aadObjectId}`, name: person.name, aadObjectId: person.aadObjectId },
    recipient: { id: `28:${demoBot.id}`, name: demoBot.name },
    conversation: { id: `a:personal-${person.aadObjectId}`, conversationType: 'personal', tenantId: demoTenantId },
    channelData: { tenant: { id: demoTenantId } },
    locale: 'en-US',
  };
  if (kind === 'help') return { ...base, type: 'message', text: 'help', textFormat: 'plain' };
  return {
    ...base,
    type: 'invoke',
    name: 'adaptiveCard/action',
    replyToId: randomUUID(),
    value: { action: { type: 'Action.Execute', verb: 'help.show', data: {} }, trigger: 'manual' },
  };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

/** Posts one activity and resolves with the latency in ms; a status other than 200 is an error. */
function post(url: string, activity: Record<string, unknown>): Promise<number> {
  const body = JSON.stringify(activity);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${url}/api/messages`,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const elapsed = performance.now() - started;
          if (res.statusCode !== 200) {
            reject(new Error(`turn answered ${res.statusCode}: ${Buffer.concat(chunks).toString().slice(0, 300)}`));
            return;
          }
          if (activity.type === 'invoke' && !Buffer.concat(chunks).toString().includes('AdaptiveCard')) {
            reject(new Error('the help.show click was not answered with a card'));
            return;
          }
          resolve(elapsed);
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** A bot in a child process (this file, `serve`), which reports its own CPU time when asked. */
class BotProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
  ) {}

  static async start(kind: BotKind, storageConnectionString: string): Promise<BotProcess> {
    const child = fork(__filename, ['serve', kind, storageConnectionString], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const url = await new Promise<string>((resolve, reject) => {
      child.once('message', (m: { url?: string }) => (m.url ? resolve(m.url) : reject(new Error(String(m)))));
      child.once('exit', (code) => reject(new Error(`the ${kind} bot exited (${code}) before it started`)));
    });
    return new BotProcess(child, url);
  }

  /** The child's process.cpuUsage(), in microseconds (user + system). */
  cpuMicros(): Promise<number> {
    return new Promise((resolve) => {
      this.child.once('message', (m: { cpu: number }) => resolve(m.cpu));
      this.child.send('cpu');
    });
  }

  async stop(): Promise<void> {
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.send('stop');
    await exited;
  }
}

async function drive(
  bot: BotProcess,
  kind: TurnKind,
  concurrency: number,
  turns: number,
  serviceUrl: string,
): Promise<{ cpuMsPerTurn: number; p50Ms: number }> {
  const latencies: number[] = [];
  let next = 0;
  const cpuBefore = await bot.cpuMicros();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, lane) => {
      while (next < turns) {
        next += 1;
        latencies.push(await post(bot.url, activityFor(kind, lane, serviceUrl)));
      }
    }),
  );
  const cpuAfter = await bot.cpuMicros();
  latencies.sort((a, b) => a - b);
  return { cpuMsPerTurn: (cpuAfter - cpuBefore) / 1000 / turns, p50Ms: latencies[Math.floor(latencies.length / 2)]! };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export async function benchTurnCost(options: TurnCostOptions = {}): Promise<TurnCostRow[]> {
  const turns = options.turns ?? 400;
  const warmup = options.warmup ?? 400;
  const rounds = options.rounds ?? 3;
  const azurite = await startAzurite({ inMemory: true, port: 0 });
  const connector = await startSinkConnector();
  const bots: Partial<Record<BotKind, BotProcess>> = {};
  try {
    for (const kind of ['bare', 'registrar'] as const)
      bots[kind] = await BotProcess.start(kind, azurite.connectionString);
    for (const bot of Object.values(bots))
      for (const kind of TURN_KINDS) await drive(bot, kind, 8, warmup / TURN_KINDS.length, connector.url);
    const rows: TurnCostRow[] = [];
    for (const turn of TURN_KINDS) {
      for (const concurrency of CONCURRENCIES) {
        const runs: Record<BotKind, Array<{ cpuMsPerTurn: number; p50Ms: number }>> = { bare: [], registrar: [] };
        for (let round = 0; round < rounds; round += 1) {
          for (const kind of ['bare', 'registrar'] as const)
            runs[kind].push(await drive(bots[kind]!, turn, concurrency, turns, connector.url));
        }
        for (const kind of ['bare', 'registrar'] as const) {
          rows.push({
            bot: kind,
            turn,
            concurrency,
            turns,
            cpuMsPerTurn: median(runs[kind].map((r) => r.cpuMsPerTurn)),
            p50Ms: median(runs[kind].map((r) => r.p50Ms)),
          });
        }
      }
    }
    return rows;
  } finally {
    for (const bot of Object.values(bots)) await bot.stop();
    await connector.stop();
    await azurite.stop();
    agent.destroy();
  }
}

/** The table `npm run bench` prints: Registrar and the bare bot side by side, and their ratio. */
export function reportTurnCost(rows: readonly TurnCostRow[]): string[] {
  const lines = [
    `turn-cost: CPU per turn (bot process) and p50 latency, Registrar beside a bare teams-ai bot on the same stack (${rows[0]?.turns ?? 0} turns a run, median of the runs)`,
  ];
  for (const turn of TURN_KINDS) {
    for (const concurrency of CONCURRENCIES) {
      const of = (bot: BotKind) => rows.find((r) => r.bot === bot && r.turn === turn && r.concurrency === concurrency);
      const registrar = of('registrar');
      const bare = of('bare');
      if (!registrar || !bare) continue;
      lines.push(
        `  ${turn.padEnd(9)} c=${concurrency}: CPU ${registrar.cpuMsPerTurn.toFixed(3)} ms/turn vs ${bare.cpuMsPerTurn.toFixed(3)} bare (×${(registrar.cpuMsPerTurn / bare.cpuMsPerTurn).toFixed(2)}); p50 ${registrar.p50Ms.toFixed(2)} ms vs ${bare.p50Ms.toFixed(2)} bare (×${(registrar.p50Ms / bare.p50Ms).toFixed(2)})`,
      );
    }
  }
  return lines;
}

/** The child: one bot, started as `npm run bot` would start it in local mode (Registrar) or bare. */
async function serve(kind: BotKind, storageConnectionString: string): Promise<void> {
  let stop: () => Promise<void>;
  let url: string;
  if (kind === 'bare') {
    const bare = await startBareBot(renderHelp({ commands }));
    ({ url, stop } = bare);
  } else {
    const config = loadConfig(
      {
        STORAGE_CONNECTION_STRING: storageConnectionString,
        STORAGE_TABLE_PREFIX: `bench${randomUUID().slice(0, 8)}`,
        LOG_LEVEL: 'info',
      },
      localDefaults,
    );
    const sink = new Writable({ write: (_chunk, _encoding, done) => done() });
    const runtime = await startRuntime(config, createLogger({ level: config.logLevel, destination: sink }), {
      port: 0,
      sweepIntervalMs: 0,
    });
    url = runtime.url;
    stop = () => runtime.stop();
  }
  process.on('message', (message) => {
    if (message === 'cpu') {
      const { user, system } = process.cpuUsage();
      process.send!({ cpu: user + system });
    } else if (message === 'stop') {
      void stop().finally(() => process.exit(0));
    }
  });
  process.send!({ url });
}

if (require.main === module && process.argv[2] === 'serve') {
  serve(process.argv[3] as BotKind, process.argv[4]!).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
