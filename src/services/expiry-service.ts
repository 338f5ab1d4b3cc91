/**
 * The expiry scan: under the 'expiry-scan' lease, reads every credential page by page, and announces each
 * (credential, threshold) once, ever, through the ledger (expiry-ledger.ts).
 *
 * Only the credentials within a threshold touch the ledger (nothing for the others), in a bounded queue worked on
 * while the next pages are read, so memory holds a page and the due credentials, not the tenant. A due credential is
 * claimed in the ledger. The owners of the claimed credentials' applications are read while the pages still are,
 * once per application, only for those, 20 to a $batch, then the claims are announced together, and the
 * ledger marks them posted. A claim left by a scan that did not finish (crash,
 * failed page, failed announcement) is due again at the next scan; a posted one never is. A renewed or removed
 * credential has a new keyId or none, so its rows are simply never looked at again. A credential is its application
 * and its keyId together (ledgerRow): a keyCredential's keyId is the client's choice, and one app's must not silence
 * another's.
 *
 * Where the source can follow changes (Graph delta queries), only the first scan, and one a week after
 * (fullScanDays), lists the tenant: it keeps in the credentials table a copy of every credential that could
 * cross a threshold before the next full scan, writing only the holders that changed (credential-index.ts), with
 * the delta links taken before the listing. Every other scan reads only what changed
 * since, updates the table, and finds the due credentials there by expiry: its Graph requests follow the tenant's
 * changes, not its size. A delta link Graph no longer knows turns the scan into a full one. Either way the due
 * credentials go through the same ledger, so each (credential, threshold) is announced once whichever scan found it.
 *
 * Reminder rules (reminder-routing.ts) send a due credential to every channel whose rule names its app, else to the
 * default reminders channel; the ledger keeps a row per channel, so it is each (credential, threshold, channel) that
 * is announced once. A channel whose digest could not be posted keeps its claims for the next scan; the others'
 * are marked posted.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { RegistrarError } from '../domain/errors';
import { byUrgency, type ExpiringCredential, expiringCredential, thresholdCrossing } from '../domain/expiry';
import type { Logger } from '../lib/logger';
import {
  createExpiryLedger,
  LEDGER_TRANSACTION_ROWS,
  type DueCredential,
  type LedgerClaim,
  type LedgerSnapshot,
} from './expiry-ledger';
import { createLease } from './lease';
import type { Clock, CredentialHolder, CredentialSource, CredentialSyncRow, DeltaLinks, Store, Stored } from './ports';
import { createLimiter, createWorkQueue } from '../lib/queues';
import { type CredentialIndex, createCredentialIndex } from './credential-index';
import { SyncReset } from '../domain/errors';
import type { CredentialInfo } from '../domain/expiry';
import { DEFAULT_ROUTE, type ReminderRoute } from '../domain/reminder-routes';
import { channelLedgerRow, isAnnouncedIn } from './expiry-ledger';
import type { GroupDirectory } from './ports';
import { type ScanRouting, startScanRouting } from './reminder-routing';

/** What an announcement could not post: the channels (DEFAULT_ROUTE or conversation ids) whose digest failed. */
export interface AnnounceOutcome {
  failedChannels: readonly string[];
}

export interface ExpiryScanResult {
  scanId: string;
  /** False when another process holds the lease (then nothing else was done). */
  ran: boolean;
  /**
   * 'full': every application (and service principal) was listed. 'changes': only what changed since the last scan
   * was read, and the due credentials were found in the credentials table.
   */
  mode: 'full' | 'changes';
  /** Applications with at least one credential (full), or applications that changed (changes). */
  applications: number;
  /** Service principals with credentials of their own (full), or service principals that changed (changes). */
  servicePrincipals: number;
  /** Credentials read (full), or credentials in the table that end within the widest threshold (changes). */
  credentials: number;
  /** Graph pages read: of the listings, or of the delta rounds. */
  pages: number;
  /** What this scan announced, most urgent first (empty on a quiet run). */
  announced: ExpiringCredential[];
  durationMs: number;
}

export interface ExpiryService {
  /** `full` lists the tenant even when the changes since the last scan could be read instead. */
  scan(options?: { trigger?: 'schedule' | 'command' | 'job'; full?: boolean }): Promise<ExpiryScanResult>;
}

export interface ExpiryServiceDeps {
  store: Store;
  source: CredentialSource;
  clock: Clock;
  logger: Logger;
  reminderDays: readonly number[];
  scope: 'all' | 'managed';
  /** This process, for the lease (e.g. hostname:pid:random). */
  holder: string;
  /**
   * Posts each channel's digest and the owners' messages; throws when it could post none (then the claims stay and
   * the next scan posts them), and names the channels it could not post to when some failed.
   */
  announce(credentials: readonly ExpiringCredential[], scanId: string): Promise<void | AnnounceOutcome>;
  /** The reminder rules, read once a scan; without them every reminder goes to the default reminders channel. */
  routes?: () => Promise<ReminderRoute[]>;
  /** The owners' groups, for group: rules (with the background budget: the scan is not a turn). */
  groups?: GroupDirectory;
  /** Default 10 min, renewed while the scan runs. */
  leaseMs?: number;
  /** Due credentials worked on at once (ledger writes; default 16). */
  concurrency?: number;
  /** Days after which a scan lists the whole tenant again instead of reading its changes (default 7). */
  fullScanDays?: number;
}

export const EXPIRY_SCAN_LEASE = 'expiry-scan';
const DEFAULT_LEASE_MS = 10 * 60_000;
const DEFAULT_CONCURRENCY = 16;
const DEFAULT_FULL_SCAN_DAYS = 7;
const DAY_MS = 24 * 60 * 60 * 1000;
/** Due credentials waiting for the ledger while the pages are read: a bound on memory, not on the tenant. */
const QUEUE_CAPACITY = 1000;
/** Holders whose owners one request reads (Graph's $batch takes 20, https://learn.microsoft.com/graph/json-batching). */
const OWNERS_BATCH = 20;
/** Owners batches in flight at once, while the pages are read. */
const OWNERS_AT_ONCE = 4;

/** A claim, with the owners of its application to announce it to. */
type Claim = LedgerClaim & { ownerIds: string[] };

/** "20260302T090000-1a2b3c4d": sorts by time, readable in logs and cards. */
function newScanId(now: Date): string {
  return `${now
    .toISOString()
    .replace(/[-:]|\.\d+/g, '')
    .replace('Z', '')}-${randomBytes(4).toString('hex')}`;
}

export function createExpiryService(deps: ExpiryServiceDeps): ExpiryService {
  const { store, source, clock, reminderDays, scope, holder } = deps;
  const leaseMs = deps.leaseMs ?? DEFAULT_LEASE_MS;
  const concurrency = deps.concurrency ?? DEFAULT_CONCURRENCY;
  const crossed = thresholdCrossing(reminderDays);
  const ledgerRows = createExpiryLedger({ store, clock, reminderDays, concurrency, capacity: QUEUE_CAPACITY });
  const fullScanMs = (deps.fullScanDays ?? DEFAULT_FULL_SCAN_DAYS) * DAY_MS;
  const widestDays = Math.max(0, ...reminderDays);
  // A source that can tell what changed keeps the credentials table; one that cannot is listed every time.
  const index: CredentialIndex | undefined =
    source.latestDeltaLinks && source.changesSince
      ? createCredentialIndex(store.credentials, { concurrency })
      : undefined;

  return {
    async scan(options = {}) {
      const started = performance.now();
      const now = clock.now();
      const scanId = newScanId(now);
      const log = deps.logger.child({ job: 'expiry-scan', scanId, trigger: options.trigger });
      const result: ExpiryScanResult = {
        scanId,
        ran: false,
        mode: 'full',
        applications: 0,
        servicePrincipals: 0,
        credentials: 0,
        pages: 0,
        announced: [],
        durationMs: 0,
      };
      const lease = createLease({ store, name: EXPIRY_SCAN_LEASE, holder, ttlMs: leaseMs, clock });
      if (!(await lease.acquire())) {
        log.info({ holder }, 'expiry scan skipped: another process holds the lease');
        result.durationMs = performance.now() - started;
        return result;
      }
      result.ran = true;
      try {
        const { claims, ledger } = await readAndClaim(log, scanId, now, result, lease.acquire, options.full === true);
        // Still ours? A scan that outlived its lease leaves the announcing to whoever took it over.
        if (!(await lease.acquire())) throw lostLease(scanId);
        const toAnnounce = claims
          .map((c) => ({
            ...expiringCredential(c.credential, c.threshold, now, c.ownerIds),
            ...(c.channel === DEFAULT_ROUTE ? {} : { channel: c.channel }),
          }))
          .sort(byUrgency);
        let announced = toAnnounce;
        if (toAnnounce.length > 0) {
          let failed: ReadonlySet<string> = new Set();
          try {
            failed = new Set((await deps.announce(toAnnounce, scanId))?.failedChannels ?? []);
          } catch (err) {
            log.error({ err, claimed: toAnnounce.length }, 'expiry announce failed: the claims stay for the next scan');
            throw err;
          }
          const posted = failed.size === 0 ? claims : claims.filter((c) => !failed.has(c.channel));
          if (failed.size > 0) {
            log.error(
              { failedChannels: [...failed], kept: claims.length - posted.length },
              'expiry digest not posted in some channels: their claims stay for the next scan',
            );
            announced = toAnnounce.filter((c) => !failed.has(c.channel ?? DEFAULT_ROUTE));
          }
          try {
            await ledgerRows.markPosted(log, scanId, posted, ledger);
          } catch (err) {
            // Announced all the same: say so, and that the rows left 'claimed' will be announced once more.
            log.error(
              { err, claimed: posted.length },
              'expiry ledger not updated after the announcement: the next scan repeats it',
            );
          }
        }
        result.announced = announced;
        result.durationMs = performance.now() - started;
        log.info(
          {
            mode: result.mode,
            applications: result.applications,
            servicePrincipals: result.servicePrincipals,
            credentials: result.credentials,
            pages: result.pages,
            announced: announced.length,
            durationMs: Math.round(result.durationMs),
          },
          'expiry scan finished',
        );
        return result;
      } finally {
        await lease.release().catch((err: unknown) => log.warn({ err }, 'expiry scan lease not released'));
      }
    },
  };

  /**
   * The scan's reading of the tenant: the changes since the last scan where they can be read, else a full listing;
   * then the due credentials claimed (claimDue).
   */
  async function readAndClaim(
    log: Logger,
    scanId: string,
    now: Date,
    result: ExpiryScanResult,
    renew: () => Promise<boolean>,
    forceFull: boolean,
  ): Promise<{ claims: Claim[]; ledger: LedgerSnapshot }> {
    if (!index) return claimDue(log, scanId, now, renew, listed(result));
    const sync = await index.readSync();
    const why = forceFull ? 'asked for' : fullScanReason(sync?.value, now);
    if (why === undefined && sync) {
      try {
        await applyChanges(log, sync, index, result);
        result.mode = 'changes';
        const until = new Date(now.getTime() + widestDays * DAY_MS + 1000);
        return await claimDue(log, scanId, now, renew, counted(index.endingBefore(until), result), (due) =>
          index.listed(due),
        );
      } catch (err) {
        if (!(err instanceof SyncReset)) throw err;
        log.info({ collection: err.collection }, 'expiry scan: Graph no longer knows the delta link; listing in full');
        Object.assign(result, { applications: 0, servicePrincipals: 0, credentials: 0, pages: 0 });
      }
    } else {
      log.info({ reason: why }, 'expiry scan lists every credential');
    }
    // The links first: what changes while the tenant is listed is read again by the next scan.
    const links = await source.latestDeltaLinks!(scope);
    // The table holds what may cross a threshold before the next full scan; no scan of changes looks further.
    const indexedUntil = new Date(now.getTime() + fullScanMs + widestDays * DAY_MS + DAY_MS);
    const claimed = await claimDue(
      log,
      scanId,
      now,
      renew,
      listed(result, { index, generation: scanId, indexedUntil }),
    );
    const swept = await index.sweep(scanId);
    if (swept > 0) log.info({ swept }, 'expiry scan: rows of credentials no longer in the tenant removed');
    await index.writeSync({
      scope,
      generation: scanId,
      fullScanAt: now.toISOString(),
      indexedUntil: indexedUntil.toISOString(),
      deltaLinks: links,
    });
    return claimed;
  }

  /** Why this scan must list the tenant in full; undefined when reading the changes since the last one will do. */
  function fullScanReason(sync: CredentialSyncRow | undefined, now: Date): string | undefined {
    if (!sync) return 'first scan';
    if (sync.scope !== scope) return `scope changed from ${sync.scope} to ${scope}`;
    if (scope === 'all' && !sync.deltaLinks.servicePrincipals) return 'no delta link for service principals';
    const last = Date.parse(sync.fullScanAt);
    if (!Number.isFinite(last) || now.getTime() - last >= fullScanMs) return 'weekly full scan due';
    const until = Date.parse(sync.indexedUntil ?? '');
    if (!Number.isFinite(until)) return 'credentials table of an earlier version';
    // Longer thresholds or fewer full scans since the table was built: it does not reach far enough.
    if (now.getTime() + widestDays * DAY_MS + 1000 > until)
      return `credentials table holds only what ends before ${sync.indexedUntil}`;
    return undefined;
  }

  /** The changes since the last scan into the credentials table, then where the next scan reads them from. */
  async function applyChanges(
    log: Logger,
    sync: Stored<CredentialSyncRow>,
    table: CredentialIndex,
    result: ExpiryScanResult,
  ): Promise<void> {
    const next: DeltaLinks = { ...sync.value.deltaLinks };
    const limiter = createLimiter(concurrency);
    const until = new Date(sync.value.indexedUntil!);
    let changed = 0;
    for await (const page of source.changesSince!(sync.value.deltaLinks, scope)) {
      result.pages += 1;
      changed += page.changes.length;
      await Promise.all(
        page.changes.map((change) => limiter.run(() => table.apply(change, sync.value.generation, until))),
      );
      for (const change of page.changes)
        result[change.holder.source === 'servicePrincipal' ? 'servicePrincipals' : 'applications'] += 1;
      if (page.deltaLink) next[page.collection] = page.deltaLink;
    }
    await table.writeSync({ ...sync.value, deltaLinks: next }, sync.etag);
    log.info({ changed }, 'expiry scan: changes since the last scan read');
  }

  /** Every credential of the scope from Graph, page by page, counted, and kept in the credentials table if any. */
  async function* listed(
    result: ExpiryScanResult,
    keep?: { index: CredentialIndex; generation: string; indexedUntil: Date },
  ): AsyncIterable<CredentialInfo[]> {
    const table = keep?.index;
    let flushed = false;
    try {
      for await (const page of source.pages(scope)) {
        result.pages += 1;
        result.credentials += page.length;
        let previousApp: string | undefined;
        for (const credential of page) {
          // A page holds each application's (or service principal's) credentials together.
          if (credential.applicationObjectId !== previousApp)
            result[credential.source === 'servicePrincipal' ? 'servicePrincipals' : 'applications'] += 1;
          previousApp = credential.applicationObjectId;
        }
        if (keep) await keep.index.put(page, keep.generation, keep.indexedUntil);
        yield page;
      }
      await table?.flush();
      flushed = true;
    } finally {
      if (!flushed) await table?.flush().catch(() => undefined);
    }
  }

  /** The due credentials the table holds, counted. */
  async function* counted(
    pages: AsyncIterable<CredentialInfo[]>,
    result: ExpiryScanResult,
  ): AsyncIterable<CredentialInfo[]> {
    for await (const page of pages) {
      result.credentials += page.length;
      yield page;
    }
  }

  /**
   * Claims the due credentials of the pages through the work queue (those `keep` leaves, when given); renews the
   * lease when half of it has gone. A failure (a page, the ledger, the owners) waits for the claims under way and is
   * thrown: what was claimed stays claimed, for the next scan.
   */
  async function claimDue(
    log: Logger,
    scanId: string,
    now: Date,
    renew: () => Promise<boolean>,
    pages: AsyncIterable<CredentialInfo[]>,
    keep?: (due: DueCredential[]) => Promise<DueCredential[]>,
  ): Promise<{ claims: Claim[]; ledger: LedgerSnapshot }> {
    const ledger = await ledgerRows.read();
    const routing: ScanRouting = await startScanRouting(
      { routes: deps.routes ?? (async () => []), source, logger: log, ...(deps.groups ? { groups: deps.groups } : {}) },
      log,
    );
    const seen = new Set<string>();
    const claimed: LedgerClaim[] = [];
    const tasks = createWorkQueue(concurrency, QUEUE_CAPACITY);
    const owners = ownersWhileClaiming(log);
    let renewAt = clock.now().getTime() + leaseMs / 2;
    try {
      for await (const page of pages) {
        const crossing: Array<{ credential: CredentialInfo; threshold: number }> = [];
        for (const credential of page) {
          const threshold = crossed(credential.endDateTime, now);
          if (threshold !== undefined) crossing.push({ credential, threshold });
        }
        const announcedIn = (c: { credential: CredentialInfo; threshold: number }, channel: string) =>
          isAnnouncedIn(ledger, c.credential, c.threshold, channel);
        let due: DueCredential[] = [];
        for (const { item, channel } of await routing.route(crossing, announcedIn)) {
          const { credential, threshold } = item;
          // Keyed by the application too: another app may hold a credential with the same keyId.
          const row = channelLedgerRow(credential.applicationObjectId, credential.keyId, threshold, channel);
          if (seen.has(row) || announcedIn(item, channel)) continue;
          seen.add(row);
          due.push({ credential, threshold, channel, row });
        }
        if (keep && due.length > 0) due = await keep(due);
        // A page's due credentials are claimed in transactions of up to 100 rows, while the next page is read.
        for (let i = 0; i < due.length; i += LEDGER_TRANSACTION_ROWS) {
          const chunk = due.slice(i, i + LEDGER_TRANSACTION_ROWS);
          await tasks.push(async () => {
            const claims = await ledgerRows.claim(log, scanId, now, chunk, ledger);
            claimed.push(...claims);
            owners.add(claims.map((c) => c.credential).filter((c) => !routing.owners.has(c.applicationObjectId)));
          });
        }
        if (clock.now().getTime() >= renewAt) {
          if (!(await renew())) throw lostLease(scanId);
          renewAt = clock.now().getTime() + leaseMs / 2;
        }
      }
    } catch (err) {
      tasks.abandon();
      await tasks.drain().catch(() => undefined);
      await owners.settled();
      throw err;
    }
    await tasks.drain().catch(async (err: unknown) => {
      await owners.settled();
      throw err;
    });
    const ownerIds = await owners.all();
    // Owners the group rules read already are not read again.
    for (const [id, read] of routing.owners) if (!ownerIds.has(id)) ownerIds.set(id, read);
    const claims = claimed.map((claim) => ({
      ...claim,
      ownerIds: ownerIds.get(claim.credential.applicationObjectId) ?? [],
    }));
    return { claims, ledger };
  }

  /**
   * The owners of the claimed credentials' holders, read while the pages are still being listed: each holder once,
   * a $batch of 20 as soon as 20 are waiting (the rest after the last page), OWNERS_AT_ONCE batches at a time, so
   * that a first scan's owners do not wait for its last page. all() throws the first failure (ownersOf's).
   */
  function ownersWhileClaiming(log: Logger): {
    add(holders: readonly CredentialHolder[]): void;
    all(): Promise<Map<string, string[]>>;
    settled(): Promise<void>;
  } {
    const found = new Map<string, string[]>();
    const asked = new Set<string>();
    const limiter = createLimiter(OWNERS_AT_ONCE);
    const reads: Array<Promise<unknown>> = [];
    let failure: { err: unknown } | undefined;
    let waiting: CredentialHolder[] = [];
    const read = (holders: CredentialHolder[]) => {
      reads.push(
        limiter
          .run(() => ownersOf(log, holders))
          .then(
            (read) => read.forEach((ids, id) => found.set(id, ids)),
            (err: unknown) => (failure ??= { err }),
          ),
      );
    };
    return {
      add(holders) {
        for (const holder of holders) {
          if (asked.has(holder.applicationObjectId)) continue;
          asked.add(holder.applicationObjectId);
          waiting.push(holder);
          if (waiting.length >= OWNERS_BATCH) {
            read(waiting);
            waiting = [];
          }
        }
      },
      async all() {
        if (waiting.length > 0) read(waiting);
        waiting = [];
        await Promise.all(reads);
        if (failure) throw failure.err;
        return found;
      },
      async settled() {
        await Promise.all(reads);
      },
    };
  }

  /**
   * The owners of the applications (and service principals) whose credentials are announced, each read once. One gone since its
   * page was read, or one Registrar may not read the owners of, is announced without owners; an outage fails the
   * scan (the claims stay for the next).
   */
  async function ownersOf(log: Logger, holders: readonly CredentialHolder[]): Promise<Map<string, string[]>> {
    const owners = new Map<string, string[]>();
    if (holders.length === 0) return owners;
    for (const [applicationObjectId, read] of await source.ownersOfEach(holders)) {
      if (!(read instanceof RegistrarError)) {
        owners.set(applicationObjectId, read);
        continue;
      }
      if (read.code === 'unavailable') throw read;
      log.warn(
        { applicationObjectId, code: read.code, detail: read.message },
        'owners not read: announced without owners',
      );
      owners.set(applicationObjectId, []);
    }
    return owners;
  }
}

function lostLease(scanId: string): RegistrarError {
  return new RegistrarError('conflict', 'Another Registrar took over the expiry scan; it will post the reminders.', {
    detail: `expiry scan ${scanId}: the lease ran out and another process holds it now; this scan stopped before announcing. Its claims are announced by the next scan.`,
  });
}
