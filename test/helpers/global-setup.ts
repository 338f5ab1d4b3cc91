/**
 * Jest global setup: one in-memory Azurite for the whole run, and a fresh build of dist/ for the tests that run
 * the bot as a real process (`node dist/src/...`, as npm run bot and npm start do). Workers are spawned after
 * this and inherit TEST_STORAGE_CONNECTION_STRING; each test keeps to its own tables (see storage.ts).
 * The unit project needs none of it: npm run test:unit runs it alone, without this (jest.unit.config.js).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { startAzurite, type LocalAzurite } from '../../src/local/azurite';
import { ensureDevCertificate } from '../../src/local/tenant/dev-cert';

/** Where the handle waits for global-teardown.ts, which runs in this same process. */
export type TestGlobals = typeof globalThis & { registrarTestAzurite?: LocalAzurite };

// Jest loads the hook from the module's default export.
export default async function globalSetup(): Promise<void> {
  const root = join(__dirname, '../..');
  // tsc -b: the production project, the local tenant and the tools, each rebuilt only when its sources changed.
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-b', join(root, 'tsconfig.build.json')], {
    cwd: root,
    stdio: 'inherit',
  });
  // The local tenant serves https; workers (spawned after this, always: see workerIdleMemoryLimit in
  // jest.config.js) trust its certificate through NODE_EXTRA_CA_CERTS, which Node reads only at start.
  const certificate = await ensureDevCertificate(join(root, 'test-results', 'certs'));
  process.env.NODE_EXTRA_CA_CERTS = certificate.caBundlePath;
  process.env.TEST_TENANT_CERT_DIR = join(root, 'test-results', 'certs');
  const azurite = await startAzurite({ inMemory: true, port: 0 });
  (globalThis as TestGlobals).registrarTestAzurite = azurite;
  process.env.TEST_STORAGE_CONNECTION_STRING = azurite.connectionString;
}
