/**
 * Benchmark: the expiry scan (ExpiryService over GraphCredentialSource and a TableStore) against a large local
 * tenant, measured against a bare loop that only pages through the same applications with the Graph client.
 *
 * The tenant runs in a child process of its own (the bench's tenant-paging tenant, with 1% of the applications given a
 * secret within a reminder threshold and an owner), as Graph is another machine for the bot: this process is the bot
 * (run.ts starts it on its own), and its memory is what is sampled, every 50 ms during the scan. The ledger is an
 * in-memory Azurite. Graph requests are read from the tenant's counters: the scan must make one per page, and one
 * owners request per application announced in JSON batches of 20, and nothing else. Each size is scanned twice: the
 * first scan announces the due credentials (a cold ledger), the second finds nothing new (the daily steady state). The
 * largest size is run once more with latency added to every Graph call, since the local tenant answers a page in
 * milliseconds where Graph takes far longer, which is what the ledger's work is measured against in production.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { hostname } from 'node:os';
import { createGraphConnection, type GraphConnection } from '../src/adapters/graph/graph-client';
import { GraphCaller } from '../src/adapters/graph/graph-caller';
import { GraphCredentialSource } from '../src/adapters/graph/graph-credential-source';
import { TableStore } from '../src/adapters/storage/table-store';
import { defaultReminderDays } from '../src/domain/expiry';
import { createLogger } from '../src/lib/logger';
import { startAzurite } from '../src/local/azurite';
import { ensureDevCertificate } from '../src/local/tenant/dev-cert';
import { allRoutes } from '../src/local/tenant/routes/index';
import { addOwnerUsers } from '../src/local/tenant/seed';
import { startTenantServer } from '../src/local/tenant/server';
import { createExpiryService } from '../src/services/expiry-service';
import { systemClock } from '../src/services/ports';
import { largeTenant } from './tenant-paging';

const SELECT = ['id', 'appId', 'displayName', 'passwordCredentials', 'keyCredentials', 'tags'];
const SECRET = 'Ben8Q~bench-secret-0000000000000000000000';
const DAY = 86_400_000;
/** Every 100th application has a secret due, spread over the thresholds: expired, 1, 7, 14, 30 and 60 days. */
const DUE_EVERY = 100;
const DUE_IN_DAYS = [-2, 0.5, 3, 10, 20, 45];
/** A quick Graph call; a page of 999 applications with their keyCredentials takes longer in practice. */
const GRAPH_LATENCY_MS = 100;

export interface ExpiryScanRun {
  /** Added by the tenant to every Graph call (0: as fast as the local tenant answers). */
  latencyMs: number;
  applications: number;
  pages: number;
  credentials: number;
  announced: number;
  /** Graph requests of the scan, from the tenant's counters. */
  requests: { total: number; pages: number; owners: number; batches: number; other: number };
  dueApplications: number;
  scanMs: number;
  quietScanMs: number;
  bareMs: number;
  /** Peak during the scan, and before it. */
  rssMb: { before: number; peak: number };
  heapMb: { before: number; peak: number };
}

interface TenantInfo {
  url: string;
  tenantId: string;
  readerAppId: string;
  dueApplications: number;
}

/** The tenant process: builds the tenant, serves it, and stops when the bench lets go of it. */
async function tenantProcess(count: number, certificateDir: string): Promise<void> {
  const certificate = await ensureDevCertificate(certificateDir);
  const { data, readerAppId } = largeTenant(count, SECRET);
  const now = Date.now();
  const users = addOwnerUsers(data, 10);
  const far = new Date(now + 400 * DAY).toISOString();
  let i = 0;
  let dueApplications = 0;
  for (const app of Object.values(data.applications)) {
    if (!String(app.data.displayName).startsWith('bench-app-')) continue;
    const secrets = app.data.passwordCredentials as Array<{ endDateTime: string }>;
    const certificates = app.data.keyCredentials as Array<{ endDateTime: string }>;
    for (const c of [...secrets, ...certificates]) c.endDateTime = far;
    if (i % DUE_EVERY === 0) {
      secrets[0]!.endDateTime = new Date(now + DUE_IN_DAYS[dueApplications % DUE_IN_DAYS.length]! * DAY).toISOString();
      app.owners = [users[dueApplications % users.length]!];
      dueApplications += 1;
    }
    i += 1;
  }
  const tenant = await startTenantServer({ certificate, data, routes: allRoutes });
  process.once('disconnect', () => void tenant.stop().finally(() => process.exit(0)));
  process.send?.({ url: tenant.url, tenantId: tenant.tenantId, readerAppId, dueApplications } satisfies TenantInfo);
}

async function startTenantProcess(
  count: number,
  certificateDir: string,
): Promise<{ info: TenantInfo; child: ChildProcess }> {
  const child = fork(__filename, ['tenant', String(count), certificateDir], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const [info] = (await Promise.race([
    once(child, 'message'),
    once(child, 'exit').then(() => Promise.reject(new Error('the tenant process exited before it was ready'))),
  ])) as [TenantInfo];
  return { info, child };
}

async function stopTenantProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = once(child, 'exit');
  child.disconnect();
  await exited;
}

async function counters(url: string): Promise<Record<string, number>> {
  const response = await fetch(`${url}/_emulator/counters`);
  return ((await response.json()) as { calls: Record<string, number> }).calls;
}

async function setLatency(url: string, latencyMs: number): Promise<void> {
  await fetch(`${url}/_emulator/faults`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ latencyMs }),
  });
}

async function resetCounters(url: string): Promise<void> {
  await fetch(`${url}/_emulator/counters`, { method: 'DELETE' });
}

/** What the scan measures itself against: the same pages, the same fields, nothing done with them. */
async function barePaging(connection: GraphConnection): Promise<{ ms: number; pages: number }> {
  const started = performance.now();
  type Page = { value: unknown[]; '@odata.nextLink'?: string };
  let page = (await connection.client.api('/applications').select(SELECT).top(999).get()) as Page;
  let pages = 1;
  while (page['@odata.nextLink']) {
    page = (await connection.client.api(page['@odata.nextLink']).get()) as Page;
    pages += 1;
  }
  return { ms: performance.now() - started, pages };
}

/** Peak RSS and heap while `work` runs, sampled every 50 ms. */
async function sampled<T>(work: () => Promise<T>): Promise<{ value: T; rss: number; heap: number }> {
  let rss = 0;
  let heap = 0;
  const sample = () => {
    const m = process.memoryUsage();
    rss = Math.max(rss, m.rss);
    heap = Math.max(heap, m.heapUsed);
  };
  sample();
  const timer = setInterval(sample, 50);
  try {
    const value = await work();
    sample();
    return { value, rss, heap };
  } finally {
    clearInterval(timer);
  }
}

const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

async function runOnce(
  count: number,
  certificateDir: string,
  connectionString: string,
  latencyMs = 0,
): Promise<ExpiryScanRun> {
  const { info, child } = await startTenantProcess(count, certificateDir);
  try {
    const connection = createGraphConnection({
      cloud: 'global',
      endpoint: info.url,
      authorityHost: info.url,
      tenantId: info.tenantId,
      clientId: info.readerAppId,
      clientSecret: SECRET,
    });
    await connection.credential.getToken(`${info.url}/.default`); // the token is not part of either loop
    const logger = createLogger({ level: 'warn' });
    const store = new TableStore({ connectionString, tablePrefix: `bench${count}${Date.now() % 100_000}` });
    await store.init();
    let announced = 0;
    const service = createExpiryService({
      store,
      source: new GraphCredentialSource({ graph: new GraphCaller({ connection }), logger }),
      clock: systemClock,
      logger,
      reminderDays: defaultReminderDays,
      scope: 'all',
      holder: `${hostname()}:${process.pid}:bench`,
      announce: async (credentials) => {
        announced += credentials.length;
      },
    });

    await barePaging(connection); // warm-up: JIT, sockets
    let bare: { ms: number };
    if (latencyMs > 0) {
      await setLatency(info.url, latencyMs);
      // Latency dominates: one run is as good as three.
      bare = await barePaging(connection);
    } else {
      // The median of three: the machine's other work moves a single run by a tenth or more.
      bare = [await barePaging(connection), await barePaging(connection), await barePaging(connection)].sort(
        (a, b) => a.ms - b.ms,
      )[1]!;
    }
    global.gc?.();
    const before = process.memoryUsage();
    await resetCounters(info.url);
    const scan = await sampled(() => service.scan({ trigger: 'job' }));
    const calls = await counters(info.url);
    const quietStarted = performance.now();
    const quiet = await service.scan({ trigger: 'job' });
    const quietScanMs = performance.now() - quietStarted;
    if (quiet.announced.length !== 0)
      throw new Error(`the second scan announced ${quiet.announced.length} credentials again`);

    const pages = calls['GET /applications'] ?? 0;
    const owners = calls['GET /applications/{id}/owners'] ?? 0;
    const batches = calls['POST /$batch'] ?? 0;
    const total = Object.values(calls).reduce((a, b) => a + b, 0);
    return {
      latencyMs,
      applications: count,
      pages: scan.value.pages,
      credentials: scan.value.credentials,
      announced,
      requests: { total, pages, owners, batches, other: total - pages - owners - batches },
      dueApplications: info.dueApplications,
      scanMs: scan.value.durationMs,
      quietScanMs,
      bareMs: bare.ms,
      rssMb: { before: mb(before.rss), peak: mb(scan.rss) },
      heapMb: { before: mb(before.heapUsed), peak: mb(scan.heap) },
    };
  } finally {
    await stopTenantProcess(child);
  }
}

/**
 * The scan at each tenant size, one tenant process and one Azurite table set per run; then at the largest size once
 * more with `latencyMs` added to every Graph call, as Graph takes its time where the local tenant answers at once.
 */
export async function benchExpiryScan(
  certificateDir: string,
  sizes: readonly number[],
  latencyMs = GRAPH_LATENCY_MS,
): Promise<ExpiryScanRun[]> {
  const azurite = await startAzurite({ inMemory: true, port: 0 });
  try {
    const runs: ExpiryScanRun[] = [];
    for (const size of sizes) runs.push(await runOnce(size, certificateDir, azurite.connectionString));
    const largest = Math.max(...sizes);
    if (latencyMs > 0 && Number.isFinite(largest))
      runs.push(await runOnce(largest, certificateDir, azurite.connectionString, latencyMs));
    return runs;
  } finally {
    await azurite.stop();
  }
}

/** Prints the runs; false when the scan made other Graph requests than it should or missed announcements. */
export function printExpiryScan(runs: readonly ExpiryScanRun[]): boolean {
  let ok = true;
  for (const run of runs) {
    const ratio = run.scanMs / run.bareMs;
    console.log(
      [
        `expiry-scan: ${run.applications} applications, ${run.credentials} credentials, ${run.dueApplications} with a secret due, ${run.announced} announced` +
          (run.latencyMs > 0 ? `; ${run.latencyMs} ms added to every Graph call` : ''),
        `  first scan: ${(run.scanMs / 1000).toFixed(2)} s wall (bare paging ${(run.bareMs / 1000).toFixed(2)} s): ratio ${ratio.toFixed(2)} (target: at most 1.2)${ratio > 1.2 ? '  MISSED' : ''}`,
        `  second scan (nothing new): ${(run.quietScanMs / 1000).toFixed(2)} s, ratio ${(run.quietScanMs / run.bareMs).toFixed(2)}`,
        `  Graph requests: ${run.requests.total} = ${run.requests.pages} pages (no $expand) + ${run.requests.batches} batches of ${run.requests.owners} owners reads (the announced apps) + ${run.requests.other} other`,
        `  memory during the scan: peak RSS ${run.rssMb.peak} MB (${run.rssMb.before} MB before), peak heap ${run.heapMb.peak} MB (${run.heapMb.before} MB before)`,
      ].join('\n'),
    );
    if (
      run.requests.pages !== run.pages ||
      run.requests.owners !== run.dueApplications ||
      run.requests.batches !== Math.ceil(run.dueApplications / 20) ||
      run.requests.other !== 0 ||
      run.announced !== run.dueApplications
    ) {
      console.error(
        `expiry-scan: expected ${run.pages} page requests, ${run.dueApplications} owners reads in ${Math.ceil(run.dueApplications / 20)} batches and nothing else, and ${run.dueApplications} announcements`,
      );
      ok = false;
    }
  }
  const [small, large] = runs.filter((r) => r.latencyMs === 0);
  if (small && large) {
    console.log(
      `expiry-scan: peak RSS ${small.rssMb.peak} MB / heap ${small.heapMb.peak} MB at ${small.applications} applications, ` +
        `${large.rssMb.peak} MB / ${large.heapMb.peak} MB at ${large.applications} (target: no growth)`,
    );
  }
  return ok;
}

/*
 * `node expiry-scan.js run <certificate dir> <size>...`: the bench in a process of its own (run.ts starts it), so
 * that the memory sampled is the scan's and not what earlier benchmarks left; with --expose-gc for the baseline.
 * `node expiry-scan.js tenant <size> <certificate dir>`: the tenant process.
 */
if (require.main === module) {
  const [mode, ...args] = process.argv.slice(2);
  const work =
    mode === 'tenant'
      ? tenantProcess(Number(args[0]), args[1]!)
      : benchExpiryScan(args[0]!, args.slice(1).map(Number)).then((runs) => {
          if (!printExpiryScan(runs)) process.exitCode = 1;
        });
  work.catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
