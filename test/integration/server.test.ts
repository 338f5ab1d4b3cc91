/**
 * The HTTP edge: liveness, readiness against the real storage, malformed requests, loopback in local mode,
 * and a stop that lets turns in flight finish.
 */
import { loadConfig } from '../../src/config';
import { startRuntime } from '../../src/runtime';
import { createLogger } from '../../src/lib/logger';
import { startAzurite } from '../../src/local/azurite';
import { alex, demoTenantId, localDefaults } from '../../src/local/demo-identities';
import { FakeConnector } from '../helpers/connector';
import { LogCapture } from '../helpers/logs';
import { type TestRegistrar, startRegistrar, uniqueTablePrefix } from '../helpers/registrar';
import { Teams, personalChat } from '../helpers/teams';

describe('the HTTP server', () => {
  let registrar: TestRegistrar;

  beforeAll(async () => {
    registrar = await startRegistrar();
  });

  afterAll(async () => {
    await registrar.stop();
  });

  test('when /healthz is asked, then it answers 200', async () => {
    const response = await fetch(`${registrar.url}/healthz`);

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'alive' });
  });

  test('when /readyz is asked and storage answers, then it answers 200', async () => {
    const response = await fetch(`${registrar.url}/readyz`);

    expect(response.status).toBe(200);
  });

  test('when there is no bot identity, then the server listens on loopback only', () => {
    expect(registrar.config.mode).toBe('local');
    expect(new URL(registrar.url).hostname).toBe('127.0.0.1');
  });

  test.each([
    ['not JSON', 'this is not json', 'application/json'],
    ['JSON without a type', JSON.stringify({ text: 'hi' }), 'application/json'],
    ['an array', JSON.stringify([1, 2]), 'application/json'],
  ])('when /api/messages receives %s, then it answers 400 and runs nothing', async (_name, body, contentType) => {
    const response = await fetch(`${registrar.url}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': contentType },
      body,
    });

    expect(response.status).toBe(400);
  });

  test('when /api/messages receives an activity over the size limit, then it is refused', async () => {
    const response = await fetch(`${registrar.url}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'message', text: 'x'.repeat(2 * 1024 * 1024) }),
    });

    expect(response.status).toBe(413);
  });
});

describe('readiness when storage goes away', () => {
  test('when the storage stops answering, then /readyz answers 503 while /healthz stays 200', async () => {
    const azurite = await startAzurite({ inMemory: true, port: 0 });
    const env = {
      STORAGE_CONNECTION_STRING: azurite.connectionString,
      STORAGE_TABLE_PREFIX: uniqueTablePrefix(),
      LOG_LEVEL: 'silent',
    };
    const config = loadConfig(env, localDefaults);
    const logger = createLogger({ level: 'silent', destination: new LogCapture() });
    const runtime = await startRuntime(config, logger, { port: 0, sweepIntervalMs: 0 });
    const server = runtime;
    try {
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);

      await azurite.stop();

      expect((await fetch(`${server.url}/readyz`)).status).toBe(503);
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    } finally {
      await runtime.stop();
      await azurite.stop();
    }
  });
});

describe('stopping', () => {
  test('when the server is stopped during a turn, then the turn finishes and its reply is delivered', async () => {
    const connector = await new FakeConnector().start();
    const registrar = await startRegistrar();
    const teams = new Teams(registrar.url, connector);
    try {
      connector.latency.delayMs = 1500;
      const inFlight = teams.post(teams.message(personalChat(alex, demoTenantId), alex, 'help'));
      await new Promise((r) => setTimeout(r, 300));

      const stopped = registrar.stop();
      const result = await inFlight;
      await stopped;

      expect(result.status).toBe(200);
      expect(connector.cards()).toHaveLength(1);
      await expect(fetch(`${registrar.url}/healthz`)).rejects.toThrow();
    } finally {
      await registrar.stop();
      await connector.stop();
    }
  });
});
