/**
 * `npm run bench`: runs the benchmarks against the compiled code (dist/bench/run.js). The local tenant serves
 * https with the development certificate, which this process must trust: Node reads NODE_EXTRA_CA_CERTS only
 * at start, so when it is not set to the certificate's bundle the script runs itself again with it set.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { ensureDevCertificate } from '../src/local/tenant/dev-cert';
import { benchCommandParse } from './command-parse';
import { benchPermissionSearch } from './permission-search';
import { benchRequestIndex, reportRequestIndex } from './request-index';
import { benchTenantPaging } from './tenant-paging';
import { benchTurnCost, reportTurnCost } from './turn-cost';

const CERT_DIR = resolve('.registrar/certs');

async function main(): Promise<void> {
  const certificate = await ensureDevCertificate(CERT_DIR);
  // eslint-disable-next-line no-restricted-properties -- the bench is a launcher: it sets the trust store of its child
  if (process.env.NODE_EXTRA_CA_CERTS !== certificate.caBundlePath) {
    const child = spawnSync(process.execPath, process.argv.slice(1), {
      stdio: 'inherit',
      // eslint-disable-next-line no-restricted-properties -- see above
      env: { ...process.env, NODE_EXTRA_CA_CERTS: certificate.caBundlePath },
    });
    process.exitCode = child.status ?? 1;
    return;
  }
  console.log(
    'command-parse: the worst messages, read as a turn does (target: 28,000 characters of < well under 1 ms, linear in the length)',
  );
  for (const r of benchCommandParse()) console.log(`  ${r.name}, ${r.chars} characters: ${r.ms.toFixed(3)} ms`);
  // The real catalog (Microsoft Graph's 1,132 permissions), then four times its size.
  for (const copies of [1, 4]) {
    const search = benchPermissionSearch(copies);
    console.log(
      `permission-search: ${search.permissions} permissions, ${search.searches} searches: ${search.perSearchMs.toFixed(3)} ms mean, ${search.p99Ms.toFixed(3)} ms p99 (target: about 1 ms)`,
    );
  }
  for (const line of reportTurnCost(await benchTurnCost())) console.log(line);
  const requestIndex = reportRequestIndex(await benchRequestIndex());
  for (const line of requestIndex.lines) console.log(line);
  if (!requestIndex.flat) process.exitCode = 1;
  const count = Number(process.argv[2] ?? 100_000);
  const result = await benchTenantPaging(certificate, count);
  const perPage = result.scanMs / result.pages;
  console.log(
    [
      `tenant-paging: ${result.applications} applications (${result.seen} seen, ${result.credentials} credentials)`,
      `  tenant built and started in ${(result.buildMs / 1000).toFixed(2)} s`,
      `  scan: ${(result.scanMs / 1000).toFixed(2)} s wall, ${result.pages} pages, ${result.requests} Graph requests, ${perPage.toFixed(1)} ms/page`,
    ].join('\n'),
  );
  if (result.seen !== result.applications + 1) {
    console.error(`tenant-paging: expected ${result.applications + 1} applications, saw ${result.seen}`);
    process.exitCode = 1;
  }

  // The expiry scan in a process of its own (its memory is what is measured), at a tenant a tenth the size too:
  // its peak memory must not grow with the tenant.
  const expiry = spawnSync(
    process.execPath,
    [
      '--expose-gc',
      resolve(__dirname, 'expiry-scan.js'),
      'run',
      CERT_DIR,
      String(Math.max(1, Math.round(count / 10))),
      String(count),
    ],
    {
      stdio: 'inherit',
    },
  );
  if (expiry.status !== 0) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
