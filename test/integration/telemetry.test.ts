/**
 * Telemetry, end to end: the bot as a real process (`node dist/src/index.js`) with APPLICATIONINSIGHTS_CONNECTION_STRING
 * naming a local ingestion endpoint, the local tenant as Microsoft Graph and sign-in, and Azurite as storage. What the
 * Azure Monitor exporter really sends is read back: the requests, the Graph, sign-in, table and Bot Connector
 * dependencies, the exception of a failed turn, and the exception of a crash. Without the variable, no OpenTelemetry
 * module is loaded and nothing is sent. Small preload scripts (NODE_OPTIONS=--require) report the modules the bot
 * loaded and make it crash on cue; the distro, the exporter and the instrumentations are the real ones.
 */
import { type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { alex, demoTenantId } from '../../src/local/demo-identities';
import { allRoutes } from '../../src/local/tenant/routes';
import { demoTenant } from '../../src/local/tenant/seed';
import type { RunningTenant } from '../../src/local/tenant/server';
import { type BotProcess, killed, startBotProcess } from '../helpers/bot-process';
import { FakeConnector } from '../helpers/connector';
import { type Envelope, IngestionEndpoint } from '../helpers/ingestion';
import { deleteTables, testStorageConnectionString, uniqueTablePrefix } from '../helpers/registrar';
import { Teams, cardText, personalChat, teamChannel } from '../helpers/teams';
import { registrarEnv, startTestTenant } from '../helpers/tenant';

jest.setTimeout(120_000);

const STOP_TIMEOUT_MS = 60_000;

/** Sends SIGTERM and resolves with the exit code once the process is gone (SIGKILL after STOP_TIMEOUT_MS). */
function terminate(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
    child.kill('SIGTERM');
  });
}

const baseData = (e: Envelope) => e.data?.baseData ?? {};

/**
 * Preloaded into the bot (NODE_OPTIONS=--require): at exit, reports how many OpenTelemetry modules it loaded and
 * the order in which the distro and the instrumented libraries were first loaded (require.cache keeps load order).
 */
const moduleProbe = `
process.on('exit', () => {
  const keys = Object.keys(require.cache);
  const first = (re) => keys.findIndex((k) => re.test(k));
  process.stderr.write('module-probe ' + JSON.stringify({
    opentelemetry: keys.filter((k) => /[\\\\/]node_modules[\\\\/](@opentelemetry|@azure[\\\\/]monitor-opentelemetry)/.test(k)).length,
    distro: first(/[\\\\/]@azure[\\\\/]monitor-opentelemetry[\\\\/]/),
    later: [/[\\\\/]node_modules[\\\\/]restify[\\\\/]/, /[\\\\/]node_modules[\\\\/]botbuilder[\\\\/]/, /[\\\\/]@microsoft[\\\\/]microsoft-graph-client[\\\\/]/, /[\\\\/]@azure[\\\\/]data-tables[\\\\/]/, /[\\\\/]@azure[\\\\/]identity[\\\\/]/].map(first),
  }) + '\\n');
});
`;

/** Preloaded into the bot: SIGUSR2 makes a promise reject with nobody listening, as a bug would. */
const crashProbe = `process.on('SIGUSR2', () => { Promise.reject(new Error('test crash: nobody handled this rejection')); });`;

function probeReport(output: string): { opentelemetry: number; distro: number; later: number[] } {
  const line = /module-probe (\{.*\})/.exec(output)?.[1];
  if (!line) throw new Error(`no module-probe line in the bot's output:\n${output}`);
  return JSON.parse(line) as { opentelemetry: number; distro: number; later: number[] };
}

describe('telemetry to Application Insights', () => {
  const connectionString = testStorageConnectionString();
  const tableEndpoint = /TableEndpoint=([^;]+)/.exec(connectionString)?.[1]?.replace(/\/+$/, '') ?? '';
  const prefix = uniqueTablePrefix();
  const children: ChildProcess[] = [];
  let tenant: RunningTenant;
  let connector: FakeConnector;
  let env: Record<string, string>;
  let probes: string;

  beforeAll(async () => {
    tenant = await startTestTenant({ data: demoTenant().data, routes: allRoutes });
    connector = await new FakeConnector().start();
    probes = mkdtempSync(join(tmpdir(), 'registrar-telemetry-'));
    writeFileSync(join(probes, 'modules.js'), moduleProbe);
    writeFileSync(join(probes, 'crash.js'), crashProbe);
    env = {
      STORAGE_CONNECTION_STRING: connectionString,
      STORAGE_TABLE_PREFIX: prefix,
      LOG_LEVEL: 'info',
      ADMIN_IDS: alex.aadObjectId,
      REMINDER_CRON: 'off',
      ...registrarEnv(tenant),
    };
  });

  afterAll(async () => {
    await Promise.all(children.map((child) => killed(child, 'SIGKILL')));
    await connector?.stop();
    await tenant?.stop();
    await deleteTables(connectionString, prefix);
    if (probes) rmSync(probes, { recursive: true, force: true });
  });

  async function start(extra: Record<string, string>): Promise<BotProcess> {
    const bot = await startBotProcess({ ...env, ...extra });
    children.push(bot.child);
    return bot;
  }

  /**
   * Three turns: `setup reminders` (tables, the Bot Connector), `scan` (sign-in, Microsoft Graph, tables), and a
   * `help` whose replies go to a Bot Connector path that does not exist, so that the turn fails into onTurnError.
   */
  async function drive(bot: BotProcess): Promise<void> {
    const teams = new Teams(bot.url, connector);
    const chat = personalChat(alex, demoTenantId);
    const reminders = teamChannel(demoTenantId, 'Credential reminders');
    expect((await teams.post(teams.message(reminders, alex, 'setup reminders', { mentionBot: true }))).status).toBe(
      200,
    );
    const before = connector.sent.length;
    expect((await teams.post(teams.message(chat, alex, 'scan'))).status).toBe(200);
    const scanDone = () =>
      connector.sent
        .slice(before)
        .some(
          (s) =>
            s.conversationId === chat.conversation.id && cardText(s.activity.attachments).includes('Expiry scan done'),
        );
    await connector.waitFor(scanDone, 30_000);
    await teams.post({ ...teams.message(chat, alex, 'help'), serviceUrl: `${connector.url}gone/` });
    // The log line crosses the child's stdout pipe on its own time: wait for it rather than race it.
    const deadline = Date.now() + 20_000;
    while (!bot.output().includes('"msg":"turn failed"') && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 50));
    expect(bot.output()).toContain('"msg":"turn failed"');
  }

  test("when APPLICATIONINSIGHTS_CONNECTION_STRING is set, then requests, Graph, sign-in and table dependencies and a failed turn's exception reach Application Insights", async () => {
    expect(tableEndpoint).toMatch(/^http/);
    const ingestion = await new IngestionEndpoint().start();
    try {
      const bot = await start({
        APPLICATIONINSIGHTS_CONNECTION_STRING: ingestion.connectionString(),
        NODE_OPTIONS: `--require ${join(probes, 'modules.js')}`,
      });
      expect(bot.output()).toContain('"telemetry":"Application Insights"');
      await drive(bot);

      // SIGTERM: the bot stops cleanly, and what was buffered is exported before it goes.
      expect(await terminate(bot.child)).toBe(0);

      // The distro was loaded before restify, botbuilder, the Graph client, the Azure Tables SDK and @azure/identity.
      const modules = probeReport(bot.output());
      expect(modules.opentelemetry).toBeGreaterThan(0);
      expect(modules.distro).toBeGreaterThanOrEqual(0);
      for (const index of modules.later) expect(index).toBeGreaterThan(modules.distro);

      const requests = ingestion.ofType('Request');
      const dependencies = ingestion.ofType('RemoteDependency');
      const exceptions = ingestion.ofType('Exception');
      const operation = (e: Envelope | undefined) => e?.tags?.['ai.operation.id'];

      // The cloud role is Registrar, on every item.
      for (const envelope of [...requests, ...dependencies, ...exceptions])
        expect(envelope.tags?.['ai.cloud.role']).toBe('registrar');

      // Requests: the three turns, as POST /api/messages; the probes the test waited on for readiness are not traced.
      expect(requests.filter((r) => baseData(r).name === 'POST /api/messages')).toHaveLength(3);
      expect(requests.filter((r) => /\/(healthz|readyz)/.test(String(baseData(r).url)))).toEqual([]);

      // Microsoft Graph, through the Graph client's fetch: a dependency in the scan turn's operation, next to the
      // token request to the sign-in host (@azure/identity over https), the table calls (Azurite over http) and the
      // replies to the Bot Connector. The listing of applications (the scan's first, full, one; it takes the delta
      // links at /applications/delta before).
      const graphCall = dependencies.find((d) =>
        String(baseData(d).data).startsWith(`${tenant.url}/v1.0/applications?`),
      );
      expect(graphCall).toMatchObject({
        data: {
          baseData: {
            type: 'Http',
            name: 'GET /v1.0/applications',
            resultCode: '200',
            success: true,
            target: new URL(tenant.url).host,
          },
        },
      });
      const scanRequest = requests.find((r) => operation(r) === operation(graphCall));
      expect(scanRequest).toMatchObject({
        data: { baseData: { name: 'POST /api/messages', responseCode: '200', success: true } },
      });
      expect(graphCall?.tags?.['ai.operation.parentId']).toBe(baseData(scanRequest!).id);
      const inScan = dependencies
        .filter((d) => operation(d) === operation(scanRequest))
        .map((d) => String(baseData(d).data));
      expect(
        dependencies.filter((d) =>
          String(baseData(d).data).startsWith(`${tenant.url}/${tenant.tenantId}/oauth2/v2.0/token`),
        ).length,
      ).toBeGreaterThan(0);
      expect(inScan.filter((url) => url.startsWith(`${tableEndpoint}/`)).length).toBeGreaterThan(0);
      expect(inScan.filter((url) => url.startsWith(connector.url)).length).toBeGreaterThan(0);

      // The failed turn: its request is marked failed and holds the exception onTurnError got.
      const failedRequest = requests.find((r) => baseData(r).success === false);
      expect(failedRequest).toMatchObject({ data: { baseData: { name: 'POST /api/messages' } } });
      const failure = exceptions.find((e) => operation(e) === operation(failedRequest));
      expect(failure?.tags?.['ai.operation.parentId']).toBe(baseData(failedRequest!).id);
      expect(baseData(failure!).exceptions).toEqual([
        expect.objectContaining({ typeName: 'RestError', message: expect.stringContaining('no route POST /gone/') }),
      ]);

      // No secret left the process: not Registrar's client secret, not the storage account key, no bearer token.
      const sent = ingestion.bodies.join('\n');
      expect(sent).not.toContain(env.AZURE_CLIENT_SECRET);
      expect(sent).not.toContain(/AccountKey=([^;]+)/.exec(connectionString)![1]);
      expect(sent).not.toMatch(/Bearer |eyJ[A-Za-z0-9_-]{8,}\./);
    } finally {
      await ingestion.stop();
    }
  });

  test('when APPLICATIONINSIGHTS_CONNECTION_STRING is unset, then the bot says telemetry is off, loads no OpenTelemetry and sends nothing', async () => {
    const ingestion = await new IngestionEndpoint().start();
    try {
      // Set but empty, so that a developer's own variable does not leak in: the bot reads it as unset.
      const bot = await start({
        APPLICATIONINSIGHTS_CONNECTION_STRING: '',
        NODE_OPTIONS: `--require ${join(probes, 'modules.js')}`,
      });
      await drive(bot);

      expect(await terminate(bot.child)).toBe(0);

      expect(bot.output()).toContain('"telemetry":"off"');
      expect(probeReport(bot.output()).opentelemetry).toBe(0);
      expect(ingestion.hits).toEqual([]);
    } finally {
      await ingestion.stop();
    }
  });

  test('when the process crashes on an unhandled rejection, then the exception is exported before it exits 1', async () => {
    const ingestion = await new IngestionEndpoint().start();
    try {
      const bot = await start({
        APPLICATIONINSIGHTS_CONNECTION_STRING: ingestion.connectionString(),
        NODE_OPTIONS: `--require ${join(probes, 'crash.js')}`,
      });
      const exit = new Promise<number | null>((resolve) => bot.child.once('exit', (code) => resolve(code)));
      bot.child.kill('SIGUSR2');

      expect(await exit).toBe(1);

      expect(bot.output()).toContain('Unhandled rejection: Error: test crash: nobody handled this rejection');
      const crash = ingestion
        .ofType('Exception')
        .flatMap((e) => (baseData(e).exceptions as Array<{ message?: string }> | undefined) ?? []);
      expect(crash).toEqual([
        expect.objectContaining({ typeName: 'Error', message: 'test crash: nobody handled this rejection' }),
      ]);
    } finally {
      await ingestion.stop();
    }
  });
});
