/**
 * `npm run tenant`: the local tenant as a process, kept in a data folder (LOCAL_DATA_DIR, default .registrar):
 * its certificate in certs/, its signing key, and the directory in tenant.json (the demo seed on first start,
 * saved after every change and on Ctrl-C). Also a library: startLocalTenant() for local mode and tests.
 *
 * Variables: LOCAL_DATA_DIR and LOCAL_TENANT_PORT (default 8443, 0 = any free port; or --port N), read through
 * src/config.ts, and TENANT_FAULTS, fault settings as JSON (see FaultSettings in faults.ts), e.g.
 * TENANT_FAULTS='{"replicationDelayMs":2000,"throttle":{"capacity":50,"refillPerSecond":5}}'.
 */
import { join, resolve } from 'node:path';
import { loadConfig } from '../../config';
import { demoBot, localDefaults } from '../demo-identities';
import { parseFaultSettings } from './admin';
import { ensureDevCertificate } from './dev-cert';
import type { FaultSettings } from './faults';
import type { TenantLimits } from './limits';
import { sha256 } from './identity';
import { debouncedSaver, ensureSigningKey, loadTenant, saveTenant, tenantFile } from './persistence';
import { allRoutes } from './routes';
import { DEMO_REGISTRAR_SECRET, demoTenant } from './seed';
import { DEMO_B2C_REGISTRAR_SECRET, demoB2cIds, demoB2cTargetSetting, demoB2cTenant } from './seed-b2c';
import { type RunningTenant, startTenantServer } from './server';

export const DEFAULT_TENANT_PORT = 8443;

export interface LocalTenant {
  tenant: RunningTenant;
  url: string;
  tenantId: string;
  /** Registrar's client id, and its secret when it is the demo seed's local-only one. */
  registrar: { clientId: string; clientSecret?: string } | undefined;
  /** Point NODE_EXTRA_CA_CERTS of processes that call the tenant here. */
  caBundlePath: string;
  dataDir: string;
  /** True when this start made the tenant from the demo seed (no tenant.json yet). */
  seeded: boolean;
  /**
   * The TARGET_DIRECTORY_B2C setting for the demo B2C directory, while the tenant serves it and Registrar's demo
   * secret there still works; undefined otherwise.
   */
  readonly demoB2cTarget: string | undefined;
  /** Saves what is pending and stops the server. */
  stop(): Promise<void>;
}

/** Starts the local tenant from a data folder: loads tenant.json or seeds the demo tenant, and saves after changes. */
export async function startLocalTenant(options: {
  dataDir: string;
  port?: number;
  faults?: FaultSettings;
  /** Graph's documented query limits (limits.ts); default as Graph. */
  limits?: TenantLimits;
  saveDelayMs?: number;
}): Promise<LocalTenant> {
  const dataDir = resolve(options.dataDir);
  const certificate = await ensureDevCertificate(join(dataDir, 'certs'));
  const signingKey = ensureSigningKey(dataDir);
  const saved = loadTenant(dataDir);
  const demo = saved ? undefined : demoTenant();
  const data = saved ?? demo!.data;
  // A tenant saved before the local tenant served a B2C directory gets the demo one beside it (nothing else changes).
  const upgraded = !!saved && !saved.directories;
  if (upgraded) saved.directories = [demoB2cTenant().data];
  if (demo || upgraded) saveTenant(dataDir, data);
  // Saves run after a change, so after the server below has started.
  const saver = debouncedSaver(() => saveTenant(dataDir, tenant.state().data), options.saveDelayMs);
  // The demo seed's Registrar, if the saved tenant still has it (its secret is a published constant).
  const registrar = demo?.registrar ?? { clientId: demoBot.id, clientSecret: DEMO_REGISTRAR_SECRET };
  const tenant: RunningTenant = await startTenantServer({
    certificate,
    data,
    routes: allRoutes,
    port: options.port ?? DEFAULT_TENANT_PORT,
    signingKey,
    registrar,
    limits: options.limits,
    onChange: () => saver.schedule(),
  });
  if (options.faults) tenant.faults.configure(options.faults);
  return {
    tenant,
    url: tenant.url,
    get tenantId() {
      return tenant.tenantId;
    },
    get registrar() {
      const current = tenant.registrar();
      const state = tenant.state();
      const app =
        current && state.data.applications[state.appIdToApplication.get(current.clientId.toLowerCase()) ?? ''];
      if (!current || !app) return undefined;
      // The secret only while the app still has it (a saved tenant may have rotated it).
      const hasSecret =
        current.clientSecret !== undefined && Object.values(app.secretHashes).includes(sha256(current.clientSecret));
      return { clientId: current.clientId, ...(hasSecret ? { clientSecret: current.clientSecret } : {}) };
    },
    get demoB2cTarget() {
      const b2c = tenant.directory(demoB2cIds.tenantId);
      const app = b2c?.data.applications[b2c.appIdToApplication.get(demoB2cIds.registrarAppId) ?? ''];
      return app && Object.values(app.secretHashes).includes(sha256(DEMO_B2C_REGISTRAR_SECRET))
        ? demoB2cTargetSetting()
        : undefined;
    },
    caBundlePath: certificate.caBundlePath,
    dataDir,
    seeded: demo !== undefined,
    async stop() {
      await tenant.stop();
      saver.flush();
    },
  };
}

/** `--port N` on the command line wins over LOCAL_TENANT_PORT (read through src/config.ts). */
function portFrom(args: readonly string[], configured: number): number {
  const i = args.indexOf('--port');
  if (i < 0) return configured;
  const text = args[i + 1] ?? '';
  const port = Number(text);
  if (text.trim() === '' || !Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--port must be a port number, 0 to 65535 (got "${text}").`);
  return port;
}

function faultsFrom(env: NodeJS.ProcessEnv): FaultSettings | undefined {
  const text = env.TENANT_FAULTS;
  if (!text?.trim()) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`TENANT_FAULTS must be JSON, e.g. {"replicationDelayMs":2000} (got "${text}").`);
  }
  return parseFaultSettings(json);
}

async function main(): Promise<void> {
  const config = loadConfig(process.env, localDefaults);
  const local = await startLocalTenant({
    dataDir: config.local.dataDir,
    port: portFrom(process.argv.slice(2), config.local.tenantPort),
    faults: faultsFrom(process.env),
  });
  const registrar = local.registrar;
  process.stdout.write(
    [
      '',
      `  The local tenant is running${local.seeded ? ' (seeded with the demo tenant)' : ''}.`,
      `  Base URL (authority host and Graph endpoint):  ${local.url}`,
      `  Tenant id:                                      ${local.tenantId}`,
      `  Registrar client id:                            ${registrar?.clientId ?? '(not in this tenant)'}`,
      `  Registrar client secret (local only):           ${registrar?.clientSecret ?? '(not known)'}`,
      `  Trust its certificate:                          NODE_EXTRA_CA_CERTS=${local.caBundlePath}`,
      `  State:                                          ${tenantFile(local.dataDir)}`,
      `  Admin API:                                      ${local.url}/_emulator/info`,
      '',
      '  To point Registrar at it:',
      `    AUTHORITY_HOST=${local.url} GRAPH_ENDPOINT=${local.url} AZURE_TENANT_ID=${local.tenantId} \\`,
      `    AZURE_CLIENT_ID=${registrar?.clientId ?? '<client id>'} AZURE_CLIENT_SECRET=${registrar?.clientSecret ?? '<secret>'} NODE_EXTRA_CA_CERTS=${local.caBundlePath}`,
      '  Press Ctrl-C to stop.',
      '',
    ].join('\n') + '\n',
  );
  let stopping = false;
  const onSignal = () => {
    if (stopping) process.exit(130);
    stopping = true;
    local.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(
          `Error while stopping the local tenant: ${err instanceof Error ? err.message : String(err)}\n`,
        );
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`The local tenant could not start: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
